//! rustls server configurations: one per HTTPS listener per shard.
//!
//! [`TlsShared`] is created once per process: the ring provider and the
//! session-ticket key, so that a client resumes with a ticket whichever
//! shard accepts its next connection. [`ShardTls`] adds what one shard
//! keeps for itself: its stateful session cache (session IDs), which no
//! other core touches. Building a `ServerConfig` parses nothing; the
//! certificates come parsed from [`crate::CertLoader`].

use crate::certs::ListenerCerts;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use std::sync::Arc;

/// ALPN: HTTP/1.1 only until HTTP/2 lands.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Stateful resumption entries each shard keeps.
pub const SESSIONS_PER_SHARD: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot create the session-ticket key: {0}")]
    Ticketer(rustls::Error),
    #[error("the ring provider refuses TLS 1.2/1.3: {0}")]
    Versions(rustls::Error),
}

/// Process-wide TLS state, shared by every shard (read-only after start,
/// except the ticketer's own key rotation).
#[derive(Debug)]
pub struct TlsShared {
    pub provider: Arc<CryptoProvider>,
    pub ticketer: Arc<dyn ProducesTickets>,
}

impl TlsShared {
    pub fn new() -> Result<Self, TlsSetupError> {
        Ok(TlsShared {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            ticketer: rustls::crypto::ring::Ticketer::new().map_err(TlsSetupError::Ticketer)?,
        })
    }
}

/// One shard's TLS state.
#[derive(Debug)]
pub struct ShardTls {
    shared: Arc<TlsShared>,
    sessions: Arc<dyn StoresServerSessions>,
}

impl ShardTls {
    pub fn new(shared: Arc<TlsShared>) -> Self {
        ShardTls {
            shared,
            sessions: ServerSessionMemoryCache::new(SESSIONS_PER_SHARD),
        }
    }

    /// The configuration handshakes of one listener use: TLS 1.3 and 1.2,
    /// ALPN `http/1.1`, certificates by SNI from `certs`, this shard's
    /// session cache and the process's ticket key.
    pub fn server_config(
        &self,
        certs: Arc<ListenerCerts>,
    ) -> Result<Arc<ServerConfig>, TlsSetupError> {
        let mut cfg = ServerConfig::builder_with_provider(self.shared.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(TlsSetupError::Versions)?
            .with_no_client_auth()
            .with_cert_resolver(certs);
        cfg.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        cfg.session_storage = self.sessions.clone();
        cfg.ticketer = self.shared.ticketer.clone();
        Ok(Arc::new(cfg))
    }
}

//! TLS termination for the shards.
//!
//! ```text
//! reader thread: snapshot ─► CertLoader (PEM parsed once per content) ─► ListenerCerts per HTTPS listener
//! each shard:    ListenerCerts ─► ShardTls::server_config (own session cache, shared ticket key)
//! each conn:     TlsStream::accept ─► read_into / write_range, as for plain TCP
//! ```
//!
//! rustls with the ring provider only; TLS 1.3 and 1.2; ALPN `http/1.1`.
#![forbid(unsafe_code)]

mod certs;
mod config;
mod sni;
mod stream;

pub use certs::{CertError, CertLoader, ListenerCerts, Loaded, Reason, parse};
pub use config::{ALPN_HTTP11, SESSIONS_PER_SHARD, ShardTls, TlsSetupError, TlsShared};
pub use rustls::{HandshakeKind, ServerConfig};
pub use sni::SniTable;
pub use stream::{HandshakeError, TlsStream};

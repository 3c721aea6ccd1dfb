//! Data-plane settings that are not part of the snapshot.

use std::time::Duration;

/// Limits and timeouts applied by every shard.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Request head limits (431/414/501 beyond them).
    pub limits: shardgate_http1::Limits,
    /// Keep-alive connection idle between requests before it is closed.
    pub client_idle_timeout: Duration,
    /// From the first byte of a head to its end (408 beyond it).
    pub client_header_timeout: Duration,
    /// Longest pause while reading a request body.
    pub client_body_timeout: Duration,
    /// Response head deadline when the route sets no timeout (504 beyond it).
    pub response_timeout: Duration,
    /// Longest pause while reading a response body.
    pub upstream_body_timeout: Duration,
    /// Pooled connections idle longer than this are closed by the sweeper.
    pub pool_idle_max: Duration,
    /// From accept to the end of a TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Read size per I/O and initial buffer capacity.
    pub buffer_size: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: shardgate_http1::Limits::default(),
            client_idle_timeout: Duration::from_secs(60),
            client_header_timeout: Duration::from_secs(10),
            client_body_timeout: Duration::from_secs(60),
            response_timeout: Duration::from_secs(60),
            upstream_body_timeout: Duration::from_secs(60),
            pool_idle_max: Duration::from_secs(60),
            tls_handshake_timeout: Duration::from_secs(10),
            buffer_size: 16 * 1024,
        }
    }
}

//! What happens to an accepted connection: plain HTTP is served at once;
//! on an HTTPS listener the TLS handshake runs first, on the shard that
//! accepted it and bounded by `tls_handshake_timeout`, then the same
//! HTTP/1.1 service runs over the TLS stream.

use crate::conn;
use crate::metrics::Handshake;
use crate::shard::{Security, Shard};
use monoio::net::TcpStream;
use shardgate_tls::{HandshakeKind, TlsStream};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;

/// Counts a connection in `connections_active` for as long as it lives.
struct Active(Rc<Shard>);

impl Active {
    fn new(shard: &Rc<Shard>) -> Active {
        let m = &shard.metrics;
        m.connections_active.set(m.connections_active.get() + 1);
        Active(shard.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        let m = &self.0.metrics;
        m.connections_active.set(m.connections_active.get() - 1);
    }
}

/// Serve a connection accepted on `bind` until it closes.
pub async fn serve(shard: Rc<Shard>, bind: SocketAddr, tcp: TcpStream, peer: SocketAddr) {
    let _active = Active::new(&shard);
    let cur = shard.current();
    let Some(li) = cur.listener_index(bind) else {
        // Removed since the accept: the connection answers 404 and closes.
        return conn::serve(shard.clone(), bind, tcp, peer).await;
    };
    let config = match &cur.security[li] {
        Security::Plain => return conn::serve(shard.clone(), bind, tcp, peer).await,
        Security::Unusable => return,
        Security::Tls(config) => config.clone(),
    };
    // A connection still handshaking is idle as far as a drain goes.
    let token = shard.idle_enter(tcp.as_raw_fd());
    let settings = &shard.settings;
    let handshake = monoio::time::timeout(
        settings.tls_handshake_timeout,
        TlsStream::accept(tcp, config, settings.buffer_size),
    )
    .await;
    shard.idle_leave(token);
    let listener = &cur.installed.labels.listeners[li];
    let tls = match handshake {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(shard = shard.index, %peer, listener = &**listener, error = %e, "TLS handshake failed");
            shard.metrics.tls_handshake(listener, Handshake::Failed);
            return;
        }
        Err(_) => {
            tracing::debug!(shard = shard.index, %peer, listener = &**listener, "TLS handshake timed out");
            shard.metrics.tls_handshake(listener, Handshake::Failed);
            return;
        }
    };
    let resumed = tls.handshake_kind() == Some(HandshakeKind::Resumed);
    shard
        .metrics
        .tls_handshake(listener, Handshake::Completed { resumed });
    // The request path takes the newest table itself.
    drop(cur);
    conn::serve(shard.clone(), bind, tls, peer).await;
}

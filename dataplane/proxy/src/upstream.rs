//! Getting a request head onto an upstream connection: a pooled connection
//! when a live one exists, else a new one within the cluster's connect
//! timeout. A request is retried on a fresh connection only when the pooled
//! connection turned out to be closed before any byte of it was delivered.

use crate::pool::Checkout;
use crate::shard::Shard;
use monoio::io::AsyncWriteRentExt;
use monoio::net::TcpStream;
use shardgate_ir::Cluster;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Why an upstream exchange failed before a response head arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    Connect,
    ConnectTimeout,
    /// No response head within the route's backend timeout.
    Timeout,
    /// Closed or reset before a complete response head.
    Reset,
    /// The response head is not valid HTTP/1.1 or its framing is ambiguous.
    Protocol,
}

pub enum Attempt {
    /// The head (and any initial body bytes) went out on `stream`.
    Sent { stream: TcpStream, buf: Vec<u8> },
    Failed {
        failure: UpstreamFailure,
        buf: Vec<u8>,
    },
}

/// Send `head` to `endpoint`, reusing a pooled connection when possible.
pub async fn send_head(
    shard: &Shard,
    cluster: &Cluster,
    endpoint: SocketAddr,
    head: Vec<u8>,
    deadline: Instant,
) -> Attempt {
    let idle_timeout = Duration::from_millis(u64::from(cluster.idle_timeout_ms));
    let mut buf = head;
    let mut tried_pool = false;
    loop {
        let pooled = if tried_pool {
            None
        } else {
            match shard.pool.checkout(endpoint, idle_timeout) {
                Checkout::Reused(s) => Some(s),
                Checkout::Empty { discarded } => {
                    if discarded > 0 {
                        let m = &shard.metrics;
                        m.upstream_retries.set(m.upstream_retries.get() + 1);
                    }
                    None
                }
            }
        };
        let reused = pooled.is_some();
        let mut stream = match pooled {
            Some(s) => {
                let m = &shard.metrics;
                m.upstream_reused.set(m.upstream_reused.get() + 1);
                s
            }
            None => match connect(shard, cluster, endpoint, deadline).await {
                Ok(s) => s,
                Err(failure) => return Attempt::Failed { failure, buf },
            },
        };
        let (res, back) = stream.write_all(buf).await;
        buf = back;
        match res {
            Ok(_) => return Attempt::Sent { stream, buf },
            // A write error on a pooled connection means the peer had closed
            // it: the request was never delivered, so it is safe to retry
            // once on a fresh connection.
            Err(_) if reused => {
                tried_pool = true;
                let m = &shard.metrics;
                m.upstream_retries.set(m.upstream_retries.get() + 1);
            }
            Err(_) => {
                return Attempt::Failed {
                    failure: UpstreamFailure::Reset,
                    buf,
                };
            }
        }
    }
}

async fn connect(
    shard: &Shard,
    cluster: &Cluster,
    endpoint: SocketAddr,
    deadline: Instant,
) -> Result<TcpStream, UpstreamFailure> {
    let connect_timeout = Duration::from_millis(u64::from(cluster.connect_timeout_ms));
    let limit = deadline
        .saturating_duration_since(Instant::now())
        .min(connect_timeout);
    let m = &shard.metrics;
    m.upstream_connects.set(m.upstream_connects.get() + 1);
    match monoio::time::timeout(limit, TcpStream::connect_addr(endpoint)).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => {
            tracing::debug!(cluster = cluster.name, %endpoint, error = %e, "upstream connect failed");
            Err(UpstreamFailure::Connect)
        }
        Err(_) => {
            if limit < connect_timeout {
                Err(UpstreamFailure::Timeout)
            } else {
                Err(UpstreamFailure::ConnectTimeout)
            }
        }
    }
}

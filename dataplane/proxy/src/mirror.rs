//! Gateway API `RequestMirror`: a copy of a forwarded request goes to
//! another cluster, fire-and-forget. The copy runs in its own task on the
//! same shard; its response is read and discarded, and nothing it does
//! (connect failure, timeout, a slow backend) reaches the client or delays
//! the main exchange.
//!
//! Bounded by construction: only a request whose whole body arrived with
//! its head (no body, or a body already in the connection's read buffer)
//! is mirrored, so a copy is at most one read buffer and never needs the
//! client again. Other requests are forwarded normally and counted in
//! `shardgate_mirrors_skipped_total`.

use crate::io::read_into;
use crate::shard::{Current, Shard};
use crate::upstream::{self, Attempt};
use monoio::net::TcpStream;
use shardgate_http1::{Method, ParseStatus, ResponseBody, ResponseHead};
use shardgate_ir::Mirror;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Whether this request is mirrored, given a uniformly random `u32` from
/// the shard's RNG: true for `numerator / denominator` of the values
/// (exact to within one value).
pub fn chosen(m: &Mirror, random: u32) -> bool {
    if m.numerator >= m.denominator {
        return true;
    }
    let point = (u64::from(random) * u64::from(m.denominator)) >> 32;
    point < u64::from(m.numerator)
}

/// Send `request` (a complete upstream request: head and whole body) to an
/// endpoint of cluster `ci` and discard the response. Spawned with
/// `monoio::spawn`; `cur` keeps the table the main request started with.
pub async fn send(
    shard: Rc<Shard>,
    cur: Rc<Current>,
    ci: usize,
    method: Method,
    request: Vec<u8>,
    timeout: Duration,
) {
    let Some(cluster) = cur.installed.table.clusters().get(ci) else {
        return;
    };
    let Some(rr) = cur.rr.get(ci) else { return };
    if cluster.endpoints.is_empty() {
        count_failed(&shard);
        return;
    }
    let pick = rr.get();
    rr.set(pick.wrapping_add(1));
    let endpoint = cluster.endpoints[pick % cluster.endpoints.len()].addr;
    let deadline = Instant::now() + timeout;
    let stream = match upstream::send_head(&shard, cluster, endpoint, request, deadline).await {
        Attempt::Sent { stream, .. } => stream,
        Attempt::Failed { failure, .. } => {
            tracing::debug!(cluster = cluster.name, %endpoint, ?failure, "mirror not delivered");
            count_failed(&shard);
            return;
        }
    };
    let m = &shard.metrics;
    m.mirrors_sent.set(m.mirrors_sent.get() + 1);
    let limits = &shard.settings.limits;
    let size = shard.settings.buffer_size;
    if let Ok(Some(stream)) =
        monoio::time::timeout(timeout, discard_response(stream, method, limits, size)).await
    {
        shard
            .pool
            .put(endpoint, stream, cluster.max_idle_per_endpoint as usize);
    }
}

fn count_failed(shard: &Shard) {
    let m = &shard.metrics;
    m.mirrors_failed.set(m.mirrors_failed.get() + 1);
}

/// Read one response and throw it away. The connection comes back when it
/// can carry another request: the response was framed by length (or had
/// no body), fully read, and keep-alive.
async fn discard_response(
    mut up: TcpStream,
    method: Method,
    limits: &shardgate_http1::Limits,
    size: usize,
) -> Option<TcpStream> {
    let mut buf = Vec::with_capacity(size);
    let mut head = ResponseHead::new();
    loop {
        if !buf.is_empty() {
            match head.parse(&buf, method, limits) {
                Ok(ParseStatus::Complete) if head.is_interim() => {
                    buf.drain(..head.head_len());
                    continue;
                }
                Ok(ParseStatus::Complete) => break,
                Ok(ParseStatus::Partial) => {}
                Err(_) => return None,
            }
        }
        buf = read_more(&mut up, buf, size).await?;
    }
    let mut left = match head.body() {
        ResponseBody::None => 0,
        ResponseBody::Length(n) => n,
        // Unframed or chunked bodies are not decoded here: the
        // connection is simply dropped.
        ResponseBody::Chunked | ResponseBody::UntilClose => return None,
    };
    let mut have = (buf.len() - head.head_len()) as u64;
    loop {
        if have > left {
            // More than the response: the upstream broke framing.
            return None;
        }
        left -= have;
        if left == 0 {
            break;
        }
        buf.clear();
        buf = read_more(&mut up, buf, size).await?;
        have = buf.len() as u64;
    }
    head.keep_alive().then_some(up)
}

/// Read at least one more byte into `buf`; `None` on end of input or error.
async fn read_more(up: &mut TcpStream, buf: Vec<u8>, size: usize) -> Option<Vec<u8>> {
    match read_into(up, buf, size).await {
        (Ok(n), buf) if n > 0 => Some(buf),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirror(numerator: u32, denominator: u32) -> Mirror {
        Mirror {
            cluster: 0,
            numerator,
            denominator,
        }
    }

    /// How many of `n` evenly spread random values (the middle of each
    /// of `n` equal slices of the `u32` range) select the mirror.
    fn share(m: &Mirror, n: u64) -> u64 {
        (0..n)
            .filter(|k| chosen(m, (((2 * k + 1) << 32) / (2 * n)) as u32))
            .count() as u64
    }

    #[test]
    fn fractions_select_their_share_of_the_random_range() {
        assert_eq!(share(&mirror(1, 1), 1000), 1000);
        assert_eq!(share(&mirror(0, 100), 1000), 0);
        assert_eq!(share(&mirror(20, 100), 1000), 200);
        assert_eq!(share(&mirror(25, 50), 1000), 500);
        assert_eq!(share(&mirror(35, 100), 1000), 350);
        assert!(chosen(&mirror(1, 1_000_000), 0));
        assert!(!chosen(&mirror(1, 1_000_000), u32::MAX));
    }
}

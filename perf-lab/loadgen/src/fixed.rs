//! A trivial fixed-response HTTP/1.1 server on the same runtime as the
//! generator: the backend of `compare`, and the target that measures the
//! generator's own ceiling. Every request head (bodies are not expected)
//! gets the same small `200`; pipelined requests are answered in order;
//! `Connection: close` closes after the answer.

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};
use shardgate_runtime::{DriverChoice, ShardHandle, ShardPlan, bind_reuseport};
use std::io;
use std::net::SocketAddr;

/// The response every request gets.
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: shardgate-lab\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n";

/// Longest request head accepted before the connection is closed.
const MAX_REQUEST_HEAD: usize = 64 * 1024;

/// A running server: one SO_REUSEPORT listener per shard.
pub struct FixedServer {
    pub addr: SocketAddr,
    shards: Vec<ShardHandle<()>>,
}

impl FixedServer {
    /// Bind `listen` (port 0 picks one) once per shard and start serving.
    pub fn start(listen: SocketAddr, plan: &ShardPlan, driver: DriverChoice) -> io::Result<Self> {
        let first = bind_reuseport(listen)?;
        let addr = first.local_addr()?;
        let (tx, rx) = crossbeam_channel::unbounded();
        tx.send(first).map_err(io::Error::other)?;
        for _ in 1..plan.len() {
            tx.send(bind_reuseport(addr)?).map_err(io::Error::other)?;
        }
        let shards = shardgate_runtime::spawn_shards::<(), _, _>(plan, driver, move |_ctx| {
            let listener = rx.try_recv();
            async move {
                match listener {
                    Ok(l) => accept_loop(l).await,
                    Err(_) => tracing::error!("fixed-server shard without a listener"),
                }
            }
        })?;
        Ok(FixedServer { addr, shards })
    }

    /// Serve until the process ends.
    pub fn wait(self) {
        for s in self.shards {
            s.join();
        }
    }
}

async fn accept_loop(std_listener: std::net::TcpListener) {
    let listener = match TcpListener::from_std(std_listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "fixed-server: cannot register listener");
            return;
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                monoio::spawn(serve(stream));
            }
            Err(e) => {
                tracing::warn!(error = %e, "fixed-server: accept failed");
                monoio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    }
}

/// Count the complete request heads at the start of `buf`: returns how
/// many bytes they take, how many there are, and whether one asked to close.
pub fn complete_heads(buf: &[u8]) -> (usize, usize, bool) {
    let (mut used, mut count, mut close) = (0, 0, false);
    while let Some(end) = buf[used..].windows(4).position(|w| w == b"\r\n\r\n") {
        let head = &buf[used..used + end];
        close |= head.split(|&b| b == b'\n').any(is_connection_close);
        used += end + 4;
        count += 1;
        if close {
            break;
        }
    }
    (used, count, close)
}

fn is_connection_close(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    line[..colon].eq_ignore_ascii_case(b"connection")
        && line[colon + 1..]
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
}

async fn serve(mut stream: TcpStream) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut out: Vec<u8> = Vec::with_capacity(RESPONSE.len() * 4);
    loop {
        let len = buf.len();
        let total = buf.bytes_total();
        let (res, slice) = stream.read(buf.slice_mut(len..total)).await;
        buf = slice.into_inner();
        match res {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (used, count, close) = complete_heads(&buf);
        if count > 0 {
            out.clear();
            for _ in 0..count {
                out.extend_from_slice(RESPONSE);
            }
            let (res, o) = stream.write_all(out).await;
            out = o;
            if res.is_err() || close {
                return;
            }
            buf.drain(..used);
        }
        if buf.len() >= MAX_REQUEST_HEAD {
            return;
        }
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_counted_and_close_is_seen() {
        let two = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\nGET /c";
        assert_eq!(complete_heads(two), (two.len() - 6, 2, false));
        let close =
            b"GET / HTTP/1.1\r\nconnection: keep-alive, Close\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        assert_eq!(complete_heads(close), (49, 1, true));
        assert_eq!(complete_heads(b"GET / HTTP/1.1\r\n"), (0, 0, false));
        assert!(!is_connection_close(b"X-Connection: close"));
    }
}

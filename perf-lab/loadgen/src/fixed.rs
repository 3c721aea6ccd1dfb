//! A trivial fixed-response server on the same runtime as the generator:
//! the backend of `compare`, and the target that measures the generator's
//! own ceiling. Every HTTP/1.1 request gets the same `200` (its body
//! `--body-size` bytes; request bodies with `Content-Length` are read and
//! dropped); pipelined requests are answered in order; `Connection: close`
//! closes after the answer. A request that lacks an expected header (or
//! carries a forbidden one) gets a `400` instead, so a scenario can check
//! what a proxy forwarded. A connection that opens with the HTTP/2 preface
//! is served by [`crate::fixed::serve_h2`]: plain requests get the same
//! body, gRPC requests (`content-type: application/grpc`) one message of
//! the same size and `grpc-status: 0`.

mod h2;
mod scan;

pub use scan::{Expect, RequestScanner, Scanned};

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};
use shardgate_runtime::{DriverChoice, ShardHandle, ShardPlan, bind_reuseport};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

/// The default response every request gets (13-byte body).
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: shardgate-lab\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n";

/// The answer to a request that failed the header expectations.
pub const REJECT: &[u8] = b"HTTP/1.1 400 Bad Request\r\nServer: shardgate-lab\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n\r\nheader check failed.\n";

/// The default body size (that of [`RESPONSE`]).
pub const DEFAULT_BODY: usize = 13;

/// What the server answers and checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedConfig {
    /// Response body size.
    pub body: usize,
    pub expect: Expect,
}

impl Default for FixedConfig {
    fn default() -> Self {
        FixedConfig {
            body: DEFAULT_BODY,
            expect: Expect::default(),
        }
    }
}

impl FixedConfig {
    /// The HTTP/1.1 response with a `body`-byte body.
    pub fn response(&self) -> Vec<u8> {
        if self.body == DEFAULT_BODY {
            return RESPONSE.to_vec();
        }
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nServer: shardgate-lab\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
            self.body
        )
        .into_bytes();
        r.extend(crate::http::body(self.body));
        r
    }
}

/// Longest request head accepted before the connection is closed.
const MAX_REQUEST_HEAD: usize = 64 * 1024;

/// A running server: one SO_REUSEPORT listener per shard.
pub struct FixedServer {
    pub addr: SocketAddr,
    shards: Vec<ShardHandle<()>>,
}

impl FixedServer {
    /// Bind `listen` (port 0 picks one) once per shard and start serving
    /// the default answer.
    pub fn start(listen: SocketAddr, plan: &ShardPlan, driver: DriverChoice) -> io::Result<Self> {
        Self::start_with(listen, plan, driver, FixedConfig::default())
    }

    /// [`FixedServer::start`] with a body size and header checks.
    pub fn start_with(
        listen: SocketAddr,
        plan: &ShardPlan,
        driver: DriverChoice,
        config: FixedConfig,
    ) -> io::Result<Self> {
        let first = bind_reuseport(listen)?;
        let addr = first.local_addr()?;
        let (tx, rx) = crossbeam_channel::unbounded();
        tx.send(first).map_err(io::Error::other)?;
        for _ in 1..plan.len() {
            tx.send(bind_reuseport(addr)?).map_err(io::Error::other)?;
        }
        let shards = shardgate_runtime::spawn_shards::<(), _, _>(plan, driver, move |_ctx| {
            let listener = rx.try_recv();
            let config = Rc::new(Served::new(config.clone()));
            async move {
                match listener {
                    Ok(l) => accept_loop(l, config).await,
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

/// A shard's prepared answers.
struct Served {
    config: FixedConfig,
    response: Vec<u8>,
}

impl Served {
    fn new(config: FixedConfig) -> Self {
        Served {
            response: config.response(),
            config,
        }
    }
}

async fn accept_loop(std_listener: std::net::TcpListener, served: Rc<Served>) {
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
                monoio::spawn(serve(stream, served.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "fixed-server: accept failed");
                monoio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    }
}

/// The HTTP/2 connection preface.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

async fn serve(mut stream: TcpStream, served: Rc<Served>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut out: Vec<u8> = Vec::with_capacity(served.response.len() * 4);
    let mut scanner = RequestScanner::new(served.config.expect.clone());
    let mut first = true;
    loop {
        let len = buf.len();
        let total = buf.bytes_total();
        let (res, slice) = stream.read(buf.slice_mut(len..total)).await;
        buf = slice.into_inner();
        match res {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if first {
            let n = buf.len().min(H2_PREFACE.len());
            if buf[..n] == H2_PREFACE[..n] {
                if n < H2_PREFACE.len() {
                    continue;
                }
                h2::serve_h2(stream, buf, served.config.clone()).await;
                return;
            }
            first = false;
        }
        let scanned = scanner.scan(&buf);
        if scanned.answered() > 0 {
            out.clear();
            for _ in 0..scanned.ok {
                out.extend_from_slice(&served.response);
            }
            for _ in 0..scanned.rejected {
                out.extend_from_slice(REJECT);
            }
            let (res, o) = stream.write_all(out).await;
            out = o;
            if res.is_err() {
                return;
            }
        }
        if scanned.close || scanned.malformed {
            return;
        }
        buf.drain(..scanned.used);
        if buf.len() >= MAX_REQUEST_HEAD {
            return;
        }
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity());
        }
    }
}

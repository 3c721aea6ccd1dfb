//! The echo backend used by the quickstart, the integration tests and the
//! Gateway API conformance runner: it answers every request with JSON that
//! describes it, in the shape of the conformance suite's `echo-basic`
//! server (see `shared/conformance/INDEX.md`).
//!
//! # What it answers
//!
//! - Every request not listed below: `200`, `Content-Type:
//!   application/json`, `X-Content-Type-Options: nosniff`, body
//!   `{"path", "host", "method", "proto", "headers", "httpPort", "namespace",
//!   "ingress", "service", "pod"}`. `path` is the request-target as
//!   received (query included), `headers` maps canonical names
//!   (`X-Foo-Bar`) to their values in order; `Host`, `Transfer-Encoding`
//!   and `Trailer` are not listed (as in Go's `net/http`).
//!   `?delay=<go duration>` sleeps first. `X-Echo-Set-Header:
//!   Name1:val1,Name2:val2` sets those response headers. Every echo is
//!   logged on stdout as `Echoing back request made to <target> to client
//!   (<peer>)` (the conformance mirror tests read that line).
//! - `/health`: `200 OK` text. `/status/NNN`: status NNN, empty body (400 if
//!   the target is not exactly `/status/` and three digits).
//! - `/retry/...?uuid=U&succeedAfter=N[&responseCode=C][&delayRetry=D]`:
//!   the first N attempts per uuid fail with status C, or, without C, the
//!   connection is closed without a response (echo-basic sends a TCP RST;
//!   without `unsafe` we cannot set SO_LINGER on a monoio socket, and a
//!   close before any response byte is the same connection error for the
//!   proxy's retry logic); later attempts echo.
//! - `/ws`: WebSocket echo (RFC 6455 handshake; text, binary and
//!   continuation frames echoed with their opcode, ping → pong, close →
//!   close); a non-WebSocket request to `/ws` gets 400.
//!
//! Test hooks for proxy tests (not used by the conformance suite):
//! - `/bytes/N`: `N` bytes of `application/octet-stream` with
//!   `Content-Length`, streamed in 64 KiB writes (large-body tests).
//! - `/chunked/N`: `N` bytes with `Transfer-Encoding: chunked` in chunks of
//!   at most 16 KiB (HTTP/1.0 clients get Content-Length instead).
//! - `/delay/MS`: wait MS milliseconds, then echo (timeout tests).
//! - Every response carries `X-Echo-Body-Length: <n>`, the number of
//!   request body bytes received (Content-Length or decoded chunked), so
//!   tests can check body forwarding without reading it back. (The JSON
//!   keeps exactly the conformance shape.)
//!
//! Requests are parsed strictly with `shardgate-http1`; bodies are consumed
//! as they stream in and never buffered whole; keep-alive and pipelining
//! work; a malformed request gets its 4xx/5xx and the connection closes.
#![forbid(unsafe_code)]

mod conn;
mod duration;
mod reply;
mod ws;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use thiserror::Error;

/// Where to listen and what identity to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoConfig {
    /// Address to listen on (port 0 picks a free one, see
    /// [`EchoServer::local_addr`]).
    pub listen: SocketAddr,
    /// Reported as `pod` (the conformance suite matches its prefix).
    pub pod: String,
    /// Reported as `namespace`.
    pub namespace: String,
    /// Reported as `service` (empty when `None`).
    pub service: Option<String>,
}

/// Errors starting or running the server.
#[derive(Debug, Error)]
pub enum EchoError {
    #[error("echo: cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("echo: cannot start the monoio runtime: {0}")]
    Runtime(std::io::Error),
    #[error("echo: listener on {addr} failed: {source}")]
    Listener {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A cloneable stop signal usable from any thread. The server checks it
/// every 50 ms, stops accepting and returns; open connections are dropped.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask the server to stop.
    pub fn trigger(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Has [`Shutdown::trigger`] been called?
    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A bound, not yet running echo server. Binding first lets callers learn
/// the port (tests bind port 0) before running it on a thread.
#[derive(Debug)]
pub struct EchoServer {
    cfg: EchoConfig,
    listener: std::net::TcpListener,
    local: SocketAddr,
}

impl EchoServer {
    /// Bind the listening socket.
    pub fn bind(cfg: EchoConfig) -> Result<Self, EchoError> {
        let listener =
            std::net::TcpListener::bind(cfg.listen).map_err(|source| EchoError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let local = listener.local_addr().map_err(|source| EchoError::Bind {
            addr: cfg.listen,
            source,
        })?;
        Ok(EchoServer {
            cfg,
            listener,
            local,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serve on the current thread (single-threaded monoio runtime) until
    /// `shutdown` is triggered.
    pub fn run(self, shutdown: Shutdown) -> Result<(), EchoError> {
        let mut rt = monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
            .enable_timer()
            .build()
            .map_err(EchoError::Runtime)?;
        let local = self.local;
        rt.block_on(serve(self, shutdown))
            .map_err(|source| EchoError::Listener {
                addr: local,
                source,
            })
    }
}

/// Bind `cfg.listen` and serve until `shutdown` is triggered (blocks the
/// calling thread).
pub fn run(cfg: EchoConfig, shutdown: Shutdown) -> Result<(), EchoError> {
    EchoServer::bind(cfg)?.run(shutdown)
}

/// Identity and shared state of one running server.
pub(crate) struct Ctx {
    pub(crate) pod: String,
    pub(crate) namespace: String,
    pub(crate) service: String,
    pub(crate) http_port: String,
    /// Attempts per uuid for `/retry/`.
    pub(crate) retries: RefCell<HashMap<String, u32>>,
    /// Echo log lines not yet written to stdout. Batched so that a load
    /// test does not pay one write(2) per request; flushed every 50 ms, at
    /// 64 KiB and on shutdown.
    pub(crate) log: RefCell<Vec<u8>>,
}

impl Ctx {
    /// Record `Echoing back request made to <target> to client (<peer>)`.
    pub(crate) fn log_echo(&self, target: &str, peer: SocketAddr) {
        use std::io::Write as _;
        let mut log = self.log.borrow_mut();
        let _ = writeln!(
            log,
            "Echoing back request made to {target} to client ({peer})"
        );
        if log.len() >= 64 * 1024 {
            flush_log(&mut log);
        }
    }

    fn flush(&self) {
        flush_log(&mut self.log.borrow_mut());
    }
}

fn flush_log(log: &mut Vec<u8>) {
    use std::io::Write as _;
    if log.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(log).and_then(|()| out.flush()) {
        tracing::warn!(error = %e, "echo: cannot write the request log to stdout");
    }
    log.clear();
}

async fn serve(server: EchoServer, shutdown: Shutdown) -> std::io::Result<()> {
    server.listener.set_nonblocking(true)?;
    let listener = monoio::net::TcpListener::from_std(server.listener)?;
    let ctx = Rc::new(Ctx {
        pod: server.cfg.pod,
        namespace: server.cfg.namespace,
        service: server.cfg.service.unwrap_or_default(),
        http_port: server.local.port().to_string(),
        retries: RefCell::new(HashMap::new()),
        log: RefCell::new(Vec::with_capacity(64 * 1024)),
    });
    tracing::info!(addr = %server.local, "echo backend listening");
    // Flushing the request log and watching for shutdown run in their own
    // task: racing `accept` against a timer would drop a connection whose
    // accept completed just as the timer won (the io_uring result is lost).
    let canceller = monoio::io::Canceller::new();
    let cancel = canceller.handle();
    let stopped = Rc::new(Cell::new(false));
    {
        let ctx = ctx.clone();
        let stopped = stopped.clone();
        monoio::spawn(async move {
            loop {
                monoio::time::sleep(Duration::from_millis(50)).await;
                ctx.flush();
                if shutdown.is_triggered() {
                    stopped.set(true);
                    canceller.cancel();
                    return;
                }
            }
        });
    }
    loop {
        match listener.cancelable_accept(cancel.clone()).await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                monoio::spawn(conn::serve_connection(stream, peer, ctx.clone()));
            }
            Err(_) if stopped.get() => {
                ctx.flush();
                tracing::info!(addr = %server.local, "echo backend stopping");
                return Ok(());
            }
            Err(e) => {
                // EMFILE and friends: log, back off briefly, keep serving.
                tracing::warn!(error = %e, "echo accept failed");
                monoio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

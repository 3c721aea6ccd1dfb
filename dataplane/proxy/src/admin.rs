//! The data plane's admin endpoint: `/metrics`, `/ready`, `/config_dump`,
//! served by one plain thread (off every shard), on TCP and/or a unix
//! socket. Shard counters are gathered by message, never read across cores.

use crate::metrics::MetricsSnapshot;
use crate::reader::ReaderState;
use crate::shard::ShardMsg;
use shardgate_http1::{Limits, ParseStatus, RequestHead};
use shardgate_runtime::{Driver, Mailbox};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The snapshot without private keys: a dump is for reading, not a leak.
fn redacted(s: &shardgate_ir::Snapshot) -> shardgate_ir::Snapshot {
    let mut s = s.clone();
    for c in s
        .listeners
        .iter_mut()
        .filter_map(|l| l.tls.as_mut())
        .flat_map(|t| t.certificates.iter_mut())
    {
        c.key_pem = "<redacted>".into();
    }
    s
}

/// Where the admin endpoint listens.
#[derive(Debug, Clone)]
pub enum AdminAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

pub struct Admin {
    pub shards: Vec<Mailbox<ShardMsg>>,
    pub driver: Driver,
    pub reader: Arc<ReaderState>,
}

impl Admin {
    /// Gather every shard's counters (each shard answers between requests).
    pub fn collect(&self) -> MetricsSnapshot {
        let (tx, rx) = crossbeam_channel::unbounded();
        let asked = self
            .shards
            .iter()
            .filter(|s| s.send(ShardMsg::Collect(tx.clone())))
            .count();
        drop(tx);
        let mut merged = MetricsSnapshot::default();
        for _ in 0..asked {
            match rx.recv_timeout(Duration::from_secs(2)) {
                Ok(s) => merged.merge(s),
                Err(_) => break,
            }
        }
        if let Ok(refused) = self.reader.tls_refused.lock() {
            merged.tls_certificates_refused = refused.clone();
        }
        merged
    }

    /// Status, content type and body for a GET of `path`.
    pub fn respond(&self, path: &str) -> (u16, &'static str, String) {
        match path {
            "/metrics" => (
                200,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.collect().render(self.driver.as_str()),
            ),
            "/ready" => self.ready(),
            "/config_dump" => {
                let current = self.reader.current.lock().ok().and_then(|c| c.clone());
                match current.map(|s| serde_json::to_string_pretty(&redacted(&s))) {
                    Some(Ok(json)) => (200, "application/json", json),
                    Some(Err(e)) => (500, "text/plain", format!("cannot render: {e}\n")),
                    None => (503, "text/plain", "no snapshot adopted yet\n".into()),
                }
            }
            _ => (404, "text/plain", "not found\n".into()),
        }
    }

    fn ready(&self) -> (u16, &'static str, String) {
        let m = self.collect();
        let want = self
            .reader
            .current
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|s| s.generation));
        let all = m.generations.len() == self.shards.len();
        let ready = all && want.is_some_and(|g| m.generations.iter().all(|s| *s == g));
        let mut body = String::from(if ready { "ready\n" } else { "not ready\n" });
        body.push_str(&format!("driver: {}\n", self.driver.as_str()));
        body.push_str(&format!("shards: {}\n", self.shards.len()));
        body.push_str(&format!(
            "generation: {}\n",
            want.map_or("none".into(), |g| g.to_string())
        ));
        for (i, g) in m.generations.iter().enumerate() {
            body.push_str(&format!("shard {i}: generation {g}\n"));
        }
        if let Some(e) = self.reader.last_error.lock().ok().and_then(|e| e.clone()) {
            body.push_str(&format!("last refusal: {e}\n"));
        }
        (if ready { 200 } else { 503 }, "text/plain", body)
    }

    /// Serve one connection: one request, one response, close.
    pub fn serve<S: Read + Write>(&self, mut s: S) {
        let mut buf = Vec::with_capacity(1024);
        let mut head = RequestHead::new();
        let limits = Limits {
            max_head_bytes: 16 * 1024,
            ..Limits::default()
        };
        let mut chunk = [0u8; 1024];
        let path = loop {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            match head.parse(&buf, &limits) {
                Ok(ParseStatus::Complete) => break head.path_only(&buf).to_vec(),
                Ok(ParseStatus::Partial) => {}
                Err(e) => {
                    let _ = write!(
                        s,
                        "HTTP/1.1 {} Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        e.status()
                    );
                    return;
                }
            }
        };
        let (status, ctype, body) = if head.method_bytes(&buf) == b"GET" {
            self.respond(&String::from_utf8_lossy(&path))
        } else {
            (405, "text/plain", "only GET\n".into())
        };
        let _ = write!(
            s,
            "HTTP/1.1 {status} {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            shardgate_http1::reason_phrase(status),
            body.len()
        );
    }
}

/// Start the admin thread(s).
pub fn spawn(admin: Arc<Admin>, addrs: &[AdminAddr]) -> std::io::Result<()> {
    for addr in addrs {
        let admin = admin.clone();
        match addr {
            AdminAddr::Tcp(a) => {
                let l = std::net::TcpListener::bind(a)?;
                std::thread::Builder::new()
                    .name("admin-tcp".into())
                    .spawn(move || {
                        for s in l.incoming().flatten() {
                            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                            admin.serve(s);
                        }
                    })?;
            }
            AdminAddr::Unix(p) => {
                let _ = std::fs::remove_file(p);
                let l = std::os::unix::net::UnixListener::bind(p).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("admin socket {}: {e}", p.display()))
                })?;
                std::thread::Builder::new()
                    .name("admin-unix".into())
                    .spawn(move || {
                        for s in l.incoming().flatten() {
                            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                            admin.serve(s);
                        }
                    })?;
            }
        }
    }
    Ok(())
}

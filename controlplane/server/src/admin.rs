//! The admin HTTP endpoint: /status, /config_dump, /ready, /metrics.
//! A deliberately small HTTP/1.1 server: one request per connection,
//! answered with Content-Length and `Connection: close`.

use crate::dataplane;
use crate::state::Shared;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 16 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the admin server finds what it reports.
#[derive(Debug, Clone)]
pub struct Admin {
    pub shared: Arc<Shared>,
    /// The data plane's admin unix socket, when configured.
    pub dataplane: Option<PathBuf>,
}

/// An answer: status, content type, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    fn text(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

impl Admin {
    /// Accept connections until the task is dropped.
    pub async fn serve(self, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let admin = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = admin.connection(stream).await {
                            tracing::debug!(%peer, error = %e, "admin connection failed");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    async fn connection(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
            Ok(Ok(Some(h))) => h,
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Ok(()),
        };
        let (reply, head_only) = match parse_request_line(&head) {
            Some((method @ ("GET" | "HEAD"), target)) => {
                (self.handle(target).await, method == "HEAD")
            }
            Some(_) => (Reply::text(405, "only GET and HEAD are supported\n"), false),
            None => (Reply::text(400, "bad request\n"), false),
        };
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            reply.status,
            reason(reply.status),
            reply.content_type,
            reply.body.len()
        );
        if reply.status == 405 {
            out.push_str("Allow: GET, HEAD\r\n");
        }
        out.push_str("\r\n");
        if !head_only {
            out.push_str(&reply.body);
        }
        stream.write_all(out.as_bytes()).await?;
        stream.shutdown().await
    }

    /// Route one request target.
    pub async fn handle(&self, target: &str) -> Reply {
        let path = target.split('?').next().unwrap_or(target);
        match path {
            "/status" => self.status(),
            "/config_dump" => self.config_dump(),
            "/ready" => self.ready().await,
            "/metrics" => self.metrics().await,
            _ => Reply::text(404, format!("no such endpoint: {path}\n")),
        }
    }

    fn status(&self) -> Reply {
        let view = self.shared.view();
        let objects = shardgate_gateway::with_status(&view.objects, &view.status);
        match serde_saphyr::to_string_multiple(&objects) {
            Ok(body) => Reply {
                status: 200,
                content_type: "application/yaml",
                body,
            },
            Err(e) => Reply::text(500, format!("cannot render status: {e}\n")),
        }
    }

    fn config_dump(&self) -> Reply {
        let view = self.shared.view();
        let Some(snapshot) = &view.published else {
            return Reply::text(503, "no snapshot published yet\n");
        };
        match serde_json::to_string_pretty(snapshot) {
            Ok(mut body) => {
                body.push('\n');
                Reply {
                    status: 200,
                    content_type: "application/json",
                    body,
                }
            }
            Err(e) => Reply::text(500, format!("cannot render snapshot: {e}\n")),
        }
    }

    async fn ready(&self) -> Reply {
        let (ready, mut body) = {
            let view = self.shared.view();
            match &view.published {
                None => (false, "not ready: no snapshot published yet\n".to_owned()),
                Some(p) if view.adopted => (
                    true,
                    format!(
                        "ready: generation {} adopted by every data-plane shard\n",
                        p.generation
                    ),
                ),
                Some(p) if view.readers.is_empty() => (
                    false,
                    format!(
                        "not ready: generation {} published, no data plane attached\n",
                        p.generation
                    ),
                ),
                Some(p) => {
                    let mut s = format!(
                        "not ready: generation {} not yet adopted by every data-plane shard\n",
                        p.generation
                    );
                    for r in &view.readers {
                        let _ = writeln!(s, "  pid {}: shards at {:?}", r.pid, r.shards);
                    }
                    (false, s)
                }
            }
        };
        if let Some(socket) = &self.dataplane {
            match dataplane::get(socket, "/ready").await {
                Ok((code, text)) => {
                    let _ = write!(body, "data plane /ready ({code}): {text}");
                    if !text.ends_with('\n') {
                        body.push('\n');
                    }
                }
                Err(e) => {
                    let _ = writeln!(body, "data plane /ready unavailable: {e}");
                }
            }
        }
        Reply::text(if ready { 200 } else { 503 }, body)
    }

    async fn metrics(&self) -> Reply {
        let mut body = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut body, &self.shared.registry)
        {
            return Reply::text(500, format!("cannot encode metrics: {e}\n"));
        }
        strip_eof(&mut body);
        if let Some(socket) = &self.dataplane {
            body.push_str(&dataplane_metrics(socket).await);
        }
        body.push_str("# EOF\n");
        Reply {
            status: 200,
            content_type: OPENMETRICS,
            body,
        }
    }
}

/// Both planes' metrics go out as one OpenMetrics exposition (the data
/// plane speaks OpenMetrics too), which admits no free comments.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The data plane's metric families, after a gauge saying whether they
/// could be fetched (labelled with the socket; the reason goes to the log).
async fn dataplane_metrics(socket: &Path) -> String {
    let fetched = match dataplane::get(socket, "/metrics").await {
        Ok((200, mut text)) => {
            strip_eof(&mut text);
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            Some(text)
        }
        Ok((code, _)) => {
            tracing::warn!(socket = %socket.display(), code, "data plane metrics unavailable");
            None
        }
        Err(e) => {
            tracing::warn!(socket = %socket.display(), error = %e, "data plane metrics unavailable");
            None
        }
    };
    let label = socket
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        "# HELP shardgate_controlplane_dataplane_scrape_up Whether the data plane's metrics are included in this scrape.\n\
         # TYPE shardgate_controlplane_dataplane_scrape_up gauge\n\
         shardgate_controlplane_dataplane_scrape_up{{socket=\"{label}\"}} {}\n{}",
        u8::from(fetched.is_some()),
        fetched.unwrap_or_default()
    )
}

/// Drop an OpenMetrics `# EOF` terminator, so that more text can follow.
fn strip_eof(text: &mut String) {
    let trimmed = text.trim_end_matches('\n');
    if let Some(rest) = trimmed.strip_suffix("# EOF") {
        let keep = rest.len();
        text.truncate(keep);
    }
}

/// Read until the end of the request head; `None` if the peer closed first.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Some(String::from_utf8_lossy(&buf[..end]).into_owned()));
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
    }
}

fn parse_request_line(head: &str) -> Option<(&str, &str)> {
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next()?;
    (version.starts_with("HTTP/1.") && target.starts_with('/') && parts.next().is_none())
        .then_some((method, target))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            parse_request_line("GET /ready HTTP/1.1\r\nHost: x"),
            Some(("GET", "/ready"))
        );
        assert_eq!(parse_request_line("GET ready HTTP/1.1"), None);
        assert_eq!(parse_request_line("GET / SPDY"), None);
        assert_eq!(parse_request_line("GET / HTTP/1.1 extra"), None);
    }

    #[test]
    fn eof_is_stripped() {
        let mut s = "a 1\n# EOF\n".to_owned();
        strip_eof(&mut s);
        assert_eq!(s, "a 1\n");
        let mut s = "a 1\n".to_owned();
        strip_eof(&mut s);
        assert_eq!(s, "a 1\n");
    }
}

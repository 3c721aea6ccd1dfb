//! A minimal HTTP/1.1 client for the data plane's admin endpoint on a unix
//! socket: one GET with `Connection: close`, read to the end.

use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Upper bound of a data-plane admin answer we accept.
const MAX_RESPONSE: u64 = 16 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(2);

/// Why the data plane's admin endpoint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: no answer within {TIMEOUT:?}")]
    Timeout { path: String },
    #[error("{path}: malformed HTTP response: {reason}")]
    Malformed { path: String, reason: &'static str },
}

/// Status code and body of `GET target`.
pub async fn get(socket: &Path, target: &str) -> Result<(u16, String), FetchError> {
    let path = socket.display().to_string();
    match tokio::time::timeout(TIMEOUT, fetch(socket, target, &path)).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Timeout { path }),
    }
}

async fn fetch(socket: &Path, target: &str, path: &str) -> Result<(u16, String), FetchError> {
    let io = |source| FetchError::Io {
        path: path.to_owned(),
        source,
    };
    let mut stream = UnixStream::connect(socket).await.map_err(io)?;
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .await
        .map_err(io)?;
    parse_response(&raw).map_err(|reason| FetchError::Malformed {
        path: path.to_owned(),
        reason,
    })
}

/// Split a whole response into status and body, honouring Content-Length
/// and chunked framing.
fn parse_response(raw: &[u8]) -> Result<(u16, String), &'static str> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of head")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "head is not UTF-8")?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("empty head")?;
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err("not an HTTP/1.x status line");
    }
    let code: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or("bad status code")?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or("bad header line")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| "bad content-length")?);
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(n) = length {
        body.get(..n)
            .ok_or("body shorter than content-length")?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok((code, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_line = std::str::from_utf8(&rest[..eol]).map_err(|_| "bad chunk size")?;
        let hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(hex, 16).map_err(|_| "bad chunk size")?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or("truncated chunk")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("truncated chunk")?;
    }
}

#[cfg(test)]
mod tests {
    use super::parse_response;

    #[test]
    fn content_length_and_chunked() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello extra");
        assert_eq!(r, Ok((200, "hello".to_owned())));
        let r = parse_response(
            b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnot\r\n6;x=y\r\n ready\r\n0\r\n\r\n",
        );
        assert_eq!(r, Ok((503, "not ready".to_owned())));
        let r = parse_response(b"HTTP/1.0 200 OK\r\n\r\nuntil close");
        assert_eq!(r, Ok((200, "until close".to_owned())));
        assert!(parse_response(b"garbage").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").is_err());
    }
}

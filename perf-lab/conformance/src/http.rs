//! A small blocking HTTP/1.1 client, like the suite's round tripper with
//! keep-alives off: one connection per request, `Connection: close`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::tls::{self, TlsTarget};

/// A request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// Request target (path and query).
    pub target: String,
    pub host: String,
    /// Extra header fields, in order.
    pub headers: Vec<(String, String)>,
    /// HTTPS: SNI and the pinned certificate; `None` is cleartext.
    pub tls: Option<TlsTarget>,
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A response as received.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// All values of a header (case-insensitive), in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Values joined with `,` (as the suite compares them), if present.
    pub fn header_joined(&self, name: &str) -> Option<String> {
        let v = self.header_values(name);
        (!v.is_empty()).then(|| v.join(","))
    }
}

/// Send `req` to `addr` and read the whole response.
pub fn send(
    addr: SocketAddr,
    req: &HttpRequest,
    timeout: Duration,
) -> Result<HttpResponse, String> {
    let deadline = Instant::now() + timeout;
    let tcp =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    // Socket options set through a second handle apply to the one socket.
    let control = tcp.try_clone().map_err(|e| e.to_string())?;
    let mut s: Box<dyn ReadWrite> = match &req.tls {
        None => Box::new(tcp),
        Some(t) => Box::new(tls::connect(tcp, t)?),
    };
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        req.method, req.target, req.host
    );
    for (n, v) in &req.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\nUser-Agent: shardgate-conformance\r\n\r\n");
    control
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.write_all(head.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("timed out after {timeout:?} reading the response"));
        }
        control
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("timed out after {timeout:?} reading the response"));
            }
            Err(e) if buf.is_empty() => return Err(format!("read: {e}")),
            // A reset after a complete response still leaves a response.
            Err(_) => break,
        }
        if let Some(resp) = complete(&buf, &req.method)? {
            return Ok(resp);
        }
    }
    if buf.is_empty() {
        return Err("connection closed without a response".into());
    }
    parse_response(&buf, &req.method, true)?.ok_or_else(|| "truncated response".to_owned())
}

fn complete(buf: &[u8], method: &str) -> Result<Option<HttpResponse>, String> {
    parse_response(buf, method, false)
}

/// Parse a response; `Ok(None)` when more bytes are needed. With `eof`
/// a body without framing ends at the end of the bytes.
pub fn parse_response(buf: &[u8], method: &str, eof: bool) -> Result<Option<HttpResponse>, String> {
    let mut hs = [httparse::EMPTY_HEADER; 128];
    let mut r = httparse::Response::new(&mut hs);
    let n = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("malformed response: {e}")),
    };
    let status = r.code.ok_or("response without status")?;
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let rest = &buf[n..];
    let no_body =
        method.eq_ignore_ascii_case("HEAD") || status / 100 == 1 || status == 204 || status == 304;
    let body = if no_body {
        Some(Vec::new())
    } else if find("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(cl) = find("content-length") {
        let len: usize = cl
            .parse()
            .map_err(|_| format!("bad Content-Length {cl:?}"))?;
        (rest.len() >= len).then(|| rest[..len].to_vec())
    } else if eof {
        Some(rest.to_vec())
    } else {
        None
    };
    Ok(body.map(|body| HttpResponse {
        status,
        headers,
        body,
    }))
}

/// Decode a chunked body; `Ok(None)` if incomplete.
fn dechunk(mut b: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&b[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if b.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_length_chunked_and_eof_bodies() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nA: 1\r\na: 2\r\n\r\nabc",
            "GET",
            false,
        )
        .expect("valid")
        .expect("complete");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"abc");
        assert_eq!(r.header_joined("A").as_deref(), Some("1,2"));
        assert!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab",
                "GET",
                false
            )
            .expect("valid")
            .is_none()
        );
        let c = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
            "GET",
            false,
        )
        .expect("valid")
        .expect("complete");
        assert_eq!(c.body, b"abc");
        let e = parse_response(b"HTTP/1.1 404 Not Found\r\n\r\nnope", "GET", true)
            .expect("valid")
            .expect("complete at eof");
        assert_eq!((e.status, e.body.as_slice()), (404, &b"nope"[..]));
        let h = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
            "HEAD",
            false,
        )
        .expect("valid")
        .expect("HEAD has no body");
        assert!(h.body.is_empty());
        assert!(parse_response(b"NOT HTTP\r\n\r\n", "GET", false).is_err());
    }
}

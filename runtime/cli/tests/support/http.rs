//! A tiny HTTP/1.1 client over `std::net::TcpStream`: raw requests in,
//! status, headers and body out (Content-Length, chunked or until close).
//! Tests need byte-level control (pipelining, bad framing, slow uploads),
//! which is why this is not a general-purpose client.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Longest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
const READ_SIZE: usize = 64 * 1024;
/// Default socket read/write timeout: generous, but every read is bounded.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Status line and header fields of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the `Connection` field lists `close`.
    pub fn closes(&self) -> bool {
        self.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("connection")
                && v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
        })
    }

    fn is_chunked(&self) -> bool {
        self.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding")
                && v.rsplit(',')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"))
        })
    }

    fn content_length(&self) -> io::Result<Option<u64>> {
        match self.header("content-length") {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| bad(format!("bad Content-Length {v:?}"))),
        }
    }
}

/// A whole response.
#[derive(Debug, Clone)]
pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (the echo backend's answer).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {}", self.text()))
    }

    /// The echo backend's pod name, if the body is its JSON.
    pub fn pod(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        v.get("pod")?.as_str().map(str::to_owned)
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// `GET path` with a Host field, keep-alive.
pub fn get_request(host: &str, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")
}

/// One connection to a server, with a read buffer that may hold the start
/// of the next (pipelined) response.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::with_capacity(READ_SIZE),
            pos: 0,
        })
    }

    pub fn set_read_timeout(&self, t: Duration) -> io::Result<()> {
        self.stream.set_read_timeout(Some(t))
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Send `raw` and read one response.
    pub fn request(&mut self, raw: &str) -> io::Result<Response> {
        self.send(raw.as_bytes())?;
        self.read_response()
    }

    /// `GET path` on this connection (keep-alive).
    pub fn get(&mut self, host: &str, path: &str) -> io::Result<Response> {
        self.request(&get_request(host, path))
    }

    /// Read one response to a request that was not HEAD.
    pub fn read_response(&mut self) -> io::Result<Response> {
        let head = self.read_head()?;
        let mut body = Vec::new();
        self.read_body(&head, false, |b| body.extend_from_slice(b))?;
        Ok(Response { head, body })
    }

    /// Read a final (non-1xx) response head.
    pub fn read_head(&mut self) -> io::Result<Head> {
        for _ in 0..16 {
            let head = self.read_one_head()?;
            if head.status >= 200 || head.status == 101 {
                return Ok(head);
            }
        }
        Err(bad("more than 16 interim responses"))
    }

    fn read_one_head(&mut self) -> io::Result<Head> {
        let end = loop {
            if let Some(i) = find(&self.buf[self.pos..], b"\r\n\r\n") {
                break self.pos + i;
            }
            if self.buf.len() - self.pos > MAX_HEAD {
                return Err(bad("response head too large"));
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before a response head",
                ));
            }
        };
        let text = String::from_utf8_lossy(&self.buf[self.pos..end]).into_owned();
        self.pos = end + 4;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with("HTTP/1.") {
            return Err(bad(format!("bad status line {status_line:?}")));
        }
        let status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        let mut headers = Vec::new();
        for line in lines {
            let (n, v) = line
                .split_once(':')
                .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
            headers.push((n.to_owned(), v.trim().to_owned()));
        }
        Ok(Head { status, headers })
    }

    /// Read the body that follows `head`, handing each piece to `sink`;
    /// returns the body length (decoded, for chunked).
    pub fn read_body(
        &mut self,
        head: &Head,
        head_request: bool,
        mut sink: impl FnMut(&[u8]),
    ) -> io::Result<u64> {
        let bodiless = head_request || head.status < 200 || matches!(head.status, 204 | 304);
        if bodiless {
            return Ok(0);
        }
        if head.is_chunked() {
            return self.read_chunked(&mut sink);
        }
        match head.content_length()? {
            Some(n) => {
                self.take(n, &mut sink)?;
                Ok(n)
            }
            None => {
                let mut total = 0u64;
                loop {
                    if self.pos < self.buf.len() {
                        sink(&self.buf[self.pos..]);
                        total += (self.buf.len() - self.pos) as u64;
                        self.pos = self.buf.len();
                    }
                    if self.fill()? == 0 {
                        return Ok(total);
                    }
                }
            }
        }
    }

    fn read_chunked(&mut self, sink: &mut impl FnMut(&[u8])) -> io::Result<u64> {
        let mut total = 0u64;
        loop {
            let line = self.read_line()?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let n = u64::from_str_radix(size, 16)
                .map_err(|_| bad(format!("bad chunk size line {line:?}")))?;
            if n == 0 {
                // Trailer fields up to an empty line.
                for _ in 0..64 {
                    if self.read_line()?.is_empty() {
                        return Ok(total);
                    }
                }
                return Err(bad("too many trailer fields"));
            }
            self.take(n, sink)?;
            total += n;
            if !self.read_line()?.is_empty() {
                return Err(bad("chunk data not followed by CRLF"));
            }
        }
    }

    fn read_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = find(&self.buf[self.pos..], b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[self.pos..self.pos + i]).into_owned();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.buf.len() - self.pos > MAX_HEAD {
                return Err(bad("line too long"));
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a chunked body",
                ));
            }
        }
    }

    fn take(&mut self, mut n: u64, sink: &mut impl FnMut(&[u8])) -> io::Result<()> {
        while n > 0 {
            if self.pos == self.buf.len() && self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("connection closed with {n} body bytes missing"),
                ));
            }
            let avail = (self.buf.len() - self.pos) as u64;
            let k = avail.min(n) as usize;
            sink(&self.buf[self.pos..self.pos + k]);
            self.pos += k;
            n -= k as u64;
        }
        Ok(())
    }

    /// Read more bytes; 0 at end of input.
    fn fill(&mut self) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > READ_SIZE {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let start = self.buf.len();
        self.buf.resize(start + READ_SIZE, 0);
        let r = self.stream.read(&mut self.buf[start..]);
        let n = *r.as_ref().unwrap_or(&0);
        self.buf.truncate(start + n);
        r
    }

    /// Whether the server closed the connection (end of input or reset)
    /// within `wait`, with no further bytes sent.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        if self.pos < self.buf.len() {
            return false;
        }
        if self.stream.set_read_timeout(Some(wait)).is_err() {
            return false;
        }
        let r = self.fill();
        let _ = self.stream.set_read_timeout(Some(IO_TIMEOUT));
        match r {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ),
        }
    }

    /// Bytes received but not yet consumed as a response.
    pub fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One request on a fresh connection.
pub fn get(addr: SocketAddr, host: &str, path: &str) -> io::Result<Response> {
    Client::connect(addr)?.get(host, path)
}

/// `GET path` on a fresh connection with `Connection: close`; for admin
/// endpoints.
pub fn get_close(addr: SocketAddr, path: &str) -> io::Result<Response> {
    Client::connect(addr)?.request(&format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    ))
}

/// The echo backend's body pattern: byte `i` of `/bytes/N` and
/// `/chunked/N` bodies.
pub fn pattern_byte(i: u64) -> u8 {
    b"0123456789abcdef"[(i % 16) as usize]
}

/// Check streamed body bytes against the echo pattern as they arrive.
#[derive(Debug, Default)]
pub struct PatternCheck {
    pub seen: u64,
    pub mismatches: u64,
}

impl PatternCheck {
    pub fn feed(&mut self, piece: &[u8]) {
        for &b in piece {
            if b != pattern_byte(self.seen) {
                self.mismatches += 1;
            }
            self.seen += 1;
        }
    }
}

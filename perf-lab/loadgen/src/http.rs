//! The few bytes of HTTP/1.1 the generator speaks: one fixed request, and an
//! incremental response reader that finds the status, the body framing
//! (`Content-Length`, `chunked`, or until close) and the end of the response.
//! Header values other than the framing ones are never looked at.

use crate::config::RequestSpec;
use thiserror::Error;

/// Longest response head accepted.
pub const MAX_HEAD: usize = 64 * 1024;

/// Build the plain `GET` every connection sends by default.
pub fn request(host: &str, path: &str, close: bool) -> Vec<u8> {
    request_with(host, path, close, &RequestSpec::default())
}

/// Build a request: `GET`, or `POST` with `spec.body` bytes of body (and
/// its `Content-Length`), plus `spec.headers`.
pub fn request_with(host: &str, path: &str, close: bool, spec: &RequestSpec) -> Vec<u8> {
    let mut r = Vec::with_capacity(96 + host.len() + path.len() + spec.body);
    r.extend_from_slice(if spec.body > 0 { b"POST " } else { b"GET " });
    r.extend_from_slice(path.as_bytes());
    r.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    r.extend_from_slice(host.as_bytes());
    r.extend_from_slice(b"\r\nUser-Agent: shardgate-lab\r\n");
    if close {
        r.extend_from_slice(b"Connection: close\r\n");
    }
    for (name, value) in &spec.headers {
        r.extend_from_slice(name.as_bytes());
        r.extend_from_slice(b": ");
        r.extend_from_slice(value.as_bytes());
        r.extend_from_slice(b"\r\n");
    }
    if spec.body > 0 {
        r.extend_from_slice(b"Content-Type: application/octet-stream\r\nContent-Length: ");
        r.extend_from_slice(spec.body.to_string().as_bytes());
        r.extend_from_slice(b"\r\n\r\n");
        r.extend(body(spec.body));
    } else {
        r.extend_from_slice(b"\r\n");
    }
    r
}

/// `len` bytes of printable filler (a repeating alphabet).
pub fn body(len: usize) -> impl Iterator<Item = u8> {
    (b'a'..=b'z').cycle().take(len)
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    #[error("response status line is malformed")]
    StatusLine,
    #[error("response header line without a colon")]
    HeaderLine,
    #[error("response Content-Length is not a number")]
    ContentLength,
    #[error("response head is longer than {MAX_HEAD} bytes")]
    HeadTooLong,
    #[error("chunk size line is malformed")]
    ChunkSize,
    #[error("chunk data is not followed by CRLF")]
    ChunkEnd,
    #[error("status 101 (protocol switch) was not asked for")]
    Upgrade,
}

/// A complete response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The server will close the connection after this response.
    pub close: bool,
    /// Bytes of body (after de-chunking).
    pub body_len: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    UntilClose,
}

/// Incremental response reader. Feed it the unconsumed bytes of the
/// connection with [`ResponseReader::advance`]; it says how many it used.
#[derive(Debug)]
pub struct ResponseReader {
    state: State,
    status: u16,
    close: bool,
    body_len: u64,
}

impl Default for ResponseReader {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseReader {
    pub fn new() -> Self {
        ResponseReader {
            state: State::Head,
            status: 0,
            close: false,
            body_len: 0,
        }
    }

    /// Consume as much of `buf` as belongs to the current response. Returns
    /// the number of bytes used and the response once it is complete (the
    /// reader is then ready for the next one). Bytes not used (an incomplete
    /// head or chunk-size line) must be offered again with more data.
    pub fn advance(&mut self, buf: &[u8]) -> Result<(usize, Option<Response>), ParseError> {
        let mut pos = 0;
        loop {
            let rest = &buf[pos..];
            match self.state {
                State::Head => {
                    let Some(end) = find_crlfcrlf(rest) else {
                        if rest.len() > MAX_HEAD {
                            return Err(ParseError::HeadTooLong);
                        }
                        return Ok((pos, None));
                    };
                    if end + 4 > MAX_HEAD {
                        return Err(ParseError::HeadTooLong);
                    }
                    self.parse_head(&rest[..end])?;
                    pos += end + 4;
                    if self.status == 101 {
                        return Err(ParseError::Upgrade);
                    }
                    if (100..200).contains(&self.status) {
                        // Interim response: the real one follows.
                        self.state = State::Head;
                        continue;
                    }
                }
                State::Body(0) => return Ok((pos, Some(self.finish()))),
                State::Body(n) => {
                    let take = (rest.len() as u64).min(n);
                    pos += take as usize;
                    self.body_len += take;
                    self.state = State::Body(n - take);
                    if n - take > 0 {
                        return Ok((pos, None));
                    }
                }
                State::ChunkSize => {
                    let Some(end) = find_crlf(rest) else {
                        if rest.len() > 1024 {
                            return Err(ParseError::ChunkSize);
                        }
                        return Ok((pos, None));
                    };
                    let size = parse_chunk_size(&rest[..end])?;
                    pos += end + 2;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::ChunkData(size)
                    };
                }
                State::ChunkData(n) => {
                    let take = (rest.len() as u64).min(n);
                    pos += take as usize;
                    self.body_len += take;
                    if take < n {
                        self.state = State::ChunkData(n - take);
                        return Ok((pos, None));
                    }
                    self.state = State::ChunkDataEnd;
                }
                State::ChunkDataEnd => {
                    if rest.len() < 2 {
                        return Ok((pos, None));
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(ParseError::ChunkEnd);
                    }
                    pos += 2;
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    let Some(end) = find_crlf(rest) else {
                        if rest.len() > MAX_HEAD {
                            return Err(ParseError::HeadTooLong);
                        }
                        return Ok((pos, None));
                    };
                    pos += end + 2;
                    if end == 0 {
                        return Ok((pos, Some(self.finish())));
                    }
                }
                State::UntilClose => {
                    self.body_len += rest.len() as u64;
                    return Ok((buf.len(), None));
                }
            }
        }
    }

    /// The peer closed the connection: the response is complete if its body
    /// runs until close, otherwise it was cut short (`None`).
    pub fn eof(&mut self) -> Option<Response> {
        (self.state == State::UntilClose).then(|| self.finish())
    }

    /// Whether any byte of a response has been consumed.
    pub fn in_progress(&self) -> bool {
        self.state != State::Head
    }

    fn finish(&mut self) -> Response {
        let r = Response {
            status: self.status,
            close: self.close,
            body_len: self.body_len,
        };
        *self = ResponseReader::new();
        r
    }

    fn parse_head(&mut self, head: &[u8]) -> Result<(), ParseError> {
        let mut lines = head.split(|&b| b == b'\n');
        let status_line = trim_cr(lines.next().ok_or(ParseError::StatusLine)?);
        // "HTTP/1.x NNN[ reason]"
        if status_line.len() < 12
            || !status_line.starts_with(b"HTTP/1.")
            || status_line[8] != b' '
            || (status_line.len() > 12 && status_line[12] != b' ')
        {
            return Err(ParseError::StatusLine);
        }
        let http10 = status_line[7] == b'0';
        let mut status = 0u16;
        for &d in &status_line[9..12] {
            if !d.is_ascii_digit() {
                return Err(ParseError::StatusLine);
            }
            status = status * 10 + u16::from(d - b'0');
        }
        let mut length = None;
        let mut chunked = false;
        let mut close = http10;
        for line in lines {
            let line = trim_cr(line);
            let colon = line
                .iter()
                .position(|&b| b == b':')
                .ok_or(ParseError::HeaderLine)?;
            let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
            if name.eq_ignore_ascii_case(b"content-length") {
                length = Some(parse_decimal(value).ok_or(ParseError::ContentLength)?);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = value
                    .rsplit(|&b| b == b',')
                    .next()
                    .is_some_and(|last| trim(last).eq_ignore_ascii_case(b"chunked"));
            } else if name.eq_ignore_ascii_case(b"connection") {
                for token in value.split(|&b| b == b',') {
                    let token = trim(token);
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") && http10 {
                        close = false;
                    }
                }
            }
        }
        self.status = status;
        self.close = close;
        self.state = if status == 204 || status == 304 || (100..200).contains(&status) {
            State::Body(0)
        } else if chunked {
            State::ChunkSize
        } else if let Some(n) = length {
            State::Body(n)
        } else {
            self.close = true;
            State::UntilClose
        };
        if (100..200).contains(&status) {
            self.state = State::Head;
        }
        Ok(())
    }
}

fn find_crlfcrlf(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 3 < b.len() {
        // Jump from '\n' to '\n'.
        match b[i + 3..].iter().position(|&c| c == b'\n') {
            None => return None,
            Some(off) => {
                let n = i + 3 + off;
                if &b[n - 3..=n] == b"\r\n\r\n" {
                    return Some(n - 3);
                }
                i = n - 2;
            }
        }
    }
    None
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end.max(start)]
}

fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u64::from(d - b'0'))
    })
}

fn parse_chunk_size(line: &[u8]) -> Result<u64, ParseError> {
    let digits = line.split(|&b| b == b';').next().map(trim).unwrap_or(b"");
    if digits.is_empty() || digits.len() > 15 {
        return Err(ParseError::ChunkSize);
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(ParseError::ChunkSize),
        };
        Ok(acc * 16 + u64::from(v))
    })
}

#[cfg(test)]
mod tests;

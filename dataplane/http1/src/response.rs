//! Upstream response head parsing and body framing (RFC 9112 §4, §6.3).

use std::mem::MaybeUninit;

use crate::chars::{is_field_value_byte, list_elements, parse_decimal, trim_ows};
use crate::error::ResponseError;
use crate::head::{HeaderField, Method, ParseStatus, Span, Version, find_bare_line_end, name_is};
use crate::request::{Limits, MAX_HEADERS_CAP};

/// How the response body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseBody {
    /// No body: HEAD request, 1xx, 204 or 304 (any Content-Length is
    /// metadata only), or `Content-Length: 0`-less interim responses.
    #[default]
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body runs until the upstream closes the connection.
    UntilClose,
}

/// A parsed upstream response head; reuse one per upstream connection.
/// Accessors taking `buf` expect the buffer given to the successful parse.
#[derive(Debug, Clone, Default)]
pub struct ResponseHead {
    head_len: usize,
    version: Version,
    status: u16,
    reason: Span,
    headers: Vec<HeaderField>,
    body: ResponseBody,
    keep_alive: bool,
    content_length: Option<u64>,
}

impl ResponseHead {
    /// An empty head.
    pub fn new() -> Self {
        ResponseHead {
            headers: Vec::with_capacity(32),
            ..Default::default()
        }
    }

    /// Parse a response head at the start of `buf`, for a request made with
    /// `request_method` (HEAD responses have no body). `limits.max_head_bytes`
    /// and `limits.max_headers` apply. Upstream framing is held to the same
    /// strictness as requests: CL+TE, differing Content-Length, a transfer
    /// coding other than `chunked`, TE in HTTP/1.0, obs-fold, bare CR/LF are
    /// all errors (answer 502).
    pub fn parse(
        &mut self,
        buf: &[u8],
        request_method: Method,
        limits: &Limits,
    ) -> Result<ParseStatus, ResponseError> {
        let max_head = limits.max_head_bytes.min(u32::MAX as usize);
        let window = &buf[..buf.len().min(max_head)];
        let mut scratch =
            [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
        let max_headers = limits.max_headers.clamp(1, MAX_HEADERS_CAP);
        let mut resp = httparse::Response::new(&mut []);
        let config = httparse::ParserConfig::default();
        let len = match config.parse_response_with_uninit_headers(
            &mut resp,
            window,
            &mut scratch[..max_headers],
        ) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => {
                if buf.len() >= max_head {
                    return Err(ResponseError::HeadTooLarge);
                }
                return Ok(ParseStatus::Partial);
            }
            Err(httparse::Error::TooManyHeaders) => return Err(ResponseError::TooManyHeaders),
            Err(httparse::Error::Version) => return Err(ResponseError::UnsupportedVersion),
            Err(httparse::Error::HeaderName | httparse::Error::HeaderValue) => {
                return Err(if find_bare_line_end(window).is_some() {
                    ResponseError::BareLineEnd
                } else {
                    ResponseError::InvalidHeader
                });
            }
            Err(_) => return Err(ResponseError::BadStatusLine),
        };
        if find_bare_line_end(&window[..len]).is_some() {
            return Err(ResponseError::BareLineEnd);
        }
        self.version = if resp.version == Some(0) {
            Version::Http10
        } else {
            Version::Http11
        };
        let status = resp.code.unwrap_or(0);
        if !(100..=999).contains(&status) {
            return Err(ResponseError::BadStatusLine);
        }
        self.status = status;
        self.reason = Span::of(buf, resp.reason.unwrap_or("").as_bytes());

        self.headers.clear();
        let mut content_length: Option<u64> = None;
        let mut te_seen = false;
        let mut te_ok = true;
        let mut te_chunked = false;
        let mut close = false;
        let mut keep_alive_token = false;
        for h in resp.headers.iter() {
            let name = h.name.as_bytes();
            let value = trim_ows(h.value);
            if !value.iter().all(|&b| is_field_value_byte(b)) {
                return Err(ResponseError::InvalidHeader);
            }
            self.headers.push(HeaderField {
                name: Span::of(buf, name),
                value: Span::of(buf, value),
            });
            match name.len() {
                10 if name_is(name, b"connection") => {
                    for t in list_elements(value) {
                        close |= t.eq_ignore_ascii_case(b"close");
                        keep_alive_token |= t.eq_ignore_ascii_case(b"keep-alive");
                    }
                }
                14 if name_is(name, b"content-length") => {
                    let mut any = false;
                    for e in list_elements(value) {
                        any = true;
                        let n = parse_decimal(e).ok_or(ResponseError::InvalidContentLength)?;
                        if content_length.is_some_and(|p| p != n) {
                            return Err(ResponseError::ConflictingContentLength);
                        }
                        content_length = Some(n);
                    }
                    if !any {
                        return Err(ResponseError::InvalidContentLength);
                    }
                }
                17 if name_is(name, b"transfer-encoding") => {
                    te_seen = true;
                    let mut any = false;
                    for e in list_elements(value) {
                        any = true;
                        if te_chunked || !e.eq_ignore_ascii_case(b"chunked") {
                            te_ok = false;
                        }
                        te_chunked = true;
                    }
                    te_ok &= any;
                }
                _ => {}
            }
        }
        self.content_length = content_length;

        let no_body = request_method == Method::Head
            || (100..200).contains(&status)
            || status == 204
            || status == 304;
        if te_seen {
            if self.version == Version::Http10 {
                return Err(ResponseError::TransferEncodingInHttp10);
            }
            if content_length.is_some() {
                return Err(ResponseError::ContentLengthWithTransferEncoding);
            }
            if !te_ok {
                return Err(ResponseError::UnsupportedTransferCoding);
            }
        }
        self.body = if no_body {
            ResponseBody::None
        } else if te_seen {
            ResponseBody::Chunked
        } else if let Some(n) = content_length {
            ResponseBody::Length(n)
        } else {
            ResponseBody::UntilClose
        };
        self.keep_alive = !close
            && self.body != ResponseBody::UntilClose
            && (self.version == Version::Http11 || keep_alive_token);
        self.head_len = len;
        Ok(ParseStatus::Complete)
    }

    /// Bytes of the buffer taken by the head.
    pub fn head_len(&self) -> usize {
        self.head_len
    }

    /// Status code (100..=999).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// 1xx other than 101: another response head follows on the same
    /// connection after this one (forward it, parse again).
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// The reason phrase as received (empty if absent or not ASCII).
    pub fn reason<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        self.reason.get(buf)
    }

    /// Response version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Header field lines, in order.
    pub fn headers(&self) -> &[HeaderField] {
        &self.headers
    }

    /// The first value of the named field.
    pub fn header<'b>(&self, buf: &'b [u8], name: &str) -> Option<&'b [u8]> {
        let name = name.as_bytes();
        self.headers.iter().find_map(|h| {
            let n = h.name.get(buf);
            name_is_ci(n, name).then(|| h.value.get(buf))
        })
    }

    /// The body framing.
    pub fn body(&self) -> ResponseBody {
        self.body
    }

    /// The (validated, folded) Content-Length, also for bodiless responses
    /// where it is metadata (HEAD, 304).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// May the upstream connection be reused after this response's body?
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }
}

fn name_is_ci(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8], method: Method) -> Result<ResponseHead, ResponseError> {
        let mut h = ResponseHead::new();
        match h.parse(raw, method, &Limits::default())? {
            ParseStatus::Complete => Ok(h),
            ParseStatus::Partial => Err(ResponseError::BadStatusLine),
        }
    }

    #[test]
    fn framing_rules() {
        let cl = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            Method::Get,
        )
        .expect("valid");
        assert_eq!(cl.body(), ResponseBody::Length(5));
        assert!(cl.keep_alive());
        assert_eq!(cl.head_len(), 38);

        let head = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            Method::Head,
        )
        .expect("valid");
        assert_eq!(head.body(), ResponseBody::None);
        assert_eq!(head.content_length(), Some(5));

        for s in [b"100".as_slice(), b"204", b"304"] {
            let raw = [
                b"HTTP/1.1 ".as_slice(),
                s,
                b" X\r\nContent-Length: 3\r\n\r\n",
            ]
            .concat();
            assert_eq!(
                parse(&raw, Method::Get).expect("valid").body(),
                ResponseBody::None
            );
        }
        let ch = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n",
            Method::Get,
        )
        .expect("valid");
        assert_eq!(ch.body(), ResponseBody::Chunked);

        let close = parse(b"HTTP/1.1 200 OK\r\n\r\n", Method::Get).expect("valid");
        assert_eq!(close.body(), ResponseBody::UntilClose);
        assert!(!close.keep_alive());

        let h10 =
            parse(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", Method::Get).expect("valid");
        assert!(!h10.keep_alive());
        let h10ka = parse(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            Method::Get,
        )
        .expect("valid");
        assert!(h10ka.keep_alive());
        let cc = parse(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            Method::Get,
        )
        .expect("valid");
        assert!(!cc.keep_alive());
    }

    #[test]
    fn interim() {
        let h = parse(b"HTTP/1.1 100 Continue\r\n\r\n", Method::Post).expect("valid");
        assert!(h.is_interim());
        let h = parse(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", Method::Get).expect("valid");
        assert!(!h.is_interim());
    }

    #[test]
    fn rejects_ambiguous_upstream_framing() {
        let cases: &[(&[u8], ResponseError)] = &[
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                ResponseError::ContentLengthWithTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                ResponseError::ConflictingContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                ResponseError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                ResponseError::UnsupportedTransferCoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
                ResponseError::UnsupportedTransferCoding,
            ),
            (
                b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                ResponseError::TransferEncodingInHttp10,
            ),
            (
                b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
                ResponseError::BareLineEnd,
            ),
            (
                b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
                ResponseError::InvalidHeader,
            ),
            (
                b"HTTP/2.0 200 OK\r\n\r\n",
                ResponseError::UnsupportedVersion,
            ),
            (b"HTTP/1.1 2000 OK\r\n\r\n", ResponseError::BadStatusLine),
            (b"HTTP/1.1 099 OK\r\n\r\n", ResponseError::BadStatusLine),
        ];
        for (raw, want) in cases {
            assert_eq!(
                parse(raw, Method::Get).map(|h| h.status()),
                Err(*want),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    /// Growing the buffer in random steps gives the same result as a
    /// one-shot parse.
    #[test]
    fn random_fragmentation_gives_identical_results() {
        let inputs: &[&[u8]] = &[
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello",
            b"HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        ];
        let limits = Limits::default();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for input in inputs {
            let mut one = ResponseHead::new();
            let whole = one.parse(input, Method::Get, &limits);
            for _ in 0..100 {
                let mut h = ResponseHead::new();
                let mut end = 0;
                let result = loop {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    end = (end + 1 + (seed % 6) as usize).min(input.len());
                    match h.parse(&input[..end], Method::Get, &limits) {
                        Ok(ParseStatus::Partial) if end < input.len() => continue,
                        other => break other,
                    }
                };
                assert_eq!(result, whole);
                if whole == Ok(ParseStatus::Complete) {
                    assert_eq!(h.head_len(), one.head_len());
                    assert_eq!(h.body(), one.body());
                    assert_eq!(h.keep_alive(), one.keep_alive());
                    assert_eq!(h.headers(), one.headers());
                }
            }
        }
    }

    #[test]
    fn partial_and_limits() {
        let mut h = ResponseHead::new();
        let l = Limits::default();
        assert_eq!(
            h.parse(b"HTTP/1.1 200 OK\r\nContent-Le", Method::Get, &l),
            Ok(ParseStatus::Partial)
        );
        let big = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &vec![b'a'; 70_000]].concat();
        assert_eq!(
            h.parse(&big, Method::Get, &l),
            Err(ResponseError::HeadTooLarge)
        );
    }
}

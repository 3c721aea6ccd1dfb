//! Request head parsing (RFC 9112 §2–§6, RFC 9110 §5, §7.2, §7.6).
//!
//! Policy, where the RFCs leave a choice (every rejection closes):
//!
//! | input | decision |
//! | --- | --- |
//! | empty lines before the request-line | skipped if CRLF (counted in `head_len`) |
//! | bare LF or bare CR anywhere in the head | 400 |
//! | obs-fold, whitespace before `:`, empty or non-token field name | 400 |
//! | NUL, other controls or DEL in a value | 400; obs-text is kept byte for byte |
//! | `_` in a field name | accepted and forwarded verbatim (never mapped to `-`) |
//! | method not a token / longer than `max_method_len` | 400 / 501 |
//! | CONNECT (any form) | 501, no tunnel |
//! | origin-form with `#`, non-ASCII or controls | 400 |
//! | absolute-form `http(s)://authority[/path]` | accepted; the authority is the effective host and replaces Host upstream; userinfo, `?` right after the authority, other schemes → 400 |
//! | `*` with a method other than OPTIONS; authority-form without CONNECT | 400 |
//! | `HTTP/d.d` other than 1.0/1.1 | 505; anything else as version → 400 |
//! | HTTP/1.1 without Host, two Host lines (any version), invalid Host | 400 (Host = DNS-style name `[A-Za-z0-9-._~]+` or `[IPv6]`, optional port ≤ 65535, not empty) |
//! | Content-Length | `1*DIGIT` fitting u64; identical repeats (lines or list elements) folded; different values, sign, hex, empty → 400; leading zeros read as decimal and re-emitted canonically |
//! | Transfer-Encoding in HTTP/1.0, or together with Content-Length | 400 |
//! | chunked not final or applied twice | 400; any other coding (gzip, identity, `chunked;x`) → 501; empty → 400 |
//! | request-line > `max_request_line` | 414 (also while still incomplete) |
//! | head > `max_head_bytes`, more than `max_headers` fields | 431 |
//! | `Expect: 100-continue` | flagged on HTTP/1.1 only; other expectations ignored |

use std::mem::MaybeUninit;

use crate::chars::{list_contains, list_elements, parse_decimal, validate_authority};
use crate::error::RequestError;
use crate::head::{
    HeaderField, LineDiag, Method, ParseStatus, Span, Version, diagnose_line_error, name_is,
};

/// Hard upper bound for [`Limits::max_headers`]: the parser keeps its
/// httparse scratch array on the stack (32 bytes per entry).
pub const MAX_HEADERS_CAP: usize = 512;

/// Size and count limits for a request head. Defaults follow the
/// recommendations in the project's limits study (Envoy-like).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Whole head (request-line, fields, final CRLF). Larger → 431.
    /// Default 64 KiB.
    pub max_head_bytes: usize,
    /// Request-line without its CRLF. Longer → 414. Default 8 KiB.
    pub max_request_line: usize,
    /// Header field lines. More → 431. Default 100, capped at
    /// [`MAX_HEADERS_CAP`].
    pub max_headers: usize,
    /// Method length. Longer → 501 (RFC 9112 §3). Default 32.
    pub max_method_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 64 * 1024,
            max_request_line: 8 * 1024,
            max_headers: 100,
            max_method_len: 32,
        }
    }
}

/// How the request body is framed: exactly one decision, never ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyKind {
    /// No body (neither Content-Length nor Transfer-Encoding).
    #[default]
    None,
    /// Exactly this many bytes follow the head (may be 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`: run a [`crate::ChunkedDecoder`].
    Chunked,
}

/// Form of the request-target (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetForm {
    /// `/path?query`
    #[default]
    Origin,
    /// `http://authority/path?query`: the authority is the effective host.
    Absolute,
    /// `*`, only with OPTIONS.
    Asterisk,
}

/// A parsed request head. Create one per connection with
/// [`RequestHead::new`] and reuse it for every request: its header list
/// keeps its capacity, so steady-state parsing does not allocate.
///
/// All accessors taking `buf` expect the same buffer (same start) that was
/// given to the successful [`RequestHead::parse`].
#[derive(Debug, Clone, Default)]
pub struct RequestHead {
    head_len: usize,
    method: Method,
    method_span: Span,
    target: Span,
    form: TargetForm,
    path: Span,
    path_is_default_root: bool,
    version: Version,
    host: Option<Span>,
    host_name_len: u32,
    host_header: Option<Span>,
    headers: Vec<HeaderField>,
    body: BodyKind,
    keep_alive: bool,
    expect_continue: bool,
    upgrade: Option<Span>,
}

impl RequestHead {
    /// An empty head with room for a typical number of header fields.
    pub fn new() -> Self {
        RequestHead {
            headers: Vec::with_capacity(32),
            ..Default::default()
        }
    }

    /// Parse the head at the start of `buf`.
    ///
    /// `buf` holds everything received so far on the connection from the
    /// start of this request (pipelined bytes and body bytes may follow the
    /// head; they are not looked at). On `Ok(Partial)` read more and call
    /// again. On `Err(e)` answer `e.status()` and close the connection.
    /// Leading empty lines (CRLF) before the request-line are skipped
    /// (RFC 9112 §2.2) and counted in `head_len()`.
    pub fn parse(&mut self, buf: &[u8], limits: &Limits) -> Result<ParseStatus, RequestError> {
        // Spans are u32 offsets: never look beyond 4 GiB.
        let max_head = limits.max_head_bytes.min(u32::MAX as usize);
        let window = &buf[..buf.len().min(max_head)];
        let mut scratch =
            [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
        let max_headers = limits.max_headers.clamp(1, MAX_HEADERS_CAP);
        let mut req = httparse::Request::new(&mut []);
        let len = match req.parse_with_uninit_headers(window, &mut scratch[..max_headers]) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => {
                check_request_line_length(window, limits)?;
                if buf.len() >= max_head {
                    return Err(RequestError::HeadTooLarge);
                }
                return Ok(ParseStatus::Partial);
            }
            Err(httparse::Error::Version) if version_may_complete(window) => {
                // httparse fails on the first byte that is not HTTP/1.0 or
                // HTTP/1.1; wait for the whole token to tell 505 from 400.
                check_request_line_length(window, limits)?;
                return Ok(ParseStatus::Partial);
            }
            Err(e) => return Err(classify_error(e, window, limits)),
        };

        let head = &window[..len];
        let line_start = skip_empty_lines(head);
        let line_len = head[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(head.len() - line_start);
        if line_len.saturating_sub(1) > limits.max_request_line {
            return Err(RequestError::RequestLineTooLong);
        }
        // httparse rejects a bare CR but accepts a bare LF as a line end.
        // Every line must end in CRLF: leading empty lines, the request-line
        // (checked below, once the target is known), each field line (in
        // the loop) and the final empty line.
        if !head.ends_with(b"\r\n\r\n") || !head[..line_start].chunks(2).all(|c| c == b"\r\n") {
            return Err(RequestError::BareLf);
        }

        // Method.
        let method = req.method.unwrap_or("").as_bytes();
        if method.len() > limits.max_method_len {
            return Err(RequestError::MethodTooLong);
        }
        self.method = Method::from_bytes(method);
        if self.method == Method::Connect {
            return Err(RequestError::ConnectNotSupported);
        }
        self.method_span = Span::of(buf, method);
        self.version = if req.version == Some(0) {
            Version::Http10
        } else {
            Version::Http11
        };

        // Request-target.
        let target = req.path.unwrap_or("").as_bytes();
        self.target = Span::of(buf, target);
        // request-line = method SP target SP HTTP/1.x CRLF
        let version_end = self.target.range().end + 1 + 8;
        if head.get(version_end..version_end + 2) != Some(b"\r\n") {
            return Err(RequestError::BareLf);
        }
        let mut authority: Option<&[u8]> = None;
        self.path_is_default_root = false;
        if target.first() == Some(&b'/') {
            check_origin_bytes(target)?;
            self.form = TargetForm::Origin;
            self.path = self.target;
        } else if target == b"*" {
            if self.method != Method::Options {
                return Err(RequestError::TargetFormNotAllowed);
            }
            self.form = TargetForm::Asterisk;
            self.path = self.target;
        } else if let Some(rest) = strip_scheme(target) {
            let end = rest
                .iter()
                .position(|&b| b == b'/' || b == b'?' || b == b'#')
                .unwrap_or(rest.len());
            let (auth, path) = rest.split_at(end);
            validate_authority(auth).ok_or(RequestError::InvalidTarget)?;
            match path.first() {
                None => self.path_is_default_root = true,
                Some(b'/') => check_origin_bytes(path)?,
                Some(_) => return Err(RequestError::InvalidTarget),
            }
            authority = Some(auth);
            self.form = TargetForm::Absolute;
            self.path = Span::of(buf, path);
        } else if validate_authority(target).is_some() {
            // authority-form is only for CONNECT, rejected above.
            return Err(RequestError::TargetFormNotAllowed);
        } else {
            return Err(RequestError::InvalidTarget);
        }

        // Header fields.
        self.headers.clear();
        let mut host_count = 0u32;
        let mut host_header: Option<&[u8]> = None;
        let mut content_length: Option<u64> = None;
        let mut te_seen = false;
        let mut te_chunked = false;
        let mut te_unknown = false;
        let mut te_error: Option<RequestError> = None;
        let mut conn_close = false;
        let mut conn_keep_alive = false;
        let mut conn_upgrade = false;
        let mut upgrade: Option<&[u8]> = None;
        let mut expect_continue = false;
        for h in req.headers.iter() {
            let name = h.name.as_bytes();
            // httparse only lets HTAB, SP, VCHAR and obs-text into values
            // (no NUL, CR, LF, other controls or DEL) and trims OWS.
            let value = h.value;
            let value_span = Span::of(buf, value);
            if !line_ends_crlf(head, value_span.range().end) {
                return Err(RequestError::BareLf);
            }
            self.headers.push(HeaderField {
                name: Span::of(buf, name),
                value: value_span,
            });
            match name.len() {
                4 if name_is(name, b"host") => {
                    host_count += 1;
                    host_header = Some(value);
                }
                6 if name_is(name, b"expect") => {
                    expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
                }
                7 if name_is(name, b"upgrade") => upgrade = Some(value),
                10 if name_is(name, b"connection") => {
                    for t in list_elements(value) {
                        if t.eq_ignore_ascii_case(b"close") {
                            conn_close = true;
                        } else if t.eq_ignore_ascii_case(b"keep-alive") {
                            conn_keep_alive = true;
                        } else if t.eq_ignore_ascii_case(b"upgrade") {
                            conn_upgrade = true;
                        }
                    }
                }
                14 if name_is(name, b"content-length") => {
                    let mut any = false;
                    for e in list_elements(value) {
                        any = true;
                        let n = parse_decimal(e).ok_or(RequestError::InvalidContentLength)?;
                        match content_length {
                            Some(prev) if prev != n => {
                                return Err(RequestError::ConflictingContentLength);
                            }
                            _ => content_length = Some(n),
                        }
                    }
                    if !any {
                        return Err(RequestError::InvalidContentLength);
                    }
                }
                17 if name_is(name, b"transfer-encoding") => {
                    te_seen = true;
                    let mut any = false;
                    for e in list_elements(value) {
                        any = true;
                        if te_chunked {
                            // Something (maybe chunked again) after chunked.
                            te_error.get_or_insert(RequestError::ChunkedNotFinal);
                        }
                        if e.eq_ignore_ascii_case(b"chunked") {
                            te_chunked = true;
                        } else {
                            te_unknown = true;
                        }
                    }
                    if !any {
                        te_error.get_or_insert(RequestError::InvalidTransferEncoding);
                    }
                }
                _ => {}
            }
        }

        // Framing: exactly one decision, every ambiguity rejected.
        self.body = if te_seen {
            if self.version == Version::Http10 {
                return Err(RequestError::TransferEncodingInHttp10);
            }
            if content_length.is_some() {
                return Err(RequestError::ContentLengthWithTransferEncoding);
            }
            if let Some(e) = te_error {
                return Err(e);
            }
            if te_unknown {
                return Err(RequestError::UnsupportedTransferCoding);
            }
            BodyKind::Chunked
        } else {
            match content_length {
                Some(n) => BodyKind::Length(n),
                None => BodyKind::None,
            }
        };

        // Host (RFC 9112 §3.2, §3.2.2).
        if host_count > 1 {
            return Err(RequestError::MultipleHost);
        }
        let mut host_name_len = 0;
        if let Some(h) = host_header {
            host_name_len = validate_authority(h).ok_or(RequestError::InvalidHost)?;
        } else if self.version == Version::Http11 {
            return Err(RequestError::MissingHost);
        }
        self.host_header = host_header.map(|h| Span::of(buf, h));
        if let Some(a) = authority {
            host_name_len = validate_authority(a).unwrap_or(0);
        }
        let effective = authority.or(host_header);
        self.host = effective.map(|h| Span::of(buf, h));
        self.host_name_len = host_name_len as u32;

        self.keep_alive = match self.version {
            Version::Http11 => !conn_close,
            Version::Http10 => conn_keep_alive && !conn_close,
        };
        self.expect_continue = expect_continue && self.version == Version::Http11;
        self.upgrade = match (conn_upgrade, upgrade, self.version) {
            (true, Some(u), Version::Http11) if !u.is_empty() => Some(Span::of(buf, u)),
            _ => None,
        };
        self.head_len = len;
        Ok(ParseStatus::Complete)
    }

    /// Bytes of the buffer taken by the head, including the final CRLF. The
    /// body (if any) starts here.
    pub fn head_len(&self) -> usize {
        self.head_len
    }

    /// The method (see [`Method::Other`] for extension methods).
    pub fn method(&self) -> Method {
        self.method
    }

    /// The method as received.
    pub fn method_bytes<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        self.method_span.get(buf)
    }

    /// The request-target exactly as received.
    pub fn target<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        self.target.get(buf)
    }

    /// Which request-target form was used.
    pub fn target_form(&self) -> TargetForm {
        self.form
    }

    /// The origin-form target to route on and to forward: path plus query.
    /// For absolute-form it is the part after the authority (`/` if empty);
    /// for asterisk-form it is `*`. Always visible ASCII, never a fragment.
    pub fn path<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        if self.path_is_default_root {
            b"/"
        } else {
            self.path.get(buf)
        }
    }

    /// `path()` as `&str` (it is validated ASCII).
    pub fn path_str<'b>(&self, buf: &'b [u8]) -> &'b str {
        std::str::from_utf8(self.path(buf)).unwrap_or("")
    }

    /// The path without the query.
    pub fn path_only<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        let p = self.path(buf);
        match p.iter().position(|&b| b == b'?') {
            Some(i) => &p[..i],
            None => p,
        }
    }

    /// The query (without `?`), if present.
    pub fn query<'b>(&self, buf: &'b [u8]) -> Option<&'b [u8]> {
        let p = self.path(buf);
        p.iter().position(|&b| b == b'?').map(|i| &p[i + 1..])
    }

    /// HTTP version of the request.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The effective host authority (`host[:port]`): the authority of an
    /// absolute-form target, else the Host field. `None` only for an
    /// HTTP/1.0 request without Host. Compare case-insensitively.
    pub fn host<'b>(&self, buf: &'b [u8]) -> Option<&'b [u8]> {
        self.host.map(|s| s.get(buf))
    }

    /// The effective host without the port (IPv6 literals keep brackets).
    pub fn host_name<'b>(&self, buf: &'b [u8]) -> Option<&'b [u8]> {
        self.host
            .map(|s| s.get(buf))
            .map(|h| &h[..(self.host_name_len as usize).min(h.len())])
    }

    /// The Host header field value as received, if any.
    pub fn host_header<'b>(&self, buf: &'b [u8]) -> Option<&'b [u8]> {
        self.host_header.map(|s| s.get(buf))
    }

    /// All header field lines, in order, as spans.
    pub fn headers(&self) -> &[HeaderField] {
        &self.headers
    }

    /// All header field lines, in order, as `(name, value)` bytes.
    pub fn header_iter<'a, 'b>(
        &'a self,
        buf: &'b [u8],
    ) -> impl Iterator<Item = (&'b [u8], &'b [u8])> + 'a
    where
        'b: 'a,
    {
        self.headers
            .iter()
            .map(move |h| (h.name.get(buf), h.value.get(buf)))
    }

    /// The first value of the named field (ASCII case-insensitive).
    pub fn header<'b>(&self, buf: &'b [u8], name: &str) -> Option<&'b [u8]> {
        self.header_values(buf, name).next()
    }

    /// Every value of the named field, in order.
    pub fn header_values<'a, 'b, 'n>(
        &'a self,
        buf: &'b [u8],
        name: &'n str,
    ) -> impl Iterator<Item = &'b [u8]> + use<'a, 'b, 'n>
    where
        'b: 'a,
    {
        let name = name.as_bytes();
        self.headers.iter().filter_map(move |h| {
            let n = h.name.get(buf);
            (n.len() == name.len() && n.eq_ignore_ascii_case(name)).then(|| h.value.get(buf))
        })
    }

    /// The body framing decision.
    pub fn body(&self) -> BodyKind {
        self.body
    }

    /// May the client connection carry another request after this one?
    /// (HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive`.) The proxy also closes after errors and
    /// when it cannot drain an unread request body.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// `Expect: 100-continue` on an HTTP/1.1 request (ignored for 1.0, RFC
    /// 9110 §10.1.1). Other expectations are ignored.
    pub fn expect_continue(&self) -> bool {
        self.expect_continue
    }

    /// The Upgrade field value when the client asks for a protocol switch
    /// (HTTP/1.1, `Connection: upgrade` and a non-empty `Upgrade`). The
    /// upstream writer drops Upgrade unless told to keep it.
    pub fn upgrade<'b>(&self, buf: &'b [u8]) -> Option<&'b [u8]> {
        self.upgrade.map(|s| s.get(buf))
    }

    /// True when [`RequestHead::upgrade`] is `Some`.
    pub fn is_upgrade(&self) -> bool {
        self.upgrade.is_some()
    }

    /// Does a Connection field (any line) contain `token`?
    pub fn connection_has(&self, buf: &[u8], token: &str) -> bool {
        self.header_values(buf, "connection")
            .any(|v| list_contains(v, token.as_bytes()))
    }
}

/// After a field value (already trimmed by httparse): optional OWS, then
/// CRLF.
fn line_ends_crlf(head: &[u8], mut i: usize) -> bool {
    while matches!(head.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    head.get(i..i + 2) == Some(b"\r\n")
}

fn skip_empty_lines(b: &[u8]) -> usize {
    let mut i = 0;
    while i < b.len() && (b[i] == b'\r' || b[i] == b'\n') {
        i += 1;
    }
    i
}

fn strip_scheme(t: &[u8]) -> Option<&[u8]> {
    if t.len() > 7 && t[..7].eq_ignore_ascii_case(b"http://") {
        Some(&t[7..])
    } else if t.len() > 8 && t[..8].eq_ignore_ascii_case(b"https://") {
        Some(&t[8..])
    } else {
        None
    }
}

fn check_origin_bytes(t: &[u8]) -> Result<(), RequestError> {
    if crate::chars::check_origin_target(t) {
        Ok(())
    } else {
        Err(RequestError::InvalidTarget)
    }
}

/// While the head is incomplete: is the request-line already too long?
fn check_request_line_length(window: &[u8], limits: &Limits) -> Result<(), RequestError> {
    let start = skip_empty_lines(window);
    let line = &window[start..];
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    // `end` excludes LF; allow for the CR before it.
    if end.saturating_sub(usize::from(line.get(end.wrapping_sub(1)) == Some(&b'\r')))
        > limits.max_request_line
    {
        return Err(RequestError::RequestLineTooLong);
    }
    Ok(())
}

/// Turn an httparse error into a precise [`RequestError`].
fn classify_error(e: httparse::Error, window: &[u8], limits: &Limits) -> RequestError {
    if check_request_line_length(window, limits).is_err() {
        return RequestError::RequestLineTooLong;
    }
    let start = skip_empty_lines(window);
    let line_full = &window[start..];
    let line_end = line_full
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(line_full.len());
    let line = &line_full[..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match e {
        httparse::Error::Token | httparse::Error::Version | httparse::Error::NewLine => {
            let mut parts = line.split(|&b| b == b' ');
            let method = parts.next().unwrap_or(b"");
            if method.len() > limits.max_method_len && crate::chars::is_token(method) {
                return RequestError::MethodTooLong;
            }
            if !crate::chars::is_token(method) {
                return RequestError::InvalidMethod;
            }
            if line.contains(&b'\r') {
                return RequestError::BareCr;
            }
            let n_parts = line.split(|&b| b == b' ').count();
            if n_parts != 3 {
                return RequestError::BadRequestLine;
            }
            let target = line.split(|&b| b == b' ').nth(1).unwrap_or(b"");
            if !target.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
                return RequestError::InvalidTarget;
            }
            let version = line.split(|&b| b == b' ').nth(2).unwrap_or(b"");
            if is_version_syntax(version) {
                RequestError::UnsupportedVersion
            } else {
                RequestError::MalformedVersion
            }
        }
        httparse::Error::TooManyHeaders => RequestError::TooManyHeaders,
        httparse::Error::HeaderName | httparse::Error::HeaderValue | httparse::Error::Status => {
            match diagnose_line_error(window) {
                Some(LineDiag::BareLf) => RequestError::BareLf,
                Some(LineDiag::BareCr) => RequestError::BareCr,
                Some(LineDiag::ObsFold) => RequestError::ObsFold,
                Some(LineDiag::SpaceBeforeColon) => RequestError::SpaceBeforeColon,
                None if e == httparse::Error::HeaderValue => RequestError::InvalidHeaderValue,
                None => RequestError::InvalidHeaderName,
            }
        }
    }
}

/// The request-line is not finished and its last token is still a prefix
/// of `HTTP/DIGIT.DIGIT`.
fn version_may_complete(window: &[u8]) -> bool {
    let line = &window[skip_empty_lines(window)..];
    if line.contains(&b'\n') || line.contains(&b'\r') {
        return false;
    }
    let token = line.rsplit(|&b| b == b' ').next().unwrap_or(b"");
    const PATTERN: &[u8] = b"HTTP/0.0";
    token.len() <= PATTERN.len()
        && token.iter().zip(PATTERN).all(|(&b, &p)| {
            if p == b'0' {
                b.is_ascii_digit()
            } else {
                b == p
            }
        })
}

/// `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3).
fn is_version_syntax(v: &[u8]) -> bool {
    matches!(v, [b'H', b'T', b'T', b'P', b'/', a, b'.', c] if a.is_ascii_digit() && c.is_ascii_digit())
}

#[cfg(test)]
mod tests;

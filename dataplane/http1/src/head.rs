//! Types shared by request and response heads: spans into the caller's
//! buffer, versions, methods, header fields.

use std::ops::Range;

/// A byte range into the buffer that was passed to `parse`. Spans are only
/// meaningful together with that same buffer (same start, unchanged bytes);
/// the accessors that take `buf` return an empty slice rather than panic if
/// given a shorter buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    pub(crate) const EMPTY: Span = Span { start: 0, end: 0 };

    pub(crate) fn new(start: usize, end: usize) -> Span {
        // Heads are limited far below 4 GiB (Limits::max_head_bytes).
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// Span of `sub`, which must be a subslice of `buf`; `EMPTY` otherwise
    /// (httparse returns a static "" for some empty values).
    pub(crate) fn of(buf: &[u8], sub: &[u8]) -> Span {
        let base = buf.as_ptr() as usize;
        let p = sub.as_ptr() as usize;
        if p >= base && p + sub.len() <= base + buf.len() {
            Span::new(p - base, p - base + sub.len())
        } else {
            Span::EMPTY
        }
    }

    /// The byte range.
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// True when the span is empty.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The bytes of this span in `buf` (empty if `buf` is too short).
    pub fn get(self, buf: &[u8]) -> &[u8] {
        buf.get(self.range()).unwrap_or(&[])
    }
}

/// HTTP version of a message. Only HTTP/1.0 and HTTP/1.1 exist here; other
/// versions are rejected while parsing (505).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    #[default]
    Http11,
}

impl Version {
    /// `b"HTTP/1.0"` or `b"HTTP/1.1"`.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Version::Http10 => b"HTTP/1.0",
            Version::Http11 => b"HTTP/1.1",
        }
    }
}

/// Request method. Methods are case-sensitive (RFC 9110 §9.1): `get` is an
/// extension method, reported as `Other` (its bytes are in the head).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
    Trace,
    /// CONNECT; never returned by the request parser (it answers 501), but
    /// usable to describe a request when parsing a response.
    Connect,
    /// Any other valid token; see `RequestHead::method_bytes`.
    Other,
}

impl Method {
    pub(crate) fn from_bytes(m: &[u8]) -> Method {
        match m {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            b"PATCH" => Method::Patch,
            b"TRACE" => Method::Trace,
            b"CONNECT" => Method::Connect,
            _ => Method::Other,
        }
    }
}

/// One header field line: name and value spans (value without surrounding
/// whitespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeaderField {
    /// Field name as received (case preserved).
    pub name: Span,
    /// Field value, OWS trimmed.
    pub value: Span,
}

/// Result of a successful parse call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseStatus {
    /// The head is complete and the struct is filled in; `head_len()` bytes
    /// of the buffer belong to it.
    Complete,
    /// More bytes are needed; read more and call again with the whole
    /// buffer (from the same start). The struct content is unspecified.
    Partial,
}

/// Every line in the head ends with CRLF: no bare LF, no bare CR.
/// Returns the kind of offender, if any.
pub(crate) fn find_bare_line_end(head: &[u8]) -> Option<BareKind> {
    let mut prev = 0u8;
    for (i, &b) in head.iter().enumerate() {
        if b == b'\n' && prev != b'\r' {
            return Some(BareKind::Lf);
        }
        if prev == b'\r' && b != b'\n' && i > 0 {
            return Some(BareKind::Cr);
        }
        prev = b;
    }
    if prev == b'\r' {
        // A trailing CR can only be the start of a CRLF still to come; the
        // callers only check complete heads, which end with LF.
        return None;
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BareKind {
    Lf,
    Cr,
}

/// After an httparse error, find a more precise reason in the received bytes:
/// obs-fold, bare CR, bare LF, or whitespace before a colon.
pub(crate) fn diagnose_line_error(bytes: &[u8]) -> Option<LineDiag> {
    if let Some(k) = find_bare_line_end(bytes) {
        return Some(match k {
            BareKind::Lf => LineDiag::BareLf,
            BareKind::Cr => LineDiag::BareCr,
        });
    }
    // Header lines start after the first CRLF.
    let mut lines = bytes.split(|&b| b == b'\n').skip(1);
    for line in lines.by_ref() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            return Some(LineDiag::ObsFold);
        }
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && colon > 0
            && matches!(line[colon - 1], b' ' | b'\t')
        {
            return Some(LineDiag::SpaceBeforeColon);
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineDiag {
    BareLf,
    BareCr,
    ObsFold,
    SpaceBeforeColon,
}

/// Case-insensitive header-name equality.
#[inline]
pub(crate) fn name_is(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len() && name.eq_ignore_ascii_case(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_line_ends() {
        assert_eq!(find_bare_line_end(b"a\r\nb\r\n\r\n"), None);
        assert_eq!(find_bare_line_end(b"a\nb"), Some(BareKind::Lf));
        assert_eq!(find_bare_line_end(b"\nb"), Some(BareKind::Lf));
        assert_eq!(find_bare_line_end(b"a\rb\r\n"), Some(BareKind::Cr));
    }

    #[test]
    fn span_of_foreign_slice_is_empty() {
        let buf = b"abcdef";
        assert_eq!(Span::of(buf, &buf[2..4]).range(), 2..4);
        assert_eq!(Span::of(buf, b"zz"), Span::EMPTY);
        assert_eq!(Span::new(2, 10).get(buf), b"");
    }

    #[test]
    fn diagnose() {
        assert_eq!(
            diagnose_line_error(b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"),
            Some(LineDiag::ObsFold)
        );
        assert_eq!(
            diagnose_line_error(b"GET / HTTP/1.1\r\nA : b\r\n\r\n"),
            Some(LineDiag::SpaceBeforeColon)
        );
        assert_eq!(
            diagnose_line_error(b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"),
            Some(LineDiag::BareCr)
        );
    }
}

//! Compact storage for the conditions of one virtual host.
//!
//! Scanning many route matches must touch as little memory as possible: a
//! boxed string per condition scatters the scan over the heap (between the
//! large allocations of compiled regexes), one cache and TLB miss per
//! condition. Here every string lives in one buffer and every condition in
//! one array, addressed by 32-bit spans, so a scan walks a few contiguous
//! arrays. Regex literal prefixes are stored the same way, apart from the
//! regex objects themselves, so the prefilter never touches a regex it
//! refuses.

use crate::anchored;
use crate::error::CompileError;
use crate::matcher::Site;
use regex::bytes::Regex;
use std::ops::Range;

/// `len` items (bytes or elements) from `at`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    at: u32,
    len: u32,
}

impl Span {
    /// Number of items covered: for text, its length in bytes, known
    /// without touching the pool.
    #[inline]
    pub(crate) fn len(self) -> usize {
        self.len as usize
    }

    fn range(self) -> Range<usize> {
        let at = self.at as usize;
        at..at + self.len as usize
    }
}

/// How a header or query parameter value is compared.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value {
    /// Byte-equal to this text.
    Exact(Span),
    /// Matched by the regex with this number.
    Regex(u32),
}

#[derive(Debug, Default)]
pub(crate) struct Pool {
    /// Every string of the IR conditions, back to back.
    text: String,
    /// Literal prefixes of the regexes, back to back.
    literals: Vec<u8>,
    /// Spans of `literals`, one per prefix.
    prefix_spans: Vec<Span>,
    /// Per regex: the span of `prefix_spans` holding its prefixes.
    regex_prefixes: Vec<Span>,
    regexes: Vec<Regex>,
    /// `(name, value)` of header conditions; a match owns a span of these.
    pub(crate) headers: Vec<(Span, Value)>,
    /// `(name, value)` of query parameter conditions.
    pub(crate) query: Vec<(Span, Value)>,
}

/// A span over `len` items starting at `at`, if it fits in 32 bits.
fn span(at: usize, len: usize, site: Site<'_>, what: &'static str) -> Result<Span, CompileError> {
    match (u32::try_from(at), u32::try_from(len), at.checked_add(len)) {
        (Ok(at), Ok(len), Some(end)) if u32::try_from(end).is_ok() => Ok(Span { at, len }),
        _ => Err(CompileError::TooLarge {
            listener: site.listener.to_owned(),
            virtual_host: site.virtual_host.to_owned(),
            what,
        }),
    }
}

impl Pool {
    pub(crate) fn push_text(&mut self, s: &str, site: Site<'_>) -> Result<Span, CompileError> {
        let sp = span(self.text.len(), s.len(), site, "condition text")?;
        self.text.push_str(s);
        Ok(sp)
    }

    /// Compile an anchored regex and file it with its literal prefixes.
    pub(crate) fn push_regex(
        &mut self,
        pattern: &str,
        site: Site<'_>,
        field: impl Fn() -> String,
    ) -> Result<u32, CompileError> {
        let (re, prefixes) = anchored::compile(pattern, site, field)?;
        let first = self.prefix_spans.len();
        for p in &prefixes {
            let sp = span(self.literals.len(), p.len(), site, "regex literals")?;
            self.literals.extend_from_slice(p);
            self.prefix_spans.push(sp);
        }
        let id = span(self.regexes.len(), 0, site, "regexes")?.at;
        self.regex_prefixes
            .push(span(first, prefixes.len(), site, "regex literals")?);
        self.regexes.push(re);
        Ok(id)
    }

    /// A span over `headers[from..]` or `query[from..]` after pushing.
    pub(crate) fn tail(from: usize, len: usize, site: Site<'_>) -> Result<Span, CompileError> {
        span(from, len.saturating_sub(from), site, "conditions")
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.literals.shrink_to_fit();
        self.prefix_spans.shrink_to_fit();
        self.regex_prefixes.shrink_to_fit();
        self.regexes.shrink_to_fit();
        self.headers.shrink_to_fit();
        self.query.shrink_to_fit();
    }

    #[inline]
    pub(crate) fn text(&self, s: Span) -> &str {
        self.text.get(s.range()).unwrap_or_default()
    }

    #[inline]
    pub(crate) fn bytes(&self, s: Span) -> &[u8] {
        self.text.as_bytes().get(s.range()).unwrap_or_default()
    }

    #[inline]
    pub(crate) fn headers(&self, s: Span) -> &[(Span, Value)] {
        self.headers.get(s.range()).unwrap_or_default()
    }

    #[inline]
    pub(crate) fn query(&self, s: Span) -> &[(Span, Value)] {
        self.query.get(s.range()).unwrap_or_default()
    }

    /// Whether regex `id` matches the whole subject; the literal prefixes
    /// are checked first.
    #[inline]
    pub(crate) fn regex_matches(&self, id: u32, subject: &[u8]) -> bool {
        let id = id as usize;
        let Some(&prefixes) = self.regex_prefixes.get(id) else {
            return false;
        };
        let spans = self.prefix_spans.get(prefixes.range()).unwrap_or_default();
        let prefiltered = spans.is_empty()
            || spans.iter().any(|&p| {
                self.literals
                    .get(p.range())
                    .is_some_and(|lit| subject.starts_with(lit))
            });
        prefiltered && self.regexes.get(id).is_some_and(|re| re.is_match(subject))
    }

    #[inline]
    pub(crate) fn value_matches(&self, v: Value, subject: &[u8]) -> bool {
        match v {
            Value::Exact(s) => self.bytes(s) == subject,
            Value::Regex(id) => self.regex_matches(id, subject),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: Site<'static> = Site {
        listener: "l",
        virtual_host: "vh",
        route: "r",
    };

    #[test]
    fn texts_come_back_as_pushed() {
        let mut p = Pool::default();
        let a = p.push_text("/alpha", SITE).expect("fits");
        let e = p.push_text("", SITE).expect("fits");
        let b = p.push_text("ünïcode", SITE).expect("fits");
        assert_eq!(p.text(a), "/alpha");
        assert_eq!(p.text(e), "");
        assert_eq!(p.text(b), "ünïcode");
        assert_eq!(p.bytes(b), "ünïcode".as_bytes());
        assert!(p.value_matches(Value::Exact(a), b"/alpha"));
        assert!(!p.value_matches(Value::Exact(a), b"/alph"));
    }

    #[test]
    fn regexes_are_numbered_and_prefiltered() {
        let mut p = Pool::default();
        let r0 = p
            .push_regex("/v[0-9]+", SITE, String::new)
            .expect("compiles");
        let r1 = p.push_regex(".*x", SITE, String::new).expect("compiles");
        assert_eq!((r0, r1), (0, 1));
        assert!(p.regex_matches(r0, b"/v12"));
        assert!(!p.regex_matches(r0, b"/w12"));
        assert!(!p.regex_matches(r0, b"/v12/"));
        assert!(p.regex_matches(r1, b"abx"));
        assert!(!p.regex_matches(7, b"abx"), "unknown regex matches nothing");
    }

    #[test]
    fn spans_refuse_what_does_not_fit_in_32_bits() {
        assert!(span(0, u32::MAX as usize, SITE, "t").is_ok());
        let err = span(1, u32::MAX as usize, SITE, "t").expect_err("end past u32");
        assert!(
            matches!(err, CompileError::TooLarge { what: "t", .. }),
            "{err:?}"
        );
        assert!(span(u32::MAX as usize + 1, 0, SITE, "t").is_err());
    }
}

//! What the router reads from a request, borrowed from the caller's buffers.

/// Read access to request header fields.
///
/// The router never copies or collects header values: it asks for the values
/// of one field name and stops as soon as one of them matches.
pub trait HeaderMap {
    /// Call `f` on each value of the field named `name` (given lower-case;
    /// compare ASCII case-insensitively) in order; stop early when `f`
    /// returns true; return whether `f` returned true.
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool;
}

/// A list of `(name, value)` pairs in arrival order, e.g.
/// `[(&b"version"[..], &b"one"[..])]` or `[("version", "one")]`.
impl<N: AsRef<[u8]>, V: AsRef<[u8]>> HeaderMap for [(N, V)] {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.iter()
            .any(|(n, v)| n.as_ref().eq_ignore_ascii_case(name.as_bytes()) && f(v.as_ref()))
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>, const LEN: usize> HeaderMap for [(N, V); LEN] {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.as_slice().any_value(name, f)
    }
}

/// The parts of a request that routing looks at.
#[derive(Debug)]
pub struct Request<'a, H: ?Sized> {
    /// Method token as received, e.g. `GET` (compared case-sensitively).
    pub method: &'a [u8],
    /// The `Host` as received: may carry `:port`, any case, a trailing dot.
    pub host: &'a [u8],
    /// Origin-form request-target (`/path?query`). Compared as received:
    /// any normalisation (percent-decoding, dot segments) is the caller's.
    pub target: &'a [u8],
    pub headers: &'a H,
}

impl<H: ?Sized> Clone for Request<'_, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H: ?Sized> Copy for Request<'_, H> {}

impl<'a, H: ?Sized> Request<'a, H> {
    /// The target up to the first `?`.
    pub fn path(&self) -> &'a [u8] {
        split_target(self.target).0
    }

    /// The target after the first `?`, if there is one.
    pub fn query(&self) -> Option<&'a [u8]> {
        split_target(self.target).1
    }
}

/// Split an origin-form target into path and query.
pub(crate) fn split_target(target: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr::memchr(b'?', target) {
        Some(q) => (&target[..q], Some(&target[q + 1..])),
        None => (target, None),
    }
}

/// The value of the first parameter named `name` in a raw query string.
///
/// Pairs are separated by `&`; a pair without `=` has an empty value; names
/// and values are compared raw (no percent-decoding, `+` is not a space).
/// Only the first occurrence of a name counts, as the Gateway API asks.
pub(crate) fn first_query_value<'q>(query: &'q [u8], name: &[u8]) -> Option<&'q [u8]> {
    query
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .find_map(|pair| {
            let (n, v) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            (n == name).then_some(v)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_splits_at_first_question_mark() {
        assert_eq!(split_target(b"/a/b"), (&b"/a/b"[..], None));
        assert_eq!(split_target(b"/a?x=1?y"), (&b"/a"[..], Some(&b"x=1?y"[..])));
        assert_eq!(split_target(b"/?"), (&b"/"[..], Some(&b""[..])));
        let headers: [(&str, &str); 0] = [];
        let r = Request {
            method: b"GET",
            host: b"h",
            target: b"/p?q",
            headers: &headers,
        };
        assert_eq!(r.path(), b"/p");
        assert_eq!(r.query(), Some(&b"q"[..]));
    }

    #[test]
    fn query_uses_first_occurrence_raw() {
        let q = b"animal=whale&color=blue&animal=dolphin&flag&e=&&x=a=b";
        assert_eq!(first_query_value(q, b"animal"), Some(&b"whale"[..]));
        assert_eq!(first_query_value(q, b"color"), Some(&b"blue"[..]));
        assert_eq!(first_query_value(q, b"flag"), Some(&b""[..]));
        assert_eq!(first_query_value(q, b"e"), Some(&b""[..]));
        assert_eq!(first_query_value(q, b"x"), Some(&b"a=b"[..]));
        assert_eq!(first_query_value(q, b"ANIMAL"), None);
        assert_eq!(first_query_value(q, b"anim"), None);
        assert_eq!(first_query_value(b"a%20b=1", b"a b"), None);
        assert_eq!(first_query_value(b"a%20b=1", b"a%20b"), Some(&b"1"[..]));
        assert_eq!(first_query_value(b"", b"a"), None);
    }

    #[test]
    fn header_slices_compare_names_case_insensitively_in_order() {
        let h: [(&[u8], &[u8]); 3] = [(b"Version", b"one"), (b"other", b"x"), (b"VERSION", b"two")];
        let mut seen = Vec::new();
        let found = h.any_value("version", &mut |v| {
            seen.push(v.to_vec());
            v == b"two"
        });
        assert!(found);
        assert_eq!(seen, vec![b"one".to_vec(), b"two".to_vec()]);

        let mut calls = 0;
        assert!(h[..].any_value("version", &mut |_| {
            calls += 1;
            true
        }));
        assert_eq!(calls, 1, "stops at the first true");
        assert!(!h.any_value("missing", &mut |_| true));

        let s = [("x-a", "1")];
        assert!(s.any_value("x-a", &mut |v| v == b"1"));
    }
}

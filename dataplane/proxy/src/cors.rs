//! Gateway API `CORS` filter: preflights answered on the shard, CORS
//! headers added to the responses of allowed origins. Pure functions over
//! the request's header values.

use shardgate_ir::Cors;
use std::io::Write;

/// Whether `origin` (the request's `Origin` value) is allowed by `c`.
/// Scheme and host compare case-insensitively; a default port written
/// out (`:80` for http, `:443` for https) is the same origin as none.
pub fn origin_allowed(c: &Cors, origin: &[u8]) -> bool {
    let Ok(origin) = std::str::from_utf8(origin) else {
        return false;
    };
    let origin = origin.trim().to_ascii_lowercase();
    let origin = without_default_port(&origin);
    c.allow_origins
        .iter()
        .any(|p| p == "*" || glob(without_default_port(p).as_bytes(), origin.as_bytes()))
}

fn without_default_port(o: &str) -> &str {
    if o.starts_with("http://") {
        o.strip_suffix(":80").unwrap_or(o)
    } else if o.starts_with("https://") {
        o.strip_suffix(":443").unwrap_or(o)
    } else {
        o
    }
}

/// `*` matches any run of bytes (at least one); everything else exactly.
fn glob(pattern: &[u8], s: &[u8]) -> bool {
    match pattern.iter().position(|&b| b == b'*') {
        None => pattern == s,
        Some(star) => {
            let (head, tail) = (&pattern[..star], &pattern[star + 1..]);
            if !s.starts_with(head) || s.len() <= head.len() {
                return false;
            }
            // At least one byte for the star, then the rest (which may
            // hold further stars) against every possible split.
            (head.len() + 1..=s.len()).any(|i| glob(tail, &s[i..]))
        }
    }
}

/// The request headers a CORS answer depends on.
pub struct CorsRequest<'a> {
    pub origin: &'a [u8],
    /// `Access-Control-Request-Method`, present on preflights.
    pub request_method: Option<&'a [u8]>,
    /// `Access-Control-Request-Headers`, joined.
    pub request_headers: Option<&'a [u8]>,
}

/// Write a complete `204 No Content` preflight answer for an allowed
/// origin (with the CORS headers) or a refused one (without them).
pub fn write_preflight(out: &mut Vec<u8>, c: &Cors, r: &CorsRequest<'_>, close: bool) {
    out.extend_from_slice(b"HTTP/1.1 204 No Content\r\n");
    if origin_allowed(c, r.origin) {
        allow_origin(out, c, r.origin);
        let methods: Option<&[u8]> = if c.allow_methods.iter().any(|m| m == "*") {
            // The request's method satisfies both the credentialed rule
            // (never `*`) and the wildcard.
            r.request_method
        } else {
            None
        };
        match methods {
            Some(m) => header(out, "Access-Control-Allow-Methods", m),
            None => list(out, "Access-Control-Allow-Methods", &c.allow_methods, false),
        }
        if c.allow_headers.iter().any(|h| h == "*") {
            if let Some(h) = r.request_headers {
                header(out, "Access-Control-Allow-Headers", h);
            }
        } else {
            list(out, "Access-Control-Allow-Headers", &c.allow_headers, false);
        }
        list(
            out,
            "Access-Control-Expose-Headers",
            &c.expose_headers,
            c.allow_credentials,
        );
        // Writing to a Vec cannot fail.
        let _ = write!(out, "Access-Control-Max-Age: {}\r\n", c.max_age_s);
    }
    out.extend_from_slice(b"Vary: Origin\r\nContent-Length: 0\r\n");
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// The headers added to a forwarded response for an allowed origin, as
/// (name, value) pairs for a response header modifier's `set`.
pub fn response_headers(c: &Cors, origin: &[u8]) -> Vec<(String, String)> {
    let mut set = Vec::with_capacity(3);
    let origin = String::from_utf8_lossy(origin).trim().to_owned();
    set.push(("access-control-allow-origin".to_owned(), origin));
    if c.allow_credentials {
        set.push((
            "access-control-allow-credentials".to_owned(),
            "true".to_owned(),
        ));
    }
    let expose: Vec<&str> = c
        .expose_headers
        .iter()
        .filter(|h| !(c.allow_credentials && *h == "*"))
        .map(String::as_str)
        .collect();
    if !expose.is_empty() {
        set.push((
            "access-control-expose-headers".to_owned(),
            expose.join(", "),
        ));
    }
    set
}

/// `Access-Control-Allow-Origin` echoes the origin (valid with and
/// without credentials), plus `Access-Control-Allow-Credentials`.
fn allow_origin(out: &mut Vec<u8>, c: &Cors, origin: &[u8]) {
    header(out, "Access-Control-Allow-Origin", origin.trim_ascii());
    if c.allow_credentials {
        header(out, "Access-Control-Allow-Credentials", b"true");
    }
}

fn header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// A comma-separated list header, left out when empty; `*` entries are
/// dropped when `no_wildcard`.
fn list(out: &mut Vec<u8>, name: &str, values: &[String], no_wildcard: bool) {
    let mut first = true;
    for v in values.iter().filter(|v| !(no_wildcard && *v == "*")) {
        if first {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            first = false;
        } else {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(v.as_bytes());
    }
    if !first {
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests;

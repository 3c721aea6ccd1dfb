//! Gateway API `RequestRedirect` and the path part of `URLRewrite`: pure
//! byte-level functions over the request as received, writing into the
//! connection's reusable output buffer (no allocation per request).

use shardgate_http1::{Scheme, reason_phrase};
use shardgate_ir::{PathRewrite, Redirect};

/// Split a request-target into path and query (with its `?`).
pub fn split_target(target: &[u8]) -> (&[u8], &[u8]) {
    match target.iter().position(|&b| b == b'?') {
        Some(i) => target.split_at(i),
        None => (target, &[]),
    }
}

/// The host without its port (`example.com:8080` → `example.com`,
/// `[::1]:80` → `[::1]`).
pub fn host_without_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        return match host.iter().position(|&b| b == b']') {
            Some(i) => &host[..=i],
            None => host,
        };
    }
    match host.iter().rposition(|&b| b == b':') {
        Some(i) => &host[..i],
        None => host,
    }
}

/// Append `path` rewritten by `p` to `out`.
pub fn rewrite_path(out: &mut Vec<u8>, p: &PathRewrite, path: &[u8]) {
    match p {
        PathRewrite::ReplaceFullPath(full) => out.extend_from_slice(full.as_bytes()),
        PathRewrite::ReplacePrefixMatch {
            prefix,
            replacement,
        } => {
            // The router matched `prefix` segment-wise, so what follows it
            // is empty or starts with `/`.
            let matched = prefix.trim_end_matches('/').len().min(path.len());
            let rest = &path[matched..];
            let head = replacement.trim_end_matches('/');
            out.extend_from_slice(head.as_bytes());
            if rest.is_empty() || rest == b"/" {
                // `/foo` → `/bar/` keeps a slash the replacement ends with;
                // `/foo` → `/` gives `/`.
                if head.is_empty() || replacement.ends_with('/') || rest == b"/" {
                    out.push(b'/');
                }
            } else {
                out.extend_from_slice(rest);
            }
        }
    }
}

fn push_decimal(out: &mut Vec<u8>, n: u16) {
    let mut digits = [0u8; 5];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn well_known_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// Everything of the request a redirect depends on.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub scheme: Scheme,
    /// The `Host` header as received (may carry a port).
    pub host: &'a [u8],
    /// The port of the listener the request came in on.
    pub listener_port: u16,
    /// The request-target (path and query).
    pub target: &'a [u8],
}

/// Append the `Location` value of redirect `r` for a request from `o`.
pub fn write_location(out: &mut Vec<u8>, r: &Redirect, o: &Origin<'_>) {
    let scheme = match (&r.scheme, o.scheme) {
        (Some(s), _) => s.as_str(),
        (None, Scheme::Https) => "https",
        (None, Scheme::Http) => "http",
    };
    let port = match (r.port, &r.scheme) {
        (Some(p), _) => p,
        (None, Some(s)) => well_known_port(s),
        (None, None) => o.listener_port,
    };
    out.extend_from_slice(scheme.as_bytes());
    out.extend_from_slice(b"://");
    match &r.hostname {
        Some(h) => out.extend_from_slice(h.as_bytes()),
        None => out.extend_from_slice(host_without_port(o.host)),
    }
    if port != well_known_port(scheme) {
        out.push(b':');
        push_decimal(out, port);
    }
    let (path, query) = split_target(o.target);
    match &r.path {
        Some(p) => rewrite_path(out, p, path),
        None => out.extend_from_slice(path),
    }
    out.extend_from_slice(query);
}

/// Append a whole redirect response (no body) to `out`.
pub fn write_redirect(out: &mut Vec<u8>, r: &Redirect, o: &Origin<'_>, close: bool) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, r.status);
    out.push(b' ');
    out.extend_from_slice(reason_phrase(r.status).as_bytes());
    out.extend_from_slice(b"\r\nLocation: ");
    write_location(out, r, o);
    out.extend_from_slice(b"\r\nContent-Length: 0\r\n");
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;

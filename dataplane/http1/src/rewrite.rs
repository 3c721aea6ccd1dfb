//! Writing heads for the next hop: the upstream request and the client
//! response. Hop-by-hop fields are dropped (RFC 9110 §7.6.1), framing is
//! regenerated from the parser's single decision, forwarding fields are
//! appended, and Gateway API header modifiers are applied on the way.

use std::net::IpAddr;

use crate::OutBuf;
use crate::chars::{
    check_origin_target, is_clean_field_value, is_token, list_elements, validate_authority,
    write_decimal,
};
use crate::error::WriteError;
use crate::head::{HeaderField, Method, Version, name_is};
use crate::reply::{reason_phrase, write_status_line};
use crate::request::{BodyKind, RequestHead};
use crate::response::{ResponseBody, ResponseHead};

/// Scheme of the client connection (for `X-Forwarded-Proto`/`Forwarded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

impl Scheme {
    fn as_bytes(self) -> &'static [u8] {
        match self {
            Scheme::Http => b"http",
            Scheme::Https => b"https",
        }
    }
}

/// Gateway API header modifications (`RequestHeaderModifier` /
/// `ResponseHeaderModifier`), borrowed from wherever the caller keeps them
/// (the IR's `HeaderModifier` has exactly these fields).
///
/// Names match ASCII case-insensitively. `set` replaces every received
/// value of the name, `add` appends a field line, `remove` drops every
/// line. Several modifiers apply together: a name named by any `set` or
/// `remove` loses its received values; every `set` (for a name set twice,
/// the last) and every `add` is then written.
///
/// Names that control framing or the connection (`host`, `content-length`,
/// `transfer-encoding`, `connection`, `keep-alive`, `proxy-connection`,
/// `te`, `trailer`, `upgrade`) are ignored here: use the `host`/`path`
/// overrides for rewrites; framing is always derived from the parsed body.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeaderMods<'a> {
    pub set: &'a [(String, String)],
    pub add: &'a [(String, String)],
    pub remove: &'a [String],
}

/// Options for [`write_upstream_request`].
#[derive(Debug, Clone, Copy)]
pub struct UpstreamRequest<'a> {
    /// The client's address: appended to `X-Forwarded-For` and `Forwarded`.
    pub client_ip: IpAddr,
    /// Scheme of the client connection.
    pub scheme: Scheme,
    /// Replacement origin-form target (path and query), e.g. from a
    /// URLRewrite filter. Must start with `/`.
    pub path: Option<&'a [u8]>,
    /// Replacement Host (authority), e.g. from a URLRewrite hostname.
    pub host: Option<&'a [u8]>,
    /// Request header modifiers to apply.
    pub mods: &'a [HeaderMods<'a>],
    /// Ask the upstream to close after this request (`Connection: close`).
    pub close: bool,
    /// Forward a protocol upgrade (WebSocket): keep `Upgrade` and send
    /// `Connection: upgrade` when the request asked for one.
    pub forward_upgrade: bool,
    /// Append `X-Forwarded-For`, `Forwarded` and set `X-Forwarded-Proto`.
    /// Default true.
    pub forwarded_headers: bool,
}

impl<'a> UpstreamRequest<'a> {
    /// Defaults: no rewrites, no modifiers, keep-alive upstream, upgrades
    /// not forwarded, forwarding headers on.
    pub fn new(client_ip: IpAddr, scheme: Scheme) -> Self {
        UpstreamRequest {
            client_ip,
            scheme,
            path: None,
            host: None,
            mods: &[],
            close: false,
            forward_upgrade: false,
            forwarded_headers: true,
        }
    }
}

/// Field names never copied from the received head: hop-by-hop fields and
/// fields this writer regenerates.
fn is_hop_by_hop(name: &[u8]) -> bool {
    match name.len() {
        2 => name_is(name, b"te"),
        4 => name_is(name, b"host"),
        7 => name_is(name, b"trailer") || name_is(name, b"upgrade"),
        10 => name_is(name, b"connection") || name_is(name, b"keep-alive"),
        14 => name_is(name, b"content-length"),
        16 => name_is(name, b"proxy-connection"),
        17 => name_is(name, b"transfer-encoding"),
        18 => name_is(name, b"proxy-authenticate"),
        19 => name_is(name, b"proxy-authorization"),
        _ => false,
    }
}

/// Names modifiers may not touch (see [`HeaderMods`]).
fn is_protected(name: &[u8]) -> bool {
    is_hop_by_hop(name)
        && !name_is(name, b"proxy-authenticate")
        && !name_is(name, b"proxy-authorization")
}

fn validate_mods(mods: &[HeaderMods<'_>]) -> Result<(), WriteError> {
    for m in mods {
        for (n, v) in m.set.iter().chain(m.add.iter()) {
            if !is_token(n.as_bytes()) {
                return Err(WriteError::InvalidModifierName(n.clone()));
            }
            if !is_clean_field_value(v.as_bytes()) {
                return Err(WriteError::InvalidModifierValue(n.clone()));
            }
        }
        for n in m.remove {
            if !is_token(n.as_bytes()) {
                return Err(WriteError::InvalidModifierName(n.clone()));
            }
        }
    }
    Ok(())
}

/// Is `name` replaced or removed by the modifiers?
fn mods_drop(mods: &[HeaderMods<'_>], name: &[u8]) -> bool {
    mods.iter().any(|m| {
        m.remove.iter().any(|r| eq_ci(r.as_bytes(), name))
            || m.set.iter().any(|(n, _)| eq_ci(n.as_bytes(), name))
    })
}

fn write_mods(out: &mut impl OutBuf, mods: &[HeaderMods<'_>]) {
    for (mi, m) in mods.iter().enumerate() {
        for (si, (n, v)) in m.set.iter().enumerate() {
            if is_protected(n.as_bytes()) {
                continue;
            }
            // The last set of a name wins.
            let later_in_same = m.set[si + 1..]
                .iter()
                .any(|(n2, _)| eq_ci(n2.as_bytes(), n.as_bytes()));
            let later_in_next = mods[mi + 1..].iter().any(|m2| {
                m2.set
                    .iter()
                    .any(|(n2, _)| eq_ci(n2.as_bytes(), n.as_bytes()))
            });
            if !later_in_same && !later_in_next {
                write_field(out, n.as_bytes(), v.as_bytes());
            }
        }
    }
    for m in mods {
        for (n, v) in m.add {
            if !is_protected(n.as_bytes()) {
                write_field(out, n.as_bytes(), v.as_bytes());
            }
        }
    }
}

#[inline]
fn eq_ci(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
}

#[inline]
fn write_field(out: &mut impl OutBuf, name: &[u8], value: &[u8]) {
    out.put(name);
    out.put(b": ");
    out.put(value);
    out.put(b"\r\n");
}

/// Field names listed in Connection header(s), which makes those fields
/// hop-by-hop (RFC 9110 §7.6.1). `close`, `keep-alive` and `upgrade` are
/// skipped (those fields are dropped anyway), so the common
/// `Connection: keep-alive` costs nothing per field.
struct Nominated<'b> {
    inline: [&'b [u8]; 8],
    len: usize,
    /// More than 8 names: fall back to scanning the Connection fields.
    overflow: bool,
    headers: &'b [HeaderField],
    buf: &'b [u8],
}

impl<'b> Nominated<'b> {
    fn collect(headers: &'b [HeaderField], buf: &'b [u8]) -> Self {
        let mut n = Nominated {
            inline: [&[]; 8],
            len: 0,
            overflow: false,
            headers,
            buf,
        };
        for h in headers {
            if !name_is(h.name.get(buf), b"connection") {
                continue;
            }
            for t in list_elements(h.value.get(buf)) {
                if name_is(t, b"close") || name_is(t, b"keep-alive") || name_is(t, b"upgrade") {
                    continue;
                }
                if n.len < n.inline.len() {
                    n.inline[n.len] = t;
                    n.len += 1;
                } else {
                    n.overflow = true;
                }
            }
        }
        n
    }

    fn contains(&self, name: &[u8]) -> bool {
        if self.len == 0 {
            return false;
        }
        if self.inline[..self.len].iter().any(|t| eq_ci(t, name)) {
            return true;
        }
        self.overflow
            && self.headers.iter().any(|h| {
                name_is(h.name.get(self.buf), b"connection")
                    && list_elements(h.value.get(self.buf)).any(|t| eq_ci(t, name))
            })
    }
}

fn write_ip(out: &mut impl OutBuf, ip: IpAddr) {
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d.
    let ip = ip.to_canonical();
    if let IpAddr::V4(v4) = ip {
        for (i, o) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                out.put(b".");
            }
            write_decimal(out, u64::from(o));
        }
        return;
    }
    // An IP address never needs more than 45 bytes.
    let mut tmp = [0u8; 48];
    let mut cursor = std::io::Cursor::new(&mut tmp[..]);
    let _ = std::io::Write::write_fmt(&mut cursor, format_args!("{ip}"));
    let n = cursor.position() as usize;
    out.put(&tmp[..n]);
}

/// Write the upstream request head (request-line in origin-form, fields,
/// CRLF) for `head` (parsed from `buf`) into `out`. Appends; does not clear.
///
/// - Host: the override, else the effective host (absolute-form authority
///   replaces the received Host, RFC 9112 §3.2.2), else empty (HTTP/1.0
///   without Host).
/// - Dropped: Connection and every field it names, Keep-Alive,
///   Proxy-Connection, TE, Trailer, Upgrade (unless forwarding an upgrade),
///   Proxy-Authenticate, Proxy-Authorization, and the received
///   Content-Length / Transfer-Encoding (regenerated from `head.body()`:
///   `Content-Length: n` in canonical decimal or `Transfer-Encoding: chunked`).
/// - `X-Forwarded-For`: received values kept, client IP appended, one line.
///   `Forwarded`: received elements kept, `for=...;proto=...` appended
///   (IPv6 quoted and bracketed). `X-Forwarded-Proto`: replaced by our
///   scheme (a client-sent value is not trusted). Modifiers apply last and
///   may override or remove these.
/// - Always HTTP/1.1 upstream; `Connection: close` when `opts.close`.
pub fn write_upstream_request(
    head: &RequestHead,
    buf: &[u8],
    opts: &UpstreamRequest<'_>,
    out: &mut impl OutBuf,
) -> Result<(), WriteError> {
    validate_mods(opts.mods)?;
    if opts.path.is_some_and(|p| !check_origin_target(p)) {
        return Err(WriteError::InvalidPathOverride);
    }
    if opts.host.is_some_and(|h| validate_authority(h).is_none()) {
        return Err(WriteError::InvalidHostOverride);
    }
    let mods = opts.mods;

    out.put(head.method_bytes(buf));
    out.put(b" ");
    out.put(opts.path.unwrap_or_else(|| head.path(buf)));
    out.put(b" HTTP/1.1\r\nHost: ");
    out.put(opts.host.or_else(|| head.host(buf)).unwrap_or(b""));
    out.put(b"\r\n");

    let headers = head.headers();
    let nominated = Nominated::collect(headers, buf);
    let upgrade = opts.forward_upgrade && head.is_upgrade();
    let fwd = opts.forwarded_headers;
    let mut xff_seen = false;
    let mut fwd_seen = false;
    for h in headers {
        let name = h.name.get(buf);
        if is_hop_by_hop(name) || mods_drop(mods, name) {
            continue;
        }
        if nominated.contains(name) {
            continue;
        }
        if fwd {
            if name_is(name, b"x-forwarded-for") {
                xff_seen = true;
                continue;
            }
            if name_is(name, b"forwarded") {
                fwd_seen = true;
                continue;
            }
            if name_is(name, b"x-forwarded-proto") {
                continue;
            }
        }
        write_field(out, name, h.value.get(buf));
    }

    if fwd {
        if !mods_drop(mods, b"x-forwarded-for") {
            out.put(b"X-Forwarded-For: ");
            if xff_seen {
                for v in head.header_values(buf, "x-forwarded-for") {
                    if !v.is_empty() {
                        out.put(v);
                        out.put(b", ");
                    }
                }
            }
            write_ip(out, opts.client_ip);
            out.put(b"\r\n");
        }
        if !mods_drop(mods, b"x-forwarded-proto") {
            write_field(out, b"X-Forwarded-Proto", opts.scheme.as_bytes());
        }
        if !mods_drop(mods, b"forwarded") {
            out.put(b"Forwarded: ");
            if fwd_seen {
                for v in head.header_values(buf, "forwarded") {
                    if !v.is_empty() {
                        out.put(v);
                        out.put(b", ");
                    }
                }
            }
            match opts.client_ip.to_canonical() {
                IpAddr::V4(_) => {
                    out.put(b"for=");
                    write_ip(out, opts.client_ip);
                }
                IpAddr::V6(_) => {
                    out.put(b"for=\"[");
                    write_ip(out, opts.client_ip);
                    out.put(b"]\"");
                }
            }
            out.put(b";proto=");
            out.put(opts.scheme.as_bytes());
            out.put(b"\r\n");
        }
    }
    write_mods(out, mods);

    match head.body() {
        BodyKind::None => {}
        BodyKind::Length(n) => {
            out.put(b"Content-Length: ");
            write_decimal(out, n);
            out.put(b"\r\n");
        }
        BodyKind::Chunked => out.put(b"Transfer-Encoding: chunked\r\n"),
    }
    if upgrade {
        if let Some(u) = head.upgrade(buf) {
            write_field(out, b"Upgrade", u);
        }
        out.put(b"Connection: upgrade\r\n");
    } else if opts.close {
        out.put(b"Connection: close\r\n");
    }
    out.put(b"\r\n");
    Ok(())
}

/// Options for [`write_client_response`].
#[derive(Debug, Clone, Copy)]
pub struct ClientResponse<'a> {
    /// Method of the request being answered (HEAD keeps Content-Length as
    /// metadata).
    pub request_method: Method,
    /// Version the client spoke (HTTP/1.0 clients get no chunked coding).
    pub client_version: Version,
    /// The proxy will close the client connection after this response
    /// (client asked for it, draining, unread request body, ...).
    pub close: bool,
    /// A 101 to an upgrade the proxy forwards: keep Upgrade and
    /// `Connection: upgrade`.
    pub upgrade: bool,
    /// Response header modifiers to apply.
    pub mods: &'a [HeaderMods<'a>],
}

impl<'a> ClientResponse<'a> {
    /// Defaults for answering `req`: its method and version, close unless
    /// the request allows keep-alive, no upgrade, no modifiers.
    pub fn for_request(req: &RequestHead) -> Self {
        ClientResponse {
            request_method: req.method(),
            client_version: req.version(),
            close: !req.keep_alive(),
            upgrade: false,
            mods: &[],
        }
    }
}

/// How to stream the response body to the client, decided by
/// [`write_client_response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientBody {
    /// Nothing follows the head.
    None,
    /// Copy exactly this many bytes (use [`crate::LengthBody`]).
    Length(u64),
    /// Copy the chunked body verbatim, validating it with
    /// [`crate::ChunkedDecoder::feed`].
    Chunked,
    /// Decode with [`crate::ChunkedDecoder::decode`] and send only the data
    /// (HTTP/1.0 client), then close.
    Dechunk,
    /// Copy until the upstream closes, then close.
    UntilClose,
}

/// What [`write_client_response`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponsePlan {
    /// How to stream the body.
    pub body: ClientBody,
    /// Close the client connection after the body (also set when the
    /// framing requires it; `Connection: close` was written).
    pub close: bool,
}

/// Write the response head for the client (status line, fields, CRLF) for
/// an upstream `head` parsed from `buf`. Drops hop-by-hop fields, applies
/// modifiers, regenerates framing consistently with the returned plan and
/// writes `Connection: close` when the proxy will close. A 101 is only
/// accepted when `opts.upgrade` is set (the proxy forwarded the upgrade);
/// otherwise it is [`WriteError::UnexpectedSwitchingProtocols`] (answer 502).
pub fn write_client_response(
    head: &ResponseHead,
    buf: &[u8],
    opts: &ClientResponse<'_>,
    out: &mut impl OutBuf,
) -> Result<ResponsePlan, WriteError> {
    validate_mods(opts.mods)?;
    let status = head.status();
    if status == 101 && !opts.upgrade {
        return Err(WriteError::UnexpectedSwitchingProtocols);
    }
    let reason = head.reason(buf);
    let reason = if reason.is_empty() {
        reason_phrase(status).as_bytes()
    } else {
        reason
    };
    write_status_line(out, status, reason);

    let interim = head.is_interim();
    let switching = status == 101 && opts.upgrade;
    let headers = head.headers();
    let nominated = Nominated::collect(headers, buf);
    for h in headers {
        let name = h.name.get(buf);
        if is_hop_by_hop(name) || mods_drop(opts.mods, name) {
            continue;
        }
        if nominated.contains(name) {
            continue;
        }
        write_field(out, name, h.value.get(buf));
    }
    write_mods(out, opts.mods);

    let mut close = opts.close;
    let body = match head.body() {
        ResponseBody::None => {
            let metadata_cl = opts.request_method == Method::Head || status == 304;
            if let (true, Some(n)) = (metadata_cl, head.content_length()) {
                out.put(b"Content-Length: ");
                write_decimal(out, n);
                out.put(b"\r\n");
            }
            ClientBody::None
        }
        ResponseBody::Length(n) => {
            out.put(b"Content-Length: ");
            write_decimal(out, n);
            out.put(b"\r\n");
            ClientBody::Length(n)
        }
        ResponseBody::Chunked if opts.client_version == Version::Http11 => {
            out.put(b"Transfer-Encoding: chunked\r\n");
            ClientBody::Chunked
        }
        ResponseBody::Chunked => {
            close = true;
            ClientBody::Dechunk
        }
        ResponseBody::UntilClose => {
            close = true;
            ClientBody::UntilClose
        }
    };
    if switching {
        if let Some(u) = head.header(buf, "upgrade") {
            write_field(out, b"Upgrade", u);
        }
        out.put(b"Connection: upgrade\r\n");
        close = false;
    } else if interim {
        close = false;
    } else if close {
        out.put(b"Connection: close\r\n");
    } else if opts.client_version == Version::Http10 {
        out.put(b"Connection: keep-alive\r\n");
    }
    out.put(b"\r\n");
    Ok(ResponsePlan { body, close })
}

#[cfg(test)]
mod tests;

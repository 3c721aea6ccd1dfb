use std::net::{Ipv4Addr, Ipv6Addr};

use super::*;
use crate::{Limits, ParseStatus};

fn req(raw: &[u8]) -> RequestHead {
    let mut h = RequestHead::new();
    assert_eq!(h.parse(raw, &Limits::default()), Ok(ParseStatus::Complete));
    h
}

fn v4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))
}

fn upstream(raw: &[u8], opts: &UpstreamRequest<'_>) -> String {
    let h = req(raw);
    let mut out = Vec::new();
    write_upstream_request(&h, raw, opts, &mut out).expect("writes");
    String::from_utf8(out).expect("ascii")
}

#[test]
fn basic_upstream_head() {
    let raw = b"GET /app/?q=1 HTTP/1.1\r\nHost: h1.test\r\nAccept: */*\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: x\r\nProxy-Authorization: Basic x\r\nTrailer: X\r\n\r\n";
    let s = upstream(raw, &UpstreamRequest::new(v4(), Scheme::Http));
    assert_eq!(
        s,
        "GET /app/?q=1 HTTP/1.1\r\nHost: h1.test\r\nAccept: */*\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.7;proto=http\r\n\r\n"
    );
}

#[test]
fn connection_nominated_fields_are_dropped() {
    let raw = b"POST /app/ HTTP/1.1\r\nHost: h1.test\r\nConnection: X-Secret, Content-Length\r\nX-Secret: 1\r\nX-Kept: 2\r\nContent-Length: 41\r\n\r\n";
    let s = upstream(raw, &UpstreamRequest::new(v4(), Scheme::Http));
    assert!(!s.contains("X-Secret"), "{s}");
    assert!(s.contains("X-Kept: 2\r\n"));
    // Framing regenerated from the parsed body, never left unframed.
    assert_eq!(s.matches("Content-Length: 41\r\n").count(), 1, "{s}");
}

#[test]
fn framing_is_regenerated_once() {
    let raw = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 010\r\n\r\n";
    let s = upstream(raw, &UpstreamRequest::new(v4(), Scheme::Http));
    assert!(s.contains("\r\nContent-Length: 10\r\n"), "{s}");
    let raw = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n";
    let s = upstream(raw, &UpstreamRequest::new(v4(), Scheme::Http));
    assert_eq!(s.matches("Content-Length").count(), 1, "{s}");
    let raw = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n";
    let s = upstream(raw, &UpstreamRequest::new(v4(), Scheme::Http));
    assert!(s.contains("\r\nTransfer-Encoding: chunked\r\n"), "{s}");
    assert!(!s.contains("CHUNKED"));
    assert!(!s.contains("Content-Length"));
}

#[test]
fn absolute_form_host_wins() {
    let raw = b"GET http://other.test/app/ HTTP/1.1\r\nHost: h1.test\r\n\r\n";
    let s = upstream(raw, &UpstreamRequest::new(v4(), Scheme::Http));
    assert!(
        s.starts_with("GET /app/ HTTP/1.1\r\nHost: other.test\r\n"),
        "{s}"
    );
    assert!(!s.contains("h1.test"));
}

#[test]
fn http10_without_host_gets_empty_host() {
    let raw = b"GET / HTTP/1.0\r\n\r\n";
    let s = upstream(raw, &UpstreamRequest::new(v4(), Scheme::Http));
    assert!(s.starts_with("GET / HTTP/1.1\r\nHost: \r\n"), "{s}");
}

#[test]
fn forwarding_headers_append() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.1\r\nX-Forwarded-For: 198.51.100.2, 10.0.0.1\r\nForwarded: for=203.0.113.1\r\nX-Forwarded-Proto: https\r\n\r\n";
    let ip6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let s = upstream(raw, &UpstreamRequest::new(ip6, Scheme::Https));
    assert!(
        s.contains("\r\nX-Forwarded-For: 203.0.113.1, 198.51.100.2, 10.0.0.1, 2001:db8::1\r\n"),
        "{s}"
    );
    assert!(
        s.contains("\r\nForwarded: for=203.0.113.1, for=\"[2001:db8::1]\";proto=https\r\n"),
        "{s}"
    );
    assert_eq!(s.matches("X-Forwarded-Proto").count(), 1);
    assert!(s.contains("X-Forwarded-Proto: https\r\n"));
    let mut opts = UpstreamRequest::new(v4(), Scheme::Http);
    opts.forwarded_headers = false;
    let s = upstream(raw, &opts);
    assert!(s.contains("X-Forwarded-For: 203.0.113.1\r\n"));
    assert!(!s.contains("192.0.2.7"));
}

#[test]
fn header_modifiers() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nX-Set: old1\r\nx-set: old2\r\nX-Remove: r\r\nX-Add: a1\r\nX-Keep: k\r\n\r\n";
    let set = vec![("x-set".to_string(), "new".to_string())];
    let add = vec![
        ("X-ADD".to_string(), "a2".to_string()),
        ("x-new".to_string(), "n".to_string()),
    ];
    let remove = vec!["X-REMOVE".to_string(), "x-forwarded-proto".to_string()];
    let mods = [HeaderMods {
        set: &set,
        add: &add,
        remove: &remove,
    }];
    let mut opts = UpstreamRequest::new(v4(), Scheme::Http);
    opts.mods = &mods;
    let s = upstream(raw, &opts);
    assert!(!s.contains("old"), "{s}");
    assert_eq!(s.matches("x-set: new\r\n").count(), 1, "{s}");
    assert!(!s.to_ascii_lowercase().contains("x-remove"));
    assert!(s.contains("X-Add: a1\r\n") && s.contains("X-ADD: a2\r\n"));
    assert!(s.contains("x-new: n\r\n"));
    assert!(s.contains("X-Keep: k\r\n"));
    assert!(!s.contains("X-Forwarded-Proto"));
    assert!(s.contains("X-Forwarded-For"));
}

#[test]
fn later_set_wins_and_protected_names_are_ignored() {
    let raw = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
    let set1 = vec![("x-v".to_string(), "1".to_string())];
    let set2 = vec![
        ("X-V".to_string(), "2".to_string()),
        ("content-length".to_string(), "999".to_string()),
        ("host".to_string(), "evil".to_string()),
    ];
    let rm = vec!["content-length".to_string(), "host".to_string()];
    let mods = [
        HeaderMods {
            set: &set1,
            add: &[],
            remove: &[],
        },
        HeaderMods {
            set: &set2,
            add: &[],
            remove: &rm,
        },
    ];
    let mut opts = UpstreamRequest::new(v4(), Scheme::Http);
    opts.mods = &mods;
    let s = upstream(raw, &opts);
    assert!(s.contains("X-V: 2\r\n") && !s.contains("x-v: 1"), "{s}");
    assert!(s.contains("Host: a\r\n") && !s.contains("evil"));
    assert!(s.contains("Content-Length: 3\r\n") && !s.contains("999"));
}

#[test]
fn invalid_modifiers_and_overrides_are_errors() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let h = req(raw);
    let bad_value = vec![("x".to_string(), "a\r\nInjected: 1".to_string())];
    let bad_name = vec![("x y".to_string(), "v".to_string())];
    let mut out = Vec::new();
    for (set, want) in [
        (&bad_value, WriteError::InvalidModifierValue("x".into())),
        (&bad_name, WriteError::InvalidModifierName("x y".into())),
    ] {
        let mods = [HeaderMods {
            set,
            add: &[],
            remove: &[],
        }];
        let mut opts = UpstreamRequest::new(v4(), Scheme::Http);
        opts.mods = &mods;
        assert_eq!(write_upstream_request(&h, raw, &opts, &mut out), Err(want));
    }
    let mut opts = UpstreamRequest::new(v4(), Scheme::Http);
    opts.path = Some(b"no-slash");
    assert_eq!(
        write_upstream_request(&h, raw, &opts, &mut out),
        Err(WriteError::InvalidPathOverride)
    );
    opts.path = None;
    opts.host = Some(b"a b");
    assert_eq!(
        write_upstream_request(&h, raw, &opts, &mut out),
        Err(WriteError::InvalidHostOverride)
    );
}

#[test]
fn overrides_close_and_upgrade() {
    let raw = b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n";
    let mut opts = UpstreamRequest::new(v4(), Scheme::Http);
    let s = upstream(raw, &opts);
    assert!(
        !s.contains("Upgrade"),
        "upgrade not forwarded by default: {s}"
    );
    assert!(s.contains("Sec-WebSocket-Key: k"));
    opts.forward_upgrade = true;
    opts.path = Some(b"/rewritten?x=1");
    opts.host = Some(b"backend.local:8080");
    let s = upstream(raw, &opts);
    assert!(
        s.starts_with("GET /rewritten?x=1 HTTP/1.1\r\nHost: backend.local:8080\r\n"),
        "{s}"
    );
    assert!(
        s.ends_with("Upgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        "{s}"
    );
    let mut opts = UpstreamRequest::new(v4(), Scheme::Http);
    opts.close = true;
    let s = upstream(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &opts);
    assert!(s.ends_with("Connection: close\r\n\r\n"), "{s}");
}

fn resp(raw: &[u8], method: Method) -> ResponseHead {
    let mut h = ResponseHead::new();
    assert_eq!(
        h.parse(raw, method, &Limits::default()),
        Ok(ParseStatus::Complete)
    );
    h
}

fn client(raw: &[u8], opts: &ClientResponse<'_>) -> (String, ResponsePlan) {
    let h = resp(raw, opts.request_method);
    let mut out = Vec::new();
    let plan = write_client_response(&h, raw, opts, &mut out).expect("writes");
    (String::from_utf8(out).expect("ascii"), plan)
}

fn opts11() -> ClientResponse<'static> {
    ClientResponse {
        request_method: Method::Get,
        client_version: Version::Http11,
        close: false,
        upgrade: false,
        mods: &[],
    }
}

#[test]
fn response_head_rewrite() {
    let raw = b"HTTP/1.1 200 Fine\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\nhello";
    let (s, plan) = client(raw, &opts11());
    assert_eq!(
        s,
        "HTTP/1.1 200 Fine\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
    );
    assert_eq!(
        plan,
        ResponsePlan {
            body: ClientBody::Length(5),
            close: false
        }
    );

    let mut o = opts11();
    o.close = true;
    let (s, plan) = client(raw, &o);
    assert!(
        s.ends_with("Content-Length: 5\r\nConnection: close\r\n\r\n"),
        "{s}"
    );
    assert!(plan.close);
}

#[test]
fn response_framing_plans() {
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let (s, plan) = client(chunked, &opts11());
    assert!(s.contains("Transfer-Encoding: chunked\r\n"));
    assert_eq!(
        plan,
        ResponsePlan {
            body: ClientBody::Chunked,
            close: false
        }
    );

    let mut o10 = opts11();
    o10.client_version = Version::Http10;
    let (s, plan) = client(chunked, &o10);
    assert!(!s.contains("Transfer-Encoding"), "{s}");
    assert!(s.contains("Connection: close"));
    assert_eq!(
        plan,
        ResponsePlan {
            body: ClientBody::Dechunk,
            close: true
        }
    );

    let (s, plan) = client(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &o10);
    assert!(s.ends_with("Connection: keep-alive\r\n\r\n"), "{s}");
    assert!(!plan.close);

    let (s, plan) = client(b"HTTP/1.0 200 OK\r\n\r\n", &opts11());
    assert!(s.contains("Connection: close\r\n"));
    assert_eq!(
        plan,
        ResponsePlan {
            body: ClientBody::UntilClose,
            close: true
        }
    );

    let mut head = opts11();
    head.request_method = Method::Head;
    let (s, plan) = client(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", &head);
    assert!(s.contains("Content-Length: 1234\r\n"));
    assert_eq!(plan.body, ClientBody::None);

    let (s, plan) = client(
        b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
        &opts11(),
    );
    assert!(!s.contains("Content-Length"), "{s}");
    assert_eq!(plan.body, ClientBody::None);

    let (s, plan) = client(
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n",
        &opts11(),
    );
    assert!(s.contains("Content-Length: 3"), "{s}");
    assert_eq!(plan.body, ClientBody::None);

    let (s, plan) = client(b"HTTP/1.1 100 Continue\r\n\r\n", &opts11());
    assert_eq!(s, "HTTP/1.1 100 Continue\r\n\r\n");
    assert!(!plan.close);
}

#[test]
fn response_upgrade_and_mods() {
    let raw = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n";
    let mut o = opts11();
    o.upgrade = true;
    let (s, plan) = client(raw, &o);
    assert!(
        s.ends_with("Sec-WebSocket-Accept: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        "{s}"
    );
    assert!(!plan.close);

    let set = vec![("x-set".to_string(), "s".to_string())];
    let add = vec![("x-add".to_string(), "a".to_string())];
    let remove = vec!["server".to_string()];
    let mods = [HeaderMods {
        set: &set,
        add: &add,
        remove: &remove,
    }];
    let mut o = opts11();
    o.mods = &mods;
    let (s, _) = client(
        b"HTTP/1.1 200 OK\r\nServer: x\r\nX-Set: old\r\nX-Add: b\r\nContent-Length: 0\r\n\r\n",
        &o,
    );
    assert_eq!(
        s,
        "HTTP/1.1 200 OK\r\nX-Add: b\r\nx-set: s\r\nx-add: a\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn empty_reason_gets_canonical_phrase() {
    let (s, _) = client(b"HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", &opts11());
    assert!(s.starts_with("HTTP/1.1 404 Not Found\r\n"), "{s}");
    let (s, _) = client(b"HTTP/1.1 599\r\nContent-Length: 0\r\n\r\n", &opts11());
    assert!(s.starts_with("HTTP/1.1 599 \r\n"), "{s}");
}

#[test]
fn for_request_defaults() {
    let raw = b"HEAD / HTTP/1.0\r\n\r\n";
    let r = req(raw);
    let o = ClientResponse::for_request(&r);
    assert_eq!(o.request_method, Method::Head);
    assert_eq!(o.client_version, Version::Http10);
    assert!(o.close);
}

#[test]
fn bytesmut_output() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let h = req(raw);
    let mut out = bytes::BytesMut::new();
    write_upstream_request(&h, raw, &UpstreamRequest::new(v4(), Scheme::Http), &mut out)
        .expect("writes");
    assert!(out.starts_with(b"GET / HTTP/1.1\r\nHost: a\r\n"));
}

#[test]
fn connection_can_strip_forwarding_headers() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n";
    let s = upstream(raw, &UpstreamRequest::new(v4(), Scheme::Http));
    assert!(s.contains("\r\nX-Forwarded-For: 192.0.2.7\r\n"), "{s}");
    assert!(!s.contains("6.6.6.6"));
}

/// Deterministic mutation testing (a stable-toolchain companion of the fuzz
/// target): mutate valid requests byte by byte; whatever the parser
/// accepts must produce a clean upstream head with at most one framing
/// header, and the chunked validator must agree with itself byte-wise.
#[test]
fn mutated_requests_never_yield_unclean_upstream_heads() {
    let seeds: &[&[u8]] = &[
        b"GET /app/?q=1 HTTP/1.1\r\nHost: h1.test\r\nConnection: x-a, close\r\nX-A: 1\r\n\r\n",
        b"POST /p HTTP/1.1\r\nHost: a:80\r\nContent-Length: 5\r\nX-Forwarded-For: 1.1.1.1\r\n\r\nhello",
        b"PUT http://b.test/x HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n",
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nForwarded: for=x\r\n\r\n",
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let interesting = b"\r\n \t:,;\0\x85\x7f0aZ-_/?#*\"";
    let limits = Limits::default();
    let opts = UpstreamRequest::new(v4(), Scheme::Http);
    let mut head = RequestHead::new();
    let mut out = Vec::new();
    let mut accepted = 0;
    for i in 0..20_000 {
        let mut data = seeds[i % seeds.len()].to_vec();
        for _ in 0..1 + next() % 3 {
            let pos = (next() as usize) % data.len();
            match next() % 3 {
                0 => data[pos] = interesting[(next() as usize) % interesting.len()],
                1 => data.insert(pos, interesting[(next() as usize) % interesting.len()]),
                _ => {
                    data.remove(pos);
                }
            }
        }
        if head.parse(&data, &limits) != Ok(ParseStatus::Complete) {
            continue;
        }
        accepted += 1;
        out.clear();
        write_upstream_request(&head, &data, &opts, &mut out).expect("no modifiers");
        for (j, &b) in out.iter().enumerate() {
            assert_ne!(b, 0);
            if b == b'\n' {
                assert_eq!(out[j - 1], b'\r', "{}", String::from_utf8_lossy(&data));
            }
            if b == b'\r' {
                assert_eq!(
                    out.get(j + 1),
                    Some(&b'\n'),
                    "{}",
                    String::from_utf8_lossy(&data)
                );
            }
        }
        let lower = out.to_ascii_lowercase();
        let count = |n: &[u8]| lower.windows(n.len()).filter(|w| *w == n).count();
        assert!(
            count(b"\r\ncontent-length:") + count(b"\r\ntransfer-encoding:") <= 1,
            "{}",
            String::from_utf8_lossy(&data)
        );
        if head.body() == BodyKind::Chunked {
            let body = &data[head.head_len()..];
            if let Ok(p) = crate::ChunkedDecoder::new().feed(body) {
                let mut d = crate::ChunkedDecoder::new();
                let mut consumed = 0;
                for b in body {
                    if d.is_done() {
                        break;
                    }
                    consumed += d
                        .feed(std::slice::from_ref(b))
                        .expect("byte-wise agrees")
                        .consumed;
                }
                assert_eq!((consumed, d.is_done()), (p.consumed, p.done));
            }
        }
    }
    assert!(
        accepted > 1000,
        "mutations should often stay valid: {accepted}"
    );
}

#[test]
fn unexpected_101_is_an_error() {
    let raw = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    let h = resp(raw, Method::Get);
    let mut out = Vec::new();
    assert_eq!(
        write_client_response(&h, raw, &opts11(), &mut out),
        Err(WriteError::UnexpectedSwitchingProtocols)
    );
}

#[test]
fn ipv4_mapped_clients_are_written_as_ipv4() {
    let mapped = IpAddr::V6(Ipv4Addr::new(203, 0, 113, 9).to_ipv6_mapped());
    let s = upstream(
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        &UpstreamRequest::new(mapped, Scheme::Http),
    );
    assert!(s.contains("X-Forwarded-For: 203.0.113.9\r\n"), "{s}");
    assert!(
        s.contains("Forwarded: for=203.0.113.9;proto=http\r\n"),
        "{s}"
    );
}

//! The per-request HTTP/1.1 work with allocation counts per iteration:
//! parsing the request and response heads, and writing the upstream
//! request and client response heads with and without Gateway API header
//! modifier filters (`RequestHeaderModifier` / `ResponseHeaderModifier`).
//! Heads and output buffers are reused, as the proxy reuses them.

// One copy of the allocation table for every crate's benches.
#[path = "../../ir/benches/alloc/mod.rs"]
mod alloc;

use criterion::Criterion;
use shardgate_http1::{
    ClientResponse, HeaderMods, Limits, Method, ParseStatus, RequestHead, ResponseHead, Scheme,
    UpstreamRequest, write_client_response, write_upstream_request,
};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

const REQUEST: &[u8] = b"GET /app/assets/main.css?v=3f2a9c HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36\r\n\
Accept: text/css,*/*;q=0.1\r\n\
Referer: https://www.example.com/app/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
X-Debug: 1\r\n\
Cookie: session=2b7e151628aed2a6abf7158809cf4f3c; theme=dark\r\n\
\r\n";

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/css\r\n\
Content-Length: 1024\r\n\
Cache-Control: max-age=3600\r\n\
ETag: \"5f2a9c\"\r\n\
Server: backend/1.2\r\n\
X-Powered-By: bench\r\n\
Date: Sun, 22 Nov 2026 04:00:00 GMT\r\n\
\r\n";

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
        .collect()
}

fn bench(c: &mut Criterion, allocs: &mut alloc::AllocTable) {
    let limits = Limits::default();
    let mut req = RequestHead::new();
    let mut resp = ResponseHead::new();
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    assert_eq!(req.parse(REQUEST, &limits), Ok(ParseStatus::Complete));
    assert_eq!(
        resp.parse(RESPONSE, Method::Get, &limits),
        Ok(ParseStatus::Complete)
    );

    // A filter of each kind, as a route would carry it.
    let req_set = pairs(&[("x-tenant", "blue"), ("accept-language", "en")]);
    let req_add = pairs(&[("x-request-source", "gateway")]);
    let req_remove = vec!["x-debug".to_string(), "cookie".to_string()];
    let req_mods = [HeaderMods {
        set: &req_set,
        add: &req_add,
        remove: &req_remove,
    }];
    let resp_set = pairs(&[("cache-control", "no-store")]);
    let resp_add = pairs(&[("x-served-by", "shardgate")]);
    let resp_remove = vec!["server".to_string(), "x-powered-by".to_string()];
    let resp_mods = [HeaderMods {
        set: &resp_set,
        add: &resp_add,
        remove: &resp_remove,
    }];
    let plain = UpstreamRequest::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)), Scheme::Http);
    let mut filtered = plain;
    filtered.mods = &req_mods;

    let mut g = c.benchmark_group("http1_filters");
    let mut case = |name: &str, f: &mut dyn FnMut() -> usize| {
        g.bench_function(name, |b| b.iter(&mut *f));
        allocs.measure(&format!("http1_filters/{name}"), 10_000, &mut *f);
    };
    case("parse_request_head", &mut || {
        let r = req.parse(black_box(REQUEST), &limits);
        assert_eq!(r, Ok(ParseStatus::Complete));
        req.head_len()
    });
    case("parse_response_head", &mut || {
        let r = resp.parse(black_box(RESPONSE), Method::Get, &limits);
        assert_eq!(r, Ok(ParseStatus::Complete));
        resp.head_len()
    });
    for (name, opts) in [
        ("upstream_head", &plain),
        ("upstream_head_with_request_header_modifier", &filtered),
    ] {
        case(name, &mut || {
            out.clear();
            let w = write_upstream_request(&req, black_box(REQUEST), opts, &mut out);
            assert!(w.is_ok());
            out.len()
        });
    }
    for (name, mods) in [
        ("client_head", &[][..]),
        ("client_head_with_response_header_modifier", &resp_mods[..]),
    ] {
        let mut opts = ClientResponse::for_request(&req);
        opts.mods = mods;
        case(name, &mut || {
            out.clear();
            let w = write_client_response(&resp, black_box(RESPONSE), &opts, &mut out);
            assert!(w.is_ok());
            out.len()
        });
    }
    g.finish();
}

fn main() {
    let mut c = alloc::criterion();
    let mut allocs = alloc::AllocTable::default();
    bench(&mut c, &mut allocs);
    c.final_summary();
    allocs.print();
}

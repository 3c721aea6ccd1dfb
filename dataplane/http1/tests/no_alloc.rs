//! The hot path does not allocate: once the reusable head structs and
//! output buffers have warmed up, parsing a request, writing the upstream
//! head, validating a chunked body, parsing the response and writing the
//! client head perform zero heap allocations.
//!
//! Runs without the test harness (see Cargo.toml): the counter is global,
//! so no other thread may allocate while it counts.

use std::alloc::System;
use std::net::{IpAddr, Ipv6Addr};

use shardgate_http1::{
    ChunkedDecoder, ClientResponse, HeaderMods, Limits, Method, ParseStatus, RequestHead,
    ResponseHead, Scheme, UpstreamRequest, write_client_response, write_upstream_request,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const REQUEST: &[u8] = b"POST /app/upload?x=1 HTTP/1.1\r\nHost: h1.test\r\nUser-Agent: t\r\n\
Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Forwarded-For: 198.51.100.1\r\n\
Forwarded: for=198.51.100.1\r\nTransfer-Encoding: chunked\r\nAccept: */*\r\n\r\n\
5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n";

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nServer: s\r\n\
Transfer-Encoding: chunked\r\n\r\n";

fn main() {
    steady_state_request_and_response_path_allocates_nothing();
    println!("1 passed, 0 failed");
}

fn steady_state_request_and_response_path_allocates_nothing() {
    let limits = Limits::default();
    let set = vec![("x-set".to_string(), "v".to_string())];
    let add = vec![("x-add".to_string(), "a".to_string())];
    let remove = vec!["server".to_string()];
    let mods = [HeaderMods {
        set: &set,
        add: &add,
        remove: &remove,
    }];
    let mut opts = UpstreamRequest::new(IpAddr::V6(Ipv6Addr::LOCALHOST), Scheme::Https);
    opts.mods = &mods;
    let mut req = RequestHead::new();
    let mut resp = ResponseHead::new();
    let mut out = Vec::new();
    let mut dec = ChunkedDecoder::new();

    let mut run = || {
        assert_eq!(req.parse(REQUEST, &limits), Ok(ParseStatus::Complete));
        out.clear();
        write_upstream_request(&req, REQUEST, &opts, &mut out).expect("writes");
        dec.reset();
        let p = dec.feed(&REQUEST[req.head_len()..]).expect("valid body");
        assert!(p.done);
        assert_eq!(
            resp.parse(RESPONSE, Method::Post, &limits),
            Ok(ParseStatus::Complete)
        );
        let mut copts = ClientResponse::for_request(&req);
        copts.mods = &mods;
        out.clear();
        write_client_response(&resp, RESPONSE, &copts, &mut out).expect("writes");
    };
    // Warm up: buffers reach their steady-state capacity.
    run();
    let region = Region::new(GLOBAL);
    for _ in 0..1000 {
        run();
    }
    let stats = region.change();
    assert_eq!(stats.allocations, 0, "{stats:?}");
    assert_eq!(stats.reallocations, 0, "{stats:?}");
}

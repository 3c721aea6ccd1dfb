//! Fuzz the request path the way the proxy drives it: parse (one shot and
//! split in two), write the upstream head, validate a chunked body.
//! Run with `cargo +nightly fuzz run request` from `dataplane/http1`.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use shardgate_http1::{
    BodyKind, ChunkedDecoder, Limits, ParseStatus, RequestHead, Scheme, UpstreamRequest,
    write_upstream_request,
};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let mut head = RequestHead::new();
    let whole = head.parse(data, &limits);

    // Incremental parsing must agree with the one-shot result.
    if let Some(&cut) = data.first() {
        let cut = usize::from(cut).min(data.len());
        let mut split = RequestHead::new();
        let first = split.parse(&data[..cut], &limits);
        if first != Ok(ParseStatus::Partial) || cut == data.len() {
            assert!(
                first == whole || whole != Ok(ParseStatus::Complete),
                "prefix result differs"
            );
        } else {
            assert_eq!(split.parse(data, &limits), whole);
        }
    }

    if whole != Ok(ParseStatus::Complete) {
        return;
    }
    let mut out = Vec::new();
    let opts = UpstreamRequest::new(IpAddr::V4(Ipv4Addr::LOCALHOST), Scheme::Http);
    write_upstream_request(&head, data, &opts, &mut out).expect("no modifiers");
    // The upstream head is clean: CRLF only, no NUL, one framing header.
    for (i, &b) in out.iter().enumerate() {
        assert_ne!(b, 0);
        if b == b'\n' {
            assert_eq!(out[i - 1], b'\r');
        }
        if b == b'\r' {
            assert_eq!(out.get(i + 1), Some(&b'\n'));
        }
    }
    assert!(out.ends_with(b"\r\n\r\n"));
    let lower = out.to_ascii_lowercase();
    let count = |needle: &[u8]| lower.windows(needle.len()).filter(|w| *w == needle).count();
    assert!(count(b"\r\ncontent-length:") + count(b"\r\ntransfer-encoding:") <= 1);

    if head.body() == BodyKind::Chunked {
        let body = &data[head.head_len()..];
        let mut dec = ChunkedDecoder::new();
        if let Ok(p) = dec.feed(body) {
            assert!(p.consumed <= body.len());
            // Byte-at-a-time must agree.
            let mut dec2 = ChunkedDecoder::new();
            let mut consumed = 0;
            for b in body {
                if dec2.is_done() {
                    break;
                }
                match dec2.feed(std::slice::from_ref(b)) {
                    Ok(q) => consumed += q.consumed,
                    Err(_) => panic!("byte-wise feed failed where one-shot succeeded"),
                }
            }
            assert_eq!(consumed, p.consumed);
            assert_eq!(dec2.is_done(), p.done);
        }
    }
});

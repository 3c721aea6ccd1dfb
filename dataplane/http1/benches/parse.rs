//! Request-head parse + upstream head write for a typical browser request,
//! with reused buffers (the proxy's steady state).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shardgate_http1::{
    Limits, ParseStatus, RequestHead, Scheme, UpstreamRequest, write_upstream_request,
};

const BROWSER_REQUEST: &[u8] = b"GET /app/assets/main.css?v=3f2a9c HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"130\", \"Google Chrome\";v=\"130\", \"Not?A_Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Accept: text/css,*/*;q=0.1\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: no-cors\r\n\
Sec-Fetch-Dest: style\r\n\
Referer: https://www.example.com/app/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=2b7e151628aed2a6abf7158809cf4f3c; theme=dark; _ga=GA1.1.123456789.1700000000\r\n\
\r\n";

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let mut head = RequestHead::new();
    let mut out = Vec::with_capacity(4096);
    let opts = UpstreamRequest::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)), Scheme::Https);

    let mut g = c.benchmark_group("http1");
    g.throughput(Throughput::Bytes(BROWSER_REQUEST.len() as u64));
    g.bench_function("parse_request_head", |b| {
        b.iter(|| {
            let r = head.parse(black_box(BROWSER_REQUEST), &limits);
            assert_eq!(r, Ok(ParseStatus::Complete));
            black_box(head.head_len())
        })
    });
    // Reference point: httparse alone (no validation beyond its own).
    g.bench_function("httparse_baseline", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 100];
            let mut req = httparse::Request::new(&mut headers);
            let r = req.parse(black_box(BROWSER_REQUEST));
            assert!(matches!(r, Ok(httparse::Status::Complete(_))));
            black_box(req.headers.len())
        })
    });
    g.bench_function("parse_and_write_upstream_head", |b| {
        b.iter(|| {
            let r = head.parse(black_box(BROWSER_REQUEST), &limits);
            assert_eq!(r, Ok(ParseStatus::Complete));
            out.clear();
            let w = write_upstream_request(&head, BROWSER_REQUEST, &opts, &mut out);
            assert!(w.is_ok());
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

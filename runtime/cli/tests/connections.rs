//! Connection handling through the real binary: keep-alive on both sides,
//! chunked bodies, pipelining, and HTTP/1.1 framing hardening.

mod support;

use std::time::Duration;
use support::http::{Client, PatternCheck};
use support::yaml::{docs, route, service};
use support::{Echo, Env, Gateway, Rule};

/// A gateway routing every host and path to one echo backend `pod`.
fn single_backend(pod: &str) -> (Echo, Gateway) {
    let env = Env::new();
    let echo = env.echo(pod);
    env.write("services.yaml", &service(pod, &[echo.addr]));
    env.write(
        "routes.yaml",
        &docs(&[route("all", &[], &[Rule::to(pod).prefix("/")])]),
    );
    let gw = Gateway::start_up(env, "any.test", "/");
    (echo, gw)
}

#[test]
fn keep_alive_reuses_connections_on_both_sides() {
    let (_echo, gw) = single_backend("ka");
    const N: usize = 50;
    let before = gw.metrics();
    let mut c = Client::connect(gw.addr()).expect("connecting");
    for i in 0..N {
        let r = c
            .get("ka.test", &format!("/ka/{i}"))
            .unwrap_or_else(|e| panic!("request {i}: {e}\n{}", gw.logs()));
        assert_eq!(r.status(), 200, "request {i}");
        assert!(!r.head.closes(), "request {i} closed the connection");
        assert_eq!(r.json()["path"], format!("/ka/{i}"));
    }
    let after = gw.metrics();
    let delta = |k: &str| after.get(k) - before.get(k);
    assert_eq!(
        delta("shardgate_connections_accepted_total"),
        1.0,
        "one client connection for {N} requests:\n{}",
        after.text
    );
    let connects = delta("shardgate_upstream_connects_total");
    let reused = delta("shardgate_upstream_reused_total");
    assert!(
        connects <= 2.0,
        "{connects} upstream connections opened for {N} sequential requests"
    );
    assert!(
        reused >= (N - 2) as f64,
        "only {reused} of {N} requests reused a pooled upstream connection"
    );
    drop(c);
}

#[test]
fn chunked_bodies_and_pipelining() {
    let (echo, gw) = single_backend("chunky");

    // A chunked request body, sent in several writes, is forwarded whole.
    let mut c = Client::connect(gw.addr()).expect("connecting");
    c.send(b"POST /upload HTTP/1.1\r\nHost: chunky.test\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n")
        .expect("head");
    c.send(b"5\r\nhello\r\n").expect("chunk 1");
    let mut big = format!("{:x}\r\n", 10_000).into_bytes();
    big.extend(std::iter::repeat_n(b'x', 10_000));
    big.extend_from_slice(b"\r\n");
    c.send(&big).expect("chunk 2");
    c.send(b"3\r\nabc\r\n0\r\n\r\n").expect("last chunk");
    let r = c.read_response().expect("response to a chunked upload");
    assert_eq!(r.status(), 200, "{}", r.text());
    assert_eq!(r.header("x-echo-body-length"), Some("10008"));
    let j = r.json();
    assert_eq!(j["method"], "POST");
    assert_eq!(j["path"], "/upload");

    // A chunked response is relayed chunked and intact; the connection
    // stays usable.
    c.send(b"GET /chunked/100000 HTTP/1.1\r\nHost: chunky.test\r\n\r\n")
        .expect("request");
    let head = c.read_head().expect("chunked response head");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("transfer-encoding")
            .map(str::to_ascii_lowercase),
        Some("chunked".into())
    );
    assert_eq!(head.header("content-length"), None);
    let mut check = PatternCheck::default();
    let n = c
        .read_body(&head, false, |b| check.feed(b))
        .expect("chunked body");
    assert_eq!((n, check.seen, check.mismatches), (100_000, 100_000, 0));
    let r = c
        .get("chunky.test", "/after-chunked")
        .expect("next request");
    assert_eq!(r.json()["path"], "/after-chunked");

    // Three pipelined requests in one write (one with a body) are answered
    // in order.
    let pipelined = "GET /pipe/1 HTTP/1.1\r\nHost: chunky.test\r\n\r\n\
                     POST /pipe/2?x=y HTTP/1.1\r\nHost: chunky.test\r\nContent-Length: 5\r\n\r\nhello\
                     GET /pipe/3 HTTP/1.1\r\nHost: chunky.test\r\n\r\n";
    let mut p = Client::connect(gw.addr()).expect("connecting");
    p.send(pipelined.as_bytes()).expect("pipelined write");
    for (path, body_len) in [("/pipe/1", "0"), ("/pipe/2?x=y", "5"), ("/pipe/3", "0")] {
        let r = p
            .read_response()
            .unwrap_or_else(|e| panic!("response for {path}: {e}\n{}", gw.logs()));
        assert_eq!(r.status(), 200, "{path}: {}", r.text());
        assert_eq!(r.json()["path"], path, "responses out of order");
        assert_eq!(r.header("x-echo-body-length"), Some(body_len), "{path}");
    }
    assert!(p.unread().is_empty(), "extra bytes after three responses");
    assert!(echo.wait_received("/pipe/3", Duration::from_secs(5)));
    for path in ["/pipe/1", "/pipe/2?x=y", "/pipe/3"] {
        assert_eq!(echo.received_count(path), 1, "{path} reached the backend");
    }
}

#[test]
fn framing_attacks_are_refused_before_the_backend() {
    let (echo, gw) = single_backend("strict");
    let before = gw.metrics();

    // Content-Length and Transfer-Encoding together: request smuggling.
    let mut c = Client::connect(gw.addr()).expect("connecting");
    let r = c
        .request(
            "POST /smuggle HTTP/1.1\r\nHost: strict.test\r\nContent-Length: 6\r\n\
             Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: strict.test\r\n\r\n",
        )
        .expect("an answer to CL+TE");
    assert_eq!(r.status(), 400, "{}", r.text());
    assert!(
        r.head.closes(),
        "a 400 for bad framing says Connection: close"
    );
    assert!(
        c.closed_within(Duration::from_secs(5)),
        "the proxy kept a connection with ambiguous framing open"
    );

    // No Host field.
    let mut c = Client::connect(gw.addr()).expect("connecting");
    let r = c
        .request("GET /nohost HTTP/1.1\r\nUser-Agent: e2e\r\n\r\n")
        .expect("an answer without Host");
    assert_eq!(r.status(), 400, "{}", r.text());
    assert!(
        c.closed_within(Duration::from_secs(5)),
        "connection left open"
    );

    // Two Host fields.
    let mut c = Client::connect(gw.addr()).expect("connecting");
    let r = c
        .request("GET /twohosts HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n")
        .expect("an answer with two Hosts");
    assert_eq!(r.status(), 400, "{}", r.text());

    // A good request afterwards reaches the backend; by then the bad ones
    // would have too, had they been forwarded.
    let mut c = Client::connect(gw.addr()).expect("connecting");
    let r = c.get("strict.test", "/marker").expect("good request");
    assert_eq!(r.status(), 200);
    assert!(echo.wait_received("/marker", Duration::from_secs(5)));
    let seen = echo.received();
    for bad in ["/smuggle", "/smuggled", "/nohost", "/twohosts"] {
        assert!(
            !seen.iter().any(|t| t == bad),
            "{bad} reached the backend: {seen:?}"
        );
    }
    let after = gw.metrics();
    assert_eq!(after.local(400) - before.local(400), 3.0, "{}", after.text);
}

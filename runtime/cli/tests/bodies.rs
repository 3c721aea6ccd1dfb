//! 100 MB bodies in both directions stream through the data plane without
//! being held in memory. The planes run as separate processes so that the
//! data plane's pid (and its RSS) is known.

mod support;

use support::http::{Client, PatternCheck, Response};
use support::procs::status_kib;
use support::yaml::{route, service};
use support::{Env, Gateway, Rule};

const SIZE: u64 = 100 * 1024 * 1024;
const PIECE: usize = 64 * 1024;
/// Allowed growth of the data plane's peak RSS over its RSS before the
/// transfers.
const MAX_GROWTH_KIB: u64 = 64 * 1024;

fn piece() -> Vec<u8> {
    (0..PIECE).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Upload `SIZE` bytes, with Content-Length or chunked, in `PIECE` writes.
fn upload(gw: &Gateway, chunked: bool) -> Response {
    let mut c = Client::connect(gw.addr()).expect("connecting");
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {SIZE}")
    };
    c.send(format!("PUT /upload HTTP/1.1\r\nHost: big.test\r\n{framing}\r\n\r\n").as_bytes())
        .expect("request head");
    let data = piece();
    let mut chunk = format!("{PIECE:x}\r\n").into_bytes();
    chunk.extend_from_slice(&data);
    chunk.extend_from_slice(b"\r\n");
    let pieces = SIZE / PIECE as u64;
    for i in 0..pieces {
        let r = if chunked {
            c.send(&chunk)
        } else {
            c.send(&data)
        };
        r.unwrap_or_else(|e| panic!("upload piece {i} of {pieces}: {e}\n{}", gw.logs()));
    }
    if chunked {
        c.send(b"0\r\n\r\n").expect("last chunk");
    }
    c.read_response()
        .unwrap_or_else(|e| panic!("response to the upload: {e}\n{}", gw.logs()))
}

/// Download `SIZE` bytes from the echo hook at `path`, checking every byte.
fn download(gw: &Gateway, path: &str) -> (support::http::Head, u64) {
    let mut c = Client::connect(gw.addr()).expect("connecting");
    c.send(format!("GET {path} HTTP/1.1\r\nHost: big.test\r\n\r\n").as_bytes())
        .expect("request");
    let head = c.read_head().expect("response head");
    assert_eq!(head.status, 200, "{path}");
    let mut check = PatternCheck::default();
    let n = c
        .read_body(&head, false, |b| check.feed(b))
        .unwrap_or_else(|e| panic!("body of {path}: {e}\n{}", gw.logs()));
    assert_eq!(check.mismatches, 0, "{path}: corrupted body bytes");
    assert_eq!(check.seen, n);
    (head, n)
}

#[test]
fn hundred_megabyte_bodies_stream_in_bounded_memory() {
    let env = Env::new();
    let echo = env.echo("big");
    env.write("services.yaml", &service("big", &[echo.addr]));
    env.write(
        "routes.yaml",
        &route("big", &["big.test"], &[Rule::to("big")]),
    );
    let gw = Gateway::start_split(env, "big.test", "/");
    let pid = gw.dataplane_pid();
    // Warm both shards' buffers and pools.
    for i in 0..8 {
        let r = support::http::get(gw.addr(), "big.test", &format!("/warm/{i}")).expect("warm-up");
        assert_eq!(r.status(), 200);
    }
    // Reset the peak-RSS mark where the kernel allows it, so VmHWM covers
    // the transfers only.
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let rss_before = status_kib(pid, "VmRSS").expect("VmRSS of the data plane");

    let r = upload(&gw, false);
    assert_eq!(r.status(), 200, "{}", r.text());
    assert_eq!(
        r.header("x-echo-body-length"),
        Some(SIZE.to_string().as_str())
    );
    let r = upload(&gw, true);
    assert_eq!(r.status(), 200, "{}", r.text());
    assert_eq!(
        r.header("x-echo-body-length"),
        Some(SIZE.to_string().as_str())
    );

    let (head, n) = download(&gw, &format!("/bytes/{SIZE}"));
    assert_eq!(n, SIZE);
    assert_eq!(
        head.header("content-length"),
        Some(SIZE.to_string().as_str())
    );
    let (head, n) = download(&gw, &format!("/chunked/{SIZE}"));
    assert_eq!(n, SIZE);
    assert_eq!(
        head.header("transfer-encoding")
            .map(str::to_ascii_lowercase),
        Some("chunked".into())
    );

    let peak = status_kib(pid, "VmHWM").expect("VmHWM of the data plane");
    let rss_after = status_kib(pid, "VmRSS").expect("VmRSS of the data plane");
    let growth = peak.saturating_sub(rss_before);
    eprintln!(
        "data plane memory: RSS {rss_before} KiB before, peak {peak} KiB, \
         {rss_after} KiB after; growth {growth} KiB"
    );
    assert!(
        growth < MAX_GROWTH_KIB,
        "data plane peak RSS grew by {growth} KiB (RSS {rss_before} KiB before, \
         peak {peak} KiB, now {rss_after} KiB) moving 4 × {SIZE} bytes"
    );
    // The data plane counted the four exchanges as successes.
    let m = gw.dp_metrics();
    let ok: f64 = m
        .values
        .iter()
        .filter(|(k, _)| k.starts_with("shardgate_requests_total{") && k.contains("class=\"2xx\""))
        .map(|(_, v)| v)
        .sum();
    assert!(ok >= 12.0, "2xx requests counted: {ok}\n{}", m.text);
}

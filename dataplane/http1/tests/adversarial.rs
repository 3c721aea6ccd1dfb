//! Replays the shared hostile-vector corpus (`shared/adversarial/http1.yaml`)
//! through the parser, the way a proxy would: parse a head, write the
//! upstream head, skip the body by the framing decision, parse the next
//! pipelined head, and so on. The parser-level outcome must be one of the
//! vector's `expect.allowed` outcomes (with a status from `expect.status`
//! when rejecting).
//!
//! The corpus is read at test time and never copied into this repository.
//! Vectors whose expected outcome is produced by the proxy outside the parser
//! are listed in `PROXY_LEVEL` with what the parser must guarantee for them;
//! those guarantees are asserted here, the rest is for the proxy tests.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use shardgate_http1::{
    BodyKind, ChunkedDecoder, Limits, ParseStatus, RequestHead, Scheme, UpstreamRequest,
    write_upstream_request,
};

#[derive(Deserialize)]
struct Corpus {
    vector_count: usize,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    id: String,
    raw: Option<String>,
    raw_prefix: Option<String>,
    repeat: Option<Repeat>,
    raw_suffix: Option<String>,
    raw_len: usize,
    sha256: String,
    expect: Expect,
}

#[derive(Deserialize)]
struct Repeat {
    unit: String,
    count: usize,
}

#[derive(Deserialize)]
struct Expect {
    allowed: Vec<String>,
    #[serde(default)]
    status: Vec<u16>,
    backend_requests_max: Option<usize>,
}

/// Vectors whose `expect` is decided by proxy behaviour beyond parsing, and
/// what the parser itself must deliver so the proxy can meet it.
const PROXY_LEVEL: &[(&str, &str)] = &[
    (
        "absolute-form-other-host",
        "routing: the parser forwards with effective host other.test (absolute-form wins \
         over Host); the router finds no route and the proxy answers 404",
    ),
    (
        "upgrade-without-101",
        "routing: Upgrade is dropped upstream, and the bytes after the first request are \
         parsed as a second request GET /smuggled that no route matches (404 by the proxy)",
    ),
];

fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("corpus strings are latin-1"))
        .collect()
}

fn build(v: &Vector) -> Vec<u8> {
    let bytes = match &v.raw {
        Some(raw) => latin1(raw),
        None => {
            let mut b = latin1(v.raw_prefix.as_deref().unwrap_or(""));
            if let Some(r) = &v.repeat {
                let unit = latin1(&r.unit);
                for _ in 0..r.count {
                    b.extend_from_slice(&unit);
                }
            }
            b.extend_from_slice(&latin1(v.raw_suffix.as_deref().unwrap_or("")));
            b
        }
    };
    assert_eq!(bytes.len(), v.raw_len, "{}: raw_len", v.id);
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, v.sha256, "{}: sha256", v.id);
    bytes
}

/// One request that the proxy would forward completely.
struct Forwarded {
    path: Vec<u8>,
    host: Option<Vec<u8>>,
    upstream_head: Vec<u8>,
    x_user: Option<Vec<u8>>,
}

#[derive(Debug, PartialEq)]
enum End {
    /// All bytes consumed by complete requests.
    Clean,
    /// The last request said close; these bytes were never parsed.
    ClosedAfter { unparsed: usize },
    /// A head or body error: answer `status` and close.
    Rejected { status: u16 },
    /// The input ended inside a head or a body.
    Incomplete,
}

fn simulate(bytes: &[u8]) -> (Vec<Forwarded>, End) {
    let limits = Limits::default();
    let mut head = RequestHead::new();
    let mut forwarded = Vec::new();
    let mut pos = 0;
    let opts = UpstreamRequest::new(IpAddr::V4(Ipv4Addr::LOCALHOST), Scheme::Http);
    loop {
        if pos == bytes.len() {
            return (forwarded, End::Clean);
        }
        let buf = &bytes[pos..];
        match head.parse(buf, &limits) {
            Ok(ParseStatus::Partial) => return (forwarded, End::Incomplete),
            Err(e) => return (forwarded, End::Rejected { status: e.status() }),
            Ok(ParseStatus::Complete) => {}
        }
        let mut upstream_head = Vec::new();
        write_upstream_request(&head, buf, &opts, &mut upstream_head).expect("no modifiers");
        let mut used = head.head_len();
        match head.body() {
            BodyKind::None => {}
            BodyKind::Length(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if buf.len() - used < n {
                    return (forwarded, End::Incomplete);
                }
                used += n;
            }
            BodyKind::Chunked => {
                let mut dec = ChunkedDecoder::new();
                match dec.feed(&buf[used..]) {
                    Err(e) => return (forwarded, End::Rejected { status: e.status() }),
                    Ok(p) if !p.done => return (forwarded, End::Incomplete),
                    Ok(p) => used += p.consumed,
                }
            }
        }
        forwarded.push(Forwarded {
            path: head.path(buf).to_vec(),
            host: head.host(buf).map(<[u8]>::to_vec),
            upstream_head,
            x_user: head.header(buf, "x-user").map(<[u8]>::to_vec),
        });
        pos += used;
        if !head.keep_alive() {
            return (
                forwarded,
                End::ClosedAfter {
                    unparsed: bytes.len() - pos,
                },
            );
        }
    }
}

/// Global invariants of the corpus on every forwarded head: one framing
/// header at most, CRLF only, no NUL, no obs-fold, no space before colon.
fn check_upstream_head(id: &str, h: &[u8]) {
    let text = String::from_utf8_lossy(h);
    for (i, &b) in h.iter().enumerate() {
        assert_ne!(b, 0, "{id}: NUL forwarded");
        if b == b'\n' {
            assert!(
                i > 0 && h[i - 1] == b'\r',
                "{id}: bare LF forwarded: {text}"
            );
        }
        if b == b'\r' {
            assert_eq!(
                h.get(i + 1),
                Some(&b'\n'),
                "{id}: bare CR forwarded: {text}"
            );
        }
    }
    let mut cl = 0;
    let mut te = 0;
    for line in text.split("\r\n").skip(1).take_while(|l| !l.is_empty()) {
        assert!(!line.starts_with([' ', '\t']), "{id}: obs-fold forwarded");
        let (name, _) = line.split_once(':').expect("field line has a colon");
        assert!(
            !name.ends_with([' ', '\t']),
            "{id}: whitespace before colon forwarded"
        );
        let lower = name.to_ascii_lowercase();
        cl += usize::from(lower == "content-length");
        te += usize::from(lower == "transfer-encoding");
        assert_ne!(lower, "upgrade", "{id}: Upgrade forwarded without opt-in");
    }
    assert!(cl + te <= 1, "{id}: more than one framing header: {text}");
}

/// Outcome names (from the corpus vocabulary) this parser-level run meets.
fn outcomes(end: &End, complete: usize) -> Vec<&'static str> {
    match end {
        End::Rejected { .. } if complete == 0 => vec!["reject", "reject_close", "drop_close"],
        End::Rejected { .. } => vec!["forward_then_close"],
        End::Clean => vec!["forward", "forward_normalised"],
        End::ClosedAfter { unparsed: 0 } => vec![
            "forward",
            "forward_normalised",
            "forward_then_close",
            "forward_normalised_close",
        ],
        End::ClosedAfter { .. } => vec!["forward_then_close", "forward_normalised_close"],
        End::Incomplete => vec!["incomplete", "drop_close"],
    }
}

#[test]
fn adversarial_corpus() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/adversarial/http1.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!(
            "adversarial corpus not found at {}, skipped",
            path.display()
        );
        return;
    };
    let corpus: Corpus = serde_saphyr::from_str(&text).expect("corpus parses");
    assert_eq!(corpus.vectors.len(), corpus.vector_count, "vector_count");
    let proxy_level: BTreeMap<&str, &str> = PROXY_LEVEL.iter().copied().collect();
    let mut failures = Vec::new();
    let mut passed = 0;
    for v in &corpus.vectors {
        let bytes = build(v);
        let (fwd, end) = simulate(&bytes);
        for f in &fwd {
            check_upstream_head(&v.id, &f.upstream_head);
        }
        if let Some(why) = proxy_level.get(v.id.as_str()) {
            let ok = match v.id.as_str() {
                "absolute-form-other-host" => {
                    end == End::Clean
                        && fwd.len() == 1
                        && fwd[0].host.as_deref() == Some(&b"other.test"[..])
                        && fwd[0]
                            .upstream_head
                            .starts_with(b"GET /app/ HTTP/1.1\r\nHost: other.test\r\n")
                }
                "upgrade-without-101" => {
                    end == End::Clean
                        && fwd.len() == 2
                        && fwd[0].path == b"/app/ws"
                        && fwd[1].path == b"/smuggled"
                }
                other => panic!("PROXY_LEVEL entry {other} has no parser-level check"),
            };
            println!(
                "{}: proxy-level ({why}); parser part {}",
                v.id,
                if ok { "ok" } else { "FAILED" }
            );
            if ok {
                passed += 1;
            } else {
                failures.push(format!(
                    "{}: parser part of proxy-level vector: {end:?}",
                    v.id
                ));
            }
            continue;
        }
        // Nothing routes /smuggled: it may only ever appear as body bytes.
        if fwd.iter().any(|f| f.path == b"/smuggled") {
            failures.push(format!("{}: parsed /smuggled as a request", v.id));
            continue;
        }
        if v.id == "obs-text-not-whitespace" {
            // Must not match an exact `X-User: admin` header rule.
            let x = fwd.first().and_then(|f| f.x_user.clone());
            if x.as_deref() != Some(&b"\x85admin\xa0"[..]) {
                failures.push(format!("{}: X-User value altered: {x:?}", v.id));
                continue;
            }
        }
        let met = outcomes(&end, fwd.len());
        let allowed_hit = v.expect.allowed.iter().any(|a| met.contains(&a.as_str()));
        let status_ok = match end {
            End::Rejected { status } => v.expect.status.contains(&status),
            _ => true,
        };
        let count_ok = v.expect.backend_requests_max.is_none_or(|m| fwd.len() <= m);
        println!(
            "{}: {end:?}, {} forwarded; allowed {:?}",
            v.id,
            fwd.len(),
            v.expect.allowed
        );
        if allowed_hit && status_ok && count_ok {
            passed += 1;
        } else {
            failures.push(format!(
                "{}: got {end:?} with {} forwarded (meets {met:?}); expected one of {:?} status {:?} max {:?}",
                v.id,
                fwd.len(),
                v.expect.allowed,
                v.expect.status,
                v.expect.backend_requests_max
            ));
        }
    }
    println!("{passed} passed, {} failed", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

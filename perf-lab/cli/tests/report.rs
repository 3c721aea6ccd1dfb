//! `shardgate-lab report` end to end: real `bench` results against the
//! real `fixed-server`, the page and summary they give, and a screenshot of
//! the page in headless Chromium.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const LAB: &str = env!("CARGO_BIN_EXE_shardgate-lab");

/// Kills the child on drop so a failed assertion leaves nothing running.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn lab(args: &[&str]) -> Output {
    Command::new(LAB)
        .args(args)
        .output()
        .expect("run shardgate-lab")
}

fn ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Result files from one real short run, shared by the tests: a closed-loop
/// and an open-loop bench against fixed-server, and a compare-shaped file
/// built from those two real reports (as if they were two proxies), so the
/// side-by-side charts are drawn without needing nginx and haproxy.
struct Results {
    dir: tempfile::TempDir,
    files: Vec<PathBuf>,
}

fn results() -> &'static Results {
    static R: OnceLock<Results> = OnceLock::new();
    R.get_or_init(|| {
        let port = free_port();
        let server = Command::new(LAB)
            .args(["fixed-server", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .spawn()
            .expect("start fixed-server");
        let _server = Guard(server);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "fixed-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("http://127.0.0.1:{port}/");
        let closed = dir.path().join("closed-loop.json");
        let open = dir.path().join("open-loop.json");
        for (file, extra) in [(&closed, &[][..]), (&open, &["--rate", "500"][..])] {
            let mut args = vec![
                "bench",
                "--url",
                &url,
                "--connections",
                "4",
                "--duration",
                "1s",
                "--warmup",
                "200ms",
                "--json",
            ];
            let f = file.to_str().expect("utf-8 path");
            args.push(f);
            args.extend_from_slice(extra);
            ok(&lab(&args), "bench");
        }
        let compare = dir.path().join("small").join("compare.json");
        std::fs::create_dir_all(compare.parent().expect("parent")).expect("mkdir");
        std::fs::write(&compare, compare_json(&closed, &open)).expect("write compare.json");
        Results {
            files: vec![closed, open, compare],
            dir,
        }
    })
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).expect("read result")).expect("valid json")
}

/// A `compare.json` whose two "proxies" are the two real bench reports.
fn compare_json(a: &Path, b: &Path) -> String {
    let (ra, rb) = (read_json(a), read_json(b));
    let rps = |v: &serde_json::Value| v["requests_per_second"].as_f64().expect("rps");
    let spread = |v: f64| serde_json::json!({"median": v, "min": v * 0.9, "max": v * 1.1, "n": 2, "spread_pct": 10.0});
    let ratio = rps(&ra) / rps(&rb);
    serde_json::json!({
        "kind": "compare",
        "scenario": "small-get-keepalive",
        "plan": {"proxy": [0], "generator": [1], "backend": [1]},
        "rounds": 1,
        "duration_seconds": 1.0,
        "warmup_seconds": 0.2,
        "connections": 4,
        "backend": "shardgate-lab fixed-server",
        "order": ["shardgate", "nginx"],
        "baseline": ra.clone(),
        "runs": [
            {"proxy": "shardgate", "round": 1, "passed": true, "error": null, "report": ra},
            {"proxy": "nginx", "round": 1, "passed": true, "error": null, "report": rb},
            {"proxy": "nginx", "round": 2, "passed": false, "error": "nginx <exited> & \"gone\"", "report": null}
        ],
        "medians": {
            "shardgate": {"requests_per_second": spread(rps(&ra)), "proxy_cpu_us_per_request": spread(12.0)},
            "nginx": {"requests_per_second": spread(rps(&rb)), "proxy_cpu_us_per_request": spread(15.0)}
        },
        "ratios": {"nginx": {"requests_per_second": spread(ratio), "proxy_cpu_us_per_request": spread(0.8)}},
        "load_start": 0.5,
        "load_end": 0.6,
        "passed": 2,
        "failed": 1
    })
    .to_string()
}

fn report(out: &Path) -> (String, String) {
    let r = results();
    let mut args: Vec<&str> = vec!["report"];
    args.extend(r.files.iter().map(|p| p.to_str().expect("utf-8 path")));
    args.extend(["--out", out.to_str().expect("utf-8 path")]);
    ok(&lab(&args), "report");
    let html = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    let md = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    (html, md)
}

#[test]
fn bench_results_say_their_kind_and_carry_a_spectrum() {
    let v = read_json(&results().files[0]);
    assert_eq!(v["kind"], "bench");
    let s = v["latency_us"]["spectrum"].as_array().expect("spectrum");
    assert_eq!(s.len(), 101);
    assert_eq!(s[100]["percentile"], 99.999);
}

#[test]
fn report_writes_a_self_contained_page_with_the_charts() {
    let out = results().dir.path().join("report-page");
    let (html, md) = report(&out);
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Charts: the compare's CDF, req/s and CPU bars, and the bench CDF.
    assert!(html.matches("<svg").count() >= 5, "too few charts");
    for needle in [
        "small-get-keepalive: latency by percentile",
        "req/s by scenario and proxy",
        "proxy CPU µs/req by scenario and proxy",
        "bench runs: latency by percentile",
        "bench runs: successful requests per second of the window",
        ">99.999%<",
        "closed-loop.json",
        "open loop at 500 req/s",
        "Ratios shardgate / peer",
    ] {
        assert!(html.contains(needle), "page lacks {needle:?}");
    }
    // The failed run's error is shown, escaped.
    assert!(html.contains("nginx &lt;exited&gt; &amp; &quot;gone&quot;"));
    assert!(!html.contains("<exited>"));
    // Self-contained: no scripts, nothing fetched.
    assert!(!html.to_ascii_lowercase().contains("<script"));
    for attr in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(attr), "external reference {attr}");
    }
    assert!(md.contains("| figure | shardgate | nginx |"), "{md}");
    assert!(md.contains("## Ratios shardgate / peer"), "{md}");
    assert!(md.contains("| closed-loop.json |"), "{md}");
    assert!(
        md.contains("Generator ceiling on this plan (no proxy)"),
        "{md}"
    );
}

#[test]
fn unknown_and_missing_kinds_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let weird = dir.path().join("weird.json");
    std::fs::write(&weird, r#"{"kind": "horoscope"}"#).expect("write");
    let out = dir.path().join("out");
    let o = lab(&[
        "report",
        weird.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("weird.json") && err.contains("\"horoscope\""),
        "{err}"
    );
    assert!(!out.join("index.html").exists(), "no page from bad input");
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

#[test]
fn page_renders_in_headless_chromium() {
    let browser = chromium().unwrap_or_else(|| {
        panic!(
            "this test needs Chromium to screenshot the report: install it with \
             `apt-get install -y chromium` (Debian; CI's .ci/run installs it)"
        )
    });
    let out = results().dir.path().join("report-shot");
    report(&out);
    let page = out.join("index.html");
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().expect("profile dir");
    let o = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2000")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        shot.is_file(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    println!("screenshot: {}", shot.display());
    let bytes = std::fs::read(&shot).expect("read screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    assert_eq!((info.width, info.height), (1280, 2000));
    let channels = info.color_type.samples();
    assert!(channels >= 3, "expected RGB(A), got {:?}", info.color_type);
    let pixels: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let mut distinct = pixels.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() > 50,
        "a near-blank picture: {} colours",
        distinct.len()
    );
    // The bars are solid fills in the proxies' colours: shardgate's blue
    // (#0072B2) and nginx's green (#009E73) must both be on screen.
    for (name, rgb) in [
        ("shardgate", [0x00, 0x72, 0xB2]),
        ("nginx", [0x00, 0x9E, 0x73]),
    ] {
        let n = pixels.iter().filter(|p| **p == rgb).count();
        assert!(n > 500, "{name}'s bar colour covers only {n} pixels");
    }
}

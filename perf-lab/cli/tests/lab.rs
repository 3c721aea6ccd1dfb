//! The shardgate-lab binary end to end: `bench` against `fixed-server`, and
//! `compare` against the real proxies when they are installed.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "fixed-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn num(v: &serde_json::Value, path: &[&str]) -> f64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path:?} is not a number in {v}"))
}

#[test]
fn bench_against_fixed_server_writes_sane_json() {
    let port = free_port();
    let server = Command::new(LAB)
        .args(["fixed-server", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .spawn()
        .expect("start fixed-server");
    let server = Guard(server);
    wait_listening(port);
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("bench.json");
    let out = Command::new(LAB)
        .args([
            "bench",
            "--url",
            &format!("http://127.0.0.1:{port}/hello"),
            "--connections",
            "4",
            "--duration",
            "2s",
            "--warmup",
            "500ms",
            "--sut-pid",
            &server.0.id().to_string(),
            "--json",
        ])
        .arg(&json)
        .output()
        .expect("run bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("p99.9 µs"), "no table in {stdout}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid json");
    let requests = num(&v, &["requests"]);
    assert!(requests > 0.0, "no requests: {v}");
    assert_eq!(num(&v, &["errors_total"]), 0.0, "{v}");
    let (p50, p90, p99, p999, max) = (
        num(&v, &["latency_us", "p50"]),
        num(&v, &["latency_us", "p90"]),
        num(&v, &["latency_us", "p99"]),
        num(&v, &["latency_us", "p999"]),
        num(&v, &["latency_us", "max"]),
    );
    assert!(
        0.0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max,
        "percentiles out of order: {}",
        v["latency_us"]
    );
    let timeline: f64 = v["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|s| num(s, &["requests"]))
        .sum();
    assert_eq!(timeline, requests, "the timeline must add up to the count");
    assert!(
        v["sut_cpu"]["pids"]
            .as_array()
            .is_some_and(|p| p.len() == 1)
    );
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The shardgate binary cargo built beside this package's binary.
fn shardgate_binary() -> Option<PathBuf> {
    let lab = Path::new(LAB);
    let p = lab.parent()?.join("shardgate");
    p.is_file().then_some(p)
}

#[test]
fn compare_small_get_keepalive_runs_end_to_end() {
    for tool in ["nginx", "haproxy", "taskset"] {
        if which(tool).is_none() {
            println!("SKIPPED compare test: `{tool}` is not installed (CI installs it)");
            return;
        }
    }
    let Some(shardgate) = shardgate_binary() else {
        println!(
            "SKIPPED compare test: the shardgate binary is not built next to {LAB} \
             (run `cargo build -p shardgate` first; `cargo test --workspace` builds it)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(LAB)
        .args([
            "compare",
            "--scenario",
            "small-get-keepalive",
            "--rounds",
            "1",
            "--duration",
            "2s",
            "--warmup",
            "500ms",
            "--shardgate",
        ])
        .arg(&shardgate)
        .arg("--out")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start compare");
    let mut stdout = String::new();
    if let Some(mut s) = child.stdout.take() {
        s.read_to_string(&mut stdout).expect("read stdout");
    }
    let status = child.wait().expect("compare exits");
    let mut stderr = String::new();
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut stderr);
    }
    assert!(status.success(), "compare failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.trim_end().ends_with("3 passed, 0 failed"),
        "last line must be the tally:\n{stdout}"
    );
    assert!(stdout.contains("ratio shardgate/peer"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("compare.json")).expect("compare.json"),
    )
    .expect("valid json");
    for peer in ["nginx", "haproxy"] {
        let r = num(&v, &["ratios", peer, "requests_per_second", "median"]);
        assert!(r > 0.0 && r.is_finite(), "{peer} ratio {r}");
    }
    for proxy in ["shardgate", "nginx", "haproxy"] {
        assert!(
            num(
                &v,
                &["medians", proxy, "proxy_cpu_us_per_request", "median"]
            ) > 0.0,
            "{proxy} has no CPU figure"
        );
        assert!(
            dir.path().join(proxy).is_dir(),
            "{proxy} config dir missing"
        );
    }
}

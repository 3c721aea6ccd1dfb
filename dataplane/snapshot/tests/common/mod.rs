//! Helpers shared by the integration tests: scratch directories, snapshot
//! builders, and running a test of this binary as a child process.
#![allow(dead_code)] // each test binary uses a different subset

use shardgate_ir::{
    Action, BackendTarget, Cluster, Endpoint, HostMatch, Listener, PathMatch, Protocol, Route,
    RouteMatch, Snapshot, Timeouts, VirtualHost, WeightedBackend,
};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A scratch directory (under /dev/shm when it exists), removed on drop.
pub struct TestDir(PathBuf);

impl TestDir {
    pub fn new() -> TestDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!(
            "sg-snapshot-it-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        TestDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Names of the files in the directory, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("read scratch dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A valid snapshot of `generation` with `clusters` clusters of
/// `endpoints` endpoints each, every one referenced by a route.
pub fn snapshot(generation: u64, clusters: usize, endpoints: usize) -> Snapshot {
    let clusters: Vec<Cluster> = (0..clusters.max(1))
        .map(|c| {
            let eps = (0..endpoints)
                .map(|e| Endpoint {
                    addr: SocketAddr::from((
                        Ipv4Addr::from(0x0a00_0000_u32 + (c * endpoints + e) as u32),
                        8080,
                    )),
                })
                .collect();
            Cluster::new(format!("ns-{}/svc-{c}:8080", generation % 7), eps)
        })
        .collect();
    let routes = (0..clusters.len())
        .map(|c| Route {
            name: format!("default/route-{c}/rule/0"),
            matches: vec![RouteMatch {
                path: PathMatch::Prefix(format!("/svc-{c}")),
                headers: vec![],
                query_params: vec![],
                method: None,
            }],
            filters: vec![],
            action: Action::Forward(vec![WeightedBackend {
                weight: 1,
                target: BackendTarget::Cluster(c as u32),
                filters: Vec::new(),
            }]),
            timeouts: Timeouts::default(),
        })
        .collect();
    Snapshot {
        generation,
        listeners: vec![Listener {
            name: "0.0.0.0:8080".into(),
            address: "0.0.0.0".parse().expect("literal"),
            port: 8080,
            protocol: Protocol::Http,
            tls: None,
            virtual_hosts: vec![VirtualHost {
                name: "default/gw/http".into(),
                hostnames: vec![HostMatch::Exact(format!("gen-{generation}.example.com"))],
                routes,
            }],
        }],
        clusters,
    }
}

/// `shardgate_ir::encode` of a small snapshot.
pub fn small(generation: u64) -> Vec<u8> {
    shardgate_ir::encode(&snapshot(generation, 2, 2))
}

/// Retry `f` until it returns `Some`, for at most `limit` (a safety net
/// against hangs, not a timing assertion).
pub fn eventually<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run the ignored test `name` of this test binary as a child process with
/// `env`, stdin and stdout piped.
pub fn spawn_child_test(name: &str, env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("current test binary");
    let mut cmd = Command::new(exe);
    cmd.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child test process")
}

/// Read the child's stdout until a line containing `marker` and return the
/// rest of that line. The harness prints `test NAME ... ` without a newline
/// before the test body runs, so the marker may not start the line.
pub fn read_marker(child: &mut Child, marker: &str) -> String {
    let out = child.stdout.take().expect("child stdout is piped");
    let mut lines = BufReader::new(out).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("child output");
        if let Some(at) = line.find(marker) {
            let value = line[at + marker.len()..].trim().to_owned();
            // Keep draining: a child whose stdout is closed fails when its
            // harness prints the result.
            std::thread::spawn(move || lines.for_each(drop));
            return value;
        }
        seen.push(line);
    }
    panic!(
        "child exited without printing {marker:?}; its output:\n{}",
        seen.join("\n")
    );
}

/// Write a marker line for the parent, straight to the file descriptor (the
/// harness captures `println!`).
pub fn write_marker(marker: &str, value: impl std::fmt::Display) {
    let mut out = std::io::stdout();
    writeln!(out, "\n{marker}{value}").expect("write to parent");
    out.flush().expect("flush to parent");
}

/// The env var a child test reads. `None` when the ignored child test is run
/// by hand rather than by its parent test: it then has nothing to do.
pub fn child_env(key: &str) -> Option<String> {
    let v = std::env::var(key).ok();
    if v.is_none() {
        eprintln!("{key} not set: this is a child process of another test, nothing to do");
    }
    v
}

/// Check that `bytes` decode to the snapshot `snapshot(generation, ..)`
/// built, by the marker hostname carried in every generation.
pub fn assert_is_generation(bytes: &[u8], generation: u64) {
    let s = shardgate_ir::decode(bytes)
        .unwrap_or_else(|e| panic!("generation {generation} does not decode: {e}"));
    assert_eq!(s.generation, generation);
    assert_eq!(
        s.listeners[0].virtual_hosts[0].hostnames[0],
        HostMatch::Exact(format!("gen-{generation}.example.com"))
    );
}

//! Support for the end-to-end tests: a temporary config directory, echo
//! backends, the real `shardgate` binary (as `up`, or as separate control
//! and data planes), a raw HTTP/1.1 client and a curl wrapper.
//!
//! Every wait is bounded in time and count; every process started here is
//! stopped (SIGTERM, then SIGKILL) and its segment files removed on drop.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub mod echo;
pub mod http;
pub mod procs;
pub mod yaml;

// Not every test binary uses every re-export.
#[allow(unused_imports)]
pub use echo::Echo;
#[allow(unused_imports)]
pub use http::{Client, Response};
#[allow(unused_imports)]
pub use yaml::Rule;

use procs::{BIN, Proc, alive, children_of, cmdline, free_port, loopback, poll, signal};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// How long a gateway may take to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// `--drain-timeout` of every data plane started here.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A temporary directory holding the YAML config (`config/`), a scratch
/// area for atomic rewrites, and the logs of every process.
pub struct Env {
    root: tempfile::TempDir,
    pub config: PathBuf,
    /// The Gateway listener's port.
    pub port: u16,
}

impl Env {
    /// A config directory with the GatewayClass and a Gateway listening on
    /// a free port.
    pub fn new() -> Env {
        let root = tempfile::Builder::new()
            .prefix("sg-e2e-")
            .tempdir()
            .expect("creating a temporary directory");
        let config = root.path().join("config");
        std::fs::create_dir_all(&config).expect("creating the config directory");
        std::fs::create_dir_all(root.path().join("scratch")).expect("creating scratch");
        let env = Env {
            root,
            config,
            port: free_port(),
        };
        env.write("gateway.yaml", &yaml::gateway(env.port));
        env
    }

    /// Where logs and sockets go.
    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    /// The Gateway listener.
    pub fn addr(&self) -> SocketAddr {
        loopback(self.port)
    }

    /// Replace `config/NAME` atomically (write elsewhere, then rename).
    pub fn write(&self, name: &str, contents: &str) {
        let tmp = self.root.path().join("scratch").join(name);
        std::fs::write(&tmp, contents).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
        let dst = self.config.join(name);
        std::fs::rename(&tmp, &dst).unwrap_or_else(|e| panic!("{}: {e}", dst.display()));
    }

    /// Start an echo backend named `pod`.
    pub fn echo(&self, pod: &str) -> Echo {
        Echo::start(self.dir(), pod)
    }
}

/// Parsed Prometheus text: `name{labels}` → value.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub values: HashMap<String, f64>,
    pub text: String,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let values = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_owned(), v.parse().ok()?))
            })
            .collect();
        Metrics {
            values,
            text: text.to_owned(),
        }
    }

    /// A series by its full key, e.g.
    /// `shardgate_local_responses_total{status="502"}`; 0 when absent (a
    /// labelled counter appears only once counted).
    pub fn get(&self, key: &str) -> f64 {
        self.values.get(key).copied().unwrap_or(0.0)
    }

    /// `shardgate_local_responses_total{status="S"}`.
    pub fn local(&self, status: u16) -> f64 {
        self.get(&format!(
            "shardgate_local_responses_total{{status=\"{status}\"}}"
        ))
    }

    /// Does the data plane's part of the exposition exist at all?
    pub fn has_dataplane(&self) -> bool {
        self.values
            .contains_key("shardgate_connections_accepted_total")
    }
}

/// `shardgate` running as `up`, or as a separate control plane and data
/// plane (which tests need when they must know each process's pid).
pub struct Gateway {
    pub env: Env,
    /// The control plane's admin endpoint (`up --admin` or
    /// `controlplane --admin`).
    pub admin: SocketAddr,
    /// The data plane's own TCP admin endpoint (split mode).
    pub dp_admin: Option<SocketAddr>,
    pub shm: PathBuf,
    up: Option<Proc>,
    cp: Option<Proc>,
    dp: Option<Proc>,
    cp_starts: u32,
    /// Data-plane children of `up` seen so far, to reap if `up` must be
    /// killed.
    seen_children: Vec<u32>,
}

impl Gateway {
    /// `shardgate up` on the env's config; not yet waited for.
    pub fn up(env: Env) -> Gateway {
        let admin = loopback(free_port());
        let shm = PathBuf::from("/dev/shm").join(procs::unique("sg-e2e"));
        let mut cmd = Command::new(BIN);
        cmd.arg("up")
            .arg("--config")
            .arg(&env.config)
            .args(["--admin", &admin.to_string()])
            .arg("--snapshot")
            .arg(&shm)
            .args(["--bind-ip", "127.0.0.1", "--shards", "2"])
            .args(["--drain-timeout", "5s"]);
        let up = Proc::spawn("shardgate up", cmd, &env.dir().join("up.log"), false);
        Gateway {
            admin,
            dp_admin: None,
            shm,
            up: Some(up),
            cp: None,
            dp: None,
            cp_starts: 0,
            seen_children: Vec::new(),
            env,
        }
    }

    /// `shardgate dataplane` and `shardgate controlplane` as two processes
    /// on one segment; not yet waited for.
    pub fn split(env: Env) -> Gateway {
        let shm = PathBuf::from("/dev/shm").join(procs::unique("sg-e2e"));
        let dp_admin = loopback(free_port());
        let sock = env.dir().join("dataplane-admin.sock");
        let mut cmd = Command::new(BIN);
        cmd.arg("dataplane")
            .arg("--snapshot")
            .arg(&shm)
            .args(["--admin", &dp_admin.to_string()])
            .arg("--admin-socket")
            .arg(&sock)
            .args(["--bind-ip", "127.0.0.1", "--shards", "2"])
            .args(["--drain-timeout", "5s"]);
        let dp = Proc::spawn("shardgate dataplane", cmd, &env.dir().join("dp.log"), false);
        let mut gw = Gateway {
            admin: loopback(0),
            dp_admin: Some(dp_admin),
            shm,
            up: None,
            cp: None,
            dp: Some(dp),
            cp_starts: 0,
            seen_children: Vec::new(),
            env,
        };
        gw.start_controlplane();
        gw
    }

    /// `up` plus a wait until it is ready and `host`+`path` answers 200.
    pub fn start_up(env: Env, host: &str, path: &str) -> Gateway {
        let mut gw = Gateway::up(env);
        gw.wait_ready(host, path);
        gw
    }

    /// Split planes plus a wait until ready and `host`+`path` answers 200.
    pub fn start_split(env: Env, host: &str, path: &str) -> Gateway {
        let mut gw = Gateway::split(env);
        gw.wait_ready(host, path);
        gw
    }

    /// Start a (new) control plane on the same segment and config, with a
    /// new admin port (split mode).
    pub fn start_controlplane(&mut self) {
        assert!(self.dp.is_some(), "start_controlplane needs split mode");
        self.cp_starts += 1;
        self.admin = loopback(free_port());
        let sock = self.env.dir().join("dataplane-admin.sock");
        let mut cmd = Command::new(BIN);
        cmd.args(["controlplane", "--provider", "files", "--config"])
            .arg(&self.env.config)
            .arg("--snapshot")
            .arg(&self.shm)
            .args(["--admin", &self.admin.to_string()])
            .arg("--dataplane-admin")
            .arg(&sock);
        let log = self.env.dir().join(format!("cp-{}.log", self.cp_starts));
        if let Some(mut old) = self.cp.take() {
            old.stop(Duration::from_secs(5));
        }
        self.cp = Some(Proc::spawn("shardgate controlplane", cmd, &log, false));
    }

    /// SIGKILL the control plane (split mode).
    pub fn kill_controlplane(&mut self) {
        let cp = self
            .cp
            .as_mut()
            .expect("kill_controlplane needs split mode");
        assert!(cp.exited().is_none(), "the control plane already exited");
        cp.kill_now();
    }

    /// The Gateway listener.
    pub fn addr(&self) -> SocketAddr {
        self.env.addr()
    }

    /// Everything the processes logged, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.env.dir())
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        for p in names.iter().filter(|p| {
            p.extension().is_some_and(|e| e == "log")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("echo-"))
        }) {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            out.push_str(&format!(
                "==== {} (last {} lines)\n",
                p.display(),
                tail.len()
            ));
            for l in tail.iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// Panic with the logs if a process this gateway needs has exited.
    fn check_alive(&mut self) {
        let mut dead = None;
        for p in [&mut self.up, &mut self.cp, &mut self.dp]
            .into_iter()
            .flatten()
        {
            if let Some(st) = p.exited() {
                dead = Some(format!("{} exited early ({st})", p.name));
            }
        }
        if let Some(what) = dead {
            panic!("{what}:\n{}", self.logs());
        }
    }

    /// Wait until the admin endpoint says ready and `host`+`path` answers
    /// 200 through the listener.
    pub fn wait_ready(&mut self, host: &str, path: &str) {
        let mut last = String::from("nothing yet");
        let addr = self.addr();
        let ok = poll(READY_TIMEOUT, || {
            self.check_alive();
            match http::get_close(self.admin, "/ready") {
                Ok(r) if r.status() == 200 => {}
                Ok(r) => {
                    last = format!("/ready {}: {}", r.status(), r.text());
                    return None;
                }
                Err(e) => {
                    last = format!("/ready: {e}");
                    return None;
                }
            }
            match http::get(addr, host, path) {
                Ok(r) if r.status() == 200 => Some(()),
                Ok(r) => {
                    last = format!("probe {host}{path}: {} {}", r.status(), r.text());
                    None
                }
                Err(e) => {
                    last = format!("probe {host}{path}: {e}");
                    None
                }
            }
        });
        if ok.is_none() {
            panic!(
                "gateway not ready within {READY_TIMEOUT:?}; last: {last}\n{}",
                self.logs()
            );
        }
        self.remember_children();
    }

    /// Wait (bounded) until `host`+`path` gives a response for which
    /// `accept` holds; returns it, or panics with the last answer and logs.
    pub fn wait_for(
        &self,
        host: &str,
        path: &str,
        limit: Duration,
        accept: impl Fn(&Response) -> bool,
    ) -> Response {
        let mut last = String::from("nothing yet");
        let found = poll(limit, || match http::get(self.addr(), host, path) {
            Ok(r) if accept(&r) => Some(r),
            Ok(r) => {
                last = format!("{} {}", r.status(), r.text());
                None
            }
            Err(e) => {
                last = e.to_string();
                None
            }
        });
        found.unwrap_or_else(|| {
            panic!(
                "{host}{path} did not give the expected answer within {limit:?}; last: {last}\n{}",
                self.logs()
            )
        })
    }

    /// GET an admin path of the control plane.
    pub fn admin_get(&self, path: &str) -> Response {
        http::get_close(self.admin, path)
            .unwrap_or_else(|e| panic!("admin {path}: {e}\n{}", self.logs()))
    }

    /// /metrics of the control plane (with the data plane's folded in).
    pub fn metrics(&self) -> Metrics {
        let r = self.admin_get("/metrics");
        assert_eq!(r.status(), 200, "/metrics: {}", r.text());
        let m = Metrics::parse(&r.text());
        assert!(
            m.has_dataplane(),
            "no data-plane metrics in /metrics:\n{}",
            m.text
        );
        m
    }

    /// /metrics of the data plane's own admin endpoint (split mode).
    pub fn dp_metrics(&self) -> Metrics {
        let addr = self.dp_admin.expect("dp_metrics needs split mode");
        let r = http::get_close(addr, "/metrics")
            .unwrap_or_else(|e| panic!("data plane /metrics: {e}\n{}", self.logs()));
        assert_eq!(r.status(), 200, "data plane /metrics: {}", r.text());
        Metrics::parse(&r.text())
    }

    pub fn up_pid(&self) -> u32 {
        self.up.as_ref().expect("up mode").pid()
    }

    /// The data plane's pid: the split-mode process, or `up`'s child.
    pub fn dataplane_pid(&self) -> u32 {
        if let Some(dp) = &self.dp {
            return dp.pid();
        }
        let kids = children_of(self.up_pid());
        match kids.as_slice() {
            [one] => *one,
            _ => panic!("expected one data-plane child of up, found {kids:?}"),
        }
    }

    fn remember_children(&mut self) {
        if let Some(up) = &self.up {
            for c in children_of(up.pid()) {
                if !self.seen_children.contains(&c) {
                    self.seen_children.push(c);
                }
            }
        }
    }

    /// Send `sig` to `up` (or, in split mode, to the data plane).
    pub fn signal_main(&self, sig: &str) {
        let p = self.up.as_ref().or(self.dp.as_ref()).expect("a process");
        assert!(p.signal(sig), "sending SIG{sig} to {}", p.name);
    }

    /// Wait (bounded) for `up` (or the split data plane) to exit.
    pub fn wait_main_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        self.remember_children();
        let p = self.up.as_mut().or(self.dp.as_mut()).expect("a process");
        p.wait_exit(limit)
    }

    /// Note `up`'s current children (call after a restart).
    pub fn refresh_children(&mut self) {
        self.remember_children();
    }

    fn remove_segments(&self) {
        let (Some(dir), Some(name)) = (self.shm.parent(), self.shm.file_name()) else {
            return;
        };
        let name = name.to_string_lossy().into_owned();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n == name || n.starts_with(&format!("{name}.")) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.remember_children();
        let grace = DRAIN_TIMEOUT + Duration::from_secs(3);
        if let Some(mut up) = self.up.take() {
            up.stop(grace);
        }
        // Split mode: the data plane drains first, then the control plane.
        if let Some(mut dp) = self.dp.take() {
            dp.stop(grace);
        }
        if let Some(mut cp) = self.cp.take() {
            cp.stop(grace);
        }
        // Data planes orphaned by a killed `up` (checked to be ours by
        // their command line naming this gateway's segment).
        let shm = self.shm.display().to_string();
        for pid in &self.seen_children {
            if alive(*pid) && cmdline(*pid).contains(&shm) {
                signal(*pid, "KILL");
            }
        }
        self.remove_segments();
    }
}

/// Run curl (as a user would) and return (status, body).
pub fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("running curl (is it installed?)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let code = code.trim().parse().unwrap_or_else(|_| {
        panic!(
            "curl {args:?} gave no status: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, body.to_owned())
}

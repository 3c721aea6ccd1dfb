//! The system under test for the control-plane benchmarks: `shardgate
//! controlplane` on a watched YAML directory, `shardgate dataplane` on the
//! same snapshot segment, two `shardgate echo` backends, all on loopback,
//! plus the probes the benchmarks use: the data plane's `/ready` (the
//! generation each shard serves), requests through the proxy, the control
//! plane's `/metrics`, log timestamps and `/proc` memory figures.

use super::logs;
use super::yaml;
use crate::procs::{self, Child};
use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Where and how to run the processes.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub shardgate: PathBuf,
    /// Data-plane shards.
    pub shards: usize,
    /// Data-plane CPUs (`--cpus` of `shardgate dataplane`).
    pub dataplane_cpus: Option<String>,
    /// CPUs for the echo backends (under `taskset`), if pinned.
    pub backend_cpus: Option<String>,
    /// Keep the run directory (configs, logs) here instead of a temp dir.
    pub out: Option<PathBuf>,
}

/// A moment, on both clocks: `Instant` for intervals measured here,
/// wall time to compare with the timestamps in the processes' logs.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    pub at: Instant,
    pub wall: SystemTime,
}

impl Stamp {
    pub fn now() -> Stamp {
        Stamp {
            at: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// Milliseconds from `self` to `later`.
    pub fn ms_until(&self, later: Instant) -> f64 {
        later.saturating_duration_since(self.at).as_secs_f64() * 1e3
    }

    /// Signed milliseconds from `self` to a wall-clock time.
    pub fn ms_until_wall(&self, later: SystemTime) -> f64 {
        match later.duration_since(self.wall) {
            Ok(d) => d.as_secs_f64() * 1e3,
            Err(e) => -e.duration().as_secs_f64() * 1e3,
        }
    }
}

pub struct Lab {
    /// Run directory: `config/` (watched), `staging/`, logs.
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub gateway: SocketAddr,
    pub echo_a: SocketAddr,
    pub echo_b: SocketAddr,
    cp_admin: SocketAddr,
    dp_admin: SocketAddr,
    segment: PathBuf,
    pub shards: usize,
    pub controlplane: Child,
    pub dataplane: Child,
    echoes: Vec<Child>,
}

/// Files in the watched directory.
pub const BASE_FILE: &str = "base.yaml";
pub const ROUTES_FILE: &str = "routes.yaml";

impl Lab {
    /// Start everything with `base.yaml` (Gateway, `svc-a` → echo a,
    /// `svc-b` → echo b) and `extra` files, and wait until every shard
    /// serves the first snapshot.
    pub fn start(o: &LabOptions, extra: &[(&str, String)]) -> anyhow::Result<Lab> {
        let (dir, tmp) = match &o.out {
            Some(d) => {
                std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("shardgate-lab-cp-")
                    .tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let config = dir.join("config");
        std::fs::create_dir_all(&config)?;
        std::fs::create_dir_all(dir.join("staging"))?;
        let addr = |p: u16| -> SocketAddr { SocketAddr::from(([127, 0, 0, 1], p)) };
        let (echo_a, echo_b) = (addr(procs::free_port()?), addr(procs::free_port()?));
        let mut echoes = Vec::new();
        let sh = procs::which("sh").context("a POSIX shell is needed")?;
        for (pod, a) in [("a", echo_a), ("b", echo_b)] {
            // The echo backend prints a line per request on stdout: under
            // load that is a write per request on the generator's core and
            // megabytes of log a second, so stdout goes to /dev/null (its
            // log lines, on stderr, are kept).
            echoes.push(Child::spawn(
                &format!("echo-{pod}"),
                &sh,
                &[
                    "-c".into(),
                    "exec \"$@\" >/dev/null".into(),
                    "sh".into(),
                    o.shardgate.display().to_string(),
                    "echo".into(),
                    "--listen".into(),
                    a.to_string(),
                    "--pod".into(),
                    pod.into(),
                    "--namespace".into(),
                    yaml::NS.into(),
                ],
                o.backend_cpus.as_deref(),
                dir.join(format!("echo-{pod}.log")),
            )?);
        }
        for (e, a) in echoes.iter_mut().zip([echo_a, echo_b]) {
            procs::wait_ready(a, "echo", "/", Duration::from_secs(10), &mut [e])?;
        }
        let gateway = addr(procs::free_port()?);
        let base = yaml::docs(&[
            yaml::gateway(gateway.port()),
            yaml::service("svc-a", echo_a),
            yaml::service("svc-b", echo_b),
        ]);
        std::fs::write(config.join(BASE_FILE), base)?;
        for (name, text) in extra {
            std::fs::write(config.join(name), text)?;
        }
        let segment = PathBuf::from(format!(
            "/dev/shm/shardgate-lab-cp-{}-{}",
            std::process::id(),
            gateway.port()
        ));
        let (cp_admin, dp_admin) = (addr(procs::free_port()?), addr(procs::free_port()?));
        // `env` pins the log level: the publish and adoption timestamps
        // come from these lines, whatever RUST_LOG the lab runs with. The
        // publisher's debug line follows the futex wake at once; the
        // control plane's info line comes after its bookkeeping.
        let env = procs::which("env").context("`env` (coreutils) is needed")?;
        let sg = o.shardgate.display().to_string();
        let controlplane = Child::spawn(
            "controlplane",
            &env,
            &[
                "RUST_LOG=info,shardgate_snapshot::publisher=debug".into(),
                sg.clone(),
                "controlplane".into(),
                "--provider".into(),
                "files".into(),
                "--config".into(),
                config.display().to_string(),
                "--snapshot".into(),
                segment.display().to_string(),
                "--admin".into(),
                cp_admin.to_string(),
            ],
            None,
            dir.join("controlplane.log"),
        )?;
        let mut dp_args = vec![
            "RUST_LOG=info".into(),
            sg,
            "dataplane".into(),
            "--snapshot".into(),
            segment.display().to_string(),
            "--admin".into(),
            dp_admin.to_string(),
            "--shards".into(),
            o.shards.to_string(),
            "--bind-ip".into(),
            "127.0.0.1".into(),
            "--drain-timeout".into(),
            "1s".into(),
        ];
        if let Some(c) = &o.dataplane_cpus {
            dp_args.extend(["--cpus".into(), c.clone()]);
        }
        let dataplane = Child::spawn("dataplane", &env, &dp_args, None, dir.join("dataplane.log"))?;
        let mut lab = Lab {
            dir,
            _tmp: tmp,
            gateway,
            echo_a,
            echo_b,
            cp_admin,
            dp_admin,
            segment,
            shards: o.shards,
            controlplane,
            dataplane,
            echoes,
        };
        lab.wait_settled(Duration::from_secs(60))?;
        Ok(lab)
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("config")
    }

    /// Fail with the end of its log if any process exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        self.controlplane.check_alive()?;
        self.dataplane.check_alive()?;
        for e in &mut self.echoes {
            e.check_alive()?;
        }
        Ok(())
    }

    /// Replace `name` and wait until every shard serves the result and
    /// nothing else is pending (for set-up steps, not measurements).
    pub fn apply_file(&mut self, name: &str, text: &str, timeout: Duration) -> anyhow::Result<()> {
        let before = self.shard_generations()?.into_iter().min().unwrap_or(0);
        self.replace_file(name, text)?;
        self.wait_all_shards_above(before, Duration::from_millis(2), timeout)?;
        self.wait_settled(timeout)?;
        Ok(())
    }

    /// Replace `name` in the watched directory in one step (written under
    /// `staging/`, then renamed in), returning the moment of the rename.
    pub fn replace_file(&self, name: &str, text: &str) -> anyhow::Result<Stamp> {
        let staged = self.dir.join("staging").join(name);
        std::fs::write(&staged, text).with_context(|| format!("writing {}", staged.display()))?;
        let stamp = Stamp::now();
        std::fs::rename(&staged, self.config_dir().join(name))
            .with_context(|| format!("moving {name} into the config directory"))?;
        Ok(stamp)
    }

    /// The generation each data-plane shard serves (`/ready`), in shard
    /// order; empty until the data plane answers.
    pub fn shard_generations(&self) -> anyhow::Result<Vec<u64>> {
        let (_, body) = http_get(self.dp_admin, "admin", "/ready", Duration::from_secs(2))?;
        parse_ready(&body)
    }

    /// Poll `/ready` until every shard serves a generation above `above`;
    /// that generation and when it was first seen.
    pub fn wait_all_shards_above(
        &mut self,
        above: u64,
        poll: Duration,
        timeout: Duration,
    ) -> anyhow::Result<(u64, Instant)> {
        let deadline = Instant::now() + timeout;
        let mut last = Vec::new();
        let mut polls = 0u32;
        while Instant::now() < deadline {
            if let Ok(g) = self.shard_generations() {
                let now = Instant::now();
                if g.len() == self.shards && g.iter().all(|&x| x > above) {
                    return Ok((g.iter().copied().min().unwrap_or(above + 1), now));
                }
                last = g;
            }
            polls += 1;
            if polls.is_multiple_of(256) {
                self.check_alive()?;
            }
            std::thread::sleep(poll);
        }
        bail!(
            "not every shard moved past generation {above} within {timeout:?} (last seen: {last:?}); \
             logs in {}",
            self.dir.display()
        )
    }

    /// Wait until every shard serves one generation and the data plane
    /// serves the control plane's latest publish.
    pub fn wait_settled(&mut self, timeout: Duration) -> anyhow::Result<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_alive()?;
            let published = self.published_generation().unwrap_or(0);
            if let Ok(g) = self.shard_generations()
                && published > 0
                && g.len() == self.shards
                && g.iter().all(|&x| x == published)
            {
                return Ok(published);
            }
            if Instant::now() > deadline {
                bail!(
                    "the data plane did not settle on the published generation {published} within {timeout:?}; \
                     logs in {}",
                    self.dir.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One request through the gateway (`Connection: close`): status and
    /// body.
    pub fn get(&self, host: &str, path: &str) -> anyhow::Result<(u16, String)> {
        http_get(self.gateway, host, path, Duration::from_secs(5))
    }

    /// A value from the control plane's `/metrics` (first sample of the
    /// family, labels ignored).
    pub fn controlplane_metric(&self, name: &str) -> Option<f64> {
        let (status, body) =
            http_get(self.cp_admin, "admin", "/metrics", Duration::from_secs(5)).ok()?;
        (status == 200).then_some(())?;
        metric_value(&body, name)
    }

    pub fn published_generation(&self) -> Option<u64> {
        self.controlplane_metric("shardgate_controlplane_published_generation")
            .map(|g| g as u64)
    }

    /// Size of the snapshot blob of `generation`.
    pub fn blob_bytes(&self, generation: u64) -> anyhow::Result<u64> {
        let mut p = self.segment.as_os_str().to_owned();
        p.push(format!(".{generation:020}"));
        let p = PathBuf::from(p);
        Ok(std::fs::metadata(&p)
            .with_context(|| format!("snapshot blob {}", p.display()))?
            .len())
    }

    /// When `generation` was published: the publisher's log line right
    /// after it woke the readers (else the control plane's own "published
    /// snapshot" line). Log lines are written after the fact, so when the
    /// data plane's "snapshot adopted" line is earlier still, that one.
    pub fn publish_time(&self, generation: u64) -> Option<SystemTime> {
        let log = self.dir.join("controlplane.log");
        let published = logs::find(&log, "shardgate_snapshot::publisher: published", generation)
            .or_else(|| logs::find(&log, "published snapshot", generation))?;
        Some(match self.adopted_time(generation) {
            Some(adopted) => published.min(adopted),
            None => published,
        })
    }

    /// Wall time of the data plane's "snapshot adopted" line for
    /// `generation`.
    pub fn adopted_time(&self, generation: u64) -> Option<SystemTime> {
        logs::find(
            &self.dir.join("dataplane.log"),
            "snapshot adopted",
            generation,
        )
    }

    /// Resident set of the data-plane and control-plane processes, bytes.
    pub fn rss(&self) -> anyhow::Result<(u64, u64)> {
        Ok((
            rss_bytes(self.dataplane.pid())?,
            rss_bytes(self.controlplane.pid())?,
        ))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.dataplane.stop(Duration::from_secs(3));
        self.controlplane.stop(Duration::from_secs(3));
        for e in &mut self.echoes {
            e.stop(Duration::from_secs(1));
        }
        remove_segment(&self.segment);
    }
}

/// Remove the segment and its `PATH.<generation>` blobs.
fn remove_segment(path: &Path) {
    let _ = std::fs::remove_file(path);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!("{}.", name.to_string_lossy());
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `VmRSS` of `pid` in bytes.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_vmrss(&text).with_context(|| format!("no VmRSS in {path}"))
}

fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The per-shard generations in a data-plane `/ready` body
/// (`shard I: generation G` lines, in order).
pub fn parse_ready(body: &str) -> anyhow::Result<Vec<u64>> {
    let mut out = Vec::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("shard ")
            && let Some((_, g)) = rest.split_once(": generation ")
        {
            out.push(
                g.trim()
                    .parse()
                    .with_context(|| format!("/ready line {line:?}"))?,
            );
        }
    }
    Ok(out)
}

/// The value of the first sample of `name` in an OpenMetrics text.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?;
        let rest = match rest.strip_prefix('{') {
            Some(r) => r.split_once('}')?.1,
            None => rest,
        };
        if !rest.starts_with(' ') {
            return None;
        }
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// A blocking `GET` with `Connection: close`, read to the end: status and
/// body (lossy UTF-8).
pub fn http_get(
    addr: SocketAddr,
    host: &str,
    path: &str,
    timeout: Duration,
) -> anyhow::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_nodelay(true)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: shardgate-lab\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("incomplete response from {addr}{path}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status line in the response from {addr}{path}"))?;
    Ok((status, body.to_string()))
}

/// The `pod` an echo backend reported in its JSON answer.
pub fn echo_pod(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get("pod")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_bodies() {
        let body = "ready\ndriver: io_uring\nshards: 2\ngeneration: 7\nshard 0: generation 7\nshard 1: generation 6\n";
        assert_eq!(parse_ready(body).expect("parses"), vec![7, 6]);
        assert!(
            parse_ready("not ready\nshards: 1\n")
                .expect("parses")
                .is_empty()
        );
        assert!(parse_ready("shard 0: generation x\n").is_err());
    }

    #[test]
    fn metrics_lines() {
        let text = "# TYPE shardgate_controlplane_published_generation gauge\n\
                    shardgate_controlplane_published_generation 12\n\
                    shardgate_controlplane_published_generation_extra 3\n\
                    shardgate_x{a=\"b\"} 0.25\n";
        assert_eq!(
            metric_value(text, "shardgate_controlplane_published_generation"),
            Some(12.0)
        );
        assert_eq!(metric_value(text, "shardgate_x"), Some(0.25));
        assert_eq!(metric_value(text, "shardgate_y"), None);
    }

    #[test]
    fn vmrss() {
        let s = "Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t    2048 kB\n";
        assert_eq!(parse_vmrss(s), Some(2048 * 1024));
        assert_eq!(parse_vmrss("Name: x\n"), None);
        assert!(rss_bytes(std::process::id()).expect("own rss") > 0);
    }

    #[test]
    fn echo_answers() {
        assert_eq!(
            echo_pod(r#"{"path":"/","pod":"b","namespace":"lab"}"#).as_deref(),
            Some("b")
        );
        assert_eq!(echo_pod("not json"), None);
    }

    #[test]
    fn stamps() {
        let s = Stamp::now();
        let later = s.at + Duration::from_millis(5);
        assert!((s.ms_until(later) - 5.0).abs() < 1e-9);
        assert!((s.ms_until_wall(s.wall + Duration::from_millis(5)) - 5.0).abs() < 1e-6);
        assert!(s.ms_until_wall(s.wall - Duration::from_millis(2)) < 0.0);
    }
}

//! Child processes the lab starts and stops (proxies, backends), with their
//! output captured in a log file, a readiness probe, and a stop that takes
//! the whole process tree down.

use anyhow::{Context, bail};
use rustix::process::{Pid, Signal, kill_process};
use shardgate_loadgen::http::{ResponseReader, request};
use shardgate_loadgen::sut;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A started child; stopped (with its descendants) when dropped.
pub struct Child {
    pub name: String,
    child: std::process::Child,
    pub log: PathBuf,
    stopped: bool,
}

impl Child {
    /// Start `program args…`, optionally under `taskset -c CPUS`, with
    /// stdout and stderr going to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        cpus: Option<&str>,
        log: PathBuf,
    ) -> anyhow::Result<Child> {
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = match cpus {
            Some(c) => {
                let mut cmd = Command::new("taskset");
                cmd.arg("-c").arg(c).arg(program);
                cmd
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name} ({})", program.display()))?;
        Ok(Child {
            name: name.to_string(),
            child,
            log,
            stopped: false,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fail with the end of the log if the child has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); last lines of {}:\n{}",
                self.name,
                self.log.display(),
                self.log_tail(20)
            );
        }
        Ok(())
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM to the child, up to `grace` for it to exit, then SIGKILL to
    /// whatever is left of its process tree.
    pub fn stop(&mut self, grace: Duration) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pid = self.pid();
        let tree = sut::with_descendants(&[pid], &sut::all_processes());
        signal(pid, Signal::TERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) && !tree.iter().any(|p| alive(*p)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for p in tree.iter().rev() {
            if alive(*p) {
                signal(*p, Signal::KILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // SIGKILL is delivered asynchronously: wait (bounded) until the
        // whole tree is gone, so callers can rely on it when stop returns.
        let deadline = Instant::now() + Duration::from_secs(2);
        while tree.iter().any(|p| alive(*p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

fn alive(pid: u32) -> bool {
    sut::read_proc_stat(pid).is_ok() && !is_zombie(pid)
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let close = s.rfind(')')?;
            s[close + 1..]
                .split_ascii_whitespace()
                .next()
                .map(|st| st == "Z")
        })
        .unwrap_or(false)
}

/// Send `sig` to `pid` (errors, e.g. the process already exited, are ignored).
fn signal(pid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, sig);
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// One blocking GET; the response status.
pub fn get_status(addr: SocketAddr, host: &str, path: &str) -> anyhow::Result<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(&request(host, path, true))?;
    let mut reader = ResponseReader::new();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return reader
                .eof()
                .map(|r| r.status)
                .context("connection closed before a complete response");
        }
        buf.extend_from_slice(&chunk[..n]);
        let (used, done) = reader.advance(&buf)?;
        buf.drain(..used);
        if let Some(r) = done {
            return Ok(r.status);
        }
    }
}

/// Poll until a GET through `addr` answers 2xx, failing early if any of
/// `children` exits.
pub fn wait_ready(
    addr: SocketAddr,
    host: &str,
    path: &str,
    timeout: Duration,
    children: &mut [&mut Child],
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no attempt");
    while Instant::now() < deadline {
        for c in children.iter_mut() {
            c.check_alive()?;
        }
        match get_status(addr, host, path) {
            Ok(s) if (200..300).contains(&s) => return Ok(()),
            Ok(s) => last = format!("status {s}"),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("http://{addr}{path} (Host: {host}) not ready after {timeout:?}: {last}")
}

/// `name` on PATH (or in the usual sbin directories, which a non-root PATH
/// may lack).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The `shardgate` binary: `explicit`, else next to this executable, else
/// on PATH.
pub fn find_shardgate(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        bail!("--shardgate {}: no such file", p.display());
    }
    let exe = std::env::current_exe().context("locating shardgate-lab")?;
    let mut dirs: Vec<PathBuf> = exe.parent().map(Path::to_path_buf).into_iter().collect();
    // Integration tests run from target/<profile>/deps.
    if let Some(up) = exe.parent().and_then(Path::parent) {
        dirs.push(up.to_path_buf());
    }
    dirs.into_iter()
        .map(|d| d.join("shardgate"))
        .find(|p| p.is_file())
        .or_else(|| which("shardgate"))
        .context(
            "the shardgate binary is neither next to shardgate-lab nor on PATH \
             (build it with `cargo build --release -p shardgate` or pass --shardgate PATH)",
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_takes_down_the_whole_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A shell that ignores SIGTERM, with a child of its own: only the
        // SIGKILL sweep over the tree can end both.
        let mut c = Child::spawn(
            "tree",
            Path::new("/bin/sh"),
            &[
                "-c".into(),
                "trap '' TERM; sleep 60 & echo started; wait".into(),
            ],
            None,
            dir.path().join("tree.log"),
        )
        .expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(5);
        let tree = loop {
            let t = sut::with_descendants(&[c.pid()], &sut::all_processes());
            if t.len() >= 2 || Instant::now() > deadline {
                break t;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(tree.len() >= 2, "the shell's child did not start: {tree:?}");
        c.check_alive().expect("running");
        c.stop(Duration::from_millis(200));
        for p in &tree {
            assert!(!alive(*p), "process {p} survived stop");
        }
        assert!(c.log_tail(5).contains("started"));
    }

    #[test]
    fn a_dead_child_is_reported_with_its_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = Child::spawn(
            "fails",
            Path::new("/bin/sh"),
            &["-c".into(), "echo boom; exit 3".into()],
            None,
            dir.path().join("fails.log"),
        )
        .expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = loop {
            if let Err(e) = c.check_alive() {
                break e.to_string();
            }
            assert!(Instant::now() < deadline, "child never exited");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(
            err.contains("boom") && err.contains("fails exited"),
            "{err}"
        );
    }
}

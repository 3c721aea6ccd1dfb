//! Child processes of the tests: free ports, signals, `/proc` helpers, and
//! [`Proc`], a child that is stopped (SIGTERM, then SIGKILL) when dropped.

use std::collections::HashSet;
use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_shardgate");

/// Polling interval of every bounded wait.
pub const POLL: Duration = Duration::from_millis(25);

/// Ports handed out by this test process (never twice).
static TAKEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A loopback port nothing listens on now. Chosen below the kernel's
/// ephemeral range (32768+) so that the many outgoing connections of the
/// tests cannot grab it before the server binds it.
pub fn free_port() -> u16 {
    let seed = std::process::id()
        ^ SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
    for _ in 0..2000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mix = seed
            .wrapping_add(n.wrapping_mul(7919))
            .wrapping_mul(2654435761);
        let port = 20000 + (mix % 12000) as u16;
        let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
        let set = taken.get_or_insert_with(HashSet::new);
        if set.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            set.insert(port);
            return port;
        }
    }
    panic!("no free loopback port found in 2000 tries");
}

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A unique name for shared-memory segments and the like.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}-{}-{}-{nanos:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Send `sig` (e.g. `TERM`, `KILL`) to `pid` with kill(1).
pub fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat_fields(&stat).is_some_and(|f| f.first() != Some(&"Z")),
        Err(_) => false,
    }
}

/// The fields after `(comm)` in /proc/PID/stat: state, ppid, …
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let after = stat.rsplit_once(')')?.1;
    Some(after.split_whitespace().collect())
}

/// Live children of `pid`, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(child) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let Some(f) = stat_fields(&stat) else {
            continue;
        };
        let ppid = f.get(1).and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) && f.first() != Some(&"Z") {
            out.push(child);
        }
    }
    out
}

/// The command line of `pid`, arguments joined by spaces.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Poll `f` every [`POLL`] until it returns `Some`, for at most `limit`.
pub fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    let rounds = limit.as_millis() / POLL.as_millis() + 1;
    for _ in 0..rounds {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() >= limit {
            break;
        }
        std::thread::sleep(POLL);
    }
    None
}

/// A child process with its output in a log file; stopped when dropped.
pub struct Proc {
    pub name: String,
    child: Child,
    pub log: PathBuf,
    exit: Option<ExitStatus>,
}

impl Proc {
    /// Start `cmd` with stdin closed and stderr (and stdout unless the
    /// caller set it) going to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path, capture_stdout: bool) -> Proc {
        let file = File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let err = file
            .try_clone()
            .unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        cmd.stdin(Stdio::null()).stderr(err).env("NO_COLOR", "1");
        if capture_stdout {
            cmd.stdout(Stdio::piped());
        } else {
            cmd.stdout(file);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} ({BIN}): {e}"));
        Proc {
            name: name.to_owned(),
            child,
            log: log.to_path_buf(),
            exit: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Wait at most `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        poll(limit, || self.exited())
    }

    pub fn signal(&self, sig: &str) -> bool {
        self.exit.is_none() && signal(self.pid(), sig)
    }

    /// SIGKILL and reap.
    pub fn kill_now(&mut self) -> Option<ExitStatus> {
        if self.exited().is_none() {
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
        self.exit
    }

    /// SIGTERM, then SIGKILL if still running after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        self.signal("TERM");
        if self.wait_exit(grace).is_none() {
            eprintln!(
                "{} (pid {}) ignored SIGTERM for {grace:?}; killing it",
                self.name,
                self.pid()
            );
            self.kill_now();
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(8));
    }
}

/// Established TCP connections on local `port` whose socket is held open by
/// `pid` with bytes nobody has read yet: `(peer address, unread bytes)`.
/// A request that sits in such a socket was accepted by the process but is
/// never served. From /proc/net/tcp and /proc/PID/fd.
pub fn unread_connections(pid: u32, port: u16) -> Vec<(String, u64)> {
    let held: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    l.strip_prefix("socket:[")?
                        .strip_suffix(']')
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let mut out = Vec::new();
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(remote), Some(state), Some(queues), Some(inode)) =
            (f.get(1), f.get(2), f.get(3), f.get(4), f.get(9))
        else {
            continue;
        };
        let local_port = local
            .rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
        let rx = queues
            .split_once(':')
            .and_then(|(_, rx)| u64::from_str_radix(rx, 16).ok())
            .unwrap_or(0);
        // 01 = ESTABLISHED
        if local_port == Some(port) && *state == "01" && rx > 0 && held.contains(*inode) {
            let peer = remote
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                .map_or_else(|| (*remote).to_owned(), |p| format!("port {p}"));
            out.push((peer, rx));
        }
    }
    out
}

//! One `shardgate up` process per test, on the test's config directory.

use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;
use crate::http::{HttpRequest, send};
use crate::ports::free_port;

/// A running `shardgate up`.
#[derive(Debug)]
pub struct Shardgate {
    child: Option<Child>,
    admin: SocketAddr,
    snapshot: PathBuf,
    log: PathBuf,
}

impl Shardgate {
    /// Start `bin up` on `config`, logging to `log`.
    pub fn start(bin: &Path, config: &Path, log: &Path, tag: &str) -> Result<Shardgate, Error> {
        let admin = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let snapshot = dir.join(format!(
            "shardgate-conformance-{}-{tag}",
            std::process::id()
        ));
        let out = std::fs::File::create(log).map_err(|source| Error::Io {
            what: format!("creating {}", log.display()),
            source,
        })?;
        let err = out.try_clone().map_err(|source| Error::Io {
            what: format!("opening {}", log.display()),
            source,
        })?;
        let child = Command::new(bin)
            .arg("up")
            .arg("--config")
            .arg(config)
            .arg("--admin")
            .arg(admin.to_string())
            .arg("--snapshot")
            .arg(&snapshot)
            .args([
                "--bind-ip",
                "127.0.0.1",
                "--shards",
                "2",
                "--drain-timeout",
                "1s",
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| Error::Io {
                what: format!("starting {} up", bin.display()),
                source,
            })?;
        Ok(Shardgate {
            child: Some(child),
            admin,
            snapshot,
            log: log.to_path_buf(),
        })
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Has the process exited? (With its status.)
    pub fn exited(&mut self) -> Option<String> {
        let c = self.child.as_mut()?;
        c.try_wait().ok().flatten().map(|s| s.to_string())
    }

    /// GET an admin path.
    fn admin_get(&self, path: &str) -> Result<(u16, String), String> {
        let req = HttpRequest {
            method: "GET".into(),
            target: path.into(),
            host: self.admin.to_string(),
            headers: Vec::new(),
            tls: None,
        };
        let r = send(self.admin, &req, Duration::from_secs(5))?;
        Ok((r.status, String::from_utf8_lossy(&r.body).into_owned()))
    }

    /// Wait until the admin endpoint answers `/status`.
    pub fn wait_admin(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.exited() {
                return Err(format!(
                    "shardgate exited ({s}); see {}",
                    self.log.display()
                ));
            }
            match self.admin_get("/status") {
                Ok((200, _)) => return Ok(()),
                Ok((code, body)) if Instant::now() >= deadline => {
                    return Err(format!("admin /status answered {code}: {body}"));
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!("admin endpoint not up after {timeout:?}: {e}"));
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// The objects with status from `/status`.
    pub fn status(&self) -> Result<Vec<Value>, String> {
        let (code, body) = self.admin_get("/status")?;
        if code != 200 {
            return Err(format!("admin /status answered {code}: {body}"));
        }
        let docs: Vec<Value> = serde_saphyr::from_multiple(&body)
            .map_err(|e| format!("admin /status is not YAML: {e}"))?;
        Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
    }

    /// SIGTERM (drain), then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        if let Some(pid) = i32::try_from(c.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if c.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if c.try_wait().ok().flatten().is_none() {
            let _ = c.kill();
            let _ = c.wait();
        }
        remove_segment(&self.snapshot);
    }
}

/// Remove the snapshot segment and its blobs (`PATH.<generation>`), in
/// case shardgate was killed before it could.
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

impl Drop for Shardgate {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

//! `shardgate echo` backends as child processes, each identified by its pod
//! name. The backend prints one line per echoed request on stdout; a thread
//! collects those lines so that tests can tell what reached the backend.

use super::procs::{BIN, POLL, Proc, free_port, loopback, poll};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Echo {
    pub pod: String,
    pub addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
    proc: Proc,
}

impl Echo {
    /// Start a backend named `pod` on a free port, logging into `dir`, and
    /// wait (bounded) until it accepts connections.
    pub fn start(dir: &Path, pod: &str) -> Echo {
        for _ in 0..5 {
            let addr = loopback(free_port());
            let mut cmd = Command::new(BIN);
            cmd.args(["echo", "--listen", &addr.to_string(), "--pod", pod])
                .args(["--namespace", super::yaml::NS, "--service", pod]);
            let log = dir.join(format!("echo-{pod}.log"));
            let mut proc = Proc::spawn(&format!("echo {pod}"), cmd, &log, true);
            let lines = Arc::new(Mutex::new(Vec::new()));
            if let Some(out) = proc.take_stdout() {
                let lines = lines.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(out).lines() {
                        let Ok(line) = line else { break };
                        lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                    }
                });
            }
            let up = poll(Duration::from_secs(10), || {
                if proc.exited().is_some() {
                    return Some(false);
                }
                TcpStream::connect_timeout(&addr, POLL).ok().map(|_| true)
            });
            match up {
                Some(true) => {
                    return Echo {
                        pod: pod.to_owned(),
                        addr,
                        lines,
                        proc,
                    };
                }
                // Lost a race for the port: try another one.
                Some(false) => continue,
                None => panic!(
                    "echo {pod} did not accept on {addr} within 10 s:\n{}",
                    proc.log_text()
                ),
            }
        }
        panic!("echo {pod} could not start on 5 different ports");
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Request targets this backend echoed so far (its stdout lines say
    /// "Echoing back request made to TARGET to client (PEER)").
    pub fn received(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|l| {
                let rest = l.strip_prefix("Echoing back request made to ")?;
                Some(
                    rest.rsplit_once(" to client")
                        .map_or(rest, |(t, _)| t)
                        .to_owned(),
                )
            })
            .collect()
    }

    /// How many echoed requests had exactly this target.
    pub fn received_count(&self, target: &str) -> usize {
        self.received().iter().filter(|t| *t == target).count()
    }

    /// Wait (bounded) until the backend echoed a request for `target`.
    pub fn wait_received(&self, target: &str, limit: Duration) -> bool {
        poll(limit, || (self.received_count(target) > 0).then_some(())).is_some()
    }
}

//! The echo backends: one `shardgate echo` process per (pod, container
//! port), listening on the pod's loopback address. Processes outlive a
//! test: the next test that needs the same pod reuses them. Their stdout
//! (the `Echoing back request made to ...` lines) is kept for mirror
//! checks.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Error;
use crate::pods::Pod;

type Log = Arc<Mutex<Vec<String>>>;

#[derive(Debug)]
struct EchoProc {
    child: Child,
    namespace: String,
    deployment: String,
    log: Log,
}

/// The running echo processes of a run.
#[derive(Debug)]
pub struct EchoPool {
    bin: PathBuf,
    procs: HashMap<(Ipv4Addr, u16), EchoProc>,
}

impl EchoPool {
    pub fn new(bin: PathBuf) -> Self {
        EchoPool {
            bin,
            procs: HashMap::new(),
        }
    }

    /// Start the echo servers that are not running yet and wait until
    /// every one of them accepts connections.
    pub fn ensure(&mut self, targets: &[(&Pod, u16)]) -> Result<(), Error> {
        let mut started = Vec::new();
        for (pod, port) in targets {
            let k = (pod.ip, *port);
            if let Some(p) = self.procs.get_mut(&k) {
                // Restart one that died.
                if p.child.try_wait().ok().flatten().is_none() {
                    continue;
                }
                self.procs.remove(&k);
            }
            self.procs.insert(k, self.spawn(pod, *port)?);
            started.push(SocketAddr::from(k));
        }
        for addr in started {
            wait_connectable(addr, Duration::from_secs(10))
                .map_err(|e| Error::Backend(format!("echo backend {addr}: {e}")))?;
        }
        Ok(())
    }

    fn spawn(&self, pod: &Pod, port: u16) -> Result<EchoProc, Error> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("echo")
            .arg("--listen")
            .arg(format!("{}:{port}", pod.ip))
            .arg("--pod")
            .arg(&pod.name)
            .arg("--namespace")
            .arg(&pod.namespace);
        if let Some(s) = &pod.service_env {
            cmd.arg("--service").arg(s);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| Error::Io {
                what: format!("starting {} echo", self.bin.display()),
                source,
            })?;
        let log: Log = Arc::default();
        if let Some(out) = child.stdout.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut l) = log.lock() {
                        l.push(line);
                    }
                }
            });
        }
        Ok(EchoProc {
            child,
            namespace: pod.namespace.clone(),
            deployment: pod.deployment.clone(),
            log,
        })
    }

    /// Does any pod of `namespace/deployment` have `needle` in its log?
    pub fn logged(&self, namespace: &str, deployment: &str, needle: &str) -> bool {
        self.procs
            .values()
            .filter(|p| p.namespace == namespace && p.deployment == deployment)
            .any(|p| {
                p.log
                    .lock()
                    .map(|l| l.iter().any(|x| x.contains(needle)))
                    .unwrap_or(false)
            })
    }

    /// Stop every echo process.
    pub fn stop_all(&mut self) {
        for (_, mut p) in self.procs.drain() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

impl Drop for EchoPool {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Poll until a TCP connect to `addr` succeeds.
pub fn wait_connectable(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!("not accepting connections after {timeout:?}: {e}"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

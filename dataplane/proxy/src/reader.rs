//! The snapshot reader: one thread per data-plane process that follows the
//! control plane's shared-memory segment, validates and compiles every new
//! snapshot once, and hands the compiled table to every shard by message.
//!
//! A snapshot that fails validation or compilation is refused with a logged
//! reason; the shards keep the table they have. When the control plane is
//! gone the shards keep serving; when one returns (same segment or a
//! re-created one) the reader follows it.

// The reader thread and the admin thread share what the reader last did
// behind a mutex: neither is a shard, and no request ever takes it.
#![allow(clippy::disallowed_types)]

use crate::metrics::Labels;
use crate::shard::{Installed, ShardMsg};
use shardgate_ir::Snapshot;
use shardgate_router::Table;
use shardgate_runtime::Mailbox;
use shardgate_snapshot::{AckHandle, Subscriber};
use shardgate_tls::CertLoader;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the admin endpoint shows of the reader's work.
#[derive(Default)]
pub struct ReaderState {
    /// The snapshot the shards were last given.
    pub current: Mutex<Option<Arc<Snapshot>>>,
    /// The last refusal, for /ready and logs.
    pub last_error: Mutex<Option<String>>,
    /// Certificates refused, by name: counted once per refused content.
    pub tls_refused: Mutex<BTreeMap<Box<str>, u64>>,
}

pub struct Reader {
    pub path: PathBuf,
    pub shards: Vec<Mailbox<ShardMsg>>,
    pub state: Arc<ReaderState>,
    pub stop: Arc<AtomicBool>,
    /// Listener address override: bind every listener on this IP instead
    /// of the one in the snapshot (e.g. 127.0.0.1 in tests).
    pub bind_ip: Option<std::net::IpAddr>,
    /// Parses HTTPS listeners' certificates, once per distinct content.
    pub certs: CertLoader,
}

const WAIT: Duration = Duration::from_millis(100);

impl Reader {
    /// Run until `stop` is set.
    pub fn run(mut self) {
        let mut logged_missing = false;
        while !self.stop.load(Ordering::Relaxed) {
            match Subscriber::open(&self.path) {
                Ok(sub) => {
                    logged_missing = false;
                    self.follow(sub);
                }
                Err(e) => {
                    if !logged_missing {
                        tracing::info!(error = %e, "waiting for the control plane's snapshot segment");
                        logged_missing = true;
                    }
                    std::thread::sleep(WAIT);
                }
            }
        }
    }

    fn follow(&mut self, mut sub: Subscriber) {
        let ack = match sub.register(self.shards.len()) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!(error = %e, "cannot register for acknowledgements; serving without them");
                None
            }
        };
        // (re-creations, generation) of the last snapshot handled.
        let mut seen: Option<(u64, u64)> = None;
        while !self.stop.load(Ordering::Relaxed) {
            let key = (sub.recreations(), sub.generation());
            if seen != Some(key) && key.1 != 0 {
                match sub.load_current() {
                    Ok(Some(bytes)) => {
                        seen = Some((sub.recreations(), bytes.generation()));
                        self.adopt(&bytes, ack.as_ref());
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot load the published snapshot");
                        std::thread::sleep(WAIT);
                    }
                }
            }
            let last = seen.map_or(0, |s| s.1);
            sub.wait_for_change(last, WAIT);
        }
    }

    fn adopt(&mut self, bytes: &shardgate_snapshot::SnapshotBytes, ack: Option<&AckHandle>) {
        let generation = bytes.generation();
        let result = bytes.decode().map_err(|e| e.to_string()).and_then(|s| {
            Table::compile(&s)
                .map(|t| (s, t))
                .map_err(|e| e.to_string())
        });
        let (snapshot, table) = match result {
            Ok(v) => v,
            Err(reason) => {
                tracing::error!(generation, %reason, "snapshot refused; the shards keep serving the previous one");
                if let Ok(mut e) = self.state.last_error.lock() {
                    *e = Some(format!("generation {generation} refused: {reason}"));
                }
                return;
            }
        };
        let certs = self.certs.load(&snapshot);
        if !certs.newly_refused.is_empty()
            && let Ok(mut refused) = self.state.tls_refused.lock()
        {
            for e in &certs.newly_refused {
                tracing::error!(generation, certificate = %e.name, reason = %e.reason, "certificate refused; the listener's other certificates keep serving");
                *refused.entry(e.name.as_str().into()).or_default() += 1;
            }
        }
        let installed = Arc::new(Installed {
            labels: labels(&snapshot),
            binds: snapshot
                .listeners
                .iter()
                .map(|l| SocketAddr::new(self.bind_ip.unwrap_or(l.address), l.port))
                .collect(),
            table,
            ack: ack.cloned(),
            tls: certs.listeners,
        });
        for shard in &self.shards {
            shard.send(ShardMsg::Install(installed.clone()));
        }
        tracing::info!(
            generation,
            listeners = snapshot.listeners.len(),
            clusters = snapshot.clusters.len(),
            "snapshot adopted"
        );
        if let Ok(mut c) = self.state.current.lock() {
            *c = Some(Arc::new(snapshot));
        }
        if let Ok(mut e) = self.state.last_error.lock() {
            *e = None;
        }
    }
}

/// Metric labels in the router's dense route order (listener, virtual host,
/// route, as in the snapshot).
fn labels(s: &Snapshot) -> Labels {
    let mut routes = Vec::new();
    for l in &s.listeners {
        for vh in &l.virtual_hosts {
            for r in &vh.routes {
                routes.push((l.name.as_str().into(), r.name.as_str().into()));
            }
        }
    }
    Labels {
        routes,
        listeners: s.listeners.iter().map(|l| l.name.as_str().into()).collect(),
    }
}

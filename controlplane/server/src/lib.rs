//! The control-plane process: watch a directory of Gateway API YAML,
//! translate it into IR snapshots, publish them to the data plane through
//! shared memory, follow the data plane's acknowledgements into status, and
//! serve the admin endpoint.
#![forbid(unsafe_code)]

mod admin;
mod control;
mod dataplane;
mod state;

pub use admin::{Admin, Reply};
pub use state::{Metrics, Shared, View};

use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What the control plane needs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The directory of YAML (watched recursively).
    pub config_dir: PathBuf,
    /// The shared-memory control segment, e.g. `/dev/shm/shardgate`.
    pub snapshot_path: PathBuf,
    /// Where to serve the admin HTTP endpoint, if anywhere.
    pub admin: Option<SocketAddr>,
    /// The data plane's admin unix socket, whose /metrics and /ready are
    /// folded into ours.
    pub dataplane_admin: Option<PathBuf>,
    /// The address clients reach the Gateways at, reported in
    /// `status.addresses`; `None` reports 127.0.0.1 (the data plane binds
    /// every local address, so loopback always reaches it).
    pub gateway_address: Option<String>,
}

/// Run until `shutdown` resolves. Fails at start when the config directory
/// cannot be watched, the snapshot segment cannot be opened, or the admin
/// address cannot be bound; afterwards, configuration errors are logged and
/// the last good configuration keeps serving.
pub async fn run(cfg: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let shared = Shared::new();
    let control = control::Control::new(
        shared.clone(),
        &cfg.snapshot_path,
        cfg.gateway_address
            .clone()
            .unwrap_or_else(|| "127.0.0.1".to_string()),
    )?;
    let admin_task = match cfg.admin {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the admin endpoint {addr}"))?;
            tracing::info!(addr = %listener.local_addr().unwrap_or(addr), "admin endpoint listening");
            let admin = Admin {
                shared: shared.clone(),
                dataplane: cfg.dataplane_admin.clone(),
            };
            Some(tokio::spawn(admin.serve(listener)))
        }
        None => None,
    };
    let result = control.run(&cfg.config_dir, shutdown).await;
    if let Some(task) = admin_task {
        task.abort();
    }
    result
}

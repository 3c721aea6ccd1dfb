//! The shardgate data plane: a per-shard HTTP/1.1 reverse proxy.
//!
//! ```text
//! snapshot segment ─► reader thread (decode, validate, compile once)
//!                        │ ShardMsg::Install(Arc<Installed>) by message
//!        ┌───────────────┼────────────────┐
//!     shard 0         shard 1   …      shard N-1   (pinned, own runtime)
//!   listeners, connections, upstream pool, counters: all shard-local
//! ```
//!
//! See ARCHITECTURE.md at the repository root for the lifetime of a request.
#![forbid(unsafe_code)]

mod accept;
pub mod admin;
mod conn;
mod cors;
mod io;
pub mod metrics;
mod mirror;
mod mods;
mod pool;
pub mod reader;
mod redirect;
pub mod settings;
pub mod shard;
mod upstream;

pub use admin::AdminAddr;
pub use settings::Settings;

use shardgate_runtime::signals::{self, Shutdown};
use shardgate_runtime::{DriverChoice, ShardPlan, spawn_shards};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How to run a data-plane process.
#[derive(Debug, Clone)]
pub struct DataPlaneConfig {
    /// The control plane's shared-memory segment.
    pub snapshot: PathBuf,
    pub plan: ShardPlan,
    pub driver: DriverChoice,
    pub admin: Vec<AdminAddr>,
    pub drain_timeout: Duration,
    pub settings: Settings,
    /// Bind every listener on this address instead of the snapshot's.
    pub bind_ip: Option<IpAddr>,
}

#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    #[error("cannot start the shards: {0}")]
    Shards(std::io::Error),
    #[error("cannot start the admin endpoint: {0}")]
    Admin(std::io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("cannot start the snapshot reader: {0}")]
    Reader(std::io::Error),
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] shardgate_tls::TlsSetupError),
}

/// Run the data plane until a signal drains it.
pub fn run(cfg: DataPlaneConfig) -> Result<(), DataPlaneError> {
    let settings = Arc::new(cfg.settings.clone());
    // One ticket key for all shards: a resumed client may land on any.
    let tls = Arc::new(shardgate_tls::TlsShared::new()?);
    let shard_tls = tls.clone();
    let shards = spawn_shards(&cfg.plan, cfg.driver, move |ctx| {
        shard::run(ctx, settings.clone(), shard_tls.clone())
    })
    .map_err(DataPlaneError::Shards)?;
    let driver = shards
        .first()
        .map_or(shardgate_runtime::Driver::Epoll, |s| s.driver);
    let mailboxes: Vec<_> = shards.iter().map(|s| s.mailbox.clone()).collect();
    let state = Arc::new(reader::ReaderState::default());
    let stop = Arc::new(AtomicBool::new(false));

    let admin = Arc::new(admin::Admin {
        shards: mailboxes.clone(),
        driver,
        reader: state.clone(),
    });
    admin::spawn(admin, &cfg.admin).map_err(DataPlaneError::Admin)?;

    let drain_boxes = mailboxes.clone();
    let drain_timeout = cfg.drain_timeout;
    let stop_sig = stop.clone();
    signals::watch(move |what| match what {
        Shutdown::Drain => {
            tracing::info!(timeout = ?drain_timeout, "draining");
            stop_sig.store(true, Ordering::Relaxed);
            let deadline = Instant::now() + drain_timeout;
            for m in &drain_boxes {
                m.send(shard::ShardMsg::Drain { deadline });
            }
        }
        Shutdown::Immediate => {
            tracing::warn!("second signal: exiting without waiting for the drain");
            std::process::exit(130);
        }
    })
    .map_err(DataPlaneError::Signals)?;

    let reader = reader::Reader {
        path: cfg.snapshot.clone(),
        shards: mailboxes,
        state,
        stop,
        bind_ip: cfg.bind_ip,
        certs: shardgate_tls::CertLoader::new(tls.provider.clone()),
    };
    std::thread::Builder::new()
        .name("snapshot-reader".into())
        .spawn(move || reader.run())
        .map_err(DataPlaneError::Reader)?;

    for s in shards {
        s.join();
    }
    tracing::info!("data plane stopped");
    Ok(())
}

//! `shardgate up`: the control plane runs in this process, the data plane in
//! a child process that is restarted if it dies. The first SIGINT/SIGTERM
//! drains the data plane (the child gets SIGTERM), then stops the control
//! plane.

use crate::args::UpArgs;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

pub fn run(a: UpArgs) -> anyhow::Result<()> {
    let pid = std::process::id();
    a.shards.plan().context("choosing shard cores")?;
    let shm = a.snapshot.clone().unwrap_or_else(|| default_segment(pid));
    let run_dir = std::env::temp_dir().join(format!("shardgate-{pid}"));
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("creating run directory {}", run_dir.display()))?;
    let dp_sock = run_dir.join("dataplane-admin.sock");
    let exe = std::env::current_exe().context("locating the shardgate binary")?;
    let mut child_args: Vec<String> = vec![
        "dataplane".into(),
        "--snapshot".into(),
        shm.display().to_string(),
        "--admin-socket".into(),
        dp_sock.display().to_string(),
        // If `up` is killed outright, the kernel drains its data plane.
        "--exit-with-parent".into(),
        pid.to_string(),
    ];
    child_args.extend(a.shards.to_flags());
    let cfg = shardgate_controlplane::Config {
        config_dir: a.config.clone(),
        snapshot_path: shm.clone(),
        admin: Some(a.admin),
        dataplane_admin: Some(dp_sock),
        gateway_address: a
            .gateway_address
            .clone()
            .or_else(|| a.shards.bind_ip.map(|ip| ip.to_string())),
    };
    let rt = crate::tokio_runtime()?;
    let result = rt.block_on(async move {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let supervisor = tokio::spawn(supervise(exe, child_args, stop_rx, done_tx));
        let cp = shardgate_controlplane::run(cfg, async move {
            let _ = done_rx.await;
        });
        tokio::pin!(cp);
        tokio::select! {
            r = &mut cp => {
                // The control plane stopped on its own (it failed to start):
                // take the data plane down with it.
                let _ = stop_tx.send(true);
                let _ = supervisor.await;
                return r;
            }
            () = shutdown_signal() => {
                tracing::info!("draining the data plane");
                let _ = stop_tx.send(true);
            }
        }
        let r = cp.await;
        let _ = supervisor.await;
        r
    });
    shardgate_snapshot::remove_segment(&shm);
    let _ = std::fs::remove_dir_all(&run_dir);
    result
}

fn default_segment(pid: u32) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("shardgate-{pid}"))
}

/// Run the data plane as a child; restart it with backoff when it dies;
/// on `stop`, send SIGTERM and wait for its drain.
async fn supervise(
    exe: PathBuf,
    args: Vec<String>,
    mut stop: watch::Receiver<bool>,
    done: oneshot::Sender<()>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let started = Instant::now();
        let mut child = match tokio::process::Command::new(&exe)
            .args(&args)
            // Its own process group: a terminal's Ctrl-C reaches only `up`,
            // which drains the child with one SIGTERM.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the data plane");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let pid = child.id();
        tracing::info!(pid, "data plane started");
        tokio::select! {
            status = child.wait() => {
                if *stop.borrow() {
                    break;
                }
                if started.elapsed() > Duration::from_secs(10) {
                    backoff = Duration::from_millis(200);
                }
                tracing::error!(status = ?status, restart_in = ?backoff, "data plane exited; restarting it");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            _ = stop.changed() => {
                if let Some(pid) = pid {
                    shardgate_runtime::signals::terminate(pid);
                }
                let status = child.wait().await;
                tracing::info!(status = ?status, "data plane stopped");
                break;
            }
        }
    }
    let _ = done.send(());
}

/// Resolves on the first SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            tracing::error!("cannot install signal handlers; Ctrl-C will not drain");
            std::future::pending::<()>().await;
        }
    }
}

//! `shardgate`: one binary, several roles.
//!
//! * `up` — control plane in this process, data plane as a supervised child.
//! * `controlplane` — the control plane alone.
//! * `dataplane` — the data plane alone (one shard per core).
//! * `echo` — the conformance echo backend.
//! * `status` — print Gateway API objects with their status.
//! * `tune` — inspect and tune the host.
#![forbid(unsafe_code)]

mod args;
mod status;
mod tune;
mod up;

use anyhow::Context;
use args::{Cli, Command};
use clap::Parser;
use std::io::IsTerminal;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal, never in log files.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Command::Up(a) => up::run(a),
        Command::Controlplane(a) => {
            let cfg = a.config();
            tokio_runtime()?.block_on(async move {
                shardgate_controlplane::run(cfg, up::shutdown_signal()).await
            })
        }
        Command::Dataplane(a) => {
            if let Some(parent) = a.exit_with_parent
                && !shardgate_runtime::signals::terminate_with_parent(parent)
                    .context("arming the parent-death signal")?
            {
                anyhow::bail!("the parent process {parent} is already gone; not starting");
            }
            let cfg = a.config()?;
            shardgate_proxy::run(cfg).context("data plane")
        }
        Command::Echo(a) => {
            let cfg = shardgate_echo::EchoConfig {
                listen: a.listen,
                pod: a.pod,
                namespace: a.namespace,
                service: a.service,
            };
            let stop = shardgate_echo::Shutdown::new();
            let on_signal = stop.clone();
            shardgate_runtime::signals::watch(move |_| on_signal.trigger())
                .context("installing signal handlers")?;
            shardgate_echo::run(cfg, stop).context("echo backend")
        }
        Command::Status(a) => status::run(&a),
        Command::Tune(a) => tune::run(&a),
    }
}

fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the control plane's runtime")
}

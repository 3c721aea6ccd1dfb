//! Control-plane benchmarks against the real binaries on loopback:
//!
//! * [`propagation`]: from a YAML change on disk (and from the control
//!   plane's publish) until every data-plane shard serves it;
//! * [`scale`]: translation time, snapshot size, memory per route and
//!   route-lookup cost by route count;
//! * [`route_change`]: errors and latency while routes are edited under a
//!   steady open-loop load.
//!
//! Each writes a human table and, with `--json`, a result from
//! [`results`] with a top-level `kind`.

pub mod lab;
pub mod logs;
pub mod propagation;
pub mod results;
pub mod route_change;
pub mod scale;
pub mod yaml;

use crate::bench::BenchArgs;
use crate::procs;
use clap::{Args, Parser};
use lab::LabOptions;
use shardgate_loadgen::BenchConfig;
use std::path::PathBuf;
use std::time::Duration;

/// Options every control-plane benchmark takes.
#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// The shardgate binary (default: next to shardgate-lab, else PATH).
    #[arg(long)]
    pub shardgate: Option<PathBuf>,
    /// Data-plane shards (default: the command's).
    #[arg(long)]
    pub shards: Option<usize>,
    /// Data-plane CPUs, e.g. `0` or `0-1` (default: the command's).
    #[arg(long)]
    pub cpus: Option<String>,
    /// Keep configs and logs in this directory (default: a temp dir,
    /// removed at the end).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the JSON result here (`-` for stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl CommonArgs {
    pub fn lab_options(
        &self,
        default_shards: usize,
        default_cpus: Option<String>,
        backend_cpus: Option<String>,
    ) -> anyhow::Result<LabOptions> {
        Ok(LabOptions {
            shardgate: procs::find_shardgate(self.shardgate.as_deref())?,
            shards: self.shards.unwrap_or(default_shards),
            dataplane_cpus: self.cpus.clone().or(default_cpus),
            backend_cpus,
            out: self.out.clone(),
        })
    }
}

/// The first and the last available CPU (the same on one core).
pub fn first_and_last_cpu() -> (usize, usize) {
    let avail = shardgate_runtime::cpus::available_cpus();
    (
        avail.first().copied().unwrap_or(0),
        avail.last().copied().unwrap_or(0),
    )
}

/// `x` with one decimal, or `-`.
pub fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// The generator load of one benchmark phase.
#[derive(Debug, Clone)]
pub struct Load<'a> {
    pub url: String,
    pub host: &'a str,
    pub connections: usize,
    pub duration: Duration,
    pub warmup: Duration,
    /// Open loop at this rate; closed loop when `None`.
    pub rate: Option<f64>,
    pub cpus: Option<&'a str>,
}

/// The generator configuration for `load`, built exactly as `bench`
/// builds it from its flags (so these benchmarks load the proxy the way
/// `bench` does, with the same defaults).
pub fn bench_config(load: &Load<'_>) -> anyhow::Result<BenchConfig> {
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        bench: BenchArgs,
    }
    let mut argv = vec![
        "bench".to_string(),
        "--url".into(),
        load.url.clone(),
        "--host".into(),
        load.host.into(),
        "--connections".into(),
        load.connections.to_string(),
        "--duration".into(),
        format!("{}ms", load.duration.as_millis()),
        "--warmup".into(),
        format!("{}ms", load.warmup.as_millis()),
    ];
    if let Some(r) = load.rate {
        argv.extend(["--rate".into(), format!("{r}")]);
    }
    if let Some(c) = load.cpus {
        argv.extend(["--cpus".into(), c.into()]);
    }
    let flags = Flags::try_parse_from(&argv)?;
    flags.bench.config(&load.url)
}

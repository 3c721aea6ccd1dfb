//! `shardgate-lab conformance`: run a Gateway API conformance corpus
//! (the format of `shared/conformance/`) against a real shardgate.

use anyhow::Context;
use clap::Args;
use shardgate_conformance::features::Claimed;
use shardgate_conformance::{Options, run as run_corpus};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// The corpus directory (with cases/ and manifests/).
    #[arg(long)]
    pub suite: PathBuf,
    /// Claimed features, comma separated (default: what shardgate's
    /// GatewayClass publishes in `status.supportedFeatures`, as the official
    /// suite infers them).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Run only these tests (comma separated short names).
    #[arg(long, value_delimiter = ',')]
    pub run: Vec<String>,
    /// Write a Gateway API ConformanceReport (YAML) here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The shardgate binary (default: `shardgate` next to this binary,
    /// else on PATH).
    #[arg(long)]
    pub shardgate: Option<PathBuf>,
    /// Conformance profiles for the report, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "GATEWAY-HTTP")]
    pub profiles: Vec<String>,
    /// Seconds status may take to become as expected.
    #[arg(long, default_value_t = 15)]
    pub status_timeout: u64,
    /// Seconds a request case may take to pass 3 times in a row.
    #[arg(long, default_value_t = 15)]
    pub consistency_timeout: u64,
    /// Keep config directories and shardgate logs here.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

fn default_shardgate() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("shardgate")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("shardgate"))
}

pub fn run(a: ConformanceArgs) -> anyhow::Result<ExitCode> {
    let mut opts = Options::new(a.suite, a.shardgate.unwrap_or_else(default_shardgate));
    // Without --features, the claim is what the GatewayClass publishes.
    opts.claimed = a.features.map(Claimed::new);
    opts.run = a.run;
    opts.report = a.report;
    opts.profiles = a.profiles;
    opts.status_timeout = Duration::from_secs(a.status_timeout);
    opts.consistency_timeout = Duration::from_secs(a.consistency_timeout);
    opts.work_dir = a.work_dir;
    let summary = run_corpus(&opts, &mut std::io::stdout()).context("conformance run")?;
    Ok(if summary.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

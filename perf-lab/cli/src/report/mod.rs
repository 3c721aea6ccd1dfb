//! `shardgate-lab report RESULTS… --out DIR`: one self-contained HTML page
//! (inline CSS and SVG, no scripts, nothing fetched) and a Markdown summary
//! from result files the lab wrote. Each file says its `"kind"`; the page
//! draws what each kind measures (latency by percentile, throughput with
//! its spread over rounds, ratios shardgate/peer, …).

mod charts;
mod control;
mod figures;
pub mod input;
mod markdown;
mod page;
pub mod svg;
mod sweep;

use anyhow::{Context, bail};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Result files (`bench --json`, `compare.json`, …).
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Directory for index.html and summary.md (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in &a.results {
        match input::read(path) {
            Ok(i) => inputs.push(i),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let html = a.out.join("index.html");
    std::fs::write(&html, page::render(&inputs))
        .with_context(|| format!("writing {}", html.display()))?;
    let md = a.out.join("summary.md");
    std::fs::write(&md, markdown::render(&inputs))
        .with_context(|| format!("writing {}", md.display()))?;
    println!(
        "report: {} ({} result file(s))",
        html.display(),
        inputs.len()
    );
    println!("summary: {}", md.display());
    Ok(ExitCode::SUCCESS)
}

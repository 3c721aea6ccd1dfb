//! `shardgate-lab`: the perf-lab binary. Each subcommand lives in its own
//! module with its own `clap::Args` struct and a `run` function returning
//! the process exit code, so adding one (e.g. `conformance`) means one new
//! module, one enum variant and one match arm.
#![forbid(unsafe_code)]

mod args;
mod bench;
mod compare;
mod conformance;
mod cpbench;
mod fixed_server;
mod procs;
mod report;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "shardgate-lab",
    version,
    about = "perf-lab: load generator and side-by-side proxy comparisons"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// HTTP/1.1 load generator (closed or open loop) with latency
    /// percentiles and the CPU time the system under test spent per request.
    Bench(bench::BenchArgs),
    /// The same scenario against shardgate, nginx and haproxy, in
    /// alternating rounds, with medians and ratio tables.
    Compare(compare::CompareArgs),
    /// A trivial fixed-response HTTP/1.1 server (backend and ceiling target).
    FixedServer(fixed_server::FixedServerArgs),
    /// Run a Gateway API conformance corpus against a real shardgate.
    Conformance(conformance::ConformanceArgs),
    /// Time from a YAML change (and from a snapshot publish) until every
    /// data-plane shard serves it, by route count.
    Propagation(cpbench::propagation::PropagationArgs),
    /// Translation time, snapshot size, memory per route and route-lookup
    /// cost by route count.
    Scale(cpbench::scale::ScaleArgs),
    /// Errors and latency during route edits under a steady open-loop load.
    RouteChange(cpbench::route_change::RouteChangeArgs),
    /// An HTML page with SVG charts and a Markdown summary from result
    /// files (`bench --json`, `compare.json`, …).
    Report(report::ReportArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(a) => bench::run(a),
        Command::Compare(a) => compare::run(a),
        Command::FixedServer(a) => fixed_server::run(a),
        Command::Conformance(a) => conformance::run(a),
        Command::Propagation(a) => cpbench::propagation::run(a),
        Command::Scale(a) => cpbench::scale::run(a),
        Command::RouteChange(a) => cpbench::route_change::run(a),
        Command::Report(a) => report::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shardgate-lab: {e:#}");
            ExitCode::FAILURE
        }
    }
}

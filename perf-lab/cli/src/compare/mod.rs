//! `shardgate-lab compare`: one scenario against shardgate, nginx and
//! haproxy with equivalent generated configurations, in alternating rounds
//! (A B C A B C …), each proxy started fresh for its run and stopped after;
//! medians, spread and shardgate/peer ratios at the end. With `--sweep`,
//! latency against load instead (see [`sweep`]).

mod lab;
mod peers;
mod scenario;
pub(crate) mod summary;
pub mod sweep;
mod tls;

use crate::args::parse_duration;
use crate::procs;
use anyhow::{Context, bail};
use clap::Args;
use lab::{Lab, StartError};
use peers::Proxy;
use scenario::Scenario;
use serde::{Deserialize, Serialize};
use shardgate_loadgen::{BenchReport, Pace, RunExtras};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[arg(long, value_enum, default_value = "small-get-keepalive")]
    pub scenario: Scenario,
    /// Rounds; each round runs every proxy once, in the same order.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Measurement window of each run.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Unmeasured load before each window.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Client connections (default: the scenario's).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Where configs, logs and compare.json go (default: a new directory
    /// under the system temp dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the result JSON here (`-` for stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The shardgate binary (default: next to shardgate-lab, else PATH).
    #[arg(long)]
    pub shardgate: Option<PathBuf>,
    /// Proxies to run, in run order; the first is the ratio's numerator
    /// when it is shardgate.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "shardgate,nginx,haproxy"
    )]
    pub proxies: Vec<Proxy>,
    /// CPUs for the proxy (one worker/thread/shard each). Default: the
    /// first available CPU.
    #[arg(long)]
    pub proxy_cpus: Option<String>,
    /// CPUs for the load generator (one shard each). Default: the last
    /// available CPU.
    #[arg(long)]
    pub generator_cpus: Option<String>,
    /// CPUs for the fixed-response backend. Default: the generator's.
    #[arg(long)]
    pub backend_cpus: Option<String>,
    /// Skip the direct generator→backend run that shows the generator's
    /// ceiling on this plan.
    #[arg(long)]
    pub no_baseline: bool,
    /// Throughput sweep instead of rounds: per proxy, its closed-loop
    /// maximum, then open loop at each --sweep-steps share of it, with
    /// p50/p99/p99.9 at each step (`sweep.json`, `"kind": "sweep"`).
    #[arg(long)]
    pub sweep: bool,
    /// Sweep steps, in percent of each proxy's measured maximum.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "10,20,30,40,50,60,70,80,90,100"
    )]
    pub sweep_steps: Vec<u32>,
}

/// Which CPUs each role runs on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub proxy: Vec<usize>,
    pub generator: Vec<usize>,
    pub backend: Vec<usize>,
}

impl Plan {
    fn resolve(a: &CompareArgs) -> anyhow::Result<Plan> {
        let avail = shardgate_runtime::cpus::available_cpus();
        let (first, last) = (
            avail.first().copied().unwrap_or(0),
            avail.last().copied().unwrap_or(0),
        );
        let list = |arg: &Option<String>, default: usize| -> anyhow::Result<Vec<usize>> {
            Ok(match arg {
                Some(s) => {
                    let plan = crate::args::plan_from_cpus(Some(s))?;
                    plan.cores.into_iter().flatten().collect()
                }
                None => vec![default],
            })
        };
        let generator = list(&a.generator_cpus, last)?;
        let backend = match &a.backend_cpus {
            Some(_) => list(&a.backend_cpus, last)?,
            None => generator.clone(),
        };
        Ok(Plan {
            proxy: list(&a.proxy_cpus, first)?,
            generator,
            backend,
        })
    }

    fn describe(&self) -> String {
        let l = peers::cpu_list;
        format!(
            "plan: proxy on CPU {} ({} worker/thread/shard each); load generator on CPU {} ({} shard each); \
             backend fixed-server on CPU {}",
            l(&self.proxy),
            self.proxy.len(),
            l(&self.generator),
            self.generator.len(),
            l(&self.backend)
        )
    }
}

#[derive(Debug, Serialize)]
struct RunRecord {
    proxy: String,
    round: usize,
    passed: bool,
    error: Option<String>,
    report: Option<BenchReport>,
    /// False when the proxy does not speak the scenario's protocol yet
    /// (`error` then says why); such a run is neither passed nor failed.
    supported: bool,
    /// Protocol, streams and TLS handshake figures of the run.
    extras: Option<RunExtras>,
}

#[derive(Debug, Serialize)]
struct CompareResult<'a> {
    /// Always [`KIND`]: what `shardgate-lab report` dispatches on.
    kind: &'static str,
    scenario: Scenario,
    /// The scenario in words (protocol, bodies, routes, filters).
    description: String,
    /// `http/1.1`, `http/1.1+tls`, `h2c` or `grpc`.
    protocol: &'static str,
    streams_per_connection: usize,
    plan: &'a Plan,
    rounds: usize,
    duration_seconds: f64,
    warmup_seconds: f64,
    connections: usize,
    backend: &'static str,
    order: Vec<String>,
    baseline: Option<BenchReport>,
    runs: Vec<RunRecord>,
    medians: BTreeMap<String, BTreeMap<&'static str, summary::Spread>>,
    ratios: BTreeMap<String, BTreeMap<&'static str, summary::Spread>>,
    /// Proxies that do not speak this scenario's protocol yet, and why.
    not_supported: BTreeMap<String, String>,
    /// 1-minute load average before and after the runs.
    load_start: Option<f64>,
    load_end: Option<f64>,
    passed: usize,
    failed: usize,
    /// Runs of proxies that do not support the scenario.
    skipped: usize,
}

/// The `"kind"` of `compare.json`.
pub const KIND: &str = "compare";

/// Largest share of failed requests a run may have and still pass.
const MAX_ERROR_SHARE: f64 = 0.01;

/// Whether a finished run counts as passed: requests, at most 1 % errors,
/// and no stall.
fn run_passed(r: &BenchReport) -> bool {
    r.requests > 0
        && (r.errors_total as f64) <= MAX_ERROR_SHARE * r.requests as f64
        && stall(r).is_none()
}

/// A run whose requests stopped completing: a whole second of the window
/// with under a tenth of the best second's completions (requests stuck
/// in flight at the end are dropped, not counted as errors, so a stalled
/// connection would otherwise pass quietly with a low req/s).
fn stall(r: &BenchReport) -> Option<String> {
    let full = r.duration_seconds.floor() as usize;
    if full < 2 {
        return None;
    }
    let mut per_second = vec![0u64; full];
    for s in r.timeline.iter().filter(|s| s.second < full) {
        per_second[s.second] = s.requests;
    }
    let best = per_second.iter().copied().max().unwrap_or(0);
    let (second, &low) = per_second.iter().enumerate().min_by_key(|&(_, c)| *c)?;
    (low.saturating_mul(10) < best).then(|| {
        format!(
            "stalled: second {second} of the window completed {low} requests, the best second {best}"
        )
    })
}

pub fn run(a: CompareArgs) -> anyhow::Result<ExitCode> {
    if a.rounds == 0 || a.proxies.is_empty() {
        bail!("--rounds and --proxies must not be empty");
    }
    if a.sweep && (a.sweep_steps.is_empty() || a.sweep_steps.contains(&0)) {
        bail!("--sweep-steps must be positive percentages");
    }
    let started = Instant::now();
    let mut lab = Lab::new(&a)?;
    if a.sweep {
        return sweep::run(&a, lab, started);
    }
    let order: Vec<String> = a.proxies.iter().map(|p| p.name().to_string()).collect();
    let mut runs: summary::Runs = BTreeMap::new();
    let mut records = Vec::new();
    let mut not_supported: BTreeMap<String, String> = BTreeMap::new();
    for round in 1..=a.rounds {
        for &proxy in &a.proxies {
            let tag = format!("{}-r{round}", proxy.name());
            let outcome = match not_supported.get(proxy.name()) {
                Some(why) => Err(StartError::NotSupported(why.clone())),
                None => lab.one_run(proxy, &tag, Pace::Closed),
            };
            let (report, extras, error, supported) = match outcome {
                Ok((r, x)) => (Some(r), Some(x), None, true),
                Err(StartError::NotSupported(why)) => {
                    not_supported.insert(proxy.name().to_string(), why.clone());
                    (None, None, Some(format!("not yet supported: {why}")), false)
                }
                Err(StartError::Failed(e)) => (None, None, Some(format!("{e:#}")), true),
            };
            let passed = report.as_ref().is_some_and(run_passed);
            let error = error.or_else(|| report.as_ref().and_then(stall));
            print_run_line(
                round,
                a.rounds,
                proxy.name(),
                report.as_ref(),
                error.as_deref(),
                passed,
                supported,
            );
            runs.entry(proxy.name().to_string())
                .or_default()
                .push(report.clone().filter(|_| passed));
            records.push(RunRecord {
                proxy: proxy.name().into(),
                round,
                passed,
                error,
                report,
                supported,
                extras,
            });
        }
    }
    let plan = lab.plan.clone();
    let connections = lab.connections;
    let json = lab.out().join("compare.json");
    let (baseline, load_start, load_end) = lab.finish();

    let medians = summary::per_proxy(&runs);
    let base = "shardgate";
    let ratios = summary::ratios(&runs, base);
    println!();
    print!(
        "{}",
        summary::medians_table_noting(&order, &medians, &not_supported)
    );
    if runs.contains_key(base) && order.len() > 1 {
        let peers: Vec<String> = order
            .iter()
            .filter(|p| p.as_str() != base)
            .cloned()
            .collect();
        println!();
        match not_supported.get(base) {
            Some(why) => println!(
                "ratio {base}/peer: {base} not yet supported in {} ({why})",
                a.scenario.name()
            ),
            None => print!("{}", summary::ratio_table(base, &peers, &ratios)),
        }
    }
    let skipped = records.iter().filter(|r| !r.supported).count();
    let passed = records.iter().filter(|r| r.passed).count();
    let failed = records.len() - passed - skipped;
    let result = CompareResult {
        kind: KIND,
        scenario: a.scenario,
        description: a.scenario.describe(),
        protocol: lab::protocol_of(a.scenario).name(),
        streams_per_connection: a.scenario.streams(),
        plan: &plan,
        rounds: a.rounds,
        duration_seconds: a.duration.as_secs_f64(),
        warmup_seconds: a.warmup.as_secs_f64(),
        connections,
        backend: "shardgate-lab fixed-server",
        order,
        baseline,
        runs: records,
        medians,
        ratios,
        not_supported,
        load_start,
        load_end,
        passed,
        failed,
        skipped,
    };
    crate::bench::write_json(Some(&json), &result)?;
    if let Some(extra) = &a.json {
        crate::bench::write_json(Some(extra), &result)?;
    }
    println!();
    println!(
        "results: {} (configs and logs beside it); took {:.0} s",
        json.display(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", tally(passed, failed, skipped));
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The closing line: `N passed, M failed` (`, K skipped` when runs were
/// skipped because a proxy does not support the scenario).
fn tally(passed: usize, failed: usize, skipped: usize) -> String {
    if skipped > 0 {
        format!("{passed} passed, {failed} failed, {skipped} skipped")
    } else {
        format!("{passed} passed, {failed} failed")
    }
}

/// Remove a shared-memory segment and its blobs (`PATH.<generation>`), in
/// case the proxy did not.
pub(crate) fn remove_segment(path: &Path) {
    let _ = std::fs::remove_file(path);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!("{}.", name.to_string_lossy());
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

pub(crate) fn print_run_line(
    round: usize,
    rounds: usize,
    proxy: &str,
    r: Option<&BenchReport>,
    error: Option<&str>,
    passed: bool,
    supported: bool,
) {
    let verdict = match (passed, supported) {
        (true, _) => "ok",
        (false, true) => "FAILED",
        (false, false) => "skipped",
    };
    match r {
        Some(r) => println!(
            "round {round}/{rounds} {proxy:<10} {:>9.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs  proxy CPU {:>6} µs/req  core busy {:>4}  errors {}  {verdict}",
            r.requests_per_second,
            r.latency_us.p50,
            r.latency_us.p99,
            r.sut_cpu
                .as_ref()
                .and_then(|c| c.us_per_request)
                .map_or("-".into(), |v| format!("{v:.2}")),
            r.sut_core
                .as_ref()
                .map_or("-".into(), |c| format!("{:.0}%", 100.0 * c.utilisation)),
            r.errors.summary(),
        ),
        None if !supported => println!(
            "round {round}/{rounds} {proxy:<10} {}",
            error.unwrap_or("not yet supported")
        ),
        None => println!(
            "round {round}/{rounds} {proxy:<10} {verdict}: {}",
            error.unwrap_or("no result")
        ),
    }
}

pub(crate) fn resolve_binaries(a: &CompareArgs) -> anyhow::Result<BTreeMap<Proxy, PathBuf>> {
    let mut out = BTreeMap::new();
    for &p in &a.proxies {
        let path = match p {
            Proxy::Shardgate => procs::find_shardgate(a.shardgate.as_deref())?,
            Proxy::Nginx | Proxy::Haproxy => procs::which(p.name()).with_context(|| {
                format!(
                    "{} is not installed (Debian package `{}`); leave it out with --proxies",
                    p.name(),
                    p.package()
                )
            })?,
        };
        out.insert(p, path);
    }
    if procs::which("taskset").is_none() {
        bail!(
            "taskset is not installed (Debian package `util-linux`); the lab pins proxies with it"
        );
    }
    Ok(out)
}

/// The 1-minute load average from `/proc/loadavg`.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Say so when other work competes for the CPUs: req/s and latency then
/// vary with it, CPU time per request much less.
pub(crate) fn warn_if_busy(load: Option<f64>) {
    let cpus = shardgate_runtime::cpus::available_cpus().len().max(1);
    if let Some(l) = load {
        let note = if l > 0.5 * cpus as f64 {
            " — the machine is busy with other work: read the CPU µs/request ratios, not req/s or latency"
        } else {
            ""
        };
        println!("load average {l:.2} on {cpus} CPUs{note}");
    }
}

pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with(timeline: &[u64], duration: f64) -> BenchReport {
        let v = serde_json::json!({
            "url": "http://127.0.0.1:1/", "host": "h", "mode": "closed",
            "target_rate": null, "connection": "keep-alive", "connections": 1,
            "generator_cores": [null], "warmup_seconds": 0.0,
            "duration_seconds": duration, "requests": timeline.iter().sum::<u64>(),
            "requests_per_second": 1.0, "warmup_requests": 0, "connections_opened": 1,
            "errors": {"connect": 0, "write": 0, "read": 0, "closed": 0, "timeout": 0,
                       "parse": 0, "status": {}},
            "errors_total": 0,
            "latency_us": {"min": 1.0, "mean": 1.0, "stdev": 0.0, "p50": 1.0, "p90": 1.0,
                           "p99": 1.0, "p999": 1.0, "max": 1.0, "spectrum": []},
            "timeline": timeline.iter().enumerate()
                .map(|(i, n)| serde_json::json!({"second": i, "requests": n, "errors": 0}))
                .collect::<Vec<_>>(),
            "generator_cpu": {"pids": [1], "cpu_seconds": 0.0, "cores_used": 0.0,
                              "us_per_request": null},
            "sut_cpu": null, "sut_core": null
        });
        serde_json::from_value(v).expect("a report")
    }

    #[test]
    fn a_stalled_run_fails_even_without_errors() {
        let steady = report_with(&[1000, 900, 1100, 1000, 950], 5.0);
        assert!(run_passed(&steady));
        // Completions stop after two seconds: the timeline just ends.
        let stuck = report_with(&[1000, 1000], 5.0);
        assert!(!run_passed(&stuck));
        assert!(stall(&stuck).is_some_and(|s| s.contains("second 2")));
        let dip = report_with(&[1000, 50, 1000, 1000], 4.0);
        assert!(stall(&dip).is_some());
        // Too short to judge.
        assert!(run_passed(&report_with(&[10], 1.0)));
    }

    #[test]
    fn the_tally_names_skipped_runs_only_when_there_are_some() {
        assert_eq!(tally(3, 0, 0), "3 passed, 0 failed");
        assert_eq!(tally(4, 1, 2), "4 passed, 1 failed, 2 skipped");
    }
}

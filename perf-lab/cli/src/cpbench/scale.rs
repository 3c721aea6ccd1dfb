//! `shardgate-lab scale`: what a table of N routes costs — translation
//! time (the control plane's own metric), install time, snapshot size,
//! resident memory per route in both planes, and route-lookup cost
//! measured through the running data plane (CPU per request for a request
//! matching the first route against one matching the last).
//!
//! perf-lab links nothing of the proxy, so lookup is measured from
//! outside; `--criterion-dir` adds the router's in-process criterion
//! figure (`lookup_last_route/N`) when that bench has been run.

use super::lab::{Lab, ROUTES_FILE};
use super::results::{KIND_SCALE, LookupCost, ScalePoint, ScaleResult};
use super::{CommonArgs, Load, bench_config, first_and_last_cpu, fmt_opt, yaml};
use crate::args::parse_duration;
use anyhow::bail;
use clap::Args;
use shardgate_loadgen::SutSpec;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args, Clone)]
pub struct ScaleArgs {
    /// Route counts, measured in this order in one data plane.
    #[arg(long, value_delimiter = ',', default_value = "10,1000,10000,100000")]
    pub routes: Vec<usize>,
    /// Measurement window of each lookup case (first route, last route);
    /// 0s skips the lookup measurement.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub lookup_duration: Duration,
    /// Client connections of the lookup measurement.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Generator (and echo backend) CPUs (default: the last CPU when the
    /// data plane has the first).
    #[arg(long)]
    pub generator_cpus: Option<String>,
    /// A criterion output directory (`target/criterion`) holding the
    /// router's `lookup_last_route/N` results, reported beside ours.
    #[arg(long)]
    pub criterion_dir: Option<PathBuf>,
    /// Longest wait for one table to be installed.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Settle time before reading resident memory (allocator and page faults
/// of the swap done).
const RSS_SETTLE: Duration = Duration::from_millis(300);

pub fn run(a: ScaleArgs) -> anyhow::Result<ExitCode> {
    if a.routes.is_empty() || a.routes.contains(&0) {
        bail!("--routes: give route counts of at least 1");
    }
    let (first, last) = first_and_last_cpu();
    let split = first != last;
    let gen_cpus = a
        .generator_cpus
        .clone()
        .or_else(|| split.then(|| last.to_string()));
    let opts = a
        .common
        .lab_options(1, split.then(|| first.to_string()), gen_cpus.clone())?;
    let mut lab = Lab::start(&opts, &[])?;
    std::thread::sleep(RSS_SETTLE);
    let (dp_base, cp_base) = lab.rss()?;
    println!(
        "scale: data plane {} shard(s){}, generator/backends on CPUs {}; baseline RSS data plane {:.1} MiB, control plane {:.1} MiB; run directory {}",
        lab.shards,
        opts.dataplane_cpus
            .as_deref()
            .map_or(String::new(), |c| format!(" on CPU {c}")),
        gen_cpus.as_deref().unwrap_or("(unpinned)"),
        mib(dp_base),
        mib(cp_base),
        lab.dir.display()
    );
    let mut points = Vec::new();
    let mut failures = Vec::new();
    for &n in &a.routes {
        match point(&a, &mut lab, n, (dp_base, cp_base), gen_cpus.as_deref()) {
            Ok(p) => {
                println!("{}", row(&p));
                points.push(p);
            }
            Err(e) => {
                println!("{n:>7} routes: FAILED: {e:#}");
                failures.push(n);
                lab.check_alive()?;
            }
        }
    }
    drop(lab);
    let result = ScaleResult {
        kind: KIND_SCALE.into(),
        shards: opts.shards,
        passed: points.len(),
        failed: failures.len(),
        points,
    };
    println!();
    print!("{}", table(&result));
    crate::bench::write_json(a.common.json.as_deref(), &result)?;
    println!("{} passed, {} failed", result.passed, result.failed);
    Ok(if result.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn point(
    a: &ScaleArgs,
    lab: &mut Lab,
    n: usize,
    (dp_base, cp_base): (u64, u64),
    gen_cpus: Option<&str>,
) -> anyhow::Result<ScalePoint> {
    let text = yaml::bulk_routes(n, "svc-a");
    let before = lab.shard_generations()?.into_iter().min().unwrap_or(0);
    let t0 = lab.replace_file(ROUTES_FILE, &text)?;
    let (generation, all) =
        lab.wait_all_shards_above(before, Duration::from_millis(1), a.timeout)?;
    let install_ms = t0.ms_until(all);
    // The generation the shards serve is the one just published (the
    // control plane publishes only on change, and nothing else changed).
    let translation_ms = lab
        .controlplane_metric("shardgate_controlplane_last_translation_seconds")
        .map(|s| s * 1e3);
    let snapshot_bytes = lab.blob_bytes(generation)?;
    std::thread::sleep(RSS_SETTLE);
    let (dp, cp) = lab.rss()?;
    let per_route = |rss: u64, base: u64| (rss as f64 - base as f64) / n as f64;
    let lookup = if a.lookup_duration.is_zero() {
        None
    } else {
        Some(lookup(a, lab, n, gen_cpus)?)
    };
    Ok(ScalePoint {
        routes: n,
        yaml_bytes: text.len() as u64,
        translation_ms,
        install_ms,
        snapshot_bytes,
        dataplane_baseline_rss_bytes: dp_base,
        dataplane_rss_bytes: dp,
        dataplane_bytes_per_route: per_route(dp, dp_base),
        controlplane_baseline_rss_bytes: cp_base,
        controlplane_rss_bytes: cp,
        controlplane_bytes_per_route: per_route(cp, cp_base),
        lookup,
    })
}

/// Closed-loop load on the first and on the last route; the data plane's
/// CPU per request for each.
fn lookup(
    a: &ScaleArgs,
    lab: &mut Lab,
    n: usize,
    gen_cpus: Option<&str>,
) -> anyhow::Result<LookupCost> {
    let measure = |route: usize| -> anyhow::Result<shardgate_loadgen::BenchReport> {
        let path = format!("{}x", yaml::bulk_path(route));
        let (status, _) = lab.get(yaml::BULK_HOST, &path)?;
        if status != 200 {
            bail!("route {route} of {n} answers {status}, not 200");
        }
        let cfg = bench_config(&Load {
            url: format!("http://{}{path}", lab.gateway),
            host: yaml::BULK_HOST,
            connections: a.connections,
            duration: a.lookup_duration,
            warmup: Duration::from_millis(500),
            rate: None,
            cpus: gen_cpus,
        })?;
        let sut = SutSpec {
            pids: vec![lab.dataplane.pid()],
            pattern: None,
            core: None,
        };
        Ok(shardgate_loadgen::run(&cfg, &sut)?)
    };
    let first = measure(0)?;
    let last = measure(n - 1)?;
    let cpu =
        |r: &shardgate_loadgen::BenchReport| r.sut_cpu.as_ref().and_then(|c| c.us_per_request);
    Ok(LookupCost {
        first_route_cpu_us: cpu(&first),
        last_route_cpu_us: cpu(&last),
        first_route_p50_us: first.latency_us.p50,
        last_route_p50_us: last.latency_us.p50,
        first_route_requests: first.requests,
        last_route_requests: last.requests,
        errors: first.errors_total + last.errors_total,
        criterion_last_route_ns: a
            .criterion_dir
            .as_deref()
            .and_then(|d| criterion_mean_ns(d, "lookup_last_route", n)),
    })
}

/// Mean (ns) of criterion's `GROUP/ID/new/estimates.json`.
pub fn criterion_mean_ns(dir: &Path, group: &str, id: usize) -> Option<f64> {
    let p = dir
        .join(group)
        .join(id.to_string())
        .join("new")
        .join("estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn row(p: &ScalePoint) -> String {
    let l = p.lookup.as_ref();
    format!(
        "{:>7} {:>9.1} {:>9} {:>9.1} {:>10.1} {:>9.0} {:>9.0} {:>8} {:>8} {:>8} {:>8}",
        p.routes,
        p.yaml_bytes as f64 / 1024.0,
        fmt_opt(p.translation_ms),
        p.install_ms,
        p.snapshot_bytes as f64 / 1024.0,
        p.dataplane_bytes_per_route,
        p.controlplane_bytes_per_route,
        l.map_or("-".into(), |l| opt2(l.first_route_cpu_us)),
        l.map_or("-".into(), |l| opt2(l.last_route_cpu_us)),
        l.map_or("-".into(), |l| format!("{:.1}", l.last_route_p50_us)),
        l.and_then(|l| l.criterion_last_route_ns)
            .map_or("-".into(), |ns| format!("{ns:.0}")),
    )
}

fn opt2(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

/// The human table.
pub fn table(r: &ScaleResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "scale ({} data-plane shard(s); memory per route = resident growth over the base configuration / routes; \
         lookup = data-plane CPU µs per request answered by the first / the last route)",
        r.shards
    );
    let _ = writeln!(
        o,
        "{:>7} {:>9} {:>9} {:>9} {:>10} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "routes",
        "yaml KiB",
        "transl ms",
        "inst ms",
        "snap KiB",
        "DP B/rt",
        "CP B/rt",
        "1st µs",
        "last µs",
        "p50 µs",
        "crit ns"
    );
    for p in &r.points {
        let _ = writeln!(o, "{}", row(p));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_estimates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("lookup_last_route/1000/new");
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(
            d.join("estimates.json"),
            r#"{"mean":{"confidence_interval":{},"point_estimate":41.5,"standard_error":0.1}}"#,
        )
        .expect("write");
        assert_eq!(
            criterion_mean_ns(dir.path(), "lookup_last_route", 1000),
            Some(41.5)
        );
        assert_eq!(criterion_mean_ns(dir.path(), "lookup_last_route", 10), None);
    }
}

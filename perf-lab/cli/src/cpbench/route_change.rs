//! `shardgate-lab route-change`: route edits under a steady load.
//!
//! 1. Closed loop on the loaded route gives the maximum rate on this plan.
//! 2. Open loop at `--load` × that maximum, without edits: the *before*
//!    figures.
//! 3. The same load again while the loaded route itself is edited every
//!    `--edit-interval` (each edit adds a path and moves the route to the
//!    other backend, so every swap changes the table the requests use and
//!    retires the upstream endpoint they were using); each edit is waited
//!    for until every shard serves it, so each is a separate generation.
//!
//! Target: zero errors during the edits.

use super::lab::{Lab, ROUTES_FILE};
use super::results::{KIND_ROUTE_CHANGE, RouteChangeResult, Summary};
use super::{CommonArgs, Load, bench_config, first_and_last_cpu, yaml};
use crate::args::parse_duration;
use anyhow::{Context, bail};
use clap::Args;
use shardgate_loadgen::{BenchReport, SutSpec};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Args, Clone)]
pub struct RouteChangeArgs {
    /// Route edits to make under load.
    #[arg(long, default_value_t = 1000)]
    pub edits: usize,
    /// Time from the start of one edit to the start of the next (above
    /// the control plane's 50 ms debounce, so edits do not merge).
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    pub edit_interval: Duration,
    /// Other routes in the table (in the same virtual host family, not
    /// edited).
    #[arg(long, default_value_t = 100)]
    pub routes: usize,
    /// Open-loop rate as a share of the measured closed-loop maximum.
    #[arg(long, default_value_t = 0.8)]
    pub load: f64,
    /// Client connections (both loops).
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Closed-loop measurement window.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub max_duration: Duration,
    /// The open-loop window without edits.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub before: Duration,
    /// Unmeasured load before each window.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Longest wait for one edit to reach every shard.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Generator (and echo backend) CPUs (default: the last CPU when the
    /// data plane has the first).
    #[arg(long)]
    pub generator_cpus: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

const EDIT_FILE: &str = "edited.yaml";
const HOST: &str = "steady.lab.test";

/// Edit `k`: the loaded route with `k`'s extra path, on backend a or b.
fn edited_route(k: usize) -> String {
    let extra = format!("/edit/{k}");
    let svc = if k.is_multiple_of(2) {
        "svc-a"
    } else {
        "svc-b"
    };
    yaml::route("steady", HOST, &["/", &extra], svc)
}

pub fn run(a: RouteChangeArgs) -> anyhow::Result<ExitCode> {
    if a.edits == 0 || a.routes == 0 {
        bail!("--edits and --routes must be at least 1");
    }
    if !(a.load > 0.0 && a.load <= 1.0) {
        bail!("--load {} must be in (0, 1]", a.load);
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
    let mut lab = Lab::start(
        &opts,
        &[
            (ROUTES_FILE, yaml::bulk_routes(a.routes, "svc-a")),
            (EDIT_FILE, edited_route(0)),
        ],
    )?;
    let (status, _) = lab.get(HOST, "/")?;
    if status != 200 {
        bail!("the loaded route answers {status} before any edit");
    }
    println!(
        "route-change: {} edit(s) every {:?} at {:.0} % of the closed-loop maximum, {} connections; \
         data plane {} shard(s){}, generator/backends on CPUs {}; run directory {}",
        a.edits,
        a.edit_interval,
        a.load * 100.0,
        a.connections,
        lab.shards,
        opts.dataplane_cpus
            .as_deref()
            .map_or(String::new(), |c| format!(" on CPU {c}")),
        gen_cpus.as_deref().unwrap_or("(unpinned)"),
        lab.dir.display()
    );
    let url = format!("http://{}/", lab.gateway);
    let cfg = |rate: Option<f64>, duration: Duration| {
        bench_config(&Load {
            url: url.clone(),
            host: HOST,
            connections: a.connections,
            duration,
            warmup: a.warmup,
            rate,
            cpus: gen_cpus.as_deref(),
        })
    };
    let sut = SutSpec {
        pids: vec![lab.dataplane.pid()],
        pattern: None,
        core: None,
    };
    let max = shardgate_loadgen::run(&cfg(None, a.max_duration)?, &sut)?;
    if max.requests == 0 {
        bail!(
            "the closed-loop run completed no request: {}",
            max.errors.summary()
        );
    }
    let rate = a.load * max.requests_per_second;
    println!(
        "closed-loop maximum {:.0} req/s (p50 {:.1} µs, errors {}); open loop at {rate:.0} req/s",
        max.requests_per_second, max.latency_us.p50, max.errors_total
    );
    let before = shardgate_loadgen::run(&cfg(Some(rate), a.before)?, &sut)?;
    println!("{}", line("before", &before));

    // The edits take edits × interval; the load window is that plus a
    // little, so the last edit is still under load.
    let window =
        a.edit_interval * u32::try_from(a.edits).unwrap_or(u32::MAX) + Duration::from_millis(500);
    let during_cfg = cfg(Some(rate), window)?;
    let load = std::thread::Builder::new()
        .name("route-change-load".into())
        .spawn(move || shardgate_loadgen::run(&during_cfg, &sut))
        .context("starting the load thread")?;
    // The generator's shards start 50 ms after the call, then warm up.
    let measuring = Instant::now() + Duration::from_millis(50) + a.warmup;
    let load_end = measuring + window;
    std::thread::sleep(measuring.saturating_duration_since(Instant::now()));
    let edits = edit_loop(&a, &mut lab, measuring, load_end);
    let during = load
        .join()
        .map_err(|_| anyhow::anyhow!("the load thread panicked"))??;
    let (written, samples, failures) = edits?;
    println!("{}", line("during", &during));
    let applied = samples.len();
    let result = RouteChangeResult {
        kind: KIND_ROUTE_CHANGE.into(),
        routes: a.routes,
        shards: lab.shards,
        edits_requested: a.edits,
        edits_written: written,
        edits_applied: applied,
        edit_interval_ms: a.edit_interval.as_secs_f64() * 1e3,
        max_rps: max.requests_per_second,
        target_rps: rate,
        edit_to_all_shards_ms: Summary::of(samples.iter().copied()),
        edit_samples_ms: samples,
        passed: during.errors_total == 0 && applied == a.edits,
        before,
        during,
    };
    drop(lab);
    for f in failures.iter().take(5) {
        println!("edit failure: {f}");
    }
    println!();
    print!("{}", table(&result));
    crate::bench::write_json(a.common.json.as_deref(), &result)?;
    let ok = result.passed;
    println!("{} passed, {} failed", u8::from(ok), u8::from(!ok));
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Make the edits on schedule until they are done or the load window
/// ends: edits written, per applied edit the ms until every shard served
/// it, and what went wrong.
fn edit_loop(
    a: &RouteChangeArgs,
    lab: &mut Lab,
    start: Instant,
    end: Instant,
) -> anyhow::Result<(usize, Vec<f64>, Vec<String>)> {
    let mut samples = Vec::with_capacity(a.edits);
    let mut failures = Vec::new();
    let mut written = 0;
    let mut current = lab.shard_generations()?.into_iter().min().unwrap_or(0);
    for k in 1..=a.edits {
        let slot = start + a.edit_interval * u32::try_from(k - 1).unwrap_or(u32::MAX);
        std::thread::sleep(slot.saturating_duration_since(Instant::now()));
        let now = Instant::now();
        if now >= end {
            failures.push(format!(
                "the load window ended before edit {k}; {} edit(s) left undone",
                a.edits - k + 1
            ));
            break;
        }
        let t0 = lab.replace_file(EDIT_FILE, &edited_route(k))?;
        written += 1;
        let timeout = a.timeout.min(end.saturating_duration_since(now));
        match lab.wait_all_shards_above(current, Duration::from_millis(1), timeout) {
            Ok((generation, at)) => {
                samples.push(t0.ms_until(at));
                current = generation;
            }
            Err(e) => {
                failures.push(format!("edit {k}: {e:#}"));
                lab.check_alive()?;
                current = lab
                    .shard_generations()?
                    .into_iter()
                    .min()
                    .unwrap_or(current);
            }
        }
    }
    Ok((written, samples, failures))
}

fn line(phase: &str, r: &BenchReport) -> String {
    format!(
        "{phase:<7} {:>9.0} req/s  p50 {:>8.1} µs  p99 {:>8.1} µs  p99.9 {:>8.1} µs  max {:>9.1} µs  errors {}",
        r.requests_per_second,
        r.latency_us.p50,
        r.latency_us.p99,
        r.latency_us.p999,
        r.latency_us.max,
        if r.errors_total == 0 {
            "0".to_string()
        } else {
            format!("{} ({})", r.errors_total, r.errors.summary())
        }
    )
}

/// The human summary.
pub fn table(r: &RouteChangeResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "route-change: {} of {} edits applied ({} written), one every {:.0} ms, {} other routes, {} shard(s)",
        r.edits_applied, r.edits_requested, r.edits_written, r.edit_interval_ms, r.routes, r.shards
    );
    let _ = writeln!(
        o,
        "load: open loop at {:.0} req/s ({:.0} % of the closed-loop {:.0} req/s)",
        r.target_rps,
        100.0 * r.target_rps / r.max_rps.max(f64::MIN_POSITIVE),
        r.max_rps
    );
    let _ = writeln!(o, "{}", line("before", &r.before));
    let _ = writeln!(o, "{}", line("during", &r.during));
    if let Some(s) = &r.edit_to_all_shards_ms {
        let _ = writeln!(
            o,
            "edit → every shard serving it: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            s.p50, s.p99, s.max
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_alternate_backends_and_always_differ() {
        let (e1, e2) = (edited_route(1), edited_route(2));
        assert!(e1.contains("svc-b") && !e1.contains("svc-a"));
        assert!(e2.contains("svc-a") && !e2.contains("svc-b"));
        assert!(e1.contains("\"/edit/1\"") && e2.contains("\"/edit/2\""));
        assert!(e1.contains("value: \"/\""));
    }
}

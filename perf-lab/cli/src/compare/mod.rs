//! `shardgate-lab compare`: one scenario against shardgate, nginx and
//! haproxy with equivalent generated configurations, in alternating rounds
//! (A B C A B C …), each proxy started fresh for its run and stopped after;
//! medians, spread and shardgate/peer ratios at the end.

mod peers;
mod scenario;
mod summary;

use crate::args::{parse_duration, plan_from_cpus};
use crate::procs::{self, Child};
use anyhow::{Context, bail};
use clap::Args;
use peers::{Proxy, Setup};
use scenario::Scenario;
use serde::Serialize;
use shardgate_loadgen::{BenchConfig, BenchReport, Pace, SutSpec, Target};
use shardgate_runtime::DriverChoice;
use std::collections::BTreeMap;
use std::net::SocketAddr;
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
}

/// Which CPUs each role runs on.
#[derive(Debug, Clone, Serialize)]
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
                    let plan = plan_from_cpus(Some(s))?;
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
}

#[derive(Debug, Serialize)]
struct CompareResult<'a> {
    /// Always [`KIND`]: what `shardgate-lab report` dispatches on.
    kind: &'static str,
    scenario: Scenario,
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
    /// 1-minute load average before and after the runs.
    load_start: Option<f64>,
    load_end: Option<f64>,
    passed: usize,
    failed: usize,
}

/// The `"kind"` of `compare.json`.
pub const KIND: &str = "compare";

/// Largest share of failed requests a run may have and still pass.
const MAX_ERROR_SHARE: f64 = 0.01;

pub fn run(a: CompareArgs) -> anyhow::Result<ExitCode> {
    if a.rounds == 0 || a.proxies.is_empty() {
        bail!("--rounds and --proxies must not be empty");
    }
    let started = Instant::now();
    let plan = Plan::resolve(&a)?;
    let binaries = resolve_binaries(&a)?;
    let out = match &a.out {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!(
            "shardgate-lab-compare-{}-{}",
            a.scenario.name(),
            std::process::id()
        )),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let connections = a.connections.unwrap_or(a.scenario.connections());
    let order: Vec<String> = a.proxies.iter().map(|p| p.name().to_string()).collect();
    println!(
        "{}: {} round(s) of {} × {:?} (+{:?} warm-up), {} connections, closed loop, {}",
        a.scenario.name(),
        a.rounds,
        order.join(" "),
        a.duration,
        a.warmup,
        connections,
        if a.scenario.new_conn() {
            "a new connection per request"
        } else {
            "keep-alive"
        }
    );
    println!("{}", plan.describe());
    println!(
        "backend: shardgate-lab fixed-server (13-byte 200), the same for every proxy; \
         CPU time per request of the proxy is the fair figure whenever the generator's core is the limit"
    );
    println!("output: {}", out.display());
    let load_start = load_average();
    warn_if_busy(load_start);

    let backend_port = procs::free_port()?;
    let backend_addr: SocketAddr = format!("127.0.0.1:{backend_port}").parse()?;
    let mut backend = Child::spawn(
        "fixed-server",
        &std::env::current_exe()?,
        &[
            "fixed-server".into(),
            "--listen".into(),
            backend_addr.to_string(),
            "--cpus".into(),
            peers::cpu_list(&plan.backend),
        ],
        None,
        out.join("fixed-server.log"),
    )?;
    procs::wait_ready(
        backend_addr,
        "lab",
        "/",
        Duration::from_secs(10),
        &mut [&mut backend],
    )?;

    let bench_cfg = |port: u16| -> anyhow::Result<BenchConfig> {
        Ok(BenchConfig {
            target: Target::parse(&format!("http://127.0.0.1:{port}{}", a.scenario.path()))?,
            connections,
            duration: a.duration,
            warmup: a.warmup,
            requests: None,
            pace: Pace::Closed,
            new_conn: a.scenario.new_conn(),
            plan: plan_from_cpus(Some(&peers::cpu_list(&plan.generator)))?,
            driver: DriverChoice::Auto,
            timeout: Duration::from_secs(5),
            request: shardgate_loadgen::RequestSpec::default(),
            protocol: shardgate_loadgen::Protocol::Http1,
            expect_body: None,
        })
    };

    let baseline = if a.no_baseline {
        None
    } else {
        let r = shardgate_loadgen::run(
            &bench_cfg(backend_port)?,
            &SutSpec {
                pids: vec![backend.pid()],
                pattern: None,
                core: None,
            },
        )?;
        println!(
            "generator ceiling on this plan (direct to the backend, no proxy): {:.0} req/s, p50 {:.1} µs, p99 {:.1} µs, \
             generator {:.0}% busy, {:.2} µs CPU/req; backend {:.2} µs CPU/req",
            r.requests_per_second,
            r.latency_us.p50,
            r.latency_us.p99,
            100.0 * r.generator_cpu.cores_used / plan.generator.len().max(1) as f64,
            r.generator_cpu.us_per_request.unwrap_or(0.0),
            r.sut_cpu
                .as_ref()
                .and_then(|c| c.us_per_request)
                .unwrap_or(0.0),
        );
        Some(r)
    };

    let run_as_root = is_root();
    let mut runs: summary::Runs = BTreeMap::new();
    let mut records = Vec::new();
    for round in 1..=a.rounds {
        for &proxy in &a.proxies {
            let tag = format!("{}-r{round}", proxy.name());
            let result = one_run(
                proxy,
                &binaries[&proxy],
                &plan,
                &out,
                &tag,
                backend_port,
                run_as_root,
                &bench_cfg,
                &mut backend,
            );
            let (report, error) = match result {
                Ok(r) => (Some(r), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            };
            let passed = report.as_ref().is_some_and(|r| {
                r.requests > 0 && (r.errors_total as f64) <= MAX_ERROR_SHARE * r.requests as f64
            });
            print_run_line(
                round,
                a.rounds,
                proxy.name(),
                report.as_ref(),
                error.as_deref(),
                passed,
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
            });
        }
    }
    backend.stop(Duration::from_secs(2));
    let load_end = load_average();
    warn_if_busy(load_end);

    let medians = summary::per_proxy(&runs);
    let base = "shardgate";
    let ratios = summary::ratios(&runs, base);
    println!();
    print!("{}", summary::medians_table(&order, &medians));
    if runs.contains_key(base) && order.len() > 1 {
        let peers: Vec<String> = order
            .iter()
            .filter(|p| p.as_str() != base)
            .cloned()
            .collect();
        println!();
        print!("{}", summary::ratio_table(base, &peers, &ratios));
    }
    let passed = records.iter().filter(|r| r.passed).count();
    let failed = records.len() - passed;
    let result = CompareResult {
        kind: KIND,
        scenario: a.scenario,
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
        load_start,
        load_end,
        passed,
        failed,
    };
    let json = out.join("compare.json");
    crate::bench::write_json(Some(&json), &result)?;
    println!();
    println!(
        "results: {} (configs and logs beside it); took {:.0} s",
        json.display(),
        started.elapsed().as_secs_f64()
    );
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Start `proxy`, wait until it forwards, run the bench, stop it.
#[allow(clippy::too_many_arguments)]
fn one_run(
    proxy: Proxy,
    binary: &Path,
    plan: &Plan,
    out: &Path,
    tag: &str,
    backend_port: u16,
    run_as_root: bool,
    bench_cfg: &dyn Fn(u16) -> anyhow::Result<BenchConfig>,
    backend: &mut Child,
) -> anyhow::Result<BenchReport> {
    let setup = Setup {
        port: procs::free_port()?,
        backend_port,
        admin_port: procs::free_port()?,
        cpus: plan.proxy.clone(),
        dir: out.join(proxy.name()),
        run_as_root,
    };
    let args = peers::prepare(proxy, &setup, tag)
        .with_context(|| format!("writing the {} configuration", proxy.name()))?;
    let mut child = Child::spawn(
        proxy.name(),
        binary,
        &args,
        Some(&peers::cpu_list(&plan.proxy)),
        setup.dir.join(format!("{tag}.log")),
    )?;
    let addr: SocketAddr = format!("127.0.0.1:{}", setup.port).parse()?;
    let cfg = bench_cfg(setup.port)?;
    let result = procs::wait_ready(
        addr,
        &cfg.target.host,
        &cfg.target.path,
        Duration::from_secs(20),
        &mut [&mut child, backend],
    )
    .and_then(|()| {
        shardgate_loadgen::run(
            &cfg,
            &SutSpec {
                pids: vec![child.pid()],
                pattern: None,
                core: plan.proxy.first().copied(),
            },
        )
        .map_err(anyhow::Error::from)
    });
    child.stop(Duration::from_secs(5));
    if proxy == Proxy::Shardgate {
        remove_segment(&peers::shm_path(tag));
    }
    result
}

/// Remove a shared-memory segment and its blobs (`PATH.<generation>`), in
/// case the proxy did not.
fn remove_segment(path: &Path) {
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

fn print_run_line(
    round: usize,
    rounds: usize,
    proxy: &str,
    r: Option<&BenchReport>,
    error: Option<&str>,
    passed: bool,
) {
    let verdict = if passed { "ok" } else { "FAILED" };
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
        None => println!(
            "round {round}/{rounds} {proxy:<10} {verdict}: {}",
            error.unwrap_or("no result")
        ),
    }
}

fn resolve_binaries(a: &CompareArgs) -> anyhow::Result<BTreeMap<Proxy, PathBuf>> {
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
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Say so when other work competes for the CPUs: req/s and latency then
/// vary with it, CPU time per request much less.
fn warn_if_busy(load: Option<f64>) {
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

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

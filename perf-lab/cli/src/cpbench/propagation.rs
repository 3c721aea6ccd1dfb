//! `shardgate-lab propagation`: how long a configuration change takes to
//! reach every data-plane shard.
//!
//! For each route count and change kind, the lab renames an edited file
//! into the watched directory, then polls the data plane's `/ready` (which
//! reports the generation every shard serves) until every shard serves a
//! newer generation, and finally sends a request that must see the change
//! (the new Host answered 200, or the new backend answering). The control
//! plane's and data plane's log timestamps split the total at the publish.

use super::lab::{self, Lab, ROUTES_FILE};
use super::results::{
    ChangeKind, KIND_PROPAGATION, PropagationResult, PropagationRun, PropagationSample,
};
use super::{CommonArgs, fmt_opt, yaml};
use crate::args::parse_duration;
use anyhow::bail;
use clap::Args;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Args, Clone)]
pub struct PropagationArgs {
    /// Route counts in the table while changes are made.
    #[arg(long, value_delimiter = ',', default_value = "10,1000,10000")]
    pub routes: Vec<usize>,
    /// Changes per route count and kind.
    #[arg(long, default_value_t = 100)]
    pub changes: usize,
    /// Which changes: `route` (a new hostname), `endpoint` (an
    /// EndpointSlice moves to another backend).
    #[arg(long, value_delimiter = ',', default_value = "route,endpoint")]
    pub kinds: Vec<Kind>,
    /// Microseconds between two polls of the data plane's `/ready`.
    #[arg(long, default_value_t = 500)]
    pub poll_us: u64,
    /// Longest wait for one change to reach every shard.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Stop a run (one route count and kind) after this long, with the
    /// changes made so far.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub max_time: Duration,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Route,
    Endpoint,
}

impl Kind {
    fn change(self) -> ChangeKind {
        match self {
            Kind::Route => ChangeKind::Route,
            Kind::Endpoint => ChangeKind::Endpoint,
        }
    }
}

/// The file each kind edits.
const PROBE_FILE: &str = "probe.yaml";
const ENDPOINT_FILE: &str = "endpoint.yaml";
const ENDPOINT_HOST: &str = "ep.lab.test";

fn probe_host(serial: usize) -> String {
    format!("p{serial}.lab.test")
}

fn probe_yaml(serial: usize) -> String {
    yaml::route("probe", &probe_host(serial), &["/"], "svc-a")
}

/// `svc-ep` pointing at `backend`, and the route that uses it.
fn endpoint_yaml(backend: std::net::SocketAddr) -> String {
    yaml::docs(&[
        yaml::service("svc-ep", backend),
        yaml::route("ep", ENDPOINT_HOST, &["/"], "svc-ep"),
    ])
}

pub fn run(a: PropagationArgs) -> anyhow::Result<ExitCode> {
    if a.changes == 0 || a.routes.is_empty() || a.kinds.is_empty() {
        bail!("--changes, --routes and --kinds must not be empty");
    }
    if a.routes.contains(&0) {
        bail!("--routes: every count must be at least 1");
    }
    let cpus = shardgate_runtime::cpus::available_cpus().len().max(1);
    let poll = Duration::from_micros(a.poll_us);
    let opts = a.common.lab_options(cpus, None, None)?;
    let first_routes = a.routes[0];
    // Echo b's address is only known once the lab runs: the endpoint file
    // starts on a, written after start below.
    let mut lab = Lab::start(
        &opts,
        &[
            (ROUTES_FILE, yaml::bulk_routes(first_routes, "svc-a")),
            (PROBE_FILE, probe_yaml(0)),
        ],
    )?;
    let a_addr = lab.echo_a;
    lab.apply_file(
        ENDPOINT_FILE,
        &endpoint_yaml(a_addr),
        Duration::from_secs(60),
    )?;
    println!(
        "propagation: {} change(s) per run, data plane {} shard(s){}, polling /ready every {:?}; run directory {}",
        a.changes,
        lab.shards,
        opts.dataplane_cpus
            .as_deref()
            .map_or(String::new(), |c| format!(" on CPUs {c}")),
        poll,
        lab.dir.display()
    );
    let mut state = State {
        serial: 0,
        on_b: false,
        routes: first_routes,
    };
    let mut runs = Vec::new();
    for &routes in &a.routes {
        if routes != state.routes {
            // Large tables take a while to load.
            let text = yaml::bulk_routes(routes, "svc-a");
            lab.apply_file(ROUTES_FILE, &text, Duration::from_secs(600))?;
            state.routes = routes;
        }
        for &kind in &a.kinds {
            let run = one_run(&a, &mut lab, &mut state, routes, kind)?;
            println!("{}", row(&run));
            runs.push(run);
        }
    }
    let failed = runs.iter().filter(|r| !r.failures.is_empty()).count();
    let result = PropagationResult {
        kind: KIND_PROPAGATION.into(),
        shards: lab.shards,
        cpus: opts.dataplane_cpus.clone(),
        poll_interval_us: a.poll_us,
        passed: runs.len() - failed,
        failed,
        runs,
    };
    drop(lab);
    println!();
    print!("{}", table(&result));
    crate::bench::write_json(a.common.json.as_deref(), &result)?;
    println!("{} passed, {} failed", result.passed, result.failed);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What is on disk now.
struct State {
    /// Serial of the probe route's hostname.
    serial: usize,
    /// `svc-ep` points at echo b.
    on_b: bool,
    routes: usize,
}

fn one_run(
    a: &PropagationArgs,
    lab: &mut Lab,
    state: &mut State,
    routes: usize,
    kind: Kind,
) -> anyhow::Result<PropagationRun> {
    let mut run = PropagationRun {
        routes,
        change: kind.change(),
        changes_requested: a.changes,
        samples: Vec::new(),
        failures: Vec::new(),
        truncated: false,
        yaml_to_all_shards_ms: None,
        yaml_to_served_ms: None,
        yaml_to_publish_ms: None,
        publish_to_all_shards_ms: None,
        publish_to_adopted_ms: None,
    };
    let started = Instant::now();
    let mut stamps = Vec::new();
    for change in 1..=a.changes {
        if started.elapsed() > a.max_time {
            run.truncated = true;
            break;
        }
        let before = lab.shard_generations()?.into_iter().min().unwrap_or(0);
        // What the change is, and how a request recognises it.
        let (file, text, host, want_pod) = match kind {
            Kind::Route => {
                state.serial += 1;
                (
                    PROBE_FILE,
                    probe_yaml(state.serial),
                    probe_host(state.serial),
                    None,
                )
            }
            Kind::Endpoint => {
                state.on_b = !state.on_b;
                let (addr, pod) = if state.on_b {
                    (lab.echo_b, "b")
                } else {
                    (lab.echo_a, "a")
                };
                (
                    ENDPOINT_FILE,
                    endpoint_yaml(addr),
                    ENDPOINT_HOST.to_string(),
                    Some(pod),
                )
            }
        };
        let t0 = lab.replace_file(file, &text)?;
        let (generation, all) =
            match lab.wait_all_shards_above(before, Duration::from_micros(a.poll_us), a.timeout) {
                Ok(v) => v,
                Err(e) => {
                    run.failures.push(format!("change {change}: {e:#}"));
                    lab.check_alive()?;
                    lab.wait_settled(Duration::from_secs(60))?;
                    continue;
                }
            };
        match served(lab, &host, want_pod, Duration::from_secs(2)) {
            Ok(at) => {
                run.samples.push(PropagationSample {
                    change,
                    generation,
                    yaml_to_all_shards_ms: t0.ms_until(all),
                    yaml_to_served_ms: t0.ms_until(at),
                    yaml_to_publish_ms: None,
                    publish_to_all_shards_ms: None,
                    publish_to_adopted_ms: None,
                });
                stamps.push((t0, all));
            }
            Err(e) => run.failures.push(format!(
                "change {change}: every shard serves generation {generation}, but {e:#}"
            )),
        }
    }
    // The in-process steps, from the logs (read once the run is over, so
    // reading them costs the run nothing).
    for (s, (t0, all)) in run.samples.iter_mut().zip(stamps) {
        if let Some(p) = lab.publish_time(s.generation) {
            s.yaml_to_publish_ms = Some(t0.ms_until_wall(p));
            s.publish_to_all_shards_ms = Some(t0.ms_until(all) - t0.ms_until_wall(p));
            s.publish_to_adopted_ms = lab
                .adopted_time(s.generation)
                .map(|ad| t0.ms_until_wall(ad) - t0.ms_until_wall(p));
        }
    }
    run.summarise();
    Ok(run)
}

/// Request until the change is visible: the Host answers 200 (and, for an
/// endpoint change, from `want_pod`). When it was first seen.
fn served(
    lab: &Lab,
    host: &str,
    want_pod: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        match lab.get(host, "/") {
            Ok((200, body)) => {
                let pod = lab::echo_pod(&body);
                if want_pod.is_none_or(|w| pod.as_deref() == Some(w)) {
                    return Ok(Instant::now());
                }
                last = format!("answered by pod {pod:?}");
            }
            Ok((status, _)) => last = format!("status {status}"),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    bail!("Host {host} was not served as expected within {timeout:?} (last: {last})")
}

fn row(r: &PropagationRun) -> String {
    let p = |s: &Option<super::results::Summary>, f: fn(&super::results::Summary) -> f64| {
        fmt_opt(s.as_ref().map(f))
    };
    format!(
        "{:>7} {:<9} {:>4}/{:<4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {}",
        r.routes,
        match r.change {
            ChangeKind::Route => "route",
            ChangeKind::Endpoint => "endpoint",
        },
        r.samples.len(),
        r.changes_requested,
        p(&r.yaml_to_all_shards_ms, |s| s.p50),
        p(&r.yaml_to_all_shards_ms, |s| s.p99),
        p(&r.yaml_to_served_ms, |s| s.p50),
        p(&r.yaml_to_publish_ms, |s| s.p50),
        p(&r.publish_to_all_shards_ms, |s| s.p50),
        p(&r.publish_to_all_shards_ms, |s| s.p99),
        p(&r.publish_to_adopted_ms, |s| s.p50),
        if r.failures.is_empty() {
            if r.truncated {
                "ok (stopped at --max-time)".to_string()
            } else {
                "ok".into()
            }
        } else {
            format!(
                "FAILED: {} change(s), first: {}",
                r.failures.len(),
                r.failures[0]
            )
        }
    )
}

/// The human table: one line per run, milliseconds.
pub fn table(r: &PropagationResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "propagation, ms ({} data-plane shard(s); yaml = file renamed into the watched directory, \
         pub = the publisher's log line, all = every shard reports the generation)",
        r.shards
    );
    let _ = writeln!(
        o,
        "{:>7} {:<9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "routes",
        "change",
        "done",
        "yaml→all",
        "p99",
        "yaml→srv",
        "yaml→pub",
        "pub→all",
        "p99",
        "pub→adopt"
    );
    for run in &r.runs {
        let _ = writeln!(o, "{}", row(run));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_files() {
        assert!(probe_yaml(7).contains("hostnames: [\"p7.lab.test\"]"));
        let e = endpoint_yaml("127.0.0.1:4567".parse().expect("addr"));
        assert!(e.contains("port: 4567") && e.contains("name: svc-ep"));
        assert!(e.contains("hostnames: [\"ep.lab.test\"]"));
    }
}

//! `shardgate-lab bench`: the load generator, and `--self-test`, which
//! measures the generator's own ceiling against the fixed-response server.

use crate::args::{parse_duration, plan_from_cpus};
use crate::procs::{self, Child};
use anyhow::Context;
use clap::Args;
use shardgate_loadgen::{BenchConfig, BenchReport, Pace, SutSpec, Target};
use shardgate_runtime::DriverChoice;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Target, `http://127.0.0.1:PORT/path` (loopback only).
    #[arg(long, required_unless_present = "self_test")]
    pub url: Option<String>,
    /// Host header (default: the URL's authority).
    #[arg(long)]
    pub host: Option<String>,
    /// Concurrent connections, spread over the generator shards.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measurement window.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Load before the window that is not measured.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Stop after this many measured requests.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Open loop at this total rate (requests per second), latency counted
    /// from each request's scheduled send time; default: closed loop.
    #[arg(long)]
    pub rate: Option<f64>,
    /// A new connection per request (`Connection: close`).
    #[arg(long)]
    pub new_conn: bool,
    /// Generator CPUs, one shard each (default: one unpinned shard).
    #[arg(long)]
    pub cpus: Option<String>,
    /// Event driver: auto, io_uring or epoll.
    #[arg(long, default_value = "auto")]
    pub driver: DriverChoice,
    /// Longest wait for one response.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Write the JSON result here (`-` for stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Processes under test (each with its descendants); repeatable.
    #[arg(long = "sut-pid", num_args = 1..)]
    pub sut_pid: Vec<u32>,
    /// Processes under test: every process whose command line contains this.
    #[arg(long)]
    pub sut_match: Option<String>,
    /// A core whose busy time per request is reported (the SUT's core).
    #[arg(long)]
    pub sut_cpu: Option<usize>,
    /// Measure the generator's ceiling: start `fixed-server` on
    /// --server-cpus and load it (ignores --url and the --sut options).
    #[arg(long)]
    pub self_test: bool,
    /// Self-test: the fixed-server's CPUs (default: a core the generator
    /// does not use).
    #[arg(long)]
    pub server_cpus: Option<String>,
}

impl BenchArgs {
    /// The generator configuration for `url`.
    pub fn config(&self, url: &str) -> anyhow::Result<BenchConfig> {
        let mut target = Target::parse(url)?;
        if let Some(h) = &self.host {
            target.host = h.clone();
        }
        let cfg = BenchConfig {
            target,
            connections: self.connections,
            duration: self.duration,
            warmup: self.warmup,
            requests: self.requests,
            pace: match self.rate {
                Some(rate) => Pace::Open { rate },
                None => Pace::Closed,
            },
            new_conn: self.new_conn,
            plan: plan_from_cpus(self.cpus.as_deref())?,
            driver: self.driver,
            timeout: self.timeout,
            request: shardgate_loadgen::RequestSpec::default(),
            protocol: shardgate_loadgen::Protocol::Http1,
            expect_body: None,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

pub fn run(a: BenchArgs) -> anyhow::Result<ExitCode> {
    if a.self_test {
        return self_test(a);
    }
    let url = a.url.as_deref().context("--url is required")?;
    let cfg = a.config(url)?;
    let sut = SutSpec {
        pids: a.sut_pid.clone(),
        pattern: a.sut_match.clone(),
        core: a.sut_cpu,
    };
    let report = shardgate_loadgen::run(&cfg, &sut)?;
    print!("{}", report.table());
    write_json(
        a.json.as_deref(),
        &Kinded {
            kind: KIND,
            result: &report,
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A result file: the result's own fields under a top-level `"kind"`
/// (`bench`, `compare`, …) that `shardgate-lab report` dispatches on.
#[derive(serde::Serialize)]
pub struct Kinded<'a, T> {
    pub kind: &'static str,
    #[serde(flatten)]
    pub result: &'a T,
}

/// The `"kind"` of a `bench --json` file.
pub const KIND: &str = "bench";

pub fn write_json<T: serde::Serialize>(
    path: Option<&std::path::Path>,
    v: &T,
) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let text = serde_json::to_string_pretty(v)?;
    if path.as_os_str() == "-" {
        println!("{text}");
    } else {
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Default self-test placement: the generator on the last available core,
/// the server on the first (the same core on a one-core machine).
fn self_test_cpus(a: &BenchArgs) -> (String, String) {
    let avail = shardgate_runtime::cpus::available_cpus();
    let first = avail.first().copied().unwrap_or(0);
    let last = avail.last().copied().unwrap_or(0);
    (
        a.cpus.clone().unwrap_or_else(|| last.to_string()),
        a.server_cpus.clone().unwrap_or_else(|| first.to_string()),
    )
}

fn self_test(mut a: BenchArgs) -> anyhow::Result<ExitCode> {
    let (gen_cpus, server_cpus) = self_test_cpus(&a);
    a.cpus = Some(gen_cpus.clone());
    let dir = tempfile::Builder::new()
        .prefix("shardgate-lab-selftest-")
        .tempdir()?;
    let port = procs::free_port()?;
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let exe = std::env::current_exe()?;
    let mut server = Child::spawn(
        "fixed-server",
        &exe,
        &[
            "fixed-server".into(),
            "--listen".into(),
            addr.to_string(),
            "--cpus".into(),
            server_cpus.clone(),
        ],
        None,
        dir.path().join("fixed-server.log"),
    )?;
    procs::wait_ready(
        addr,
        "selftest",
        "/",
        Duration::from_secs(10),
        &mut [&mut server],
    )?;
    let server_core = plan_from_cpus(Some(&server_cpus))?
        .cores
        .first()
        .copied()
        .flatten();
    let cfg = a.config(&format!("http://{addr}/"))?;
    let sut = SutSpec {
        pids: vec![server.pid()],
        pattern: None,
        core: server_core,
    };
    let report = shardgate_loadgen::run(&cfg, &sut)?;
    server.stop(Duration::from_secs(2));
    print!("{}", report.table());
    print_ceiling(&report, &gen_cpus, &server_cpus);
    write_json(
        a.json.as_deref(),
        &Kinded {
            kind: KIND,
            result: &report,
        },
    )?;
    let ok = report.requests > 0 && report.errors_total == 0;
    println!("{} passed, {} failed", u8::from(ok), u8::from(!ok));
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_ceiling(r: &BenchReport, gen_cpus: &str, server_cpus: &str) {
    let g = &r.generator_cpu;
    let per_core = g.us_per_request.map(|us| 1e6 / us);
    println!(
        "generator ceiling: {:.0} req/s ({} connections, {}, generator cores {gen_cpus}, fixed-server cores {server_cpus})",
        r.requests_per_second, r.connections, r.connection
    );
    println!(
        "  generator busy {:.0}% of its cores, {:.2} µs CPU per request => {} req/s per fully busy generator core",
        100.0 * g.cores_used / r.generator_cores.len().max(1) as f64,
        g.us_per_request.unwrap_or(0.0),
        per_core.map_or("-".into(), |v| format!("{v:.0}"))
    );
    if let Some(s) = &r.sut_cpu {
        println!(
            "  fixed-server {:.2} µs CPU per request ({:.0}% of a core)",
            s.us_per_request.unwrap_or(0.0),
            100.0 * s.cores_used
        );
    }
}

//! One compare session: the plan, the shared backend, the certificate, the
//! baseline, and starting, probing, measuring and stopping each proxy.

use super::peers::{self, Proxy, Setup, TlsFiles};
use super::scenario::{Listener, Scenario};
use super::{CompareArgs, Plan};
use crate::args::plan_from_cpus;
use crate::procs::{self, Child};
use anyhow::Context;
use shardgate_loadgen::{
    BenchConfig, BenchReport, Pace, Protocol, RequestSpec, RunExtras, SutSpec, Target, TlsClient,
};
use shardgate_runtime::{DriverChoice, ShardPlan};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a proxy run did not happen.
pub(crate) enum StartError {
    /// The proxy does not speak the scenario's protocol yet (it failed to
    /// start with the configuration, or to answer the probe).
    NotSupported(String),
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(e: anyhow::Error) -> Self {
        StartError::Failed(e)
    }
}

/// A proxy started and answering.
pub(crate) struct Started {
    proxy: Proxy,
    child: Child,
    pub port: u16,
    tag: String,
}

/// The protocol the generator speaks to a proxy in `scenario`.
pub(crate) fn protocol_of(scenario: Scenario) -> Protocol {
    protocol_with(scenario, None)
}

fn protocol_with(scenario: Scenario, root: Option<&[u8]>) -> Protocol {
    match scenario.listener() {
        Listener::Http => Protocol::Http1,
        Listener::Https => Protocol::Https(TlsClient {
            server_name: super::tls::SERVER_NAME.into(),
            roots_der: root.map(|r| vec![r.to_vec()]).unwrap_or_default(),
            resumption: scenario.tls_resumption(),
        }),
        Listener::H2c if scenario.grpc() => Protocol::Grpc {
            streams: scenario.streams(),
        },
        Listener::H2c => Protocol::H2c {
            streams: scenario.streams(),
        },
    }
}

pub(crate) struct Lab<'a> {
    a: &'a CompareArgs,
    pub plan: Plan,
    pub out: PathBuf,
    pub connections: usize,
    binaries: BTreeMap<Proxy, PathBuf>,
    backend: Child,
    backend_port: u16,
    run_as_root: bool,
    tls: Option<(TlsFiles, Vec<u8>)>,
    baseline: Option<BenchReport>,
    load_start: Option<f64>,
}

impl<'a> Lab<'a> {
    /// Resolve the plan and binaries, print the header, make the
    /// certificate, start the backend and run the baseline.
    pub fn new(a: &'a CompareArgs) -> anyhow::Result<Lab<'a>> {
        let sc = a.scenario;
        let plan = Plan::resolve(a)?;
        let binaries = super::resolve_binaries(a)?;
        let out = match &a.out {
            Some(d) => d.clone(),
            None => std::env::temp_dir().join(format!(
                "shardgate-lab-compare-{}-{}",
                sc.name(),
                std::process::id()
            )),
        };
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        let connections = a.connections.unwrap_or(sc.connections());
        let order: Vec<&str> = a.proxies.iter().map(|p| p.name()).collect();
        if a.sweep {
            println!(
                "{} sweep: per proxy its closed-loop maximum, then open loop at {:?} % of it, each {:?} (+{:?} warm-up), {} connections; {}",
                sc.name(),
                a.sweep_steps,
                a.duration,
                a.warmup,
                connections,
                sc.describe()
            );
        } else {
            println!(
                "{}: {} round(s) of {} × {:?} (+{:?} warm-up), {} connections, closed loop, {}",
                sc.name(),
                a.rounds,
                order.join(" "),
                a.duration,
                a.warmup,
                connections,
                sc.describe()
            );
        }
        println!("{}", plan.describe());
        println!(
            "backend: shardgate-lab fixed-server ({}-byte {}), the same for every proxy; \
             CPU time per request of the proxy is the fair figure whenever the generator's core is the limit",
            sc.response_body(),
            if sc.grpc() {
                "gRPC messages over h2c"
            } else {
                "200 bodies"
            }
        );
        println!("output: {}", out.display());
        let load_start = super::load_average();
        super::warn_if_busy(load_start);

        let tls = match sc.listener() {
            Listener::Https => Some(super::tls::make(&out.join("tls"))?),
            _ => None,
        };
        let backend_port = procs::free_port()?;
        let backend_addr: SocketAddr = format!("127.0.0.1:{backend_port}").parse()?;
        let mut args: Vec<String> = vec![
            "fixed-server".into(),
            "--listen".into(),
            backend_addr.to_string(),
            "--cpus".into(),
            peers::cpu_list(&plan.backend),
            "--body-size".into(),
            sc.response_body().to_string(),
        ];
        let expect = sc.backend_expect();
        for (n, v) in &expect.present {
            args.push("--expect-header".into());
            args.push(format!("{n}:{v}"));
        }
        for n in &expect.absent {
            args.push("--forbid-header".into());
            args.push(n.clone());
        }
        let backend = Child::spawn(
            "fixed-server",
            &std::env::current_exe()?,
            &args,
            None,
            out.join("fixed-server.log"),
        )?;
        let mut lab = Lab {
            a,
            plan,
            out,
            connections,
            binaries,
            backend,
            backend_port,
            run_as_root: super::is_root(),
            tls,
            baseline: None,
            load_start,
        };
        lab.wait_backend()?;
        if !a.no_baseline {
            lab.run_baseline()?;
        }
        Ok(lab)
    }

    fn wait_backend(&mut self) -> anyhow::Result<()> {
        let addr: SocketAddr = format!("127.0.0.1:{}", self.backend_port).parse()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            self.backend.check_alive()?;
            if Instant::now() > deadline {
                anyhow::bail!("fixed-server did not listen on {addr} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// The generator's configuration against `port`. `direct`: to the
    /// backend itself, in clear text, with the headers as a proxy would
    /// forward them.
    pub fn bench_cfg(&self, port: u16, pace: Pace, direct: bool) -> anyhow::Result<BenchConfig> {
        let sc = self.a.scenario;
        let root = self.tls.as_ref().map(|(_, der)| der.as_slice());
        let mut protocol = protocol_with(sc, root);
        if direct && matches!(protocol, Protocol::Https(_)) {
            protocol = Protocol::Http1;
        }
        let scheme = if matches!(protocol, Protocol::Https(_)) {
            "https"
        } else {
            "http"
        };
        Ok(BenchConfig {
            target: Target::parse(&format!("{scheme}://127.0.0.1:{port}{}", sc.path()))?,
            connections: self.connections,
            duration: self.a.duration,
            warmup: self.a.warmup,
            requests: None,
            pace,
            new_conn: sc.new_conn(),
            plan: plan_from_cpus(Some(&peers::cpu_list(&self.plan.generator)))?,
            driver: DriverChoice::Auto,
            timeout: Duration::from_secs(5),
            request: RequestSpec {
                body: sc.request_body(),
                headers: if direct {
                    sc.forwarded_headers()
                } else {
                    sc.client_headers()
                },
            },
            protocol,
            expect_body: Some(sc.expect_body()),
        })
    }

    fn run_baseline(&mut self) -> anyhow::Result<()> {
        let r = shardgate_loadgen::run(
            &self.bench_cfg(self.backend_port, Pace::Closed, true)?,
            &SutSpec {
                pids: vec![self.backend.pid()],
                pattern: None,
                core: None,
            },
        )?;
        println!(
            "generator ceiling on this plan (direct to the backend, no proxy{}): {:.0} req/s, p50 {:.1} µs, p99 {:.1} µs, \
             generator {:.0}% busy, {:.2} µs CPU/req; backend {:.2} µs CPU/req; errors {}",
            if self.a.scenario.listener() == Listener::Https {
                ", no TLS"
            } else {
                ""
            },
            r.requests_per_second,
            r.latency_us.p50,
            r.latency_us.p99,
            100.0 * r.generator_cpu.cores_used / self.plan.generator.len().max(1) as f64,
            r.generator_cpu.us_per_request.unwrap_or(0.0),
            r.sut_cpu
                .as_ref()
                .and_then(|c| c.us_per_request)
                .unwrap_or(0.0),
            r.errors.summary(),
        );
        if r.requests == 0 {
            anyhow::bail!(
                "the baseline run against the backend got no answer ({}): the backend or the generator is broken",
                r.errors.summary()
            );
        }
        self.baseline = Some(r);
        Ok(())
    }

    /// Write `proxy`'s configuration, start it, and wait until it answers
    /// a request of the scenario (and, with a route table, refuses a path
    /// outside it).
    pub fn start(&mut self, proxy: Proxy, tag: &str) -> Result<Started, StartError> {
        let sc = self.a.scenario;
        let setup = Setup {
            port: procs::free_port()?,
            backend_port: self.backend_port,
            admin_port: procs::free_port()?,
            cpus: self.plan.proxy.clone(),
            dir: self.out.join(proxy.name()),
            run_as_root: self.run_as_root,
            scenario: sc,
            tls: self.tls.as_ref().map(|(f, _)| f.clone()),
        };
        let args = peers::prepare(proxy, &setup, tag)
            .with_context(|| format!("writing the {} configuration", proxy.name()))?;
        let child = Child::spawn(
            proxy.name(),
            &self.binaries[&proxy],
            &args,
            Some(&peers::cpu_list(&self.plan.proxy)),
            setup.dir.join(format!("{tag}.log")),
        )?;
        let mut started = Started {
            proxy,
            child,
            port: setup.port,
            tag: tag.to_string(),
        };
        match self.wait_ready(&mut started) {
            Ok(()) => Ok(started),
            Err(e) => {
                self.stop(started);
                Err(if sc.may_be_unsupported(proxy) {
                    StartError::NotSupported(format!("{e:#}"))
                } else {
                    StartError::Failed(e)
                })
            }
        }
    }

    fn wait_ready(&mut self, s: &mut Started) -> anyhow::Result<()> {
        let sc = self.a.scenario;
        let addr: SocketAddr = format!("127.0.0.1:{}", s.port).parse()?;
        let deadline = Instant::now() + sc.ready_timeout();
        // First the listener; then the scenario's own request.
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            s.child.check_alive()?;
            self.backend.check_alive()?;
            if Instant::now() > deadline {
                anyhow::bail!(
                    "{} did not listen on {addr} within {:?}",
                    s.proxy.name(),
                    sc.ready_timeout()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // A proxy that may not speak the protocol gets a short grace only.
        let probe_deadline = if sc.may_be_unsupported(s.proxy) {
            deadline.min(Instant::now() + Duration::from_secs(5))
        } else {
            deadline
        };
        loop {
            s.child.check_alive()?;
            self.backend.check_alive()?;
            let last = match self.probe(s.port) {
                Ok(()) => break,
                Err(e) => e,
            };
            if Instant::now() > probe_deadline {
                anyhow::bail!(
                    "{} accepted connections but did not answer a {} request on {}{}: {last}",
                    s.proxy.name(),
                    protocol_of(sc).name(),
                    addr,
                    sc.path()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(path) = sc.unrouted_path() {
            let status = procs::get_status(addr, &addr.to_string(), &path)?;
            if (200..300).contains(&status) {
                anyhow::bail!(
                    "{} answered {status} for {path}, which is outside the route table: routes are not being matched",
                    s.proxy.name()
                );
            }
        }
        Ok(())
    }

    /// One request of the scenario through the generator itself.
    fn probe(&self, port: u16) -> Result<(), String> {
        let mut cfg = self
            .bench_cfg(port, Pace::Closed, false)
            .map_err(|e| e.to_string())?;
        cfg.connections = 1;
        cfg.requests = Some(1);
        cfg.warmup = Duration::ZERO;
        cfg.duration = Duration::from_secs(3);
        cfg.timeout = Duration::from_secs(2);
        cfg.plan = ShardPlan { cores: vec![None] };
        match shardgate_loadgen::run(&cfg, &SutSpec::default()) {
            Ok(r) if r.requests == 1 => Ok(()),
            Ok(r) => Err(format!("errors {}", r.errors.summary())),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Measure the scenario through a started proxy.
    pub fn measure(&mut self, s: &Started, pace: Pace) -> anyhow::Result<(BenchReport, RunExtras)> {
        let cfg = self.bench_cfg(s.port, pace, false)?;
        let r = shardgate_loadgen::run_full(
            &cfg,
            &SutSpec {
                pids: vec![s.child.pid()],
                pattern: None,
                core: self.plan.proxy.first().copied(),
            },
        )?;
        Ok(r)
    }

    pub fn stop(&mut self, mut s: Started) {
        s.child.stop(Duration::from_secs(5));
        if s.proxy == Proxy::Shardgate {
            super::remove_segment(&peers::shm_path(&s.tag));
        }
    }

    /// Start, measure once, stop.
    pub fn one_run(
        &mut self,
        proxy: Proxy,
        tag: &str,
        pace: Pace,
    ) -> Result<(BenchReport, RunExtras), StartError> {
        let s = self.start(proxy, tag)?;
        let r = self.measure(&s, pace);
        self.stop(s);
        r.map_err(StartError::Failed)
    }

    /// Stop the backend; the baseline and the load averages.
    pub fn finish(mut self) -> (Option<BenchReport>, Option<f64>, Option<f64>) {
        self.backend.stop(Duration::from_secs(2));
        let load_end = super::load_average();
        super::warn_if_busy(load_end);
        (self.baseline.take(), self.load_start, load_end)
    }

    pub fn out(&self) -> &Path {
        &self.out
    }
}

//! Running a bench: one pinned shard per generator core, each driving its
//! share of the connections; the calling thread samples CPU time around the
//! measurement window and merges the shards' stats into a report.

use crate::config::{BenchConfig, ConfigError, Pace, Protocol};
use crate::conn::{ShardRun, request_loop};
use crate::h1::{H1, Plain};
use crate::h2::{H2Conn, H2Request, H2Stream};
use crate::report::{BenchReport, CpuSample, build_report};
use crate::stats::ShardStats;
use crate::sut::{self, SutError};
use crate::tls::TlsConnector;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Time given to the shards to start before the first request.
const START_DELAY: Duration = Duration::from_millis(50);

#[derive(Debug, Error)]
pub enum BenchError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Sut(#[from] SutError),
    #[error("starting generator shards: {0}")]
    Spawn(std::io::Error),
    #[error("generator shard {0} stopped without reporting")]
    ShardLost(usize),
    #[error("{0}")]
    Request(String),
}

/// What a run measured beyond the [`BenchReport`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunExtras {
    /// `http/1.1`, `http/1.1+tls`, `h2c` or `grpc`.
    pub protocol: String,
    /// Concurrent request loops per connection (HTTP/2 streams).
    pub streams_per_connection: usize,
    /// TLS handshakes completed and how many resumed a session.
    pub tls_handshakes: u64,
    pub tls_resumed: u64,
}

/// Whose CPU time to charge to the system under test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SutSpec {
    /// Processes (each with all its descendants).
    pub pids: Vec<u32>,
    /// Processes whose command line contains this text (with descendants).
    pub pattern: Option<String>,
    /// A core whose busy time is reported per request.
    pub core: Option<usize>,
}

impl SutSpec {
    /// The root pids, resolving the pattern now.
    pub fn resolve(&self) -> Result<Vec<u32>, SutError> {
        let mut pids = self.pids.clone();
        for &pid in &self.pids {
            sut::read_proc_stat(pid)?;
        }
        if let Some(p) = &self.pattern {
            pids.extend(sut::find_by_cmdline(p)?);
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }
}

struct Job {
    cfg: BenchConfig,
    start: Instant,
    measure_start: Instant,
    end: Instant,
}

/// Run the bench described by `cfg`, charging CPU to `sut`.
pub fn run(cfg: &BenchConfig, sut_spec: &SutSpec) -> Result<BenchReport, BenchError> {
    run_full(cfg, sut_spec).map(|(r, _)| r)
}

/// [`run`], with the figures the report does not carry.
pub fn run_full(
    cfg: &BenchConfig,
    sut_spec: &SutSpec,
) -> Result<(BenchReport, RunExtras), BenchError> {
    cfg.validate()?;
    // Fail early (not in every shard) on a bad TLS setup or request.
    if let Protocol::Https(t) = &cfg.protocol {
        TlsConnector::new(t).map_err(BenchError::Request)?;
    }
    if let Protocol::H2c { .. } | Protocol::Grpc { .. } = &cfg.protocol {
        h2_request(cfg).map_err(BenchError::Request)?;
    }
    let sut_pids = sut_spec.resolve()?;
    if let Some(core) = sut_spec.core {
        sut::read_core_ticks(core)?;
    }
    let start = Instant::now() + START_DELAY;
    let measure_start = start + cfg.warmup;
    let job = Arc::new(Job {
        cfg: cfg.clone(),
        start,
        measure_start,
        end: measure_start + cfg.duration,
    });
    let (tx, rx) = crossbeam_channel::unbounded::<(usize, ShardStats, Instant)>();
    let shards = shardgate_runtime::spawn_shards::<(), _, _>(&cfg.plan, cfg.driver, {
        let job = job.clone();
        move |ctx| {
            let job = job.clone();
            let tx = tx.clone();
            async move {
                let index = ctx.index;
                let (stats, finished) = shard_main(&job, index).await;
                let _ = tx.send((index, stats, finished));
            }
        }
    })
    .map_err(BenchError::Spawn)?;

    std::thread::sleep(measure_start.saturating_duration_since(Instant::now()));
    let before = CpuSample::take(&sut_pids, sut_spec.core);
    let mut merged = ShardStats::new();
    let mut finished = measure_start;
    let mut seen = vec![false; shards.len()];
    for _ in 0..shards.len() {
        let Ok((index, stats, done)) = rx.recv() else {
            let lost = seen.iter().position(|s| !s).unwrap_or(0);
            return Err(BenchError::ShardLost(lost));
        };
        seen[index] = true;
        merged.merge(&stats);
        finished = finished.max(done);
    }
    let after = CpuSample::take(&sut_pids, sut_spec.core);
    for s in shards {
        s.join();
    }
    let window = finished.saturating_duration_since(measure_start);
    let report = build_report(
        cfg,
        &merged,
        window,
        &before,
        &after,
        &sut_pids,
        sut_spec.core,
    );
    let extras = RunExtras {
        protocol: cfg.protocol.name().to_string(),
        streams_per_connection: cfg.protocol.streams(),
        tls_handshakes: merged.tls_handshakes,
        tls_resumed: merged.tls_resumed,
    };
    Ok((report, extras))
}

fn h2_request(cfg: &BenchConfig) -> Result<H2Request, String> {
    H2Request::new(
        &cfg.target.host,
        &cfg.target.path,
        &cfg.request.headers,
        cfg.request.body,
        matches!(cfg.protocol, Protocol::Grpc { .. }),
    )
}

/// One shard: spawn its connections, wait for them, hand back its stats
/// and when it finished (never later than the end of the window).
async fn shard_main(job: &Job, index: usize) -> (ShardStats, Instant) {
    let cfg = &job.cfg;
    let conns = cfg.shard_connections(index);
    let streams = cfg.protocol.streams();
    // Request loops in all shards: the open-loop rate is split over them.
    let total = (cfg.connections * streams) as f64;
    let interval = match cfg.pace {
        Pace::Closed => None,
        Pace::Open { rate } => Some(Duration::from_secs_f64(total / rate)),
    };
    let run = Rc::new(ShardRun {
        addr: cfg.target.addr,
        new_conn: cfg.new_conn,
        expect_body: cfg.expect_body,
        timeout: cfg.timeout,
        interval,
        start: job.start,
        measure_start: job.measure_start,
        end: job.end,
        budget: Cell::new(cfg.shard_requests(index)),
        stats: RefCell::new(ShardStats::new()),
    });
    monoio::time::sleep_until(monoio::time::Instant::from_std(job.start)).await;
    // Global loop number, so open-loop phases interleave across shards.
    let first: usize = (0..index).map(|i| cfg.shard_connections(i)).sum::<usize>() * streams;
    let phase =
        |n: usize| interval.map_or(Duration::ZERO, |iv| iv.mul_f64((first + n) as f64 / total));
    let request = crate::http::request_with(
        &cfg.target.host,
        &cfg.target.path,
        cfg.new_conn,
        &cfg.request,
    );
    let mut tasks = Vec::with_capacity(conns * streams);
    match &cfg.protocol {
        Protocol::Http1 => {
            let plain = Rc::new(Plain);
            for c in 0..conns {
                let ex = H1::new(plain.clone(), request.clone());
                tasks.push(monoio::spawn(request_loop(run.clone(), phase(c), ex)));
            }
        }
        Protocol::Https(t) => match TlsConnector::new(t) {
            Ok(connector) => {
                let connector = Rc::new(connector);
                for c in 0..conns {
                    let ex = H1::new(connector.clone(), request.clone());
                    tasks.push(monoio::spawn(request_loop(run.clone(), phase(c), ex)));
                }
            }
            Err(e) => tracing::error!(error = %e, "TLS client setup"),
        },
        Protocol::H2c { .. } | Protocol::Grpc { .. } => match h2_request(cfg) {
            Ok(req) => {
                let req = Rc::new(req);
                for c in 0..conns {
                    let conn = Rc::new(H2Conn::default());
                    for s in 0..streams {
                        let ex = H2Stream {
                            conn: conn.clone(),
                            request: req.clone(),
                        };
                        let n = s * conns + c;
                        tasks.push(monoio::spawn(request_loop(run.clone(), phase(n), ex)));
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "HTTP/2 request setup"),
        },
    }
    for t in tasks {
        t.await;
    }
    let finished = Instant::now().min(job.end);
    let stats = run.stats.replace(ShardStats::new());
    (stats, finished)
}

//! Running a bench: one pinned shard per generator core, each driving its
//! share of the connections; the calling thread samples CPU time around the
//! measurement window and merges the shards' stats into a report.

use crate::config::{BenchConfig, ConfigError, Pace};
use crate::conn::{ShardRun, connection};
use crate::report::{BenchReport, CpuSample, build_report};
use crate::stats::ShardStats;
use crate::sut::{self, SutError};
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
    cfg.validate()?;
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
    Ok(build_report(
        cfg,
        &merged,
        window,
        &before,
        &after,
        &sut_pids,
        sut_spec.core,
    ))
}

/// One shard: spawn its connections, wait for them, hand back its stats
/// and when it finished (never later than the end of the window).
async fn shard_main(job: &Job, index: usize) -> (ShardStats, Instant) {
    let cfg = &job.cfg;
    let conns = cfg.shard_connections(index);
    let total = cfg.connections as f64;
    let interval = match cfg.pace {
        Pace::Closed => None,
        Pace::Open { rate } => Some(Duration::from_secs_f64(total / rate)),
    };
    let run = Rc::new(ShardRun {
        addr: cfg.target.addr,
        request: crate::http::request(&cfg.target.host, &cfg.target.path, cfg.new_conn),
        new_conn: cfg.new_conn,
        timeout: cfg.timeout,
        interval,
        start: job.start,
        measure_start: job.measure_start,
        end: job.end,
        budget: Cell::new(cfg.shard_requests(index)),
        stats: RefCell::new(ShardStats::new()),
    });
    monoio::time::sleep_until(monoio::time::Instant::from_std(job.start)).await;
    // Global connection number, so open-loop phases interleave across shards.
    let first: usize = (0..index).map(|i| cfg.shard_connections(i)).sum();
    let mut tasks = Vec::with_capacity(conns);
    for c in 0..conns {
        let phase = interval.map_or(Duration::ZERO, |iv| iv.mul_f64((first + c) as f64 / total));
        tasks.push(monoio::spawn(connection(run.clone(), phase)));
    }
    for t in tasks {
        t.await;
    }
    let finished = Instant::now().min(job.end);
    let stats = run.stats.replace(ShardStats::new());
    (stats, finished)
}

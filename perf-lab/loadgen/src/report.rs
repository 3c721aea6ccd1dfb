//! The result of a bench run: JSON-serialisable, with a human table.

use crate::config::{BenchConfig, Pace};
use crate::stats::{ErrorCounts, ShardStats};
use crate::sut::{self, CoreTicks, USER_HZ};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub min: f64,
    pub mean: f64,
    pub stdev: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// The distribution at [`SPECTRUM_POINTS`] percentiles spaced evenly on
    /// a log scale of `1/(1 - p)` from 0 to 99.999 (the shape of a latency
    /// CDF chart); empty in reports written before it existed.
    #[serde(default)]
    pub spectrum: Vec<Percentile>,
}

/// One point of a latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentile {
    /// 0..100.
    pub percentile: f64,
    /// The latency at that percentile, microseconds.
    pub us: f64,
}

/// Points in [`Latency::spectrum`]: 20 per decade of `1/(1 - p)`, five
/// decades (0 % … 99.999 %).
pub const SPECTRUM_POINTS: usize = 101;

/// The latency spectrum of a histogram of nanoseconds.
pub fn spectrum(h: &Histogram<u64>) -> Vec<Percentile> {
    if h.is_empty() {
        return Vec::new();
    }
    (0..SPECTRUM_POINTS)
        .map(|i| {
            let q = 1.0 - 10f64.powf(-(i as f64) / 20.0);
            // Six decimals keep the JSON readable and exact at the decades.
            let percentile = (q * 100.0 * 1e6).round() / 1e6;
            Percentile {
                percentile,
                us: h.value_at_quantile(q) as f64 / 1000.0,
            }
        })
        .collect()
}

/// CPU time spent by the processes under test during the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessCpu {
    /// The root pids (their descendants are included).
    pub pids: Vec<u32>,
    pub cpu_seconds: f64,
    /// CPU seconds per second of the window (1.0 = one full core).
    pub cores_used: f64,
    /// CPU microseconds per successful request.
    pub us_per_request: Option<f64>,
}

/// Busy time of one core during the window (everything that ran on it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoreCpu {
    pub core: usize,
    pub busy_seconds: f64,
    /// Busy share of the core, 0..1.
    pub utilisation: f64,
    pub us_per_request: Option<f64>,
}

/// One second of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Second {
    pub second: usize,
    pub requests: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub url: String,
    pub host: String,
    /// `closed` or `open`.
    pub mode: String,
    /// Open loop: the target rate, requests per second.
    pub target_rate: Option<f64>,
    /// `keep-alive` or `new-connection`.
    pub connection: String,
    pub connections: usize,
    /// Generator cores (`null` entries: unpinned shards).
    pub generator_cores: Vec<Option<usize>>,
    pub warmup_seconds: f64,
    /// Length of the measurement window actually run.
    pub duration_seconds: f64,
    /// Successful (2xx) requests completed in the window.
    pub requests: u64,
    pub requests_per_second: f64,
    pub warmup_requests: u64,
    pub connections_opened: u64,
    pub errors: ErrorCounts,
    pub errors_total: u64,
    /// Latency of successful requests, microseconds.
    pub latency_us: Latency,
    pub timeline: Vec<Second>,
    /// The generator's own CPU time (this process).
    pub generator_cpu: ProcessCpu,
    pub sut_cpu: Option<ProcessCpu>,
    pub sut_core: Option<CoreCpu>,
}

/// CPU counters read at one instant.
#[derive(Debug, Clone, Default)]
pub struct CpuSample {
    pub tree: BTreeMap<u32, u64>,
    pub own: u64,
    pub core: Option<CoreTicks>,
}

impl CpuSample {
    pub fn take(pids: &[u32], core: Option<usize>) -> CpuSample {
        CpuSample {
            tree: if pids.is_empty() {
                BTreeMap::new()
            } else {
                sut::sample_tree(pids)
            },
            own: sut::read_proc_stat(std::process::id()).map_or(0, |s| s.ticks),
            core: core.and_then(|c| sut::read_core_ticks(c).ok()),
        }
    }
}

fn per_request(seconds: f64, requests: u64) -> Option<f64> {
    (requests > 0).then(|| seconds * 1e6 / requests as f64)
}

pub(crate) fn build_report(
    cfg: &BenchConfig,
    s: &ShardStats,
    window: Duration,
    before: &CpuSample,
    after: &CpuSample,
    sut_pids: &[u32],
    sut_core: Option<usize>,
) -> BenchReport {
    let secs = window.as_secs_f64().max(1e-9);
    let h = &s.latency;
    let us = |ns: u64| ns as f64 / 1000.0;
    let latency = if h.is_empty() {
        Latency::default()
    } else {
        Latency {
            min: us(h.min()),
            mean: h.mean() / 1000.0,
            stdev: h.stdev() / 1000.0,
            p50: us(h.value_at_quantile(0.50)),
            p90: us(h.value_at_quantile(0.90)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
            spectrum: spectrum(h),
        }
    };
    let seconds = s.timeline_ok.len().max(s.timeline_err.len());
    let timeline = (0..seconds)
        .map(|i| Second {
            second: i,
            requests: s.timeline_ok.get(i).copied().unwrap_or(0),
            errors: s.timeline_err.get(i).copied().unwrap_or(0),
        })
        .collect();
    let own = after.own.saturating_sub(before.own) as f64 / USER_HZ;
    let process = |pids: Vec<u32>, cpu: f64| ProcessCpu {
        pids,
        cpu_seconds: cpu,
        cores_used: cpu / secs,
        us_per_request: per_request(cpu, s.requests),
    };
    let sut_cpu = (!sut_pids.is_empty()).then(|| {
        let ticks = sut::tree_delta(&before.tree, &after.tree);
        process(sut_pids.to_vec(), ticks as f64 / USER_HZ)
    });
    let sut_core = match (sut_core, before.core, after.core) {
        (Some(core), Some(a), Some(b)) => {
            let busy = b.busy.saturating_sub(a.busy) as f64 / USER_HZ;
            let total = b.total.saturating_sub(a.total) as f64 / USER_HZ;
            Some(CoreCpu {
                core,
                busy_seconds: busy,
                utilisation: if total > 0.0 { busy / total } else { 0.0 },
                us_per_request: per_request(busy, s.requests),
            })
        }
        _ => None,
    };
    BenchReport {
        url: cfg.target.url.clone(),
        host: cfg.target.host.clone(),
        mode: match cfg.pace {
            Pace::Closed => "closed".into(),
            Pace::Open { .. } => "open".into(),
        },
        target_rate: match cfg.pace {
            Pace::Closed => None,
            Pace::Open { rate } => Some(rate),
        },
        connection: if cfg.new_conn {
            "new-connection".into()
        } else {
            "keep-alive".into()
        },
        connections: cfg.connections,
        generator_cores: cfg.plan.cores.clone(),
        warmup_seconds: cfg.warmup.as_secs_f64(),
        duration_seconds: window.as_secs_f64(),
        requests: s.requests,
        requests_per_second: s.requests as f64 / secs,
        warmup_requests: s.warmup_requests,
        connections_opened: s.connections_opened,
        errors: s.errors.clone(),
        errors_total: s.errors.total(),
        latency_us: latency,
        timeline,
        generator_cpu: process(vec![std::process::id()], own),
        sut_cpu,
        sut_core,
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

impl BenchReport {
    /// The human table.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let rate = self
            .target_rate
            .map_or(String::new(), |r| format!(" at {r:.0} req/s"));
        let _ = writeln!(
            t,
            "{} | {} loop{}, {}, {} connections, generator cores {}",
            self.url,
            self.mode,
            rate,
            self.connection,
            self.connections,
            cores(&self.generator_cores)
        );
        let _ = writeln!(
            t,
            "window {:.2} s after {:.1} s warm-up ({} warm-up requests, {} connections opened)",
            self.duration_seconds,
            self.warmup_seconds,
            self.warmup_requests,
            self.connections_opened
        );
        let l = &self.latency_us;
        let _ = writeln!(
            t,
            "{:>12} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "req/s", "requests", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "errors"
        );
        let _ = writeln!(
            t,
            "{:>12.0} {:>10} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10}",
            self.requests_per_second,
            self.requests,
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            self.errors_total
        );
        let _ = writeln!(t, "errors by kind: {}", self.errors.summary());
        let g = &self.generator_cpu;
        let _ = writeln!(
            t,
            "generator CPU: {:.2} s ({:.2} cores), {} µs/request",
            g.cpu_seconds,
            g.cores_used,
            opt(g.us_per_request)
        );
        if let Some(s) = &self.sut_cpu {
            let _ = writeln!(
                t,
                "SUT CPU (pids {:?} + children): {:.2} s ({:.2} cores), {} µs/request",
                s.pids,
                s.cpu_seconds,
                s.cores_used,
                opt(s.us_per_request)
            );
        }
        if let Some(c) = &self.sut_core {
            let _ = writeln!(
                t,
                "core {} busy: {:.2} s ({:.0}%), {} µs/request",
                c.core,
                c.busy_seconds,
                c.utilisation * 100.0,
                opt(c.us_per_request)
            );
        }
        let tl: Vec<String> = self
            .timeline
            .iter()
            .map(|s| s.requests.to_string())
            .collect();
        let _ = writeln!(t, "timeline (req per second): {}", tl.join(" "));
        t
    }
}

fn cores(c: &[Option<usize>]) -> String {
    c.iter()
        .map(|c| c.map_or_else(|| "any".to_string(), |c| c.to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::new_histogram;

    #[test]
    fn spectrum_spans_five_decades_in_order() {
        assert!(spectrum(&new_histogram()).is_empty());
        let mut h = new_histogram();
        for us in 1..=100_000u64 {
            h.record(us * 1000).expect("in range");
        }
        let s = spectrum(&h);
        assert_eq!(s.len(), SPECTRUM_POINTS);
        assert_eq!(s[0].percentile, 0.0);
        let decades: Vec<f64> = [20, 40, 60, 80, 100].map(|i| s[i].percentile).to_vec();
        assert_eq!(decades, vec![90.0, 99.0, 99.9, 99.99, 99.999]);
        assert!(s.windows(2).all(|w| w[0].percentile < w[1].percentile));
        assert!(s.windows(2).all(|w| w[0].us <= w[1].us));
        // 3 significant digits: within 0.1 % of the exact value.
        let p99 = s[40].us;
        assert!((98_900.0..=99_100.0).contains(&p99), "p99 {p99}");
        assert!(s[0].us <= 1.001, "min {}", s[0].us);
    }
}

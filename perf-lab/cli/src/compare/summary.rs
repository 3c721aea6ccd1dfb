//! Medians, spreads and shardgate/peer ratios over the rounds of a compare.

use serde::Serialize;
use shardgate_loadgen::BenchReport;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A figure read off one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Rps,
    P50,
    P99,
    ProxyCpu,
    CoreCpu,
}

impl Figure {
    pub const ALL: [Figure; 5] = [
        Figure::Rps,
        Figure::P50,
        Figure::P99,
        Figure::ProxyCpu,
        Figure::CoreCpu,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Figure::Rps => "req/s",
            Figure::P50 => "p50 µs",
            Figure::P99 => "p99 µs",
            Figure::ProxyCpu => "proxy CPU µs/req",
            Figure::CoreCpu => "proxy core busy µs/req",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Figure::Rps => "requests_per_second",
            Figure::P50 => "p50_us",
            Figure::P99 => "p99_us",
            Figure::ProxyCpu => "proxy_cpu_us_per_request",
            Figure::CoreCpu => "proxy_core_busy_us_per_request",
        }
    }

    pub fn higher_is_better(self) -> bool {
        self == Figure::Rps
    }

    pub fn of(self, r: &BenchReport) -> Option<f64> {
        match self {
            Figure::Rps => Some(r.requests_per_second),
            Figure::P50 => (r.requests > 0).then_some(r.latency_us.p50),
            Figure::P99 => (r.requests > 0).then_some(r.latency_us.p99),
            Figure::ProxyCpu => r.sut_cpu.as_ref().and_then(|c| c.us_per_request),
            Figure::CoreCpu => r.sut_core.as_ref().and_then(|c| c.us_per_request),
        }
    }
}

/// Median and range of a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
    /// Half the range relative to the median, in percent.
    pub spread_pct: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        let (min, max) = (v[0], v[n - 1]);
        let spread_pct = if median == 0.0 {
            0.0
        } else {
            50.0 * (max - min) / median.abs()
        };
        Some(Spread {
            median,
            min,
            max,
            n,
            spread_pct,
        })
    }
}

/// One proxy's runs, in round order (`None`: the run failed).
pub type Runs = BTreeMap<String, Vec<Option<BenchReport>>>;

/// Per proxy, per figure: the spread over rounds.
pub fn per_proxy(runs: &Runs) -> BTreeMap<String, BTreeMap<&'static str, Spread>> {
    runs.iter()
        .map(|(proxy, reports)| {
            let figures = Figure::ALL
                .iter()
                .filter_map(|f| {
                    let vals: Vec<f64> = reports.iter().flatten().filter_map(|r| f.of(r)).collect();
                    Spread::of(&vals).map(|s| (f.key(), s))
                })
                .collect();
            (proxy.clone(), figures)
        })
        .collect()
}

/// Per peer, per figure: the spread of the per-round ratio
/// `base / peer` (rounds where either run failed are left out).
pub fn ratios(runs: &Runs, base: &str) -> BTreeMap<String, BTreeMap<&'static str, Spread>> {
    let Some(base_runs) = runs.get(base) else {
        return BTreeMap::new();
    };
    runs.iter()
        .filter(|(p, _)| p.as_str() != base)
        .map(|(peer, peer_runs)| {
            let figures = Figure::ALL
                .iter()
                .filter_map(|f| {
                    let vals: Vec<f64> = base_runs
                        .iter()
                        .zip(peer_runs)
                        .filter_map(|(a, b)| {
                            let (a, b) = (f.of(a.as_ref()?)?, f.of(b.as_ref()?)?);
                            (b != 0.0).then(|| a / b)
                        })
                        .collect();
                    Spread::of(&vals).map(|s| (f.key(), s))
                })
                .collect();
            (peer.clone(), figures)
        })
        .collect()
}

fn cell(s: Option<&Spread>, digits: usize) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.n == 1 => format!("{:.*}", digits, s.median),
        Some(s) => format!(
            "{:.*} [{:.*}–{:.*}]",
            digits, s.median, digits, s.min, digits, s.max
        ),
    }
}

/// The table of medians with [min–max] per proxy, with the proxies that do not support the scenario
/// saying so in their column.
pub fn medians_table_noting(
    order: &[String],
    per: &BTreeMap<String, BTreeMap<&'static str, Spread>>,
    not_supported: &BTreeMap<String, String>,
) -> String {
    let mut t = String::new();
    let _ = write!(t, "{:<24}", "median [min–max]");
    for p in order {
        let _ = write!(t, " {p:>28}");
    }
    t.push('\n');
    for f in Figure::ALL {
        let _ = write!(t, "{:<24}", f.label());
        let digits = if f == Figure::Rps { 0 } else { 1 };
        for p in order {
            let text = if not_supported.contains_key(p) {
                "not yet supported".to_string()
            } else {
                cell(per.get(p).and_then(|m| m.get(f.key())), digits)
            };
            let _ = write!(t, " {text:>28}");
        }
        t.push('\n');
    }
    t
}

/// The ratio table `base/peer`, with which direction is better.
pub fn ratio_table(
    base: &str,
    peers: &[String],
    ratios: &BTreeMap<String, BTreeMap<&'static str, Spread>>,
) -> String {
    let mut t = String::new();
    let _ = write!(t, "{:<44}", format!("ratio {base}/peer (median [min–max])"));
    for p in peers {
        let _ = write!(t, " {p:>22}");
    }
    t.push('\n');
    for f in Figure::ALL {
        let better = if f.higher_is_better() {
            "higher is better"
        } else {
            "lower is better"
        };
        let _ = write!(t, "{:<44}", format!("{} ({better})", f.label()));
        for p in peers {
            let s = ratios.get(p).and_then(|m| m.get(f.key()));
            let _ = write!(t, " {:>22}", cell(s, 2));
        }
        t.push('\n');
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads() {
        let s = Spread::of(&[3.0, 1.0, 2.0]).expect("values");
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        assert_eq!(s.spread_pct, 50.0);
        assert_eq!(Spread::of(&[4.0, 1.0]).map(|s| s.median), Some(2.5));
        assert_eq!(Spread::of(&[f64::NAN]), None);
        assert_eq!(cell(Spread::of(&[1.234]).as_ref(), 2), "1.23");
        assert_eq!(cell(Spread::of(&[1.0, 3.0]).as_ref(), 0), "2 [1–3]");
    }

    fn report(rps: f64, p50: f64, cpu: f64) -> BenchReport {
        use shardgate_loadgen::report::{Latency, ProcessCpu};
        BenchReport {
            url: "http://127.0.0.1:1/".into(),
            host: "127.0.0.1:1".into(),
            mode: "closed".into(),
            target_rate: None,
            connection: "keep-alive".into(),
            connections: 1,
            generator_cores: vec![None],
            warmup_seconds: 0.0,
            duration_seconds: 1.0,
            requests: rps as u64,
            requests_per_second: rps,
            warmup_requests: 0,
            connections_opened: 1,
            errors: Default::default(),
            errors_total: 0,
            latency_us: Latency {
                p50,
                p99: p50 * 2.0,
                ..Latency::default()
            },
            timeline: Vec::new(),
            generator_cpu: ProcessCpu {
                pids: vec![1],
                cpu_seconds: 0.0,
                cores_used: 0.0,
                us_per_request: None,
            },
            sut_cpu: Some(ProcessCpu {
                pids: vec![2],
                cpu_seconds: 0.0,
                cores_used: 0.0,
                us_per_request: Some(cpu),
            }),
            sut_core: None,
        }
    }

    #[test]
    fn ratios_pair_runs_of_the_same_round_and_skip_failures() {
        let runs: Runs = BTreeMap::from([
            (
                "shardgate".to_string(),
                vec![
                    Some(report(200.0, 10.0, 5.0)),
                    Some(report(300.0, 10.0, 6.0)),
                    Some(report(1.0, 1.0, 1.0)),
                ],
            ),
            (
                "nginx".to_string(),
                vec![
                    Some(report(100.0, 20.0, 10.0)),
                    Some(report(100.0, 40.0, 12.0)),
                    None,
                ],
            ),
        ]);
        let r = ratios(&runs, "shardgate");
        let n = &r["nginx"];
        let rps = n["requests_per_second"];
        assert_eq!((rps.median, rps.min, rps.max, rps.n), (2.5, 2.0, 3.0, 2));
        assert_eq!(n["p50_us"].median, 0.375);
        assert_eq!(n["proxy_cpu_us_per_request"].median, 0.5);
        assert!(!n.contains_key("proxy_core_busy_us_per_request"));
        assert!(!r.contains_key("shardgate"));
        let per = per_proxy(&runs);
        assert_eq!(per["nginx"]["requests_per_second"].n, 2);
        assert_eq!(per["shardgate"]["requests_per_second"].median, 200.0);
        let table = ratio_table("shardgate", &["nginx".into()], &r);
        assert!(table.contains("2.50 [2.00–3.00]"), "{table}");
        let order = vec!["shardgate".to_string(), "nginx".to_string()];
        let unsupported = BTreeMap::from([("shardgate".to_string(), "no h2".to_string())]);
        let t = medians_table_noting(&order, &per, &unsupported);
        assert_eq!(
            t.matches("not yet supported").count(),
            Figure::ALL.len(),
            "{t}"
        );
        assert!(t.contains("150 [100–200]") || t.contains("100"), "{t}");
    }
}

//! `compare --sweep`: latency against load. Per proxy (started once for
//! its whole curve): its closed-loop maximum req/s, then open loop (with
//! coordinated-omission correction) at each step's share of that maximum,
//! recording p50/p90/p99/p99.9 — one latency-vs-load curve per proxy, in
//! `sweep.json` with `"kind": "sweep"`.

use super::lab::{Lab, StartError};
use super::{CompareArgs, Plan, run_passed, tally};
use serde::{Deserialize, Serialize};
use shardgate_loadgen::{BenchReport, Pace, RunExtras};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

/// The `"kind"` of `sweep.json`.
pub const KIND: &str = "sweep";

/// A whole sweep: what `shardgate-lab report` reads for latency-vs-load
/// curves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepResult {
    /// Always [`KIND`].
    pub kind: String,
    /// The scenario's name (`small-get-keepalive`, …).
    pub scenario: String,
    pub description: String,
    /// `http/1.1`, `http/1.1+tls`, `h2c` or `grpc`.
    pub protocol: String,
    pub plan: Plan,
    pub duration_seconds: f64,
    pub warmup_seconds: f64,
    pub connections: usize,
    /// The steps, in percent of each proxy's own maximum.
    pub steps_percent: Vec<u32>,
    pub backend: String,
    /// The generator straight to the backend (closed loop).
    pub baseline: Option<BenchReport>,
    /// One curve per proxy, in run order.
    pub curves: Vec<SweepCurve>,
    pub load_start: Option<f64>,
    pub load_end: Option<f64>,
    /// Points (and maximum runs) that passed / failed; curves of proxies
    /// that do not support the scenario are skipped.
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// One proxy's latency-vs-load curve.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepCurve {
    pub proxy: String,
    /// `measured`, `failed` or `not-supported`.
    pub status: String,
    /// Why the curve is missing or incomplete.
    pub note: Option<String>,
    /// The closed-loop maximum the steps are shares of.
    pub max_requests_per_second: Option<f64>,
    pub max_run: Option<BenchReport>,
    pub points: Vec<SweepPoint>,
}

/// One open-loop step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepPoint {
    pub percent: u32,
    /// The open-loop rate asked for, req/s.
    pub target_rate: f64,
    /// What was achieved (successful requests per second).
    pub requests_per_second: f64,
    /// Latency in µs, counted from each request's scheduled send time.
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub errors: u64,
    pub passed: bool,
    pub error: Option<String>,
    pub report: Option<BenchReport>,
    pub extras: Option<RunExtras>,
}

impl SweepPoint {
    fn of(percent: u32, target_rate: f64, r: anyhow::Result<(BenchReport, RunExtras)>) -> Self {
        match r {
            Ok((r, x)) => SweepPoint {
                percent,
                target_rate,
                requests_per_second: r.requests_per_second,
                p50_us: r.latency_us.p50,
                p90_us: r.latency_us.p90,
                p99_us: r.latency_us.p99,
                p999_us: r.latency_us.p999,
                max_us: r.latency_us.max,
                errors: r.errors_total,
                passed: run_passed(&r),
                error: None,
                report: Some(r),
                extras: Some(x),
            },
            Err(e) => SweepPoint {
                percent,
                target_rate,
                requests_per_second: 0.0,
                p50_us: 0.0,
                p90_us: 0.0,
                p99_us: 0.0,
                p999_us: 0.0,
                max_us: 0.0,
                errors: 0,
                passed: false,
                error: Some(format!("{e:#}")),
                report: None,
                extras: None,
            },
        }
    }
}

/// Run every proxy's curve, print the table, write `sweep.json`.
pub(crate) fn run(a: &CompareArgs, mut lab: Lab<'_>, started: Instant) -> anyhow::Result<ExitCode> {
    let mut curves = Vec::new();
    for &proxy in &a.proxies {
        let tag = format!("{}-sweep", proxy.name());
        let mut curve = SweepCurve {
            proxy: proxy.name().to_string(),
            status: "measured".into(),
            note: None,
            max_requests_per_second: None,
            max_run: None,
            points: Vec::new(),
        };
        let s = match lab.start(proxy, &tag) {
            Ok(s) => s,
            Err(StartError::NotSupported(why)) => {
                println!("{:<10} not yet supported: {why}", proxy.name());
                curve.status = "not-supported".into();
                curve.note = Some(why);
                curves.push(curve);
                continue;
            }
            Err(StartError::Failed(e)) => {
                println!("{:<10} FAILED to start: {e:#}", proxy.name());
                curve.status = "failed".into();
                curve.note = Some(format!("{e:#}"));
                curves.push(curve);
                continue;
            }
        };
        match lab.measure(&s, Pace::Closed) {
            Ok((r, _)) if run_passed(&r) => {
                println!(
                    "{:<10} maximum (closed loop): {:.0} req/s, p50 {:.1} µs, p99 {:.1} µs",
                    proxy.name(),
                    r.requests_per_second,
                    r.latency_us.p50,
                    r.latency_us.p99
                );
                curve.max_requests_per_second = Some(r.requests_per_second);
                curve.max_run = Some(r);
            }
            Ok((r, _)) => {
                curve.status = "failed".into();
                curve.note = Some(format!(
                    "closed-loop maximum run failed: {} requests, errors {}",
                    r.requests,
                    r.errors.summary()
                ));
                curve.max_run = Some(r);
            }
            Err(e) => {
                curve.status = "failed".into();
                curve.note = Some(format!("closed-loop maximum run: {e:#}"));
            }
        }
        if let Some(max) = curve.max_requests_per_second {
            for &pct in &a.sweep_steps {
                let rate = max * f64::from(pct) / 100.0;
                let p = SweepPoint::of(pct, rate, lab.measure(&s, Pace::Open { rate }));
                println!(
                    "{:<10} {:>3}% = {:>8.0} req/s: achieved {:>8.0}, p50 {:>8.1} µs, p99 {:>9.1} µs, p99.9 {:>9.1} µs, errors {}{}",
                    proxy.name(),
                    pct,
                    rate,
                    p.requests_per_second,
                    p.p50_us,
                    p.p99_us,
                    p.p999_us,
                    p.errors,
                    if p.passed { "" } else { "  FAILED" }
                );
                curve.points.push(p);
            }
        }
        lab.stop(s);
        curves.push(curve);
    }
    let connections = lab.connections;
    let plan = lab.plan.clone();
    let json = lab.out.join("sweep.json");
    let (baseline, load_start, load_end) = lab.finish();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for c in &curves {
        match c.status.as_str() {
            "not-supported" => skipped += 1,
            _ if c.max_requests_per_second.is_none() => failed += 1,
            _ => {
                passed += 1;
                for p in &c.points {
                    if p.passed {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                }
            }
        }
    }
    let result = SweepResult {
        kind: KIND.into(),
        scenario: a.scenario.name().into(),
        description: a.scenario.describe(),
        protocol: super::lab::protocol_of(a.scenario).name().into(),
        plan,
        duration_seconds: a.duration.as_secs_f64(),
        warmup_seconds: a.warmup.as_secs_f64(),
        connections,
        steps_percent: a.sweep_steps.clone(),
        backend: "shardgate-lab fixed-server".into(),
        baseline,
        curves,
        load_start,
        load_end,
        passed,
        failed,
        skipped,
    };
    println!();
    print!("{}", table(&result));
    crate::bench::write_json(Some(&json), &result)?;
    if let Some(extra) = &a.json {
        crate::bench::write_json(Some(extra), &result)?;
    }
    println!();
    println!(
        "results: {}; took {:.0} s",
        json.display(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", tally(passed, failed, skipped));
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Latency against load: one row per step, per proxy `achieved req/s
/// p50/p99/p99.9 µs`.
pub fn table(r: &SweepResult) -> String {
    let mut t = String::new();
    let _ = write!(t, "{:<6}", "load");
    for c in &r.curves {
        let _ = write!(t, " {:>40}", format!("{} req/s  p50/p99/p99.9 µs", c.proxy));
    }
    t.push('\n');
    for (i, pct) in r.steps_percent.iter().enumerate() {
        let _ = write!(t, "{:<6}", format!("{pct}%"));
        for c in &r.curves {
            let cell = match (c.status.as_str(), c.points.get(i)) {
                ("not-supported", _) => "not yet supported".to_string(),
                (_, Some(p)) if p.error.is_none() => format!(
                    "{:.0}  {:.0}/{:.0}/{:.0}{}",
                    p.requests_per_second,
                    p.p50_us,
                    p.p99_us,
                    p.p999_us,
                    if p.passed { "" } else { " !" }
                ),
                _ => "-".to_string(),
            };
            let _ = write!(t, " {cell:>40}");
        }
        t.push('\n');
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(percent: u32, p99: f64) -> SweepPoint {
        SweepPoint {
            percent,
            target_rate: f64::from(percent) * 10.0,
            requests_per_second: f64::from(percent) * 10.0,
            p50_us: 10.0,
            p90_us: 20.0,
            p99_us: p99,
            p999_us: p99 * 2.0,
            max_us: p99 * 3.0,
            errors: 0,
            passed: true,
            error: None,
            report: None,
            extras: None,
        }
    }

    #[test]
    fn json_says_its_kind_and_round_trips() {
        let r = SweepResult {
            kind: KIND.into(),
            scenario: "small-get-keepalive".into(),
            description: "d".into(),
            protocol: "http/1.1".into(),
            plan: Plan {
                proxy: vec![0],
                generator: vec![1],
                backend: vec![1],
            },
            duration_seconds: 1.0,
            warmup_seconds: 0.0,
            connections: 32,
            steps_percent: vec![50, 100],
            backend: "b".into(),
            baseline: None,
            curves: vec![
                SweepCurve {
                    proxy: "nginx".into(),
                    status: "measured".into(),
                    note: None,
                    max_requests_per_second: Some(1000.0),
                    max_run: None,
                    points: vec![point(50, 30.0), point(100, 900.0)],
                },
                SweepCurve {
                    proxy: "shardgate".into(),
                    status: "not-supported".into(),
                    note: Some("no h2".into()),
                    max_requests_per_second: None,
                    max_run: None,
                    points: Vec::new(),
                },
            ],
            load_start: None,
            load_end: None,
            passed: 3,
            failed: 0,
            skipped: 1,
        };
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(v["kind"], "sweep");
        assert_eq!(v["curves"][0]["points"][1]["p99_us"], 900.0);
        let back: SweepResult = serde_json::from_value(v).expect("parses back");
        assert_eq!(back.curves.len(), 2);
        let t = table(&r);
        assert!(t.contains("500  10/30/60"), "{t}");
        assert!(t.contains("not yet supported"), "{t}");
        assert_eq!(t.lines().count(), 3);
    }
}

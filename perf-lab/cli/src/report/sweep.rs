//! Page section and summary table for `compare --sweep` (`"kind":
//! "sweep"`): latency against load, one curve per proxy.

use super::charts::{self, Curve};
use super::input::{Content, Input};
use super::markdown;
use super::page::{Cell, Section, num, slug, table, text};
use super::svg::{esc, fmt_count, fmt_us, series_colour, trim_num};
use crate::compare::sweep::SweepResult;
use std::fmt::Write as _;

/// Every sweep section, in input order.
pub fn sections(inputs: &[Input]) -> Vec<Section> {
    inputs
        .iter()
        .enumerate()
        .filter_map(|(k, i)| match &i.content {
            Content::Sweep(s) => {
                let title = format!("Latency against load: {} ({})", s.scenario, i.name);
                Some(Section {
                    id: format!("{}-{k}", slug(&title)),
                    title,
                    html: section(s),
                })
            }
            _ => None,
        })
        .collect()
}

const HEADERS: [&str; 11] = [
    "proxy",
    "step",
    "offered req/s",
    "achieved req/s",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "max",
    "errors",
    "note",
];

/// One row per measured step; one per curve without steps (with why).
fn rows(s: &SweepResult) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for c in &s.curves {
        if c.points.is_empty() {
            let mut row = vec![c.proxy.clone(), c.status.clone()];
            row.extend(std::iter::repeat_n("-".to_string(), 8));
            row.push(c.note.clone().unwrap_or_default());
            rows.push(row);
            continue;
        }
        if let Some(max) = c.max_requests_per_second {
            let mut row = vec![c.proxy.clone(), "max (closed loop)".into(), "-".into()];
            row.push(fmt_count(max));
            match &c.max_run {
                Some(r) => {
                    let l = &r.latency_us;
                    row.extend([l.p50, l.p90, l.p99, l.p999, l.max].map(fmt_us));
                    row.push(r.errors_total.to_string());
                }
                None => row.extend(std::iter::repeat_n("-".to_string(), 6)),
            }
            row.push(String::new());
            rows.push(row);
        }
        for p in &c.points {
            rows.push(vec![
                c.proxy.clone(),
                format!("{} %", p.percent),
                fmt_count(p.target_rate),
                fmt_count(p.requests_per_second),
                fmt_us(p.p50_us),
                fmt_us(p.p90_us),
                fmt_us(p.p99_us),
                fmt_us(p.p999_us),
                fmt_us(p.max_us),
                p.errors.to_string(),
                match (&p.error, p.passed) {
                    (Some(e), _) => format!("FAILED: {e}"),
                    (None, false) => "FAILED".into(),
                    (None, true) => String::new(),
                },
            ]);
        }
    }
    rows
}

fn section(s: &SweepResult) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<div class=\"card facts\">{} ({}); {} connections, {} s per step, steps {} % of each proxy's own \
         closed-loop maximum; CPUs: proxy <b>{}</b>, generator <b>{}</b>, backend <b>{}</b>; \
         <b>{} passed</b>, {} failed, {} skipped. Latency counts from each request's scheduled send \
         time (coordinated omission corrected).</div>",
        esc(&s.description),
        esc(&s.protocol),
        s.connections,
        trim_num(s.duration_seconds, 1),
        esc(&s
            .steps_percent
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")),
        esc(&list(&s.plan.proxy)),
        esc(&list(&s.plan.generator)),
        esc(&list(&s.plan.backend)),
        s.passed,
        s.failed,
        s.skipped,
    );
    for (name, pick) in [
        (
            "p99",
            (|p| p.p99_us) as fn(&crate::compare::sweep::SweepPoint) -> f64,
        ),
        ("p50", |p| p.p50_us),
    ] {
        let curves: Vec<Curve<'_>> = s
            .curves
            .iter()
            .enumerate()
            .filter(|(_, c)| c.points.iter().any(|p| p.passed))
            .map(|(k, c)| Curve {
                label: c.proxy.clone(),
                colour: series_colour(&c.proxy, k),
                dashed: false,
                points: c
                    .points
                    .iter()
                    .filter(|p| p.passed)
                    .map(|p| (p.target_rate, pick(p)))
                    .collect(),
            })
            .collect();
        let title = format!("{}: {name} latency against offered load", s.scenario);
        if let Some(svg) = charts::curves_us(
            &title,
            "offered load, requests per second (open loop; see the table for what was achieved)",
            &format!("{name} latency (log scale)"),
            &curves,
        ) {
            let _ = write!(h, "<div class=\"card\">{svg}</div>");
        }
    }
    let cells: Vec<Vec<Cell>> = rows(s)
        .into_iter()
        .map(|r| {
            r.into_iter()
                .enumerate()
                .map(|(k, c)| if k < 2 || k == 10 { text(c) } else { num(c) })
                .collect()
        })
        .collect();
    h.push_str(&table(&HEADERS, &cells));
    h
}

fn list(v: &[usize]) -> String {
    v.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

/// The sweep tables in Markdown.
pub fn markdown(inputs: &[Input]) -> String {
    let mut md = String::new();
    for i in inputs {
        if let Content::Sweep(s) = &i.content {
            let _ = writeln!(
                md,
                "## Latency against load: {} ({})\n\nOpen loop at shares of each proxy's closed-loop maximum.\n",
                s.scenario, i.name
            );
            md.push_str(&markdown::table(&HEADERS, &rows(s)));
            md.push('\n');
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::sweep::{SweepCurve, SweepPoint};
    use std::path::PathBuf;

    fn point(percent: u32, max: f64, p99: f64, passed: bool) -> SweepPoint {
        let rate = max * f64::from(percent) / 100.0;
        SweepPoint {
            percent,
            target_rate: rate,
            requests_per_second: rate * 0.99,
            p50_us: p99 / 4.0,
            p90_us: p99 / 2.0,
            p99_us: p99,
            p999_us: p99 * 2.0,
            max_us: p99 * 3.0,
            errors: u64::from(!passed) * 50,
            passed,
            error: None,
            report: None,
            extras: None,
        }
    }

    fn curve(proxy: &str, max: f64, points: Vec<SweepPoint>) -> SweepCurve {
        SweepCurve {
            proxy: proxy.into(),
            status: "measured".into(),
            note: None,
            max_requests_per_second: Some(max),
            max_run: None,
            points,
        }
    }

    fn sweep() -> SweepResult {
        let plan = serde_json::from_value(
            serde_json::json!({"proxy": [0], "generator": [1], "backend": [1]}),
        )
        .expect("plan");
        SweepResult {
            kind: "sweep".into(),
            scenario: "small-get-keepalive".into(),
            description: "small GETs <13 bytes>".into(),
            protocol: "http/1.1".into(),
            plan,
            duration_seconds: 2.0,
            warmup_seconds: 0.5,
            connections: 32,
            steps_percent: vec![50, 100],
            backend: "fixed-server".into(),
            baseline: None,
            curves: vec![
                curve(
                    "shardgate",
                    20_000.0,
                    vec![
                        point(50, 20_000.0, 300.0, true),
                        point(100, 20_000.0, 2_000.0, true),
                    ],
                ),
                curve(
                    "nginx",
                    10_000.0,
                    vec![
                        point(50, 10_000.0, 400.0, true),
                        point(100, 10_000.0, 9_000.0, false),
                    ],
                ),
                SweepCurve {
                    proxy: "haproxy".into(),
                    status: "not-supported".into(),
                    note: Some("no h2c | yet".into()),
                    max_requests_per_second: None,
                    max_run: None,
                    points: Vec::new(),
                },
            ],
            load_start: None,
            load_end: None,
            passed: 5,
            failed: 1,
            skipped: 1,
        }
    }

    #[test]
    fn curves_per_proxy_against_offered_load_and_a_row_per_step() {
        let inputs = [Input {
            path: PathBuf::from("/r/s/sweep.json"),
            name: "s/sweep.json".into(),
            content: Content::Sweep(Box::new(sweep())),
        }];
        let s = sections(&inputs);
        assert_eq!(s.len(), 1);
        let html = &s[0].html;
        // p99 and p50 charts; one polyline per proxy with a passed step.
        assert_eq!(html.matches("<svg").count(), 2);
        assert_eq!(html.matches("<polyline").count(), 4, "{html}");
        // nginx's failed 100 % step is not drawn: its line has one point.
        assert!(html.contains("small GETs &lt;13 bytes&gt;"));
        assert!(html.contains(">not-supported<") && html.contains("no h2c | yet"));
        assert!(html.contains(">FAILED<"), "{html}");
        assert!(html.contains(">20k<") && html.contains(">2 ms<"), "{html}");
        let md = markdown(&inputs);
        assert!(
            md.contains(
                "| shardgate | 100 % | 20k | 19.8k | 500 µs | 1 ms | 2 ms | 4 ms | 6 ms | 0 |  |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| haproxy | not-supported | - | - | - | - | - | - | - | - | no h2c \\| yet |"
            ),
            "{md}"
        );
    }
}

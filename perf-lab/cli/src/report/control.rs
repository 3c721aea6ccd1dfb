//! Page sections and summary tables for the control-plane benchmarks:
//! `propagation` (histograms of time-to-served), `scale` (figures against
//! route count) and `route-change` (latency before and during edits).

use super::charts::{self, CdfSeries, Curve};
use super::input::{Content, Input};
use super::markdown;
use super::page::{Cell, Section, num, slug, table, text};
use super::svg::{PALETTE, esc, fmt_bytes, fmt_count, fmt_ms, fmt_sig, fmt_us};
use crate::cpbench::results::{
    ChangeKind, PropagationResult, RouteChangeResult, ScaleResult, Summary,
};
use std::fmt::Write as _;

fn change_name(c: ChangeKind) -> &'static str {
    match c {
        ChangeKind::Route => "route",
        ChangeKind::Endpoint => "endpoint",
    }
}

fn p50_p99(s: Option<&Summary>) -> String {
    s.map_or("-".into(), |s| {
        format!("{} / {}", fmt_ms(s.p50), fmt_ms(s.p99))
    })
}

fn opt(v: Option<f64>, f: &dyn Fn(f64) -> String) -> String {
    v.map_or("-".into(), f)
}

/// Every control-plane section, in input order.
pub fn sections(inputs: &[Input]) -> Vec<Section> {
    let mut out = Vec::new();
    for (k, i) in inputs.iter().enumerate() {
        let (title, html) = match &i.content {
            Content::Propagation(p) => (format!("Propagation ({})", i.name), propagation(p)),
            Content::Scale(s) => (format!("Scale ({})", i.name), scale(s)),
            Content::RouteChange(r) => (
                format!("Route change under load ({})", i.name),
                route_change(r),
            ),
            Content::Bench(_) | Content::Compare(_) | Content::Sweep(_) => continue,
        };
        out.push(Section {
            id: format!("{}-{k}", slug(&title)),
            title,
            html,
        });
    }
    out
}

fn propagation_rows(p: &PropagationResult) -> Vec<Vec<String>> {
    p.runs
        .iter()
        .map(|r| {
            vec![
                fmt_count(r.routes as f64),
                change_name(r.change).to_string(),
                format!("{}/{}", r.samples.len(), r.changes_requested),
                p50_p99(r.yaml_to_all_shards_ms.as_ref()),
                opt(r.yaml_to_all_shards_ms.as_ref().map(|s| s.max), &fmt_ms),
                p50_p99(r.yaml_to_served_ms.as_ref()),
                p50_p99(r.yaml_to_publish_ms.as_ref()),
                p50_p99(r.publish_to_all_shards_ms.as_ref()),
                format!(
                    "{}{}",
                    r.failures.len(),
                    if r.truncated {
                        " (stopped at --max-time)"
                    } else {
                        ""
                    }
                ),
            ]
        })
        .collect()
}

const PROPAGATION_HEADERS: [&str; 9] = [
    "routes",
    "change",
    "changes done/asked",
    "YAML → all shards p50 / p99",
    "max",
    "YAML → served p50 / p99",
    "YAML → publish p50 / p99",
    "publish → all shards p50 / p99",
    "failures",
];

fn propagation(p: &PropagationResult) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<p class=\"lead\">From renaming an edited YAML file into the watched directory until every one of \
         {} data-plane shard(s){} served the change (polled every {} µs). Target: p99 under 10 ms at 1,000 routes.</p>",
        p.shards,
        p.cpus
            .as_deref()
            .map_or(String::new(), |c| format!(" on CPUs {}", esc(c))),
        p.poll_interval_us
    );
    let rows: Vec<Vec<Cell>> = propagation_rows(p)
        .into_iter()
        .map(|r| {
            r.into_iter()
                .enumerate()
                .map(|(k, c)| if k < 2 { text(c) } else { num(c) })
                .collect()
        })
        .collect();
    s.push_str(&table(&PROPAGATION_HEADERS, &rows));
    s.push_str("<div class=\"grid-2\">");
    for (k, r) in p.runs.iter().enumerate() {
        let samples: Vec<f64> = r.samples.iter().map(|x| x.yaml_to_all_shards_ms).collect();
        let title = format!(
            "{} routes, {} change ({} changes)",
            fmt_count(r.routes as f64),
            change_name(r.change),
            samples.len()
        );
        if let Some(svg) = charts::histogram_ms(
            &title,
            "YAML change → every shard serving it",
            &samples,
            PALETTE[k % PALETTE.len()],
        ) {
            let _ = write!(s, "<div class=\"card\">{svg}</div>");
        }
    }
    s.push_str("</div>");
    for r in &p.runs {
        for f in &r.failures {
            let _ = write!(
                s,
                "<p class=\"err\">{} routes, {} change: {}</p>",
                r.routes,
                change_name(r.change),
                esc(f)
            );
        }
    }
    s
}

fn scale_rows(r: &ScaleResult) -> Vec<Vec<String>> {
    r.points
        .iter()
        .map(|p| {
            let l = p.lookup.as_ref();
            let last_first = l.and_then(|l| Some(l.last_route_cpu_us? / l.first_route_cpu_us?));
            vec![
                fmt_count(p.routes as f64),
                fmt_bytes(p.yaml_bytes as f64),
                opt(p.translation_ms, &fmt_ms),
                fmt_ms(p.install_ms),
                fmt_bytes(p.snapshot_bytes as f64),
                fmt_bytes(p.dataplane_bytes_per_route),
                fmt_bytes(p.controlplane_bytes_per_route),
                opt(l.and_then(|l| l.first_route_cpu_us), &fmt_sig),
                opt(l.and_then(|l| l.last_route_cpu_us), &fmt_sig),
                opt(last_first, &|v| format!("{v:.2}")),
                opt(l.and_then(|l| l.criterion_last_route_ns), &|v| {
                    fmt_us(v / 1e3)
                }),
            ]
        })
        .collect()
}

const SCALE_HEADERS: [&str; 11] = [
    "routes",
    "YAML",
    "translation",
    "install (write → served)",
    "snapshot",
    "data plane per route",
    "control plane per route",
    "CPU µs/req first route",
    "CPU µs/req last route",
    "last / first",
    "criterion last-route lookup",
];

fn scale(r: &ScaleResult) -> String {
    let mut s = format!(
        "<p class=\"lead\">{} data-plane shard(s). Lookup cost: the data plane's CPU per request answered by \
         the first and by the last route of one table (target: last within 10 % of first at 10,000 routes).</p>",
        r.shards
    );
    let rows: Vec<Vec<Cell>> = scale_rows(r)
        .into_iter()
        .map(|row| row.into_iter().map(num).collect())
        .collect();
    s.push_str(&table(&SCALE_HEADERS, &rows));
    let pts = |f: &dyn Fn(&crate::cpbench::results::ScalePoint) -> Option<f64>| -> Vec<(f64, f64)> {
        r.points
            .iter()
            .filter_map(|p| Some((p.routes as f64, f(p)?)))
            .collect()
    };
    let time = [
        Curve {
            label: "install (write → served)".into(),
            colour: PALETTE[0],
            dashed: false,
            points: pts(&|p| Some(p.install_ms)),
        },
        Curve {
            label: "translation".into(),
            colour: PALETTE[2],
            dashed: true,
            points: pts(&|p| p.translation_ms),
        },
    ];
    let memory = [
        Curve {
            label: "snapshot size / routes".into(),
            colour: PALETTE[0],
            dashed: false,
            points: pts(&|p| Some(p.snapshot_bytes as f64 / p.routes.max(1) as f64)),
        },
        Curve {
            label: "data-plane RSS / route".into(),
            colour: PALETTE[1],
            dashed: false,
            points: pts(&|p| Some(p.dataplane_bytes_per_route).filter(|v| *v > 0.0)),
        },
        Curve {
            label: "control-plane RSS / route".into(),
            colour: PALETTE[2],
            dashed: true,
            points: pts(&|p| Some(p.controlplane_bytes_per_route).filter(|v| *v > 0.0)),
        },
    ];
    let lookup = [
        Curve {
            label: "first route".into(),
            colour: PALETTE[1],
            dashed: false,
            points: pts(&|p| p.lookup.as_ref()?.first_route_cpu_us),
        },
        Curve {
            label: "last route".into(),
            colour: PALETTE[0],
            dashed: false,
            points: pts(&|p| p.lookup.as_ref()?.last_route_cpu_us),
        },
    ];
    let ms = |v: f64| fmt_ms(v);
    for (title, y, curves, f) in [
        (
            "Time to install a table, by route count",
            "time (log scale)",
            &time[..],
            &ms as &dyn Fn(f64) -> String,
        ),
        (
            "Bytes per route, by route count",
            "bytes per route (log)",
            &memory[..],
            &fmt_bytes,
        ),
        (
            "Data-plane CPU per request, by route count",
            "CPU µs per request (log)",
            &lookup[..],
            &fmt_us,
        ),
    ] {
        if let Some(svg) = charts::curves_loglog(title, "routes (log)", y, curves, f) {
            let _ = write!(s, "<div class=\"card\">{svg}</div>");
        }
    }
    s
}

fn route_change_rows(r: &RouteChangeResult) -> Vec<Vec<String>> {
    [
        ("before (no edits)", &r.before),
        ("during edits", &r.during),
    ]
    .into_iter()
    .map(|(phase, b)| {
        vec![
            phase.to_string(),
            fmt_count(b.requests_per_second),
            fmt_us(b.latency_us.p50),
            fmt_us(b.latency_us.p99),
            fmt_us(b.latency_us.max),
            b.errors_total.to_string(),
            b.errors.summary(),
        ]
    })
    .collect()
}

const ROUTE_CHANGE_HEADERS: [&str; 7] = [
    "phase",
    "req/s",
    "p50",
    "p99",
    "max",
    "errors",
    "errors by kind",
];

fn route_change(r: &RouteChangeResult) -> String {
    let mut s = String::new();
    let verdict = if r.passed {
        "<b>passed</b>"
    } else {
        "<b class=\"err\">FAILED</b>"
    };
    let _ = write!(
        s,
        "<div class=\"card facts\">{verdict}: {} of {} edits written, {} applied (one every {}), \
         {} other routes, {} shard(s); open loop at {} req/s = {:.0} % of the measured maximum {} req/s; \
         edit → all shards p50 / p99 {}. Target: zero errors during the edits.</div>",
        r.edits_written,
        r.edits_requested,
        r.edits_applied,
        esc(&fmt_ms(r.edit_interval_ms)),
        r.routes,
        r.shards,
        esc(&fmt_count(r.target_rps)),
        100.0 * r.target_rps / r.max_rps.max(1e-9),
        esc(&fmt_count(r.max_rps)),
        esc(&p50_p99(r.edit_to_all_shards_ms.as_ref())),
    );
    let rows: Vec<Vec<Cell>> = route_change_rows(r)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .enumerate()
                .map(|(k, c)| if k == 0 || k == 6 { text(c) } else { num(c) })
                .collect()
        })
        .collect();
    s.push_str(&table(&ROUTE_CHANGE_HEADERS, &rows));
    let series = [
        CdfSeries {
            label: "before (no edits)".into(),
            colour: PALETTE[1],
            dashed: true,
            spectrum: &r.before.latency_us.spectrum,
        },
        CdfSeries {
            label: "during edits".into(),
            colour: PALETTE[0],
            dashed: false,
            spectrum: &r.during.latency_us.spectrum,
        },
    ];
    if let Some(svg) = charts::latency_cdf(
        "Latency by percentile, before and during route edits",
        &series,
    ) {
        let _ = write!(s, "<div class=\"card\">{svg}</div>");
    }
    if let Some(svg) = charts::histogram_ms(
        "Route edits under load",
        "edit written → every shard serving it",
        &r.edit_samples_ms,
        PALETTE[0],
    ) {
        let _ = write!(s, "<div class=\"card\">{svg}</div>");
    }
    s
}

/// The control-plane tables in Markdown.
pub fn markdown(inputs: &[Input]) -> String {
    let mut md = String::new();
    for i in inputs {
        match &i.content {
            Content::Propagation(p) => {
                let _ = writeln!(md, "## Propagation ({})\n", i.name);
                md.push_str(&markdown::table(&PROPAGATION_HEADERS, &propagation_rows(p)));
            }
            Content::Scale(s) => {
                let _ = writeln!(md, "## Scale ({})\n", i.name);
                md.push_str(&markdown::table(&SCALE_HEADERS, &scale_rows(s)));
            }
            Content::RouteChange(r) => {
                let _ = writeln!(
                    md,
                    "## Route change under load ({})\n\n{}: {}/{} edits applied at {} req/s.\n",
                    i.name,
                    if r.passed { "passed" } else { "FAILED" },
                    r.edits_applied,
                    r.edits_requested,
                    fmt_count(r.target_rps)
                );
                md.push_str(&markdown::table(
                    &ROUTE_CHANGE_HEADERS,
                    &route_change_rows(r),
                ));
            }
            Content::Bench(_) | Content::Compare(_) | Content::Sweep(_) => continue,
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::cpbench::results::{LookupCost, PropagationRun, PropagationSample, ScalePoint};
    use shardgate_loadgen::BenchReport;
    use std::path::PathBuf;

    fn input(name: &str, content: Content) -> Input {
        Input {
            path: PathBuf::from(format!("/r/{name}")),
            name: name.into(),
            content,
        }
    }

    fn propagation_result() -> PropagationResult {
        let samples: Vec<PropagationSample> = (1..=40)
            .map(|i| PropagationSample {
                change: i,
                generation: i as u64 + 1,
                yaml_to_all_shards_ms: 2.0 + f64::from(i as u32 % 7),
                yaml_to_served_ms: 3.0,
                yaml_to_publish_ms: Some(1.0),
                publish_to_all_shards_ms: None,
                publish_to_adopted_ms: None,
            })
            .collect();
        let mut run = PropagationRun {
            routes: 1000,
            change: ChangeKind::Endpoint,
            changes_requested: 50,
            samples,
            failures: vec!["change 41: <timeout>".into()],
            truncated: true,
            yaml_to_all_shards_ms: None,
            yaml_to_served_ms: None,
            yaml_to_publish_ms: None,
            publish_to_all_shards_ms: None,
            publish_to_adopted_ms: None,
        };
        run.summarise();
        PropagationResult {
            kind: "propagation".into(),
            shards: 2,
            cpus: Some("0-1".into()),
            poll_interval_us: 500,
            runs: vec![run],
            passed: 40,
            failed: 1,
        }
    }

    #[test]
    fn propagation_gets_a_table_and_a_histogram_per_run() {
        let inputs = [input(
            "prop.json",
            Content::Propagation(Box::new(propagation_result())),
        )];
        let s = sections(&inputs);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].id, "propagation-prop-json-0");
        let html = &s[0].html;
        assert!(
            html.contains("1k routes, endpoint change (40 changes)"),
            "{html}"
        );
        assert!(html.contains(">40/50<"));
        assert!(html.contains("1 (stopped at --max-time)"));
        assert!(html.contains("change 41: &lt;timeout&gt;"));
        assert_eq!(html.matches("<svg").count(), 1);
        // Nearest-rank p99 of 2..8 ms is 8 ms.
        assert!(html.contains("p99 8 ms"), "{html}");
        let md = markdown(&inputs);
        assert!(md.contains("## Propagation (prop.json)"));
        assert!(md.contains("| 1k | endpoint | 40/50 |"), "{md}");
    }

    #[test]
    fn scale_draws_figures_against_route_count() {
        let point = |routes: usize, last: f64| ScalePoint {
            routes,
            yaml_bytes: 300 * routes as u64,
            translation_ms: Some(routes as f64 / 100.0),
            install_ms: routes as f64 / 50.0 + 5.0,
            snapshot_bytes: 200 * routes as u64,
            dataplane_baseline_rss_bytes: 1 << 20,
            dataplane_rss_bytes: (1 << 20) + 500 * routes as u64,
            dataplane_bytes_per_route: 500.0,
            controlplane_baseline_rss_bytes: 1 << 20,
            controlplane_rss_bytes: (1 << 20) + 2000 * routes as u64,
            controlplane_bytes_per_route: 2000.0,
            lookup: Some(LookupCost {
                first_route_cpu_us: Some(10.0),
                last_route_cpu_us: Some(last),
                first_route_p50_us: 100.0,
                last_route_p50_us: 110.0,
                first_route_requests: 1000,
                last_route_requests: 1000,
                errors: 0,
                criterion_last_route_ns: None,
            }),
        };
        let r = ScaleResult {
            kind: "scale".into(),
            shards: 1,
            points: vec![point(10, 10.0), point(1000, 10.5), point(10_000, 12.0)],
            passed: 3,
            failed: 0,
        };
        let inputs = [input("scale.json", Content::Scale(Box::new(r)))];
        let html = &sections(&inputs)[0].html;
        assert_eq!(html.matches("<svg").count(), 3);
        assert!(
            html.contains(">1.20<"),
            "last/first ratio at 10k routes: {html}"
        );
        assert!(html.contains(">2 MB<"), "snapshot at 10k routes: {html}");
        let md = markdown(&inputs);
        assert!(
            md.contains(
                "| 10k | 3 MB | 100 ms | 205 ms | 2 MB | 500 B | 2 kB | 10.0 | 12.0 | 1.20 | - |"
            ),
            "{md}"
        );
    }

    /// A bench report with a spectrum, as `bench` would write it.
    pub(in super::super) fn bench(errors: u64, p99: f64) -> BenchReport {
        let spectrum: Vec<serde_json::Value> = (0..=100)
            .map(|i| serde_json::json!({"percentile": 100.0 * (1.0 - 10f64.powf(-f64::from(i) / 20.0)), "us": 50.0 + f64::from(i) * p99 / 100.0}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "url": "http://127.0.0.1:1/", "host": "h", "mode": "open", "target_rate": 8000.0,
            "connection": "keep-alive", "connections": 16, "generator_cores": [1],
            "warmup_seconds": 1.0, "duration_seconds": 5.0, "requests": 40000,
            "requests_per_second": 8000.0, "warmup_requests": 8000, "connections_opened": 16,
            "errors": {"connect": 0, "write": 0, "read": 0, "closed": errors, "timeout": 0, "parse": 0, "status": {}},
            "errors_total": errors,
            "latency_us": {"min": 40.0, "mean": 80.0, "stdev": 10.0, "p50": 70.0, "p90": 90.0,
                           "p99": p99, "p999": p99 * 2.0, "max": p99 * 3.0, "spectrum": spectrum},
            "timeline": [],
            "generator_cpu": {"pids": [1], "cpu_seconds": 1.0, "cores_used": 0.2, "us_per_request": 25.0},
            "sut_cpu": null, "sut_core": null
        }))
        .expect("a bench report")
    }

    #[test]
    fn route_change_compares_before_and_during() {
        let r = RouteChangeResult {
            kind: "route-change".into(),
            routes: 100,
            shards: 1,
            edits_requested: 20,
            edits_written: 20,
            edits_applied: 19,
            edit_interval_ms: 100.0,
            max_rps: 10_000.0,
            target_rps: 8000.0,
            before: bench(0, 200.0),
            during: bench(3, 900.0),
            edit_to_all_shards_ms: Summary::of((1..=19).map(f64::from)),
            edit_samples_ms: (1..=19).map(f64::from).collect(),
            passed: false,
        };
        let inputs = [input("rc.json", Content::RouteChange(Box::new(r)))];
        let html = &sections(&inputs)[0].html;
        assert!(html.contains("FAILED"));
        assert!(
            html.contains("80 % of the measured maximum 10k req/s"),
            "{html}"
        );
        assert!(html.contains(">closed=3<"), "{html}");
        assert_eq!(
            html.matches("<svg").count(),
            2,
            "latency CDF and edit histogram"
        );
        assert!(html.contains(">during edits<"));
        let md = markdown(&inputs);
        assert!(
            md.contains("| during edits | 8k | 70 µs | 900 µs | 2.7 ms | 3 | closed=3 |"),
            "{md}"
        );
    }
}

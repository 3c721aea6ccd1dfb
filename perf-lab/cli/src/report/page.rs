//! The HTML page: inline CSS, inline SVG charts, tables; no scripts and
//! nothing fetched. Every piece of text from the inputs is escaped.

use super::charts::{self, Bar, CdfSeries, Group};
use super::figures::{self, Verdict};
use super::input::{Compare, Content, Input};
use super::svg::{esc, fmt_count, fmt_us, series_colour, trim_num};
use shardgate_loadgen::BenchReport;
use std::fmt::Write as _;

const CSS: &str = r#"
:root { color-scheme: light; }
body { font: 14px/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1d2330;
  background: #f4f5f7; margin: 0; }
main { max-width: 1140px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #d5d9e0; }
h3 { font-size: 16px; margin: 24px 0 6px; }
p.lead { color: #4a5365; margin: 0 0 12px; }
.card { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 12px 16px;
  margin: 12px 0; }
.facts { color: #4a5365; font-size: 13px; }
.facts b { color: #1d2330; font-weight: 600; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; background: #fff; }
th, td { border: 1px solid #dde1e7; padding: 4px 10px; text-align: left; }
th { background: #eef0f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:nth-child(even) td { background: #fafbfc; }
td.better { background: #e3f4ea !important; color: #11612f; }
td.worse { background: #fbe7e5 !important; color: #8a1c12; }
td.unclear { color: #5d6473; }
.err { color: #8a1c12; }
.grid-2 { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { display: block; background: #fff; max-width: 100%; height: auto; }
svg .grid { stroke: #e4e7ec; stroke-width: 1; }
svg .axis { stroke: #5d6473; stroke-width: 1.2; fill: none; }
svg .tick { font-size: 12px; fill: #4a5365; }
svg .axis-title { font-size: 12.5px; fill: #1d2330; }
svg .chart-title { font-size: 15px; font-weight: 600; fill: #1d2330; }
svg .legend { font-size: 12.5px; fill: #1d2330; }
svg .value { font-size: 11.5px; fill: #1d2330; }
svg .note { font-size: 11.5px; }
svg .series { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-opacity: 0.9; }
svg .whisker { stroke: #1d2330; stroke-width: 1.4; fill: none; }
nav ol { margin: 4px 0 0; padding-left: 22px; columns: 2; }
nav a { color: #0b5cad; text-decoration: none; }
footer { margin-top: 40px; color: #6b7385; font-size: 12px; }
"#;

/// A table cell: text (escaped when written) and a CSS class.
pub struct Cell {
    pub text: String,
    pub class: &'static str,
}

pub fn text(s: impl Into<String>) -> Cell {
    Cell {
        text: s.into(),
        class: "",
    }
}

pub fn num(s: impl Into<String>) -> Cell {
    Cell {
        text: s.into(),
        class: "num",
    }
}

/// An HTML table with a header row.
pub fn table(headers: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut t = String::from("<table><thead><tr>");
    for h in headers {
        let _ = write!(t, "<th>{}</th>", esc(h));
    }
    t.push_str("</tr></thead><tbody>");
    for r in rows {
        t.push_str("<tr>");
        for c in r {
            if c.class.is_empty() {
                let _ = write!(t, "<td>{}</td>", esc(&c.text));
            } else {
                let _ = write!(t, "<td class=\"{}\">{}</td>", c.class, esc(&c.text));
            }
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

/// A page section: its anchor, its title in the contents, its HTML.
pub struct Section {
    pub id: String,
    pub title: String,
    pub html: String,
}

/// An anchor id from free text: lower-case ASCII letters, digits and `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The whole page for these inputs.
pub fn render(inputs: &[Input]) -> String {
    let mut sections: Vec<Section> = Vec::new();
    let compares: Vec<(&Input, &Compare)> = inputs
        .iter()
        .filter_map(|i| match &i.content {
            Content::Compare(c) => Some((i, c.as_ref())),
            _ => None,
        })
        .collect();
    if !compares.is_empty() {
        sections.push(Section {
            id: "side-by-side".into(),
            title: "Side by side".into(),
            html: compare_overview(&compares),
        });
        for (k, (i, c)) in compares.iter().enumerate() {
            let title = format!("Scenario {}", scenario_label(&compares, i, c));
            sections.push(Section {
                id: format!("{}-{k}", slug(&title)),
                title,
                html: compare_section(i, c),
            });
        }
    }
    sections.extend(super::sweep::sections(inputs));
    sections.extend(super::control::sections(inputs));
    let benches: Vec<(&Input, &BenchReport)> = inputs
        .iter()
        .filter_map(|i| match &i.content {
            Content::Bench(b) => Some((i, b.as_ref())),
            _ => None,
        })
        .collect();
    if !benches.is_empty() {
        sections.push(Section {
            id: "bench".into(),
            title: "Bench runs".into(),
            html: bench_section(&benches),
        });
    }

    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>shardgate perf-lab report</h1><p class=\"lead\">{} result file(s). \
         Charts are drawn from the result files only; hover a line or bar for its exact figures.</p>",
        inputs.len()
    );
    let rows: Vec<Vec<Cell>> = inputs
        .iter()
        .map(|i| {
            vec![
                text(i.name.clone()),
                text(i.kind()),
                text(i.path.display().to_string()),
            ]
        })
        .collect();
    body.push_str(&table(&["result", "kind", "file"], &rows));
    body.push_str("<nav class=\"card\"><b>Contents</b><ol>");
    for s in &sections {
        let _ = write!(
            body,
            "<li><a href=\"#{}\">{}</a></li>",
            esc(&s.id),
            esc(&s.title)
        );
    }
    body.push_str("</ol></nav>");
    for s in &sections {
        let tag = if s.id.starts_with("scenario-") {
            "h3"
        } else {
            "h2"
        };
        let _ = write!(
            body,
            "<section id=\"{}\"><{tag}>{}</{tag}>{}</section>",
            esc(&s.id),
            esc(&s.title),
            s.html
        );
    }

    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>shardgate perf-lab report</title><style>{CSS}</style></head>\
         <body><main>{body}<footer>Generated by <code>shardgate-lab report</code>. \
         Self-contained: no scripts, no external resources.</footer></main></body></html>\n"
    )
}

/// A scenario's display name: the scenario, or the file when two files
/// share a scenario.
fn scenario_label(all: &[(&Input, &Compare)], i: &Input, c: &Compare) -> String {
    if all.iter().filter(|(_, o)| o.scenario == c.scenario).count() > 1 {
        format!("{} ({})", c.scenario, i.name)
    } else {
        c.scenario.clone()
    }
}

/// Throughput and CPU bars across scenarios, and every ratio.
fn compare_overview(all: &[(&Input, &Compare)]) -> String {
    let mut s = String::from(
        "<p class=\"lead\">Medians over rounds with the min–max spread. \
         CPU µs per request of the proxy is the fair figure whenever the generator's core is the limit; \
         a ratio whose range straddles 1.0 is not a result (grey).</p>",
    );
    for (fig, y_title, fmt) in [
        (
            figures::RPS,
            "requests per second",
            &fmt_count as &dyn Fn(f64) -> String,
        ),
        (
            figures::PROXY_CPU,
            "proxy CPU µs per request (lower is better)",
            &|v: f64| format!("{} µs", trim_num(v, 2)),
        ),
    ] {
        let groups: Vec<Group<'_>> = all
            .iter()
            .map(|(i, c)| Group {
                name: scenario_label(all, i, c),
                bars: c
                    .order
                    .iter()
                    .enumerate()
                    .filter_map(|(k, proxy)| {
                        let spread = if c.not_supported.contains_key(proxy) {
                            Err("not yet supported".to_string())
                        } else {
                            Ok(*c.medians.get(proxy)?.get(fig.key)?)
                        };
                        Some(Bar {
                            series: proxy.clone(),
                            colour: series_colour(proxy, k),
                            spread,
                        })
                    })
                    .collect(),
            })
            .collect();
        let title = format!("{} by scenario and proxy", fig.label);
        if let Some(svg) = charts::bars(&title, y_title, &groups, fmt) {
            let _ = write!(s, "<div class=\"card\">{svg}</div>");
        }
    }
    let mut rows = Vec::new();
    for (i, c) in all {
        for (peer, cells) in figures::ratio_rows(c) {
            let mut row = vec![text(scenario_label(all, i, c)), text(peer)];
            row.extend(cells.iter().map(ratio_cell));
            rows.push(row);
        }
    }
    if !rows.is_empty() {
        let mut headers = vec!["scenario", "shardgate / peer"];
        let labels: Vec<String> = figures::all()
            .iter()
            .map(|f| {
                format!(
                    "{} ({})",
                    f.label,
                    if f.higher_is_better {
                        "↑ better"
                    } else {
                        "↓ better"
                    }
                )
            })
            .collect();
        headers.extend(labels.iter().map(String::as_str));
        s.push_str("<h3>Ratios shardgate / peer (median [min–max] of per-round ratios)</h3>");
        s.push_str(&table(&headers, &rows));
    }
    s
}

fn ratio_cell(cell: &figures::RatioCell) -> Cell {
    let class = match cell {
        figures::RatioCell::Missing(_) => "num",
        figures::RatioCell::Ratio(f, s) => match figures::verdict(*f, s) {
            Verdict::Better => "num better",
            Verdict::Worse => "num worse",
            Verdict::Unclear => "num unclear",
        },
    };
    Cell {
        text: cell.text(),
        class,
    }
}

fn cpus(v: &[usize]) -> String {
    v.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

/// One compare file: its conditions, tables and latency chart.
fn compare_section(i: &Input, c: &Compare) -> String {
    let mut s = String::new();
    let load = match (c.load_start, c.load_end) {
        (Some(a), Some(b)) => format!("{a:.2} → {b:.2}"),
        _ => "unknown".into(),
    };
    let _ = write!(
        s,
        "<div class=\"card facts\">{}{}<b>{}</b> round(s) × {} s, {} connections, order {}; \
         CPUs: proxy <b>{}</b>, generator <b>{}</b>, backend <b>{}</b>; load average {}; \
         runs <b>{} passed</b>, {} failed. File: {}</div>",
        esc(&c.description),
        if c.description.is_empty() {
            String::new()
        } else {
            format!(" ({}). ", esc(&c.protocol))
        },
        c.rounds,
        trim_num(c.duration_seconds, 1),
        c.connections,
        esc(&c.order.join(" → ")),
        esc(&cpus(&c.plan.proxy)),
        esc(&cpus(&c.plan.generator)),
        esc(&cpus(&c.plan.backend)),
        esc(&load),
        c.passed,
        c.failed,
        esc(&i.path.display().to_string()),
    );
    if let Some(b) = &c.baseline {
        let _ = write!(
            s,
            "<p class=\"facts\">Generator ceiling on this plan (direct to the backend, no proxy): \
             <b>{}</b> req/s, p50 {}, p99 {}.</p>",
            esc(&fmt_count(b.requests_per_second)),
            esc(&fmt_us(b.latency_us.p50)),
            esc(&fmt_us(b.latency_us.p99))
        );
    }
    let mut headers = vec!["median [min–max]"];
    headers.extend(c.order.iter().map(String::as_str));
    let rows: Vec<Vec<Cell>> = figures::all()
        .iter()
        .map(|f| {
            let mut row = vec![text(f.label)];
            for p in &c.order {
                row.push(num(super::figures::compare_cell(c, p, *f)));
            }
            row
        })
        .collect();
    s.push_str(&table(&headers, &rows));
    let failed: Vec<String> = c
        .runs
        .iter()
        .filter(|r| !r.passed && r.supported)
        .map(|r| {
            format!(
                "{} round {}: {}",
                r.proxy,
                r.round,
                r.error.as_deref().unwrap_or("too many errors")
            )
        })
        .collect();
    for f in failed {
        let _ = write!(s, "<p class=\"err\">failed: {}</p>", esc(&f));
    }
    for (proxy, why) in &c.not_supported {
        let _ = write!(
            s,
            "<p class=\"facts\">{}: not yet supported — {}</p>",
            esc(proxy),
            esc(why)
        );
    }
    let mut series = Vec::new();
    for r in c.runs.iter().filter(|r| r.passed) {
        if let Some(rep) = &r.report {
            let k = c.order.iter().position(|p| *p == r.proxy).unwrap_or(0);
            series.push(CdfSeries {
                label: r.proxy.clone(),
                colour: series_colour(&r.proxy, k),
                dashed: false,
                spectrum: &rep.latency_us.spectrum,
            });
        }
    }
    if let Some(b) = &c.baseline {
        series.push(CdfSeries {
            label: "no proxy (generator → backend)".into(),
            colour: "#6b7385",
            dashed: true,
            spectrum: &b.latency_us.spectrum,
        });
    }
    let title = format!("{}: latency by percentile, every passed round", c.scenario);
    match charts::latency_cdf(&title, &series) {
        Some(svg) => {
            let _ = write!(s, "<div class=\"card\">{svg}</div>");
        }
        None => s.push_str(
            "<p class=\"facts\">No latency spectrum in this file (written before reports carried one).</p>",
        ),
    }
    s
}

/// Bench files: one table row each and one latency chart for all.
fn bench_section(all: &[(&Input, &BenchReport)]) -> String {
    let mut s = String::new();
    let rows: Vec<Vec<Cell>> = all
        .iter()
        .map(|(i, b)| {
            let l = &b.latency_us;
            let mode = match b.target_rate {
                Some(r) => format!("open loop at {} req/s", fmt_count(r)),
                None => "closed loop".into(),
            };
            vec![
                text(i.name.clone()),
                text(b.url.clone()),
                text(format!("{mode}, {}, {} conns", b.connection, b.connections)),
                num(fmt_count(b.requests_per_second)),
                num(fmt_us(l.p50)),
                num(fmt_us(l.p90)),
                num(fmt_us(l.p99)),
                num(fmt_us(l.p999)),
                num(fmt_us(l.max)),
                num(b.errors_total.to_string()),
                num(b
                    .sut_cpu
                    .as_ref()
                    .and_then(|c| c.us_per_request)
                    .map_or("-".into(), |v| trim_num(v, 2))),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "result",
            "url",
            "load",
            "req/s",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "errors",
            "SUT CPU µs/req",
        ],
        &rows,
    ));
    let series: Vec<CdfSeries<'_>> = all
        .iter()
        .enumerate()
        .map(|(k, (i, b))| CdfSeries {
            label: i.name.clone(),
            colour: series_colour(&i.name, k),
            dashed: false,
            spectrum: &b.latency_us.spectrum,
        })
        .collect();
    if let Some(svg) = charts::latency_cdf("bench runs: latency by percentile", &series) {
        let _ = write!(s, "<div class=\"card\">{svg}</div>");
    }
    // Second i of the window covers [i, i+1): a step over that interval.
    let timelines: Vec<charts::Curve<'_>> = all
        .iter()
        .enumerate()
        .map(|(k, (i, b))| charts::Curve {
            label: i.name.clone(),
            colour: series_colour(&i.name, k),
            dashed: false,
            points: b
                .timeline
                .iter()
                .flat_map(|t| {
                    let (x, v) = (t.second as f64, t.requests as f64);
                    [(x, v), (x + 1.0, v)]
                })
                .collect(),
        })
        .collect();
    if let Some(svg) = charts::curves_linear(
        "bench runs: successful requests per second of the window",
        "seconds into the measurement window (warm-up excluded)",
        "requests per second",
        &timelines,
        &fmt_count,
    ) {
        let _ = write!(s, "<div class=\"card\">{svg}</div>");
    }
    s
}

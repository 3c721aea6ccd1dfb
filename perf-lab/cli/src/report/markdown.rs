//! `summary.md`: the report's tables in Markdown, for pasting into an
//! issue or a closing note.

use super::figures;
use super::input::{Content, Input};
use super::svg::{fmt_count, fmt_us, trim_num};
use std::fmt::Write as _;

/// Escape what would break a Markdown table cell.
pub fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
}

/// A Markdown table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = String::new();
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    t.push_str(&line(headers.iter().map(|h| cell(h)).collect()));
    t.push_str(&line(headers.iter().map(|_| "---".to_string()).collect()));
    for r in rows {
        t.push_str(&line(r.iter().map(|c| cell(c)).collect()));
    }
    t
}

/// The whole summary.
pub fn render(inputs: &[Input]) -> String {
    let mut md = String::from("# shardgate perf-lab summary\n\n");
    let _ = writeln!(md, "From {} result file(s):\n", inputs.len());
    for i in inputs {
        let _ = writeln!(md, "- `{}` ({})", i.path.display(), i.kind());
    }
    md.push('\n');
    let mut ratio_rows = Vec::new();
    for i in inputs {
        let Content::Compare(c) = &i.content else {
            continue;
        };
        let _ = writeln!(
            md,
            "## Scenario {}\n\n{} round(s) × {} s, {} connections; median [min–max] over rounds.\n",
            c.scenario,
            c.rounds,
            trim_num(c.duration_seconds, 1),
            c.connections
        );
        let mut headers = vec!["figure"];
        headers.extend(c.order.iter().map(String::as_str));
        let rows: Vec<Vec<String>> = figures::all()
            .iter()
            .map(|f| {
                let mut row = vec![f.label.to_string()];
                for p in &c.order {
                    row.push(figures::compare_cell(c, p, *f));
                }
                row
            })
            .collect();
        md.push_str(&table(&headers, &rows));
        md.push('\n');
        if let Some(b) = &c.baseline {
            let _ = writeln!(
                md,
                "Generator ceiling on this plan (no proxy): {} req/s, p50 {}, p99 {}.\n",
                fmt_count(b.requests_per_second),
                fmt_us(b.latency_us.p50),
                fmt_us(b.latency_us.p99)
            );
        }
        for (peer, cells) in figures::ratio_rows(c) {
            let mut row = vec![c.scenario.clone(), peer];
            row.extend(cells.iter().map(figures::RatioCell::text));
            ratio_rows.push(row);
        }
    }
    if !ratio_rows.is_empty() {
        md.push_str("## Ratios shardgate / peer\n\nMedian [min–max] of per-round ratios; a range straddling 1.00 is not a result.\n\n");
        let labels: Vec<String> = figures::all()
            .iter()
            .map(|f| {
                format!(
                    "{} ({})",
                    f.label,
                    if f.higher_is_better { "↑" } else { "↓" }
                )
            })
            .collect();
        let mut headers = vec!["scenario", "peer"];
        headers.extend(labels.iter().map(String::as_str));
        md.push_str(&table(&headers, &ratio_rows));
        md.push('\n');
    }
    md.push_str(&super::sweep::markdown(inputs));
    md.push_str(&super::control::markdown(inputs));
    let bench_rows: Vec<Vec<String>> = inputs
        .iter()
        .filter_map(|i| match &i.content {
            Content::Bench(b) => Some((i, b)),
            _ => None,
        })
        .map(|(i, b)| {
            let l = &b.latency_us;
            vec![
                i.name.clone(),
                b.url.clone(),
                fmt_count(b.requests_per_second),
                fmt_us(l.p50),
                fmt_us(l.p99),
                fmt_us(l.p999),
                fmt_us(l.max),
                b.errors_total.to_string(),
            ]
        })
        .collect();
    if !bench_rows.is_empty() {
        md.push_str("## Bench runs\n\n");
        md.push_str(&table(
            &[
                "result", "url", "req/s", "p50", "p99", "p99.9", "max", "errors",
            ],
            &bench_rows,
        ));
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_escape_pipes_and_newlines() {
        let t = table(&["a", "b|c"], &[vec!["x|y".into(), "1\n2".into()]]);
        assert_eq!(t, "| a | b\\|c |\n| --- | --- |\n| x\\|y | 1 2 |\n");
    }
}

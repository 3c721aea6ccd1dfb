//! The figures `compare` summarises, keyed as in `compare.json`, with
//! how to label, format and judge them.

use super::input::Spread;
use super::svg::{fmt_count, fmt_sig_as};
use crate::compare::summary::Figure as CompareFigure;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figure {
    /// The key in `compare.json` `medians` and `ratios`.
    pub key: &'static str,
    pub label: &'static str,
    pub higher_is_better: bool,
}

pub const RPS: Figure = Figure {
    key: "requests_per_second",
    label: "req/s",
    higher_is_better: true,
};
pub const PROXY_CPU: Figure = Figure {
    key: "proxy_cpu_us_per_request",
    label: "proxy CPU µs/req",
    higher_is_better: false,
};

/// Every figure `compare` summarises, in its order: taken from `compare`
/// itself so a figure it adds shows up here too.
pub fn all() -> Vec<Figure> {
    CompareFigure::ALL
        .iter()
        .map(|f| Figure {
            key: f.key(),
            label: f.label(),
            higher_is_better: f.higher_is_better(),
        })
        .collect()
}

impl Figure {
    /// `median [min–max]` of this figure, the range with the median's
    /// decimals.
    pub fn cell(self, s: &Spread) -> String {
        if self.higher_is_better {
            spread_cell(s, &fmt_count)
        } else {
            spread_cell(s, &|v| fmt_sig_as(v, s.median))
        }
    }
}

/// A proxy's cell in a compare table: its spread, `not yet supported`,
/// or `-` when no run produced the figure.
pub fn compare_cell(c: &super::input::Compare, proxy: &str, f: Figure) -> String {
    if c.not_supported.contains_key(proxy) {
        return "not yet supported".into();
    }
    c.medians
        .get(proxy)
        .and_then(|m| m.get(f.key))
        .map_or("-".into(), |s| f.cell(s))
}

/// The base of every ratio.
pub const BASE: &str = "shardgate";

/// One row of a ratio table: the peer (with why there is no ratio when
/// the base or the peer does not speak the scenario yet) and its cells.
pub fn ratio_rows(c: &super::input::Compare) -> Vec<(String, Vec<RatioCell>)> {
    let na = || vec![RatioCell::Missing("n/a".into()); all().len()];
    let base_missing = c.not_supported.contains_key(BASE);
    c.order
        .iter()
        .filter(|p| p.as_str() != BASE)
        .map(|p| {
            if base_missing {
                (format!("{p} ({BASE} not yet supported)"), na())
            } else if c.not_supported.contains_key(p) {
                (format!("{p} (not yet supported)"), na())
            } else {
                let cells = all()
                    .iter()
                    .map(|f| match c.ratios.get(p).and_then(|m| m.get(f.key)) {
                        Some(s) => RatioCell::Ratio(*f, *s),
                        None => RatioCell::Missing("-".into()),
                    })
                    .collect();
                (p.clone(), cells)
            }
        })
        .collect()
}

/// A ratio table cell.
#[derive(Debug, Clone, PartialEq)]
pub enum RatioCell {
    Ratio(Figure, Spread),
    Missing(String),
}

impl RatioCell {
    pub fn text(&self) -> String {
        match self {
            RatioCell::Ratio(_, s) => spread_cell(s, &|v| format!("{v:.2}")),
            RatioCell::Missing(why) => why.clone(),
        }
    }
}

/// `median [min–max]`, or the median alone for one run.
pub fn spread_cell(s: &Spread, fmt: &dyn Fn(f64) -> String) -> String {
    if s.n <= 1 {
        fmt(s.median)
    } else {
        format!("{} [{}–{}]", fmt(s.median), fmt(s.min), fmt(s.max))
    }
}

/// How a ratio shardgate/peer reads: better, worse, or not a result (its
/// range straddles 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Worse,
    Unclear,
}

pub fn verdict(f: Figure, s: &Spread) -> Verdict {
    let (above, below) = (s.min > 1.0, s.max < 1.0);
    match (above, below, f.higher_is_better) {
        (true, _, true) | (_, true, false) => Verdict::Better,
        (true, _, false) | (_, true, true) => Verdict::Worse,
        _ => Verdict::Unclear,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_direction_and_straddling() {
        let s = |min, max| Spread {
            median: (min + max) / 2.0,
            min,
            max,
            n: 3,
        };
        assert_eq!(verdict(RPS, &s(1.2, 1.4)), Verdict::Better);
        assert_eq!(verdict(RPS, &s(0.7, 0.9)), Verdict::Worse);
        assert_eq!(verdict(RPS, &s(0.9, 1.1)), Verdict::Unclear);
        assert_eq!(verdict(PROXY_CPU, &s(0.7, 0.9)), Verdict::Better);
        assert_eq!(verdict(PROXY_CPU, &s(1.1, 1.3)), Verdict::Worse);
        assert_eq!(spread_cell(&s(1.0, 3.0), &|v| format!("{v}")), "2 [1–3]");
        assert_eq!(RPS.cell(&s(12_000.0, 12_690.0)), "12.3k [12k–12.7k]");
        assert_eq!(PROXY_CPU.cell(&s(44.0, 52.08)), "48.0 [44.0–52.1]");
    }

    fn compare(not_supported: &[&str]) -> super::super::input::Compare {
        let ns: serde_json::Map<String, serde_json::Value> = not_supported
            .iter()
            .map(|p| (p.to_string(), serde_json::Value::from("no h2c")))
            .collect();
        serde_json::from_value(serde_json::json!({
            "scenario": "http2", "rounds": 1, "duration_seconds": 1.0, "connections": 4,
            "order": ["shardgate", "nginx", "haproxy"], "baseline": null, "runs": [],
            "medians": {},
            "ratios": {"nginx": {"requests_per_second": {"median": 1.5, "min": 1.2, "max": 1.8, "n": 3}}},
            "not_supported": ns, "load_start": null, "load_end": null, "passed": 0, "failed": 0
        }))
        .expect("a compare")
    }

    #[test]
    fn the_charted_figures_are_among_compare_s() {
        assert!(
            all().contains(&RPS) && all().contains(&PROXY_CPU),
            "{:?}",
            all()
        );
    }

    #[test]
    fn ratio_rows_say_who_is_not_supported() {
        let rows = ratio_rows(&compare(&[]));
        let peers: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(peers, ["nginx", "haproxy"]);
        assert_eq!(rows[0].1[0].text(), "1.50 [1.20–1.80]");
        assert_eq!(rows[0].1[1].text(), "-");
        assert_eq!(rows[1].1[0].text(), "-");
        let rows = ratio_rows(&compare(&["haproxy"]));
        assert_eq!(rows[1].0, "haproxy (not yet supported)");
        assert_eq!(rows[1].1[0].text(), "n/a");
        let rows = ratio_rows(&compare(&["shardgate"]));
        assert_eq!(rows[0].0, "nginx (shardgate not yet supported)");
        assert!(rows.iter().all(|r| r.1.iter().all(|c| c.text() == "n/a")));
        assert_eq!(
            compare_cell(&compare(&["shardgate"]), "shardgate", RPS),
            "not yet supported"
        );
    }
}

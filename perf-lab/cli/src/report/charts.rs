//! The report's charts, built from [`super::svg`] primitives: latency by
//! percentile, bars with min–max whiskers, curves, histograms.

use super::input::Spread;
use super::svg::{Chart, Frame, Scale, fmt_count, fmt_pct, fmt_us, trim_num};
use shardgate_loadgen::report::Percentile;

/// Width of every chart, pixels (the page's content column).
pub const WIDTH: f64 = 1100.0;

/// One line of a latency-by-percentile chart.
pub struct CdfSeries<'a> {
    pub label: String,
    pub colour: &'a str,
    pub dashed: bool,
    pub spectrum: &'a [Percentile],
}

/// Latency (log µs) against percentile (0 % … 99.999 %, by nines). Series
/// with the same label share one legend entry (rounds of one proxy).
pub fn latency_cdf(title: &str, series: &[CdfSeries<'_>]) -> Option<String> {
    let values = series
        .iter()
        .flat_map(|s| s.spectrum.iter().map(|p| p.us))
        .filter(|v| *v > 0.0);
    let (min, max) = min_max(values)?;
    let mut c = Chart::new(
        Frame::new(WIDTH, 420.0),
        Scale::Nines { nines: 5 },
        Scale::log_covering(min, max),
        title,
    );
    c.y_axis(&fmt_us, "latency (log scale)");
    c.x_axis(
        &fmt_pct,
        "percentile (log scale of 1/(1 − p): each step is one more nine)",
    );
    let mut seen = Vec::new();
    for s in series {
        let pts: Vec<(f64, f64)> = s
            .spectrum
            .iter()
            .filter(|p| p.percentile < 100.0 && p.us > 0.0)
            .map(|p| (p.percentile, p.us))
            .collect();
        c.line(&pts, s.colour, s.dashed, &s.label);
        if !seen.contains(&s.label) {
            c.legend(&s.label, s.colour, s.dashed);
            seen.push(s.label.clone());
        }
    }
    Some(c.finish())
}

/// One bar: a median with its min–max spread, or no figure and why (the
/// slot stays, labelled, so bars keep their places across groups).
pub struct Bar<'a> {
    pub series: String,
    pub colour: &'a str,
    pub spread: Result<Spread, String>,
}

/// Bars grouped by category (a scenario), one per series (a proxy).
pub struct Group<'a> {
    pub name: String,
    pub bars: Vec<Bar<'a>>,
}

/// Median bars with min–max whiskers from zero, grouped; `fmt` labels the
/// values and the y axis.
pub fn bars(
    title: &str,
    y_title: &str,
    groups: &[Group<'_>],
    fmt: &dyn Fn(f64) -> String,
) -> Option<String> {
    let (_, max) = min_max(groups.iter().flat_map(|g| {
        g.bars
            .iter()
            .filter_map(|b| b.spread.as_ref().ok().map(|s| s.max))
    }))?;
    let mut c = Chart::new(
        Frame::new(WIDTH, 360.0),
        Scale::Linear { lo: 0.0, hi: 1.0 },
        Scale::linear_from_zero(max * 1.12),
        title,
    );
    c.y_axis(fmt, y_title);
    let f = c.frame;
    let group_w = f.plot_width() / groups.len() as f64;
    let mut seen: Vec<String> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let left = f.x0() + gi as f64 * group_w;
        let n = g.bars.len().max(1) as f64;
        let bar_w = (group_w * 0.7 / n).min(90.0);
        let start = left + (group_w - bar_w * n) / 2.0 + bar_w / 2.0;
        for (bi, b) in g.bars.iter().enumerate() {
            let x = start + bi as f64 * bar_w;
            if !seen.contains(&b.series) {
                c.legend(&b.series, b.colour, false);
                seen.push(b.series.clone());
            }
            let s = match &b.spread {
                Ok(s) => *s,
                Err(why) => {
                    c.slot_note(x, why);
                    continue;
                }
            };
            let tip = format!(
                "{} {}: median {} (min {}, max {}, {} run(s))",
                g.name,
                b.series,
                fmt(s.median),
                fmt(s.min),
                fmt(s.max),
                s.n
            );
            c.bar(x, bar_w * 0.86, s.median, b.colour, "", &tip);
            if s.n > 1 {
                c.whisker(x, s.min, s.max);
            }
            c.value_label(x, s.max, &fmt(s.median));
        }
        c.category(left + group_w / 2.0, &g.name);
    }
    c.x_title("median per run set; whiskers: min–max over rounds");
    Some(c.finish())
}

/// One curve of an x–y chart.
pub struct Curve<'a> {
    pub label: String,
    pub colour: &'a str,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

/// Curves on a linear x axis from zero (load, req/s) and a log y axis of
/// microseconds (latency).
pub fn curves_us(
    title: &str,
    x_title: &str,
    y_title: &str,
    curves: &[Curve<'_>],
) -> Option<String> {
    let (_, xmax) = min_max(curves.iter().flat_map(|c| c.points.iter().map(|p| p.0)))?;
    let (ymin, ymax) = min_max(
        curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.1))
            .filter(|v| *v > 0.0),
    )?;
    let mut c = Chart::new(
        Frame::new(WIDTH, 400.0),
        Scale::linear_from_zero(xmax * 1.05),
        Scale::log_covering(ymin, ymax),
        title,
    );
    c.y_axis(&fmt_us, y_title);
    c.x_axis(&fmt_count, x_title);
    for cv in curves {
        c.line(&cv.points, cv.colour, cv.dashed, &cv.label);
        c.dots(&cv.points, cv.colour);
        c.legend(&cv.label, cv.colour, cv.dashed);
    }
    Some(c.finish())
}

/// Curves on linear axes from zero (a timeline).
pub fn curves_linear(
    title: &str,
    x_title: &str,
    y_title: &str,
    curves: &[Curve<'_>],
    y_fmt: &dyn Fn(f64) -> String,
) -> Option<String> {
    let (_, xmax) = min_max(curves.iter().flat_map(|c| c.points.iter().map(|p| p.0)))?;
    let (_, ymax) = min_max(curves.iter().flat_map(|c| c.points.iter().map(|p| p.1)))?;
    let mut c = Chart::new(
        Frame::new(WIDTH, 300.0),
        Scale::linear_from_zero(xmax),
        Scale::linear_from_zero(ymax * 1.1),
        title,
    );
    c.y_axis(y_fmt, y_title);
    c.x_axis(&|v| trim_num(v, 1), x_title);
    for cv in curves {
        c.line(&cv.points, cv.colour, cv.dashed, &cv.label);
        c.legend(&cv.label, cv.colour, cv.dashed);
    }
    Some(c.finish())
}

/// Curves on log–log axes (figures against route count).
pub fn curves_loglog(
    title: &str,
    x_title: &str,
    y_title: &str,
    curves: &[Curve<'_>],
    y_fmt: &dyn Fn(f64) -> String,
) -> Option<String> {
    let positive = |f: fn(&(f64, f64)) -> f64| {
        curves
            .iter()
            .flat_map(move |c| c.points.iter().map(f))
            .filter(|v| *v > 0.0)
    };
    let (xmin, xmax) = min_max(positive(|p| p.0))?;
    let (ymin, ymax) = min_max(positive(|p| p.1))?;
    let mut c = Chart::new(
        Frame::new(WIDTH, 380.0),
        Scale::log_covering(xmin, xmax),
        Scale::log_covering(ymin, ymax),
        title,
    );
    c.y_axis(y_fmt, y_title);
    c.x_axis(&fmt_count, x_title);
    for cv in curves {
        c.line(&cv.points, cv.colour, cv.dashed, &cv.label);
        c.dots(&cv.points, cv.colour);
        c.legend(&cv.label, cv.colour, cv.dashed);
    }
    Some(c.finish())
}

/// Bins of a histogram: `(lo, hi, count)`, `bins` equal widths covering
/// the samples from a rounded start.
pub fn bin(samples: &[f64], bins: usize) -> Vec<(f64, f64, usize)> {
    let Some((min, max)) = min_max(samples.iter().copied()) else {
        return Vec::new();
    };
    let bins = bins.max(1);
    let span = (max - min).max(max.abs() * 1e-3).max(1e-9);
    let width = super::svg::nice_ceiling(span / bins as f64);
    let start = (min / width).floor() * width;
    let count = (((max - start) / width).floor() as usize + 1).max(1);
    let mut out: Vec<(f64, f64, usize)> = (0..count)
        .map(|i| (start + i as f64 * width, start + (i + 1) as f64 * width, 0))
        .collect();
    for &s in samples.iter().filter(|s| s.is_finite()) {
        let i = (((s - start) / width).floor() as usize).min(count - 1);
        out[i].2 += 1;
    }
    out
}

/// A histogram of millisecond samples with p50 and p99 marked.
pub fn histogram_ms(title: &str, x_title: &str, samples: &[f64], colour: &str) -> Option<String> {
    let bins = bin(samples, 24);
    let (first, last) = (bins.first()?, bins.last()?);
    let top = bins.iter().map(|b| b.2).max().unwrap_or(0).max(1);
    let mut c = Chart::new(
        // Two side by side in the content column (cards add 34 px each).
        Frame::new((WIDTH - 12.0) / 2.0 - 34.0, 300.0),
        Scale::Linear {
            lo: first.0,
            hi: last.1,
        },
        Scale::linear_from_zero(top as f64 * 1.15),
        title,
    );
    c.y_axis(&|v| trim_num(v, 1), "changes");
    c.x_axis(&|v| super::svg::fmt_ms(v), x_title);
    for (lo, hi, n) in &bins {
        let tip = format!(
            "{}–{}: {n}",
            super::svg::fmt_ms(*lo),
            super::svg::fmt_ms(*hi)
        );
        c.bin(*lo, *hi, *n as f64, colour, &tip);
    }
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    for (p, dash_colour) in [(50.0, "#333333"), (99.0, "#B00020")] {
        let rank = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        let v = sorted[rank - 1];
        c.vmark(
            v,
            &format!("p{} {}", trim_num(p, 0), super::svg::fmt_ms(v)),
            dash_colour,
        );
    }
    Some(c.finish())
}

/// Smallest and largest finite value.
pub fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spectrum(scale: f64) -> Vec<Percentile> {
        (0..=100)
            .map(|i| {
                let q = 1.0 - 10f64.powf(-(i as f64) / 20.0);
                Percentile {
                    percentile: q * 100.0,
                    us: scale * (1.0 + i as f64),
                }
            })
            .collect()
    }

    #[test]
    fn cdf_draws_one_line_per_series_and_one_legend_per_label() {
        let (a, b) = (spectrum(10.0), spectrum(20.0));
        let series = [
            CdfSeries {
                label: "nginx".into(),
                colour: "#1",
                dashed: false,
                spectrum: &a,
            },
            CdfSeries {
                label: "nginx".into(),
                colour: "#1",
                dashed: false,
                spectrum: &b,
            },
            CdfSeries {
                label: "baseline".into(),
                colour: "#2",
                dashed: true,
                spectrum: &a,
            },
        ];
        let svg = latency_cdf("latency", &series).expect("data");
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert_eq!(svg.matches(">nginx</text>").count(), 1, "{svg}");
        assert!(svg.contains(">99.999%<"));
        assert!(svg.contains("stroke-dasharray"));
        assert!(latency_cdf("empty", &[]).is_none());
    }

    #[test]
    fn bars_carry_whiskers_only_with_spread() {
        let one = Spread {
            median: 10.0,
            min: 10.0,
            max: 10.0,
            n: 1,
        };
        let three = Spread {
            median: 20.0,
            min: 15.0,
            max: 30.0,
            n: 3,
        };
        let g = [Group {
            name: "small-get".into(),
            bars: vec![
                Bar {
                    series: "shardgate".into(),
                    colour: "#1",
                    spread: Ok(three),
                },
                Bar {
                    series: "nginx".into(),
                    colour: "#2",
                    spread: Ok(one),
                },
                Bar {
                    series: "haproxy".into(),
                    colour: "#3",
                    spread: Err("not <yet> supported".into()),
                },
            ],
        }];
        let svg = bars("req/s", "requests per second", &g, &fmt_count).expect("data");
        assert_eq!(svg.matches("class=\"whisker\"").count(), 1);
        assert_eq!(svg.matches("<rect").count(), 2);
        // The empty slot says why and still has its legend entry.
        assert!(svg.contains(">not &lt;yet&gt; supported</text>"), "{svg}");
        assert!(svg.contains(">haproxy</text>"));
        assert!(svg.contains("min 15, max 30, 3 run(s)"), "{svg}");
        assert!(svg.contains(">small-get<"));
    }

    #[test]
    fn bins_cover_every_sample_once() {
        let samples: Vec<f64> = (0..100).map(|i| 1.0 + f64::from(i) * 0.1).collect();
        let b = bin(&samples, 10);
        assert_eq!(b.iter().map(|x| x.2).sum::<usize>(), 100);
        assert!(b[0].0 <= 1.0 && b.last().map(|x| x.1) > Some(10.9));
        assert!(b.windows(2).all(|w| (w[0].1 - w[1].0).abs() < 1e-9));
        assert_eq!(bin(&[5.0, 5.0], 10).iter().map(|x| x.2).sum::<usize>(), 2);
        assert!(bin(&[], 10).is_empty());
        let svg = histogram_ms("h", "ms", &samples, "#1").expect("data");
        assert!(svg.contains("p50 ") && svg.contains("p99 "), "{svg}");
    }
}

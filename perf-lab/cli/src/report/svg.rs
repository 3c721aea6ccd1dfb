//! Chart primitives for the report: escaping, scales (linear, log,
//! percentile "nines"), tick choice, and a [`Chart`] that writes an inline
//! SVG with axes, grid, lines, bars, whiskers and a legend. No JavaScript:
//! the page must render from the file alone.

use std::fmt::Write as _;

/// Escape text for HTML and SVG element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Colour-blind-safe series colours (Okabe–Ito, without the yellow that
/// vanishes on white).
pub const PALETTE: [&str; 6] = [
    "#0072B2", "#009E73", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9",
];

/// A fixed colour per proxy so every chart agrees; other series take the
/// palette in order after the proxies.
pub fn series_colour(name: &str, index: usize) -> &'static str {
    match name {
        "shardgate" => PALETTE[0],
        "nginx" => PALETTE[1],
        "haproxy" => PALETTE[2],
        _ => PALETTE[3 + index % 3],
    }
}

/// Where a value falls along an axis, as a fraction 0..1 of its length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    Linear {
        lo: f64,
        hi: f64,
    },
    /// Base 10; `lo` and `hi` must be positive.
    Log {
        lo: f64,
        hi: f64,
    },
    /// Percentiles, spaced by their "nines": 0 %, 90 %, 99 %, 99.9 % …
    /// equally apart, up to `nines` nines.
    Nines {
        nines: u32,
    },
}

/// `-log10(1 - p/100)`: 0 for 0 %, 1 for 90 %, 2 for 99 % …
pub fn nines(percentile: f64) -> f64 {
    let rest = (1.0 - percentile / 100.0).max(1e-12);
    -rest.log10()
}

impl Scale {
    /// Linear from 0 (or below, for negative data) to a rounded maximum.
    pub fn linear_from_zero(max: f64) -> Scale {
        let hi = nice_ceiling(if max > 0.0 { max } else { 1.0 });
        Scale::Linear { lo: 0.0, hi }
    }

    /// Log scale covering `[min, max]` on whole decades.
    pub fn log_covering(min: f64, max: f64) -> Scale {
        let min = if min > 0.0 { min } else { max.max(1e-9) };
        let max = max.max(min);
        let lo = 10f64.powf(min.log10().floor());
        let mut hi = 10f64.powf(max.log10().ceil());
        if hi <= lo {
            hi = lo * 10.0;
        }
        Scale::Log { lo, hi }
    }

    /// 0..1 along the axis (values outside the domain fall outside 0..1;
    /// non-positive values on a log scale clamp to its low end).
    pub fn frac(&self, v: f64) -> f64 {
        match *self {
            Scale::Linear { lo, hi } => {
                if hi == lo {
                    0.0
                } else {
                    (v - lo) / (hi - lo)
                }
            }
            Scale::Log { lo, hi } => {
                let v = v.max(lo * 1e-3);
                (v.log10() - lo.log10()) / (hi.log10() - lo.log10())
            }
            Scale::Nines { nines: n } => nines(v) / f64::from(n.max(1)),
        }
    }

    /// Tick values in the domain, with labels made by `label`.
    pub fn ticks(&self, label: &dyn Fn(f64) -> String) -> Vec<(f64, String)> {
        let values = match *self {
            Scale::Linear { lo, hi } => linear_ticks(lo, hi, 6),
            Scale::Log { lo, hi } => log_ticks(lo, hi),
            Scale::Nines { nines: n } => (0..=n)
                .map(|k| 100.0 * (1.0 - 10f64.powi(-(k as i32))))
                .collect(),
        };
        values.into_iter().map(|v| (v, label(v))).collect()
    }
}

/// The smallest 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k at or above
/// `v` (v > 0): an axis end close above the data.
pub fn nice_ceiling(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if m * p >= v * (1.0 - 1e-9) {
            return m * p;
        }
    }
    10.0 * p
}

/// About `target` round ticks (step 1, 2 or 5 × 10^k) from `lo` to `hi`.
pub fn linear_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) || target == 0 {
        return vec![lo];
    }
    let raw = (hi - lo) / target as f64;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Decades from `lo` to `hi`; when the range spans fewer than three
/// decades, also 2 and 5 times each.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo) {
        return vec![lo];
    }
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let dense = b - a < 3;
    let mut out = Vec::new();
    for e in a..=b {
        let d = 10f64.powi(e);
        let mults: &[f64] = if dense { &[1.0, 2.0, 5.0] } else { &[1.0] };
        for m in mults {
            let v = m * d;
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push(v);
            }
        }
    }
    out
}

/// A number with at most `max_decimals` decimals and no trailing zeros.
pub fn trim_num(v: f64, max_decimals: usize) -> String {
    let s = format!("{v:.max_decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// About three significant digits, never in exponent form: `3.46`,
/// `45.7`, `812`, `19833`.
pub fn fmt_sig(v: f64) -> String {
    fmt_sig_as(v, v)
}

/// `v` with the decimals [`fmt_sig`] would give `reference` (so a median
/// and its range read alike: `48.0 [44.0–51.9]`).
pub fn fmt_sig_as(v: f64, reference: f64) -> String {
    let a = reference.abs();
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.decimals$}")
}

/// Microseconds in the unit that reads best: `850 µs`, `1.2 ms`, `3 s`.
pub fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{} s", trim_num(us / 1e6, 2))
    } else if us >= 1e3 {
        format!("{} ms", trim_num(us / 1e3, 2))
    } else if us >= 1.0 {
        format!("{} µs", trim_num(us, 1))
    } else {
        format!("{} ns", trim_num(us * 1e3, 0))
    }
}

/// Milliseconds, with the same rules as [`fmt_us`].
pub fn fmt_ms(ms: f64) -> String {
    fmt_us(ms * 1e3)
}

/// Counts with k/M suffixes: `950`, `12.5k`, `1.2M`.
pub fn fmt_count(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim_num(v / 1e6, 2))
    } else if a >= 1e3 {
        format!("{}k", trim_num(v / 1e3, 1))
    } else {
        trim_num(v, 1)
    }
}

/// Bytes in decimal units (`B`, `kB`, `MB`), which fall on the decade
/// ticks of a log axis.
pub fn fmt_bytes(v: f64) -> String {
    if v >= 1e6 {
        format!("{} MB", trim_num(v / 1e6, 2))
    } else if v >= 1e3 {
        format!("{} kB", trim_num(v / 1e3, 1))
    } else {
        format!("{} B", trim_num(v, 0))
    }
}

/// A percentile label: `50%`, `99.9%`.
pub fn fmt_pct(p: f64) -> String {
    format!("{}%", trim_num(p, 4))
}

/// Pixel geometry of a chart: the whole picture and the plot area inside.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    pub fn new(width: f64, height: f64) -> Frame {
        Frame {
            width,
            height,
            left: 78.0,
            right: 44.0,
            top: 44.0,
            bottom: 58.0,
        }
    }
    pub fn x0(&self) -> f64 {
        self.left
    }
    pub fn x1(&self) -> f64 {
        self.width - self.right
    }
    pub fn y0(&self) -> f64 {
        self.height - self.bottom
    }
    pub fn y1(&self) -> f64 {
        self.top
    }
    pub fn plot_width(&self) -> f64 {
        self.x1() - self.x0()
    }
    pub fn plot_height(&self) -> f64 {
        self.y0() - self.y1()
    }
}

/// One legend entry.
#[derive(Debug, Clone)]
pub struct Legend {
    pub label: String,
    pub colour: String,
    pub dashed: bool,
}

/// An SVG chart being written: a frame, an x and a y scale (the x scale is
/// unused by categorical charts, which place bars in pixels).
pub struct Chart {
    pub frame: Frame,
    pub x: Scale,
    pub y: Scale,
    body: String,
    title: String,
    legend: Vec<Legend>,
}

/// `1.5` → `1.5`, finite and rounded for compact SVG.
fn p(v: f64) -> String {
    trim_num(if v.is_finite() { v } else { 0.0 }, 1)
}

impl Chart {
    pub fn new(frame: Frame, x: Scale, y: Scale, title: &str) -> Chart {
        Chart {
            frame,
            x,
            y,
            body: String::new(),
            title: title.to_string(),
            legend: Vec::new(),
        }
    }

    /// Pixel x of a data value.
    pub fn px(&self, v: f64) -> f64 {
        self.frame.x0() + self.x.frac(v) * self.frame.plot_width()
    }

    /// Pixel y of a data value (up is larger).
    pub fn py(&self, v: f64) -> f64 {
        self.frame.y0() - self.y.frac(v) * self.frame.plot_height()
    }

    /// Y ticks with horizontal grid lines, and the axis label (with unit).
    pub fn y_axis(&mut self, label: &dyn Fn(f64) -> String, title: &str) {
        let f = self.frame;
        for (v, text) in self.y.ticks(label) {
            let y = self.py(v);
            let _ = write!(
                self.body,
                r##"<line class="grid" x1="{}" y1="{y}" x2="{}" y2="{y}"/><text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"##,
                p(f.x0()),
                p(f.x1()),
                p(f.x0() - 6.0),
                p(y + 4.0),
                esc(&text),
                y = p(y),
            );
        }
        let (cx, cy) = (16.0, f.y1() + f.plot_height() / 2.0);
        let _ = write!(
            self.body,
            r##"<text class="axis-title" x="{cx}" y="{}" transform="rotate(-90 {cx} {})" text-anchor="middle">{}</text>"##,
            p(cy),
            p(cy),
            esc(title)
        );
    }

    /// X ticks with vertical grid lines, and the axis label.
    pub fn x_axis(&mut self, label: &dyn Fn(f64) -> String, title: &str) {
        let f = self.frame;
        for (v, text) in self.x.ticks(label) {
            let x = self.px(v);
            let _ = write!(
                self.body,
                r##"<line class="grid" x1="{x}" y1="{}" x2="{x}" y2="{}"/><text class="tick" x="{x}" y="{}" text-anchor="middle">{}</text>"##,
                p(f.y1()),
                p(f.y0()),
                p(f.y0() + 18.0),
                esc(&text),
                x = p(x),
            );
        }
        self.x_title(title);
    }

    /// The x axis title alone (categorical charts write their own ticks).
    pub fn x_title(&mut self, title: &str) {
        let f = self.frame;
        let _ = write!(
            self.body,
            r##"<text class="axis-title" x="{}" y="{}" text-anchor="middle">{}</text>"##,
            p(f.x0() + f.plot_width() / 2.0),
            p(f.height - 12.0),
            esc(title)
        );
    }

    /// A label under the plot at pixel `x` (a category name).
    pub fn category(&mut self, x: f64, text: &str) {
        let _ = write!(
            self.body,
            r##"<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>"##,
            p(x),
            p(self.frame.y0() + 18.0),
            esc(text)
        );
    }

    /// A line through data points (points with a non-finite coordinate are
    /// skipped). `tooltip` becomes the SVG `<title>`.
    pub fn line(&mut self, points: &[(f64, f64)], colour: &str, dashed: bool, tooltip: &str) {
        let pts: Vec<String> = points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| format!("{},{}", p(self.px(x)), p(self.py(y))))
            .collect();
        if pts.is_empty() {
            return;
        }
        let dash = if dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            self.body,
            r##"<polyline class="series" points="{}" stroke="{}"{dash}><title>{}</title></polyline>"##,
            pts.join(" "),
            esc(colour),
            esc(tooltip)
        );
    }

    /// Markers at data points.
    pub fn dots(&mut self, points: &[(f64, f64)], colour: &str) {
        for &(x, y) in points {
            if x.is_finite() && y.is_finite() {
                let _ = write!(
                    self.body,
                    r##"<circle cx="{}" cy="{}" r="3.5" fill="{}"/>"##,
                    p(self.px(x)),
                    p(self.py(y)),
                    esc(colour)
                );
            }
        }
    }

    /// A bar from the x axis up to data value `v`, `width` pixels wide
    /// centred on pixel `x`, with a value label above it.
    pub fn bar(&mut self, x: f64, width: f64, v: f64, colour: &str, label: &str, tooltip: &str) {
        let base = self.frame.y0();
        let top = self.py(v).clamp(self.frame.y1(), base);
        let _ = write!(
            self.body,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="{}" rx="2"><title>{}</title></rect>"##,
            p(x - width / 2.0),
            p(top),
            p(width),
            p(base - top),
            esc(colour),
            esc(tooltip)
        );
        if !label.is_empty() {
            let _ = write!(
                self.body,
                r##"<text class="value" x="{}" y="{}" text-anchor="middle">{}</text>"##,
                p(x),
                p(top - 5.0),
                esc(label)
            );
        }
    }

    /// A value label just above data value `v` at pixel `x`.
    pub fn value_label(&mut self, x: f64, v: f64, text: &str) {
        let _ = write!(
            self.body,
            r##"<text class="value" x="{}" y="{}" text-anchor="middle">{}</text>"##,
            p(x),
            p(self.py(v).max(self.frame.y1() + 10.0) - 6.0),
            esc(text)
        );
    }

    /// Vertical text rising from the x axis at pixel `x`: why a bar slot
    /// is empty.
    pub fn slot_note(&mut self, x: f64, text: &str) {
        let y = self.frame.y0() - 6.0;
        let _ = write!(
            self.body,
            r##"<text class="note" x="{x}" y="{y}" fill="#6b7385" transform="rotate(-90 {x} {y})">{}</text>"##,
            esc(text),
            x = p(x + 4.0),
            y = p(y),
        );
    }

    /// A min–max whisker at pixel `x` in data units.
    pub fn whisker(&mut self, x: f64, lo: f64, hi: f64) {
        let (a, b) = (self.py(lo), self.py(hi));
        let _ = write!(
            self.body,
            r##"<path class="whisker" d="M{x} {a}V{b}M{l} {a}H{r}M{l} {b}H{r}"/>"##,
            x = p(x),
            a = p(a),
            b = p(b),
            l = p(x - 5.0),
            r = p(x + 5.0)
        );
    }

    /// A bar for a histogram bin spanning data x `[x0, x1)` with height `v`.
    pub fn bin(&mut self, x0: f64, x1: f64, v: f64, colour: &str, tooltip: &str) {
        let (a, b) = (self.px(x0), self.px(x1));
        let base = self.frame.y0();
        let top = self.py(v).clamp(self.frame.y1(), base);
        let _ = write!(
            self.body,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="0.8" stroke="#fff" stroke-width="0.5"><title>{}</title></rect>"##,
            p(a),
            p(top),
            p((b - a).max(0.5)),
            p(base - top),
            esc(colour),
            esc(tooltip)
        );
    }

    /// A labelled vertical marker line at data x.
    pub fn vmark(&mut self, x: f64, text: &str, colour: &str) {
        let px = self.px(x);
        let f = self.frame;
        // Labels near the right edge go on the line's left so they stay
        // inside the picture.
        let (tx, anchor) = if px > f.x0() + 0.7 * f.plot_width() {
            (px - 4.0, "end")
        } else {
            (px + 4.0, "start")
        };
        let _ = write!(
            self.body,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{c}" stroke-width="1.5" stroke-dasharray="3 3"/><text class="note" x="{}" y="{}" fill="{c}" text-anchor="{anchor}">{}</text>"##,
            p(f.y1()),
            p(f.y0()),
            p(tx),
            p(f.y1() + 12.0),
            esc(text),
            x = p(px),
            c = esc(colour),
        );
    }

    /// Add a legend entry (drawn by [`Chart::finish`]).
    pub fn legend(&mut self, label: &str, colour: &str, dashed: bool) {
        self.legend.push(Legend {
            label: label.to_string(),
            colour: colour.to_string(),
            dashed,
        });
    }

    /// The finished `<svg>` element.
    pub fn finish(self) -> String {
        let f = self.frame;
        let mut s = String::new();
        let _ = write!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><text class="chart-title" x="{}" y="22">{t}</text>"##,
            p(f.x0()),
            w = p(f.width),
            h = p(f.height),
            t = esc(&self.title),
        );
        s.push_str(&self.body);
        let _ = write!(
            s,
            r##"<path class="axis" d="M{} {}V{}H{}"/>"##,
            p(f.x0()),
            p(f.y1()),
            p(f.y0()),
            p(f.x1())
        );
        // Legend: one row at the top right, entries right-aligned.
        let widths: Vec<f64> = self
            .legend
            .iter()
            .map(|l| 30.0 + 7.0 * l.label.chars().count() as f64)
            .collect();
        let mut x = f.x1() - widths.iter().sum::<f64>();
        for (l, w) in self.legend.iter().zip(&widths) {
            let dash = if l.dashed {
                r#" stroke-dasharray="5 3""#
            } else {
                ""
            };
            let _ = write!(
                s,
                r##"<line x1="{}" y1="30" x2="{}" y2="30" stroke="{c}" stroke-width="3"{dash}/><text class="legend" x="{}" y="34">{}</text>"##,
                p(x),
                p(x + 18.0),
                p(x + 23.0),
                esc(&l.label),
                c = esc(&l.colour),
            );
            x += w;
        }
        s.push_str("</svg>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("µs ≤ 5"), "µs ≤ 5");
    }

    #[test]
    fn linear_ticks_are_round_and_inside() {
        assert_eq!(
            linear_ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(linear_ticks(0.0, 1.0, 4), vec![0.0, 0.5, 1.0]);
        let t = linear_ticks(3.0, 47.0, 6);
        assert_eq!(t, vec![10.0, 20.0, 30.0, 40.0]);
        assert_eq!(linear_ticks(5.0, 5.0, 6), vec![5.0]);
        assert_eq!(nice_ceiling(73_000.0), 80_000.0);
        assert_eq!(nice_ceiling(10_400.0), 12_000.0);
        assert_eq!(nice_ceiling(41.0), 50.0);
        assert_eq!(nice_ceiling(2.2), 2.5);
        assert_eq!(nice_ceiling(100.0), 100.0);
    }

    #[test]
    fn log_ticks_are_decades_or_1_2_5() {
        assert_eq!(
            log_ticks(1.0, 10_000.0),
            vec![1.0, 10.0, 100.0, 1000.0, 10_000.0]
        );
        assert_eq!(log_ticks(10.0, 100.0), vec![10.0, 20.0, 50.0, 100.0]);
        assert_eq!(log_ticks(0.0, 10.0), vec![0.0]);
        let s = Scale::log_covering(23.0, 4_100.0);
        assert_eq!(
            s,
            Scale::Log {
                lo: 10.0,
                hi: 10_000.0
            }
        );
        assert_eq!(s.frac(10.0), 0.0);
        assert!((s.frac(100.0) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.frac(10_000.0), 1.0);
        // A single value still gets a decade.
        assert_eq!(
            Scale::log_covering(100.0, 100.0),
            Scale::Log {
                lo: 100.0,
                hi: 1000.0
            }
        );
    }

    #[test]
    fn nines_scale_places_percentiles_by_decade() {
        let s = Scale::Nines { nines: 5 };
        assert_eq!(s.frac(0.0), 0.0);
        assert!((s.frac(90.0) - 0.2).abs() < 1e-12);
        assert!((s.frac(99.9) - 0.6).abs() < 1e-9);
        assert!((s.frac(99.999) - 1.0).abs() < 1e-9);
        let labels: Vec<String> = s.ticks(&fmt_pct).into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        // 100 % does not divide by zero.
        assert!(s.frac(100.0).is_finite());
    }

    #[test]
    fn units_read_naturally() {
        assert_eq!(fmt_us(0.5), "500 ns");
        assert_eq!(fmt_us(85.0), "85 µs");
        assert_eq!(fmt_us(1500.0), "1.5 ms");
        assert_eq!(fmt_us(2_000_000.0), "2 s");
        assert_eq!(fmt_ms(0.25), "250 µs");
        assert_eq!(fmt_count(12_500.0), "12.5k");
        assert_eq!(fmt_count(1_250_000.0), "1.25M");
        assert_eq!(fmt_count(950.0), "950");
        assert_eq!(fmt_sig(45.678), "45.7");
        assert_eq!(fmt_sig(0.123), "0.12");
        assert_eq!(fmt_sig(3.0), "3.00");
        assert_eq!(fmt_sig_as(44.0, 48.04), "44.0");
        assert_eq!(fmt_bytes(2000.0), "2 kB");
        assert_eq!(fmt_bytes(3_500_000.0), "3.5 MB");
        assert_eq!(fmt_bytes(512.0), "512 B");
    }

    #[test]
    fn chart_maps_data_to_pixels_and_escapes_labels() {
        let frame = Frame::new(600.0, 300.0);
        let mut c = Chart::new(
            frame,
            Scale::Linear { lo: 0.0, hi: 10.0 },
            Scale::Log { lo: 1.0, hi: 100.0 },
            "a <title>",
        );
        assert_eq!(c.px(0.0), frame.x0());
        assert_eq!(c.px(10.0), frame.x1());
        assert_eq!(c.py(1.0), frame.y0());
        assert_eq!(c.py(100.0), frame.y1());
        assert!((c.py(10.0) - (frame.y0() + frame.y1()) / 2.0).abs() < 1e-9);
        c.y_axis(&|v| fmt_us(v), "latency");
        c.x_axis(&|v| trim_num(v, 0), "x");
        c.line(
            &[(0.0, 1.0), (f64::NAN, 2.0), (10.0, 100.0)],
            "#000",
            true,
            "s&p",
        );
        c.legend("nginx \"1\"", "#111", false);
        let svg = c.finish();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("a &lt;title&gt;"), "{svg}");
        assert!(svg.contains("nginx &quot;1&quot;"));
        assert!(svg.contains("<title>s&amp;p</title>"));
        // The NaN point is skipped: two points in the polyline.
        let pts = svg
            .split("points=\"")
            .nth(1)
            .and_then(|s| s.split('"').next());
        assert_eq!(pts.map(|p| p.split(' ').count()), Some(2), "{svg}");
        assert!(svg.contains(">100 µs<") && svg.contains(">10 µs<"));
        assert_eq!(svg.matches("<svg").count(), 1);
    }
}

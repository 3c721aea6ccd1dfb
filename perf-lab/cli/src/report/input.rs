//! Reading result files: each is JSON with a top-level `"kind"` naming
//! what wrote it. The report reads the fields it draws; an unknown kind,
//! a missing kind or a malformed file is an error naming the file.

use anyhow::{Context, bail};
use serde::Deserialize;
use shardgate_loadgen::BenchReport;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compare::sweep::{KIND as KIND_SWEEP, SweepResult};
use crate::cpbench::results::{
    KIND_PROPAGATION, KIND_ROUTE_CHANGE, KIND_SCALE, PropagationResult, RouteChangeResult,
    ScaleResult,
};

/// The kinds the report understands.
pub const KINDS: &[&str] = &[
    crate::bench::KIND,
    crate::compare::KIND,
    KIND_SWEEP,
    KIND_PROPAGATION,
    KIND_SCALE,
    KIND_ROUTE_CHANGE,
];

/// Median and range over rounds, as `compare` writes them.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

/// Which CPUs each role ran on.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Plan {
    pub proxy: Vec<usize>,
    pub generator: Vec<usize>,
    pub backend: Vec<usize>,
}

/// One proxy's run in one round.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Run {
    pub proxy: String,
    pub round: usize,
    pub passed: bool,
    pub error: Option<String>,
    pub report: Option<BenchReport>,
    /// False when the proxy does not speak the scenario's protocol yet.
    #[serde(default = "yes")]
    pub supported: bool,
}

fn yes() -> bool {
    true
}

/// Figures per proxy (or per peer, for ratios), keyed as `compare` keys
/// them (`requests_per_second`, `p99_us`, …).
pub type Figures = BTreeMap<String, BTreeMap<String, Spread>>;

/// `compare.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Compare {
    pub scenario: String,
    /// The scenario in words.
    #[serde(default)]
    pub description: String,
    /// `http/1.1`, `http/1.1+tls`, `h2c`, `grpc`.
    #[serde(default)]
    pub protocol: String,
    #[serde(default)]
    pub plan: Plan,
    pub rounds: usize,
    pub duration_seconds: f64,
    pub connections: usize,
    pub order: Vec<String>,
    pub baseline: Option<BenchReport>,
    pub runs: Vec<Run>,
    pub medians: Figures,
    pub ratios: Figures,
    /// Proxies that do not speak the scenario's protocol yet, and why.
    #[serde(default)]
    pub not_supported: BTreeMap<String, String>,
    pub load_start: Option<f64>,
    pub load_end: Option<f64>,
    pub passed: usize,
    pub failed: usize,
}

/// What one file holds.
#[derive(Debug, Clone)]
pub enum Content {
    Bench(Box<BenchReport>),
    Compare(Box<Compare>),
    Sweep(Box<SweepResult>),
    Propagation(Box<PropagationResult>),
    Scale(Box<ScaleResult>),
    RouteChange(Box<RouteChangeResult>),
}

/// One result file, read.
#[derive(Debug, Clone)]
pub struct Input {
    pub path: PathBuf,
    /// A short name for headings: the file name, or the parent directory
    /// and the file name when the file name alone is generic.
    pub name: String,
    pub content: Content,
}

impl Input {
    pub fn kind(&self) -> &'static str {
        match self.content {
            Content::Bench(_) => crate::bench::KIND,
            Content::Compare(_) => crate::compare::KIND,
            Content::Sweep(_) => KIND_SWEEP,
            Content::Propagation(_) => KIND_PROPAGATION,
            Content::Scale(_) => KIND_SCALE,
            Content::RouteChange(_) => KIND_ROUTE_CHANGE,
        }
    }
}

/// Read and classify one file.
pub fn read(path: &Path) -> anyhow::Result<Input> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(path, &text)
}

/// Classify the JSON `text` of `path` by its `"kind"`.
pub fn parse(path: &Path, text: &str) -> anyhow::Result<Input> {
    let value: serde_json::Value = serde_json::from_str(text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let Some(kind) = value.get("kind") else {
        bail!(
            "{} has no top-level \"kind\" (written by an older shardgate-lab? re-run it); \
             the report reads kinds: {}",
            path.display(),
            KINDS.join(", ")
        );
    };
    let Some(kind) = kind.as_str() else {
        bail!("{}: \"kind\" is not a string: {kind}", path.display());
    };
    let shape = |e: serde_json::Error| {
        anyhow::anyhow!(
            "{} (kind \"{kind}\") does not have the expected fields: {e}",
            path.display()
        )
    };
    fn typed<T: serde::de::DeserializeOwned>(
        v: serde_json::Value,
        shape: &dyn Fn(serde_json::Error) -> anyhow::Error,
    ) -> anyhow::Result<Box<T>> {
        serde_json::from_value(v).map(Box::new).map_err(shape)
    }
    let v = value.clone();
    let content = match kind {
        k if k == crate::bench::KIND => Content::Bench(typed(v, &shape)?),
        k if k == crate::compare::KIND => Content::Compare(typed(v, &shape)?),
        KIND_SWEEP => Content::Sweep(typed(v, &shape)?),
        KIND_PROPAGATION => Content::Propagation(typed(v, &shape)?),
        KIND_SCALE => Content::Scale(typed(v, &shape)?),
        KIND_ROUTE_CHANGE => Content::RouteChange(typed(v, &shape)?),
        other => bail!(
            "{}: unknown result kind \"{other}\"; the report reads kinds: {}",
            path.display(),
            KINDS.join(", ")
        ),
    };
    Ok(Input {
        path: path.to_path_buf(),
        name: short_name(path),
        content,
    })
}

/// `compare.json` says little alone: prefix its directory.
fn short_name(path: &Path) -> String {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let generic = matches!(
        file.as_str(),
        "compare.json" | "result.json" | "results.json"
    );
    match path.parent().and_then(|p| p.file_name()) {
        Some(dir) if generic => format!("{}/{file}", dir.to_string_lossy()),
        _ => file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_required_and_known() {
        let p = Path::new("/r/x.json");
        let e = parse(p, r#"{"requests": 1}"#).expect_err("no kind");
        assert!(
            format!("{e:#}").contains("/r/x.json has no top-level \"kind\""),
            "{e:#}"
        );
        let e = parse(p, r#"{"kind": "telepathy"}"#).expect_err("unknown kind");
        let msg = format!("{e:#}");
        assert!(
            msg.contains("/r/x.json") && msg.contains("\"telepathy\""),
            "{msg}"
        );
        assert!(
            msg.contains("bench, compare, sweep, propagation, scale, route-change"),
            "{msg}"
        );
        let e = parse(p, r#"{"kind": "bench", "url": 3}"#).expect_err("bad shape");
        assert!(format!("{e:#}").contains("kind \"bench\""), "{e:#}");
        let e = parse(p, "not json").expect_err("not json");
        assert!(format!("{e:#}").contains("not valid JSON"));
        let e = parse(p, r#"{"kind": 7}"#).expect_err("kind not a string");
        assert!(format!("{e:#}").contains("not a string"));
    }

    /// Every kind the lab writes is read back from its own serialisation.
    #[test]
    fn each_kind_round_trips_from_the_lab_structs() {
        let bench = super::super::control::tests::bench(0, 100.0);
        let mut b = serde_json::to_value(&bench).expect("json");
        b["kind"] = "bench".into();
        let sweep = SweepResult {
            kind: KIND_SWEEP.into(),
            scenario: "small-get-keepalive".into(),
            description: "d".into(),
            protocol: "http/1.1".into(),
            plan: crate::compare::Plan {
                proxy: vec![0],
                generator: vec![1],
                backend: vec![1],
            },
            duration_seconds: 1.0,
            warmup_seconds: 0.1,
            connections: 1,
            steps_percent: vec![50],
            backend: "fixed-server".into(),
            baseline: None,
            curves: Vec::new(),
            load_start: None,
            load_end: None,
            passed: 0,
            failed: 0,
            skipped: 0,
        };
        let prop = PropagationResult {
            kind: KIND_PROPAGATION.into(),
            shards: 1,
            cpus: None,
            poll_interval_us: 500,
            runs: Vec::new(),
            passed: 0,
            failed: 0,
        };
        let scale = ScaleResult {
            kind: KIND_SCALE.into(),
            shards: 1,
            points: Vec::new(),
            passed: 0,
            failed: 0,
        };
        let rc = RouteChangeResult {
            kind: KIND_ROUTE_CHANGE.into(),
            routes: 1,
            shards: 1,
            edits_requested: 1,
            edits_written: 1,
            edits_applied: 1,
            edit_interval_ms: 100.0,
            max_rps: 1.0,
            target_rps: 0.8,
            before: bench.clone(),
            during: bench,
            edit_to_all_shards_ms: None,
            edit_samples_ms: Vec::new(),
            passed: true,
        };
        let files = [
            ("bench", b),
            ("sweep", serde_json::to_value(&sweep).expect("json")),
            ("propagation", serde_json::to_value(&prop).expect("json")),
            ("scale", serde_json::to_value(&scale).expect("json")),
            ("route-change", serde_json::to_value(&rc).expect("json")),
        ];
        for (kind, v) in files {
            let i = parse(Path::new("/r/f.json"), &v.to_string()).expect(kind);
            assert_eq!(i.kind(), kind);
        }
    }

    #[test]
    fn generic_file_names_get_their_directory() {
        assert_eq!(
            short_name(Path::new("/t/small/compare.json")),
            "small/compare.json"
        );
        assert_eq!(
            short_name(Path::new("/t/small/bench-1.json")),
            "bench-1.json"
        );
    }
}

//! The JSON the control-plane benchmarks write (`propagation`, `scale`,
//! `route-change`). Every result carries a top-level `kind` so a reader
//! (`shardgate-lab report`) can tell them apart, and the raw samples so it
//! can draw distributions rather than trust a summary.

use serde::{Deserialize, Serialize};
use shardgate_loadgen::BenchReport;

/// `kind` of a [`PropagationResult`].
pub const KIND_PROPAGATION: &str = "propagation";
/// `kind` of a [`ScaleResult`].
pub const KIND_SCALE: &str = "scale";
/// `kind` of a [`RouteChangeResult`].
pub const KIND_ROUTE_CHANGE: &str = "route-change";

/// Order statistics of a set of samples (all in the unit the field that
/// holds it names, e.g. `…_ms`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// `None` for no samples. Percentiles are nearest-rank (the smallest
    /// sample with at least p % of the samples at or below it), so every
    /// reported figure is a value that was actually measured.
    pub fn of(samples: impl IntoIterator<Item = f64>) -> Option<Summary> {
        let mut v: Vec<f64> = samples.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let r = (p / 100.0 * v.len() as f64).ceil() as usize;
            v[r.clamp(1, v.len()) - 1]
        };
        Some(Summary {
            count: v.len(),
            min: v[0],
            mean: v.iter().sum::<f64>() / v.len() as f64,
            p50: rank(50.0),
            p90: rank(90.0),
            p99: rank(99.0),
            max: v[v.len() - 1],
        })
    }
}

/// What a propagation run changes on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// A new HTTPRoute hostname appears; "served" means a request with that
    /// Host is answered 200.
    Route,
    /// A Service's EndpointSlice moves from one backend to another; "served"
    /// means the new backend answers.
    Endpoint,
}

/// One change, timed from the moment the edited file was renamed into the
/// watched directory. All durations in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropagationSample {
    /// 1-based index of the change within its run.
    pub change: usize,
    /// The generation every shard reported serving afterwards.
    pub generation: u64,
    /// Until every data-plane shard reported the new generation (admin
    /// `/ready`, polled).
    pub yaml_to_all_shards_ms: f64,
    /// Until a request through the proxy saw the change (new Host answered
    /// 200, or the new backend answered), probed once every shard had it.
    pub yaml_to_served_ms: f64,
    /// Until this generation was published, from the log timestamp of the
    /// publisher's line written right after it woke the readers (or the
    /// data plane's adoption line, if that is earlier); `None` when the
    /// log line was not found.
    pub yaml_to_publish_ms: Option<f64>,
    /// From that publish until every shard reported the generation.
    pub publish_to_all_shards_ms: Option<f64>,
    /// From that publish until the data plane logged the snapshot adopted
    /// (decoded, validated, compiled, sent to the shards).
    pub publish_to_adopted_ms: Option<f64>,
}

/// One scale (route count) and change kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropagationRun {
    pub routes: usize,
    pub change: ChangeKind,
    /// Changes asked for (`--changes`).
    pub changes_requested: usize,
    pub samples: Vec<PropagationSample>,
    /// Changes that did not complete (timeouts, wrong answers), in words.
    pub failures: Vec<String>,
    /// The run stopped early at `--max-time`.
    pub truncated: bool,
    pub yaml_to_all_shards_ms: Option<Summary>,
    pub yaml_to_served_ms: Option<Summary>,
    pub yaml_to_publish_ms: Option<Summary>,
    pub publish_to_all_shards_ms: Option<Summary>,
    pub publish_to_adopted_ms: Option<Summary>,
}

impl PropagationRun {
    /// Fill the summaries from the samples.
    pub fn summarise(&mut self) {
        let s = &self.samples;
        self.yaml_to_all_shards_ms = Summary::of(s.iter().map(|x| x.yaml_to_all_shards_ms));
        self.yaml_to_served_ms = Summary::of(s.iter().map(|x| x.yaml_to_served_ms));
        self.yaml_to_publish_ms = Summary::of(s.iter().filter_map(|x| x.yaml_to_publish_ms));
        self.publish_to_all_shards_ms =
            Summary::of(s.iter().filter_map(|x| x.publish_to_all_shards_ms));
        self.publish_to_adopted_ms = Summary::of(s.iter().filter_map(|x| x.publish_to_adopted_ms));
    }
}

/// `shardgate-lab propagation --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropagationResult {
    /// Always [`KIND_PROPAGATION`].
    pub kind: String,
    /// Data-plane shards (every one must serve a change for it to count).
    pub shards: usize,
    /// Data-plane CPUs (`--cpus`), if pinned.
    pub cpus: Option<String>,
    /// How often the data plane's `/ready` was polled, microseconds: the
    /// resolution of the `…_all_shards` figures.
    pub poll_interval_us: u64,
    pub runs: Vec<PropagationRun>,
    pub passed: usize,
    pub failed: usize,
}

/// Route lookup cost at one scale, measured through the real data plane:
/// the same request shape answered by the first and by the last route of
/// one virtual host holding all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupCost {
    /// Data-plane CPU µs per request matching the first route.
    pub first_route_cpu_us: Option<f64>,
    /// Data-plane CPU µs per request matching the last route.
    pub last_route_cpu_us: Option<f64>,
    /// Client-side p50 latency, µs.
    pub first_route_p50_us: f64,
    pub last_route_p50_us: f64,
    /// Requests measured per case.
    pub first_route_requests: u64,
    pub last_route_requests: u64,
    /// Failed requests (both cases together).
    pub errors: u64,
    /// The router's own criterion figure for a last-route lookup at this
    /// scale (`lookup_last_route/N`, mean ns), when `--criterion-dir` had it.
    pub criterion_last_route_ns: Option<f64>,
}

/// One route count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalePoint {
    pub routes: usize,
    /// Size of the YAML file holding the routes.
    pub yaml_bytes: u64,
    /// The control plane's own timing of the translation (objects → IR),
    /// from `shardgate_controlplane_last_translation_seconds`.
    pub translation_ms: Option<f64>,
    /// From writing the routes file until every shard served the table
    /// (load, translate, publish, decode, compile, install).
    pub install_ms: f64,
    /// Size of the published snapshot blob (`/dev/shm/…`).
    pub snapshot_bytes: u64,
    /// Data-plane resident memory with only the base configuration, and
    /// after this table was installed.
    pub dataplane_baseline_rss_bytes: u64,
    pub dataplane_rss_bytes: u64,
    /// (rss − baseline) / routes.
    pub dataplane_bytes_per_route: f64,
    /// The same for the control plane (it keeps objects, status and IR).
    pub controlplane_baseline_rss_bytes: u64,
    pub controlplane_rss_bytes: u64,
    pub controlplane_bytes_per_route: f64,
    pub lookup: Option<LookupCost>,
}

/// `shardgate-lab scale --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleResult {
    /// Always [`KIND_SCALE`].
    pub kind: String,
    pub shards: usize,
    pub points: Vec<ScalePoint>,
    pub passed: usize,
    pub failed: usize,
}

/// `shardgate-lab route-change --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteChangeResult {
    /// Always [`KIND_ROUTE_CHANGE`].
    pub kind: String,
    /// Routes in the table besides the edited one.
    pub routes: usize,
    pub shards: usize,
    pub edits_requested: usize,
    /// Edits written to disk while the load ran.
    pub edits_written: usize,
    /// Edits every shard was seen serving (a distinct generation each).
    pub edits_applied: usize,
    /// Time between the starts of two edits, milliseconds.
    pub edit_interval_ms: f64,
    /// Closed-loop maximum measured first, requests per second.
    pub max_rps: f64,
    /// The open-loop rate of both phases (`--load` × `max_rps`).
    pub target_rps: f64,
    /// Open loop at `target_rps` with no edits.
    pub before: BenchReport,
    /// Open loop at `target_rps` while the edits were made.
    pub during: BenchReport,
    /// Per applied edit: from the file write until every shard served it.
    pub edit_to_all_shards_ms: Option<Summary>,
    /// Raw per-edit figures (same unit), in edit order.
    pub edit_samples_ms: Vec<f64>,
    /// Zero errors during the edits and every edit applied.
    pub passed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Summary::of((1..=100).map(f64::from)).expect("samples");
        assert_eq!((s.count, s.min, s.max), (100, 1.0, 100.0));
        assert_eq!((s.p50, s.p90, s.p99), (50.0, 90.0, 99.0));
        assert!((s.mean - 50.5).abs() < 1e-9);
        let one = Summary::of([7.0]).expect("one sample");
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
        let odd = Summary::of([3.0, 1.0, f64::NAN, 2.0]).expect("finite samples");
        assert_eq!((odd.count, odd.p50, odd.p99), (3, 2.0, 3.0));
        assert!(Summary::of([]).is_none());
    }

    #[test]
    fn change_kinds_are_kebab_case() {
        assert_eq!(
            serde_json::to_string(&ChangeKind::Endpoint).expect("json"),
            "\"endpoint\""
        );
    }
}

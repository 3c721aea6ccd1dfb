//! The control-plane benchmarks end to end, at a tiny scale, against the
//! real `shardgate` binary (controlplane, dataplane, echo) on loopback:
//! each command must finish, pass, and write JSON whose figures are
//! plausible measurements (positive, not all identical, counted right).
//!
//! They need the `shardgate` binary next to `shardgate-lab` (`cargo build
//! -p shardgate`); without it each test says so and returns.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const LAB: &str = env!("CARGO_BIN_EXE_shardgate-lab");

fn shardgate() -> Option<PathBuf> {
    let p = Path::new(LAB).parent()?.join("shardgate");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!(
            "skipped: {} is missing (cargo build -p shardgate)",
            p.display()
        );
        None
    }
}

/// Run `shardgate-lab ARGS… --json FILE`; the parsed JSON and stdout.
fn run_lab(args: &[&str]) -> (Value, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("out.json");
    let out = Command::new(LAB)
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("shardgate-lab runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "shardgate-lab {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("passed, 0 failed"), "{stdout}");
    let text = std::fs::read_to_string(&json).expect("JSON written");
    (serde_json::from_str(&text).expect("valid JSON"), stdout)
}

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

fn not_all_equal(xs: &[f64]) -> bool {
    xs.windows(2).any(|w| w[0] != w[1])
}

#[test]
fn propagation_times_every_change_on_every_shard() {
    if shardgate().is_none() {
        return;
    }
    let (v, stdout) = run_lab(&[
        "propagation",
        "--routes",
        "10",
        "--changes",
        "5",
        "--shards",
        "2",
    ]);
    assert_eq!(v["kind"], "propagation");
    assert_eq!(v["shards"], 2);
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "a route run and an endpoint run");
    assert_eq!(runs[0]["change"], "route");
    assert_eq!(runs[1]["change"], "endpoint");
    let mut last_generation = 0;
    for run in runs {
        assert_eq!(run["routes"], 10);
        assert!(run["failures"].as_array().expect("failures").is_empty());
        let samples = run["samples"].as_array().expect("samples");
        assert_eq!(samples.len(), 5, "one sample per change: {run}");
        let all: Vec<f64> = samples
            .iter()
            .map(|s| f(s, "yaml_to_all_shards_ms"))
            .collect();
        assert!(all.iter().all(|&x| x > 0.0 && x < 10_000.0), "{all:?}");
        assert!(not_all_equal(&all), "{all:?}");
        for s in samples {
            let g = s["generation"].as_u64().expect("generation");
            assert!(g > last_generation, "every change is a new generation");
            last_generation = g;
            // Seen served only after every shard had it.
            assert!(f(s, "yaml_to_served_ms") >= f(s, "yaml_to_all_shards_ms"));
            // The publish falls between the file change and the shards.
            let to_publish = f(s, "yaml_to_publish_ms");
            assert!(to_publish > 0.0 && to_publish <= f(s, "yaml_to_all_shards_ms"));
            // The reader's adoption is stamped by its log line, which may
            // be written after the shards already acknowledged (the polled
            // all-shards time), so only its sign and scale are checked.
            let adopted = f(s, "publish_to_adopted_ms");
            assert!(
                (0.0..10_000.0).contains(&adopted),
                "publish→adopted {adopted} ms"
            );
        }
        let summary = &run["yaml_to_all_shards_ms"];
        assert_eq!(summary["count"], 5);
        assert!(f(summary, "p50") <= f(summary, "p99"));
    }
    assert!(stdout.contains("yaml→all"), "{stdout}");
}

#[test]
fn scale_reports_size_memory_and_lookup_per_route_count() {
    if shardgate().is_none() {
        return;
    }
    let (v, _) = run_lab(&["scale", "--routes", "10,200", "--lookup-duration", "1s"]);
    assert_eq!(v["kind"], "scale");
    let points = v["points"].as_array().expect("points");
    assert_eq!(points.len(), 2);
    assert_eq!(
        (points[0]["routes"].as_u64(), points[1]["routes"].as_u64()),
        (Some(10), Some(200))
    );
    // More routes, a larger file and snapshot.
    assert!(f(&points[1], "snapshot_bytes") > f(&points[0], "snapshot_bytes"));
    assert!(f(&points[1], "yaml_bytes") > f(&points[0], "yaml_bytes"));
    for p in points {
        assert!(f(p, "translation_ms") > 0.0, "{p}");
        assert!(f(p, "install_ms") > 0.0, "{p}");
        assert!(f(p, "dataplane_rss_bytes") > 1e6, "{p}");
        assert!(f(p, "dataplane_baseline_rss_bytes") > 1e6, "{p}");
        let l = &p["lookup"];
        assert!(f(l, "first_route_requests") > 0.0 && f(l, "last_route_requests") > 0.0);
        assert_eq!(l["errors"], 0, "{l}");
        assert!(f(l, "last_route_p50_us") > 0.0);
    }
}

#[test]
fn route_change_applies_every_edit_under_load_without_errors() {
    if shardgate().is_none() {
        return;
    }
    let (v, stdout) = run_lab(&[
        "route-change",
        "--edits",
        "5",
        "--routes",
        "10",
        "--before",
        "1s",
        "--max-duration",
        "1s",
        "--warmup",
        "500ms",
    ]);
    assert_eq!(v["kind"], "route-change");
    assert_eq!(v["edits_requested"], 5);
    assert_eq!(v["edits_written"], 5);
    assert_eq!(v["edits_applied"], 5, "{stdout}");
    let samples: Vec<f64> = v["edit_samples_ms"]
        .as_array()
        .expect("samples")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect();
    assert_eq!(samples.len(), 5);
    assert!(samples.iter().all(|&x| x > 0.0), "{samples:?}");
    assert!(not_all_equal(&samples), "{samples:?}");
    assert!(f(&v, "max_rps") > 0.0);
    let target = f(&v, "target_rps");
    assert!((target - 0.8 * f(&v, "max_rps")).abs() < 1e-6 * target.max(1.0));
    for phase in ["before", "during"] {
        let r = &v[phase];
        assert_eq!(r["mode"], "open", "{phase}");
        assert!(f(r, "requests") > 0.0, "{phase}: {r}");
    }
    assert_eq!(v["during"]["errors_total"], 0, "{stdout}");
    assert_eq!(v["passed"], true);
}

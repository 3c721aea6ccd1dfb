//! Every `compare` scenario run for real, briefly (one round of about a
//! second), against the proxies installed here: each run must pass —
//! requests answered with the right body sizes, the backend having seen
//! the headers the scenario demands — or, for shardgate in a protocol it
//! does not speak yet, say "not yet supported". Plus a short `--sweep`.

use std::path::{Path, PathBuf};
use std::process::Command;

const LAB: &str = env!("CARGO_BIN_EXE_shardgate-lab");

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn shardgate_binary() -> Option<PathBuf> {
    let p = Path::new(LAB).parent()?.join("shardgate");
    p.is_file().then_some(p)
}

/// The wanted proxies that are available here (`None`: taskset missing).
fn available(wanted: &[&str]) -> Option<Vec<String>> {
    if which("taskset").is_none() {
        println!("SKIPPED: taskset is not installed");
        return None;
    }
    let have: Vec<String> = wanted
        .iter()
        .filter(|p| match **p {
            "shardgate" => shardgate_binary().is_some(),
            other => which(other).is_some(),
        })
        .map(|p| p.to_string())
        .collect();
    if have.is_empty() {
        println!("SKIPPED: none of {wanted:?} is available");
        return None;
    }
    Some(have)
}

/// Run `compare` for `scenario` (one short round); the parsed result.
fn compare(scenario: &str, proxies: &[String], extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(LAB);
    cmd.args([
        "compare",
        "--scenario",
        scenario,
        "--rounds",
        "1",
        "--duration",
        "1s",
        "--warmup",
        "200ms",
        "--proxies",
        &proxies.join(","),
    ])
    .args(extra)
    .arg("--out")
    .arg(dir.path());
    if let Some(sg) = shardgate_binary() {
        cmd.arg("--shardgate").arg(sg);
    }
    let out = cmd.output().expect("run compare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "compare {scenario} failed:\n{stdout}\n{stderr}"
    );
    let last = stdout.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains(" passed, 0 failed"),
        "last line must be the tally: {last}\n{stdout}"
    );
    let file = if extra.contains(&"--sweep") {
        "sweep.json"
    } else {
        "compare.json"
    };
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(file)).expect("result file"))
            .expect("valid json");
    for p in proxies {
        assert!(dir.path().join(p).is_dir(), "{p}: no config directory");
    }
    v
}

/// Each run of `v` passed with requests and no errors, or (shardgate
/// only, where `may_skip`) said "not yet supported". Returns the runs
/// that were measured.
fn runs_ok(v: &serde_json::Value, may_skip: bool) -> Vec<serde_json::Value> {
    let mut measured = Vec::new();
    for r in v["runs"].as_array().expect("runs") {
        let proxy = r["proxy"].as_str().unwrap_or_default();
        if r["supported"] == false {
            assert!(
                may_skip && proxy == "shardgate",
                "{proxy} cannot be 'not supported' here: {r}"
            );
            assert!(
                r["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("not yet supported")),
                "{r}"
            );
            assert!(v["not_supported"]["shardgate"].is_string());
            continue;
        }
        assert_eq!(r["passed"], true, "{proxy} failed: {}", r["error"]);
        let report = &r["report"];
        assert!(report["requests"].as_f64().unwrap_or(0.0) > 0.0, "{r}");
        assert_eq!(report["errors_total"], 0, "{proxy}: {}", report["errors"]);
        measured.push(r.clone());
    }
    measured
}

#[test]
fn bodies_of_1k_and_64k_go_both_ways() {
    let Some(p) = available(&["shardgate", "nginx", "haproxy"]) else {
        return;
    };
    for scenario in ["body-1k", "body-64k"] {
        let v = compare(scenario, &p, &["--no-baseline"]);
        // Wrong response sizes would be `body` errors; a request body
        // that did not arrive whole would be a 400 from the backend.
        assert_eq!(runs_ok(&v, false).len(), p.len(), "{scenario}");
        assert_eq!(v["scenario"], scenario);
    }
}

#[test]
fn the_last_of_10k_routes_is_routed() {
    let Some(p) = available(&["nginx", "haproxy"]) else {
        return;
    };
    // compare itself refuses a proxy that answers 2xx outside the table.
    let v = compare("routes-10k", &p, &["--no-baseline"]);
    let runs = runs_ok(&v, false);
    assert_eq!(runs.len(), p.len());
    for r in runs {
        assert!(
            r["report"]["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/r09999/item")),
            "{r}"
        );
    }
}

#[test]
fn the_last_of_1k_routes_is_routed_by_shardgate_too() {
    let Some(p) = available(&["shardgate", "nginx", "haproxy"]) else {
        return;
    };
    let v = compare("routes-1k", &p, &["--no-baseline"]);
    assert_eq!(runs_ok(&v, false).len(), p.len());
}

#[test]
fn header_modifiers_reach_the_backend() {
    let Some(p) = available(&["shardgate", "nginx", "haproxy"]) else {
        return;
    };
    // The backend answers 400 unless X-Lab-Set was replaced, X-Lab-Add
    // added and X-Lab-Remove removed; the baseline sends them pre-filtered.
    let v = compare("header-filter", &p, &[]);
    assert_eq!(runs_ok(&v, false).len(), p.len());
    assert_eq!(v["baseline"]["errors_total"], 0);
}

#[test]
fn https_with_and_without_resumption() {
    let Some(p) = available(&["shardgate", "nginx", "haproxy"]) else {
        return;
    };
    for (scenario, resumes) in [("https", false), ("https-resumption", true)] {
        let v = compare(scenario, &p, &["--no-baseline"]);
        for r in runs_ok(&v, true) {
            let x = &r["extras"];
            let handshakes = x["tls_handshakes"].as_f64().unwrap_or(0.0);
            let resumed = x["tls_resumed"].as_f64().unwrap_or(0.0);
            assert!(handshakes > 0.0, "{scenario} {}: {x}", r["proxy"]);
            if resumes {
                assert!(
                    resumed > 0.5 * handshakes,
                    "{scenario} {}: sessions not resumed: {x}",
                    r["proxy"]
                );
            } else {
                assert_eq!(resumed, 0.0, "{scenario} {}: {x}", r["proxy"]);
            }
        }
    }
}

#[test]
fn http2_and_grpc_run_against_the_peers() {
    let Some(p) = available(&["shardgate", "nginx", "haproxy"]) else {
        return;
    };
    for scenario in ["http2", "grpc-unary"] {
        let v = compare(scenario, &p, &["--no-baseline"]);
        let measured = runs_ok(&v, true);
        assert!(
            measured.iter().any(|r| r["proxy"] != "shardgate") || p == ["shardgate"],
            "{scenario}: no peer measured"
        );
        for r in measured {
            assert_eq!(r["extras"]["streams_per_connection"], 16, "{r}");
            // Multiplexed: never more than the 4 connections (plus the
            // few a failure would add).
            assert!(
                r["report"]["connections_opened"].as_f64().unwrap_or(99.0) <= 8.0,
                "{r}"
            );
        }
    }
}

#[test]
fn sweep_records_latency_at_each_step() {
    let Some(p) = available(&["nginx"]) else {
        return;
    };
    let v = compare(
        "small-get-keepalive",
        &p,
        &["--sweep", "--sweep-steps", "50,100", "--no-baseline"],
    );
    assert_eq!(v["kind"], "sweep");
    let curve = &v["curves"][0];
    assert_eq!(curve["status"], "measured", "{curve}");
    let max = curve["max_requests_per_second"].as_f64().expect("max");
    let points = curve["points"].as_array().expect("points");
    assert_eq!(points.len(), 2);
    let half = &points[0];
    assert_eq!(half["percent"], 50);
    assert!((half["target_rate"].as_f64().unwrap_or(0.0) - max / 2.0).abs() < 1.0);
    // Open loop at half the maximum sent requests at a rate; whether it
    // kept up is a measurement (reported), not something a test on a
    // shared machine can assert.
    let got = half["requests_per_second"].as_f64().unwrap_or(0.0);
    assert!(got > 0.0 && got <= max * 1.2, "{half}");
    assert!(half["p99_us"].as_f64().unwrap_or(0.0) > 0.0);
}

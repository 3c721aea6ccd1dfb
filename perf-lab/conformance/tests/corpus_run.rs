//! The runner over the shared corpus: skips are reported with the missing
//! feature named, and one test runs end to end against a real shardgate.

use shardgate_conformance::features::Claimed;
use shardgate_conformance::{Options, Outcome, run};
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
    if p.join("cases").is_dir() {
        Some(p)
    } else {
        println!("conformance corpus not found at {}, skipped", p.display());
        None
    }
}

/// `SHARDGATE_BIN`, else `shardgate` in this test's target directory.
fn shardgate() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SHARDGATE_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("shardgate");
    if candidate.is_file() {
        Some(candidate)
    } else {
        println!(
            "shardgate binary not found at {} (build it with `cargo build -p shardgate` or set SHARDGATE_BIN), skipped",
            candidate.display()
        );
        None
    }
}

#[test]
fn every_case_file_of_the_corpus_parses() {
    let Some(corpus) = corpus() else { return };
    let files = std::fs::read_dir(corpus.join("cases"))
        .expect("cases dir")
        .count();
    let c = shardgate_conformance::corpus::Corpus::load(&corpus).expect("all case files parse");
    assert_eq!(c.tests.len(), files);
    assert!(
        c.tests
            .iter()
            .any(|t| t.name == "HTTPRouteSimpleSameNamespace")
    );
}

#[test]
fn unclaimed_features_are_skipped_and_named() {
    let Some(corpus) = corpus() else { return };
    let mut opts = Options::new(corpus, PathBuf::from("/nonexistent/shardgate"));
    opts.claimed = Some(Claimed::new(["Gateway", "HTTPRoute"]));
    opts.run = vec!["HTTPRouteCORS".into(), "TLSRouteSimpleSameNamespace".into()];
    let mut out = Vec::new();
    let summary = run(&opts, &mut out).expect("run");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(
        text.contains("SKIP HTTPRouteCORS: missing features HTTPRouteCORS\n"),
        "{text}"
    );
    assert!(
        text.contains("SKIP TLSRouteSimpleSameNamespace: missing features TLSRoute\n"),
        "{text}"
    );
    assert!(text.ends_with("0 passed, 0 failed, 2 skipped\n"), "{text}");
    assert!(
        summary.ok(),
        "nothing ran, so nothing failed and no setup check ran"
    );
    assert!(summary.setup_failure.is_none());
}

#[test]
fn claimed_test_runs_end_to_end_and_is_reported() {
    let Some(corpus) = corpus() else { return };
    let Some(bin) = shardgate() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.yaml");
    let mut opts = Options::new(corpus, bin);
    opts.run = vec![
        "HTTPRouteSimpleSameNamespace".into(),
        "GatewayClassObservedGenerationBump".into(),
    ];
    opts.report = Some(report.clone());
    let mut out = Vec::new();
    let summary = run(&opts, &mut out).expect("run");
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(summary.results.len(), 2, "{text}");
    for r in &summary.results {
        assert_eq!(r.outcome, Outcome::Pass, "{}: {text}", r.name);
    }
    // The HTTPRoute test sent requests and checked the backend identity.
    assert!(text.contains("PASS HTTPRouteSimpleSameNamespace"), "{text}");
    assert!(
        text.contains("PASS GatewayClassObservedGenerationBump"),
        "{text}"
    );
    assert!(text.ends_with("2 passed, 0 failed, 0 skipped\n"), "{text}");
    // Without --features the claim is what the GatewayClass publishes.
    assert!(
        text.contains("FEATURES from GatewayClass shardgate status.supportedFeatures: Gateway,"),
        "{text}"
    );
    assert!(summary.claimed.contains("HTTPRoute"), "{text}");
    let yaml = std::fs::read_to_string(&report).expect("report written");
    assert!(yaml.contains("kind: ConformanceReport"), "{yaml}");
    assert!(yaml.contains("name: GATEWAY-HTTP"), "{yaml}");
    assert!(yaml.contains("Passed: 2"), "{yaml}");
}

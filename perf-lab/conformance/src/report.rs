//! The Gateway API `ConformanceReport` (format and counting rules of the
//! official suite's `conformance/utils/suite/reports.go`, as INDEX.md
//! describes them).

use serde::Serialize;
use std::collections::BTreeMap;

use crate::corpus::Corpus;
use crate::features::{Claimed, Profile, profile};
use crate::objects::rfc3339;
use crate::{Error, Options, Outcome, Summary};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    api_version: &'static str,
    kind: &'static str,
    date: String,
    #[serde(rename = "gatewayAPIVersion")]
    gateway_api_version: String,
    #[serde(rename = "gatewayAPIChannel")]
    gateway_api_channel: &'static str,
    implementation: Implementation,
    mode: &'static str,
    profiles: Vec<ProfileReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    succeeded_provisional_tests: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Implementation {
    organization: &'static str,
    project: &'static str,
    url: &'static str,
    version: String,
    contact: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct ProfileReport {
    name: String,
    core: Section,
    #[serde(skip_serializing_if = "Option::is_none")]
    extended: Option<Extended>,
    summary: String,
}

#[derive(Debug, Serialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct Section {
    result: &'static str,
    statistics: Statistics,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped_tests: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failed_tests: Vec<String>,
}

/// Capitalised keys, as the suite writes them (no JSON tags in Go).
#[derive(Debug, Serialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Statistics {
    pub failed: u32,
    pub passed: u32,
    pub skipped: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Extended {
    #[serde(flatten)]
    section: Section,
    supported_features: Vec<String>,
    unsupported_features: Vec<String>,
}

/// A test's result for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Succeeded,
    Failed,
    Skipped,
    /// Missing feature: not counted anywhere.
    NotSupported,
}

fn counted(o: &Outcome) -> Counted {
    match o {
        Outcome::Pass => Counted::Succeeded,
        Outcome::Fail(_) => Counted::Failed,
        Outcome::Skipped { .. } => Counted::Skipped,
        Outcome::NotSupported { .. } => Counted::NotSupported,
    }
}

fn section(tests: &[(String, Counted)]) -> Option<Section> {
    let mut s = Section::default();
    for (name, c) in tests {
        match c {
            Counted::Succeeded => s.statistics.passed += 1,
            Counted::Failed => {
                s.statistics.failed += 1;
                s.failed_tests.push(name.clone());
            }
            Counted::Skipped => {
                s.statistics.skipped += 1;
                s.skipped_tests.push(name.clone());
            }
            Counted::NotSupported => {}
        }
    }
    s.result = if s.statistics.failed > 0 {
        "failure"
    } else if s.statistics.skipped > 0 {
        "partial"
    } else {
        "success"
    };
    let any = s.statistics != Statistics::default();
    any.then_some(s)
}

fn phrase(kind: &str, s: &Section) -> String {
    match s.result {
        "failure" => format!(
            "{kind} tests failed with {} test failures.",
            s.statistics.failed
        ),
        "partial" => format!(
            "{kind} tests partially succeeded with {} test skips.",
            s.statistics.skipped
        ),
        _ => format!("{kind} tests succeeded."),
    }
}

/// Build a profile's report from `(test name, features, result)`.
///
/// The official suite adds the core features of every requested profile
/// to the supported features, so a test that is only missing core
/// features of this profile would have run there: it counts as skipped
/// here, never as silently absent. `setup_failure` (the suite would have
/// stopped before any test) makes the core result a failure.
fn profile_report(
    p: &Profile,
    tests: &[(String, Vec<String>, Counted)],
    claimed: &Claimed,
    setup_failure: Option<&str>,
) -> ProfileReport {
    let mut core = Vec::new();
    let mut ext = Vec::new();
    for (name, features, c) in tests {
        if !p.contains_all(features) {
            continue;
        }
        let c = match c {
            Counted::NotSupported
                if claimed.missing(features).iter().all(|f| p.core.contains(f)) =>
            {
                &Counted::Skipped
            }
            other => other,
        };
        if p.is_extended_test(features) {
            ext.push((name.clone(), *c));
        } else {
            core.push((name.clone(), *c));
        }
    }
    let mut core = section(&core).unwrap_or(Section {
        result: "success",
        ..Section::default()
    });
    let core_phrase = phrase("Core", &core);
    if setup_failure.is_some() {
        core.result = "failure";
    }
    let extended = section(&ext).map(|section| {
        let (supported, unsupported): (Vec<&str>, Vec<&str>) = p
            .extended_features()
            .into_iter()
            .partition(|f| claimed.contains(f));
        Extended {
            section,
            supported_features: supported.into_iter().map(str::to_owned).collect(),
            unsupported_features: unsupported.into_iter().map(str::to_owned).collect(),
        }
    });
    let mut summary = match setup_failure {
        Some(why) => {
            format!("Suite setup failed ({why}); the official suite stops there. {core_phrase}")
        }
        None => core_phrase,
    };
    if let Some(e) = &extended {
        summary.push(' ');
        summary.push_str(&phrase("Extended", &e.section));
    }
    ProfileReport {
        name: p.name.to_owned(),
        core,
        extended,
        summary,
    }
}

/// The bundle-version annotation of the corpus CRDs.
fn bundle_version(corpus: &Corpus) -> String {
    let dir = corpus.root.join("crds").join("experimental");
    let key = "gateway.networking.k8s.io/bundle-version:";
    std::fs::read_dir(&dir)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .find_map(|text| {
            text.lines().find_map(|l| {
                l.trim()
                    .strip_prefix(key)
                    .map(|v| v.trim().trim_matches('"').to_owned())
            })
        })
        .unwrap_or_else(|| "UNDEFINED".into())
}

/// Render the report YAML. Tests filtered out with `--run` count as
/// skipped, as in the suite.
pub fn render(
    opts: &Options,
    corpus: &Corpus,
    summary: &Summary,
    all_tests: &[String],
) -> Result<String, Error> {
    let by_name: BTreeMap<&str, &crate::TestResult> = summary
        .results
        .iter()
        .map(|r| (r.name.as_str(), r))
        .collect();
    let tests: Vec<(String, Vec<String>, Counted)> = corpus
        .tests
        .iter()
        .filter(|t| all_tests.contains(&t.name))
        .map(|t| {
            let c = by_name
                .get(t.name.as_str())
                .map(|r| counted(&r.outcome))
                .unwrap_or(if summary.claimed.missing(&t.features).is_empty() {
                    Counted::Skipped
                } else {
                    Counted::NotSupported
                });
            (t.name.clone(), t.features.clone(), c)
        })
        .collect();
    let mut profiles = Vec::new();
    for name in &opts.profiles {
        let p = profile(name).ok_or_else(|| Error::Report(format!("unknown profile {name}")))?;
        profiles.push(profile_report(
            p,
            &tests,
            &summary.claimed,
            summary.setup_failure.as_deref(),
        ));
    }
    let mut provisional: Vec<String> = summary
        .results
        .iter()
        .filter(|r| r.provisional && r.outcome == Outcome::Pass)
        .map(|r| r.name.clone())
        .collect();
    provisional.sort();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let report = Report {
        api_version: "gateway.networking.k8s.io/v1",
        kind: "ConformanceReport",
        date: rfc3339(now),
        gateway_api_version: bundle_version(corpus),
        gateway_api_channel: "experimental",
        implementation: Implementation {
            organization: "shardgate",
            project: "shardgate",
            url: "https://example.invalid/shardgate",
            version: opts.version.clone(),
            contact: vec!["https://example.invalid/shardgate/issues"],
        },
        mode: "default",
        profiles,
        succeeded_provisional_tests: provisional,
    };
    serde_saphyr::to_string(&report).map_err(|e| Error::Report(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, f: &[&str], c: Counted) -> (String, Vec<String>, Counted) {
        (name.into(), f.iter().map(|s| s.to_string()).collect(), c)
    }

    #[test]
    fn counts_core_and_extended_and_ignores_not_supported() {
        let p = profile("GATEWAY-HTTP").expect("profile");
        let claimed = Claimed::new(["Gateway", "HTTPRoute", "HTTPRouteMethodMatching"]);
        let tests = [
            t("A", &["Gateway", "HTTPRoute"], Counted::Succeeded),
            t("B", &["Gateway", "HTTPRoute"], Counted::Failed),
            t(
                "C",
                &["Gateway", "HTTPRoute", "HTTPRouteMethodMatching"],
                Counted::Skipped,
            ),
            t(
                "D",
                &["Gateway", "HTTPRoute", "HTTPRouteCORS"],
                Counted::NotSupported,
            ),
            t("E", &["Gateway", "TLSRoute"], Counted::Succeeded),
            // Missing only a core feature of the profile: skipped, not absent.
            t(
                "F",
                &["Gateway", "HTTPRoute", "ReferenceGrant"],
                Counted::NotSupported,
            ),
        ];
        let r = profile_report(p, &tests, &claimed, None);
        assert_eq!(
            r.core.statistics,
            Statistics {
                failed: 1,
                passed: 1,
                skipped: 1
            }
        );
        assert_eq!(r.core.skipped_tests, ["F"]);
        assert_eq!(r.core.result, "failure");
        assert_eq!(r.core.failed_tests, ["B"]);
        let e = r.extended.expect("an extended test was skipped");
        assert_eq!(e.section.result, "partial");
        assert_eq!(e.supported_features, ["HTTPRouteMethodMatching"]);
        assert!(e.unsupported_features.contains(&"HTTPRouteCORS".to_owned()));
        assert_eq!(
            r.summary,
            "Core tests failed with 1 test failures. Extended tests partially succeeded with 1 test skips."
        );
        let yaml = serde_saphyr::to_string(&r.core).expect("yaml");
        assert!(yaml.contains("Failed: 1"), "{yaml}");
    }

    #[test]
    fn a_failed_suite_setup_is_never_reported_as_success() {
        let p = profile("GATEWAY-HTTP").expect("profile");
        let claimed = Claimed::new(["Gateway", "HTTPRoute"]);
        let tests = [t("A", &["Gateway", "HTTPRoute"], Counted::Succeeded)];
        let ok = profile_report(p, &tests, &claimed, None);
        assert_eq!(
            (ok.core.result, ok.summary.as_str()),
            ("success", "Core tests succeeded.")
        );
        let r = profile_report(p, &tests, &claimed, Some("HTTPS Gateway not Programmed"));
        assert_eq!(r.core.result, "failure");
        assert_eq!(
            r.summary,
            "Suite setup failed (HTTPS Gateway not Programmed); the official suite stops there. Core tests succeeded."
        );
    }
}

//! The shardgate conformance runner: executes a Gateway API conformance
//! corpus in the format of `shared/conformance/` (see its INDEX.md)
//! against a real `shardgate` binary.
//!
//! For each test it composes the base manifests, the suite's generated
//! TLS Secrets and CA ConfigMaps ([`certs`]), a GatewayClass for
//! shardgate's controller and the test's manifests; turns Deployments into
//! `shardgate echo` processes and EndpointSlices ([`pods`], [`echo`]);
//! maps listener ports to free local ports ([`ports`]); starts
//! `shardgate up` on the result ([`gateway`]); waits for the expected
//! status ([`statuscheck`]); then executes every case in order: requests
//! with their expectations ([`client`], [`expect`]), mid-test changes
//! ([`actions`]) and status checks.
//!
//! A test runs only when every one of its features is claimed
//! (by default the features the GatewayClass publishes in its
//! `status.supportedFeatures` at setup, as the official suite infers them;
//! or `--features`); otherwise it is
//! skipped with the missing features named. A test that needs a client
//! capability the runner lacks ([`capability`]) is skipped with it named.
//! Output: one `PASS`/`FAIL`/`SKIP` line per test and a final
//! `N passed, M failed, K skipped` line; optionally a `ConformanceReport`
//! ([`report`]).
//!
//! # Running it
//!
//! ```text
//! cargo build -p shardgate -p shardgate-lab
//! target/debug/shardgate-lab conformance --suite ../shared/conformance \
//!     --shardgate target/debug/shardgate --report conformance-report.yaml
//! ```
//!
//! `--run A,B` selects tests, `--features F,G` replaces the claimed
//! features (to try features before claiming them), `--work-dir DIR`
//! keeps every test's config directory and `shardgate.log`.
//!
//! # Where the runner differs from a cluster run
//!
//! - The runner is the API server: it sets `metadata.generation` (bumped
//!   when `spec` changes) and `creationTimestamp` (base manifests first,
//!   test manifests a minute later, created objects later still).
//! - Listener ports are mapped to free local ports ([`ports`]); requests
//!   carry the Host the suite would send, redirects are read back.
//! - Pods are `shardgate echo` processes on `127.<n>.x.y` loopback
//!   addresses at their real container ports ([`pods`]); pods of kinds
//!   the echo cannot play (gRPC, TCP, UDP, DNS, the HTTPS port) have no
//!   endpoints.
//! - Certificates are ECDSA P-256, not RSA-2048 ([`certs`]).
//! - Status and consistency deadlines default to 15 s (the suite allows
//!   more on a cluster; shorter deadlines are stricter, not looser).
//! - Before the tests, the suite's setup check (GatewayClass Accepted,
//!   base Gateways Accepted and Programmed) runs once; its failure is
//!   printed as `SETUP FAIL`, fails the run and is stated in the report.
#![forbid(unsafe_code)]

pub mod actions;
pub mod capability;
pub mod certs;
pub mod client;
pub mod corpus;
pub mod echo;
pub mod expect;
pub mod features;
pub mod gateway;
pub mod http;
pub mod objects;
pub mod pods;
pub mod ports;
pub mod report;
pub mod runner;
pub mod statuscheck;
pub mod tls;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::corpus::Corpus;
use crate::features::Claimed;

/// Runner errors (a test failing is not an error: it is a result).
#[derive(Debug, Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("case file {file}: {message}")]
    Case { file: String, message: String },
    #[error("manifest {file}: {message}")]
    Manifest { file: String, message: String },
    #[error("certificate {0}")]
    Certificate(String),
    #[error("{0}")]
    Backend(String),
    #[error("action: {0}")]
    Action(String),
    #[error("report: {0}")]
    Report(String),
    #[error("{0}")]
    Usage(String),
}

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The corpus directory (`cases/`, `manifests/`).
    pub suite: PathBuf,
    /// The `shardgate` binary.
    pub shardgate: PathBuf,
    /// The claimed features; `None` = inferred from the GatewayClass's
    /// `status.supportedFeatures` during the setup check.
    pub claimed: Option<Claimed>,
    /// Only tests with these names (all when empty).
    pub run: Vec<String>,
    /// Profiles for the report.
    pub profiles: Vec<String>,
    pub report: Option<PathBuf>,
    pub gateway_class: String,
    pub controller_name: String,
    /// How long status may take to become as expected (the suite allows
    /// up to minutes on a cluster; a local shardgate reacts in ms).
    pub status_timeout: Duration,
    /// How long a request case may take to pass 3 times in a row (the
    /// suite's MaxTimeToConsistency is 30 s).
    pub consistency_timeout: Duration,
    /// Keep config directories and logs here (default: a temporary
    /// directory removed at the end).
    pub work_dir: Option<PathBuf>,
    /// Implementation version for the report.
    pub version: String,
}

impl Options {
    pub fn new(suite: PathBuf, shardgate: PathBuf) -> Self {
        Options {
            suite,
            shardgate,
            claimed: None,
            run: Vec::new(),
            profiles: vec!["GATEWAY-HTTP".into()],
            report: None,
            gateway_class: "shardgate".into(),
            controller_name: "shardgate.dev/gateway-controller".into(),
            status_timeout: Duration::from_secs(15),
            consistency_timeout: Duration::from_secs(15),
            work_dir: None,
            version: format!("v{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    /// Not run: a claimed-feature gap (`missing`) or a runner capability
    /// gap / explicit skip (`reason`).
    NotSupported {
        missing: Vec<String>,
    },
    Skipped {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct TestResult {
    pub name: String,
    pub features: Vec<String>,
    pub provisional: bool,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

/// All results of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub results: Vec<TestResult>,
    /// The suite setup check's failure, if it failed.
    pub setup_failure: Option<String>,
    /// The features the run claimed (given, or inferred at setup).
    pub claimed: Claimed,
}

impl Summary {
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::Pass)
            .count()
    }
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
            .count()
    }
    pub fn skipped(&self) -> usize {
        self.results.len() - self.passed() - self.failed()
    }
    /// `N passed, M failed, K skipped`.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }
    /// Did everything claimed pass (and the setup check)?
    pub fn ok(&self) -> bool {
        self.failed() == 0 && self.setup_failure.is_none()
    }
}

/// The line printed for a result.
pub fn result_line(r: &TestResult) -> String {
    match &r.outcome {
        Outcome::Pass => format!("PASS {} ({:.1}s)", r.name, r.elapsed.as_secs_f64()),
        Outcome::Fail(m) => format!("FAIL {}: {m}", r.name),
        Outcome::NotSupported { missing } => {
            format!("SKIP {}: missing features {}", r.name, missing.join(", "))
        }
        Outcome::Skipped { reason } => format!("SKIP {}: {reason}", r.name),
    }
}

/// Decide whether a test runs; `None` = run it.
pub fn skip_reason(t: &corpus::TestCase, claimed: &Claimed) -> Option<Outcome> {
    let missing = claimed.missing(&t.features);
    if !missing.is_empty() {
        return Some(Outcome::NotSupported {
            missing: missing.into_iter().map(str::to_owned).collect(),
        });
    }
    if let Some(f) = t
        .skip_unless_supported
        .iter()
        .find(|f| !claimed.contains(f))
    {
        return Some(Outcome::Skipped {
            reason: format!("the test body only runs when {f} is supported (not claimed)"),
        });
    }
    if let Some(f) = t.skip_if_supported.iter().find(|f| claimed.contains(f)) {
        return Some(Outcome::Skipped {
            reason: format!("the test body does not run when {f} is supported"),
        });
    }
    capability::runner_gap(t).map(|g| Outcome::Skipped {
        reason: format!("the runner cannot execute {g} yet"),
    })
}

/// Run the corpus, printing one line per test and the summary line.
pub fn run(opts: &Options, out: &mut dyn Write) -> Result<Summary, Error> {
    if !runner::is_corpus(&opts.suite) {
        return Err(Error::Usage(format!(
            "{} is not a conformance corpus (needs cases/ and manifests/base/manifests.yaml)",
            opts.suite.display()
        )));
    }
    let corpus = Corpus::load(&opts.suite)?;
    for name in &opts.run {
        if !corpus.tests.iter().any(|t| &t.name == name) {
            return Err(Error::Usage(format!(
                "no test named {name} in {}",
                opts.suite.display()
            )));
        }
    }
    let (work, _temp) = runner::work_dir(opts)?;
    let octet = 64 + (std::process::id() % 128) as u8;
    let secrets = certs::SuiteSecrets::generate()?;
    let trusted_cert =
        tls::first_cert_der(&secrets.trusted_cert_pem).map_err(Error::Certificate)?;
    let mut shared = runner::Shared {
        opts,
        corpus: &corpus,
        secrets,
        trusted_cert,
        ips: pods::IpAllocator::new(octet),
        echoes: echo::EchoPool::new(opts.shardgate.clone()),
        work,
        placeholders: objects::Placeholders {
            gateway_class: opts.gateway_class.clone(),
            controller_name: opts.controller_name.clone(),
        },
        runs: 0,
    };
    let selected: Vec<&corpus::TestCase> = corpus
        .tests
        .iter()
        .filter(|t| opts.run.is_empty() || opts.run.contains(&t.name))
        .collect();
    let mut summary = Summary::default();
    let needs_setup = opts
        .claimed
        .as_ref()
        .is_none_or(|c| selected.iter().any(|t| skip_reason(t, c).is_none()));
    let mut published = None;
    if needs_setup && !selected.is_empty() {
        match runner::setup_check(&mut shared) {
            Ok(features) => {
                writeln_out(
                    out,
                    "SETUP PASS base GatewayClass and Gateways Accepted and Programmed",
                );
                published = Some(features);
            }
            Err(e) => {
                writeln_out(out, &format!("SETUP FAIL {e}"));
                summary.setup_failure = Some(e);
            }
        }
    }
    summary.claimed = match (&opts.claimed, published) {
        (Some(given), _) => given.clone(),
        (None, Some(features)) => {
            writeln_out(
                out,
                &format!(
                    "FEATURES from GatewayClass {} status.supportedFeatures: {}",
                    opts.gateway_class,
                    features.join(", ")
                ),
            );
            Claimed::new(features)
        }
        (None, None) => Claimed::default(),
    };
    for t in selected {
        let started = Instant::now();
        let outcome = match skip_reason(t, &summary.claimed) {
            Some(o) => o,
            None => match runner::run_test(&mut shared, t) {
                Ok(()) => Outcome::Pass,
                Err(e) => Outcome::Fail(e),
            },
        };
        let r = TestResult {
            name: t.name.clone(),
            features: t.features.clone(),
            provisional: t.provisional,
            outcome,
            elapsed: started.elapsed(),
        };
        writeln_out(out, &result_line(&r));
        summary.results.push(r);
    }
    shared.echoes.stop_all();
    writeln_out(out, &summary.line());
    if let Some(path) = &opts.report {
        let all: Vec<String> = corpus.tests.iter().map(|t| t.name.clone()).collect();
        let text = report::render(opts, &corpus, &summary, &all)?;
        std::fs::write(path, text).map_err(|source| Error::Io {
            what: format!("writing {}", path.display()),
            source,
        })?;
    }
    Ok(summary)
}

fn writeln_out(out: &mut dyn Write, line: &str) {
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

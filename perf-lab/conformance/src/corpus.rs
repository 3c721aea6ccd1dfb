//! The corpus format (`shared/conformance/INDEX.md`): one YAML file per test
//! under `cases/`, manifests under `manifests/`.
//!
//! Every field the format defines is modelled, and unknown fields are
//! refused (`deny_unknown_fields`): an expectation the runner does not
//! know must never be silently ignored. Fields of protocols the runner's
//! client does not speak are kept as raw values so that a test using them
//! can be reported as needing that capability.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::Error;

/// One conformance test (`cases/<ShortName>.yaml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub features: Vec<String>,
    /// Relative to `manifests/`; the base manifests are implied.
    #[serde(default)]
    pub manifests: Vec<String>,
    #[serde(default)]
    pub gateways: Vec<GatewayTarget>,
    #[serde(default)]
    pub status: Vec<StatusAssertion>,
    #[serde(default)]
    pub cases: Vec<Step>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub provisional: bool,
    #[serde(default)]
    pub parallel: bool,
    #[serde(default)]
    pub skip_if_supported: Vec<String>,
    #[serde(default)]
    pub skip_unless_supported: Vec<String>,
    /// GatewayInfrastructure only: checks of generated cluster objects.
    #[serde(default)]
    pub infrastructure_check: Option<Value>,
}

/// Where requests go: a Gateway, optionally one listener or port.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GatewayTarget {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub listener: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
}

/// One expected condition; omitted status or reason means "any".
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExpectedCondition {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A route's (or policy's) parent as the test names it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct ParentTarget {
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub namespace_required: bool,
    /// Informational only (never compared, as in the suite).
    #[serde(default, rename = "sectionName")]
    pub section_name: Option<String>,
}

/// One `status.listeners` entry that `listeners_exact` requires.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExactListener {
    pub name: String,
    #[serde(default, rename = "supportedKinds")]
    pub supported_kinds: Vec<String>,
    #[serde(rename = "attachedRoutes")]
    pub attached_routes: i64,
    #[serde(default)]
    pub conditions: Vec<ExpectedCondition>,
}

/// A status assertion, polled until it holds.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatusAssertion {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    /// `"*"` = every listener status entry; else the named one.
    #[serde(default)]
    pub listener: Option<String>,
    #[serde(default)]
    pub conditions: Vec<ExpectedCondition>,
    #[serde(default)]
    pub parent: Option<ParentTarget>,
    #[serde(default)]
    pub ancestor: Option<ParentTarget>,
    #[serde(default)]
    pub no_accepted_parents: bool,
    #[serde(default)]
    pub zero_routes: bool,
    #[serde(default)]
    pub listeners_exact: Option<Vec<ExactListener>>,
    #[serde(default, rename = "attachedListenerSets")]
    pub attached_listener_sets: Option<i64>,
    #[serde(default)]
    pub has_address: bool,
    #[serde(default)]
    pub latest_observed_generation: bool,
    #[serde(default)]
    pub generation_changed: bool,
    /// Free-text address expectation (GatewayStaticAddresses); not machine
    /// checkable, so a test carrying it needs a capability the runner lacks.
    #[serde(default)]
    pub status_addresses: Option<String>,
    /// Label of the sub-case (informational).
    #[serde(default)]
    pub case: Option<String>,
}

/// One item of `cases`: a request, an action or a status check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub repeat: Option<u32>,
    #[serde(default)]
    pub request: Option<Request>,
    #[serde(default)]
    pub expect: Option<Expect>,
    #[serde(default)]
    pub action: Option<Action>,
    #[serde(default)]
    pub status: Option<Vec<StatusAssertion>>,
}

/// What a step does, once validated.
#[derive(Debug, Clone, Copy)]
pub enum StepKind<'a> {
    Request(&'a Request, &'a Expect),
    Action(&'a Action),
    Status(&'a [StatusAssertion]),
}

impl Step {
    /// Exactly one of request+expect, action, status.
    pub fn kind(&self) -> Result<StepKind<'_>, String> {
        match (&self.request, &self.expect, &self.action, &self.status) {
            (Some(r), Some(e), None, None) => Ok(StepKind::Request(r, e)),
            (None, None, Some(a), None) => Ok(StepKind::Action(a)),
            (None, None, None, Some(s)) => Ok(StepKind::Status(s)),
            _ => Err("a case must be exactly one of request+expect, action or status".into()),
        }
    }
}

/// A request (HTTP unless `protocol` says otherwise).
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Request {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub unfollow_redirect: bool,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub scheme: Option<String>,
    #[serde(default)]
    pub sni: Option<String>,
    /// Name of the Gateway (one of the test's `gateways`).
    #[serde(default)]
    pub gateway: Option<String>,
    /// Listener port (original, before mapping).
    #[serde(default)]
    pub port: Option<u16>,
    /// Response headers the echo server is asked to set.
    #[serde(default)]
    pub echo_set_response_headers: BTreeMap<String, String>,
    /// Retry tests: query parameters (`uuid: "<random>"` = fresh per probe).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub client_cert_from_secret: Option<String>,
    #[serde(default)]
    pub tls: Option<bool>,
    #[serde(default)]
    pub trust_ca_from_configmap: Option<String>,
    #[serde(default)]
    pub authority: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub payload: Option<Value>,
}

/// `{namespace, name}` of a backend Deployment (pod name prefix).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackendRef {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub percent: Option<f64>,
}

/// Expected request as the echo backend saw it.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeenRequest {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub absent_headers: Vec<String>,
    #[serde(default)]
    pub sni: Option<String>,
    #[serde(default)]
    pub client_cert_pem_from_secret: Option<String>,
}

/// Expected `Location` parts of a redirect.
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Redirect {
    #[serde(default)]
    pub scheme: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

/// One code or a list of codes.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Codes {
    One(u16),
    Many(Vec<u16>),
}

impl Codes {
    pub fn list(&self) -> Vec<u16> {
        match self {
            Codes::One(c) => vec![*c],
            Codes::Many(v) => v.clone(),
        }
    }
}

/// What the response must look like.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub status: Option<Codes>,
    #[serde(default)]
    pub backend: Option<BackendRef>,
    #[serde(default)]
    pub backend_namespace: Option<String>,
    #[serde(default)]
    pub request_seen_by_backend: Option<SeenRequest>,
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    #[serde(default)]
    pub response_headers_one_of: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub absent_response_headers: Vec<String>,
    #[serde(default)]
    pub ignore_whitespace: bool,
    #[serde(default)]
    pub redirect: Option<Redirect>,
    #[serde(default)]
    pub connection_error: bool,
    #[serde(default)]
    pub connection_rejected: bool,
    #[serde(default)]
    pub expect_failure: bool,
    #[serde(default)]
    pub answered_by_gateway: bool,
    #[serde(default)]
    pub mirrored_to: Vec<BackendRef>,
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    #[serde(default)]
    pub weights_tolerance: Option<f64>,
    #[serde(default)]
    pub weights_total_requests: Option<u32>,
    /// Pod name must start with the single value of this request header
    /// as the backend received it.
    #[serde(default)]
    pub backend_from_request_header: Option<String>,
    /// Human description of the timeouts in play (not an assertion).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Declared by the Go test but never compared by the suite.
    #[serde(default)]
    pub declared_headers_unchecked: Option<Value>,
    // Protocols and checks the runner's client does not implement; kept
    // so that a case using them is recognised.
    #[serde(default)]
    pub client_cert_presented: Option<bool>,
    #[serde(default)]
    pub grpc_code: Option<String>,
    #[serde(default)]
    pub grpc_code_not: Option<String>,
    #[serde(default)]
    pub tcp_echo: Option<Value>,
    #[serde(default)]
    pub tcp_echo_test_only: Option<bool>,
    #[serde(default)]
    pub pod_prefix: Option<String>,
    #[serde(default)]
    pub pod_prefix_never: Option<String>,
    #[serde(default)]
    pub udp_echo: Option<Value>,
    #[serde(default)]
    pub dns_response: Option<Value>,
    #[serde(default)]
    pub websocket_echo: Option<Value>,
}

/// A mid-test change.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Action {
    #[serde(default)]
    pub patch: Option<Patch>,
    /// A whole object (kind/namespace/name at top level, plus its fields).
    #[serde(default)]
    pub create: Option<Value>,
    #[serde(default)]
    pub delete: Option<ObjectRef>,
    /// A Go duration such as `1s`.
    #[serde(default)]
    pub sleep: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
}

/// A patch of one object.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    /// Dotted paths (`spec.rules[0].backendRefs[0].name`) to values.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
    /// A dotted path restored to its value in the manifest.
    #[serde(default)]
    pub restore: Option<String>,
    #[serde(default)]
    pub append_listener: Option<Value>,
    #[serde(default)]
    pub keep_only_listeners: Option<Vec<String>>,
    /// Free text; see the case notes.
    #[serde(default)]
    pub remove_address: Option<String>,
}

/// A loaded corpus directory.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub root: PathBuf,
    pub tests: Vec<TestCase>,
}

impl Corpus {
    /// Read every `cases/*.yaml`, sorted by file name.
    pub fn load(root: &Path) -> Result<Corpus, Error> {
        let dir = root.join("cases");
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Io {
            what: format!("listing {}", dir.display()),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        let mut tests = Vec::with_capacity(files.len());
        for f in files {
            tests.push(load_case(&f)?);
        }
        Ok(Corpus {
            root: root.to_path_buf(),
            tests,
        })
    }

    /// The text of a manifest file (relative to `manifests/`).
    pub fn manifest_text(&self, rel: &str) -> Result<String, Error> {
        let path = self.root.join("manifests").join(rel);
        std::fs::read_to_string(&path).map_err(|source| Error::Io {
            what: format!("reading manifest {}", path.display()),
            source,
        })
    }
}

/// Parse one case file.
pub fn load_case(path: &Path) -> Result<TestCase, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        what: format!("reading {}", path.display()),
        source,
    })?;
    parse_case(&text).map_err(|message| Error::Case {
        file: path.display().to_string(),
        message,
    })
}

/// Parse case YAML text.
pub fn parse_case(text: &str) -> Result<TestCase, String> {
    let case: TestCase = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    for (i, step) in case.cases.iter().enumerate() {
        step.kind().map_err(|e| format!("cases[{i}]: {e}"))?;
    }
    Ok(case)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_request_case_and_refuses_unknown_fields() {
        let text = r#"
name: T
features: [Gateway, HTTPRoute]
manifests: [tests/x.yaml]
gateways: [{namespace: ns, name: gw}]
status:
  - {kind: HTTPRoute, namespace: ns, name: r, parent: {namespace: ns, name: gw}, conditions: [{type: Accepted, status: "True", reason: Accepted}]}
cases:
  - request: {path: /, headers: {A: b}}
    expect: {status: [200, 204], backend: {namespace: ns, name: be}}
  - action: {sleep: 1s}
notes: ""
"#;
        let case = parse_case(text).expect("valid case");
        assert_eq!(case.features, ["Gateway", "HTTPRoute"]);
        assert_eq!(case.cases.len(), 2);
        match case.cases[0].kind().expect("request step") {
            StepKind::Request(r, e) => {
                assert_eq!(r.headers.get("A").map(String::as_str), Some("b"));
                assert_eq!(e.status.as_ref().map(Codes::list), Some(vec![200, 204]));
            }
            other => panic!("expected a request, got {other:?}"),
        }
        let bad = text.replace("backend: {", "bakend: {");
        assert!(
            parse_case(&bad).is_err(),
            "unknown expectation keys must fail"
        );
    }
}

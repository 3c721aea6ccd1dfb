//! Checking one HTTP round trip against a case's `expect` (pure), with
//! the suite's semantics as INDEX.md states them.

use serde::Deserialize;
use std::collections::BTreeMap;

use crate::corpus::Expect;
use crate::http::HttpResponse;

/// The request as the runner sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub scheme: String,
    pub method: String,
    /// Request target as sent (path and query).
    pub target: String,
    /// The case's `host`, if it set one.
    pub host: Option<String>,
    /// The case's headers (not the runner's own).
    pub headers: BTreeMap<String, String>,
    /// The unique `gateway-api-conformance-request-id` added to the
    /// target of mirror cases; the suite adds it to the expected backend
    /// path as well.
    pub request_id: Option<String>,
}

/// The name of the query parameter that identifies a mirrored request.
pub const REQUEST_ID_PARAM: &str = "gateway-api-conformance-request-id";

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Response(HttpResponse),
    /// Connect/read failure or timeout.
    Transport(String),
}

/// What an attempt means for the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Not (yet) as expected; the case is retried until its deadline.
    NotYet(String),
    /// Fails the case at once (`expect_failure` saw a 200).
    Fatal(String),
}

/// The echo backend's JSON; every field empty when the body is not echo
/// JSON (the gateway answered itself).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Echoed {
    pub path: String,
    pub host: String,
    pub method: String,
    pub headers: BTreeMap<String, Vec<String>>,
    pub namespace: String,
    pub pod: String,
    pub service: String,
}

impl Echoed {
    pub fn from_body(body: &[u8]) -> Echoed {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// Header values by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&Vec<String>> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

fn is_timeout(code: u16) -> bool {
    code == 408 || code == 504
}

/// The Deployment behind a pod name (pod name minus its last two parts).
pub fn backend_of_pod(pod: &str) -> &str {
    let mut it = pod.rmatch_indices('-');
    match (it.next(), it.next()) {
        (Some(_), Some((i, _))) => &pod[..i],
        _ => pod,
    }
}

fn ws(s: &str, ignore: bool) -> String {
    if ignore {
        s.chars().filter(|c| *c != ' ').collect()
    } else {
        s.to_owned()
    }
}

/// Check one attempt. `original_port` maps a local (mapped) port back to
/// the corpus port.
pub fn check(
    sent: &Sent,
    expect: &Expect,
    outcome: &Outcome,
    original_port: &dyn Fn(u16) -> Option<u16>,
) -> Verdict {
    let resp = match outcome {
        Outcome::Transport(e) => {
            if expect.connection_error {
                return Verdict::Pass;
            }
            return Verdict::NotYet(format!("request failed: {e}"));
        }
        Outcome::Response(r) => r,
    };
    if expect.connection_error {
        return Verdict::NotYet(format!(
            "expected a connection error, got status {}",
            resp.status
        ));
    }
    if expect.expect_failure {
        return if resp.status == 200 {
            Verdict::Fatal("expected a non-200 response, got 200".into())
        } else if is_timeout(resp.status) {
            Verdict::NotYet(format!(
                "got {} (timeout statuses are retried)",
                resp.status
            ))
        } else {
            Verdict::Pass
        };
    }
    let codes = expect.status.as_ref().map(|c| c.list()).unwrap_or_default();
    if is_timeout(resp.status) && codes.iter().any(|c| is_timeout(*c)) {
        return Verdict::Pass;
    }
    if !codes.is_empty() && !codes.contains(&resp.status) {
        return Verdict::NotYet(format!(
            "expected status {}, got {}",
            codes
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
            resp.status
        ));
    }
    let r = if resp.status == 200 || resp.status == 204 {
        check_backend_side(sent, expect, resp)
    } else if (300..400).contains(&resp.status) {
        check_redirect(sent, expect, resp, original_port)
    } else {
        Ok(())
    };
    match r {
        Ok(()) => Verdict::Pass,
        Err(e) => Verdict::NotYet(e),
    }
}

fn check_backend_side(sent: &Sent, expect: &Expect, resp: &HttpResponse) -> Result<(), String> {
    let echoed = Echoed::from_body(&resp.body);
    if let Some(h) = &expect.backend_from_request_header {
        let vals = echoed.header(h).cloned().unwrap_or_default();
        if vals.len() != 1 {
            return Err(format!(
                "expected exactly one {h} header at the backend, got {vals:?}"
            ));
        }
        if !echoed.pod.starts_with(&vals[0]) {
            return Err(format!(
                "answering pod {:?} does not start with {h} header value {:?}",
                echoed.pod, vals[0]
            ));
        }
        return Ok(());
    }
    if expect.answered_by_gateway {
        if !echoed.path.is_empty() || !echoed.namespace.is_empty() || !echoed.pod.is_empty() {
            return Err(format!(
                "expected the gateway to answer itself, but backend pod {:?} answered",
                echoed.pod
            ));
        }
    } else {
        check_seen_request(sent, expect, &echoed)?;
        let want_ns = expect
            .backend
            .as_ref()
            .map(|b| b.namespace.as_str())
            .or(expect.backend_namespace.as_deref())
            .unwrap_or("");
        if echoed.namespace != want_ns {
            return Err(format!(
                "expected backend namespace {want_ns:?}, got {:?} (pod {:?})",
                echoed.namespace, echoed.pod
            ));
        }
        if let Some(b) = &expect.backend
            && !echoed.pod.starts_with(&b.name)
        {
            return Err(format!(
                "expected a pod of {}, got pod {:?}",
                b.name, echoed.pod
            ));
        }
    }
    let ign = expect.ignore_whitespace;
    for (name, want) in &expect.response_headers {
        match resp.header_joined(name) {
            None => return Err(format!("expected response header {name}: {want:?}, absent")),
            Some(got) if ws(&got, ign) != ws(want, ign) => {
                return Err(format!(
                    "expected response header {name}: {want:?}, got {got:?}"
                ));
            }
            Some(_) => {}
        }
    }
    for (name, options) in &expect.response_headers_one_of {
        let got = resp.header_joined(name).unwrap_or_default();
        if !options.iter().any(|o| ws(o, ign) == ws(&got, ign)) {
            return Err(format!(
                "expected response header {name} to be one of {options:?}, got {got:?}"
            ));
        }
    }
    for name in &expect.absent_response_headers {
        if let Some(got) = resp.header_joined(name) {
            return Err(format!("expected no response header {name}, got {got:?}"));
        }
    }
    Ok(())
}

fn check_seen_request(sent: &Sent, expect: &Expect, echoed: &Echoed) -> Result<(), String> {
    let (path, method, host, headers, absent): (&str, &str, Option<&str>, _, &[String]) =
        match &expect.request_seen_by_backend {
            Some(s) => (
                s.path.as_deref().unwrap_or(""),
                s.method.as_deref().unwrap_or("GET"),
                s.host.as_deref(),
                &s.headers,
                &s.absent_headers,
            ),
            None => (
                sent.target.as_str(),
                sent.method.as_str(),
                sent.host.as_deref(),
                &sent.headers,
                &[],
            ),
        };
    if let Some(h) = host
        && !h.is_empty()
        && echoed.host != h
    {
        return Err(format!(
            "expected the backend to see host {h:?}, got {:?}",
            echoed.host
        ));
    }
    // An explicit expected path of a mirror case carries the request id,
    // appended the way the request's own target got it.
    let with_id;
    let path = match (&expect.request_seen_by_backend, &sent.request_id) {
        (Some(_), Some(id)) if !path.is_empty() => {
            let sep = if path.contains('?') { '&' } else { '?' };
            with_id = format!("{path}{sep}{REQUEST_ID_PARAM}={id}");
            with_id.as_str()
        }
        _ => path,
    };
    if echoed.path != path {
        return Err(if echoed.path.is_empty() && echoed.pod.is_empty() {
            format!(
                "expected the backend to see path {path:?}, but the response is not from an echo backend"
            )
        } else {
            format!(
                "expected the backend to see path {path:?}, got {:?}",
                echoed.path
            )
        });
    }
    if echoed.method != method {
        return Err(format!(
            "expected the backend to see method {method}, got {:?}",
            echoed.method
        ));
    }
    for (name, want) in headers {
        match echoed.header(name) {
            None => {
                return Err(format!(
                    "expected the backend to see header {name}: {want:?}, absent"
                ));
            }
            Some(v) if &v.join(",") != want => {
                return Err(format!(
                    "expected the backend to see header {name}: {want:?}, got {:?}",
                    v.join(",")
                ));
            }
            Some(_) => {}
        }
    }
    for name in absent {
        if let Some(v) = echoed.header(name) {
            return Err(format!(
                "expected the backend not to see header {name}, got {:?}",
                v.join(",")
            ));
        }
    }
    Ok(())
}

/// Parts of a `Location` value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub scheme: String,
    pub host: String,
    pub port: String,
    pub path: String,
}

/// Split a Location (absolute or origin-relative).
pub fn parse_location(loc: &str) -> Location {
    let (scheme, rest) = match loc.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => {
            let path = loc.split(['?', '#']).next().unwrap_or("");
            return Location {
                path: path.to_owned(),
                ..Location::default()
            };
        }
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let path = rest[end..]
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_owned();
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        match stripped.split_once(']') {
            Some((h, p)) => (h.to_owned(), p.trim_start_matches(':').to_owned()),
            None => (authority.to_owned(), String::new()),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.to_owned()),
            None => (authority.to_owned(), String::new()),
        }
    };
    Location {
        scheme,
        host,
        port,
        path,
    }
}

fn check_redirect(
    sent: &Sent,
    expect: &Expect,
    resp: &HttpResponse,
    original_port: &dyn Fn(u16) -> Option<u16>,
) -> Result<(), String> {
    let Some(want) = &expect.redirect else {
        return Ok(());
    };
    let Some(loc) = resp.header_joined("location") else {
        return Err(format!(
            "expected a redirect, got {} without Location",
            resp.status
        ));
    };
    let mut got = parse_location(&loc);
    if let Some(orig) = got.port.parse::<u16>().ok().and_then(original_port) {
        got.port = orig.to_string();
    }
    let scheme = want.scheme.clone().unwrap_or_else(|| sent.scheme.clone());
    let path = want
        .path
        .clone()
        .unwrap_or_else(|| sent.target.split('?').next().unwrap_or("").to_owned());
    if let Some(h) = &want.host
        && &got.host != h
    {
        return Err(format!(
            "expected redirect host {h:?}, got {:?} (Location {loc})",
            got.host
        ));
    }
    if got.scheme != scheme {
        return Err(format!(
            "expected redirect scheme {scheme:?}, got {:?} (Location {loc})",
            got.scheme
        ));
    }
    if got.path != path {
        return Err(format!(
            "expected redirect path {path:?}, got {:?} (Location {loc})",
            got.path
        ));
    }
    match &want.port {
        Some(p) if &got.port != p => {
            return Err(format!(
                "expected redirect port {p:?}, got {:?} (Location {loc})",
                got.port
            ));
        }
        Some(_) => {}
        None => {
            let default = if scheme == "https" { "443" } else { "80" };
            if !got.port.is_empty() && got.port != default {
                return Err(format!(
                    "expected no redirect port (or {default}), got {:?} (Location {loc})",
                    got.port
                ));
            }
        }
    }
    Ok(())
}

/// Check a weighted split: `counts` per backend (Deployment) name.
pub fn check_weights(
    counts: &BTreeMap<String, u32>,
    weights: &BTreeMap<String, f64>,
    tolerance: f64,
) -> Result<(), String> {
    let total: u32 = counts.values().sum();
    if total == 0 {
        return Err("no responses counted".into());
    }
    for name in counts.keys() {
        if !weights.contains_key(name) {
            return Err(format!("unexpected backend {name} answered"));
        }
    }
    for (name, w) in weights {
        let got = counts.get(name).copied().unwrap_or(0);
        if *w == 0.0 {
            if got > 0 {
                return Err(format!(
                    "backend {name} has weight 0 but got {got} requests"
                ));
            }
            continue;
        }
        let frac = f64::from(got) / f64::from(total);
        if (frac - w).abs() > tolerance {
            return Err(format!(
                "backend {name}: got fraction {frac:.3}, expected {w} +/- {tolerance}"
            ));
        }
    }
    Ok(())
}

/// The echo server's log line for a mirrored request.
pub fn mirror_line(path: &str) -> String {
    format!("Echoing back request made to {path} to client")
}

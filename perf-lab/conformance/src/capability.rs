//! What the runner itself can execute. A test whose features are all
//! claimed but which needs a client capability the runner lacks (TLS,
//! HTTP/2, gRPC, TCP, UDP, ...) is skipped with that capability named —
//! never run half-way, never passed.

use crate::actions;
use crate::corpus::{Expect, Request, StepKind, TestCase};

fn request_gap(r: &Request) -> Option<String> {
    if let Some(p) = &r.protocol
        && !p.eq_ignore_ascii_case("HTTP")
    {
        return Some(format!("{p} requests"));
    }
    let https = match r.scheme.as_deref() {
        None => false,
        Some(s) if s.eq_ignore_ascii_case("http") => false,
        Some(s) if s.eq_ignore_ascii_case("https") => true,
        Some(s) => return Some(format!("{s} requests")),
    };
    // HTTPS requests trusting the suite's validity-checks certificate are
    // supported (crate::tls); client certificates and other trust are not.
    if (r.sni.is_some() && !https)
        || r.tls == Some(true)
        || r.client_cert_from_secret.is_some()
        || r.trust_ca_from_configmap.is_some()
    {
        return Some("TLS client certificates or custom trust".into());
    }
    if r.url.is_some()
        || r.origin.is_some()
        || r.payload.is_some()
        || !r.metadata.is_empty()
        || r.authority.is_some()
    {
        return Some("non-HTTP request fields".into());
    }
    None
}

fn expect_gap(e: &Expect) -> Option<String> {
    let checks: [(&str, bool); 12] = [
        (
            "client certificate checks",
            e.client_cert_presented.is_some(),
        ),
        ("TLS connection rejection", e.connection_rejected),
        (
            "gRPC status checks",
            e.grpc_code.is_some() || e.grpc_code_not.is_some(),
        ),
        (
            "TCP echo checks",
            e.tcp_echo.is_some() || e.tcp_echo_test_only.is_some(),
        ),
        (
            "TCP pod checks",
            e.pod_prefix.is_some() || e.pod_prefix_never.is_some(),
        ),
        ("UDP echo checks", e.udp_echo.is_some()),
        ("DNS checks", e.dns_response.is_some()),
        ("WebSocket echo", e.websocket_echo.is_some()),
        (
            "percentage mirror statistics",
            e.mirrored_to.iter().any(|m| m.percent.is_some()),
        ),
        (
            "backend TLS (SNI) checks",
            e.request_seen_by_backend
                .as_ref()
                .is_some_and(|s| s.sni.is_some()),
        ),
        (
            "backend client certificate checks",
            e.request_seen_by_backend
                .as_ref()
                .is_some_and(|s| s.client_cert_pem_from_secret.is_some()),
        ),
        (
            "weights without a total",
            !e.weights.is_empty() && e.weights_total_requests.is_none(),
        ),
    ];
    checks
        .iter()
        .find(|(_, hit)| *hit)
        .map(|(name, _)| (*name).to_owned())
}

/// The first capability the runner lacks for this test, if any.
pub fn runner_gap(t: &TestCase) -> Option<String> {
    if t.infrastructure_check.is_some() {
        return Some("checks of generated infrastructure objects".into());
    }
    let status_gap = |s: &[crate::corpus::StatusAssertion]| {
        s.iter().find_map(|a| {
            a.status_addresses
                .as_ref()
                .map(|_| "free-text address expectations".to_owned())
        })
    };
    if let Some(g) = status_gap(&t.status) {
        return Some(g);
    }
    for step in &t.cases {
        let gap = match step.kind() {
            Ok(StepKind::Request(r, e)) => request_gap(r).or_else(|| expect_gap(e)),
            Ok(StepKind::Action(a)) => actions::unsupported(a),
            Ok(StepKind::Status(s)) => status_gap(s),
            Err(e) => Some(e),
        };
        if gap.is_some() {
            return gap;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::parse_case;

    #[test]
    fn plain_http_needs_nothing_and_tls_is_named() {
        let plain = parse_case(
            "name: A\ncases:\n  - request: {path: /}\n    expect: {status: 200, backend: {namespace: n, name: b}}\n",
        )
        .expect("case");
        assert_eq!(runner_gap(&plain), None);
        let tls = parse_case("name: B\ncases:\n  - request: {scheme: https, sni: x, path: /}\n    expect: {status: 200}\n")
            .expect("case");
        assert_eq!(runner_gap(&tls), None, "HTTPS with SNI is supported");
        let mtls = parse_case("name: D\ncases:\n  - request: {scheme: https, client_cert_from_secret: c, path: /}\n    expect: {status: 200}\n")
            .expect("case");
        assert_eq!(
            runner_gap(&mtls).as_deref(),
            Some("TLS client certificates or custom trust")
        );
        let grpc = parse_case("name: C\ncases:\n  - request: {protocol: grpc, method: /x}\n    expect: {grpc_code: OK}\n")
            .expect("case");
        assert_eq!(runner_gap(&grpc).as_deref(), Some("grpc requests"));
    }
}

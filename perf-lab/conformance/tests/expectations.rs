//! Expectation and status checking on synthetic inputs.

use serde_json::{Value, json};
use shardgate_conformance::corpus::{Expect, StatusAssertion, parse_case};
use shardgate_conformance::expect::{
    Outcome, Sent, Verdict, backend_of_pod, check, check_weights, parse_location,
};
use shardgate_conformance::http::HttpResponse;
use shardgate_conformance::objects::{Key, Store};
use shardgate_conformance::statuscheck::{self, StatusView};
use std::collections::BTreeMap;

fn expect(yaml: &str) -> Expect {
    serde_saphyr::from_str(yaml).expect("expect yaml")
}

fn sent(target: &str, headers: &[(&str, &str)]) -> Sent {
    Sent {
        scheme: "http".into(),
        method: "GET".into(),
        target: target.into(),
        host: None,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        request_id: None,
    }
}

fn echo(status: u16, body: Value, headers: &[(&str, &str)]) -> Outcome {
    Outcome::Response(HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: serde_json::to_vec(&body).expect("json"),
    })
}

fn echo_body(path: &str, pod: &str, headers: Value) -> Value {
    json!({"path": path, "host": "127.0.0.1", "method": "GET", "headers": headers,
           "namespace": "gateway-conformance-infra", "pod": pod, "service": ""})
}

fn no_map(_: u16) -> Option<u16> {
    None
}

fn not_yet(v: Verdict) -> String {
    match v {
        Verdict::NotYet(m) => m,
        other => panic!("expected NotYet, got {other:?}"),
    }
}

#[test]
fn backend_identity_and_default_request_checks() {
    let e = expect(
        "{status: 200, backend: {namespace: gateway-conformance-infra, name: infra-backend-v1}}",
    );
    let s = sent("/", &[("Version", "one")]);
    let good = echo(
        200,
        echo_body(
            "/",
            "infra-backend-v1-abcdefghij-klmno",
            json!({"Version": ["one"]}),
        ),
        &[],
    );
    assert_eq!(check(&s, &e, &good, &no_map), Verdict::Pass);

    let other = echo(
        200,
        echo_body(
            "/",
            "infra-backend-v2-abcdefghij-klmno",
            json!({"Version": ["one"]}),
        ),
        &[],
    );
    assert!(not_yet(check(&s, &e, &other, &no_map)).contains("infra-backend-v1"));

    // The sent header must reach the backend by default.
    let dropped = echo(
        200,
        echo_body("/", "infra-backend-v1-abcdefghij-klmno", json!({})),
        &[],
    );
    assert!(not_yet(check(&s, &e, &dropped, &no_map)).contains("Version"));

    // A 200 that is not echo JSON fails the namespace / path check.
    let plain = Outcome::Response(HttpResponse {
        status: 200,
        headers: vec![],
        body: b"hello".to_vec(),
    });
    assert!(not_yet(check(&s, &e, &plain, &no_map)).contains("not from an echo backend"));

    let wrong_code = echo(404, json!({}), &[]);
    assert_eq!(
        not_yet(check(&s, &e, &wrong_code, &no_map)),
        "expected status 200, got 404"
    );
    let failed = Outcome::Transport("connect refused".into());
    assert!(not_yet(check(&s, &e, &failed, &no_map)).contains("connect refused"));
}

#[test]
fn request_seen_by_backend_headers_absent_and_joined_values() {
    let e = expect(
        "{status: 200, backend: {namespace: gateway-conformance-infra, name: infra-backend-v1},
          request_seen_by_backend: {path: /add, headers: {X-Header-Add: 'some-other-value,add-appends-values'}, absent_headers: [X-Header-Remove]}}",
    );
    let s = sent("/add", &[]);
    let ok = echo(
        200,
        echo_body(
            "/add",
            "infra-backend-v1-a-b",
            json!({"X-Header-Add": ["some-other-value", "add-appends-values"]}),
        ),
        &[],
    );
    assert_eq!(check(&s, &e, &ok, &no_map), Verdict::Pass);
    let leaked = echo(
        200,
        echo_body(
            "/add",
            "infra-backend-v1-a-b",
            json!({"X-Header-Add": ["some-other-value", "add-appends-values"], "X-Header-Remove": ["x"]}),
        ),
        &[],
    );
    assert!(not_yet(check(&s, &e, &leaked, &no_map)).contains("X-Header-Remove"));
    let wrong_path = echo(
        200,
        echo_body(
            "/other",
            "infra-backend-v1-a-b",
            json!({"X-Header-Add": ["a"]}),
        ),
        &[],
    );
    assert!(not_yet(check(&s, &e, &wrong_path, &no_map)).contains("/add"));
}

#[test]
fn mirror_request_id_is_part_of_the_expected_backend_path() {
    let e = expect(
        "{status: 200, backend: {namespace: gateway-conformance-infra, name: infra-backend-v1},
          request_seen_by_backend: {path: /mirror}}",
    );
    let mut s = sent("/mirror?gateway-api-conformance-request-id=u1", &[]);
    s.request_id = Some("u1".into());
    let seen = |path: &str| echo(200, echo_body(path, "infra-backend-v1-a-b", json!({})), &[]);
    assert_eq!(
        check(
            &s,
            &e,
            &seen("/mirror?gateway-api-conformance-request-id=u1"),
            &no_map
        ),
        Verdict::Pass
    );
    assert!(
        not_yet(check(&s, &e, &seen("/mirror"), &no_map)).contains("request-id=u1"),
        "a backend that lost the id must fail"
    );
}

#[test]
fn response_headers_exact_one_of_whitespace_and_absent() {
    let e = expect(
        "{status: [200, 204], answered_by_gateway: true, ignore_whitespace: true,
          response_headers: {access-control-allow-methods: 'GET, OPTIONS'},
          response_headers_one_of: {access-control-allow-origin: ['https://a.com', 'https://b.com']},
          absent_response_headers: [x-secret]}",
    );
    let s = sent("/cors", &[]);
    let gateway_answer = Outcome::Response(HttpResponse {
        status: 204,
        headers: vec![
            ("Access-Control-Allow-Methods".into(), "GET,OPTIONS".into()),
            ("Access-Control-Allow-Origin".into(), "https://b.com".into()),
        ],
        body: vec![],
    });
    assert_eq!(check(&s, &e, &gateway_answer, &no_map), Verdict::Pass);
    // answered_by_gateway: an echo body means the preflight was proxied.
    let proxied = echo(
        200,
        echo_body("/cors", "infra-backend-v1-a-b", json!({})),
        &[
            ("Access-Control-Allow-Methods", "GET,OPTIONS"),
            ("Access-Control-Allow-Origin", "https://b.com"),
        ],
    );
    assert!(not_yet(check(&s, &e, &proxied, &no_map)).contains("answer itself"));
    let leaky = Outcome::Response(HttpResponse {
        status: 204,
        headers: vec![
            ("Access-Control-Allow-Methods".into(), "GET,OPTIONS".into()),
            ("Access-Control-Allow-Origin".into(), "https://b.com".into()),
            ("X-Secret".into(), "1".into()),
        ],
        body: vec![],
    });
    assert!(not_yet(check(&s, &e, &leaky, &no_map)).contains("x-secret"));
}

#[test]
fn redirects_compare_location_parts_with_mapped_ports_read_back() {
    let e = expect("{status: 302, redirect: {host: example.org, port: '8083'}}");
    let s = sent("/port-and-host", &[]);
    let resp = |loc: &str| {
        Outcome::Response(HttpResponse {
            status: 302,
            headers: vec![("Location".into(), loc.into())],
            body: vec![],
        })
    };
    assert_eq!(
        check(
            &s,
            &e,
            &resp("http://example.org:8083/port-and-host"),
            &no_map
        ),
        Verdict::Pass
    );
    assert!(
        not_yet(check(
            &s,
            &e,
            &resp("http://example.org/port-and-host"),
            &no_map
        ))
        .contains("8083")
    );
    // Scheme defaults to the request's, path to the request path, and an
    // omitted port means none or 80 — after mapping the local port back.
    let e2 = expect("{status: 301, redirect: {host: example.org}}");
    let mapped = |p: u16| (p == 41234).then_some(80);
    let s2 = sent("/p?x=1", &[]);
    let r301 = |loc: &str| {
        Outcome::Response(HttpResponse {
            status: 301,
            headers: vec![("Location".into(), loc.into())],
            body: vec![],
        })
    };
    assert_eq!(
        check(&s2, &e2, &r301("http://example.org:41234/p"), &mapped),
        Verdict::Pass
    );
    assert!(not_yet(check(&s2, &e2, &r301("https://example.org/p"), &mapped)).contains("scheme"));
    assert!(not_yet(check(&s2, &e2, &r301("http://example.org:9/p"), &mapped)).contains("port"));
    let l = parse_location("http://[::1]:8080/a/b?q#f");
    assert_eq!(
        (l.host.as_str(), l.port.as_str(), l.path.as_str()),
        ("::1", "8080", "/a/b")
    );
}

#[test]
fn failure_expectations_and_timeouts() {
    let e = expect("{expect_failure: true}");
    let s = sent("/", &[]);
    assert_eq!(
        check(&s, &e, &echo(500, json!({}), &[]), &no_map),
        Verdict::Pass
    );
    assert!(matches!(
        check(&s, &e, &echo(200, json!({}), &[]), &no_map),
        Verdict::Fatal(_)
    ));
    assert!(matches!(
        check(&s, &e, &echo(504, json!({}), &[]), &no_map),
        Verdict::NotYet(_)
    ));
    let t = expect("{status: 504}");
    assert_eq!(
        check(&s, &t, &echo(408, json!({}), &[]), &no_map),
        Verdict::Pass,
        "408 and 504 are interchangeable"
    );
    let c = expect("{connection_error: true}");
    assert_eq!(
        check(&s, &c, &Outcome::Transport("reset".into()), &no_map),
        Verdict::Pass
    );
    assert!(matches!(
        check(&s, &c, &echo(200, json!({}), &[]), &no_map),
        Verdict::NotYet(_)
    ));
}

#[test]
fn weights_and_pod_backends() {
    assert_eq!(
        backend_of_pod("grpc-infra-backend-v1-7b9d6c5f4d-x2x9z"),
        "grpc-infra-backend-v1"
    );
    let w: BTreeMap<String, f64> = [("a".into(), 0.7), ("b".into(), 0.3), ("c".into(), 0.0)]
        .into_iter()
        .collect();
    let counts = |a: u32, b: u32, c: u32| -> BTreeMap<String, u32> {
        [("a".into(), a), ("b".into(), b), ("c".into(), c)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect()
    };
    assert!(check_weights(&counts(70, 30, 0), &w, 0.05).is_ok());
    assert!(check_weights(&counts(80, 20, 0), &w, 0.05).is_err());
    assert!(
        check_weights(&counts(70, 29, 1), &w, 0.05)
            .expect_err("zero weight")
            .contains("weight 0")
    );
}

fn status_docs() -> Vec<Value> {
    let cond = |t: &str, s: &str, r: &str, g: i64| json!({"type": t, "status": s, "reason": r, "observedGeneration": g});
    vec![
        json!({"kind": "Gateway", "namespace": "ns", "name": "gw", "status": {
            "conditions": [cond("Accepted", "True", "Accepted", 1), cond("Programmed", "True", "Programmed", 1)],
            "addresses": [{"type": "IPAddress", "value": "127.0.0.1"}],
            "listeners": [{"name": "http", "attachedRoutes": 1,
                "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                "conditions": [cond("Accepted", "True", "Accepted", 1), cond("ResolvedRefs", "True", "ResolvedRefs", 1), cond("Programmed", "True", "Programmed", 1)]}]}}),
        json!({"kind": "HTTPRoute", "namespace": "ns", "name": "r", "status": {"parents": [
            {"controllerName": "shardgate.dev/gateway-controller",
             "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"},
             "conditions": [cond("Accepted", "True", "Accepted", 1), cond("ResolvedRefs", "True", "ResolvedRefs", 1)]}]}}),
    ]
}

fn store() -> Store {
    let mut s = Store::new();
    s.apply(json!({"kind": "Gateway", "metadata": {"name": "gw", "namespace": "ns"}, "spec": {}}))
        .expect("gw");
    s.apply(json!({"kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "ns"}, "spec": {}}))
        .expect("route");
    s
}

fn assertions(yaml: &str) -> Vec<StatusAssertion> {
    parse_case(&format!("name: X\nstatus:\n{yaml}"))
        .expect("case")
        .status
}

#[test]
fn status_assertions_on_gateways_and_routes() {
    let docs = status_docs();
    let store = store();
    let before = BTreeMap::new();
    let view = StatusView {
        docs: &docs,
        store: &store,
        controller_name: "shardgate.dev/gateway-controller",
        generation_before: &before,
    };
    let list = assertions(
        r#"  - {kind: Gateway, namespace: ns, name: gw, listener: "*", conditions: [{type: ResolvedRefs, status: "True"}, {type: Accepted, status: "True"}, {type: Programmed, status: "True"}]}
  - {kind: HTTPRoute, namespace: ns, name: r, parent: {namespace: ns, name: gw}, conditions: [{type: Accepted, status: "True", reason: Accepted}]}
  - {kind: Gateway, namespace: ns, name: gw, listeners_exact: [{name: http, supportedKinds: [HTTPRoute], attachedRoutes: 1, conditions: [{type: Accepted, status: "True"}]}]}
  - {kind: Gateway, namespace: ns, name: gw, conditions: [{type: Programmed, status: "True"}], latest_observed_generation: true}
"#,
    );
    assert!(statuscheck::strict_route(&list[1], &list));
    for a in &list {
        statuscheck::check(a, &list, &view).expect("holds");
    }
    let failing = assertions(
        r#"  - {kind: HTTPRoute, namespace: ns, name: r, parent: {namespace: ns, name: gw}, conditions: [{type: Accepted, status: "False", reason: NotAllowedByListeners}]}
  - {kind: Gateway, namespace: ns, name: gw, listeners_exact: [{name: http, supportedKinds: [HTTPRoute], attachedRoutes: 2, conditions: []}]}
  - {kind: Gateway, namespace: ns, name: other, has_address: true}
"#,
    );
    let errs: Vec<String> = failing
        .iter()
        .map(|a| statuscheck::check(a, &failing, &view).expect_err("must fail"))
        .collect();
    assert!(errs[0].contains("Accepted=False"), "{}", errs[0]);
    assert!(errs[1].contains("attachedRoutes 2"), "{}", errs[1]);
    assert!(errs[2].contains("no status"), "{}", errs[2]);
}

#[test]
fn strict_route_matcher_requires_explicit_group_kind_and_controller() {
    let mut docs = status_docs();
    // Parent ref without group/kind: the lenient matcher accepts it, the
    // strict one (Accepted check next to a listener "*" check) does not.
    docs[1]["status"]["parents"][0]["parentRef"] = json!({"name": "gw"});
    let store = store();
    let before = BTreeMap::new();
    let view = StatusView {
        docs: &docs,
        store: &store,
        controller_name: "shardgate.dev/gateway-controller",
        generation_before: &before,
    };
    let lenient = assertions(
        r#"  - {kind: HTTPRoute, namespace: ns, name: r, parent: {namespace: ns, name: gw}, conditions: [{type: ResolvedRefs, status: "True"}]}
"#,
    );
    statuscheck::check(&lenient[0], &lenient, &view).expect("lenient match");
    let strict = assertions(
        r#"  - {kind: Gateway, namespace: ns, name: gw, listener: "*", conditions: [{type: Accepted, status: "True"}]}
  - {kind: HTTPRoute, namespace: ns, name: r, parent: {namespace: ns, name: gw}, conditions: [{type: Accepted, status: "True", reason: Accepted}]}
"#,
    );
    let e = statuscheck::check(&strict[1], &strict, &view).expect_err("strict");
    assert!(e.contains("parentRef.group"), "{e}");
    let mut wrong_controller = status_docs();
    wrong_controller[1]["status"]["parents"][0]["controllerName"] = json!("other.dev/c");
    let view2 = StatusView {
        docs: &wrong_controller,
        ..view
    };
    let e = statuscheck::check(&strict[1], &strict, &view2).expect_err("controller");
    assert!(e.contains("controllerName"), "{e}");
}

#[test]
fn observed_generation_and_generation_changed() {
    let docs = status_docs();
    let mut store = store();
    let key = Key::new("HTTPRoute", Some("ns"), "r");
    let before: BTreeMap<Key, i64> = [(key.clone(), 1)].into_iter().collect();
    let mut changed = store.get(&key).expect("route").clone();
    changed["spec"]["x"] = json!(1);
    store.update(&key, changed).expect("update");
    let view = StatusView {
        docs: &docs,
        store: &store,
        controller_name: "shardgate.dev/gateway-controller",
        generation_before: &before,
    };
    let list = assertions(
        "  - {kind: HTTPRoute, namespace: ns, name: r, latest_observed_generation: true, generation_changed: true}\n",
    );
    let e = statuscheck::check(&list[0], &list, &view).expect_err("status still at generation 1");
    assert!(e.contains("observedGeneration 1"), "{e}");
}

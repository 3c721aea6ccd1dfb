//! HTTPRoute filters through the real binary: RequestMirror copies and
//! CORS answers.

mod support;

use std::time::Duration;
use support::yaml::{NS, SERVICE_PORT, docs, service};
use support::{Client, Env, Gateway, Response};

fn send(gw: &Gateway, raw: &str) -> Response {
    Client::connect(gw.addr())
        .and_then(|mut c| c.request(raw))
        .unwrap_or_else(|e| panic!("request {raw:?}: {e}\n{}", gw.logs()))
}

/// One HTTPRoute on `host`; `rules` is the YAML list under `rules:`.
fn route(host: &str, rules: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: filters, namespace: {NS}}}
spec:
  parentRefs: [{{name: gw}}]
  hostnames: [\"{host}\"]
  rules:
{rules}"
    )
}

#[test]
fn mirrors_copy_complete_requests_and_never_hold_the_primary() {
    let env = Env::new();
    let main = env.echo("main");
    let shadow = env.echo("shadow");
    let nobody = support::procs::loopback(support::procs::free_port());
    env.write(
        "services.yaml",
        &docs(&[
            service("main", &[main.addr]),
            service("shadow", &[shadow.addr]),
            service("dead", &[nobody]),
        ]),
    );
    let p = SERVICE_PORT;
    env.write(
        "routes.yaml",
        &route(
            "mirror.test",
            &format!(
                "  - matches: [{{path: {{type: PathPrefix, value: /m}}}}]
    filters:
    - type: RequestMirror
      requestMirror: {{backendRef: {{name: shadow, port: {p}}}}}
    backendRefs: [{{name: main, port: {p}}}]
  - matches: [{{path: {{type: PathPrefix, value: /dead}}}}]
    filters:
    - type: RequestMirror
      requestMirror: {{backendRef: {{name: dead, port: {p}}}}}
    backendRefs: [{{name: main, port: {p}}}]
  - matches: [{{path: {{type: PathPrefix, value: /never}}}}]
    filters:
    - type: RequestMirror
      requestMirror: {{backendRef: {{name: shadow, port: {p}}}, percent: 0}}
    backendRefs: [{{name: main, port: {p}}}]
  - backendRefs: [{{name: main, port: {p}}}]
"
            ),
        ),
    );
    let gw = Gateway::start_up(env, "mirror.test", "/");
    let wait = Duration::from_secs(5);

    // A request without a body, and one whose small body comes with it.
    let r = send(&gw, "GET /m/get HTTP/1.1\r\nHost: mirror.test\r\n\r\n");
    assert_eq!(r.pod().as_deref(), Some("main"), "{}", r.text());
    assert!(shadow.wait_received("/m/get", wait), "GET not mirrored");
    let r = send(
        &gw,
        "POST /m/post HTTP/1.1\r\nHost: mirror.test\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(r.pod().as_deref(), Some("main"), "{}", r.text());
    assert!(shadow.wait_received("/m/post", wait), "POST not mirrored");

    // A body larger than one read cannot have arrived with its head: the
    // primary gets all of it, the copy is skipped and counted.
    let before = gw.metrics();
    let body = "x".repeat(4 << 20);
    let r = send(
        &gw,
        &format!(
            "POST /m/big HTTP/1.1\r\nHost: mirror.test\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(r.pod().as_deref(), Some("main"), "{}", r.text());
    let skipped = |m: &support::Metrics| m.get("shardgate_mirrors_skipped_total");
    assert_eq!(skipped(&gw.metrics()) - skipped(&before), 1.0);

    // A mirror whose backend refuses connections changes nothing for the
    // client; the failure is counted.
    for i in 0..3 {
        let r = send(
            &gw,
            &format!("GET /dead/{i} HTTP/1.1\r\nHost: mirror.test\r\n\r\n"),
        );
        assert_eq!(r.pod().as_deref(), Some("main"), "{}", r.text());
    }
    let failed = || gw.metrics().get("shardgate_mirrors_failed_total");
    support::procs::poll(wait, || (failed() >= 3.0).then_some(()))
        .unwrap_or_else(|| panic!("mirror failures not counted:\n{}", gw.logs()));

    // percent: 0 never copies.
    let r = send(&gw, "GET /never HTTP/1.1\r\nHost: mirror.test\r\n\r\n");
    assert_eq!(r.pod().as_deref(), Some("main"), "{}", r.text());
    assert_eq!(shadow.received_count("/never"), 0);
    assert_eq!(shadow.received_count("/m/big"), 0);
}

#[test]
fn cors_preflights_are_answered_and_responses_carry_the_origin() {
    let env = Env::new();
    let main = env.echo("main");
    env.write("services.yaml", &service("main", &[main.addr]));
    let p = SERVICE_PORT;
    env.write(
        "routes.yaml",
        &route(
            "cors.test",
            &format!(
                "  - filters:
    - type: CORS
      cors:
        allowOrigins: [\"https://*.example.com\"]
        allowMethods: [GET, PUT]
        allowHeaders: [x-one]
        allowCredentials: true
        maxAge: 60
    backendRefs: [{{name: main, port: {p}}}]
"
            ),
        ),
    );
    let gw = Gateway::start_up(env, "cors.test", "/");

    let preflight = |origin: &str| {
        send(
            &gw,
            &format!(
                "OPTIONS /x HTTP/1.1\r\nHost: cors.test\r\nOrigin: {origin}\r\n\
                 Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: x-one\r\n\r\n"
            ),
        )
    };
    let ok = preflight("https://app.example.com");
    assert_eq!(ok.status(), 204, "{:?}", ok.head);
    assert!(ok.pod().is_none(), "the preflight reached the backend");
    let h = |r: &Response, n: &str| r.header(n).map(str::to_owned);
    assert_eq!(
        h(&ok, "access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(
        h(&ok, "access-control-allow-methods").as_deref(),
        Some("GET, PUT")
    );
    assert_eq!(
        h(&ok, "access-control-allow-headers").as_deref(),
        Some("x-one")
    );
    assert_eq!(h(&ok, "access-control-max-age").as_deref(), Some("60"));
    assert_eq!(
        h(&ok, "access-control-allow-credentials").as_deref(),
        Some("true")
    );

    let refused = preflight("https://evil.test");
    assert_eq!(refused.status(), 204);
    assert!(h(&refused, "access-control-allow-origin").is_none());

    let r = send(
        &gw,
        "GET /y HTTP/1.1\r\nHost: cors.test\r\nOrigin: https://app.example.com\r\n\r\n",
    );
    assert_eq!(r.pod().as_deref(), Some("main"), "{}", r.text());
    assert_eq!(
        h(&r, "access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    let r = send(
        &gw,
        "GET /y HTTP/1.1\r\nHost: cors.test\r\nOrigin: https://evil.test\r\n\r\n",
    );
    assert_eq!(r.pod().as_deref(), Some("main"), "{}", r.text());
    assert!(h(&r, "access-control-allow-origin").is_none());
}

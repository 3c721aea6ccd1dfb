//! Invalid input never takes valid configuration down: adding any one of
//! these broken or unrelated objects to a working configuration leaves its
//! served route in the IR, with the same action.

use shardgate_gateway::{Objects, translate};
use shardgate_ir::{Action, Snapshot};

const BASE: &str = "\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: sg}
spec: {controllerName: shardgate.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  gatewayClassName: sg
  allowedListeners: {namespaces: {from: All}}
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: good.example.com, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: good, namespace: app}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
";

/// One document each, appended to BASE on its own.
const POISON: &[(&str, &str)] = &[
    (
        "a route with an unsupported filter",
        "kind: HTTPRoute\nmetadata: {name: bad, namespace: app}\nspec:\n  parentRefs: [{name: gw}]\n  rules: [{filters: [{type: URLRewrite, urlRewrite: {hostname: x}}]}]\n",
    ),
    (
        "a route with a regex that does not compile",
        "kind: HTTPRoute\nmetadata: {name: bad, namespace: app}\nspec:\n  parentRefs: [{name: gw}]\n  rules: [{matches: [{path: {type: RegularExpression, value: '(['}}]}]\n",
    ),
    (
        "a ListenerSet whose listener conflicts with the Gateway's",
        "kind: ListenerSet\nmetadata: {name: ls, namespace: other}\nspec:\n  parentRef: {name: gw, namespace: app}\n  listeners: [{name: dup, port: 80, protocol: HTTP, hostname: good.example.com}]\n",
    ),
    (
        "a ListenerSet with a TCP listener on the Gateway's port",
        "kind: ListenerSet\nmetadata: {name: ls, namespace: other}\nspec:\n  parentRef: {name: gw, namespace: app}\n  listeners: [{name: raw, port: 80, protocol: TCP}]\n",
    ),
    (
        "a second Gateway with an unknown protocol on the same port",
        "kind: Gateway\nmetadata: {name: gw2, namespace: app}\nspec:\n  gatewayClassName: sg\n  listeners: [{name: odd, port: 80, protocol: SCTP}]\n",
    ),
    (
        "a Gateway with a missing certificate",
        "kind: Gateway\nmetadata: {name: gw2, namespace: app}\nspec:\n  gatewayClassName: sg\n  listeners: [{name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: nope}]}}]\n",
    ),
    (
        "a route from another namespace claiming the same hostname",
        "kind: HTTPRoute\nmetadata: {name: intruder, namespace: other}\nspec:\n  parentRefs: [{name: gw, namespace: app}]\n  hostnames: [elsewhere.example.com]\n  rules: [{backendRefs: [{name: web, namespace: app, port: 80}]}]\n",
    ),
    (
        "a TCPRoute naming the Gateway",
        "kind: TCPRoute\nmetadata: {name: t, namespace: app}\nspec:\n  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n",
    ),
    (
        "a GRPCRoute naming the Gateway",
        "kind: GRPCRoute\nmetadata: {name: g, namespace: app}\nspec:\n  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n",
    ),
    (
        "a ReferenceGrant granting nothing useful",
        "kind: ReferenceGrant\nmetadata: {name: g, namespace: app}\nspec:\n  from: [{group: x, kind: Widget, namespace: z}]\n  to: [{group: '', kind: Secret}]\n",
    ),
];

fn served(snapshot: &Snapshot) -> Vec<(String, Action)> {
    snapshot
        .listeners
        .iter()
        .flat_map(|l| &l.virtual_hosts)
        .filter(|v| v.name.ends_with("/good.example.com"))
        .flat_map(|v| &v.routes)
        .filter(|r| r.name.starts_with("app/good/"))
        .map(|r| (r.name.clone(), r.action.clone()))
        .collect()
}

#[test]
fn broken_neighbours_leave_the_good_route_served() {
    let mut base = Objects::new();
    base.load_str("base.yaml", BASE);
    assert!(base.errors.is_empty(), "{:?}", base.errors);
    let want = served(&translate(&base).snapshot);
    assert_eq!(want.len(), 1, "the base serves its route");
    for (what, doc) in POISON {
        let mut objects = Objects::new();
        let text = format!("{BASE}---\napiVersion: gateway.networking.k8s.io/v1\n{doc}");
        objects.load_str("poisoned.yaml", &text);
        assert!(objects.errors.is_empty(), "{what}: {:?}", objects.errors);
        let got = served(&translate(&objects).snapshot);
        assert_eq!(got, want, "{what} changed the good route");
    }
}

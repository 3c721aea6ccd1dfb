//! A ReferenceGrant takes effect, and stops taking effect, with the very
//! next translation.

use shardgate_gateway::{ObjectKey, Objects, Status, translate};
use shardgate_ir::{Action, BackendTarget};

const INPUT: &str = "\
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
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: web, namespace: backends, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: backends}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow-app, namespace: backends}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: app}]
  to: [{group: \"\", kind: Service}]
";

fn resolved_refs(t: &shardgate_gateway::Translation) -> (String, String) {
    let key = ObjectKey::new("app", "r");
    let Some(Status::HttpRoute(s)) = t
        .status
        .iter()
        .find(|s| s.is_for("HTTPRoute", &key))
        .map(|s| &s.status)
    else {
        panic!("no route status in {:?}", t.status);
    };
    let c = s.parents[0]
        .conditions
        .iter()
        .find(|c| c.type_ == "ResolvedRefs")
        .expect("ResolvedRefs condition");
    (c.status.clone(), c.reason.clone())
}

fn first_target(t: &shardgate_gateway::Translation) -> BackendTarget {
    let route = &t.snapshot.listeners[0].virtual_hosts[0].routes[0];
    match &route.action {
        Action::Forward(b) => b[0].target.clone(),
        other => panic!("unexpected action {other:?}"),
    }
}

#[test]
fn revoking_a_grant_takes_effect_at_once() {
    let mut objects = Objects::new();
    objects.load_str("in.yaml", INPUT);
    assert!(objects.errors.is_empty(), "{:?}", objects.errors);

    let granted = translate(&objects);
    assert_eq!(
        resolved_refs(&granted),
        ("True".to_owned(), "ResolvedRefs".to_owned())
    );
    assert_eq!(first_target(&granted), BackendTarget::Cluster(0));
    assert_eq!(granted.snapshot.clusters[0].name, "backends/web:80");

    let removed = objects
        .reference_grants
        .remove(&ObjectKey::new("backends", "allow-app"));
    assert!(removed.is_some(), "the grant was loaded");
    let revoked = translate(&objects);
    assert_eq!(
        resolved_refs(&revoked),
        ("False".to_owned(), "RefNotPermitted".to_owned())
    );
    assert_eq!(
        first_target(&revoked),
        BackendTarget::Invalid { status: 500 }
    );
    assert!(
        revoked.snapshot.clusters.is_empty(),
        "no cluster for a refused reference"
    );
}

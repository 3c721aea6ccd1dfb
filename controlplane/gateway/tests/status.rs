//! Status inputs: the Programmed flag and stable lastTransitionTime.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use shardgate_gateway::{
    Object, ObjectKey, Objects, Status, StatusInputs, translate_with, with_status,
};

const INPUT: &str = "\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: sg}
spec: {controllerName: shardgate.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: sg
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: missing, port: 80}]}]
";

fn objects() -> Objects {
    let mut o = Objects::new();
    o.load_str("in.yaml", INPUT);
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    o
}

fn gateway_conditions(statuses: &[shardgate_gateway::ObjectStatus]) -> Vec<Condition> {
    let key = ObjectKey::new("ns", "gw");
    match statuses
        .iter()
        .find(|s| s.is_for("Gateway", &key))
        .map(|s| &s.status)
    {
        Some(Status::Gateway(g)) => g.conditions.clone().unwrap_or_default(),
        other => panic!("no gateway status: {other:?}"),
    }
}

fn find<'a>(conds: &'a [Condition], type_: &str) -> &'a Condition {
    conds
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {conds:?}"))
}

fn at(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).expect("valid timestamp"))
}

#[test]
fn programmed_flips_and_only_changed_conditions_move_in_time() {
    let objects = objects();
    let first = translate_with(
        &objects,
        &StatusInputs {
            programmed: false,
            now: at(100),
            previous: Vec::new(),
            gateway_address: Some("192.0.2.1".to_owned()),
        },
    );
    let c1 = gateway_conditions(&first.status);
    assert_eq!(find(&c1, "Programmed").status, "False");
    assert_eq!(find(&c1, "Programmed").reason, "Pending");

    let second = translate_with(
        &objects,
        &StatusInputs {
            programmed: true,
            now: at(200),
            previous: first.status.clone(),
            gateway_address: Some("192.0.2.1".to_owned()),
        },
    );
    let c2 = gateway_conditions(&second.status);
    assert_eq!(find(&c2, "Programmed").status, "True");
    assert_eq!(find(&c2, "Programmed").last_transition_time, at(200));
    assert_eq!(find(&c2, "Accepted").last_transition_time, at(100));
    assert_eq!(
        first.snapshot, second.snapshot,
        "the IR does not depend on status inputs"
    );

    let key = ObjectKey::new("ns", "r");
    let route = second.status.iter().find(|s| s.is_for("HTTPRoute", &key));
    let Some(Status::HttpRoute(r)) = route.map(|s| &s.status) else {
        panic!("no route status");
    };
    let resolved = find(&r.parents[0].conditions, "ResolvedRefs");
    assert_eq!(
        (resolved.status.as_str(), resolved.reason.as_str()),
        ("False", "BackendNotFound")
    );
    assert_eq!(resolved.last_transition_time, at(100));
}

#[test]
fn objects_carry_their_status_for_display() {
    let objects = objects();
    let t = translate_with(&objects, &StatusInputs::default());
    let shown = with_status(&objects, &t.status);
    assert_eq!(shown.len(), 3);
    for o in &shown {
        let has_status = match o {
            Object::GatewayClass(c) => c.status.is_some(),
            Object::Gateway(g) => g.status.is_some(),
            Object::HttpRoute(r) => r.status.is_some(),
            other => panic!("unexpected {}", other.kind()),
        };
        assert!(has_status, "{} has no status", o.kind());
    }
    assert!(
        shown.iter().all(|o| o.metadata().generation == Some(1)),
        "generation defaults to 1 as observedGeneration assumed"
    );
    let yaml = serde_saphyr::to_string(&shown).expect("serializable");
    assert!(
        yaml.contains("apiVersion: gateway.networking.k8s.io/v1"),
        "{yaml}"
    );
    assert!(yaml.contains("kind: HTTPRoute"), "{yaml}");
    assert!(yaml.contains("reason: BackendNotFound"), "{yaml}");
}

#[test]
fn every_kind_of_ours_is_shown_with_its_status() {
    let mut objects = Objects::new();
    objects.load_str(
        "in.yaml",
        "\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: sg}
spec: {controllerName: shardgate.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: sg
  allowedListeners: {namespaces: {from: Same}}
  listeners: [{name: tcp, port: 9000, protocol: TCP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ls, namespace: ns}
spec:
  parentRef: {name: gw}
  listeners: [{name: udp, port: 5300, protocol: UDP}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: t, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: svc, port: 1}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata: {name: u, namespace: ns}
spec:
  parentRefs: [{kind: ListenerSet, name: ls}]
  rules: [{backendRefs: [{name: svc, port: 1}]}]
",
    );
    assert!(objects.errors.is_empty(), "{:?}", objects.errors);
    let t = translate_with(&objects, &StatusInputs::default());
    let shown = with_status(&objects, &t.status);
    let kinds: Vec<&str> = shown.iter().map(Object::kind).collect();
    assert_eq!(
        kinds,
        [
            "GatewayClass",
            "Gateway",
            "ListenerSet",
            "TCPRoute",
            "UDPRoute"
        ]
    );
    let yaml = serde_saphyr::to_string(&shown).expect("serializable");
    for o in &shown {
        let has_status = match o {
            Object::ListenerSet(l) => l.status.is_some(),
            Object::TcpRoute(r) => r.status.as_ref().is_some_and(|s| s.parents.len() == 1),
            Object::UdpRoute(r) => r.status.as_ref().is_some_and(|s| {
                s.parents.len() == 1
                    && s.parents[0].parent_ref.kind.as_deref() == Some("ListenerSet")
            }),
            _ => true,
        };
        assert!(has_status, "{} lacks its status in {yaml}", o.kind());
    }
    assert!(yaml.contains("attachedListenerSets: 1"), "{yaml}");
}

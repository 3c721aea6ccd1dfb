//! Objects as `kubectl get -o yaml` would show them: with their status.

use crate::objects::{Object, ObjectKey, Objects};
use crate::refs::reshape;
use crate::status::{ObjectStatus, Status};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// Every Gateway API object (GatewayClasses, Gateways, ListenerSets, then
/// routes by kind, each in key order) with the status from `statuses` (or
/// none, when the object is not ours). A missing `metadata.generation` is
/// shown as 1, the value the statuses' observedGeneration assumed, as the
/// API server would set it.
pub fn with_status(objects: &Objects, statuses: &[ObjectStatus]) -> Vec<Object> {
    let find = |kind: &str, key: &ObjectKey| {
        statuses
            .iter()
            .find(|s| s.is_for(kind, key))
            .map(|s| &s.status)
    };
    let mut out = Vec::new();
    for (key, o) in &objects.gateway_classes {
        let mut o = o.clone();
        o.metadata.generation.get_or_insert(1);
        o.status = match find("GatewayClass", key) {
            Some(Status::GatewayClass(s)) => Some(s.clone()),
            _ => None,
        };
        out.push(Object::GatewayClass(Box::new(o)));
    }
    for (key, o) in &objects.gateways {
        let mut o = o.clone();
        o.metadata.generation.get_or_insert(1);
        o.status = match find("Gateway", key) {
            Some(Status::Gateway(s)) => Some(s.clone()),
            _ => None,
        };
        out.push(Object::Gateway(Box::new(o)));
    }
    for (key, o) in &objects.listener_sets {
        let mut o = o.clone();
        o.metadata.generation.get_or_insert(1);
        o.status = match find("ListenerSet", key) {
            Some(Status::ListenerSet(s)) => Some(s.clone()),
            _ => None,
        };
        out.push(Object::ListenerSet(Box::new(o)));
    }
    let route = |kind: &str, key: &ObjectKey| match find(kind, key) {
        Some(Status::HttpRoute(s)) => Some(s.clone()),
        _ => None,
    };
    routes(
        &mut out,
        &objects.http_routes,
        |k| route("HTTPRoute", k),
        |mut o, s| {
            o.status = s;
            Object::HttpRoute(Box::new(o))
        },
    );
    routes(
        &mut out,
        &objects.grpc_routes,
        |k| route("GRPCRoute", k),
        |mut o, s| {
            o.status = s.as_ref().and_then(reshape);
            Object::GrpcRoute(Box::new(o))
        },
    );
    routes(
        &mut out,
        &objects.tls_routes,
        |k| route("TLSRoute", k),
        |mut o, s| {
            o.status = s.as_ref().and_then(reshape);
            Object::TlsRoute(Box::new(o))
        },
    );
    routes(
        &mut out,
        &objects.tcp_routes,
        |k| route("TCPRoute", k),
        |mut o, s| {
            o.status = s.as_ref().and_then(reshape);
            Object::TcpRoute(Box::new(o))
        },
    );
    routes(
        &mut out,
        &objects.udp_routes,
        |k| route("UDPRoute", k),
        |mut o, s| {
            o.status = s.as_ref().and_then(reshape);
            Object::UdpRoute(Box::new(o))
        },
    );
    out
}

/// Objects that carry `metadata`.
trait Meta {
    fn meta(&mut self) -> &mut ObjectMeta;
}

macro_rules! meta {
    ($($t:ty),*) => {$(
        impl Meta for $t {
            fn meta(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    )*};
}

meta!(
    gateway_api::httproutes::HttpRoute,
    gateway_api::grpcroutes::GrpcRoute,
    gateway_api::tlsroutes::TlsRoute,
    gateway_api::experimental::tcproutes::TcpRoute,
    gateway_api::experimental::udproutes::UdpRoute
);

/// Routes of one kind with our status stanza (or none when not ours).
fn routes<R: Clone + Meta, S: Serialize + DeserializeOwned>(
    out: &mut Vec<Object>,
    map: &BTreeMap<ObjectKey, R>,
    status: impl Fn(&ObjectKey) -> Option<S>,
    build: impl Fn(R, Option<S>) -> Object,
) {
    for (key, o) in map {
        let mut o = o.clone();
        o.meta().generation.get_or_insert(1);
        out.push(build(o, status(key)));
    }
}

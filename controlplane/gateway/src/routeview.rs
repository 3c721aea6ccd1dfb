//! Every route kind seen through one shape: what attachment, backends and
//! status need, whatever the kind.

use crate::gatewayclass::CONTROLLER_NAME;
use crate::kinds::RouteKind;
use crate::objects::{ObjectKey, Objects};
use crate::refs::{BackendRef, ParentRef, reshape};
use gateway_api::httproutes::HttpRouteStatusParents;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    parent_refs: Option<Vec<ParentRef>>,
    #[serde(default)]
    hostnames: Option<Vec<String>>,
    #[serde(default)]
    rules: Option<Vec<Rule>>,
}

/// The part of a rule every kind shares.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub backend_refs: Option<Vec<BackendRef>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Status {
    #[serde(default)]
    parents: Vec<HttpRouteStatusParents>,
}

/// One route of any kind.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteView {
    pub kind: RouteKind,
    pub key: ObjectKey,
    pub generation: i64,
    pub created: Option<Time>,
    pub hostnames: Vec<String>,
    pub parent_refs: Vec<ParentRef>,
    pub rules: Vec<Rule>,
    /// `status.parents` entries written by other controllers, as loaded:
    /// they are kept, ours are rewritten.
    pub others: Vec<HttpRouteStatusParents>,
}

fn view<S: Serialize, T: Serialize>(
    kind: RouteKind,
    key: &ObjectKey,
    meta: &ObjectMeta,
    spec: &S,
    status: Option<&T>,
) -> RouteView {
    let spec: Spec = reshape(spec).unwrap_or_default();
    let status: Status = status.and_then(reshape).unwrap_or_default();
    RouteView {
        kind,
        key: key.clone(),
        generation: meta.generation.unwrap_or(1),
        created: meta.creation_timestamp.clone(),
        hostnames: spec.hostnames.unwrap_or_default(),
        parent_refs: spec.parent_refs.unwrap_or_default(),
        rules: spec.rules.unwrap_or_default(),
        others: status
            .parents
            .into_iter()
            .filter(|p| p.controller_name != CONTROLLER_NAME)
            .collect(),
    }
}

fn views<R, S: Serialize, T: Serialize>(
    out: &mut Vec<RouteView>,
    kind: RouteKind,
    map: &BTreeMap<ObjectKey, R>,
    parts: impl Fn(&R) -> (&ObjectMeta, &S, Option<&T>),
) {
    for (key, r) in map {
        let (meta, spec, status) = parts(r);
        out.push(view(kind, key, meta, spec, status));
    }
}

/// Every route, HTTPRoutes first, then GRPC, TLS, TCP and UDP routes, each
/// kind in key order.
pub fn collect(objects: &Objects) -> Vec<RouteView> {
    let mut out = Vec::new();
    views(&mut out, RouteKind::Http, &objects.http_routes, |r| {
        (&r.metadata, &r.spec, r.status.as_ref())
    });
    views(&mut out, RouteKind::Grpc, &objects.grpc_routes, |r| {
        (&r.metadata, &r.spec, r.status.as_ref())
    });
    views(&mut out, RouteKind::Tls, &objects.tls_routes, |r| {
        (&r.metadata, &r.spec, r.status.as_ref())
    });
    views(&mut out, RouteKind::Tcp, &objects.tcp_routes, |r| {
        (&r.metadata, &r.spec, r.status.as_ref())
    });
    views(&mut out, RouteKind::Udp, &objects.udp_routes, |r| {
        (&r.metadata, &r.spec, r.status.as_ref())
    });
    out
}

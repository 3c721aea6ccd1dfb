//! Objects as `kubectl get -o yaml` would show them: with their status.

use crate::objects::{Object, Objects};
use crate::status::{ObjectStatus, Status};

/// Every Gateway API object (GatewayClasses, Gateways, HTTPRoutes, in key
/// order) with the status from `statuses` (or none, when the object is not
/// ours). A missing `metadata.generation` is shown as 1, the value the
/// statuses' observedGeneration assumed, as the API server would set it.
pub fn with_status(objects: &Objects, statuses: &[ObjectStatus]) -> Vec<Object> {
    let find = |kind: &str, key| {
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
    for (key, o) in &objects.http_routes {
        let mut o = o.clone();
        o.metadata.generation.get_or_insert(1);
        o.status = match find("HTTPRoute", key) {
            Some(Status::HttpRoute(s)) => Some(s.clone()),
            _ => None,
        };
        out.push(Object::HttpRoute(Box::new(o)));
    }
    out
}

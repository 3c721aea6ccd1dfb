//! HTTPRoute parentRefs → listeners of our Gateways, with the reasons the
//! spec gives when a route cannot attach.

use crate::hostnames::{self, Host};
use crate::listeners::{GATEWAY_GROUP, GatewayInfo};
use crate::objects::{ObjectKey, Objects};
use gateway_api::httproutes::{HttpRoute, HttpRouteStatusParentsParentRef};
use std::collections::BTreeMap;

/// The route attached to one listener, serving these effective hostnames.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub listener: usize,
    pub hosts: Vec<Host>,
}

/// The outcome of one parentRef that names one of our Gateways.
#[derive(Debug, Clone, PartialEq)]
pub struct ParentOutcome {
    /// The parentRef with group, kind and namespace defaulted.
    pub parent_ref: HttpRouteStatusParentsParentRef,
    pub gateway: ObjectKey,
    pub attached: Vec<Attachment>,
    /// `Err((reason, message))` for the Accepted condition.
    pub accepted: Result<(), (&'static str, String)>,
}

/// Attach one route to the listeners its parentRefs select. ParentRefs to
/// Gateways that are not ours (or do not exist) produce no outcome: their
/// status belongs to another controller.
pub fn attach(
    objects: &Objects,
    gateways: &BTreeMap<ObjectKey, GatewayInfo>,
    route_key: &ObjectKey,
    route: &HttpRoute,
) -> Vec<ParentOutcome> {
    let route_hosts = route.spec.hostnames.clone().unwrap_or_default();
    let mut out: Vec<ParentOutcome> = Vec::new();
    for p in route.spec.parent_refs.iter().flatten() {
        let group = p.group.as_deref().unwrap_or(GATEWAY_GROUP);
        let kind = p.kind.as_deref().unwrap_or("Gateway");
        if group != GATEWAY_GROUP || kind != "Gateway" {
            continue;
        }
        let ns = p.namespace.as_deref().unwrap_or(&route_key.namespace);
        let gw_key = ObjectKey::new(ns, p.name.clone());
        let Some(gw) = gateways.get(&gw_key) else {
            continue;
        };
        // Group, kind and namespace are always filled in, so that readers
        // (the conformance suite among them) need not apply defaults.
        let parent_ref = HttpRouteStatusParentsParentRef {
            group: Some(group.to_owned()),
            kind: Some(kind.to_owned()),
            name: p.name.clone(),
            namespace: Some(ns.to_owned()),
            port: p.port,
            section_name: p.section_name.clone(),
        };
        if out.iter().any(|o| o.parent_ref == parent_ref) {
            continue;
        }
        let (attached, accepted) = attach_one(
            objects,
            gw,
            &route_key.namespace,
            &route_hosts,
            p.section_name.as_deref(),
            p.port,
        );
        out.push(ParentOutcome {
            parent_ref,
            gateway: gw_key,
            attached,
            accepted,
        });
    }
    out
}

type Accepted = Result<(), (&'static str, String)>;

fn attach_one(
    objects: &Objects,
    gw: &GatewayInfo,
    route_ns: &str,
    route_hosts: &[String],
    section: Option<&str>,
    port: Option<i32>,
) -> (Vec<Attachment>, Accepted) {
    let candidates: Vec<usize> = gw
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| section.is_none_or(|s| l.name == s))
        .filter(|(_, l)| port.is_none_or(|p| i32::from(l.port) == p))
        .map(|(i, _)| i)
        .collect();
    if candidates.is_empty() {
        let what = match (section, port) {
            (Some(s), Some(p)) => format!("no listener named {s} on port {p}"),
            (Some(s), None) => format!("no listener named {s}"),
            (None, Some(p)) => format!("no listener on port {p}"),
            (None, None) => "the Gateway has no listeners".to_owned(),
        };
        return (
            Vec::new(),
            Err(("NoMatchingParent", format!("Gateway {}: {what}", gw.key))),
        );
    }
    if candidates.iter().all(|&i| !gw.listeners[i].usable()) {
        let names: Vec<&str> = candidates
            .iter()
            .map(|&i| gw.listeners[i].name.as_str())
            .collect();
        return (
            Vec::new(),
            Err((
                "NotAllowedByListeners",
                format!(
                    "listener {} of Gateway {} is not valid",
                    names.join(", "),
                    gw.key
                ),
            )),
        );
    }
    let allowed: Vec<usize> = candidates
        .into_iter()
        .filter(|&i| {
            let l = &gw.listeners[i];
            l.usable() && l.allows(objects, &gw.key.namespace, route_ns)
        })
        .collect();
    if allowed.is_empty() {
        return (
            Vec::new(),
            Err((
                "NotAllowedByListeners",
                format!(
                    "no valid listener of Gateway {} allows HTTPRoutes from namespace {route_ns}",
                    gw.key
                ),
            )),
        );
    }
    let attached: Vec<Attachment> = allowed
        .into_iter()
        .filter_map(|i| {
            let hosts = hostnames::effective(&gw.listeners[i].host, route_hosts);
            (!hosts.is_empty()).then_some(Attachment { listener: i, hosts })
        })
        .collect();
    if attached.is_empty() {
        return (
            attached,
            Err((
                "NoMatchingListenerHostname",
                format!(
                    "no listener of Gateway {} has a hostname matching the route's hostnames",
                    gw.key
                ),
            )),
        );
    }
    (attached, Ok(()))
}

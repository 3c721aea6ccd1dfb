//! Route parentRefs → listeners of our Gateways and ListenerSets, with the
//! reasons the spec gives when a route cannot attach.
//!
//! Attachment depends only on the parentRef and the listener's
//! allowedRoutes (namespaces and kinds) and hostname, never on the
//! listener's own conditions: a route attached to a conflicted listener,
//! or to one whose certificate does not resolve, is Accepted and counted in
//! its attachedRoutes, and is not served while that listener is not
//! Programmed. (A listener that is not Accepted at all supports no kinds,
//! so nothing attaches to it.)

use crate::gateways::{GatewayInfo, ListenerSetInfo};
use crate::hostnames::{self, Host};
use crate::listeners::{Owner, Problem};
use crate::objects::{ObjectKey, Objects};
use crate::refs::{GATEWAY_GROUP, ParentRef};
use crate::routeview::RouteView;
use gateway_api::httproutes::HttpRouteStatusParentsParentRef;
use std::collections::BTreeMap;

/// The route attached to one listener, serving these effective hostnames.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// Index into the Gateway's merged listener list.
    pub listener: usize,
    pub hosts: Vec<Host>,
}

/// The outcome of one parentRef that names one of our Gateways or
/// ListenerSets.
#[derive(Debug, Clone, PartialEq)]
pub struct ParentOutcome {
    /// The parentRef with group, kind and namespace filled in.
    pub parent_ref: HttpRouteStatusParentsParentRef,
    /// The Gateway whose listeners the route attaches to.
    pub gateway: ObjectKey,
    pub attached: Vec<Attachment>,
    /// `Err((reason, message))` for the Accepted condition.
    pub accepted: Result<(), Problem>,
}

/// Attach one route. ParentRefs to objects that are not ours (or do not
/// exist) produce no outcome: their status belongs to another controller.
pub fn attach(
    objects: &Objects,
    gateways: &BTreeMap<ObjectKey, GatewayInfo>,
    sets: &[ListenerSetInfo],
    route: &RouteView,
) -> Vec<ParentOutcome> {
    let mut out: Vec<ParentOutcome> = Vec::new();
    for p in &route.parent_refs {
        let group = p.group.as_deref().unwrap_or(GATEWAY_GROUP);
        let kind = p.kind.as_deref().unwrap_or("Gateway");
        if group != GATEWAY_GROUP {
            continue;
        }
        let ns = p.namespace.as_deref().unwrap_or(&route.key.namespace);
        let key = ObjectKey::new(ns, p.name.clone());
        let (gw, owner, refused) = match kind {
            "Gateway" => match gateways.get(&key) {
                Some(gw) => (gw, Owner::Gateway, None),
                None => continue,
            },
            "ListenerSet" => {
                let Some(ls) = sets.iter().find(|s| s.key == key) else {
                    continue;
                };
                let Some(gw) = gateways.get(&ls.gateway) else {
                    continue;
                };
                let refused = ls.allowed.as_ref().err().map(|_| {
                    (
                        "NotAllowedByListeners",
                        format!(
                            "ListenerSet {key} is not allowed by its Gateway {}",
                            ls.gateway
                        ),
                    )
                });
                (gw, Owner::ListenerSet(key.clone()), refused)
            }
            _ => continue,
        };
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
        let (attached, accepted) = match refused {
            Some(e) => (Vec::new(), Err(e)),
            None => attach_one(objects, gw, &owner, &key, route, p),
        };
        out.push(ParentOutcome {
            parent_ref,
            gateway: gw.key.clone(),
            attached,
            accepted,
        });
    }
    out
}

fn attach_one(
    objects: &Objects,
    gw: &GatewayInfo,
    owner: &Owner,
    parent: &ObjectKey,
    route: &RouteView,
    p: &ParentRef,
) -> (Vec<Attachment>, Result<(), Problem>) {
    let section = p.section_name.as_deref();
    let what = match owner {
        Owner::Gateway => format!("Gateway {parent}"),
        Owner::ListenerSet(_) => format!("ListenerSet {parent}"),
    };
    let candidates: Vec<usize> = gw
        .owned_by(owner)
        .filter(|&i| section.is_none_or(|s| gw.listeners[i].name == s))
        .filter(|&i| {
            p.port
                .is_none_or(|port| i32::from(gw.listeners[i].port) == port)
        })
        .collect();
    if candidates.is_empty() {
        let missing = match (section, p.port) {
            (Some(s), Some(port)) => format!("no listener named {s} on port {port}"),
            (Some(s), None) => format!("no listener named {s}"),
            (None, Some(port)) => format!("no listener on port {port}"),
            (None, None) => "no listeners".to_owned(),
        };
        return (
            Vec::new(),
            Err(("NoMatchingParent", format!("{what} has {missing}"))),
        );
    }
    let allowed: Vec<usize> = candidates
        .into_iter()
        .filter(|&i| gw.listeners[i].allows(objects, route.kind, &route.key.namespace))
        .collect();
    if allowed.is_empty() {
        return (
            Vec::new(),
            Err((
                "NotAllowedByListeners",
                format!(
                    "no listener of {what} allows {}s from namespace {}",
                    route.kind, route.key.namespace
                ),
            )),
        );
    }
    let route_hosts: &[String] = if route.kind.has_hostnames() {
        &route.hostnames
    } else {
        &[]
    };
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
                format!("no listener of {what} has a hostname matching the route's hostnames"),
            )),
        );
    }
    (attached, Ok(()))
}

//! Gateway listeners: which ones this data plane can serve, what routes
//! they allow, and conflicts between listeners of one Gateway.

use crate::hostnames::Host;
use crate::objects::{ObjectKey, Objects};
use gateway_api::gateways::{
    Gateway, GatewayListeners, GatewayListenersAllowedRoutesNamespacesFrom,
    GatewayListenersAllowedRoutesNamespacesSelector,
};
use std::collections::BTreeMap;

pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// The one route kind this slice serves.
pub const HTTP_ROUTE: &str = "HTTPRoute";

/// Which namespaces a listener takes routes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AllowedNamespaces {
    Same,
    All,
    Selector(GatewayListenersAllowedRoutesNamespacesSelector),
}

/// One listener of one of our Gateways, analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerInfo {
    pub name: String,
    pub port: u16,
    pub host: Host,
    /// `Err((reason, message))` for the Accepted condition: the listener is
    /// not served.
    pub accepted: Result<(), (&'static str, String)>,
    /// `Some((reason, message))` when it conflicts with a sibling.
    pub conflict: Option<(&'static str, String)>,
    /// Route kinds this listener supports, as (group, kind).
    pub supported_kinds: Vec<(String, String)>,
    /// Route kinds it was asked for but cannot support.
    pub invalid_kinds: Vec<String>,
    pub allowed: AllowedNamespaces,
}

impl ListenerInfo {
    /// Does this listener carry traffic?
    pub fn usable(&self) -> bool {
        self.accepted.is_ok() && self.conflict.is_none()
    }

    /// Does it accept HTTPRoutes from `route_ns` (the Gateway lives in
    /// `gateway_ns`)?
    pub fn allows(&self, objects: &Objects, gateway_ns: &str, route_ns: &str) -> bool {
        if !self
            .supported_kinds
            .iter()
            .any(|(g, k)| g == GATEWAY_GROUP && k == HTTP_ROUTE)
        {
            return false;
        }
        match &self.allowed {
            AllowedNamespaces::Same => gateway_ns == route_ns,
            AllowedNamespaces::All => true,
            AllowedNamespaces::Selector(sel) => selects(objects, sel, route_ns),
        }
    }
}

/// A Gateway of ours, analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayInfo {
    pub key: ObjectKey,
    pub generation: i64,
    pub listeners: Vec<ListenerInfo>,
}

pub fn analyse(key: &ObjectKey, gw: &Gateway) -> GatewayInfo {
    let mut listeners: Vec<ListenerInfo> = gw.spec.listeners.iter().map(listener).collect();
    mark_conflicts(&mut listeners, &gw.spec.listeners);
    GatewayInfo {
        key: key.clone(),
        generation: gw.metadata.generation.unwrap_or(1),
        listeners,
    }
}

fn listener(l: &GatewayListeners) -> ListenerInfo {
    let port = u16::try_from(l.port).ok().filter(|p| *p != 0);
    let host = Host::from_opt(l.hostname.as_deref());
    let accepted = match (l.protocol.as_str(), port) {
        ("HTTP", Some(_)) if !host.is_valid() => Err((
            "Invalid",
            format!(
                "hostname {:?} is not a valid hostname",
                l.hostname.as_deref().unwrap_or("")
            ),
        )),
        ("HTTP", Some(_)) => Ok(()),
        ("HTTP", None) => Err((
            "PortUnavailable",
            format!("port {} is not a valid TCP port", l.port),
        )),
        (other, _) => Err((
            "UnsupportedProtocol",
            format!("protocol {other} is not supported yet; only HTTP is"),
        )),
    };
    let allowed_routes = l.allowed_routes.as_ref();
    let mut supported_kinds = Vec::new();
    let mut invalid_kinds = Vec::new();
    match allowed_routes.and_then(|a| a.kinds.as_ref()) {
        None => supported_kinds.push((GATEWAY_GROUP.to_owned(), HTTP_ROUTE.to_owned())),
        Some(kinds) => {
            for k in kinds {
                let group = k.group.as_deref().unwrap_or(GATEWAY_GROUP);
                if group == GATEWAY_GROUP && k.kind == HTTP_ROUTE {
                    supported_kinds.push((group.to_owned(), k.kind.clone()));
                } else {
                    invalid_kinds.push(format!("{group}/{}", k.kind));
                }
            }
        }
    }
    if accepted.is_err() {
        supported_kinds.clear();
    }
    let namespaces = allowed_routes.and_then(|a| a.namespaces.as_ref());
    let allowed = match namespaces.and_then(|n| n.from.clone()) {
        None | Some(GatewayListenersAllowedRoutesNamespacesFrom::Same) => AllowedNamespaces::Same,
        Some(GatewayListenersAllowedRoutesNamespacesFrom::All) => AllowedNamespaces::All,
        Some(GatewayListenersAllowedRoutesNamespacesFrom::Selector) => AllowedNamespaces::Selector(
            namespaces
                .and_then(|n| n.selector.clone())
                .unwrap_or_default(),
        ),
    };
    ListenerInfo {
        name: l.name.clone(),
        port: port.unwrap_or(0),
        host,
        accepted,
        conflict: None,
        supported_kinds,
        invalid_kinds,
        allowed,
    }
}

/// Listeners of one Gateway on the same port conflict when their protocols
/// differ, or when they share protocol and hostname.
fn mark_conflicts(infos: &mut [ListenerInfo], specs: &[GatewayListeners]) {
    let mut by_port: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, l) in specs.iter().enumerate() {
        by_port.entry(l.port).or_default().push(i);
    }
    for idx in by_port.values() {
        for &i in idx {
            for &j in idx {
                if i == j || infos[i].conflict.is_some() {
                    continue;
                }
                if specs[i].protocol != specs[j].protocol {
                    infos[i].conflict = Some((
                        "ProtocolConflict",
                        format!(
                            "listener {} uses the same port with another protocol",
                            specs[j].name
                        ),
                    ));
                } else if infos[i].host == infos[j].host {
                    infos[i].conflict = Some((
                        "HostnameConflict",
                        format!("listener {} uses the same port and hostname", specs[j].name),
                    ));
                }
            }
        }
    }
}

/// Label selector over a namespace's labels. Kubernetes labels every
/// namespace with `kubernetes.io/metadata.name`; a namespace without an
/// object here carries only that label.
fn selects(
    objects: &Objects,
    sel: &GatewayListenersAllowedRoutesNamespacesSelector,
    ns: &str,
) -> bool {
    let mut labels: BTreeMap<String, String> = objects
        .namespaces
        .get(&ObjectKey::new("", ns))
        .and_then(|n| n.metadata.labels.clone())
        .unwrap_or_default();
    labels.insert("kubernetes.io/metadata.name".to_owned(), ns.to_owned());
    let labels_ok = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = sel.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let value = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

//! Our Gateways with their listeners, their own and those contributed by
//! the ListenerSets they allow (`spec.allowedListeners`).

use crate::conflicts;
use crate::gatewayclass;
use crate::grants::From;
use crate::listeners::{self, AllowedNamespaces, ListenerInfo, ListenerSpec, Owner, Problem};
use crate::objects::{ObjectKey, Objects};
use crate::refs::{GATEWAY_GROUP, LabelSelector, reshape};
use gateway_api::gateways::{Gateway, GatewayAddresses};
use gateway_api::listenersets::ListenerSet;
use std::collections::BTreeMap;

/// A Gateway of ours, analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayInfo {
    pub key: ObjectKey,
    pub generation: i64,
    /// The Gateway's listeners, then those of its attached ListenerSets, in
    /// precedence order.
    pub listeners: Vec<ListenerInfo>,
    /// Attached ListenerSets, in precedence order.
    pub listener_sets: Vec<ObjectKey>,
    pub addresses: Vec<GatewayAddresses>,
    /// `spec.infrastructure.parametersRef`, as `group/kind/name`: no
    /// parameters kind is supported, so any reference is invalid.
    pub parameters_ref: Option<String>,
}

impl GatewayInfo {
    /// Indexes (into `listeners`) of the listeners declared by `owner`.
    pub fn owned_by<'a>(&'a self, owner: &'a Owner) -> impl Iterator<Item = usize> + 'a {
        self.listeners
            .iter()
            .enumerate()
            .filter(move |(_, l)| &l.owner == owner)
            .map(|(i, _)| i)
    }
}

/// A ListenerSet whose parent is one of our Gateways.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerSetInfo {
    pub key: ObjectKey,
    pub generation: i64,
    pub gateway: ObjectKey,
    /// `Err((NotAllowed, …))` when the Gateway does not take it.
    pub allowed: Result<(), Problem>,
}

/// Every Gateway of our classes, and every ListenerSet that names one.
pub fn analyse(objects: &Objects) -> (BTreeMap<ObjectKey, GatewayInfo>, Vec<ListenerSetInfo>) {
    let classes = gatewayclass::ours(objects);
    let mut gateways = BTreeMap::new();
    for key in gatewayclass::our_gateways(objects, &classes) {
        let Some(gw) = objects.gateways.get(&key) else {
            continue;
        };
        gateways.insert(key.clone(), own_listeners(objects, &key, gw));
    }
    let mut sets = listener_sets(objects, &gateways);
    // Precedence: oldest first, then namespace/name.
    sets.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.key.cmp(&b.1.key)));
    let mut infos = Vec::new();
    for (_, info, ls) in sets {
        if let (Ok(()), Some(gw)) = (&info.allowed, gateways.get_mut(&info.gateway)) {
            let from = From {
                group: GATEWAY_GROUP,
                kind: "ListenerSet",
                namespace: &info.key.namespace,
            };
            for spec in ls
                .spec
                .listeners
                .iter()
                .filter_map(reshape::<_, ListenerSpec>)
            {
                gw.listeners.push(listeners::analyse(
                    objects,
                    from,
                    Owner::ListenerSet(info.key.clone()),
                    &spec,
                ));
            }
            gw.listener_sets.push(info.key.clone());
        }
        infos.push(info);
    }
    for gw in gateways.values_mut() {
        conflicts::mark(&mut gw.listeners);
        // A ListenerSet counts as attached while one of its listeners is
        // valid; one whose every listener lost is not.
        let listeners = &gw.listeners;
        gw.listener_sets.retain(|k| {
            listeners
                .iter()
                .any(|l| l.valid() && l.owner == Owner::ListenerSet(k.clone()))
        });
    }
    infos.sort_by(|a, b| a.key.cmp(&b.key));
    (gateways, infos)
}

fn own_listeners(objects: &Objects, key: &ObjectKey, gw: &Gateway) -> GatewayInfo {
    let from = From {
        group: GATEWAY_GROUP,
        kind: "Gateway",
        namespace: &key.namespace,
    };
    let listeners = gw
        .spec
        .listeners
        .iter()
        .filter_map(reshape::<_, ListenerSpec>)
        .map(|spec| listeners::analyse(objects, from, Owner::Gateway, &spec))
        .collect();
    GatewayInfo {
        key: key.clone(),
        generation: gw.metadata.generation.unwrap_or(1),
        listeners,
        listener_sets: Vec::new(),
        addresses: gw.spec.addresses.clone().unwrap_or_default(),
        parameters_ref: gw
            .spec
            .infrastructure
            .as_ref()
            .and_then(|i| i.parameters_ref.as_ref())
            .map(|p| format!("{}/{}/{}", p.group, p.kind, p.name)),
    }
}

type Candidate<'a> = (
    Option<k8s_openapi::jiff::Timestamp>,
    ListenerSetInfo,
    &'a ListenerSet,
);

/// ListenerSets whose parentRef names one of our Gateways, with whether
/// the Gateway allows them.
fn listener_sets<'a>(
    objects: &'a Objects,
    gateways: &BTreeMap<ObjectKey, GatewayInfo>,
) -> Vec<Candidate<'a>> {
    let mut out = Vec::new();
    for (key, ls) in &objects.listener_sets {
        let p = &ls.spec.parent_ref;
        let group = p.group.as_deref().unwrap_or(GATEWAY_GROUP);
        let kind = p.kind.as_deref().unwrap_or("Gateway");
        if group != GATEWAY_GROUP || kind != "Gateway" {
            continue;
        }
        let gw_key = ObjectKey::new(
            p.namespace.as_deref().unwrap_or(&key.namespace),
            p.name.clone(),
        );
        if !gateways.contains_key(&gw_key) {
            continue;
        }
        let allowed = match objects.gateways.get(&gw_key) {
            Some(gw) if allows_set(objects, gw, &gw_key.namespace, &key.namespace) => Ok(()),
            _ => Err((
                "NotAllowed",
                format!(
                    "Gateway {gw_key} does not allow ListenerSets from namespace {} (spec.allowedListeners)",
                    key.namespace
                ),
            )),
        };
        let info = ListenerSetInfo {
            key: key.clone(),
            generation: ls.metadata.generation.unwrap_or(1),
            gateway: gw_key,
            allowed,
        };
        let created = ls.metadata.creation_timestamp.as_ref().map(|t| t.0);
        out.push((created, info, ls));
    }
    out
}

fn allows_set(objects: &Objects, gw: &Gateway, gw_ns: &str, ls_ns: &str) -> bool {
    let ns = gw
        .spec
        .allowed_listeners
        .as_ref()
        .and_then(|a| a.namespaces.as_ref());
    let from = ns.and_then(|n| n.from.as_ref()).and_then(|f| {
        serde_json::to_value(f)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    });
    let selector: Option<LabelSelector> = ns.and_then(|n| n.selector.as_ref()).and_then(reshape);
    let allowed =
        AllowedNamespaces::parse(from.as_deref(), selector.as_ref(), AllowedNamespaces::None);
    allowed.allows(objects, gw_ns, ls_ns)
}

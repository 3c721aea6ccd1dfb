//! Gateway and ListenerSet status: listener conditions, supported kinds,
//! attached routes and ListenerSets, addresses.

use super::{Cond, ObjectStatus, Status, StatusInputs, carry, previous};
use crate::addresses;
use crate::gateways::{GatewayInfo, ListenerSetInfo};
use crate::listeners::{ListenerInfo, Owner};
use crate::refs::GATEWAY_GROUP;
use gateway_api::gateways::{
    GatewayStatus, GatewayStatusListeners, GatewayStatusListenersSupportedKinds,
};
use gateway_api::listenersets::{
    ListenerSetStatus, ListenerSetStatusListeners, ListenerSetStatusListenersSupportedKinds,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

/// Conditions and supported kinds of one listener, whoever declares it.
/// A listener's conditions (keeping the lastTransitionTime of those that
/// did not change since `previous`) and supported kinds as (group, kind).
fn listener_conditions(
    c: &Cond<'_>,
    l: &ListenerInfo,
    inputs: &StatusInputs,
    previous: Option<&[Condition]>,
) -> (Vec<Condition>, Vec<(String, String)>) {
    let mut conds = Vec::new();
    conds.push(match (&l.conflict, &l.accepted) {
        (Some((reason, msg)), _) => c.make("Accepted", false, reason, msg.clone()),
        (None, Err((reason, msg))) => c.make("Accepted", false, reason, msg.clone()),
        (None, Ok(())) => c.make("Accepted", true, "Accepted", "listener accepted"),
    });
    conds.push(match (&l.conflict, &l.accepted, &l.refs) {
        (Some((reason, msg)), _, _) => c.make("Programmed", false, reason, msg.clone()),
        (None, Err(_), _) => c.make("Programmed", false, "Invalid", "listener is not valid"),
        (None, Ok(()), Err(_)) => c.make(
            "Programmed",
            false,
            "Invalid",
            "listener references do not resolve",
        ),
        _ if !l.protocol.served() => c.make(
            "Programmed",
            false,
            "UnsupportedProtocol",
            format!(
                "the data plane does not serve {} listeners yet; only HTTP and HTTPS are served",
                l.protocol
            ),
        ),
        _ if inputs.programmed => c.make(
            "Programmed",
            true,
            "Programmed",
            "listener programmed in the data plane",
        ),
        _ => c.make(
            "Programmed",
            false,
            "Pending",
            "waiting for the data plane to adopt the configuration",
        ),
    });
    conds.push(match &l.refs {
        Err((reason, msg)) => c.make("ResolvedRefs", false, reason, msg.clone()),
        Ok(_) if !l.invalid_kinds.is_empty() => c.make(
            "ResolvedRefs",
            false,
            "InvalidRouteKinds",
            format!(
                "route kinds not supported on this listener: {}",
                l.invalid_kinds.join(", ")
            ),
        ),
        Ok(_) => c.make(
            "ResolvedRefs",
            true,
            "ResolvedRefs",
            "all references resolved",
        ),
    });
    conds.push(match &l.conflict {
        None => c.make("Conflicted", false, "NoConflicts", "no conflicts"),
        Some((reason, msg)) => c.make("Conflicted", true, reason, msg.clone()),
    });
    let kinds = l
        .supported_kinds
        .iter()
        .map(|k| (GATEWAY_GROUP.to_owned(), k.name().to_owned()))
        .collect();
    carry(previous, &mut conds);
    (conds, kinds)
}

/// `attached[i]` is the number of routes attached to listener `i` of
/// `gw.listeners`.
pub(crate) fn gateway(gw: &GatewayInfo, attached: &[i32], inputs: &StatusInputs) -> ObjectStatus {
    let c = Cond {
        generation: gw.generation,
        now: &inputs.now,
    };
    let prev = match previous(inputs, "Gateway", &gw.key) {
        Some(Status::Gateway(p)) => Some(p),
        _ => None,
    };
    let mut listeners = Vec::new();
    for i in gw.owned_by(&Owner::Gateway) {
        let l = &gw.listeners[i];
        let before = prev
            .and_then(|p| p.listeners.as_ref())
            .and_then(|ls| ls.iter().find(|x| x.name == l.name));
        let (conds, kinds) =
            listener_conditions(&c, l, inputs, before.map(|p| p.conditions.as_slice()));
        listeners.push(GatewayStatusListeners {
            attached_routes: attached.get(i).copied().unwrap_or(0),
            conditions: conds,
            name: l.name.clone(),
            supported_kinds: Some(
                kinds
                    .into_iter()
                    .map(|(g, k)| GatewayStatusListenersSupportedKinds {
                        group: Some(g),
                        kind: k,
                    })
                    .collect(),
            ),
        });
    }
    let own: Vec<&ListenerInfo> = gw
        .owned_by(&Owner::Gateway)
        .map(|i| &gw.listeners[i])
        .collect();
    let valid = own.iter().filter(|l| l.valid()).count();
    let served = own.iter().filter(|l| l.served()).count();
    let all = own.len();
    let addresses = addresses::check(&gw.addresses, inputs.gateway_address.as_deref());
    let accepted = if let Some(p) = &gw.parameters_ref {
        c.make(
            "Accepted",
            false,
            "InvalidParameters",
            format!("infrastructure.parametersRef {p}: no parameters kind is supported"),
        )
    } else if let Err((reason, msg)) = &addresses.accepted {
        c.make("Accepted", false, reason, msg.clone())
    } else if valid == all {
        c.make("Accepted", true, "Accepted", "gateway accepted")
    } else {
        let invalid: Vec<&str> = own
            .iter()
            .filter(|l| !l.valid())
            .map(|l| l.name.as_str())
            .collect();
        c.make(
            "Accepted",
            valid > 0,
            "ListenersNotValid",
            format!(
                "{} of {all} listeners are not valid: {}",
                all - valid,
                invalid.join(", ")
            ),
        )
    };
    let programmed = if accepted.status == "False" && valid > 0 {
        c.make(
            "Programmed",
            false,
            "Invalid",
            format!("the Gateway is not accepted: {}", accepted.message),
        )
    } else if valid == 0 {
        c.make("Programmed", false, "Invalid", "no valid listener")
    } else if served == 0 {
        c.make(
            "Programmed",
            false,
            "Invalid",
            "no valid listener uses a protocol the data plane serves (HTTP)",
        )
    } else if let Err((reason, msg)) = &addresses.usable {
        c.make("Programmed", false, reason, msg.clone())
    } else if inputs.programmed {
        c.make(
            "Programmed",
            true,
            "Programmed",
            "programmed in the data plane",
        )
    } else {
        c.make(
            "Programmed",
            false,
            "Pending",
            "waiting for the data plane to adopt the configuration",
        )
    };
    let mut conditions = vec![accepted, programmed];
    carry(prev.and_then(|p| p.conditions.as_deref()), &mut conditions);
    ObjectStatus::new(
        "Gateway",
        &gw.key,
        Status::Gateway(GatewayStatus {
            addresses: (!addresses.status.is_empty()).then_some(addresses.status),
            attached_listener_sets: Some(i32::try_from(gw.listener_sets.len()).unwrap_or(i32::MAX)),
            conditions: Some(conditions),
            listeners: Some(listeners),
        }),
    )
}

/// The status of a ListenerSet whose parent is one of our Gateways.
pub(crate) fn listener_set(
    ls: &ListenerSetInfo,
    gw: Option<&GatewayInfo>,
    attached: &[i32],
    inputs: &StatusInputs,
) -> ObjectStatus {
    let c = Cond {
        generation: ls.generation,
        now: &inputs.now,
    };
    let prev = match previous(inputs, "ListenerSet", &ls.key) {
        Some(Status::ListenerSet(p)) => Some(p),
        _ => None,
    };
    let owner = Owner::ListenerSet(ls.key.clone());
    let mut listeners = Vec::new();
    let mut valid = 0;
    let mut served = 0;
    let mut all = 0;
    if let (Ok(()), Some(gw)) = (&ls.allowed, gw) {
        for i in gw.owned_by(&owner) {
            let l = &gw.listeners[i];
            all += 1;
            valid += usize::from(l.valid());
            served += usize::from(l.served());
            let before = prev
                .and_then(|p| p.listeners.as_ref())
                .and_then(|ps| ps.iter().find(|x| x.name == l.name));
            let (conds, kinds) =
                listener_conditions(&c, l, inputs, before.map(|p| p.conditions.as_slice()));
            listeners.push(ListenerSetStatusListeners {
                attached_routes: attached.get(i).copied().unwrap_or(0),
                conditions: conds,
                name: l.name.clone(),
                supported_kinds: Some(
                    kinds
                        .into_iter()
                        .map(|(g, k)| ListenerSetStatusListenersSupportedKinds {
                            group: Some(g),
                            kind: k,
                        })
                        .collect(),
                ),
            });
        }
    }
    let mut conditions = match &ls.allowed {
        Err((reason, msg)) => vec![
            c.make("Accepted", false, reason, msg.clone()),
            c.make("Programmed", false, reason, msg.clone()),
        ],
        Ok(()) if valid == 0 => {
            let msg = "no listener of the ListenerSet is valid";
            vec![
                c.make("Accepted", false, "ListenersNotValid", msg),
                c.make("Programmed", false, "ListenersNotValid", msg),
            ]
        }
        Ok(()) => {
            let accepted = if valid == all {
                c.make("Accepted", true, "Accepted", "ListenerSet accepted")
            } else {
                c.make(
                    "Accepted",
                    true,
                    "ListenersNotValid",
                    format!("{} of {all} listeners are not valid", all - valid),
                )
            };
            let programmed = if served == 0 {
                c.make(
                    "Programmed",
                    false,
                    "Invalid",
                    "no valid listener uses a protocol the data plane serves (HTTP)",
                )
            } else if inputs.programmed {
                c.make(
                    "Programmed",
                    true,
                    "Programmed",
                    "programmed in the data plane",
                )
            } else {
                c.make(
                    "Programmed",
                    false,
                    "Pending",
                    "waiting for the data plane to adopt the configuration",
                )
            };
            vec![accepted, programmed]
        }
    };
    carry(prev.and_then(|p| p.conditions.as_deref()), &mut conditions);
    ObjectStatus::new(
        "ListenerSet",
        &ls.key,
        Status::ListenerSet(ListenerSetStatus {
            conditions: Some(conditions),
            listeners: Some(listeners),
        }),
    )
}

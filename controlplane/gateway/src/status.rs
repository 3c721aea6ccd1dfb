//! Status stanzas as Kubernetes stores them: conditions with the spec's
//! types and reasons, observedGeneration, stable lastTransitionTime.

use crate::addresses;
use crate::attach::ParentOutcome;
use crate::gatewayclass::CONTROLLER_NAME;
use crate::gateways::{GatewayInfo, ListenerSetInfo};
use crate::kinds::RouteKind;
use crate::listeners::{ListenerInfo, Owner};
use crate::objects::ObjectKey;
use crate::refs::GATEWAY_GROUP;
use gateway_api::gatewayclasses::GatewayClassStatus;
use gateway_api::gateways::{
    GatewayStatus, GatewayStatusListeners, GatewayStatusListenersSupportedKinds,
};
use gateway_api::httproutes::{HttpRouteStatus, HttpRouteStatusParents};
use gateway_api::listenersets::{
    ListenerSetStatus, ListenerSetStatusListeners, ListenerSetStatusListenersSupportedKinds,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::Serialize;

/// The status of one object, identified by kind and key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectStatus {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub status: Status,
}

impl ObjectStatus {
    fn new(kind: &str, key: &ObjectKey, status: Status) -> Self {
        ObjectStatus {
            kind: kind.to_owned(),
            namespace: (!key.namespace.is_empty()).then(|| key.namespace.clone()),
            name: key.name.clone(),
            status,
        }
    }

    /// Does this status belong to the object of `kind` with `key`?
    pub fn is_for(&self, kind: &str, key: &ObjectKey) -> bool {
        self.kind == kind
            && self.name == key.name
            && self.namespace.as_deref().unwrap_or("") == key.namespace
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Status {
    GatewayClass(GatewayClassStatus),
    Gateway(GatewayStatus),
    /// The status of a route of any kind (their `status.parents` share
    /// this shape); [`ObjectStatus::kind`] says which kind.
    HttpRoute(HttpRouteStatus),
    ListenerSet(ListenerSetStatus),
}

/// Everything the status depends on besides the objects.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusInputs {
    /// Has the data plane adopted the snapshot built from these objects?
    pub programmed: bool,
    /// lastTransitionTime of conditions that change now.
    pub now: Time,
    /// The statuses written last time: a condition whose status did not
    /// change keeps its lastTransitionTime.
    pub previous: Vec<ObjectStatus>,
    /// The address clients reach the data plane at (an IP, or a hostname),
    /// reported in every Gateway's `status.addresses`. The data plane binds
    /// all local addresses, so only the caller knows which one is public;
    /// without it Gateways are not Programmed (AddressNotAssigned).
    pub gateway_address: Option<String>,
}

impl StatusInputs {
    /// Inputs with the current wall-clock time.
    pub fn at_now(programmed: bool, previous: Vec<ObjectStatus>) -> Self {
        StatusInputs {
            programmed,
            now: Time(k8s_openapi::jiff::Timestamp::now()),
            previous,
            gateway_address: None,
        }
    }

    /// The same inputs with the data plane's public address.
    pub fn with_gateway_address(mut self, address: impl Into<String>) -> Self {
        self.gateway_address = Some(address.into());
        self
    }
}

impl Default for StatusInputs {
    fn default() -> Self {
        StatusInputs {
            programmed: false,
            now: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
            previous: Vec::new(),
            gateway_address: None,
        }
    }
}

pub(crate) struct Cond<'a> {
    generation: i64,
    now: &'a Time,
}

impl Cond<'_> {
    fn make(&self, type_: &str, ok: bool, reason: &str, message: impl Into<String>) -> Condition {
        Condition {
            type_: type_.to_owned(),
            status: if ok { "True" } else { "False" }.to_owned(),
            reason: reason.to_owned(),
            message: message.into(),
            observed_generation: Some(self.generation),
            last_transition_time: self.now.clone(),
        }
    }
}

pub(crate) fn gateway_class(
    key: &ObjectKey,
    generation: i64,
    inputs: &StatusInputs,
) -> ObjectStatus {
    let c = Cond {
        generation,
        now: &inputs.now,
    };
    let mut conditions = vec![c.make(
        "Accepted",
        true,
        "Accepted",
        format!("handled by {CONTROLLER_NAME}"),
    )];
    if let Some(Status::GatewayClass(prev)) = previous(inputs, "GatewayClass", key) {
        carry(prev.conditions.as_deref(), &mut conditions);
    }
    ObjectStatus::new(
        "GatewayClass",
        key,
        Status::GatewayClass(GatewayClassStatus {
            conditions: Some(conditions),
            supported_features: None,
        }),
    )
}

/// Conditions and supported kinds of one listener, whoever declares it.
fn listener_conditions(
    c: &Cond<'_>,
    l: &ListenerInfo,
    inputs: &StatusInputs,
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
                "the data plane does not serve {} listeners yet; only HTTP is served",
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
        Ok(()) if !l.invalid_kinds.is_empty() => c.make(
            "ResolvedRefs",
            false,
            "InvalidRouteKinds",
            format!(
                "route kinds not supported on this listener: {}",
                l.invalid_kinds.join(", ")
            ),
        ),
        Ok(()) => c.make(
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
        let (mut conds, kinds) = listener_conditions(&c, l, inputs);
        if let Some(p) = prev
            .and_then(|p| p.listeners.as_ref())
            .and_then(|ls| ls.iter().find(|x| x.name == l.name))
        {
            carry(Some(&p.conditions), &mut conds);
        }
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
    let mut all = 0;
    if let (Ok(()), Some(gw)) = (&ls.allowed, gw) {
        for i in gw.owned_by(&owner) {
            let l = &gw.listeners[i];
            all += 1;
            valid += usize::from(l.valid());
            let (mut conds, kinds) = listener_conditions(&c, l, inputs);
            if let Some(p) = prev
                .and_then(|p| p.listeners.as_ref())
                .and_then(|ps| ps.iter().find(|x| x.name == l.name))
            {
                carry(Some(&p.conditions), &mut conds);
            }
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
            let programmed = if inputs.programmed {
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

/// What the route's rules said, for its conditions.
pub(crate) struct RouteVerdict<'a> {
    pub generation: i64,
    /// Messages of rules dropped as unsupported.
    pub invalid_rules: Vec<String>,
    pub rules: usize,
    /// First unresolved reference: (reason, message).
    pub unresolved: Option<(&'static str, &'a str)>,
    /// Does the data plane serve this kind of route?
    pub served: bool,
    /// Parent entries of other controllers, kept as they are.
    pub others: &'a [HttpRouteStatusParents],
}

pub(crate) fn route(
    kind: RouteKind,
    key: &ObjectKey,
    parents: &[ParentOutcome],
    verdict: &RouteVerdict<'_>,
    inputs: &StatusInputs,
) -> ObjectStatus {
    let c = Cond {
        generation: verdict.generation,
        now: &inputs.now,
    };
    let prev = match previous(inputs, kind.name(), key) {
        Some(Status::HttpRoute(p)) => Some(p),
        _ => None,
    };
    let all_invalid = verdict.rules > 0 && verdict.invalid_rules.len() == verdict.rules;
    let mut out = Vec::new();
    for p in parents {
        let mut conds = Vec::new();
        conds.push(match &p.accepted {
            Err((reason, msg)) => c.make("Accepted", false, reason, msg.clone()),
            Ok(()) if all_invalid => c.make(
                "Accepted",
                false,
                "UnsupportedValue",
                verdict.invalid_rules.join("; "),
            ),
            Ok(()) if !verdict.served => c.make(
                "Accepted",
                true,
                "Accepted",
                format!("route accepted; the data plane does not serve {kind}s yet"),
            ),
            Ok(()) => c.make("Accepted", true, "Accepted", "route accepted"),
        });
        conds.push(match verdict.unresolved {
            None => c.make(
                "ResolvedRefs",
                true,
                "ResolvedRefs",
                "all references resolved",
            ),
            Some((reason, msg)) => c.make("ResolvedRefs", false, reason, msg),
        });
        if !all_invalid && !verdict.invalid_rules.is_empty() {
            conds.push(c.make(
                "PartiallyInvalid",
                true,
                "UnsupportedValue",
                format!("rules dropped: {}", verdict.invalid_rules.join("; ")),
            ));
        }
        if let Some(pp) = prev.and_then(|x| x.parents.iter().find(|x| x.parent_ref == p.parent_ref))
        {
            carry(Some(&pp.conditions), &mut conds);
        }
        out.push(HttpRouteStatusParents {
            conditions: conds,
            controller_name: CONTROLLER_NAME.to_owned(),
            parent_ref: p.parent_ref.clone(),
        });
    }
    out.extend(verdict.others.iter().cloned());
    ObjectStatus::new(
        kind.name(),
        key,
        Status::HttpRoute(HttpRouteStatus { parents: out }),
    )
}

fn previous<'a>(inputs: &'a StatusInputs, kind: &str, key: &ObjectKey) -> Option<&'a Status> {
    inputs
        .previous
        .iter()
        .find(|s| s.is_for(kind, key))
        .map(|s| &s.status)
}

/// Keep the lastTransitionTime of every condition whose status is what it
/// was before.
fn carry(prev: Option<&[Condition]>, cur: &mut [Condition]) {
    let Some(prev) = prev else { return };
    for c in cur {
        if let Some(p) = prev
            .iter()
            .find(|p| p.type_ == c.type_ && p.status == c.status)
        {
            c.last_transition_time = p.last_transition_time.clone();
        }
    }
}

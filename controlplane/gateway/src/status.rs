//! Status stanzas as Kubernetes stores them: conditions with the spec's
//! types and reasons, observedGeneration, stable lastTransitionTime.

use crate::attach::ParentOutcome;
use crate::gatewayclass::CONTROLLER_NAME;
use crate::listeners::GatewayInfo;
use crate::objects::ObjectKey;
use gateway_api::gatewayclasses::GatewayClassStatus;
use gateway_api::gateways::{
    GatewayStatus, GatewayStatusListeners, GatewayStatusListenersSupportedKinds,
};
use gateway_api::httproutes::{HttpRouteStatus, HttpRouteStatusParents};
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
    HttpRoute(HttpRouteStatus),
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
}

impl StatusInputs {
    /// Inputs with the current wall-clock time.
    pub fn at_now(programmed: bool, previous: Vec<ObjectStatus>) -> Self {
        StatusInputs {
            programmed,
            now: Time(k8s_openapi::jiff::Timestamp::now()),
            previous,
        }
    }
}

impl Default for StatusInputs {
    fn default() -> Self {
        StatusInputs {
            programmed: false,
            now: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
            previous: Vec::new(),
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

/// `attached[i]` is the number of routes attached to listener `i`.
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
    for (i, l) in gw.listeners.iter().enumerate() {
        let mut conds = Vec::new();
        conds.push(match &l.accepted {
            Ok(()) => c.make("Accepted", true, "Accepted", "listener accepted"),
            Err((reason, msg)) => c.make("Accepted", false, reason, msg.clone()),
        });
        conds.push(if !l.usable() {
            c.make("Programmed", false, "Invalid", "listener is not valid")
        } else if inputs.programmed {
            c.make(
                "Programmed",
                true,
                "Programmed",
                "listener programmed in the data plane",
            )
        } else {
            c.make(
                "Programmed",
                false,
                "Pending",
                "waiting for the data plane to adopt the configuration",
            )
        });
        conds.push(if l.invalid_kinds.is_empty() {
            c.make(
                "ResolvedRefs",
                true,
                "ResolvedRefs",
                "all references resolved",
            )
        } else {
            c.make(
                "ResolvedRefs",
                false,
                "InvalidRouteKinds",
                format!("unsupported route kinds: {}", l.invalid_kinds.join(", ")),
            )
        });
        conds.push(match &l.conflict {
            None => c.make("Conflicted", false, "NoConflicts", "no conflicts"),
            Some((reason, msg)) => c.make("Conflicted", true, reason, msg.clone()),
        });
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
                l.supported_kinds
                    .iter()
                    .map(|(g, k)| GatewayStatusListenersSupportedKinds {
                        group: Some(g.clone()),
                        kind: k.clone(),
                    })
                    .collect(),
            ),
        });
    }
    let usable = gw.listeners.iter().filter(|l| l.usable()).count();
    let all = gw.listeners.len();
    let accepted = if usable == all {
        c.make("Accepted", true, "Accepted", "gateway accepted")
    } else {
        c.make(
            "Accepted",
            usable > 0,
            "ListenersNotValid",
            format!("{} of {all} listeners are not valid", all - usable),
        )
    };
    let programmed = if usable == 0 {
        c.make("Programmed", false, "Invalid", "no valid listener")
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
            addresses: None,
            attached_listener_sets: None,
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
}

pub(crate) fn http_route(
    key: &ObjectKey,
    parents: &[ParentOutcome],
    verdict: &RouteVerdict<'_>,
    inputs: &StatusInputs,
) -> ObjectStatus {
    let c = Cond {
        generation: verdict.generation,
        now: &inputs.now,
    };
    let prev = match previous(inputs, "HTTPRoute", key) {
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
    ObjectStatus::new(
        "HTTPRoute",
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

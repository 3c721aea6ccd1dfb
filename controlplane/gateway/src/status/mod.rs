//! Status stanzas as Kubernetes stores them: conditions with the spec's
//! types and reasons, observedGeneration, stable lastTransitionTime.

mod gateway;
mod route;

pub(crate) use gateway::{gateway, listener_set};
pub(crate) use route::{RouteVerdict, route};

use crate::gatewayclass::{CONTROLLER_NAME, SUPPORTED_FEATURES};
use crate::objects::ObjectKey;
use gateway_api::gatewayclasses::{GatewayClassStatus, GatewayClassStatusSupportedFeatures};
use gateway_api::gateways::GatewayStatus;
use gateway_api::httproutes::HttpRouteStatus;
use gateway_api::listenersets::ListenerSetStatus;
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
    pub(crate) fn new(kind: &str, key: &ObjectKey, status: Status) -> Self {
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
    pub(crate) generation: i64,
    pub(crate) now: &'a Time,
}

impl Cond<'_> {
    pub(crate) fn make(
        &self,
        type_: &str,
        ok: bool,
        reason: &str,
        message: impl Into<String>,
    ) -> Condition {
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
    let mut conditions = vec![
        c.make(
            "Accepted",
            true,
            "Accepted",
            format!("handled by {CONTROLLER_NAME}"),
        ),
        // No CRDs are installed when objects come from files: the version
        // served is the one these types were generated from.
        c.make(
            "SupportedVersion",
            true,
            "SupportedVersion",
            "Gateway API v1 standard-channel objects (the file provider installs no CRDs)",
        ),
    ];
    if let Some(Status::GatewayClass(prev)) = previous(inputs, "GatewayClass", key) {
        carry(prev.conditions.as_deref(), &mut conditions);
    }
    ObjectStatus::new(
        "GatewayClass",
        key,
        Status::GatewayClass(GatewayClassStatus {
            conditions: Some(conditions),
            supported_features: Some(
                SUPPORTED_FEATURES
                    .iter()
                    .map(|f| GatewayClassStatusSupportedFeatures {
                        name: (*f).to_owned(),
                    })
                    .collect(),
            ),
        }),
    )
}

pub(crate) fn previous<'a>(
    inputs: &'a StatusInputs,
    kind: &str,
    key: &ObjectKey,
) -> Option<&'a Status> {
    inputs
        .previous
        .iter()
        .find(|s| s.is_for(kind, key))
        .map(|s| &s.status)
}

/// Keep the lastTransitionTime of every condition whose status is what it
/// was before.
pub(crate) fn carry(prev: Option<&[Condition]>, cur: &mut [Condition]) {
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

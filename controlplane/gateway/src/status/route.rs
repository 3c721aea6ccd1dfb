//! Route status: one entry per parent of ours, the entries of other
//! controllers kept as they are.

use super::{Cond, ObjectStatus, Status, StatusInputs, carry, previous};
use crate::attach::ParentOutcome;
use crate::gatewayclass::CONTROLLER_NAME;
use crate::kinds::RouteKind;
use crate::objects::ObjectKey;
use gateway_api::httproutes::{HttpRouteStatus, HttpRouteStatusParents};

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

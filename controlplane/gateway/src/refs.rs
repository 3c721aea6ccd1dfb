//! Shapes shared by every route kind and by Gateways and ListenerSets.
//!
//! The generated Gateway API types give each kind its own copy of the same
//! YAML shape (`HttpRouteParentRefs`, `TcpRouteParentRefs`, …). The rules
//! here are written once against these local shapes; [`reshape`] converts a
//! generated value into one of them through its serde form, which is the
//! very YAML the user wrote.

use crate::objects::{ObjectKey, Objects};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The API group of every Gateway API kind.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// Convert between two types with the same serde shape; `None` when they
/// do not share it (never for the shapes of this module).
pub fn reshape<T: Serialize, U: DeserializeOwned>(value: &T) -> Option<U> {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
}

/// A route's `parentRefs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub section_name: Option<String>,
    #[serde(default)]
    pub port: Option<i32>,
}

/// A rule's `backendRefs` entry (every route kind).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendRef {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub port: Option<i32>,
    #[serde(default)]
    pub weight: Option<i32>,
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub match_expressions: Option<Vec<SelectorRequirement>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SelectorRequirement {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

impl LabelSelector {
    /// Does the selector select an object with these labels? Every
    /// requirement must hold; an unknown operator selects nothing, and so
    /// does `In`/`NotIn` without values (the API server refuses both).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let labels_ok = self
            .match_labels
            .iter()
            .flatten()
            .all(|(k, v)| labels.get(k) == Some(v));
        labels_ok
            && self.match_expressions.iter().flatten().all(|e| {
                let values = e.values.as_deref().unwrap_or_default();
                let value = labels.get(&e.key);
                match e.operator.as_str() {
                    "In" => value.is_some_and(|v| values.contains(v)),
                    "NotIn" => !values.is_empty() && value.is_none_or(|v| !values.contains(v)),
                    "Exists" => value.is_some() && values.is_empty(),
                    "DoesNotExist" => value.is_none() && values.is_empty(),
                    _ => false,
                }
            })
    }
}

/// The labels of namespace `ns`. Kubernetes labels every namespace with
/// `kubernetes.io/metadata.name`; a namespace without an object here
/// carries only that label.
pub fn namespace_labels(objects: &Objects, ns: &str) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = objects
        .namespaces
        .get(&ObjectKey::new("", ns))
        .and_then(|n| n.metadata.labels.clone())
        .unwrap_or_default();
    labels.insert("kubernetes.io/metadata.name".to_owned(), ns.to_owned());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(yaml: &str) -> LabelSelector {
        serde_saphyr::from_str(yaml).expect("selector yaml")
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn selector_operators() {
        let l = labels(&[("team", "a"), ("env", "prod")]);
        assert!(
            sel("{}").matches(&l),
            "an empty selector selects everything"
        );
        assert!(sel("matchLabels: {team: a}").matches(&l));
        assert!(!sel("matchLabels: {team: b}").matches(&l));
        assert!(
            sel("matchExpressions: [{key: env, operator: In, values: [dev, prod]}]").matches(&l)
        );
        assert!(
            !sel("matchExpressions: [{key: env, operator: NotIn, values: [prod]}]").matches(&l)
        );
        assert!(sel("matchExpressions: [{key: tier, operator: NotIn, values: [x]}]").matches(&l));
        assert!(sel("matchExpressions: [{key: team, operator: Exists}]").matches(&l));
        assert!(sel("matchExpressions: [{key: tier, operator: DoesNotExist}]").matches(&l));
        assert!(!sel("matchExpressions: [{key: team, operator: DoesNotExist}]").matches(&l));
        assert!(!sel("matchExpressions: [{key: team, operator: Near}]").matches(&l));
        assert!(
            !sel("{matchLabels: {team: a}, matchExpressions: [{key: env, operator: In, values: [dev]}]}")
                .matches(&l),
            "labels and expressions are ANDed"
        );
    }

    #[test]
    fn reshape_keeps_the_yaml_shape() {
        let p = gateway_api::httproutes::HttpRouteParentRefs {
            name: "gw".into(),
            section_name: Some("http".into()),
            port: Some(80),
            ..Default::default()
        };
        let r: ParentRef = reshape(&p).expect("same shape");
        assert_eq!(r.name, "gw");
        assert_eq!(r.section_name.as_deref(), Some("http"));
        assert_eq!(r.port, Some(80));
    }
}

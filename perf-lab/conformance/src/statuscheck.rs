//! Checking status assertions against the objects shardgate reports on
//! its admin `/status` (pure). Generations come from the runner's store:
//! the runner is the API server, so it knows `metadata.generation`.

use serde_json::Value;
use std::collections::BTreeMap;

use crate::corpus::{ExpectedCondition, ParentTarget, StatusAssertion};
use crate::objects::{Key, Store};

const GROUP: &str = "gateway.networking.k8s.io";

/// Everything a status check looks at.
#[derive(Debug, Clone, Copy)]
pub struct StatusView<'a> {
    /// `/status` documents: the objects with their `status` (Kubernetes
    /// shape, `metadata.name`), or `{kind, namespace?, name, status}`.
    pub docs: &'a [Value],
    pub store: &'a Store,
    /// controllerName of the GatewayClass under test.
    pub controller_name: &'a str,
    /// Generations before the last action (for `generation_changed`).
    pub generation_before: &'a BTreeMap<Key, i64>,
}

impl StatusView<'_> {
    fn status(&self, key: &Key) -> Result<&Value, String> {
        self.docs
            .iter()
            .find(|d| {
                // Whole objects (metadata.name) or `{kind, namespace, name}`.
                let meta = if d["metadata"].is_object() {
                    &d["metadata"]
                } else {
                    *d
                };
                d["kind"].as_str() == Some(key.kind.as_str())
                    && meta["name"].as_str() == Some(key.name.as_str())
                    && meta["namespace"].as_str().unwrap_or("") == key.namespace
            })
            .map(|d| &d["status"])
            .ok_or_else(|| format!("{key}: no status reported"))
    }

    fn generation(&self, key: &Key) -> Result<i64, String> {
        self.store
            .generation(key)
            .ok_or_else(|| format!("{key}: not among the applied objects"))
    }
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn describe(conds: &Value) -> String {
    let parts: Vec<String> = list(conds)
        .iter()
        .map(|c| {
            format!(
                "{}={}({})",
                c["type"].as_str().unwrap_or("?"),
                c["status"].as_str().unwrap_or("?"),
                c["reason"].as_str().unwrap_or("")
            )
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

fn describe_expected(e: &ExpectedCondition) -> String {
    format!(
        "{}={}{}",
        e.type_,
        e.status.as_deref().unwrap_or("*"),
        e.reason
            .as_deref()
            .map(|r| format!(" (reason {r})"))
            .unwrap_or_default()
    )
}

/// Every expected condition is present with its type, status and reason.
pub fn conditions_match(expected: &[ExpectedCondition], actual: &Value) -> Result<(), String> {
    for e in expected {
        let found = list(actual).iter().any(|c| {
            c["type"].as_str() == Some(e.type_.as_str())
                && e.status
                    .as_deref()
                    .is_none_or(|s| c["status"].as_str() == Some(s))
                && e.reason
                    .as_deref()
                    .is_none_or(|r| c["reason"].as_str() == Some(r))
        });
        if !found {
            return Err(format!(
                "expected condition {}, got {}",
                describe_expected(e),
                describe(actual)
            ));
        }
    }
    Ok(())
}

/// Every condition has `observedGeneration == generation`.
fn at_generation(conds: &Value, generation: i64) -> Result<(), String> {
    for c in list(conds) {
        let og = c["observedGeneration"].as_i64();
        if og != Some(generation) {
            return Err(format!(
                "condition {} has observedGeneration {}, object generation is {generation}",
                c["type"].as_str().unwrap_or("?"),
                og.map(|g| g.to_string()).unwrap_or_else(|| "unset".into())
            ));
        }
    }
    Ok(())
}

/// Is this route entry checked with the suite's strict "route must have
/// parents" matcher? (See INDEX.md.)
pub fn strict_route(a: &StatusAssertion, all: &[StatusAssertion]) -> bool {
    let Some(p) = &a.parent else {
        return false;
    };
    if p.group.is_some() || p.kind.is_some() || p.namespace_required {
        return true;
    }
    let accepted = a.conditions.iter().any(|c| {
        c.type_ == "Accepted"
            && c.status.as_deref() == Some("True")
            && c.reason.as_deref() == Some("Accepted")
    });
    let route_ns = a.namespace.as_deref().unwrap_or("");
    let parent_ns = p.namespace.as_deref().unwrap_or(route_ns);
    accepted
        && all.iter().any(|g| {
            g.kind == "Gateway"
                && g.listener.as_deref() == Some("*")
                && g.name == p.name
                && g.namespace.as_deref().unwrap_or("") == parent_ns
        })
}

/// Check one assertion; `all` is the list it belongs to.
pub fn check(
    a: &StatusAssertion,
    all: &[StatusAssertion],
    view: &StatusView<'_>,
) -> Result<(), String> {
    let key = Key::new(&a.kind, a.namespace.as_deref(), &a.name);
    let r = check_inner(a, &key, all, view);
    r.map_err(|e| {
        if e.starts_with(&key.to_string()) {
            e
        } else {
            format!("{key}: {e}")
        }
    })
}

fn check_inner(
    a: &StatusAssertion,
    key: &Key,
    all: &[StatusAssertion],
    view: &StatusView<'_>,
) -> Result<(), String> {
    if let Some(text) = &a.status_addresses {
        return Err(format!(
            "free-text address expectation cannot be checked: {text}"
        ));
    }
    let status = view.status(key)?;
    if a.generation_changed {
        let now = view.generation(key)?;
        let before = view.generation_before.get(key).copied();
        if before == Some(now) {
            return Err(format!("generation did not change (still {now})"));
        }
    }
    match a.kind.as_str() {
        "Gateway" => check_gateway(a, key, status, view),
        "ListenerSet" => check_listener_set(a, key, status, view),
        "GatewayClass" => {
            conditions_match(&a.conditions, &status["conditions"])?;
            if a.latest_observed_generation {
                at_generation(&status["conditions"], view.generation(key)?)?;
            }
            Ok(())
        }
        "BackendTLSPolicy" => check_policy(a, key, status, view),
        k if k.ends_with("Route") => check_route(a, key, status, all, view),
        other => Err(format!("the runner has no status check for kind {other}")),
    }
}

fn listeners_named<'v>(status: &'v Value, name: &str) -> Option<&'v Value> {
    list(&status["listeners"])
        .iter()
        .find(|l| l["name"].as_str() == Some(name))
}

fn check_listeners(a: &StatusAssertion, status: &Value) -> Result<(), String> {
    match a.listener.as_deref() {
        Some("*") => {
            for l in list(&status["listeners"]) {
                conditions_match(&a.conditions, &l["conditions"])
                    .map_err(|e| format!("listener {}: {e}", l["name"].as_str().unwrap_or("?")))?;
            }
        }
        Some(name) => {
            let l = listeners_named(status, name)
                .ok_or_else(|| format!("no status for listener {name}"))?;
            conditions_match(&a.conditions, &l["conditions"])
                .map_err(|e| format!("listener {name}: {e}"))?;
        }
        None => {}
    }
    if let Some(exact) = &a.listeners_exact {
        let got = list(&status["listeners"]);
        if got.len() != exact.len() {
            let names: Vec<&str> = got.iter().filter_map(|l| l["name"].as_str()).collect();
            return Err(format!(
                "expected {} listener status entries, got {} {names:?}",
                exact.len(),
                got.len()
            ));
        }
        for e in exact {
            let l = listeners_named(status, &e.name)
                .ok_or_else(|| format!("no status for listener {}", e.name))?;
            let attached = l["attachedRoutes"].as_i64().unwrap_or(0);
            if attached != e.attached_routes {
                return Err(format!(
                    "listener {}: expected attachedRoutes {}, got {attached}",
                    e.name, e.attached_routes
                ));
            }
            conditions_match(&e.conditions, &l["conditions"])
                .map_err(|x| format!("listener {}: {x}", e.name))?;
            let kinds = list(&l["supportedKinds"]);
            if e.supported_kinds.is_empty() && !kinds.is_empty() {
                return Err(format!(
                    "listener {}: expected no supportedKinds, got {kinds:?}",
                    e.name
                ));
            }
            for k in &e.supported_kinds {
                let ok = kinds.iter().any(|x| {
                    x["kind"].as_str() == Some(k.as_str())
                        && x["group"].as_str().unwrap_or(GROUP) == GROUP
                });
                if !ok {
                    return Err(format!("listener {}: supportedKinds lacks {k}", e.name));
                }
            }
        }
    }
    if a.zero_routes {
        let ls = list(&status["listeners"]);
        let ok =
            ls.is_empty() || (ls.len() == 1 && ls[0]["attachedRoutes"].as_i64().unwrap_or(0) == 0);
        if !ok {
            return Err("expected no listener entries or one with attachedRoutes 0".into());
        }
    }
    Ok(())
}

fn check_gateway(
    a: &StatusAssertion,
    key: &Key,
    status: &Value,
    view: &StatusView<'_>,
) -> Result<(), String> {
    if a.listener.is_none() && !a.conditions.is_empty() {
        conditions_match(&a.conditions, &status["conditions"])?;
        at_generation(&status["conditions"], view.generation(key)?)?;
    }
    check_listeners(a, status)?;
    if a.has_address || a.listener.as_deref() == Some("*") {
        let ok = list(&status["addresses"])
            .iter()
            .any(|x| x["type"].is_string());
        if !ok {
            return Err("no status.addresses entry with a type".into());
        }
    }
    if let Some(n) = a.attached_listener_sets {
        let got = status["attachedListenerSets"].as_i64().unwrap_or(0);
        if got != n {
            return Err(format!("expected attachedListenerSets {n}, got {got}"));
        }
    }
    if a.latest_observed_generation {
        at_generation(&status["conditions"], view.generation(key)?)?;
    }
    Ok(())
}

fn check_listener_set(
    a: &StatusAssertion,
    key: &Key,
    status: &Value,
    view: &StatusView<'_>,
) -> Result<(), String> {
    if a.listener.is_none() {
        conditions_match(&a.conditions, &status["conditions"])?;
    }
    check_listeners(a, status)?;
    if a.latest_observed_generation {
        at_generation(&status["conditions"], view.generation(key)?)?;
    }
    Ok(())
}

fn check_policy(
    a: &StatusAssertion,
    key: &Key,
    status: &Value,
    view: &StatusView<'_>,
) -> Result<(), String> {
    let generation = view.generation(key)?;
    let ancestors = list(&status["ancestors"]);
    if let Some(anc) = &a.ancestor {
        let entry = ancestors
            .iter()
            .find(|x| ref_matches(&x["ancestorRef"], anc, &key.namespace))
            .ok_or_else(|| format!("no ancestor status for {}", anc.name))?;
        conditions_match(&a.conditions, &entry["conditions"])?;
    }
    if a.latest_observed_generation || a.ancestor.is_some() {
        for x in ancestors {
            at_generation(&x["conditions"], generation)?;
        }
    }
    Ok(())
}

/// `parentRef`/`ancestorRef` name equal and namespace unset or equal.
fn ref_matches(r: &Value, want: &ParentTarget, own_ns: &str) -> bool {
    let want_ns = want.namespace.as_deref().unwrap_or(own_ns);
    r["name"].as_str() == Some(want.name.as_str())
        && r["namespace"].as_str().is_none_or(|ns| ns == want_ns)
}

fn describe_parents(parents: &[Value]) -> String {
    let parts: Vec<String> = parents
        .iter()
        .map(|p| {
            let r = &p["parentRef"];
            format!(
                "{}/{} {}",
                r["kind"].as_str().unwrap_or("-"),
                r["name"].as_str().unwrap_or("?"),
                describe(&p["conditions"])
            )
        })
        .collect();
    format!("[{}]", parts.join("; "))
}

fn check_route(
    a: &StatusAssertion,
    key: &Key,
    status: &Value,
    all: &[StatusAssertion],
    view: &StatusView<'_>,
) -> Result<(), String> {
    let generation = view.generation(key)?;
    let parents = list(&status["parents"]);
    if a.no_accepted_parents {
        let ok = parents.is_empty()
            || (parents.len() == 1
                && list(&parents[0]["conditions"]).iter().any(|c| {
                    c["type"].as_str() == Some("Accepted") && c["status"].as_str() == Some("False")
                }));
        if !ok {
            return Err(format!(
                "expected no parents or one with Accepted=False, got {}",
                describe_parents(parents)
            ));
        }
    }
    if let Some(p) = &a.parent {
        if strict_route(a, all) {
            strict_parent(a, key, p, parents, view)?;
        } else {
            let ok = parents.iter().any(|x| {
                ref_matches(&x["parentRef"], p, &key.namespace)
                    && conditions_match(&a.conditions, &x["conditions"]).is_ok()
            });
            if !ok {
                let e = parents
                    .iter()
                    .find(|x| ref_matches(&x["parentRef"], p, &key.namespace))
                    .map(|x| {
                        conditions_match(&a.conditions, &x["conditions"])
                            .err()
                            .unwrap_or_default()
                    })
                    .unwrap_or_else(|| {
                        format!(
                            "no parent status for {} (parents: {})",
                            p.name,
                            describe_parents(parents)
                        )
                    });
                return Err(format!("parent {}: {e}", p.name));
            }
            for x in parents {
                at_generation(&x["conditions"], generation).map_err(|e| {
                    format!(
                        "parent {}: {e}",
                        x["parentRef"]["name"].as_str().unwrap_or("?")
                    )
                })?;
            }
        }
    }
    if a.latest_observed_generation {
        for x in parents {
            at_generation(&x["conditions"], generation)?;
        }
    }
    Ok(())
}

fn strict_parent(
    a: &StatusAssertion,
    key: &Key,
    p: &ParentTarget,
    parents: &[Value],
    view: &StatusView<'_>,
) -> Result<(), String> {
    let parent_ns = p.namespace.as_deref().unwrap_or(&key.namespace);
    let ns_required = p.namespace_required || parent_ns != key.namespace;
    let want_kind = p.kind.as_deref().unwrap_or("Gateway");
    let mut last = format!("no parent status for {want_kind} {parent_ns}/{}", p.name);
    for x in parents {
        let r = &x["parentRef"];
        if r["name"].as_str() != Some(p.name.as_str()) {
            continue;
        }
        let problem = if x["controllerName"].as_str() != Some(view.controller_name) {
            Some(format!(
                "controllerName {:?}, expected {:?}",
                x["controllerName"].as_str().unwrap_or(""),
                view.controller_name
            ))
        } else if r["group"].as_str() != Some(p.group.as_deref().unwrap_or(GROUP)) {
            Some(format!(
                "parentRef.group {:?} (must be set to {GROUP})",
                r["group"].as_str().unwrap_or("unset")
            ))
        } else if r["kind"].as_str() != Some(want_kind) {
            Some(format!(
                "parentRef.kind {:?} (must be set to {want_kind})",
                r["kind"].as_str().unwrap_or("unset")
            ))
        } else {
            match r["namespace"].as_str() {
                Some(ns) if ns != parent_ns => Some(format!(
                    "parentRef.namespace {ns:?}, expected {parent_ns:?}"
                )),
                None if ns_required => {
                    Some(format!("parentRef.namespace unset, must be {parent_ns:?}"))
                }
                _ => conditions_match(&a.conditions, &x["conditions"]).err(),
            }
        };
        match problem {
            None => return Ok(()),
            Some(e) => last = format!("parent {}: {e}", p.name),
        }
    }
    Err(last)
}

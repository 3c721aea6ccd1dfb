//! Check the translator's status against the status expectations of a
//! conformance corpus (the format of `shared/conformance/INDEX.md`).
//!
//! `cargo run -p shardgate-gateway --example corpus_status -- DIR [CASE…]`
//!
//! For every case (or the named ones) the base manifests and the case's
//! manifests are loaded with the suite's placeholders filled in (our
//! GatewayClass `shardgate`), translated as if the data plane had adopted
//! the snapshot and were reachable at 127.0.0.1, and the case's top-level
//! `status` entries are evaluated. Entries that need traffic, mid-test
//! changes or kinds this translator does not produce (BackendTLSPolicy)
//! are reported as unchecked. Ends with `N passed, M failed, K unchecked`.

use serde_json::Value;
use shardgate_gateway::{ObjectStatus, Objects, Status, StatusInputs, translate_with};
use std::path::{Path, PathBuf};

const CLASS: &str = "shardgate";

/// Secrets the suite creates at set-up (INDEX.md), not in the manifests;
/// stood in for by Secrets holding placeholder PEM blocks.
const SUITE_SECRETS: &[(&str, &str)] = &[
    ("gateway-conformance-web-backend", "certificate"),
    (
        "gateway-conformance-infra",
        "tls-validity-checks-certificate",
    ),
    (
        "gateway-conformance-infra",
        "tls-validity-checks-client-certificate",
    ),
    (
        "gateway-conformance-infra",
        "tls-validity-checks-per-port-client-certificate",
    ),
    ("gateway-conformance-infra", "tls-checks-certificate"),
    ("gateway-conformance-infra", "tls-checks-client-certificate"),
    (
        "gateway-conformance-infra",
        "tls-passthrough-checks-certificate",
    ),
    (
        "gateway-conformance-app-backend",
        "tls-passthrough-checks-certificate",
    ),
    (
        "gateway-conformance-infra",
        "tls-terminate-checks-certificate",
    ),
];

fn suite_secrets() -> String {
    // base64 of "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    // and of the same with PRIVATE KEY.
    const CRT: &str =
        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
    const KEY: &str =
        "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUIKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo=";
    SUITE_SECRETS
        .iter()
        .map(|(ns, name)| {
            format!(
                "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\ntype: kubernetes.io/tls\ndata: {{tls.crt: {CRT}, tls.key: {KEY}}}\n"
            )
        })
        .collect()
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: corpus_status DIR [CASE…]")?);
    let only: Vec<String> = args.collect();
    let mut names: Vec<String> = std::fs::read_dir(dir.join("cases"))
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_owned)
        })
        .filter(|n| only.is_empty() || only.contains(n))
        .collect();
    names.sort();
    let (mut passed, mut failed, mut unchecked) = (0, 0, 0);
    for name in &names {
        match check(&dir, name) {
            Ok(Verdict::Pass) => {
                passed += 1;
                println!("PASS {name}");
            }
            Ok(Verdict::Unchecked(why)) => {
                unchecked += 1;
                println!("SKIP {name}: {why}");
            }
            Ok(Verdict::Fail(why)) => {
                failed += 1;
                println!("FAIL {name}:");
                for w in why {
                    println!("    {w}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {name}: {e}");
            }
        }
    }
    println!("{passed} passed, {failed} failed, {unchecked} unchecked");
    Ok(())
}

enum Verdict {
    Pass,
    Fail(Vec<String>),
    Unchecked(String),
}

fn load(dir: &Path, rel: &str, objects: &mut Objects) -> Result<(), String> {
    let path = dir.join("manifests").join(rel);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = text.replace("{GATEWAY_CLASS_NAME}", CLASS).replace(
        "{GATEWAY_CONTROLLER_NAME}",
        shardgate_gateway::CONTROLLER_NAME,
    );
    objects.load_str(rel, &text);
    Ok(())
}

fn check(dir: &Path, name: &str) -> Result<Verdict, String> {
    let path = dir.join("cases").join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let case: Value = serde_saphyr::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
    let status = case
        .get("status")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if status.is_empty() {
        return Ok(Verdict::Unchecked("no status expectations".into()));
    }
    let mut objects = Objects::new();
    objects.load_str(
        "class.yaml",
        &format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: {CLASS}}}\nspec: {{controllerName: {}}}\n",
            shardgate_gateway::CONTROLLER_NAME
        ),
    );
    objects.load_str("suite-secrets.yaml", &suite_secrets());
    load(dir, "base/manifests.yaml", &mut objects)?;
    for m in case
        .get("manifests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(m) = m.as_str() {
            load(dir, m, &mut objects)?;
        }
    }
    let inputs = StatusInputs::default().with_gateway_address("127.0.0.1");
    let inputs = StatusInputs {
        programmed: true,
        ..inputs
    };
    let t = translate_with(&objects, &inputs);
    let mut problems = Vec::new();
    let mut checked = 0;
    for entry in &status {
        match check_entry(&t.status, entry) {
            Some(Ok(())) => checked += 1,
            Some(Err(e)) => {
                checked += 1;
                problems.push(e);
            }
            None => {}
        }
    }
    if !problems.is_empty() {
        Ok(Verdict::Fail(problems))
    } else if checked == 0 {
        Ok(Verdict::Unchecked(
            "only entries of kinds not produced here".into(),
        ))
    } else {
        Ok(Verdict::Pass)
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn find<'a>(statuses: &'a [ObjectStatus], kind: &str, ns: &str, name: &str) -> Option<&'a Status> {
    statuses
        .iter()
        .find(|o| o.kind == kind && o.name == name && o.namespace.as_deref().unwrap_or("") == ns)
        .map(|o| &o.status)
}

/// Every expected condition present with that type, and status/reason
/// when given.
fn conditions_hold(
    actual: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    expected: Option<&Value>,
) -> Result<(), String> {
    for e in expected.and_then(Value::as_array).into_iter().flatten() {
        let ty = s(e, "type").unwrap_or("");
        let ok = actual.iter().any(|c| {
            c.type_ == ty
                && s(e, "status").is_none_or(|v| v == c.status)
                && s(e, "reason").is_none_or(|v| v == c.reason)
        });
        if !ok {
            let got: Vec<String> = actual
                .iter()
                .filter(|c| c.type_ == ty)
                .map(|c| format!("{}={}/{}", c.type_, c.status, c.reason))
                .collect();
            return Err(format!(
                "want {ty}={}/{} got {got:?}",
                s(e, "status").unwrap_or("*"),
                s(e, "reason").unwrap_or("*")
            ));
        }
    }
    Ok(())
}

type ListenerView<'a> = (
    &'a str,
    i32,
    &'a [k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    Vec<String>,
);

fn check_listeners(listeners: &[ListenerView<'_>], entry: &Value) -> Result<(), String> {
    if let Some(l) = s(entry, "listener") {
        let chosen: Vec<&ListenerView<'_>> =
            listeners.iter().filter(|x| l == "*" || x.0 == l).collect();
        if chosen.is_empty() {
            return Err(format!("no listener {l}"));
        }
        for x in chosen {
            conditions_hold(x.2, entry.get("conditions"))
                .map_err(|e| format!("listener {}: {e}", x.0))?;
        }
    }
    if let Some(exact) = entry.get("listeners_exact").and_then(Value::as_array) {
        if exact.len() != listeners.len() {
            return Err(format!(
                "{} listeners, want {}",
                listeners.len(),
                exact.len()
            ));
        }
        for e in exact {
            let n = s(e, "name").unwrap_or("");
            let x = listeners
                .iter()
                .find(|x| x.0 == n)
                .ok_or(format!("no listener {n}"))?;
            if let Some(a) = e.get("attachedRoutes").and_then(Value::as_i64)
                && i64::from(x.1) != a
            {
                return Err(format!("listener {n}: attachedRoutes {} want {a}", x.1));
            }
            if let Some(kinds) = e.get("supportedKinds").and_then(Value::as_array) {
                let want: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
                if want.is_empty() && !x.3.is_empty() {
                    return Err(format!("listener {n}: supportedKinds {:?} want []", x.3));
                }
                if let Some(k) = want.iter().find(|k| !x.3.iter().any(|y| y == *k)) {
                    return Err(format!("listener {n}: supportedKinds {:?} lack {k}", x.3));
                }
            }
            conditions_hold(x.2, e.get("conditions"))
                .map_err(|err| format!("listener {n}: {err}"))?;
        }
    }
    Ok(())
}

fn check_entry(statuses: &[ObjectStatus], entry: &Value) -> Option<Result<(), String>> {
    let kind = s(entry, "kind")?;
    let ns = s(entry, "namespace").unwrap_or("");
    let name = s(entry, "name").unwrap_or("");
    let label = format!("{kind} {ns}/{name}");
    let res = match (kind, find(statuses, kind, ns, name)) {
        ("Gateway", Some(Status::Gateway(g))) => (|| {
            if entry.get("listener").is_none() {
                conditions_hold(
                    g.conditions.as_deref().unwrap_or_default(),
                    entry.get("conditions"),
                )?;
            }
            let ls: Vec<ListenerView<'_>> = g
                .listeners
                .iter()
                .flatten()
                .map(|l| {
                    (
                        l.name.as_str(),
                        l.attached_routes,
                        &l.conditions[..],
                        l.supported_kinds
                            .iter()
                            .flatten()
                            .map(|k| k.kind.clone())
                            .collect(),
                    )
                })
                .collect();
            check_listeners(&ls, entry)?;
            if let Some(n) = entry.get("attachedListenerSets").and_then(Value::as_i64)
                && g.attached_listener_sets.map(i64::from) != Some(n)
            {
                return Err(format!(
                    "attachedListenerSets {:?} want {n}",
                    g.attached_listener_sets
                ));
            }
            if entry.get("has_address").and_then(Value::as_bool) == Some(true)
                && !g.addresses.iter().flatten().any(|a| a.r#type.is_some())
            {
                return Err("no typed address".into());
            }
            if entry.get("zero_routes").and_then(Value::as_bool) == Some(true)
                && !(ls.is_empty() || (ls.len() == 1 && ls[0].1 == 0))
            {
                return Err("routes attached".into());
            }
            Ok(())
        })(),
        ("ListenerSet", Some(Status::ListenerSet(l))) => (|| {
            if entry.get("listener").is_none() {
                conditions_hold(
                    l.conditions.as_deref().unwrap_or_default(),
                    entry.get("conditions"),
                )?;
            }
            let ls: Vec<ListenerView<'_>> = l
                .listeners
                .iter()
                .flatten()
                .map(|l| {
                    (
                        l.name.as_str(),
                        l.attached_routes,
                        &l.conditions[..],
                        l.supported_kinds
                            .iter()
                            .flatten()
                            .map(|k| k.kind.clone())
                            .collect(),
                    )
                })
                .collect();
            check_listeners(&ls, entry)
        })(),
        ("HTTPRoute" | "GRPCRoute" | "TLSRoute" | "TCPRoute" | "UDPRoute", found) => {
            let parents = match found {
                Some(Status::HttpRoute(r)) => &r.parents[..],
                _ => &[],
            };
            (|| {
                if entry.get("no_accepted_parents").and_then(Value::as_bool) == Some(true) {
                    let ok = parents.is_empty()
                        || (parents.len() == 1
                            && parents[0]
                                .conditions
                                .iter()
                                .any(|c| c.type_ == "Accepted" && c.status == "False"));
                    return if ok {
                        Ok(())
                    } else {
                        Err("has accepted parents".into())
                    };
                }
                let Some(p) = entry.get("parent") else {
                    return Ok(());
                };
                let pn = s(p, "name").unwrap_or("");
                let pns = s(p, "namespace");
                let pkind = s(p, "kind");
                let hit = parents.iter().find(|x| {
                    x.parent_ref.name == pn
                        && pns.is_none_or(|n| {
                            x.parent_ref.namespace.as_deref().is_none_or(|m| m == n)
                        })
                        && pkind.is_none_or(|k| x.parent_ref.kind.as_deref() == Some(k))
                });
                let Some(hit) = hit else {
                    return Err(format!("no parent entry for {pn}"));
                };
                conditions_hold(&hit.conditions, entry.get("conditions"))
            })()
        }
        ("Gateway" | "ListenerSet", _) => Err("no status".into()),
        _ => return None,
    };
    Some(res.map_err(|e| format!("{label}: {e}")))
}

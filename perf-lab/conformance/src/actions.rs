//! Mid-test changes (`action:` steps) applied to the runner's objects.

use serde_json::{Map, Value};
use std::time::Duration;

use crate::corpus::{Action, Patch};
use crate::objects::{Key, Store};

/// Why the runner cannot perform an action (a capability it lacks), if so.
pub fn unsupported(a: &Action) -> Option<String> {
    if let Some(p) = &a.patch {
        if p.remove_address.is_some() {
            return Some("patch remove_address (free-text address edit)".into());
        }
        if p.set.values().any(is_placeholder) {
            return Some("patch with a placeholder value".into());
        }
    }
    if let Some(c) = &a.create
        && has_placeholder(c)
    {
        return Some("create with a placeholder value".into());
    }
    if let Some(s) = &a.sleep
        && parse_duration(s).is_none()
    {
        return Some(format!("sleep {s:?}"));
    }
    None
}

fn is_placeholder(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.starts_with('<') && s.ends_with('>'))
}

fn has_placeholder(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().any(has_placeholder),
        Value::Object(m) => m.values().any(has_placeholder),
        other => is_placeholder(other),
    }
}

/// `1s`, `500ms`, `2m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.')?);
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// Apply an action. Sleeps happen here.
pub fn apply(store: &mut Store, a: &Action) -> Result<(), String> {
    if let Some(reason) = unsupported(a) {
        return Err(format!("the runner cannot perform {reason}"));
    }
    if let Some(p) = &a.patch {
        return patch(store, p);
    }
    if let Some(c) = &a.create {
        return create(store, c);
    }
    if let Some(d) = &a.delete {
        let key = Key::new(&d.kind, d.namespace.as_deref(), &d.name);
        return store
            .remove(&key)
            .map(|_| ())
            .ok_or_else(|| format!("delete: {key} does not exist"));
    }
    if let Some(s) = &a.sleep {
        let d = parse_duration(s).ok_or_else(|| format!("bad sleep {s:?}"))?;
        std::thread::sleep(d);
        store.tick(d.as_secs().max(1));
        return Ok(());
    }
    Err("empty action".into())
}

fn patch(store: &mut Store, p: &Patch) -> Result<(), String> {
    let key = Key::new(&p.kind, p.namespace.as_deref(), &p.name);
    let mut v = store
        .get(&key)
        .cloned()
        .ok_or_else(|| format!("patch: {key} does not exist"))?;
    for (path, value) in &p.set {
        set_path(&mut v, &split_path(&p.kind, path)?, Some(value.clone()))?;
    }
    if let Some(path) = &p.restore {
        let segs = split_path(&p.kind, path)?;
        let orig = store.original(&key).cloned().unwrap_or(Value::Null);
        let old = get_path(&orig, &segs).cloned();
        set_path(&mut v, &segs, old)?;
    }
    if let Some(l) = &p.append_listener {
        match v["spec"]["listeners"].as_array_mut() {
            Some(ls) => ls.push(l.clone()),
            None => v["spec"]["listeners"] = Value::Array(vec![l.clone()]),
        }
    }
    if let Some(keep) = &p.keep_only_listeners
        && let Some(ls) = v["spec"]["listeners"].as_array_mut()
    {
        ls.retain(|l| {
            l["name"]
                .as_str()
                .is_some_and(|n| keep.iter().any(|k| k == n))
        });
    }
    store.update(&key, v).map_err(|e| e.to_string())
}

fn create(store: &mut Store, c: &Value) -> Result<(), String> {
    let Some(obj) = c.as_object() else {
        return Err("create: not an object".into());
    };
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .ok_or("create: no kind")?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or("create: no name")?;
    let mut out = Map::new();
    let api = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| match kind {
            "ConfigMap" | "Secret" | "Service" | "Namespace" => "v1".into(),
            _ => "gateway.networking.k8s.io/v1".into(),
        });
    out.insert("apiVersion".into(), Value::from(api));
    out.insert("kind".into(), Value::from(kind));
    let mut meta = Map::new();
    meta.insert("name".into(), Value::from(name));
    if let Some(ns) = obj.get("namespace") {
        meta.insert("namespace".into(), ns.clone());
    }
    out.insert("metadata".into(), Value::Object(meta));
    for (k, v) in obj {
        if !matches!(k.as_str(), "kind" | "name" | "namespace" | "apiVersion") {
            out.insert(k.clone(), v.clone());
        }
    }
    store
        .apply(Value::Object(out))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `spec.rules[0].backendRefs[0].name` → segments. Under `data.` of a
/// ConfigMap or Secret the rest is one key (`data.ca.crt`).
fn split_path(kind: &str, path: &str) -> Result<Vec<Seg>, String> {
    if matches!(kind, "ConfigMap" | "Secret")
        && let Some(k) = path.strip_prefix("data.")
    {
        return Ok(vec![Seg::Key("data".into()), Seg::Key(k.into())]);
    }
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() {
            return Err(format!("bad path {path:?}"));
        }
        out.push(Seg::Key(name.into()));
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(|| format!("bad path {path:?}"))?;
            let i = r[..end]
                .parse()
                .map_err(|_| format!("bad index in {path:?}"))?;
            out.push(Seg::Index(i));
            rest = &r[end + 1..];
        }
    }
    Ok(out)
}

fn get_path<'a>(v: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    segs.iter().try_fold(v, |cur, s| match s {
        Seg::Key(k) => cur.get(k),
        Seg::Index(i) => cur.get(*i),
    })
}

/// Set (or, with `None`, remove) the value at `segs`.
fn set_path(v: &mut Value, segs: &[Seg], value: Option<Value>) -> Result<(), String> {
    let Some((last, parents)) = segs.split_last() else {
        return Err("empty path".into());
    };
    let mut cur = v;
    for s in parents {
        cur = match s {
            Seg::Key(k) => {
                if !cur.is_object() {
                    *cur = Value::Object(Map::new());
                }
                cur.as_object_mut()
                    .map(|m| m.entry(k.clone()).or_insert(Value::Null))
                    .ok_or_else(|| format!("{k} is not an object"))?
            }
            Seg::Index(i) => cur
                .get_mut(*i)
                .ok_or_else(|| format!("index {i} out of range"))?,
        };
    }
    match (last, value) {
        (Seg::Key(k), Some(val)) => {
            if !cur.is_object() {
                *cur = Value::Object(Map::new());
            }
            if let Some(m) = cur.as_object_mut() {
                m.insert(k.clone(), val);
            }
        }
        (Seg::Key(k), None) => {
            if let Some(m) = cur.as_object_mut() {
                m.remove(k);
            }
        }
        (Seg::Index(i), Some(val)) => {
            *cur.get_mut(*i)
                .ok_or_else(|| format!("index {i} out of range"))? = val;
        }
        (Seg::Index(i), None) => {
            if let Some(a) = cur.as_array_mut()
                && *i < a.len()
            {
                a.remove(*i);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::ObjectRef;
    use serde_json::json;

    fn action(v: Value) -> Action {
        serde_json::from_value(v).expect("action")
    }

    #[test]
    fn set_restore_and_listener_patches() {
        let mut s = Store::new();
        let key = s
            .apply(
                json!({"kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "n"},
                "spec": {"rules": [{"backendRefs": [{"name": "v1", "port": 8080}]}]}}),
            )
            .expect("apply");
        apply(
            &mut s,
            &action(
                json!({"patch": {"kind": "HTTPRoute", "namespace": "n", "name": "r",
            "set": {"spec.rules[0].backendRefs[0].name": "v2"}}}),
            ),
        )
        .expect("patch");
        let v = s.get(&key).expect("route");
        assert_eq!(v["spec"]["rules"][0]["backendRefs"][0]["name"], json!("v2"));
        assert_eq!(s.generation(&key), Some(2));
        apply(
            &mut s,
            &action(
                json!({"patch": {"kind": "HTTPRoute", "namespace": "n", "name": "r",
            "restore": "spec.rules[0].backendRefs[0].name"}}),
            ),
        )
        .expect("restore");
        assert_eq!(
            s.get(&key).expect("route")["spec"]["rules"][0]["backendRefs"][0]["name"],
            json!("v1")
        );

        let gw = s
            .apply(json!({"kind": "Gateway", "metadata": {"name": "g", "namespace": "n"},
                "spec": {"listeners": [{"name": "https", "port": 443}, {"name": "http", "port": 80}]}}))
            .expect("apply");
        apply(
            &mut s,
            &action(
                json!({"patch": {"kind": "Gateway", "namespace": "n", "name": "g",
            "keep_only_listeners": ["http"]}}),
            ),
        )
        .expect("keep");
        apply(
            &mut s,
            &action(
                json!({"patch": {"kind": "Gateway", "namespace": "n", "name": "g",
            "append_listener": {"name": "x", "port": 8080}}}),
            ),
        )
        .expect("append");
        let names: Vec<&str> = s.get(&gw).expect("gw")["spec"]["listeners"]
            .as_array()
            .expect("listeners")
            .iter()
            .filter_map(|l| l["name"].as_str())
            .collect();
        assert_eq!(names, ["http", "x"]);
        assert_eq!(s.generation(&gw), Some(3));
    }

    #[test]
    fn create_delete_and_unsupported_actions() {
        let mut s = Store::new();
        apply(&mut s, &action(json!({"create": {"kind": "ConfigMap", "namespace": "n", "name": "c", "data": {"ca.crt": "x"}}})))
            .expect("create");
        let key = Key::new("ConfigMap", Some("n"), "c");
        assert_eq!(s.get(&key).expect("cm")["apiVersion"], json!("v1"));
        apply(&mut s, &action(json!({"patch": {"kind": "ConfigMap", "namespace": "n", "name": "c", "set": {"data.ca.crt": ""}}})))
            .expect("set data key with a dot");
        assert_eq!(s.get(&key).expect("cm")["data"]["ca.crt"], json!(""));
        let del = Action {
            patch: None,
            create: None,
            delete: Some(ObjectRef {
                kind: "ConfigMap".into(),
                namespace: Some("n".into()),
                name: "c".into(),
            }),
            sleep: None,
        };
        apply(&mut s, &del).expect("delete");
        assert!(s.get(&key).is_none());
        assert!(apply(&mut s, &del).is_err(), "deleting twice fails");
        let placeholder = action(
            json!({"patch": {"kind": "ConfigMap", "namespace": "n", "name": "c", "set": {"data.ca.crt": "<original CA data>"}}}),
        );
        assert!(unsupported(&placeholder).is_some());
        assert_eq!(parse_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("soon"), None);
    }
}

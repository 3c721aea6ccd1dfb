//! The objects of one test, as the runner's stand-in for the Kubernetes
//! API server holds them: parsed manifests with the suite's placeholders
//! replaced, `metadata.generation` bumped on spec changes and
//! `metadata.creationTimestamp` set in apply order.

use serde_json::Value;
use std::collections::BTreeMap;

use crate::Error;

/// `(kind, namespace, name)`; namespace is empty for cluster objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Key {
        Key {
            kind: kind.to_owned(),
            namespace: namespace.unwrap_or("").to_owned(),
            name: name.to_owned(),
        }
    }

    /// The key of an object value.
    pub fn of(v: &Value) -> Option<Key> {
        let kind = v.get("kind")?.as_str()?;
        let meta = v.get("metadata")?;
        let name = meta.get("name")?.as_str()?;
        let ns = meta.get("namespace").and_then(Value::as_str);
        Some(Key::new(kind, ns, name))
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The suite's placeholders and what replaces them.
#[derive(Debug, Clone)]
pub struct Placeholders {
    pub gateway_class: String,
    pub controller_name: String,
}

impl Placeholders {
    /// Replace `{GATEWAY_CLASS_NAME}` and `{GATEWAY_CONTROLLER_NAME}`.
    pub fn apply(&self, text: &str) -> String {
        text.replace("{GATEWAY_CLASS_NAME}", &self.gateway_class)
            .replace("{GATEWAY_CONTROLLER_NAME}", &self.controller_name)
    }
}

/// Parse multi-document YAML into object values (empty documents skipped).
pub fn parse_yaml_documents(what: &str, text: &str) -> Result<Vec<Value>, Error> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| Error::Manifest {
        file: what.to_owned(),
        message: e.to_string(),
    })?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

#[derive(Debug, Clone)]
struct Entry {
    value: Value,
    /// As loaded from the manifests (for `restore`).
    original: Value,
    order: usize,
}

/// The objects of a test, in apply order.
#[derive(Debug, Clone, Default)]
pub struct Store {
    entries: BTreeMap<Key, Entry>,
    next_order: usize,
    /// Seconds after the epoch base for the next creationTimestamp.
    clock: u64,
}

/// creationTimestamp base: 2026-01-01T00:00:00Z.
const EPOCH_BASE: u64 = 1_767_225_600;

impl Store {
    pub fn new() -> Self {
        Store::default()
    }

    /// Advance the creation clock (objects applied later are newer; the
    /// suite's timestamps have one-second resolution).
    pub fn tick(&mut self, seconds: u64) {
        self.clock += seconds;
    }

    /// Add (or replace, like `kubectl apply`) an object. New objects get
    /// generation 1 and the current creation time unless they carry them.
    pub fn apply(&mut self, mut value: Value) -> Result<Key, Error> {
        let key = Key::of(&value).ok_or_else(|| Error::Manifest {
            file: "(object)".into(),
            message: format!("object without kind/metadata.name: {value}"),
        })?;
        if let Some(old) = self.entries.get(&key) {
            let generation = old.generation();
            let created = old.value["metadata"]["creationTimestamp"].clone();
            let spec_changed = old.value.get("spec") != value.get("spec");
            // Key::of succeeded, so metadata is an object.
            value["metadata"]["generation"] = Value::from(generation + i64::from(spec_changed));
            value["metadata"]["creationTimestamp"] = created;
            let order = old.order;
            let original = old.original.clone();
            self.entries.insert(
                key.clone(),
                Entry {
                    value,
                    original,
                    order,
                },
            );
            return Ok(key);
        }
        let stamp = rfc3339(EPOCH_BASE + self.clock);
        if value["metadata"].get("generation").is_none() {
            value["metadata"]["generation"] = Value::from(1);
        }
        if value["metadata"].get("creationTimestamp").is_none() {
            value["metadata"]["creationTimestamp"] = Value::from(stamp);
        }
        let order = self.next_order;
        self.next_order += 1;
        self.entries.insert(
            key.clone(),
            Entry {
                original: value.clone(),
                value,
                order,
            },
        );
        Ok(key)
    }

    pub fn get(&self, key: &Key) -> Option<&Value> {
        self.entries.get(key).map(|e| &e.value)
    }

    pub fn original(&self, key: &Key) -> Option<&Value> {
        self.entries.get(key).map(|e| &e.original)
    }

    pub fn generation(&self, key: &Key) -> Option<i64> {
        self.entries.get(key).map(Entry::generation)
    }

    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        self.entries.remove(key).map(|e| e.value)
    }

    /// Replace an object's value, bumping generation when spec changed.
    pub fn update(&mut self, key: &Key, value: Value) -> Result<(), Error> {
        if !self.entries.contains_key(key) {
            return Err(Error::Action(format!("{key} does not exist")));
        }
        self.apply(value).map(|_| ())
    }

    /// Objects in apply order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Value)> {
        let mut v: Vec<(&Key, &Entry)> = self.entries.iter().collect();
        v.sort_by_key(|(_, e)| e.order);
        v.into_iter().map(|(k, e)| (k, &e.value))
    }

    /// Objects of one kind, in apply order.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a Key, &'a Value)> {
        self.iter().filter(move |(k, _)| k.kind == kind)
    }
}

impl Entry {
    fn generation(&self) -> i64 {
        self.value["metadata"]["generation"].as_i64().unwrap_or(1)
    }
}

/// RFC 3339 UTC timestamp (`2026-01-01T00:00:00Z`) of Unix seconds.
pub fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic
/// Gregorian calendar (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(EPOCH_BASE), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn generation_bumps_only_on_spec_change() {
        let mut s = Store::new();
        let obj = json!({"kind": "Gateway", "metadata": {"name": "g", "namespace": "n"}, "spec": {"a": 1}});
        let key = s.apply(obj.clone()).expect("apply");
        assert_eq!(s.generation(&key), Some(1));
        let mut labelled = s.get(&key).expect("stored").clone();
        labelled["metadata"]["labels"] = json!({"x": "y"});
        s.update(&key, labelled).expect("update");
        assert_eq!(s.generation(&key), Some(1));
        let mut changed = s.get(&key).expect("stored").clone();
        changed["spec"]["a"] = json!(2);
        s.update(&key, changed).expect("update");
        assert_eq!(s.generation(&key), Some(2));
        assert_eq!(s.original(&key).expect("original")["spec"]["a"], json!(1));
    }

    #[test]
    fn placeholders_are_replaced_and_documents_parsed() {
        let p = Placeholders {
            gateway_class: "cls".into(),
            controller_name: "x.dev/c".into(),
        };
        let text = p.apply(
            "kind: Gateway\nmetadata: {name: a}\nspec: {gatewayClassName: \"{GATEWAY_CLASS_NAME}\"}\n---\n---\nkind: GatewayClass\nmetadata: {name: b}\nspec: {controllerName: \"{GATEWAY_CONTROLLER_NAME}\"}\n",
        );
        let docs = parse_yaml_documents("t", &text).expect("parse");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["spec"]["gatewayClassName"], json!("cls"));
        assert_eq!(docs[1]["spec"]["controllerName"], json!("x.dev/c"));
    }
}

//! Listener port mapping and the config directory shardgate reads.
//!
//! # Port mapping
//!
//! Corpus Gateways listen on 80, 443, 8080, ... The runner does not bind
//! privileged ports; instead every `(Gateway, listener port)` pair gets
//! its own free local port on 127.0.0.1, and the objects shardgate reads
//! are rewritten accordingly:
//!
//! - `Gateway.spec.listeners[].port` and `ListenerSet.spec.listeners[].port`
//!   (a ListenerSet shares the map of its parent Gateway),
//! - `*Route.spec.parentRefs[].port` when it names a mapped Gateway port.
//!
//! Nothing else is rewritten (redirect filter ports are absolute values).
//! Requests go to `127.0.0.1:<mapped>` with the Host header the suite
//! would send (the Gateway address, with the *original* port unless it is
//! 80/443). A redirect `Location` whose port is a mapped port is read back
//! as the original port before it is compared.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::objects::{Key, Store};

/// `(gateway namespace, gateway name, original port)` → local port.
#[derive(Debug, Default, Clone)]
pub struct PortMap {
    map: BTreeMap<(String, String, u16), u16>,
}

/// A free local port (bound and released; the caller binds it soon).
pub fn free_port() -> Result<u16, Error> {
    let l = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).map_err(|source| {
        Error::Io {
            what: "finding a free local port".into(),
            source,
        }
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|source| Error::Io {
            what: "finding a free local port".into(),
            source,
        })
}

impl PortMap {
    pub fn new() -> Self {
        PortMap::default()
    }

    /// Insert a fixed mapping (tests of the mapping itself).
    pub fn insert(&mut self, ns: &str, gw: &str, port: u16, local: u16) {
        self.map.insert((ns.to_owned(), gw.to_owned(), port), local);
    }

    pub fn get(&self, ns: &str, gw: &str, port: u16) -> Option<u16> {
        self.map.get(&(ns.to_owned(), gw.to_owned(), port)).copied()
    }

    /// The original port of a mapped local port.
    pub fn original(&self, local: u16) -> Option<u16> {
        self.map
            .iter()
            .find(|(_, l)| **l == local)
            .map(|((_, _, p), _)| *p)
    }

    /// Map every listener port of every Gateway and ListenerSet.
    pub fn assign(&mut self, store: &Store) -> Result<(), Error> {
        let mut wanted = Vec::new();
        for (key, gw) in store.of_kind("Gateway") {
            for port in listener_ports(gw) {
                wanted.push((key.namespace.clone(), key.name.clone(), port));
            }
        }
        for (key, ls) in store.of_kind("ListenerSet") {
            if let Some((ns, name)) = listener_set_parent(key, ls) {
                for port in listener_ports(ls) {
                    wanted.push((ns.clone(), name.clone(), port));
                }
            }
        }
        for k in wanted {
            if let std::collections::btree_map::Entry::Vacant(e) = self.map.entry(k) {
                e.insert(free_port()?);
            }
        }
        Ok(())
    }

    /// The object as shardgate should read it (ports rewritten).
    pub fn rewrite(&self, key: &Key, v: &Value) -> Value {
        let mut v = v.clone();
        match key.kind.as_str() {
            "Gateway" => self.rewrite_listeners(&key.namespace, &key.name, &mut v),
            "ListenerSet" => {
                if let Some((ns, name)) = listener_set_parent(key, &v) {
                    self.rewrite_listeners(&ns, &name, &mut v);
                }
            }
            k if k.ends_with("Route") => self.rewrite_parent_refs(&key.namespace, &mut v),
            _ => {}
        }
        v
    }

    fn rewrite_listeners(&self, ns: &str, name: &str, v: &mut Value) {
        if let Some(ls) = v["spec"]["listeners"].as_array_mut() {
            for l in ls {
                if let Some(local) = l["port"]
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .and_then(|p| self.get(ns, name, p))
                {
                    l["port"] = Value::from(local);
                }
            }
        }
    }

    fn rewrite_parent_refs(&self, route_ns: &str, v: &mut Value) {
        let Some(refs) = v["spec"]["parentRefs"].as_array_mut() else {
            return;
        };
        for r in refs {
            let kind = r["kind"].as_str().unwrap_or("Gateway");
            if kind != "Gateway" {
                continue;
            }
            let ns = r["namespace"].as_str().unwrap_or(route_ns).to_owned();
            let Some(name) = r["name"].as_str().map(str::to_owned) else {
                continue;
            };
            if let Some(local) = r["port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .and_then(|p| self.get(&ns, &name, p))
            {
                r["port"] = Value::from(local);
            }
        }
    }
}

fn listener_ports(v: &Value) -> Vec<u16> {
    v["spec"]["listeners"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .filter_map(|l| l["port"].as_u64().and_then(|p| u16::try_from(p).ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// The Gateway a ListenerSet attaches to.
fn listener_set_parent(key: &Key, v: &Value) -> Option<(String, String)> {
    let p = &v["spec"]["parentRef"];
    let name = p["name"].as_str()?;
    let ns = p["namespace"].as_str().unwrap_or(&key.namespace);
    Some((ns.to_owned(), name.to_owned()))
}

/// The directory shardgate watches; one file per object, written
/// atomically (temporary hidden file + rename) so that the watcher never
/// reads half a file.
#[derive(Debug)]
pub struct ConfigDir {
    path: PathBuf,
    written: HashMap<String, String>,
}

impl ConfigDir {
    pub fn new(path: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(path).map_err(|source| Error::Io {
            what: format!("creating {}", path.display()),
            source,
        })?;
        Ok(ConfigDir {
            path: path.to_path_buf(),
            written: HashMap::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Make the directory hold exactly these `(file name, object)` pairs.
    pub fn sync(&mut self, files: &[(String, Value)]) -> Result<(), Error> {
        let io = |what: String| move |source| Error::Io { what, source };
        let mut keep = HashMap::new();
        for (name, v) in files {
            let text = serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
            if self.written.get(name) != Some(&text) {
                let tmp = self.path.join(format!(".{name}.tmp"));
                let dst = self.path.join(name);
                std::fs::write(&tmp, &text).map_err(io(format!("writing {}", tmp.display())))?;
                std::fs::rename(&tmp, &dst)
                    .map_err(io(format!("renaming to {}", dst.display())))?;
            }
            keep.insert(name.clone(), text);
        }
        for old in self.written.keys() {
            if !keep.contains_key(old) {
                let p = self.path.join(old);
                std::fs::remove_file(&p).map_err(io(format!("removing {}", p.display())))?;
            }
        }
        self.written = keep;
        Ok(())
    }
}

/// A file name for an object: stable, unique, readable.
pub fn file_name(key: &Key) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    if key.namespace.is_empty() {
        format!("{}--{}.yaml", clean(&key.kind), clean(&key.name))
    } else {
        format!(
            "{}--{}--{}.yaml",
            clean(&key.kind),
            clean(&key.namespace),
            clean(&key.name)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn listener_and_parent_ref_ports_are_rewritten() {
        let mut m = PortMap::new();
        m.insert("ns", "gw", 80, 40080);
        m.insert("ns", "gw", 8080, 48080);
        let gw = json!({"kind": "Gateway", "metadata": {"name": "gw", "namespace": "ns"},
            "spec": {"listeners": [{"name": "a", "port": 80}, {"name": "b", "port": 8080}, {"name": "c", "port": 9}]}});
        let out = m.rewrite(&Key::of(&gw).expect("key"), &gw);
        assert_eq!(out["spec"]["listeners"][0]["port"], json!(40080));
        assert_eq!(out["spec"]["listeners"][1]["port"], json!(48080));
        assert_eq!(
            out["spec"]["listeners"][2]["port"],
            json!(9),
            "unmapped ports stay"
        );
        let route = json!({"kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "ns"},
            "spec": {"parentRefs": [{"name": "gw", "port": 8080}, {"name": "gw", "port": 81}, {"name": "other", "port": 80}]}});
        let out = m.rewrite(&Key::of(&route).expect("key"), &route);
        assert_eq!(out["spec"]["parentRefs"][0]["port"], json!(48080));
        assert_eq!(out["spec"]["parentRefs"][1]["port"], json!(81));
        assert_eq!(out["spec"]["parentRefs"][2]["port"], json!(80));
        assert_eq!(m.original(48080), Some(8080));
        assert_eq!(m.original(1), None);
    }

    #[test]
    fn assign_gives_each_gateway_port_its_own_local_port() {
        let mut s = Store::new();
        for name in ["a", "b"] {
            s.apply(
                json!({"kind": "Gateway", "metadata": {"name": name, "namespace": "ns"},
                "spec": {"listeners": [{"name": "http", "port": 80}]}}),
            )
            .expect("apply");
        }
        let mut m = PortMap::new();
        m.assign(&s).expect("assign");
        let a = m.get("ns", "a", 80).expect("a mapped");
        let b = m.get("ns", "b", 80).expect("b mapped");
        assert_ne!(a, b);
        m.assign(&s).expect("again");
        assert_eq!(m.get("ns", "a", 80), Some(a), "mappings are stable");
    }

    #[test]
    fn config_dir_sync_adds_changes_and_removes_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = ConfigDir::new(dir.path()).expect("dir");
        c.sync(&[
            ("a.yaml".into(), json!({"x": 1})),
            ("b.yaml".into(), json!({"y": 2})),
        ])
        .expect("sync");
        c.sync(&[("a.yaml".into(), json!({"x": 3}))]).expect("sync");
        let a = std::fs::read_to_string(dir.path().join("a.yaml")).expect("a");
        assert!(a.contains('3'));
        assert!(!dir.path().join("b.yaml").exists());
        assert_eq!(
            file_name(&Key::new("HTTPRoute", Some("ns"), "r")),
            "HTTPRoute--ns--r.yaml"
        );
    }
}

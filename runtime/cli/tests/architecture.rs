//! The dependency rules that make the architecture, checked on the real
//! dependency graph (`cargo metadata`) and the real sources:
//!
//! * no data-plane crate depends, even transitively, on kube, k8s-openapi,
//!   tokio or any control-plane crate;
//! * the IR crate depends on no async runtime and nothing Kubernetes;
//! * `unsafe` is confined to the runtime and shared-memory crates: every
//!   other crate root carries `#![forbid(unsafe_code)]`.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Graph {
    /// package id → (name, manifest dir)
    packages: BTreeMap<String, (String, PathBuf)>,
    /// package id → ids of its normal (non-dev, non-build) dependencies
    deps: BTreeMap<String, Vec<String>>,
    workspace: Vec<String>,
    root: PathBuf,
}

fn graph() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let mut packages = BTreeMap::new();
    for p in v["packages"].as_array().expect("packages") {
        let manifest = PathBuf::from(p["manifest_path"].as_str().expect("manifest_path"));
        packages.insert(
            p["id"].as_str().expect("id").to_string(),
            (
                p["name"].as_str().expect("name").to_string(),
                manifest.parent().expect("manifest dir").to_path_buf(),
            ),
        );
    }
    let mut deps = BTreeMap::new();
    for n in v["resolve"]["nodes"].as_array().expect("resolve nodes") {
        let normal = n["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k["kind"].is_null()))
            })
            .map(|d| d["pkg"].as_str().expect("pkg").to_string())
            .collect();
        deps.insert(n["id"].as_str().expect("id").to_string(), normal);
    }
    let workspace = v["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m.as_str().expect("member").to_string())
        .collect();
    let root = PathBuf::from(v["workspace_root"].as_str().expect("root"));
    Graph {
        packages,
        deps,
        workspace,
        root,
    }
}

impl Graph {
    fn closure(&self, id: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![id.to_string()];
        while let Some(i) = stack.pop() {
            for d in self.deps.get(&i).into_iter().flatten() {
                if seen.insert(self.packages[d].0.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen
    }

    fn members_under(&self, folder: &str) -> Vec<(String, String, PathBuf)> {
        self.workspace
            .iter()
            .filter_map(|id| {
                let (name, dir) = &self.packages[id];
                dir.strip_prefix(&self.root)
                    .ok()
                    .filter(|rel| rel.starts_with(folder))
                    .map(|_| (id.clone(), name.clone(), dir.clone()))
            })
            .collect()
    }
}

#[test]
fn dataplane_never_depends_on_kubernetes_tokio_or_the_control_plane() {
    let g = graph();
    let controlplane: BTreeSet<String> = g
        .members_under("controlplane")
        .into_iter()
        .map(|(_, name, _)| name)
        .collect();
    assert!(!controlplane.is_empty(), "no control-plane crates found");
    let dataplane = g.members_under("dataplane");
    assert!(
        dataplane.len() >= 5,
        "expected the data-plane crates, found {}",
        dataplane.len()
    );
    for (id, name, _) in dataplane {
        let all = g.closure(&id);
        for banned in [
            "kube",
            "kube-client",
            "kube-runtime",
            "k8s-openapi",
            "tokio",
            "gateway-api",
        ] {
            assert!(!all.contains(banned), "{name} depends on {banned}");
        }
        for cp in &controlplane {
            assert!(
                !all.contains(cp),
                "{name} depends on control-plane crate {cp}"
            );
        }
    }
}

#[test]
fn ir_depends_on_no_runtime_and_nothing_kubernetes() {
    let g = graph();
    let (id, _, _) = g
        .members_under("dataplane/ir")
        .into_iter()
        .next()
        .expect("the IR crate");
    let all = g.closure(&id);
    for banned in [
        "monoio",
        "tokio",
        "io-uring",
        "mio",
        "kube",
        "k8s-openapi",
        "gateway-api",
    ] {
        assert!(!all.contains(banned), "shardgate-ir depends on {banned}");
    }
}

#[test]
fn controlplane_does_not_depend_on_the_proxy() {
    let g = graph();
    for (id, name, _) in g.members_under("controlplane") {
        let all = g.closure(&id);
        for banned in [
            "shardgate-proxy",
            "shardgate-router",
            "shardgate-http1",
            "monoio",
        ] {
            assert!(!all.contains(banned), "{name} depends on {banned}");
        }
    }
}

fn crate_roots(dir: &Path) -> Vec<PathBuf> {
    ["src/lib.rs", "src/main.rs"]
        .iter()
        .map(|r| dir.join(r))
        .filter(|p| p.exists())
        .collect()
}

#[test]
fn unsafe_is_confined_to_runtime_and_snapshot() {
    let g = graph();
    let allowed = ["shardgate-runtime", "shardgate-snapshot"];
    let mut checked = 0;
    for id in &g.workspace {
        let (name, dir) = &g.packages[id];
        for root in crate_roots(dir) {
            let text = std::fs::read_to_string(&root).expect("crate root readable");
            if allowed.contains(&name.as_str()) {
                assert!(
                    text.contains("#![allow(unsafe_code)]"),
                    "{name} should state why it allows unsafe at its root"
                );
            } else {
                assert!(
                    text.contains("#![forbid(unsafe_code)]"),
                    "{} lacks #![forbid(unsafe_code)]",
                    root.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} crate roots checked");
}

//! Running one test: compose objects, start backends and shardgate, wait
//! for status, execute the cases in order.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::certs::SuiteSecrets;
use crate::client::{self, Target};
use crate::corpus::{Corpus, StatusAssertion, StepKind, TestCase};
use crate::echo::EchoPool;
use crate::gateway::Shardgate;
use crate::objects::{Key, Placeholders, Store, parse_yaml_documents};
use crate::pods::{self, IpAllocator};
use crate::ports::{ConfigDir, PortMap, file_name};
use crate::statuscheck::{self, StatusView};
use crate::{Error, Options, actions};

const BASE_MANIFESTS: &str = "base/manifests.yaml";
const READINESS_SKIP: &str = "gateway-api/skip-this-for-readiness";
const BASE_NAMESPACES: &[&str] = &[
    "gateway-conformance-infra",
    "gateway-conformance-app-backend",
    "gateway-conformance-web-backend",
];

/// Manual EndpointSlices the suite fills with a Deployment's pod IPs
/// (test name, Deployment), see HTTPRouteServiceTypes' notes.
const MANUAL_SLICES: &[(&str, &str)] = &[("HTTPRouteServiceTypes", "infra-backend-v1")];

/// State shared by all tests of a run.
pub struct Shared<'a> {
    pub opts: &'a Options,
    pub corpus: &'a Corpus,
    pub secrets: SuiteSecrets,
    /// DER of `secrets.trusted_cert_pem`.
    pub trusted_cert: Vec<u8>,
    pub ips: IpAllocator,
    pub echoes: EchoPool,
    pub work: PathBuf,
    pub placeholders: Placeholders,
    pub runs: usize,
}

/// One test's world.
struct World {
    name: String,
    store: Store,
    ports: PortMap,
    dir: ConfigDir,
}

impl Shared<'_> {
    fn gateway_class(&self) -> Value {
        json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": self.opts.gateway_class},
            "spec": {"controllerName": self.opts.controller_name},
        })
    }

    /// Base manifests, generated secrets, the GatewayClass, then (one
    /// minute later) the test's manifests.
    fn compose(&self, test_manifests: &[String]) -> Result<Store, Error> {
        let mut store = Store::new();
        store.apply(self.gateway_class())?;
        let base = self
            .placeholders
            .apply(&self.corpus.manifest_text(BASE_MANIFESTS)?);
        for d in parse_yaml_documents(BASE_MANIFESTS, &base)? {
            store.apply(d)?;
        }
        for s in &self.secrets.objects {
            store.apply(s.clone())?;
        }
        store.tick(60);
        for m in test_manifests {
            let text = self.placeholders.apply(&self.corpus.manifest_text(m)?);
            for d in parse_yaml_documents(m, &text)? {
                store.apply(d)?;
            }
        }
        store.tick(60);
        Ok(store)
    }

    fn world(&mut self, name: &str, manifests: &[String]) -> Result<World, Error> {
        self.runs += 1;
        let store = self.compose(manifests)?;
        let dir = ConfigDir::new(
            &self
                .work
                .join(format!("{:03}-{name}", self.runs))
                .join("config"),
        )?;
        Ok(World {
            name: name.to_owned(),
            store,
            ports: PortMap::new(),
            dir,
        })
    }

    /// Write the world as shardgate reads it, starting backends first.
    fn publish(&mut self, w: &mut World) -> Result<(), Error> {
        w.ports.assign(&w.store)?;
        let pods = pods::pods(&w.store, &mut self.ips);
        let targets = pods::echo_targets(&w.store, &pods);
        self.echoes.ensure(&targets)?;
        let manual = MANUAL_SLICES
            .iter()
            .find(|(t, _)| *t == w.name)
            .map(|(_, d)| *d);
        let mut files = Vec::new();
        for (key, v) in w.store.iter() {
            match key.kind.as_str() {
                "Deployment" => continue,
                "EndpointSlice" => {
                    let mut v = v.clone();
                    if let Some(d) = manual {
                        pods::fill_manual_slice(&mut v, d, &pods);
                    }
                    files.push((file_name(key), v));
                }
                _ => files.push((file_name(key), w.ports.rewrite(key, v))),
            }
            if key.kind == "Service"
                && let Some(slice) = pods::endpoint_slice(key, v, &pods)
                && let Some(k) = Key::of(&slice)
            {
                files.push((file_name(&k), slice));
            }
        }
        w.dir.sync(&files)
    }

    fn start(&self, w: &World) -> Result<Shardgate, String> {
        let log = w.dir.path().with_file_name("shardgate.log");
        let mut sg = Shardgate::start(
            &self.opts.shardgate,
            w.dir.path(),
            &log,
            &self.runs.to_string(),
        )
        .map_err(|e| e.to_string())?;
        sg.wait_admin(Duration::from_secs(15))?;
        Ok(sg)
    }
}

/// Poll `/status` until every assertion holds; the error is the first
/// failing assertion at the deadline.
fn wait_status(
    sg: &mut Shardgate,
    w: &World,
    list: &[StatusAssertion],
    controller: &str,
    before: &BTreeMap<Key, i64>,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = sg.exited() {
            return Err(format!(
                "shardgate exited ({s}); see {}",
                sg.log_path().display()
            ));
        }
        let r = sg.status().and_then(|docs| {
            let view = StatusView {
                docs: &docs,
                store: &w.store,
                controller_name: controller,
                generation_before: before,
            };
            list.iter()
                .try_for_each(|a| statuscheck::check(a, list, &view))
        });
        match r {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn generations(store: &Store) -> BTreeMap<Key, i64> {
    store
        .iter()
        .filter_map(|(k, _)| store.generation(k).map(|g| (k.clone(), g)))
        .collect()
}

/// The status assertions implied by the test's `gateways`: an address.
fn address_assertions(t: &TestCase) -> Vec<StatusAssertion> {
    t.gateways
        .iter()
        .map(|g| StatusAssertion {
            kind: "Gateway".into(),
            namespace: Some(g.namespace.clone()),
            name: g.name.clone(),
            has_address: true,
            ..assertion_template()
        })
        .collect()
}

/// Where a request of `t` goes.
fn target_for(
    t: &TestCase,
    w: &World,
    gateway: Option<&str>,
    port: Option<u16>,
) -> Result<Target, String> {
    let g = match gateway {
        Some(name) => t
            .gateways
            .iter()
            .find(|g| g.name == name)
            .cloned()
            .or_else(|| {
                t.gateways.first().map(|f| crate::corpus::GatewayTarget {
                    namespace: f.namespace.clone(),
                    name: name.to_owned(),
                    listener: None,
                    port: None,
                })
            }),
        None => t.gateways.first().cloned(),
    }
    .ok_or("the test names no Gateway to send requests to")?;
    let gw = w
        .store
        .get(&Key::new("Gateway", Some(&g.namespace), &g.name))
        .ok_or_else(|| {
            format!(
                "Gateway {}/{} is not among the objects",
                g.namespace, g.name
            )
        })?;
    let listeners = gw["spec"]["listeners"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let port = port
        .or(g.port)
        .or_else(|| {
            g.listener.as_ref().and_then(|name| {
                listeners
                    .iter()
                    .find(|l| l["name"].as_str() == Some(name.as_str()))
                    .and_then(|l| l["port"].as_u64())
                    .and_then(|p| u16::try_from(p).ok())
            })
        })
        .or_else(|| {
            listeners
                .first()
                .and_then(|l| l["port"].as_u64())
                .and_then(|p| u16::try_from(p).ok())
        })
        .ok_or_else(|| format!("Gateway {}/{} has no listener port", g.namespace, g.name))?;
    Ok(Target {
        ip: Ipv4Addr::LOCALHOST,
        gateway_ns: g.namespace,
        gateway: g.name,
        port,
    })
}

fn step_label(i: usize, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("cases[{i}] ({n})"),
        None => format!("cases[{i}]"),
    }
}

/// Run one test whose features are claimed. `Err` = the first failure.
pub fn run_test(sh: &mut Shared<'_>, t: &TestCase) -> Result<(), String> {
    let mut w = sh
        .world(&t.name, &t.manifests)
        .map_err(|e| format!("setup: {e}"))?;
    sh.publish(&mut w).map_err(|e| format!("setup: {e}"))?;
    let mut sg = sh
        .start(&w)
        .map_err(|e| format!("starting shardgate: {e}"))?;
    let controller = sh.opts.controller_name.clone();
    let mut before = generations(&w.store);
    let mut initial = t.status.clone();
    initial.extend(address_assertions(t));
    wait_status(
        &mut sg,
        &w,
        &initial,
        &controller,
        &before,
        sh.opts.status_timeout,
    )
    .map_err(|e| format!("status: {e}"))?;
    for (i, step) in t.cases.iter().enumerate() {
        let label = step_label(i, step.name.as_deref());
        match step.kind().map_err(|e| format!("{label}: {e}"))? {
            StepKind::Request(r, e) => {
                let target = target_for(t, &w, r.gateway.as_deref(), r.port)
                    .map_err(|m| format!("{label}: {m}"))?;
                let ctx = client::Ctx {
                    ports: &w.ports,
                    echoes: &sh.echoes,
                    consistency_timeout: sh.opts.consistency_timeout,
                    trusted_cert: &sh.trusted_cert,
                };
                client::run_case(&ctx, &target, r, e, step.repeat).map_err(|m| {
                    format!(
                        "{label} {} {}{}: {m}",
                        r.method.as_deref().unwrap_or("GET"),
                        r.path.as_deref().unwrap_or("/"),
                        r.host
                            .as_deref()
                            .map(|h| format!(" (Host {h})"))
                            .unwrap_or_default()
                    )
                })?;
            }
            StepKind::Action(a) => {
                before = generations(&w.store);
                actions::apply(&mut w.store, a).map_err(|m| format!("{label}: {m}"))?;
                sh.publish(&mut w).map_err(|m| format!("{label}: {m}"))?;
            }
            StepKind::Status(list) => {
                wait_status(
                    &mut sg,
                    &w,
                    list,
                    &controller,
                    &before,
                    sh.opts.status_timeout,
                )
                .map_err(|m| format!("{label} status: {m}"))?;
            }
        }
    }
    sg.stop(Duration::from_secs(5));
    Ok(())
}

/// The suite's setup check: with the base manifests only, the
/// GatewayClass is Accepted and every base Gateway (not annotated
/// skip-for-readiness) is Accepted and Programmed at its generation.
/// Returns the features the GatewayClass publishes in
/// `status.supportedFeatures`.
pub fn setup_check(sh: &mut Shared<'_>) -> Result<Vec<String>, String> {
    let mut w = sh.world("SuiteSetup", &[]).map_err(|e| e.to_string())?;
    sh.publish(&mut w).map_err(|e| e.to_string())?;
    let mut sg = sh.start(&w)?;
    let accepted_programmed: Vec<crate::corpus::ExpectedCondition> = ["Accepted", "Programmed"]
        .iter()
        .map(|c| crate::corpus::ExpectedCondition {
            type_: (*c).into(),
            status: Some("True".into()),
            reason: None,
        })
        .collect();
    let mut list = Vec::new();
    let class = StatusAssertion {
        kind: "GatewayClass".into(),
        namespace: None,
        name: sh.opts.gateway_class.clone(),
        conditions: accepted_programmed[..1].to_vec(),
        latest_observed_generation: true,
        ..assertion_template()
    };
    list.push(class);
    for (key, gw) in w.store.of_kind("Gateway") {
        if !BASE_NAMESPACES.contains(&key.namespace.as_str())
            || gw["metadata"]["annotations"][READINESS_SKIP].as_str() == Some("true")
        {
            continue;
        }
        list.push(StatusAssertion {
            kind: "Gateway".into(),
            namespace: Some(key.namespace.clone()),
            name: key.name.clone(),
            conditions: accepted_programmed.clone(),
            ..assertion_template()
        });
    }
    let before = generations(&w.store);
    let controller = sh.opts.controller_name.clone();
    let r = wait_status(
        &mut sg,
        &w,
        &list,
        &controller,
        &before,
        sh.opts.status_timeout,
    )
    .and_then(|()| supported_features(&sg, &sh.opts.gateway_class));
    sg.stop(Duration::from_secs(5));
    r
}

/// `status.supportedFeatures[].name` of GatewayClass `class`.
fn supported_features(sg: &Shardgate, class: &str) -> Result<Vec<String>, String> {
    let objects = sg.status()?;
    let found = objects
        .iter()
        .find(|o| o["kind"] == "GatewayClass" && o["metadata"]["name"] == class)
        .ok_or_else(|| format!("GatewayClass {class} has no status"))?;
    let list = found["status"]["supportedFeatures"]
        .as_array()
        .ok_or_else(|| format!("GatewayClass {class} publishes no status.supportedFeatures"))?;
    list.iter()
        .map(|f| {
            f["name"].as_str().map(str::to_owned).ok_or_else(|| {
                format!("GatewayClass {class}: a supportedFeatures entry has no name: {f}")
            })
        })
        .collect()
}

fn assertion_template() -> StatusAssertion {
    StatusAssertion {
        kind: String::new(),
        namespace: None,
        name: String::new(),
        listener: None,
        conditions: Vec::new(),
        parent: None,
        ancestor: None,
        no_accepted_parents: false,
        zero_routes: false,
        listeners_exact: None,
        attached_listener_sets: None,
        has_address: false,
        latest_observed_generation: false,
        generation_changed: false,
        status_addresses: None,
        case: None,
    }
}

/// The run's scratch directory.
pub fn work_dir(opts: &Options) -> Result<(PathBuf, Option<tempfile::TempDir>), Error> {
    match &opts.work_dir {
        Some(p) => {
            std::fs::create_dir_all(p).map_err(|source| Error::Io {
                what: format!("creating {}", p.display()),
                source,
            })?;
            Ok((p.clone(), None))
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("shardgate-conformance-")
                .tempdir()
                .map_err(|source| Error::Io {
                    what: "creating a temporary directory".into(),
                    source,
                })?;
            Ok((t.path().to_path_buf(), Some(t)))
        }
    }
}

/// Is this path a directory in the corpus format?
pub fn is_corpus(p: &Path) -> bool {
    p.join("cases").is_dir() && p.join("manifests").join(BASE_MANIFESTS).is_file()
}

//! Deployments become pods, pods become echo processes and EndpointSlices.
//!
//! shardgate's file provider does not understand Deployments or Pods, so
//! the runner plays kube-controller-manager: every Deployment replica is a
//! pod with a Kubernetes-shaped name (`<deployment>-<10 chars>-<5 chars>`,
//! the suite derives the backend from it) and its own loopback address
//! (`127.<octet>.x.y`). The pod's echo server listens on that address at
//! the container port the Service targets (3000, 3001, ...), exactly as a
//! pod would, so EndpointSlices look like a cluster's: pod IPs plus target
//! ports. Each Service with a selector gets one EndpointSlice listing its
//! ready pods.

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use crate::objects::{Key, Store};

/// What kind of server a pod runs, from its image and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodMode {
    /// echo-basic over HTTP/1.1 (the ports `shardgate echo` can serve).
    HttpEcho { tls_port: bool },
    /// A server the runner cannot emulate (gRPC, TCP or UDP echo, DNS).
    Unsupported(String),
}

/// One pod of a Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    pub deployment: String,
    pub labels: BTreeMap<String, String>,
    pub service_env: Option<String>,
    pub mode: PodMode,
    pub ip: Ipv4Addr,
}

impl Pod {
    /// Can the runner serve this container port with `shardgate echo`?
    /// echo-basic serves HTTP on 3000 and h2c (which also accepts
    /// HTTP/1.1) on 3001, and HTTPS on 8443 when a certificate is set;
    /// `shardgate echo` speaks HTTP/1.1 without TLS.
    pub fn serves(&self, port: u16) -> bool {
        match &self.mode {
            PodMode::HttpEcho { tls_port } => !(*tls_port && port == 8443),
            PodMode::Unsupported(_) => false,
        }
    }
}

/// Stable pod addresses for the whole run: the same pod keeps its address
/// (and its echo processes) from one test to the next.
#[derive(Debug)]
pub struct IpAllocator {
    octet: u8,
    assigned: HashMap<(String, String), Ipv4Addr>,
}

impl IpAllocator {
    /// Pods get `127.<octet>.x.y`.
    pub fn new(octet: u8) -> Self {
        IpAllocator {
            octet,
            assigned: HashMap::new(),
        }
    }

    pub fn ip(&mut self, namespace: &str, pod: &str) -> Ipv4Addr {
        let n = self.assigned.len();
        let octet = self.octet;
        *self
            .assigned
            .entry((namespace.to_owned(), pod.to_owned()))
            .or_insert_with(|| Ipv4Addr::new(127, octet, (n / 250) as u8, (n % 250 + 1) as u8))
    }
}

const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `len` characters of Kubernetes' name-suffix alphabet from a seed.
fn suffix(seed: &str, len: usize) -> String {
    // FNV-1a, then a small LCG for the characters.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (0..len)
        .map(|_| {
            h = h
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(NAME_ALPHABET[((h >> 33) % NAME_ALPHABET.len() as u64) as usize])
        })
        .collect()
}

fn env_names(container: &Value) -> Vec<(String, Option<String>)> {
    container["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let name = e["name"].as_str()?.to_owned();
                    Some((name, e["value"].as_str().map(str::to_owned)))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn mode_of(container: &Value) -> PodMode {
    let image = container["image"].as_str().unwrap_or("");
    if !image.contains("echo-basic") {
        return PodMode::Unsupported(format!("image {image}"));
    }
    let env = env_names(container);
    let has = |n: &str| env.iter().any(|(k, _)| k == n);
    for special in ["GRPC_ECHO_SERVER", "TCP_ECHO_SERVER", "UDP_ECHO_SERVER"] {
        if has(special) {
            return PodMode::Unsupported(special.to_owned());
        }
    }
    PodMode::HttpEcho {
        tls_port: has("TLS_SERVER_CERT"),
    }
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// The pods of every Deployment in the store.
pub fn pods(store: &Store, ips: &mut IpAllocator) -> Vec<Pod> {
    let mut out = Vec::new();
    for (key, d) in store.of_kind("Deployment") {
        let replicas = d["spec"]["replicas"].as_u64().unwrap_or(1);
        let template = &d["spec"]["template"];
        let labels = string_map(&template["metadata"]["labels"]);
        let container = &template["spec"]["containers"][0];
        let mode = mode_of(container);
        let service_env = env_names(container)
            .into_iter()
            .find(|(k, _)| k == "SERVICE_NAME")
            .and_then(|(_, v)| v);
        let rs = suffix(&format!("{}/{}", key.namespace, key.name), 10);
        for i in 0..replicas {
            let name = format!(
                "{}-{}-{}",
                key.name,
                rs,
                suffix(&format!("{}/{}/{i}", key.namespace, key.name), 5)
            );
            let ip = ips.ip(&key.namespace, &name);
            out.push(Pod {
                namespace: key.namespace.clone(),
                name,
                deployment: key.name.clone(),
                labels: labels.clone(),
                service_env: service_env.clone(),
                mode: mode.clone(),
                ip,
            });
        }
    }
    out
}

/// A Service port: name, protocol, appProtocol, target port number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub name: Option<String>,
    pub protocol: String,
    pub app_protocol: Option<String>,
    pub target: u16,
}

/// The ports of a Service (`targetPort` defaults to `port`; named target
/// ports are not used by the corpus and are skipped).
pub fn service_ports(svc: &Value) -> Vec<ServicePort> {
    let Some(ports) = svc["spec"]["ports"].as_array() else {
        return Vec::new();
    };
    ports
        .iter()
        .filter_map(|p| {
            let target = match &p["targetPort"] {
                Value::Null => p["port"].as_u64(),
                v => v.as_u64(),
            }?;
            Some(ServicePort {
                name: p["name"].as_str().map(str::to_owned),
                protocol: p["protocol"].as_str().unwrap_or("TCP").to_owned(),
                app_protocol: p["appProtocol"].as_str().map(str::to_owned),
                target: u16::try_from(target).ok()?,
            })
        })
        .collect()
}

/// Pods selected by a Service's selector (same namespace, labels superset).
pub fn selected<'a>(svc_key: &Key, svc: &Value, pods: &'a [Pod]) -> Vec<&'a Pod> {
    let selector = string_map(&svc["spec"]["selector"]);
    if selector.is_empty() {
        return Vec::new();
    }
    pods.iter()
        .filter(|p| {
            p.namespace == svc_key.namespace
                && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
        })
        .collect()
}

fn endpoint(p: &Pod) -> Value {
    json!({
        "addresses": [p.ip.to_string()],
        "conditions": {"ready": true, "serving": true, "terminating": false},
        "targetRef": {"kind": "Pod", "namespace": p.namespace, "name": p.name},
    })
}

fn slice_ports(ports: &[ServicePort]) -> Vec<Value> {
    ports
        .iter()
        .map(|sp| {
            let mut v = json!({"port": sp.target, "protocol": sp.protocol});
            if let Some(n) = &sp.name {
                v["name"] = json!(n);
            }
            if let Some(a) = &sp.app_protocol {
                v["appProtocol"] = json!(a);
            }
            v
        })
        .collect()
}

/// Pods that can serve every port of the Service (a pod missing one of
/// them would be a half-working endpoint; it is left out instead).
fn serving<'a>(pods: &[&'a Pod], ports: &[ServicePort]) -> Vec<&'a Pod> {
    pods.iter()
        .copied()
        .filter(|p| {
            ports
                .iter()
                .all(|sp| sp.protocol == "TCP" && p.serves(sp.target))
        })
        .collect()
}

/// The EndpointSlice the EndpointSlice controller would write for a
/// Service with a selector.
pub fn endpoint_slice(svc_key: &Key, svc: &Value, pods: &[Pod]) -> Option<Value> {
    if svc["spec"]["selector"].is_null() {
        return None;
    }
    let ports = service_ports(svc);
    let chosen = serving(&selected(svc_key, svc, pods), &ports);
    Some(json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": format!("{}-{}", svc_key.name, suffix(&format!("slice/{}/{}", svc_key.namespace, svc_key.name), 5)),
            "namespace": svc_key.namespace,
            "labels": {"kubernetes.io/service-name": svc_key.name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
        },
        "addressType": "IPv4",
        "ports": slice_ports(&ports),
        "endpoints": chosen.iter().map(|p| endpoint(p)).collect::<Vec<_>>(),
    }))
}

/// Fill a manifest EndpointSlice that has no endpoints with the pods of
/// `deployment` (what the suite does for HTTPRouteServiceTypes: it patches
/// the manual slices with the pod IPs of a Deployment). IPv6 slices stay
/// empty: the runner's pods have IPv4 addresses only.
pub fn fill_manual_slice(slice: &mut Value, deployment: &str, pods: &[Pod]) {
    if slice["addressType"].as_str() != Some("IPv4") || !slice["endpoints"].is_null() {
        return;
    }
    let ns = slice["metadata"]["namespace"].as_str().unwrap_or("");
    let eps: Vec<Value> = pods
        .iter()
        .filter(|p| p.namespace == ns && p.deployment == deployment)
        .map(endpoint)
        .collect();
    slice["endpoints"] = Value::Array(eps);
}

/// The echo processes a set of pods needs: `(pod, port)` for every target
/// port of every Service selecting the pod that `shardgate echo` serves.
pub fn echo_targets<'a>(store: &Store, pods: &'a [Pod]) -> Vec<(&'a Pod, u16)> {
    let mut out: Vec<(&Pod, u16)> = Vec::new();
    for (key, svc) in store.of_kind("Service") {
        let ports = service_ports(svc);
        for p in serving(&selected(key, svc, pods), &ports) {
            for sp in &ports {
                if !out
                    .iter()
                    .any(|(q, port)| q.name == p.name && *port == sp.target)
                {
                    out.push((p, sp.target));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let mut s = Store::new();
        for v in [
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "ns"},
                   "spec": {"selector": {"app": "web"}, "ports": [
                       {"name": "http", "port": 8080, "targetPort": 3000},
                       {"name": "h2c", "port": 8081, "targetPort": 3001, "appProtocol": "kubernetes.io/h2c"}]}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
                   "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}},
                   "spec": {"containers": [{"image": "registry.k8s.io/gateway-api/conformance/echo-basic:v0.1.0"}]}}}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "grpc", "namespace": "ns"},
                   "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                   "spec": {"containers": [{"image": "x/echo-basic:v0.1.0", "env": [{"name": "GRPC_ECHO_SERVER", "value": "1"}]}]}}}}),
        ] {
            s.apply(v).expect("apply");
        }
        s
    }

    #[test]
    fn deployments_become_named_addressed_pods() {
        let s = store();
        let mut ips = IpAllocator::new(90);
        let pods = pods(&s, &mut ips);
        assert_eq!(pods.len(), 3);
        let web: Vec<&Pod> = pods.iter().filter(|p| p.deployment == "web").collect();
        assert_eq!(web.len(), 2);
        for p in &web {
            // deployment name + two generated parts, as the suite expects.
            let parts: Vec<&str> = p.name.rsplitn(3, '-').collect();
            assert_eq!(parts.len(), 3);
            assert_eq!(parts[0].len(), 5);
            assert_eq!(parts[1].len(), 10);
            assert_eq!(parts[2], "web");
        }
        assert_ne!(web[0].name, web[1].name);
        assert_ne!(web[0].ip, web[1].ip);
        // Stable across calls.
        let again = super::pods(&s, &mut ips);
        assert_eq!(pods, again);
    }

    #[test]
    fn slices_list_only_pods_the_runner_can_serve() {
        let s = store();
        let pods = pods(&s, &mut IpAllocator::new(90));
        let key = Key::new("Service", Some("ns"), "web");
        let svc = s.get(&key).expect("service");
        let slice = endpoint_slice(&key, svc, &pods).expect("selector service");
        let eps = slice["endpoints"].as_array().expect("endpoints");
        assert_eq!(eps.len(), 2, "the gRPC pod is left out: {slice}");
        assert_eq!(
            slice["ports"][0],
            json!({"name": "http", "port": 3000, "protocol": "TCP"})
        );
        assert_eq!(slice["ports"][1]["appProtocol"], json!("kubernetes.io/h2c"));
        assert_eq!(
            slice["metadata"]["labels"]["kubernetes.io/service-name"],
            json!("web")
        );
        let targets = echo_targets(&s, &pods);
        assert_eq!(targets.len(), 4, "two pods x two target ports");
    }

    #[test]
    fn manual_ipv4_slices_are_filled_and_ipv6_left_empty() {
        let s = store();
        let pods = pods(&s, &mut IpAllocator::new(90));
        let mut v4 = json!({"kind": "EndpointSlice", "metadata": {"name": "m4", "namespace": "ns"}, "addressType": "IPv4"});
        let mut v6 = json!({"kind": "EndpointSlice", "metadata": {"name": "m6", "namespace": "ns"}, "addressType": "IPv6"});
        fill_manual_slice(&mut v4, "web", &pods);
        fill_manual_slice(&mut v6, "web", &pods);
        assert_eq!(v4["endpoints"].as_array().map(Vec::len), Some(2));
        assert!(v6["endpoints"].is_null());
    }
}

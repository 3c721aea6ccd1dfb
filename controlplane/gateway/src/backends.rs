//! backendRefs → Services → EndpointSlices → clusters of endpoints.

use crate::grants::{self, From, To};
use crate::objects::{ObjectKey, Objects};
use crate::refs::BackendRef;
use k8s_openapi::api::core::v1::ServicePort;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use shardgate_ir::{Cluster, Endpoint};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Service port `appProtocol` values that name a protocol the data plane
/// cannot use towards a backend: HTTP/2 in cleartext and TLS. Other values
/// (none, `http`, `kubernetes.io/ws`, or names this list does not know) go
/// on being served over HTTP/1.1, as before.
const NOT_HTTP1: &[&str] = &[
    "kubernetes.io/h2c",
    "h2c",
    "grpc",
    "https",
    "kubernetes.io/wss",
];

/// Where one backendRef's share of traffic goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A resolved Service port, by cluster name.
    Cluster(String),
    /// Unresolvable: answered with 500.
    Invalid,
}

/// Why a backendRef could not be resolved, with the HTTPRoute
/// `ResolvedRefs` reason it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefProblem {
    pub reason: &'static str,
    pub message: String,
}

/// A rule's backends, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedBackends {
    /// Weighted targets with a positive weight, in backendRef order.
    pub targets: Vec<(u32, Target)>,
    /// For each target, the position of its backendRef in the rule.
    pub refs: Vec<usize>,
    /// Every cluster a target names, built from the objects.
    pub clusters: Vec<Cluster>,
    /// One entry per unresolved backendRef, in order.
    pub problems: Vec<RefProblem>,
}

/// Resolve the backendRefs of one rule of the route `route` (its group,
/// kind and namespace decide which ReferenceGrants apply).
pub fn resolve(objects: &Objects, route: From<'_>, refs: &[BackendRef]) -> ResolvedBackends {
    let mut out = ResolvedBackends::default();
    for (i, r) in refs.iter().enumerate() {
        let weight = u32::try_from(r.weight.unwrap_or(1)).unwrap_or(0);
        let target = match resolve_one(objects, route, r) {
            Ok(cluster) => {
                let t = Target::Cluster(cluster.name.clone());
                if !out.clusters.iter().any(|c| c.name == cluster.name) {
                    out.clusters.push(cluster);
                }
                t
            }
            Err(p) => {
                out.problems.push(p);
                Target::Invalid
            }
        };
        if weight > 0 {
            out.targets.push((weight, target));
            out.refs.push(i);
        }
    }
    out
}

fn resolve_one(objects: &Objects, route: From<'_>, r: &BackendRef) -> Result<Cluster, RefProblem> {
    let group = r.group.as_deref().unwrap_or("");
    let kind = r.kind.as_deref().unwrap_or("Service");
    if !group.is_empty() || kind != "Service" {
        return Err(RefProblem {
            reason: "InvalidKind",
            message: format!(
                "backendRef {}: kind {kind:?} of group {group:?} is not supported; only core Services are",
                r.name
            ),
        });
    }
    let ns = r.namespace.as_deref().unwrap_or(route.namespace);
    let to = To {
        group: "",
        kind: "Service",
        namespace: ns,
        name: &r.name,
    };
    if !grants::permitted(objects, route, to) {
        return Err(RefProblem {
            reason: "RefNotPermitted",
            message: format!(
                "backendRef Service {ns}/{}: no ReferenceGrant in namespace {ns} allows {} from namespace {} to refer to it",
                r.name, route.kind, route.namespace
            ),
        });
    }
    let not_found = |message: String| RefProblem {
        reason: "BackendNotFound",
        message,
    };
    let Some(port) = r.port else {
        return Err(not_found(format!(
            "backendRef {ns}/{}: port is required for a Service",
            r.name
        )));
    };
    let key = ObjectKey::new(ns, r.name.clone());
    let Some(svc) = objects.services.get(&key) else {
        return Err(not_found(format!("Service {key} not found")));
    };
    let svc_port = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .and_then(|ports| ports.iter().find(|p| p.port == port));
    let Some(svc_port) = svc_port else {
        return Err(not_found(format!("Service {key} has no port {port}")));
    };
    if route.kind == "HTTPRoute"
        && let Some(proto) = svc_port
            .app_protocol
            .as_deref()
            .filter(|p| NOT_HTTP1.contains(p))
    {
        return Err(RefProblem {
            reason: "UnsupportedProtocol",
            message: format!(
                "Service {key} port {port} has appProtocol {proto}, which the data plane cannot speak to a backend yet (it speaks HTTP/1.1 in cleartext)"
            ),
        });
    }
    let mut cluster = Cluster::new(format!("{key}:{port}"), endpoints(objects, &key, svc_port));
    cluster.app_protocol = svc_port.app_protocol.clone();
    Ok(cluster)
}

/// Ready endpoints of a Service port, from its EndpointSlices; sorted and
/// deduplicated so that the output is stable.
fn endpoints(objects: &Objects, svc: &ObjectKey, svc_port: &ServicePort) -> Vec<Endpoint> {
    let port_name = svc_port.name.as_deref().unwrap_or("");
    let mut addrs = BTreeSet::new();
    for (key, slice) in &objects.endpoint_slices {
        let owner = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL));
        if key.namespace != svc.namespace || owner != Some(&svc.name) {
            continue;
        }
        let Some(port) = slice_port(slice, port_name) else {
            continue;
        };
        for ep in slice.endpoints.iter().flatten() {
            let ready = ep.conditions.as_ref().and_then(|c| c.ready) != Some(false);
            if !ready {
                continue;
            }
            for a in &ep.addresses {
                match a.parse::<IpAddr>() {
                    Ok(ip) => {
                        addrs.insert(SocketAddr::new(ip, port));
                    }
                    Err(_) => tracing::debug!(
                        slice = %key,
                        address = %a,
                        "skipping an endpoint address that is not an IP"
                    ),
                }
            }
        }
    }
    addrs.into_iter().map(|addr| Endpoint { addr }).collect()
}

/// The slice's port for the Service port named `name`: the port with that
/// name, or, for an unnamed Service port, the slice's only port.
fn slice_port(slice: &EndpointSlice, name: &str) -> Option<u16> {
    let ports = slice.ports.as_deref().unwrap_or_default();
    let named = ports
        .iter()
        .find(|p| p.name.as_deref().unwrap_or("") == name);
    let chosen = match (named, name.is_empty(), ports) {
        (Some(p), _, _) => Some(p),
        (None, true, [only]) => Some(only),
        _ => None,
    };
    chosen
        .and_then(|p| p.port)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(yaml: &str) -> Objects {
        let mut o = Objects::new();
        o.load_str("t.yaml", yaml);
        assert!(o.errors.is_empty(), "{:?}", o.errors);
        o
    }

    const ROUTE: From<'static> = From {
        group: "gateway.networking.k8s.io",
        kind: "HTTPRoute",
        namespace: "ns",
    };

    fn backend(name: &str, port: Option<i32>, weight: Option<i32>) -> BackendRef {
        BackendRef {
            name: name.to_owned(),
            port,
            weight,
            ..Default::default()
        }
    }

    const SVC: &str = "\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns}
spec:
  ports:
  - {name: http, port: 80, appProtocol: http}
  - {name: admin, port: 9000}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: ns
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports:
- {name: http, port: 8080}
- {name: admin, port: 9001}
endpoints:
- addresses: [10.0.0.2]
- addresses: [10.0.0.1]
  conditions: {ready: true}
- addresses: [10.0.0.3]
  conditions: {ready: false}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: other
  namespace: ns
  labels: {kubernetes.io/service-name: not-web}
addressType: IPv4
ports: [{name: http, port: 1}]
endpoints: [{addresses: [10.9.9.9]}]
";

    #[test]
    fn resolves_by_port_name_and_readiness() {
        let o = objects(SVC);
        let r = resolve(&o, ROUTE, &[backend("web", Some(80), None)]);
        assert!(r.problems.is_empty());
        assert_eq!(r.targets, vec![(1, Target::Cluster("ns/web:80".into()))]);
        let eps: Vec<String> = r.clusters[0]
            .endpoints
            .iter()
            .map(|e| e.addr.to_string())
            .collect();
        assert_eq!(eps, ["10.0.0.1:8080", "10.0.0.2:8080"]);
        assert_eq!(r.clusters[0].app_protocol.as_deref(), Some("http"));
        let admin = resolve(&o, ROUTE, &[backend("web", Some(9000), None)]);
        assert_eq!(admin.clusters[0].endpoints[0].addr.port(), 9001);
    }

    #[test]
    fn problems_and_weights() {
        let o = objects(SVC);
        let r = resolve(
            &o,
            ROUTE,
            &[
                backend("web", Some(81), Some(2)),
                backend("gone", Some(80), Some(0)),
                backend("web", Some(80), Some(3)),
                backend("web", Some(80), Some(1)),
            ],
        );
        let reasons: Vec<_> = r.problems.iter().map(|p| p.reason).collect();
        assert_eq!(reasons, ["BackendNotFound", "BackendNotFound"]);
        assert_eq!(
            r.targets,
            vec![
                (2, Target::Invalid),
                (3, Target::Cluster("ns/web:80".into())),
                (1, Target::Cluster("ns/web:80".into()))
            ]
        );
        assert_eq!(r.clusters.len(), 1);
        let mut kind = backend("web", Some(80), None);
        kind.kind = Some("Pod".into());
        assert_eq!(
            resolve(&o, ROUTE, &[kind]).problems[0].reason,
            "InvalidKind"
        );
        let mut other_ns = backend("web", Some(80), None);
        other_ns.namespace = Some("elsewhere".into());
        assert_eq!(
            resolve(&o, ROUTE, &[other_ns]).problems[0].reason,
            "RefNotPermitted"
        );
    }
}

//! The Gateway API configuration the control-plane benchmarks write: one
//! Gateway with an HTTP listener, Services backed by `shardgate echo`
//! processes, and N generated HTTPRoutes sharing one hostname (so they
//! land in one virtual host, the worst case for lookup and compile).

use std::fmt::Write as _;
use std::net::SocketAddr;

/// The namespace of every generated object.
pub const NS: &str = "lab";
const GATEWAY: &str = "gw";
/// Port of every generated Service (backendRefs use it).
const SERVICE_PORT: u16 = 80;
/// The hostname the N bulk routes share.
pub const BULK_HOST: &str = "routes.lab.test";

/// Namespace, GatewayClass and a Gateway with one HTTP listener on `port`.
pub fn gateway(port: u16) -> String {
    format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: shardgate-lab}}
spec: {{controllerName: shardgate.dev/gateway-controller}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {GATEWAY}, namespace: {NS}}}
spec:
  gatewayClassName: shardgate-lab
  listeners: [{{name: http, port: {port}, protocol: HTTP}}]
"
    )
}

/// A Service named `name` with one EndpointSlice holding `endpoint`.
pub fn service(name: &str, endpoint: SocketAddr) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {NS}}}
spec: {{ports: [{{name: http, port: {SERVICE_PORT}}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}-0
  namespace: {NS}
  labels: {{kubernetes.io/service-name: {name}}}
addressType: IPv4
ports: [{{name: http, port: {port}}}]
endpoints: [{{addresses: [\"{ip}\"]}}]
",
        port = endpoint.port(),
        ip = endpoint.ip()
    )
}

/// An HTTPRoute `name` for `host`: one rule per path prefix, all to
/// `service`.
pub fn route(name: &str, host: &str, prefixes: &[&str], service: &str) -> String {
    let mut rules = String::new();
    for p in prefixes {
        let _ = write!(
            rules,
            "\n  - matches: [{{path: {{type: PathPrefix, value: \"{p}\"}}}}]\n    backendRefs: [{{name: {service}, port: {SERVICE_PORT}}}]"
        );
    }
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {NS}}}
spec:
  parentRefs: [{{name: {GATEWAY}}}]
  hostnames: [\"{host}\"]
  rules:{rules}
"
    )
}

/// The path prefix of bulk route `i`; `bulk_path(i)` plus anything is
/// answered by route `i` alone.
pub fn bulk_path(i: usize) -> String {
    format!("/r/{i:06}/")
}

/// `n` HTTPRoutes `r-000000…` on [`BULK_HOST`], route `i` matching
/// [`bulk_path`]`(i)`, all to `service`. Every route's creation time is
/// the same (files carry none), so the translator orders them by name:
/// route 0 first, route n-1 last.
pub fn bulk_routes(n: usize, service: &str) -> String {
    let mut s = String::with_capacity(n * 330);
    for i in 0..n {
        if i > 0 {
            s.push_str("---\n");
        }
        s.push_str(&route(
            &format!("r-{i:06}"),
            BULK_HOST,
            &[&bulk_path(i)],
            service,
        ));
    }
    s
}

/// Join YAML documents into one multi-document file.
pub fn docs(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| p.trim_end_matches('\n'))
        .collect::<Vec<_>>()
        .join("\n---\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_routes_are_distinct_and_ordered() {
        let y = bulk_routes(3, "svc-a");
        assert_eq!(y.matches("kind: HTTPRoute").count(), 3);
        assert_eq!(y.matches("\n---\n").count(), 2);
        for i in 0..3 {
            assert!(y.contains(&format!("name: r-{i:06}")), "{y}");
            assert!(y.contains(&format!("value: \"/r/{i:06}/\"")), "{y}");
        }
        assert!(y.contains("hostnames: [\"routes.lab.test\"]"));
    }

    #[test]
    fn route_with_several_prefixes_has_one_rule_each() {
        let y = route("x", "x.test", &["/a", "/b"], "svc");
        assert_eq!(y.matches("- matches:").count(), 2);
        assert_eq!(y.matches("backendRefs: [{name: svc, port: 80}]").count(), 2);
    }

    #[test]
    fn services_carry_the_endpoint() {
        let y = service("svc-a", "127.0.0.1:9123".parse().expect("addr"));
        assert!(y.contains("ports: [{name: http, port: 9123}]"));
        assert!(y.contains("addresses: [\"127.0.0.1\"]"));
        assert!(y.contains("kubernetes.io/service-name: svc-a"));
        // Three documents, then two, joined: four separators.
        let d = docs(&[gateway(80), y]);
        assert_eq!(d.matches("\n---\n").count(), 4);
    }
}

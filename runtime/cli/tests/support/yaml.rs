//! Gateway API YAML for the tests: one namespace, one GatewayClass, one
//! Gateway with an HTTP listener, Services with EndpointSlices pointing at
//! echo backends, and HTTPRoutes built from [`Rule`]s.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// The namespace every test object lives in.
pub const NS: &str = "e2e";
pub const GATEWAY: &str = "gw";
/// The port every Service exposes (backendRefs use it).
pub const SERVICE_PORT: u16 = 80;

/// GatewayClass and Gateway with one HTTP listener on `port`.
pub fn gateway(port: u16) -> String {
    format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: shardgate}}
spec:
  controllerName: shardgate.dev/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {GATEWAY}, namespace: {NS}}}
spec:
  gatewayClassName: shardgate
  listeners:
  - name: http
    port: {port}
    protocol: HTTP
"
    )
}

fn service_only(name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {NS}}}
spec:
  ports: [{{name: http, port: {SERVICE_PORT}}}]
"
    )
}

/// A Service with one EndpointSlice per endpoint address (a slice carries
/// a single port, and each echo backend has its own).
pub fn service(name: &str, endpoints: &[SocketAddr]) -> String {
    let mut s = service_only(name);
    for (i, ep) in endpoints.iter().enumerate() {
        let _ = write!(
            s,
            "---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}-{i}
  namespace: {NS}
  labels: {{kubernetes.io/service-name: {name}}}
addressType: IPv4
ports: [{{name: http, port: {port}}}]
endpoints: [{{addresses: [\"{ip}\"]}}]
",
            port = ep.port(),
            ip = ep.ip(),
        );
    }
    s
}

/// A Service whose only EndpointSlice lists an endpoint that is not ready.
pub fn service_unready(name: &str, endpoint: SocketAddr) -> String {
    format!(
        "{}---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}-0
  namespace: {NS}
  labels: {{kubernetes.io/service-name: {name}}}
addressType: IPv4
ports: [{{name: http, port: {port}}}]
endpoints:
- addresses: [\"{ip}\"]
  conditions: {{ready: false}}
",
        service_only(name),
        port = endpoint.port(),
        ip = endpoint.ip(),
    )
}

/// A Service with no EndpointSlice at all.
pub fn service_without_endpoints(name: &str) -> String {
    service_only(name)
}

/// One rule of an HTTPRoute: at most one match (path and/or headers),
/// weighted backendRefs, optional timeouts.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    path: Option<(&'static str, String)>,
    headers: Vec<(String, String)>,
    backends: Vec<(String, Option<u32>)>,
    timeouts: Option<String>,
}

impl Rule {
    /// A rule forwarding to one Service.
    pub fn to(service: &str) -> Rule {
        Rule {
            backends: vec![(service.to_owned(), None)],
            ..Rule::default()
        }
    }

    /// A rule splitting traffic by weight.
    pub fn weighted(backends: &[(&str, u32)]) -> Rule {
        Rule {
            backends: backends
                .iter()
                .map(|(s, w)| ((*s).to_owned(), Some(*w)))
                .collect(),
            ..Rule::default()
        }
    }

    pub fn prefix(mut self, path: &str) -> Rule {
        self.path = Some(("PathPrefix", path.to_owned()));
        self
    }

    pub fn exact(mut self, path: &str) -> Rule {
        self.path = Some(("Exact", path.to_owned()));
        self
    }

    /// An Exact header match (ANDed with the path).
    pub fn header(mut self, name: &str, value: &str) -> Rule {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `timeouts:` as a YAML flow mapping body, e.g. `backendRequest: 1s`.
    pub fn timeouts(mut self, t: &str) -> Rule {
        self.timeouts = Some(t.to_owned());
        self
    }

    fn render(&self, out: &mut String) {
        out.push_str("  - ");
        let mut indent = "";
        if self.path.is_some() || !self.headers.is_empty() {
            out.push_str("matches:\n    - ");
            let mut first = true;
            if let Some((kind, value)) = &self.path {
                let _ = writeln!(out, "path: {{type: {kind}, value: \"{value}\"}}");
                first = false;
            }
            if !self.headers.is_empty() {
                if !first {
                    out.push_str("      ");
                }
                out.push_str("headers:\n");
                for (n, v) in &self.headers {
                    let _ = writeln!(
                        out,
                        "      - {{type: Exact, name: \"{n}\", value: \"{v}\"}}"
                    );
                }
            }
            indent = "    ";
        }
        if let Some(t) = &self.timeouts {
            let _ = writeln!(out, "{indent}timeouts: {{{t}}}");
            indent = "    ";
        }
        let _ = writeln!(out, "{indent}backendRefs:");
        for (svc, weight) in &self.backends {
            match weight {
                Some(w) => {
                    let _ = writeln!(
                        out,
                        "    - {{name: {svc}, port: {SERVICE_PORT}, weight: {w}}}"
                    );
                }
                None => {
                    let _ = writeln!(out, "    - {{name: {svc}, port: {SERVICE_PORT}}}");
                }
            }
        }
    }
}

/// An HTTPRoute attached to the test Gateway.
pub fn route(name: &str, hostnames: &[&str], rules: &[Rule]) -> String {
    let mut s = format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {NS}}}
spec:
  parentRefs: [{{name: {GATEWAY}}}]
"
    );
    if !hostnames.is_empty() {
        let list: Vec<String> = hostnames.iter().map(|h| format!("\"{h}\"")).collect();
        let _ = writeln!(s, "  hostnames: [{}]", list.join(", "));
    }
    s.push_str("  rules:\n");
    for r in rules {
        r.render(&mut s);
    }
    s
}

/// Join YAML documents into one multi-document file.
pub fn docs(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if !out.is_empty() {
            out.push_str("---\n");
        }
        out.push_str(p);
        if !p.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

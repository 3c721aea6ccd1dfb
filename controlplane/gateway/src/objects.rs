//! The object model: ordinary Kubernetes objects parsed from YAML, kept in a
//! store with deterministic ordering.

use gateway_api::experimental::tcproutes::TcpRoute;
use gateway_api::experimental::udproutes::UdpRoute;
use gateway_api::gatewayclasses::GatewayClass;
use gateway_api::gateways::Gateway;
use gateway_api::grpcroutes::GrpcRoute;
use gateway_api::httproutes::HttpRoute;
use gateway_api::listenersets::ListenerSet;
use gateway_api::referencegrants::ReferenceGrant;
use gateway_api::tlsroutes::TlsRoute;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// `namespace/name` of a namespaced object; cluster-scoped objects use an
/// empty namespace. Orders by namespace, then name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The key of an object from its metadata; a missing namespace of a
    /// namespaced object means `default`, as `kubectl apply` assumes.
    pub fn of(meta: &ObjectMeta, namespaced: bool) -> Self {
        let namespace = if namespaced {
            meta.namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "default".to_owned())
        } else {
            String::new()
        };
        ObjectKey::new(namespace, meta.name.clone().unwrap_or_default())
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// One parsed object of a kind the control plane understands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    GatewayClass(Box<GatewayClass>),
    Gateway(Box<Gateway>),
    HttpRoute(Box<HttpRoute>),
    GrpcRoute(Box<GrpcRoute>),
    TlsRoute(Box<TlsRoute>),
    TcpRoute(Box<TcpRoute>),
    UdpRoute(Box<UdpRoute>),
    ListenerSet(Box<ListenerSet>),
    ReferenceGrant(Box<ReferenceGrant>),
    Service(Box<Service>),
    EndpointSlice(Box<EndpointSlice>),
    Namespace(Box<Namespace>),
    Secret(Box<Secret>),
}

impl Object {
    /// The Kubernetes kind, e.g. `HTTPRoute`.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::GatewayClass(_) => "GatewayClass",
            Object::Gateway(_) => "Gateway",
            Object::HttpRoute(_) => "HTTPRoute",
            Object::GrpcRoute(_) => "GRPCRoute",
            Object::TlsRoute(_) => "TLSRoute",
            Object::TcpRoute(_) => "TCPRoute",
            Object::UdpRoute(_) => "UDPRoute",
            Object::ListenerSet(_) => "ListenerSet",
            Object::ReferenceGrant(_) => "ReferenceGrant",
            Object::Service(_) => "Service",
            Object::EndpointSlice(_) => "EndpointSlice",
            Object::Namespace(_) => "Namespace",
            Object::Secret(_) => "Secret",
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::GatewayClass(o) => &o.metadata,
            Object::Gateway(o) => &o.metadata,
            Object::HttpRoute(o) => &o.metadata,
            Object::GrpcRoute(o) => &o.metadata,
            Object::TlsRoute(o) => &o.metadata,
            Object::TcpRoute(o) => &o.metadata,
            Object::UdpRoute(o) => &o.metadata,
            Object::ListenerSet(o) => &o.metadata,
            Object::ReferenceGrant(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::EndpointSlice(o) => &o.metadata,
            Object::Namespace(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
        }
    }

    fn namespaced(&self) -> bool {
        !matches!(self, Object::GatewayClass(_) | Object::Namespace(_))
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey::of(self.metadata(), self.namespaced())
    }
}

/// Every object by kind, keyed by namespace/name, plus what failed to load.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Objects {
    pub gateway_classes: BTreeMap<ObjectKey, GatewayClass>,
    pub gateways: BTreeMap<ObjectKey, Gateway>,
    pub http_routes: BTreeMap<ObjectKey, HttpRoute>,
    pub grpc_routes: BTreeMap<ObjectKey, GrpcRoute>,
    pub tls_routes: BTreeMap<ObjectKey, TlsRoute>,
    pub tcp_routes: BTreeMap<ObjectKey, TcpRoute>,
    pub udp_routes: BTreeMap<ObjectKey, UdpRoute>,
    pub listener_sets: BTreeMap<ObjectKey, ListenerSet>,
    pub reference_grants: BTreeMap<ObjectKey, ReferenceGrant>,
    pub services: BTreeMap<ObjectKey, Service>,
    pub endpoint_slices: BTreeMap<ObjectKey, EndpointSlice>,
    pub namespaces: BTreeMap<ObjectKey, Namespace>,
    pub secrets: BTreeMap<ObjectKey, Secret>,
    /// Load errors, in the order they were found.
    pub errors: Vec<LoadError>,
}

impl Objects {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one object. A second object of the same kind and key is refused
    /// (the first one stays) and recorded as an error naming `source`.
    pub fn insert(&mut self, object: Object, source: &Source) {
        let key = object.key();
        let kind = object.kind();
        let fresh = match object {
            Object::GatewayClass(o) => put(&mut self.gateway_classes, key.clone(), *o),
            Object::Gateway(o) => put(&mut self.gateways, key.clone(), *o),
            Object::HttpRoute(o) => put(&mut self.http_routes, key.clone(), *o),
            Object::GrpcRoute(o) => put(&mut self.grpc_routes, key.clone(), *o),
            Object::TlsRoute(o) => put(&mut self.tls_routes, key.clone(), *o),
            Object::TcpRoute(o) => put(&mut self.tcp_routes, key.clone(), *o),
            Object::UdpRoute(o) => put(&mut self.udp_routes, key.clone(), *o),
            Object::ListenerSet(o) => put(&mut self.listener_sets, key.clone(), *o),
            Object::ReferenceGrant(o) => put(&mut self.reference_grants, key.clone(), *o),
            Object::Service(o) => put(&mut self.services, key.clone(), *o),
            Object::EndpointSlice(o) => put(&mut self.endpoint_slices, key.clone(), *o),
            Object::Namespace(o) => put(&mut self.namespaces, key.clone(), *o),
            Object::Secret(o) => put(&mut self.secrets, key.clone(), *o),
        };
        if !fresh {
            self.errors.push(LoadError {
                file: source.file.clone(),
                document: source.document,
                object: Some(format!("{kind} {key}")),
                path: None,
                message:
                    "duplicate object: an earlier document already defines it; this one is ignored"
                        .to_owned(),
            });
        }
    }

    /// Parse a YAML text (one or more documents) and add what it holds.
    pub fn load_str(&mut self, file: &str, text: &str) {
        match parse_documents(file, text) {
            Ok(parsed) => self.extend(parsed),
            Err(e) => self.errors.push(e),
        }
    }

    /// Add a parsed file: its objects and its per-document errors.
    pub fn extend(&mut self, parsed: ParsedFile) {
        let first = self.errors.len();
        for (object, source) in parsed.objects {
            self.insert(object, &source);
        }
        self.errors.extend(parsed.errors);
        // Report in document order, duplicates among the parse errors.
        self.errors[first..].sort_by_key(|e| e.document);
    }

    /// The number of objects held, all kinds together.
    pub fn len(&self) -> usize {
        self.gateway_classes.len()
            + self.gateways.len()
            + self.http_routes.len()
            + self.grpc_routes.len()
            + self.tls_routes.len()
            + self.tcp_routes.len()
            + self.udp_routes.len()
            + self.listener_sets.len()
            + self.reference_grants.len()
            + self.services.len()
            + self.endpoint_slices.len()
            + self.namespaces.len()
            + self.secrets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn put<T>(map: &mut BTreeMap<ObjectKey, T>, key: ObjectKey, value: T) -> bool {
    match map.entry(key) {
        std::collections::btree_map::Entry::Occupied(_) => false,
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(value);
            true
        }
    }
}

/// Where an object came from: the file and the 1-based document index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub file: String,
    pub document: usize,
}

/// Why a document (or a whole file) could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.describe())]
pub struct LoadError {
    pub file: String,
    /// 1-based index of the YAML document in the file (counted by `---`
    /// markers); 0 when the error concerns the whole file, e.g. it cannot be
    /// read.
    pub document: usize,
    /// `Kind namespace/name` when known.
    pub object: Option<String>,
    /// Field path inside the object, e.g. `spec.listeners[0].port`.
    pub path: Option<String>,
    pub message: String,
}

impl LoadError {
    fn describe(&self) -> String {
        let mut s = self.file.clone();
        if self.document > 0 {
            s.push_str(&format!(": document {}", self.document));
        }
        if let Some(o) = &self.object {
            s.push_str(&format!(": {o}"));
        }
        if let Some(p) = &self.path {
            s.push_str(&format!(": field {p}"));
        }
        s.push_str(&format!(": {}", self.message));
        s
    }
}

/// The objects of one file, each with its source, and the documents that
/// failed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFile {
    pub objects: Vec<(Object, Source)>,
    pub errors: Vec<LoadError>,
}

/// Parse a YAML text of one or more documents. `Err` means some document
/// is not YAML at all (the file is being edited or broken: nothing in it can
/// be trusted); otherwise every document that holds a known kind and
/// deserializes is returned, and every other document of a known kind is
/// reported. Unknown kinds and empty documents are skipped.
pub fn parse_documents(file: &str, text: &str) -> Result<ParsedFile, LoadError> {
    let mut out = ParsedFile::default();
    for (document, chunk) in split_documents(text) {
        let source = Source {
            file: file.to_owned(),
            document,
        };
        if chunk
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        let doc: serde_json::Value = serde_saphyr::from_str(chunk).map_err(|e| LoadError {
            file: file.to_owned(),
            document,
            object: None,
            path: None,
            message: format!("not valid YAML: {e}"),
        })?;
        match parse_object(doc, &source) {
            Ok(Some(o)) => out.objects.push((o, source)),
            Ok(None) => {}
            Err(e) => out.errors.push(e),
        }
    }
    Ok(out)
}

/// Split at `---` document markers, numbering documents from 1. Text before
/// the first marker is document 1 only when it holds something besides
/// blank lines and comments, so that a file starting with `---` numbers its
/// first object 1.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let marker =
            line.starts_with("---") && line[3..].chars().next().is_none_or(char::is_whitespace);
        if marker {
            starts.push(offset + 3);
        }
        offset += line.len();
    }
    let mut chunks = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |next| next - 3);
        chunks.push(&text[start..end]);
    }
    let head_empty = chunks[0]
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    let skip = usize::from(head_empty && chunks.len() > 1);
    chunks
        .into_iter()
        .skip(skip)
        .enumerate()
        .map(|(i, c)| (i + 1, c))
        .collect()
}

/// Deserialize one document. `Ok(None)` for an empty document or a kind we
/// do not handle.
pub fn parse_object(doc: serde_json::Value, source: &Source) -> Result<Option<Object>, LoadError> {
    let err = |object: Option<String>, path: Option<String>, message: String| LoadError {
        file: source.file.clone(),
        document: source.document,
        object,
        path,
        message,
    };
    let map = match &doc {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::Object(m) => m,
        _ => {
            return Err(err(
                None,
                None,
                "a Kubernetes object must be a mapping".to_owned(),
            ));
        }
    };
    let api_version = map.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("");
    let Some(kind) = map.get("kind").and_then(|v| v.as_str()) else {
        return Err(err(
            None,
            Some("kind".to_owned()),
            "missing kind".to_owned(),
        ));
    };
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let known = matches!(
        (group, kind),
        (
            "gateway.networking.k8s.io",
            "GatewayClass"
                | "Gateway"
                | "HTTPRoute"
                | "GRPCRoute"
                | "TLSRoute"
                | "TCPRoute"
                | "UDPRoute"
                | "ListenerSet"
                | "ReferenceGrant"
        ) | ("", "Service" | "Namespace" | "Secret")
            | ("discovery.k8s.io", "EndpointSlice")
    );
    if !known {
        tracing::debug!(
            file = %source.file,
            document = source.document,
            api_version,
            kind,
            "ignoring object of a kind the control plane does not handle"
        );
        return Ok(None);
    }
    let meta = map.get("metadata").and_then(|m| m.as_object());
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(|v| v.as_str());
    let label = match (namespace, kind) {
        (_, _) if name.is_empty() => match namespace {
            Some(ns) => format!("{kind} without a name in namespace {ns}"),
            None => format!("{kind} without a name"),
        },
        (_, "GatewayClass" | "Namespace") | (None, _) => format!("{kind} {name}"),
        (Some(ns), _) => format!("{kind} {ns}/{name}"),
    };
    if name.is_empty() {
        return Err(err(
            Some(label),
            Some("metadata.name".to_owned()),
            "missing name".to_owned(),
        ));
    }
    let parsed = match kind {
        "GatewayClass" => typed(doc).map(|o| Object::GatewayClass(Box::new(o))),
        "Gateway" => typed(doc).map(|o| Object::Gateway(Box::new(o))),
        "HTTPRoute" => typed(doc).map(|o| Object::HttpRoute(Box::new(o))),
        "GRPCRoute" => typed(doc).map(|o| Object::GrpcRoute(Box::new(o))),
        "TLSRoute" => typed(doc).map(|o| Object::TlsRoute(Box::new(o))),
        "TCPRoute" => typed(doc).map(|o| Object::TcpRoute(Box::new(o))),
        "UDPRoute" => typed(doc).map(|o| Object::UdpRoute(Box::new(o))),
        "ListenerSet" => typed(doc).map(|o| Object::ListenerSet(Box::new(o))),
        "ReferenceGrant" => typed(doc).map(|o| Object::ReferenceGrant(Box::new(o))),
        "Secret" => typed(doc).map(|o| Object::Secret(Box::new(o))),
        "Service" => typed(doc).map(|o| Object::Service(Box::new(o))),
        "EndpointSlice" => typed(doc).map(|o| Object::EndpointSlice(Box::new(o))),
        _ => typed(doc).map(|o| Object::Namespace(Box::new(o))),
    };
    parsed
        .map(Some)
        .map_err(|(path, message)| err(Some(label), path, message))
}

fn typed<T: serde::de::DeserializeOwned>(
    doc: serde_json::Value,
) -> Result<T, (Option<String>, String)> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let path = (path != ".").then_some(path);
        (path, e.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_kinds_and_skips_unknown() {
        let text = "\
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: web}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
---
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: sg}
spec: {controllerName: shardgate.dev/gateway-controller}
";
        let parsed = parse_documents("a.yaml", &format!("# leading comment\n---\n{text}"))
            .expect("valid yaml");
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let kinds: Vec<_> = parsed
            .objects
            .iter()
            .map(|(o, s)| (o.kind(), o.key().to_string(), s.document))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("Service", "web/echo".to_owned(), 1),
                ("GatewayClass", "sg".to_owned(), 4)
            ]
        );
    }

    #[test]
    fn error_names_file_document_object_and_field() {
        let text = "\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: sg
  listeners:
  - {name: http, port: eighty, protocol: HTTP}
";
        let parsed = parse_documents("dir/gw.yaml", text).expect("valid yaml");
        assert!(parsed.objects.is_empty());
        let e = &parsed.errors[0];
        assert_eq!(e.object.as_deref(), Some("Gateway infra/gw"));
        assert_eq!(e.path.as_deref(), Some("spec.listeners[0].port"));
        let shown = e.to_string();
        assert!(
            shown.starts_with(
                "dir/gw.yaml: document 1: Gateway infra/gw: field spec.listeners[0].port: "
            ),
            "{shown}"
        );
    }

    #[test]
    fn not_yaml_is_a_file_error() {
        let e = parse_documents("bad.yaml", "kind: Namespace\n---\na: [1, 2\nb: }")
            .expect_err("broken yaml");
        assert_eq!(e.document, 2);
        assert!(
            e.to_string()
                .starts_with("bad.yaml: document 2: not valid YAML"),
            "{e}"
        );
    }

    #[test]
    fn duplicates_keep_the_first() {
        let mut objects = Objects::new();
        let doc = |port: u16| {
            format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec: {{ports: [{{port: {port}}}]}}\n"
            )
        };
        objects.load_str("one.yaml", &doc(80));
        objects.load_str("two.yaml", &doc(81));
        let svc = &objects.services[&ObjectKey::new("default", "s")];
        let port = svc
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .map(|p| p[0].port);
        assert_eq!(port, Some(80));
        assert_eq!(objects.errors.len(), 1);
        assert_eq!(objects.errors[0].file, "two.yaml");
    }
}

//! The snapshot model: listeners → virtual hosts → ordered routes → weighted
//! backends → clusters of endpoints.
//!
//! The control plane resolves every Gateway API rule (attachment, hostname
//! intersection, precedence, references) before it builds these values; the
//! data plane only matches in the order given here.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// One complete configuration of the data plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Snapshot {
    /// Monotonically increasing per publisher; set by the publisher.
    pub generation: u64,
    /// One entry per bound address and port.
    pub listeners: Vec<Listener>,
    /// Upstream clusters, referenced by index from [`WeightedBackend`].
    pub clusters: Vec<Cluster>,
}

/// A bound socket: every Gateway listener that shares this address and port
/// contributes its virtual hosts here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// Stable name used in metrics and logs, e.g. `0.0.0.0:8080`.
    pub name: String,
    pub address: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
    /// TLS termination: present exactly when `protocol` is [`Protocol::Https`].
    pub tls: Option<ListenerTls>,
    /// Matched by the request's host: exact names first, then the longest
    /// wildcard suffix, then a catch-all.
    pub virtual_hosts: Vec<VirtualHost>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    /// Cleartext HTTP/1.1.
    Http,
    /// HTTP/1.1 over TLS terminated by the data plane (ALPN `http/1.1`).
    Https,
}

/// The certificates of a TLS-terminating bound socket. The Gateway
/// listeners sharing the port each contribute theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerTls {
    /// Chosen by the client's SNI: an exact server name first, then the
    /// longest wildcard suffix, then a certificate without server names
    /// (the default, also used when the client sends no SNI). Several
    /// entries may serve the same names (e.g. an RSA and an ECDSA key);
    /// the first one whose key the client accepts is used.
    pub certificates: Vec<TlsCertificate>,
}

/// One certificate chain and its key, from a Gateway listener's
/// `tls.certificateRefs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsCertificate {
    /// Stable name used in logs, e.g. `default/gw/https/default/web-cert`.
    pub name: String,
    /// The SNI names this certificate answers for; empty means any name.
    pub server_names: Vec<HostMatch>,
    /// PEM `CERTIFICATE` blocks, the leaf first.
    pub chain_pem: String,
    /// One PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: String,
}

/// A set of hostnames sharing one ordered list of routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualHost {
    /// Stable name used in metrics and logs.
    pub name: String,
    /// Lower-case. An empty list matches any host.
    pub hostnames: Vec<HostMatch>,
    /// In precedence order: the first route with a matching [`RouteMatch`] wins.
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostMatch {
    /// The whole host, lower-case, without port.
    Exact(String),
    /// `*.example.com` stored as the suffix `.example.com`; matches one or
    /// more labels before the suffix.
    Wildcard(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Stable name used in metrics and logs, e.g. `default/web/rule/0`.
    pub name: String,
    /// Any one of these must match (OR). Never empty: "match everything" is
    /// an explicit `PathMatch::Prefix("/")`.
    pub matches: Vec<RouteMatch>,
    /// Applied in order.
    pub filters: Vec<Filter>,
    pub action: Action,
    pub timeouts: Timeouts,
}

/// Every condition must hold (AND).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteMatch {
    pub path: PathMatch,
    pub headers: Vec<HeaderMatch>,
    pub query_params: Vec<QueryParamMatch>,
    /// Upper-case method token, e.g. `GET`.
    pub method: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathMatch {
    Exact(String),
    /// Segment-aware prefix: `/foo` matches `/foo` and `/foo/bar`, not `/foobar`.
    /// A trailing `/` in the prefix is ignored for matching, except for `/`.
    Prefix(String),
    /// RE2-like syntax, anchored to the whole path.
    Regex(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderMatch {
    /// Lower-case field name.
    pub name: String,
    pub value: StringMatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryParamMatch {
    /// Case-sensitive parameter name.
    pub name: String,
    pub value: StringMatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StringMatch {
    Exact(String),
    /// Anchored to the whole value.
    Regex(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Filter {
    RequestHeaderModifier(HeaderModifier),
    ResponseHeaderModifier(HeaderModifier),
    /// Rewrite the host and/or path before forwarding.
    UrlRewrite(UrlRewrite),
    /// Send a copy of the forwarded request to another cluster; its
    /// response is discarded. Its place among the filters has no meaning:
    /// the copy carries the route's modifications, not the backend's.
    RequestMirror(Mirror),
    /// Answer CORS preflights locally and add the CORS headers to
    /// responses of allowed origins.
    Cors(Cors),
}

/// Gateway API `CORS` filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cors {
    /// Lower-case `scheme://host[:port]` patterns; `*` alone allows any
    /// origin, a `*` in the host stands for any run of characters (labels
    /// and dots included). Default ports (`:80` for http, `:443` for
    /// https) are left out.
    pub allow_origins: Vec<String>,
    /// Case-sensitive method tokens; `*` allows any method.
    pub allow_methods: Vec<String>,
    /// Lower-case header names; `*` allows any.
    pub allow_headers: Vec<String>,
    /// Lower-case header names; `*` exposes all (not on credentialed requests).
    pub expose_headers: Vec<String>,
    /// `Access-Control-Max-Age` in seconds.
    pub max_age_s: u32,
    pub allow_credentials: bool,
}

/// Gateway API `RequestMirror`: `numerator / denominator` of the requests
/// (all when equal) are copied to [`Snapshot::clusters`]`[cluster]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mirror {
    pub cluster: u32,
    /// At most `denominator`.
    pub numerator: u32,
    /// Positive.
    pub denominator: u32,
}

/// Gateway API `URLRewrite`: what the backend sees instead of what the
/// client sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlRewrite {
    /// Replaces the `Host` header sent upstream.
    pub hostname: Option<String>,
    pub path: Option<PathRewrite>,
}

/// How a redirect or a rewrite changes the path (the query is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathRewrite {
    /// The whole path becomes this.
    ReplaceFullPath(String),
    /// The route's matched prefix `prefix` (every match of the route is
    /// `PathMatch::Prefix(prefix)`) is replaced by `replacement`, segment
    /// aware: `/foo` → `/bar` turns `/foo/x` into `/bar/x`, and `/foo` →
    /// `/` turns `/foo/x` into `/x`.
    ReplacePrefixMatch { prefix: String, replacement: String },
}

/// Gateway API `RequestRedirect`: answered locally with a `Location`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// `http` or `https`; `None` keeps the request's scheme.
    pub scheme: Option<String>,
    /// `None` keeps the request's host (without its port).
    pub hostname: Option<String>,
    pub path: Option<PathRewrite>,
    /// `None`: the well-known port of `scheme` when it is set, otherwise
    /// the port of the listener the request came in on. The port is left
    /// out of the `Location` when it is the scheme's well-known one.
    pub port: Option<u16>,
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
}

/// Gateway API header modification: `set` replaces, `add` appends, `remove`
/// deletes; names are lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HeaderModifier {
    pub set: Vec<(String, String)>,
    pub add: Vec<(String, String)>,
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Weighted choice among backends. The sum of weights is positive.
    Forward(Vec<WeightedBackend>),
    /// Answer locally, e.g. 500 when no backend of a rule is valid.
    DirectResponse { status: u16 },
    /// Answer with a redirect (the rule's backends are not used).
    Redirect(Redirect),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedBackend {
    pub weight: u32,
    pub target: BackendTarget,
    /// Gateway API `backendRefs[].filters`: applied, after the route's own
    /// filters, only to requests sent to this backend. Header modifiers
    /// only (validation refuses anything else).
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendTarget {
    /// Index into [`Snapshot::clusters`].
    Cluster(u32),
    /// A backendRef that could not be resolved: its share of traffic is
    /// answered with this status (500 per the Gateway API).
    Invalid { status: u16 },
}

/// Per-rule timeouts in milliseconds; `None` means the data plane default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Timeouts {
    /// From the first byte of the request to the last byte of the response head.
    pub request_ms: Option<u32>,
    /// One attempt at the backend, from connect to the response head.
    pub backend_request_ms: Option<u32>,
}

/// A group of interchangeable endpoints, e.g. one Service port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// Stable identity across generations (pools are kept by name), e.g.
    /// `default/echo:8080`.
    pub name: String,
    /// Empty means "exists but has no ready endpoint": 503.
    pub endpoints: Vec<Endpoint>,
    pub connect_timeout_ms: u32,
    /// Idle pooled connections are closed after this long.
    pub idle_timeout_ms: u32,
    /// Upper bound of idle pooled connections per endpoint per shard.
    pub max_idle_per_endpoint: u32,
    /// The Service port's `appProtocol`, recorded for protocol selection.
    pub app_protocol: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub addr: SocketAddr,
}

impl Cluster {
    pub const DEFAULT_CONNECT_TIMEOUT_MS: u32 = 2_000;
    pub const DEFAULT_IDLE_TIMEOUT_MS: u32 = 60_000;
    pub const DEFAULT_MAX_IDLE_PER_ENDPOINT: u32 = 128;

    /// A cluster with the default timeouts and pool bounds.
    pub fn new(name: impl Into<String>, endpoints: Vec<Endpoint>) -> Self {
        Cluster {
            name: name.into(),
            endpoints,
            connect_timeout_ms: Self::DEFAULT_CONNECT_TIMEOUT_MS,
            idle_timeout_ms: Self::DEFAULT_IDLE_TIMEOUT_MS,
            max_idle_per_endpoint: Self::DEFAULT_MAX_IDLE_PER_ENDPOINT,
            app_protocol: None,
        }
    }
}

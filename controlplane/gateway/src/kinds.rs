//! Route kinds, and which of them a listener of each protocol carries.

use std::fmt;

/// The route kinds of the Gateway API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteKind {
    Http,
    Grpc,
    Tls,
    Tcp,
    Udp,
}

impl RouteKind {
    pub const ALL: [RouteKind; 5] = [
        RouteKind::Http,
        RouteKind::Grpc,
        RouteKind::Tls,
        RouteKind::Tcp,
        RouteKind::Udp,
    ];

    /// The Kubernetes kind, e.g. `HTTPRoute`.
    pub fn name(self) -> &'static str {
        match self {
            RouteKind::Http => "HTTPRoute",
            RouteKind::Grpc => "GRPCRoute",
            RouteKind::Tls => "TLSRoute",
            RouteKind::Tcp => "TCPRoute",
            RouteKind::Udp => "UDPRoute",
        }
    }

    pub fn from_name(kind: &str) -> Option<RouteKind> {
        RouteKind::ALL.into_iter().find(|k| k.name() == kind)
    }

    /// Does this kind carry hostnames (`spec.hostnames`)?
    pub fn has_hostnames(self) -> bool {
        matches!(self, RouteKind::Http | RouteKind::Grpc | RouteKind::Tls)
    }
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A listener protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerProtocol {
    Http,
    Https,
    Tls,
    Tcp,
    Udp,
    /// Anything else, as written.
    Other(String),
}

impl ListenerProtocol {
    pub fn parse(s: &str) -> ListenerProtocol {
        match s {
            "HTTP" => ListenerProtocol::Http,
            "HTTPS" => ListenerProtocol::Https,
            "TLS" => ListenerProtocol::Tls,
            "TCP" => ListenerProtocol::Tcp,
            "UDP" => ListenerProtocol::Udp,
            other => ListenerProtocol::Other(other.to_owned()),
        }
    }

    /// Route kinds a listener of this protocol carries here. GRPCRoute is
    /// not among them: the data plane has no HTTP/2 yet, and a listener must
    /// not claim a kind it cannot serve.
    pub fn route_kinds(&self) -> &'static [RouteKind] {
        match self {
            ListenerProtocol::Http | ListenerProtocol::Https => &[RouteKind::Http],
            ListenerProtocol::Tls => &[RouteKind::Tls],
            ListenerProtocol::Tcp => &[RouteKind::Tcp],
            ListenerProtocol::Udp => &[RouteKind::Udp],
            ListenerProtocol::Other(_) => &[],
        }
    }

    /// Does the data plane serve this protocol today?
    pub fn served(&self) -> bool {
        matches!(self, ListenerProtocol::Http | ListenerProtocol::Https)
    }

    /// Do listeners of this protocol tell flows apart by hostname?
    pub fn uses_hostname(&self) -> bool {
        matches!(
            self,
            ListenerProtocol::Http | ListenerProtocol::Https | ListenerProtocol::Tls
        )
    }
}

impl fmt::Display for ListenerProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListenerProtocol::Http => "HTTP",
            ListenerProtocol::Https => "HTTPS",
            ListenerProtocol::Tls => "TLS",
            ListenerProtocol::Tcp => "TCP",
            ListenerProtocol::Udp => "UDP",
            ListenerProtocol::Other(s) => s,
        })
    }
}

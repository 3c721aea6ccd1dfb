//! One listener (of a Gateway or of a ListenerSet), analysed on its own:
//! protocol, port, hostname, TLS certificates, the route kinds it carries
//! and the namespaces it takes routes from. Conflicts between listeners
//! are [`crate::conflicts`]' concern.

use crate::certificates::{self, Certificate, SecretRef};
use crate::grants::From;
use crate::hostnames::Host;
use crate::kinds::{ListenerProtocol, RouteKind};
use crate::objects::{ObjectKey, Objects};
use crate::refs::{GATEWAY_GROUP, LabelSelector, namespace_labels};
use serde::{Deserialize, Serialize};

/// A listener as written, in a Gateway or a ListenerSet (same shape).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerSpec {
    pub name: String,
    pub port: i32,
    pub protocol: String,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub tls: Option<TlsSpec>,
    #[serde(default)]
    pub allowed_routes: Option<AllowedRoutesSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsSpec {
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub certificate_refs: Option<Vec<SecretRef>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AllowedRoutesSpec {
    #[serde(default)]
    pub namespaces: Option<NamespacesSpec>,
    #[serde(default)]
    pub kinds: Option<Vec<KindSpec>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NamespacesSpec {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub selector: Option<LabelSelector>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KindSpec {
    #[serde(default)]
    pub group: Option<String>,
    pub kind: String,
}

/// Which namespaces a listener (or a Gateway, for ListenerSets) takes
/// objects from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedNamespaces {
    Same,
    All,
    Selector(LabelSelector),
    None,
}

impl AllowedNamespaces {
    /// From the `from` / `selector` pair; `default` when `from` is unset.
    /// An unknown `from` value allows nothing.
    pub fn parse(from: Option<&str>, selector: Option<&LabelSelector>, default: Self) -> Self {
        match from {
            None => default,
            Some("Same") => AllowedNamespaces::Same,
            Some("All") => AllowedNamespaces::All,
            Some("Selector") => AllowedNamespaces::Selector(selector.cloned().unwrap_or_default()),
            Some(_) => AllowedNamespaces::None,
        }
    }

    /// Does it allow namespace `ns`, for an owner living in `home`?
    pub fn allows(&self, objects: &Objects, home: &str, ns: &str) -> bool {
        match self {
            AllowedNamespaces::Same => home == ns,
            AllowedNamespaces::All => true,
            AllowedNamespaces::Selector(sel) => sel.matches(&namespace_labels(objects, ns)),
            AllowedNamespaces::None => false,
        }
    }
}

/// Who declares a listener.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    Gateway,
    ListenerSet(ObjectKey),
}

/// (reason, message) of a condition that is not as it should be.
pub type Problem = (&'static str, String);

/// One listener, analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerInfo {
    pub owner: Owner,
    /// Namespace of the owner: `Same` means this namespace.
    pub namespace: String,
    pub name: String,
    pub port: u16,
    pub protocol: ListenerProtocol,
    pub host: Host,
    /// `Err` for the Accepted condition: the listener is not valid.
    pub accepted: Result<(), Problem>,
    /// `Some` when it conflicts with another listener (set by
    /// [`crate::conflicts::mark`]).
    pub conflict: Option<Problem>,
    /// Resolved certificate references (TLS listeners that terminate;
    /// empty for the others).
    pub refs: Result<Vec<Certificate>, Problem>,
    /// Route kinds it carries, in the order asked for.
    pub supported_kinds: Vec<RouteKind>,
    /// Route kinds asked for that it cannot carry, as `group/kind`.
    pub invalid_kinds: Vec<String>,
    pub allowed: AllowedNamespaces,
}

impl ListenerInfo {
    /// Accepted, not conflicted, certificates resolved.
    pub fn valid(&self) -> bool {
        self.accepted.is_ok() && self.conflict.is_none() && self.refs.is_ok()
    }

    /// Valid and of a protocol the data plane serves.
    pub fn served(&self) -> bool {
        self.valid() && self.protocol.served()
    }

    /// Does it take routes of `kind` from namespace `route_ns`?
    pub fn allows(&self, objects: &Objects, kind: RouteKind, route_ns: &str) -> bool {
        self.supported_kinds.contains(&kind)
            && self.allowed.allows(objects, &self.namespace, route_ns)
    }
}

/// Analyse `spec`, declared by `owner` (which lives in `from.namespace`;
/// `from` is also who refers to certificates, for ReferenceGrants).
pub fn analyse(
    objects: &Objects,
    from: From<'_>,
    owner: Owner,
    spec: &ListenerSpec,
) -> ListenerInfo {
    let protocol = ListenerProtocol::parse(&spec.protocol);
    let port = u16::try_from(spec.port).ok().filter(|p| *p != 0);
    let host = Host::from_opt(spec.hostname.as_deref());
    let accepted = accept(spec, &protocol, port, &host);
    let refs = match accepted.is_ok() && terminates(spec, &protocol) {
        true => certificates::resolve(
            objects,
            from,
            spec.tls
                .as_ref()
                .and_then(|t| t.certificate_refs.as_deref())
                .unwrap_or_default(),
        ),
        false => Ok(Vec::new()),
    };
    let (mut supported_kinds, invalid_kinds) = kinds(spec, &protocol);
    if accepted.is_err() {
        supported_kinds.clear();
    }
    let namespaces = spec
        .allowed_routes
        .as_ref()
        .and_then(|a| a.namespaces.as_ref());
    let allowed = AllowedNamespaces::parse(
        namespaces.and_then(|n| n.from.as_deref()),
        namespaces.and_then(|n| n.selector.as_ref()),
        AllowedNamespaces::Same,
    );
    ListenerInfo {
        owner,
        namespace: from.namespace.to_owned(),
        name: spec.name.clone(),
        port: port.unwrap_or(0),
        protocol,
        host,
        accepted,
        conflict: None,
        refs,
        supported_kinds,
        invalid_kinds,
        allowed,
    }
}

fn tls_mode(spec: &ListenerSpec) -> &str {
    spec.tls
        .as_ref()
        .and_then(|t| t.mode.as_deref())
        .unwrap_or("Terminate")
}

/// Does the listener terminate TLS (and so need certificates)? HTTPS
/// always; TLS when its mode says Terminate (its default is Passthrough).
fn terminates(spec: &ListenerSpec, protocol: &ListenerProtocol) -> bool {
    match protocol {
        ListenerProtocol::Https => true,
        ListenerProtocol::Tls => {
            spec.tls.as_ref().and_then(|t| t.mode.as_deref()) == Some("Terminate")
        }
        _ => false,
    }
}

fn accept(
    spec: &ListenerSpec,
    protocol: &ListenerProtocol,
    port: Option<u16>,
    host: &Host,
) -> Result<(), Problem> {
    if let ListenerProtocol::Other(p) = protocol {
        return Err((
            "UnsupportedProtocol",
            format!("protocol {p:?} is not supported; HTTP, HTTPS, TLS, TCP and UDP are"),
        ));
    }
    if port.is_none() {
        return Err((
            "PortUnavailable",
            format!("port {} is not a valid port", spec.port),
        ));
    }
    if protocol.uses_hostname() && !host.is_valid() {
        return Err((
            "UnsupportedValue",
            format!(
                "hostname {:?} is not a valid hostname",
                spec.hostname.as_deref().unwrap_or("")
            ),
        ));
    }
    match (protocol, &spec.tls) {
        (ListenerProtocol::Https, None) => Err((
            "UnsupportedValue",
            "an HTTPS listener needs a tls section with certificateRefs".to_owned(),
        )),
        (ListenerProtocol::Https, Some(_)) if tls_mode(spec) != "Terminate" => Err((
            "UnsupportedValue",
            format!(
                "tls.mode {} is not allowed on an HTTPS listener; HTTPS terminates TLS",
                tls_mode(spec)
            ),
        )),
        (ListenerProtocol::Http | ListenerProtocol::Tcp | ListenerProtocol::Udp, Some(_)) => Err((
            "UnsupportedValue",
            format!("a {protocol} listener must not have a tls section"),
        )),
        _ => Ok(()),
    }
}

/// (supported, invalid) route kinds: the kinds asked for in
/// `allowedRoutes.kinds` that the protocol carries, else all it carries.
fn kinds(spec: &ListenerSpec, protocol: &ListenerProtocol) -> (Vec<RouteKind>, Vec<String>) {
    let carried = protocol.route_kinds();
    let Some(asked) = spec.allowed_routes.as_ref().and_then(|a| a.kinds.as_ref()) else {
        return (carried.to_vec(), Vec::new());
    };
    let mut supported = Vec::new();
    let mut invalid = Vec::new();
    for k in asked {
        let group = k.group.as_deref().unwrap_or(GATEWAY_GROUP);
        match RouteKind::from_name(&k.kind) {
            Some(kind) if group == GATEWAY_GROUP && carried.contains(&kind) => {
                if !supported.contains(&kind) {
                    supported.push(kind);
                }
            }
            _ => invalid.push(format!("{group}/{}", k.kind)),
        }
    }
    (supported, invalid)
}

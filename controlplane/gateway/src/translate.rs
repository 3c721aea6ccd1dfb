//! The pure translation: objects in, IR snapshot and statuses out.

use crate::attach::{self, ParentOutcome};
use crate::backends::{self, ResolvedBackends, Target};
use crate::gatewayclass;
use crate::gateways::{self, GatewayInfo};
use crate::grants;
use crate::hostnames::Host;
use crate::kinds::{ListenerProtocol, RouteKind};
use crate::objects::{ObjectKey, Objects};
use crate::refs::{self, BackendRef};
use crate::routes::{self, CompiledRule};
use crate::routeview::{self, RouteView, Rule};
use crate::status::{self, ObjectStatus, RouteVerdict, StatusInputs};
use gateway_api::httproutes::HttpRouteRules;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use shardgate_ir::{
    Action, BackendTarget, Cluster, Filter, Listener, ListenerTls, Mirror, Protocol, Route,
    RouteMatch, Snapshot, TlsCertificate, VirtualHost, WeightedBackend,
};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

/// The result of one translation.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// Generation 0: the publisher sets it.
    pub snapshot: Snapshot,
    /// Per object of ours, the status stanza: GatewayClasses, Gateways,
    /// ListenerSets, then routes (HTTP, GRPC, TLS, TCP, UDP), each in key
    /// order.
    pub status: Vec<ObjectStatus>,
}

/// Translate with default status inputs: not yet programmed, transition
/// times at the Unix epoch, no previous status, no known address.
pub fn translate(objects: &Objects) -> Translation {
    translate_with(objects, &StatusInputs::default())
}

struct RuleInfo {
    /// `{route}/rule/{name or index}`.
    name: String,
    compiled: Result<CompiledRule, String>,
    backends: ResolvedBackends,
    /// The backendRefs of the rule's RequestMirror filters, in order.
    mirrors: ResolvedBackends,
}

/// An HTTPRoute with at least one valid rule.
struct RouteInfo {
    key: ObjectKey,
    created: Option<Time>,
    rules: Vec<RuleInfo>,
    parents: Vec<ParentOutcome>,
}

/// One route attached to one listener of one Gateway.
struct Entry<'a> {
    gateway: &'a ObjectKey,
    listener: usize,
    hosts: &'a [Host],
    route: &'a RouteInfo,
}

/// The rules of an HTTPRoute, compiled, with their backends.
fn http_rules(objects: &Objects, view: &RouteView) -> Vec<RuleInfo> {
    let default_rules = [HttpRouteRules::default()];
    let spec = objects.http_routes.get(&view.key).map(|r| &r.spec);
    let rules_spec = match spec.and_then(|s| s.rules.as_deref()) {
        None | Some([]) => &default_rules[..],
        Some(r) => r,
    };
    rules_spec
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let compiled = routes::compile_rule(r);
            let mirror_refs: Vec<BackendRef> = compiled
                .iter()
                .flat_map(|c| &c.mirrors)
                .map(|m| m.backend.clone())
                .collect();
            RuleInfo {
                name: match r.name.as_deref() {
                    Some(n) if !n.is_empty() => format!("{}/rule/{n}", view.key),
                    _ => format!("{}/rule/{i}", view.key),
                },
                compiled,
                backends: resolve_rule(objects, view, view.rules.get(i)),
                mirrors: resolve_refs(objects, view, &mirror_refs),
            }
        })
        .collect()
}

fn resolve_rule(objects: &Objects, view: &RouteView, rule: Option<&Rule>) -> ResolvedBackends {
    resolve_refs(
        objects,
        view,
        rule.and_then(|r| r.backend_refs.as_deref())
            .unwrap_or_default(),
    )
}

fn resolve_refs(objects: &Objects, view: &RouteView, refs: &[BackendRef]) -> ResolvedBackends {
    backends::resolve(
        objects,
        grants::From {
            group: refs::GATEWAY_GROUP,
            kind: view.kind.name(),
            namespace: &view.key.namespace,
        },
        refs,
    )
}

pub fn translate_with(objects: &Objects, inputs: &StatusInputs) -> Translation {
    let classes = gatewayclass::ours(objects);
    let (gateways, sets) = gateways::analyse(objects);

    let mut routes = Vec::new();
    let mut status_routes = Vec::new();
    // Routes of every kind count in attachedRoutes; only HTTPRoutes on
    // served listeners reach the IR.
    let mut attached: BTreeMap<(ObjectKey, usize), BTreeSet<(RouteKind, ObjectKey)>> =
        BTreeMap::new();
    for view in routeview::collect(objects) {
        let parents = attach::attach(objects, &gateways, &sets, &view);
        if parents.is_empty() {
            continue;
        }
        let http = view.kind == RouteKind::Http;
        // Only HTTPRoute rules are compiled; every kind resolves backends.
        let rules = if http {
            http_rules(objects, &view)
        } else {
            Vec::new()
        };
        let other_backends: Vec<ResolvedBackends> = if http {
            Vec::new()
        } else {
            view.rules
                .iter()
                .map(|r| resolve_rule(objects, &view, Some(r)))
                .collect()
        };
        let invalid_rules: Vec<String> = rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.compiled.as_ref().err().map(|e| format!("rule {i}: {e}")))
            .collect();
        let unresolved = rules
            .iter()
            .flat_map(|r| [&r.backends, &r.mirrors])
            .chain(&other_backends)
            .flat_map(|b| b.problems.first())
            .next()
            .map(|p| (p.reason, p.message.as_str()));
        let verdict = RouteVerdict {
            generation: view.generation,
            rules: rules.len(),
            invalid_rules,
            unresolved,
            served: http,
            others: &view.others,
        };
        status_routes.push(status::route(
            view.kind, &view.key, &parents, &verdict, inputs,
        ));
        // An HTTPRoute none of whose rules is valid is not Accepted, and so
        // not counted; routes of the other kinds count when accepted.
        let serves = http && rules.iter().any(|r| r.compiled.is_ok());
        let counted = serves || !http;
        for p in parents.iter().filter(|p| p.accepted.is_ok() && counted) {
            for a in &p.attached {
                attached
                    .entry((p.gateway.clone(), a.listener))
                    .or_default()
                    .insert((view.kind, view.key.clone()));
            }
        }
        if serves {
            routes.push(RouteInfo {
                key: view.key.clone(),
                created: view.created.clone(),
                rules,
                parents,
            });
        }
    }

    let mut entries: Vec<Entry<'_>> = Vec::new();
    for r in &routes {
        for p in r.parents.iter().filter(|p| p.accepted.is_ok()) {
            for a in &p.attached {
                let Some(gw) = gateways.get(&p.gateway) else {
                    continue;
                };
                if !gw.listeners[a.listener].served() {
                    continue;
                }
                entries.push(Entry {
                    gateway: &p.gateway,
                    listener: a.listener,
                    hosts: &a.hosts,
                    route: r,
                });
            }
        }
    }

    let clusters = used_clusters(&entries);
    let index: BTreeMap<&str, u32> = clusters
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    let listeners = build_listeners(&gateways, &entries, &index);

    let mut status = Vec::new();
    for key in objects
        .gateway_classes
        .keys()
        .filter(|k| classes.contains(&k.name))
    {
        let generation = objects.gateway_classes[key]
            .metadata
            .generation
            .unwrap_or(1);
        status.push(status::gateway_class(key, generation, inputs));
    }
    let counts = |gw: &GatewayInfo| -> Vec<i32> {
        (0..gw.listeners.len())
            .map(|i| {
                attached
                    .get(&(gw.key.clone(), i))
                    .map_or(0, |s| i32::try_from(s.len()).unwrap_or(i32::MAX))
            })
            .collect()
    };
    for gw in gateways.values() {
        status.push(status::gateway(gw, &counts(gw), inputs));
    }
    for ls in &sets {
        let gw = gateways.get(&ls.gateway);
        let c = gw.map(counts).unwrap_or_default();
        status.push(status::listener_set(ls, gw, &c, inputs));
    }
    status.extend(status_routes);

    Translation {
        snapshot: Snapshot {
            generation: 0,
            listeners,
            clusters,
        },
        status,
    }
}

/// Clusters of the served rules of attached routes, by name.
fn used_clusters(entries: &[Entry<'_>]) -> Vec<Cluster> {
    let mut by_name: BTreeMap<String, Cluster> = BTreeMap::new();
    for e in entries {
        for rule in e.route.rules.iter().filter(|r| r.compiled.is_ok()) {
            for c in rule.backends.clusters.iter().chain(&rule.mirrors.clusters) {
                by_name.entry(c.name.clone()).or_insert_with(|| c.clone());
            }
        }
    }
    by_name.into_values().collect()
}

fn build_listeners(
    gateways: &BTreeMap<ObjectKey, GatewayInfo>,
    entries: &[Entry<'_>],
    index: &BTreeMap<&str, u32>,
) -> Vec<Listener> {
    // Gateway listeners by port: (gateway, listener index, hostname).
    let mut ports: BTreeMap<u16, Vec<(&ObjectKey, usize, &Host)>> = BTreeMap::new();
    // HTTPS ports and the certificates their listeners contribute.
    let mut tls: BTreeMap<u16, Vec<TlsCertificate>> = BTreeMap::new();
    for (key, gw) in gateways {
        for (i, l) in gw.listeners.iter().enumerate().filter(|(_, l)| l.served()) {
            ports.entry(l.port).or_default().push((key, i, &l.host));
            if l.protocol == ListenerProtocol::Https {
                let certs = tls.entry(l.port).or_default();
                certs.extend(l.refs.iter().flatten().map(|c| TlsCertificate {
                    name: format!("{key}/{}/{}", l.name, c.secret),
                    server_names: l.host.to_ir().into_iter().collect(),
                    chain_pem: c.chain_pem.clone(),
                    key_pem: c.key_pem.clone(),
                }));
            }
        }
    }
    let mut out = Vec::new();
    for (port, gls) in ports {
        let name = format!("0.0.0.0:{port}");
        let on_port: Vec<&Entry<'_>> = entries
            .iter()
            .filter(|e| {
                gls.iter()
                    .any(|(g, i, _)| *g == e.gateway && *i == e.listener)
            })
            .collect();
        let mut hosts: BTreeSet<Host> = gls.iter().map(|(_, _, h)| (*h).clone()).collect();
        hosts.extend(on_port.iter().flat_map(|e| e.hosts.iter().cloned()));
        let virtual_hosts = hosts
            .iter()
            .map(|h| virtual_host(&name, h, &gls, &on_port, index))
            .collect();
        out.push(Listener {
            name,
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
            protocol: match tls.contains_key(&port) {
                true => Protocol::Https,
                false => Protocol::Http,
            },
            tls: tls
                .remove(&port)
                .map(|certificates| ListenerTls { certificates }),
            virtual_hosts,
        });
    }
    out
}

/// The virtual host for requests whose host is best matched by `host`:
/// only routes of the most specific Gateway listener(s) covering it, then,
/// within those, routes whose hostnames cover it, most specific hostname
/// first, then by match precedence.
fn virtual_host(
    listener_name: &str,
    host: &Host,
    gls: &[(&ObjectKey, usize, &Host)],
    entries: &[&Entry<'_>],
    index: &BTreeMap<&str, u32>,
) -> VirtualHost {
    let best = gls
        .iter()
        .map(|(_, _, h)| *h)
        .filter(|h| h.covers(host))
        .min();
    let selected: Vec<(&ObjectKey, usize)> = gls
        .iter()
        .filter(|(_, _, h)| Some(*h) == best)
        .map(|(g, i, _)| (*g, *i))
        .collect();
    // Each route once, with its most specific hostname covering `host`.
    let mut chosen: BTreeMap<&ObjectKey, (&Host, &RouteInfo)> = BTreeMap::new();
    for e in entries {
        if !selected.contains(&(e.gateway, e.listener)) {
            continue;
        }
        let Some(h) = e.hosts.iter().filter(|h| h.covers(host)).min() else {
            continue;
        };
        let slot = chosen.entry(&e.route.key).or_insert((h, e.route));
        if h < slot.0 {
            slot.0 = h;
        }
    }
    struct Candidate<'a> {
        host: &'a Host,
        route: &'a RouteInfo,
        rule: usize,
        matched: usize,
        m: &'a RouteMatch,
        compiled: &'a CompiledRule,
        backends: &'a ResolvedBackends,
        mirrors: &'a ResolvedBackends,
    }
    let mut cands = Vec::new();
    for (h, r) in chosen.values() {
        for (ri, rule) in r.rules.iter().enumerate() {
            let Ok(compiled) = &rule.compiled else {
                continue;
            };
            for (mi, m) in compiled.matches.iter().enumerate() {
                cands.push(Candidate {
                    host: h,
                    route: r,
                    rule: ri,
                    matched: mi,
                    m,
                    compiled,
                    backends: &rule.backends,
                    mirrors: &rule.mirrors,
                });
            }
        }
    }
    cands.sort_by(|a, b| {
        a.host
            .cmp(b.host)
            .then_with(|| routes::match_precedence(a.m, b.m))
            .then_with(|| a.route.created.cmp(&b.route.created))
            .then_with(|| a.route.key.cmp(&b.route.key))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.matched.cmp(&b.matched))
    });
    let routes = cands
        .into_iter()
        .map(|c| {
            let (mut filters, redirect) = routes::for_match(c.compiled, c.m);
            if redirect.is_none() {
                filters.extend(mirror_filters(c.compiled, c.mirrors, index));
            }
            Route {
                name: format!("{}/match/{}", c.route.rules[c.rule].name, c.matched),
                matches: vec![c.m.clone()],
                filters,
                action: match redirect {
                    Some(r) => Action::Redirect(r),
                    None => action(c.backends, &c.compiled.backend_filters, index),
                },
                timeouts: c.compiled.timeouts,
            }
        })
        .collect();
    VirtualHost {
        name: format!("{listener_name}/{host}"),
        hostnames: host.to_ir().into_iter().collect(),
        routes,
    }
}

/// The rule's RequestMirror filters whose backendRef resolved; an
/// unresolved one is left out (the route's ResolvedRefs says why).
fn mirror_filters<'a>(
    rule: &'a CompiledRule,
    mirrors: &'a ResolvedBackends,
    index: &'a BTreeMap<&str, u32>,
) -> impl Iterator<Item = Filter> + 'a {
    mirrors
        .targets
        .iter()
        .zip(&mirrors.refs)
        .filter_map(move |((_, t), r)| {
            let Target::Cluster(name) = t else {
                return None;
            };
            let spec = rule.mirrors.get(*r)?;
            Some(Filter::RequestMirror(Mirror {
                cluster: *index.get(name.as_str())?,
                numerator: spec.numerator,
                denominator: spec.denominator,
            }))
        })
}

/// `filters[i]` are the filters of the rule's backendRef `i`.
fn action(b: &ResolvedBackends, filters: &[Vec<Filter>], index: &BTreeMap<&str, u32>) -> Action {
    let backends: Vec<WeightedBackend> = b
        .targets
        .iter()
        .zip(&b.refs)
        .map(|((weight, t), r)| WeightedBackend {
            filters: filters.get(*r).cloned().unwrap_or_default(),
            weight: *weight,
            target: match t {
                Target::Cluster(name) => index
                    .get(name.as_str())
                    .map_or(BackendTarget::Invalid { status: 500 }, |i| {
                        BackendTarget::Cluster(*i)
                    }),
                Target::Invalid => BackendTarget::Invalid { status: 500 },
            },
        })
        .collect();
    if backends.is_empty() {
        Action::DirectResponse { status: 500 }
    } else {
        Action::Forward(backends)
    }
}

//! Structural validation run on every decoded snapshot. The router's compile
//! step adds what needs its own machinery (regular expressions).

use crate::{
    Action, BackendTarget, Filter, HostMatch, IrError, Listener, PathMatch, PathRewrite, Protocol,
    Redirect, Route, Snapshot,
};
use std::collections::HashSet;

/// Check every cross-reference and invariant the data plane relies on.
pub fn validate(s: &Snapshot) -> Result<(), IrError> {
    let bad = |m: String| Err(IrError::Invalid(m));
    let mut bound = HashSet::new();
    for l in &s.listeners {
        if l.port == 0 {
            return bad(format!("listener {}: port 0", l.name));
        }
        if !bound.insert((l.address, l.port)) {
            return bad(format!(
                "listener {}: {}:{} bound twice",
                l.name, l.address, l.port
            ));
        }
        validate_tls(l)?;
        for vh in &l.virtual_hosts {
            for h in &vh.hostnames {
                if let Err(name) = check_host(h) {
                    return bad(format!("virtual host {}: bad hostname {name:?}", vh.name));
                }
            }
            for r in &vh.routes {
                let at = || format!("route {} in virtual host {}", r.name, vh.name);
                if r.matches.is_empty() {
                    return bad(format!("{}: no match", at()));
                }
                for m in &r.matches {
                    match &m.path {
                        PathMatch::Exact(p) | PathMatch::Prefix(p) if !p.starts_with('/') => {
                            return bad(format!("{}: path {p:?} does not start with /", at()));
                        }
                        _ => {}
                    }
                    if m.headers
                        .iter()
                        .any(|h| h.name.bytes().any(|b| b.is_ascii_uppercase()))
                    {
                        return bad(format!("{}: header names must be lower-case", at()));
                    }
                }
                check_cors(r).map_err(|m| IrError::Invalid(format!("{}: {m}", at())))?;
                check_mirrors(r, s.clusters.len())
                    .map_err(|m| IrError::Invalid(format!("{}: {m}", at())))?;
                check_filters(r).map_err(|m| IrError::Invalid(format!("{}: {m}", at())))?;
                match &r.action {
                    Action::Redirect(redirect) => {
                        check_redirect(r, redirect)
                            .map_err(|m| IrError::Invalid(format!("{}: {m}", at())))?;
                    }
                    Action::Forward(backends) => {
                        let total: u64 = backends.iter().map(|b| u64::from(b.weight)).sum();
                        if total == 0 {
                            return bad(format!("{}: backend weights sum to zero", at()));
                        }
                        for b in backends {
                            if let Some(f) = b.filters.iter().find(|f| {
                                !matches!(
                                    f,
                                    Filter::RequestHeaderModifier(_)
                                        | Filter::ResponseHeaderModifier(_)
                                )
                            }) {
                                return bad(format!(
                                    "{}: backend filter {f:?} is not a header modifier",
                                    at()
                                ));
                            }
                            match b.target {
                                BackendTarget::Cluster(i) if i as usize >= s.clusters.len() => {
                                    return bad(format!(
                                        "{}: cluster index {i} out of range",
                                        at()
                                    ));
                                }
                                BackendTarget::Invalid { status }
                                    if !(100..=599).contains(&status) =>
                                {
                                    return bad(format!("{}: status {status} out of range", at()));
                                }
                                _ => {}
                            }
                        }
                    }
                    Action::DirectResponse { status } if !(100..=599).contains(status) => {
                        return bad(format!("{}: status {status} out of range", at()));
                    }
                    Action::DirectResponse { .. } => {}
                }
            }
        }
    }
    let mut names = HashSet::new();
    for c in &s.clusters {
        if !names.insert(c.name.as_str()) {
            return bad(format!("cluster {} defined twice", c.name));
        }
        if c.connect_timeout_ms == 0 {
            return bad(format!("cluster {}: connect timeout 0", c.name));
        }
    }
    Ok(())
}

/// A hostname is lower-case; exact names are non-empty without `*`;
/// wildcard suffixes start with `.`.
fn check_host(h: &HostMatch) -> Result<(), &str> {
    let (name, ok) = match h {
        HostMatch::Exact(n) => (n, !n.is_empty() && !n.contains('*')),
        HostMatch::Wildcard(n) => (n, n.starts_with('.') && n.len() > 1),
    };
    if !ok || name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(name);
    }
    Ok(())
}

/// HTTPS listeners carry at least one certificate with PEM material;
/// cleartext ones carry none.
fn validate_tls(l: &Listener) -> Result<(), IrError> {
    let bad = |m: String| Err(IrError::Invalid(format!("listener {}: {m}", l.name)));
    let tls = match (l.protocol, &l.tls) {
        (Protocol::Http, None) => return Ok(()),
        (Protocol::Http, Some(_)) => return bad("TLS settings on a cleartext listener".into()),
        (Protocol::Https, None) => return bad("HTTPS without TLS settings".into()),
        (Protocol::Https, Some(tls)) => tls,
    };
    if tls.certificates.is_empty() {
        return bad("HTTPS without a certificate".into());
    }
    for c in &tls.certificates {
        if let Some(Err(name)) = c.server_names.iter().map(check_host).find(Result::is_err) {
            return bad(format!("certificate {}: bad server name {name:?}", c.name));
        }
        if !c.chain_pem.contains("-----BEGIN ") || !c.key_pem.contains("-----BEGIN ") {
            return bad(format!("certificate {}: PEM chain or key missing", c.name));
        }
    }
    Ok(())
}

/// CORS values go into response headers verbatim: visible ASCII only,
/// no commas, nothing empty; names and origins lower-case.
fn check_cors(r: &Route) -> Result<(), String> {
    for f in &r.filters {
        let Filter::Cors(c) = f else { continue };
        let lists = [
            ("allowOrigins", &c.allow_origins, true),
            ("allowMethods", &c.allow_methods, false),
            ("allowHeaders", &c.allow_headers, true),
            ("exposeHeaders", &c.expose_headers, true),
        ];
        for (what, list, lower) in lists {
            for v in list {
                let ok = !v.is_empty()
                    && v.bytes().all(|b| b.is_ascii_graphic() && b != b',')
                    && !(lower && v.bytes().any(|b| b.is_ascii_uppercase()));
                if !ok {
                    return Err(format!(
                        "CORS {what} value {v:?} is not a valid header value"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Mirrors name an existing cluster and a fraction of at most one.
fn check_mirrors(r: &Route, clusters: usize) -> Result<(), String> {
    for f in &r.filters {
        if let Filter::RequestMirror(m) = f {
            if m.cluster as usize >= clusters {
                return Err(format!("mirror cluster index {} out of range", m.cluster));
            }
            if m.denominator == 0 || m.numerator > m.denominator {
                return Err(format!(
                    "mirror fraction {}/{} is not between 0 and 1",
                    m.numerator, m.denominator
                ));
            }
        }
    }
    Ok(())
}

/// At most one URL rewrite; its host and path are well-formed.
fn check_filters(r: &Route) -> Result<(), String> {
    let mut rewrites = 0;
    for f in &r.filters {
        if let Filter::UrlRewrite(w) = f {
            rewrites += 1;
            if let Some(h) = &w.hostname {
                check_plain_host(h)?;
            }
            if let Some(p) = &w.path {
                check_path_rewrite(r, p)?;
            }
        }
    }
    if rewrites > 1 {
        return Err("more than one URL rewrite".into());
    }
    if rewrites > 0 && matches!(r.action, Action::Redirect(_)) {
        return Err("a redirect and a URL rewrite on one route".into());
    }
    Ok(())
}

fn check_redirect(r: &Route, d: &Redirect) -> Result<(), String> {
    if ![301, 302, 303, 307, 308].contains(&d.status) {
        return Err(format!("redirect status {} is not a redirect", d.status));
    }
    if let Some(s) = &d.scheme
        && s != "http"
        && s != "https"
    {
        return Err(format!("redirect scheme {s:?} is neither http nor https"));
    }
    if let Some(h) = &d.hostname {
        check_plain_host(h)?;
    }
    if d.port == Some(0) {
        return Err("redirect port 0".into());
    }
    match &d.path {
        Some(p) => check_path_rewrite(r, p),
        None => Ok(()),
    }
}

/// A lower-case host name without port or wildcard.
fn check_plain_host(h: &str) -> Result<(), String> {
    let ok = !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !ok {
        return Err(format!("bad hostname {h:?}"));
    }
    Ok(())
}

/// Paths start with `/`; a prefix replacement names the prefix every
/// match of the route is.
fn check_path_rewrite(r: &Route, p: &PathRewrite) -> Result<(), String> {
    let bad = |what: &str, v: &str| Err(format!("{what} {v:?} does not start with /"));
    match p {
        PathRewrite::ReplaceFullPath(v) if !v.starts_with('/') => bad("full path", v),
        PathRewrite::ReplaceFullPath(_) => Ok(()),
        PathRewrite::ReplacePrefixMatch { replacement, .. } if !replacement.starts_with('/') => {
            bad("prefix replacement", replacement)
        }
        PathRewrite::ReplacePrefixMatch { prefix, .. } => {
            let all = r
                .matches
                .iter()
                .all(|m| matches!(&m.path, PathMatch::Prefix(p) if p == prefix));
            if !all {
                return Err(format!(
                    "prefix replacement of {prefix:?} on a route not matching that prefix"
                ));
            }
            Ok(())
        }
    }
}

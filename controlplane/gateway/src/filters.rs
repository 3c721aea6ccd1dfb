//! HTTPRoute filters → IR: header modifiers, RequestRedirect, URLRewrite,
//! RequestMirror (before its backendRef is resolved), CORS and the
//! filters of a backendRef. Each returns a message for `UnsupportedValue`
//! when the filter cannot be served as written.

use crate::refs::{BackendRef, reshape};
use gateway_api::httproutes::{
    HttpRouteRulesBackendRefsFilters, HttpRouteRulesFilters, HttpRouteRulesFiltersCors,
    HttpRouteRulesFiltersRequestMirror, HttpRouteRulesFiltersRequestRedirect,
    HttpRouteRulesFiltersRequestRedirectPathType, HttpRouteRulesFiltersRequestRedirectScheme,
    HttpRouteRulesFiltersType, HttpRouteRulesFiltersUrlRewrite,
    HttpRouteRulesFiltersUrlRewritePathType,
};
use shardgate_ir::{Cors, Filter, HeaderModifier, PathRewrite, Redirect, UrlRewrite};

/// The CORS filter: origins and header names lower-cased, values checked
/// so that they can go into response headers as they are.
pub(crate) fn cors(c: &HttpRouteRulesFiltersCors) -> Result<Cors, String> {
    let f = "cors";
    let token = |what: &str, v: &String| -> Result<String, String> {
        let ok = !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic() && b != b',');
        if !ok {
            return Err(format!("{f}.{what} value {v:?} is not a valid token"));
        }
        Ok(v.clone())
    };
    let origin = |v: &String| -> Result<String, String> {
        let v = token("allowOrigins", v)?.to_ascii_lowercase();
        let ok = v == "*"
            || ["http://", "https://"].iter().any(|s| {
                v.strip_prefix(s)
                    .is_some_and(|h| !h.is_empty() && !h.contains('/'))
            });
        if !ok {
            return Err(format!(
                "{f}.allowOrigins value {v:?} is not \"*\" or scheme://host[:port] with scheme http or https"
            ));
        }
        Ok(v)
    };
    let names = |what: &str, list: &Option<Vec<String>>| -> Result<Vec<String>, String> {
        list.iter()
            .flatten()
            .map(|v| token(what, v).map(|v| v.to_ascii_lowercase()))
            .collect()
    };
    let max_age = match c.max_age {
        None => 5,
        Some(s) => u32::try_from(s).map_err(|_| format!("{f}.maxAge {s} is negative"))?,
    };
    Ok(Cors {
        allow_origins: c
            .allow_origins
            .iter()
            .flatten()
            .map(origin)
            .collect::<Result<_, _>>()?,
        allow_methods: c
            .allow_methods
            .iter()
            .flatten()
            .map(|m| token("allowMethods", m))
            .collect::<Result<_, _>>()?,
        allow_headers: names("allowHeaders", &c.allow_headers)?,
        expose_headers: names("exposeHeaders", &c.expose_headers)?,
        max_age_s: max_age,
        allow_credentials: c.allow_credentials.unwrap_or(false),
    })
}

/// A RequestMirror filter before its backendRef is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorSpec {
    pub backend: BackendRef,
    /// The share of requests copied: `numerator / denominator`, at most 1.
    pub numerator: u32,
    pub denominator: u32,
}

pub(crate) fn mirror(m: &HttpRouteRulesFiltersRequestMirror) -> Result<MirrorSpec, String> {
    let f = "requestMirror";
    let (numerator, denominator) = match (m.percent, &m.fraction) {
        (Some(_), Some(_)) => {
            return Err(format!("{f}: percent and fraction cannot both be set"));
        }
        (Some(p), None) => (p, 100),
        (None, Some(x)) => (x.numerator, x.denominator.unwrap_or(100)),
        (None, None) => (1, 1),
    };
    let (Ok(numerator), Ok(denominator)) = (u32::try_from(numerator), u32::try_from(denominator))
    else {
        return Err(format!("{f}: share {numerator}/{denominator} is negative"));
    };
    if denominator == 0 || numerator > denominator {
        return Err(format!(
            "{f}: share {numerator}/{denominator} is not between 0 and 1"
        ));
    }
    let backend: BackendRef = reshape(&m.backend_ref)
        .ok_or_else(|| format!("{f}.backendRef {} does not parse", m.backend_ref.name))?;
    Ok(MirrorSpec {
        backend,
        numerator,
        denominator,
    })
}

/// One filter of a backendRef: header modifiers apply to the requests sent
/// to that backend and their responses; the other types are refused.
pub(crate) fn backend_filter(
    backend: &str,
    f: &HttpRouteRulesBackendRefsFilters,
) -> Result<Filter, String> {
    // The backendRef filter has the rule filter's shape.
    let f: HttpRouteRulesFilters =
        reshape(f).ok_or_else(|| format!("backendRef {backend}: a filter does not parse"))?;
    match compile_filter(&f)? {
        Compiled::Filter(
            x @ (Filter::RequestHeaderModifier(_) | Filter::ResponseHeaderModifier(_)),
        ) => Ok(x),
        _ => Err(format!(
            "backendRef {backend}: filter type {} is not supported on a backendRef (RequestHeaderModifier and ResponseHeaderModifier are)",
            filter_type_name(&f.r#type)
        )),
    }
}

/// The API spelling of a filter type, e.g. `URLRewrite`.
pub(crate) fn filter_type_name(t: &HttpRouteRulesFiltersType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{t:?}"))
}

/// A compiled filter: most modify the forwarded request or its response;
/// a redirect replaces forwarding.
pub(crate) enum Compiled {
    Filter(Filter),
    Redirect(Redirect),
    Mirror(MirrorSpec),
}

pub(crate) fn compile_filter(f: &HttpRouteRulesFilters) -> Result<Compiled, String> {
    let missing = |what: &str| format!("filter {what} has no {what} field");
    match f.r#type {
        HttpRouteRulesFiltersType::RequestRedirect => {
            let r = f
                .request_redirect
                .as_ref()
                .ok_or_else(|| missing("RequestRedirect"))?;
            redirect(r).map(Compiled::Redirect)
        }
        HttpRouteRulesFiltersType::RequestMirror => {
            let m = f
                .request_mirror
                .as_ref()
                .ok_or_else(|| missing("RequestMirror"))?;
            mirror(m).map(Compiled::Mirror)
        }
        HttpRouteRulesFiltersType::Cors => {
            let c = f.cors.as_ref().ok_or_else(|| missing("CORS"))?;
            cors(c).map(|c| Compiled::Filter(Filter::Cors(c)))
        }
        HttpRouteRulesFiltersType::UrlRewrite => {
            let w = f
                .url_rewrite
                .as_ref()
                .ok_or_else(|| missing("URLRewrite"))?;
            url_rewrite(w).map(|w| Compiled::Filter(Filter::UrlRewrite(w)))
        }
        HttpRouteRulesFiltersType::RequestHeaderModifier => {
            let m = f
                .request_header_modifier
                .as_ref()
                .ok_or_else(|| missing("RequestHeaderModifier"))?;
            Ok(Compiled::Filter(Filter::RequestHeaderModifier(modifier(
                m.set.iter().flatten().map(|h| (&h.name, &h.value)),
                m.add.iter().flatten().map(|h| (&h.name, &h.value)),
                m.remove.iter().flatten(),
            ))))
        }
        HttpRouteRulesFiltersType::ResponseHeaderModifier => {
            let m = f
                .response_header_modifier
                .as_ref()
                .ok_or_else(|| missing("ResponseHeaderModifier"))?;
            Ok(Compiled::Filter(Filter::ResponseHeaderModifier(modifier(
                m.set.iter().flatten().map(|h| (&h.name, &h.value)),
                m.add.iter().flatten().map(|h| (&h.name, &h.value)),
                m.remove.iter().flatten(),
            ))))
        }
        ref other => Err(format!(
            "filter type {} is not supported",
            filter_type_name(other)
        )),
    }
}

/// A path modifier of a redirect or a rewrite; the prefix of a prefix
/// replacement is filled per match by [`for_match`].
pub(crate) fn path_modifier(
    prefix_match: bool,
    full: Option<&String>,
    replacement: Option<&String>,
    filter: &str,
) -> Result<PathRewrite, String> {
    let (value, field) = match prefix_match {
        false => (full, "replaceFullPath"),
        true => (replacement, "replacePrefixMatch"),
    };
    let value = value.ok_or_else(|| format!("{filter}.path: type needs {field}"))?;
    if !value.starts_with('/') || value.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(format!(
            "{filter}.path.{field} {value:?} is not an absolute path"
        ));
    }
    Ok(match prefix_match {
        false => PathRewrite::ReplaceFullPath(value.clone()),
        true => PathRewrite::ReplacePrefixMatch {
            prefix: String::new(),
            replacement: value.clone(),
        },
    })
}

pub(crate) fn hostname(value: Option<&String>, filter: &str) -> Result<Option<String>, String> {
    let Some(h) = value else { return Ok(None) };
    let h = h.to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !ok {
        return Err(format!("{filter}.hostname {h:?} is not a valid hostname"));
    }
    Ok(Some(h))
}

pub(crate) fn redirect(r: &HttpRouteRulesFiltersRequestRedirect) -> Result<Redirect, String> {
    let f = "requestRedirect";
    let status = match r.status_code.unwrap_or(302) {
        s @ (301 | 302 | 303 | 307 | 308) => s as u16,
        s => {
            return Err(format!(
                "{f}.statusCode {s} is not supported (301, 302, 303, 307, 308 are)"
            ));
        }
    };
    let port = match r.port {
        None => None,
        Some(p) => Some(
            u16::try_from(p)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{f}.port {p} is not a valid port"))?,
        ),
    };
    let path = match &r.path {
        None => None,
        Some(p) => Some(path_modifier(
            p.r#type == HttpRouteRulesFiltersRequestRedirectPathType::ReplacePrefixMatch,
            p.replace_full_path.as_ref(),
            p.replace_prefix_match.as_ref(),
            f,
        )?),
    };
    Ok(Redirect {
        scheme: r.scheme.as_ref().map(|s| match s {
            HttpRouteRulesFiltersRequestRedirectScheme::Http => "http".to_owned(),
            HttpRouteRulesFiltersRequestRedirectScheme::Https => "https".to_owned(),
        }),
        hostname: hostname(r.hostname.as_ref(), f)?,
        path,
        port,
        status,
    })
}

pub(crate) fn url_rewrite(w: &HttpRouteRulesFiltersUrlRewrite) -> Result<UrlRewrite, String> {
    let f = "urlRewrite";
    let path = match &w.path {
        None => None,
        Some(p) => Some(path_modifier(
            p.r#type == HttpRouteRulesFiltersUrlRewritePathType::ReplacePrefixMatch,
            p.replace_full_path.as_ref(),
            p.replace_prefix_match.as_ref(),
            f,
        )?),
    };
    Ok(UrlRewrite {
        hostname: hostname(w.hostname.as_ref(), f)?,
        path,
    })
}

pub(crate) fn modifier<'a>(
    set: impl Iterator<Item = (&'a String, &'a String)>,
    add: impl Iterator<Item = (&'a String, &'a String)>,
    remove: impl Iterator<Item = &'a String>,
) -> HeaderModifier {
    let pair = |(n, v): (&String, &String)| (n.to_ascii_lowercase(), v.clone());
    HeaderModifier {
        set: set.map(pair).collect(),
        add: add.map(pair).collect(),
        remove: remove.map(|n| n.to_ascii_lowercase()).collect(),
    }
}

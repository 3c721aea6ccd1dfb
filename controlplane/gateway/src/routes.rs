//! HTTPRoute rules → IR matches, filters and timeouts, and the Gateway API
//! precedence order between matches.

use crate::duration;
use crate::filters::{Compiled, MirrorSpec, backend_filter, compile_filter};
use gateway_api::httproutes::{
    HttpRouteRules, HttpRouteRulesMatches, HttpRouteRulesMatchesHeadersType,
    HttpRouteRulesMatchesMethod, HttpRouteRulesMatchesPathType,
    HttpRouteRulesMatchesQueryParamsType,
};
use shardgate_ir::{
    Filter, HeaderMatch, PathMatch, PathRewrite, QueryParamMatch, Redirect, RouteMatch,
    StringMatch, Timeouts,
};
use std::cmp::{Ordering, Reverse};

/// The data-plane part of one rule, ready to be placed in virtual hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledRule {
    pub matches: Vec<RouteMatch>,
    /// A `ReplacePrefixMatch` path rewrite here has an empty `prefix`:
    /// [`for_match`] fills in the prefix of each match.
    pub filters: Vec<Filter>,
    /// A RequestRedirect filter: the rule answers with it instead of
    /// forwarding (its `ReplacePrefixMatch` prefix is filled the same way).
    pub redirect: Option<Redirect>,
    /// Per backendRef, in rule order: its own filters (header modifiers).
    pub backend_filters: Vec<Vec<Filter>>,
    /// RequestMirror filters, in order: the translator resolves their
    /// backendRefs like the rule's.
    pub mirrors: Vec<MirrorSpec>,
    pub timeouts: Timeouts,
}

/// The filters and redirect of `rule` for one of its matches: a prefix
/// replacement names that match's prefix.
pub fn for_match(rule: &CompiledRule, m: &RouteMatch) -> (Vec<Filter>, Option<Redirect>) {
    let prefix = match &m.path {
        PathMatch::Prefix(p) => p.clone(),
        // compile_rule refuses prefix replacements on other matches.
        PathMatch::Exact(p) | PathMatch::Regex(p) => p.clone(),
    };
    let fill = |p: &mut Option<PathRewrite>| {
        if let Some(PathRewrite::ReplacePrefixMatch { prefix: slot, .. }) = p {
            slot.clone_from(&prefix);
        }
    };
    let mut filters = rule.filters.clone();
    for f in &mut filters {
        if let Filter::UrlRewrite(w) = f {
            fill(&mut w.path);
        }
    }
    let mut redirect = rule.redirect.clone();
    if let Some(r) = &mut redirect {
        fill(&mut r.path);
    }
    (filters, redirect)
}

/// Compile one rule. `Err` carries a message for the `UnsupportedValue`
/// reason: the rule is dropped and the route says so in its status.
pub fn compile_rule(rule: &HttpRouteRules) -> Result<CompiledRule, String> {
    let matches = match rule.matches.as_deref() {
        None | Some([]) => vec![default_match()],
        Some(ms) => ms.iter().map(compile_match).collect::<Result<_, _>>()?,
    };
    let mut filters = Vec::new();
    let mut redirect = None;
    let mut mirrors = Vec::new();
    for f in rule.filters.iter().flatten() {
        match compile_filter(f)? {
            Compiled::Filter(x) => filters.push(x),
            Compiled::Mirror(m) => mirrors.push(m),
            Compiled::Redirect(_) if redirect.is_some() => {
                return Err("more than one RequestRedirect filter".to_owned());
            }
            Compiled::Redirect(r) => redirect = Some(r),
        }
    }
    let rewrites = filters
        .iter()
        .filter(|f| matches!(f, Filter::UrlRewrite(_)))
        .count();
    if rewrites > 1 {
        return Err("more than one URLRewrite filter".to_owned());
    }
    if rewrites > 0 && redirect.is_some() {
        return Err("RequestRedirect and URLRewrite filters cannot be used together".to_owned());
    }
    let prefix_rewrite = filters
        .iter()
        .filter_map(|f| match f {
            Filter::UrlRewrite(w) => w.path.as_ref(),
            _ => None,
        })
        .chain(redirect.as_ref().and_then(|r| r.path.as_ref()))
        .any(|p| matches!(p, PathRewrite::ReplacePrefixMatch { .. }));
    let backend_filters = rule
        .backend_refs
        .iter()
        .flatten()
        .map(|b| {
            b.filters
                .iter()
                .flatten()
                .map(|f| backend_filter(&b.name, f))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    if prefix_rewrite
        && matches
            .iter()
            .any(|m: &RouteMatch| !matches!(m.path, PathMatch::Prefix(_)))
    {
        return Err(
            "a ReplacePrefixMatch path modifier needs every match of its rule to be a PathPrefix match"
                .to_owned(),
        );
    }
    let timeouts = compile_timeouts(rule)?;
    Ok(CompiledRule {
        matches,
        filters,
        redirect,
        backend_filters,
        mirrors,
        timeouts,
    })
}

fn default_match() -> RouteMatch {
    RouteMatch {
        path: PathMatch::Prefix("/".to_owned()),
        headers: Vec::new(),
        query_params: Vec::new(),
        method: None,
    }
}

fn compile_match(m: &HttpRouteRulesMatches) -> Result<RouteMatch, String> {
    let (kind, value) = match &m.path {
        None => (HttpRouteRulesMatchesPathType::PathPrefix, "/".to_owned()),
        Some(p) => (
            p.r#type
                .clone()
                .unwrap_or(HttpRouteRulesMatchesPathType::PathPrefix),
            p.value.clone().unwrap_or_else(|| "/".to_owned()),
        ),
    };
    let path = match kind {
        HttpRouteRulesMatchesPathType::Exact | HttpRouteRulesMatchesPathType::PathPrefix
            if !value.starts_with('/') =>
        {
            return Err(format!("path {value:?} does not start with /"));
        }
        HttpRouteRulesMatchesPathType::Exact => PathMatch::Exact(value),
        HttpRouteRulesMatchesPathType::PathPrefix => PathMatch::Prefix(value),
        HttpRouteRulesMatchesPathType::RegularExpression => {
            check_regex("path", &value)?;
            PathMatch::Regex(value)
        }
    };
    let mut headers: Vec<HeaderMatch> = Vec::new();
    for h in m.headers.iter().flatten() {
        let name = h.name.to_ascii_lowercase();
        // The spec: when a header name repeats, the first entry wins.
        if headers.iter().any(|x| x.name == name) {
            continue;
        }
        let value = match h.r#type {
            None | Some(HttpRouteRulesMatchesHeadersType::Exact) => {
                StringMatch::Exact(h.value.clone())
            }
            Some(HttpRouteRulesMatchesHeadersType::RegularExpression) => {
                check_regex(&format!("header {}", h.name), &h.value)?;
                StringMatch::Regex(h.value.clone())
            }
        };
        headers.push(HeaderMatch { name, value });
    }
    let mut query_params: Vec<QueryParamMatch> = Vec::new();
    for q in m.query_params.iter().flatten() {
        if query_params.iter().any(|x| x.name == q.name) {
            continue;
        }
        let value = match q.r#type {
            None | Some(HttpRouteRulesMatchesQueryParamsType::Exact) => {
                StringMatch::Exact(q.value.clone())
            }
            Some(HttpRouteRulesMatchesQueryParamsType::RegularExpression) => {
                check_regex(&format!("query parameter {}", q.name), &q.value)?;
                StringMatch::Regex(q.value.clone())
            }
        };
        query_params.push(QueryParamMatch {
            name: q.name.clone(),
            value,
        });
    }
    Ok(RouteMatch {
        path,
        headers,
        query_params,
        method: m.method.as_ref().map(|x| method_token(x).to_owned()),
    })
}

/// The data plane compiles every pattern anchored to the whole subject
/// (`^(?:…)$`) with the `regex` crate and refuses a snapshot holding one that
/// does not compile, so a bad pattern must stop at its rule, here.
fn check_regex(what: &str, pattern: &str) -> Result<(), String> {
    regex::bytes::Regex::new(pattern)
        .and_then(|_| regex::bytes::Regex::new(&format!("^(?:{pattern})$")))
        .map(|_| ())
        .map_err(|e| format!("{what} regular expression {pattern:?} does not compile: {e}"))
}

fn method_token(m: &HttpRouteRulesMatchesMethod) -> &'static str {
    match m {
        HttpRouteRulesMatchesMethod::Get => "GET",
        HttpRouteRulesMatchesMethod::Head => "HEAD",
        HttpRouteRulesMatchesMethod::Post => "POST",
        HttpRouteRulesMatchesMethod::Put => "PUT",
        HttpRouteRulesMatchesMethod::Delete => "DELETE",
        HttpRouteRulesMatchesMethod::Connect => "CONNECT",
        HttpRouteRulesMatchesMethod::Options => "OPTIONS",
        HttpRouteRulesMatchesMethod::Trace => "TRACE",
        HttpRouteRulesMatchesMethod::Patch => "PATCH",
    }
}

/// Durations in milliseconds. Zero means "no timeout" in the Gateway API;
/// the IR has no way to say "disabled", so zero becomes the data-plane
/// default (`None`). Values beyond `u32::MAX` ms (about 49 days) are capped.
fn compile_timeouts(rule: &HttpRouteRules) -> Result<Timeouts, String> {
    let Some(t) = &rule.timeouts else {
        return Ok(Timeouts::default());
    };
    let parse = |field: &str, v: &Option<String>| -> Result<Option<u64>, String> {
        v.as_deref()
            .map(|s| duration::parse_ms(s).map_err(|e| format!("timeouts.{field}: {e}")))
            .transpose()
    };
    let request = parse("request", &t.request)?;
    let backend = parse("backendRequest", &t.backend_request)?;
    if let (Some(r), Some(b)) = (request, backend)
        && r != 0
        && b > r
    {
        return Err(format!(
            "timeouts.backendRequest ({b} ms) must not exceed timeouts.request ({r} ms)"
        ));
    }
    let ms = |v: Option<u64>| {
        v.filter(|v| *v != 0)
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
    };
    Ok(Timeouts {
        request_ms: ms(request),
        backend_request_ms: ms(backend),
    })
}

/// Precedence of one match, the Gateway API way: exact path, then the
/// longest prefix (regular expressions, whose order the spec leaves to the
/// implementation, sit between exact and prefix matches, longest first),
/// then a method match, then more header matches, then more query-parameter
/// matches. Smaller sorts first. Ties are broken by the caller (route age,
/// name, rule and match index).
pub fn match_precedence(a: &RouteMatch, b: &RouteMatch) -> Ordering {
    fn key(m: &RouteMatch) -> (u8, Reverse<usize>, bool, Reverse<usize>, Reverse<usize>) {
        let (rank, len) = match &m.path {
            PathMatch::Exact(p) => (0, p.len()),
            PathMatch::Regex(p) => (1, p.len()),
            PathMatch::Prefix(p) => (2, p.trim_end_matches('/').len()),
        };
        (
            rank,
            Reverse(len),
            m.method.is_none(),
            Reverse(m.headers.len()),
            Reverse(m.query_params.len()),
        )
    }
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(path: PathMatch, method: Option<&str>, headers: usize, query: usize) -> RouteMatch {
        let sm = |i: usize| StringMatch::Exact(i.to_string());
        RouteMatch {
            path,
            headers: (0..headers)
                .map(|i| HeaderMatch {
                    name: format!("h{i}"),
                    value: sm(i),
                })
                .collect(),
            query_params: (0..query)
                .map(|i| QueryParamMatch {
                    name: format!("q{i}"),
                    value: sm(i),
                })
                .collect(),
            method: method.map(str::to_owned),
        }
    }

    #[test]
    fn precedence_order() {
        let p = |s: &str| PathMatch::Prefix(s.into());
        let mut v = [
            m(p("/"), None, 0, 0),
            m(p("/"), None, 0, 1),
            m(p("/"), None, 1, 0),
            m(p("/"), Some("GET"), 0, 0),
            m(p("/a/b"), None, 0, 0),
            m(p("/a/"), None, 3, 0),
            m(PathMatch::Regex("/a.*".into()), None, 0, 0),
            m(PathMatch::Exact("/a".into()), None, 0, 0),
        ];
        v.reverse();
        v.sort_by(match_precedence);
        let order: Vec<String> = v
            .iter()
            .map(|x| {
                format!(
                    "{:?}{:?}{}{}",
                    x.path,
                    x.method,
                    x.headers.len(),
                    x.query_params.len()
                )
            })
            .collect();
        assert_eq!(
            order,
            [
                "Exact(\"/a\")None00",
                "Regex(\"/a.*\")None00",
                "Prefix(\"/a/b\")None00",
                "Prefix(\"/a/\")None30",
                "Prefix(\"/\")Some(\"GET\")00",
                "Prefix(\"/\")None10",
                "Prefix(\"/\")None01",
                "Prefix(\"/\")None00",
            ]
        );
    }
}

//! HTTPRoute rules → IR matches, filters and timeouts, and the Gateway API
//! precedence order between matches.

use crate::duration;
use gateway_api::httproutes::{
    HttpRouteRules, HttpRouteRulesFilters, HttpRouteRulesFiltersType, HttpRouteRulesMatches,
    HttpRouteRulesMatchesHeadersType, HttpRouteRulesMatchesMethod, HttpRouteRulesMatchesPathType,
    HttpRouteRulesMatchesQueryParamsType,
};
use shardgate_ir::{
    Filter, HeaderMatch, HeaderModifier, PathMatch, QueryParamMatch, RouteMatch, StringMatch,
    Timeouts,
};
use std::cmp::{Ordering, Reverse};

/// The data-plane part of one rule, ready to be placed in virtual hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledRule {
    pub matches: Vec<RouteMatch>,
    pub filters: Vec<Filter>,
    pub timeouts: Timeouts,
}

/// Compile one rule. `Err` carries a message for the `UnsupportedValue`
/// reason: the rule is dropped and the route says so in its status.
pub fn compile_rule(rule: &HttpRouteRules) -> Result<CompiledRule, String> {
    let matches = match rule.matches.as_deref() {
        None | Some([]) => vec![default_match()],
        Some(ms) => ms.iter().map(compile_match).collect::<Result<_, _>>()?,
    };
    let filters = rule
        .filters
        .iter()
        .flatten()
        .map(compile_filter)
        .collect::<Result<_, _>>()?;
    for b in rule.backend_refs.iter().flatten() {
        if b.filters.as_ref().is_some_and(|f| !f.is_empty()) {
            return Err(format!(
                "backendRef {}: per-backend filters are not supported",
                b.name
            ));
        }
    }
    let timeouts = compile_timeouts(rule)?;
    Ok(CompiledRule {
        matches,
        filters,
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

fn compile_filter(f: &HttpRouteRulesFilters) -> Result<Filter, String> {
    let missing = |what: &str| format!("filter {what} has no {what} field");
    match f.r#type {
        HttpRouteRulesFiltersType::RequestHeaderModifier => {
            let m = f
                .request_header_modifier
                .as_ref()
                .ok_or_else(|| missing("RequestHeaderModifier"))?;
            Ok(Filter::RequestHeaderModifier(modifier(
                m.set.iter().flatten().map(|h| (&h.name, &h.value)),
                m.add.iter().flatten().map(|h| (&h.name, &h.value)),
                m.remove.iter().flatten(),
            )))
        }
        HttpRouteRulesFiltersType::ResponseHeaderModifier => {
            let m = f
                .response_header_modifier
                .as_ref()
                .ok_or_else(|| missing("ResponseHeaderModifier"))?;
            Ok(Filter::ResponseHeaderModifier(modifier(
                m.set.iter().flatten().map(|h| (&h.name, &h.value)),
                m.add.iter().flatten().map(|h| (&h.name, &h.value)),
                m.remove.iter().flatten(),
            )))
        }
        ref other => {
            let name = serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("{other:?}"));
            Err(format!("filter type {name} is not supported"))
        }
    }
}

fn modifier<'a>(
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

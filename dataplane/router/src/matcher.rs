//! One compiled `RouteMatch`: path, method, headers and query parameters,
//! all of which must hold.

use crate::error::CompileError;
use crate::pool::{Pool, Span, Value};
use crate::request::{HeaderMap, first_query_value};
use shardgate_ir::{PathMatch, RouteMatch, StringMatch};

/// Where a condition comes from, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Site<'a> {
    pub(crate) listener: &'a str,
    pub(crate) virtual_host: &'a str,
    pub(crate) route: &'a str,
}

/// The part of a path prefix that matching compares: trailing `/` removed
/// (so `/` becomes empty and matches every path).
pub(crate) fn prefix_key(prefix: &str) -> &str {
    prefix.trim_end_matches('/')
}

/// Segment-aware prefix test on a normalised key (see [`prefix_key`]).
#[inline]
pub(crate) fn prefix_matches(key: &[u8], path: &[u8]) -> bool {
    path.starts_with(key) && path.get(key.len()).is_none_or(|&b| b == b'/')
}

/// How a path is compared.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PathCond {
    Exact(Span),
    /// Normalised by [`prefix_key`].
    Prefix(Span),
    /// Number of a regex in the pool.
    Regex(u32),
}

/// The request as the matchers see it: target already split.
pub(crate) struct Parts<'r, H: ?Sized> {
    pub(crate) method: &'r [u8],
    pub(crate) path: &'r [u8],
    /// Empty when the target has no `?`.
    pub(crate) query: &'r [u8],
    pub(crate) headers: &'r H,
}

/// A compiled `RouteMatch`: small and plain, its strings and regexes kept
/// in the virtual host's [`Pool`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompiledMatch {
    pub(crate) path: PathCond,
    method: Option<Span>,
    /// Span of `pool.headers`.
    headers: Span,
    /// Span of `pool.query`.
    query: Span,
}

impl CompiledMatch {
    pub(crate) fn compile(
        m: &RouteMatch,
        site: Site<'_>,
        pool: &mut Pool,
    ) -> Result<Self, CompileError> {
        let path = match &m.path {
            PathMatch::Exact(p) => PathCond::Exact(pool.push_text(p, site)?),
            PathMatch::Prefix(p) => PathCond::Prefix(pool.push_text(prefix_key(p), site)?),
            PathMatch::Regex(p) => PathCond::Regex(pool.push_regex(p, site, || "path".to_owned())?),
        };
        let method = match &m.method {
            Some(method) => Some(pool.push_text(method, site)?),
            None => None,
        };
        let from = pool.headers.len();
        for h in &m.headers {
            let name = pool.push_text(&h.name, site)?;
            let value = value(pool, &h.value, site, || format!("header {:?}", h.name))?;
            pool.headers.push((name, value));
        }
        let headers = Pool::tail(from, pool.headers.len(), site)?;
        let from = pool.query.len();
        for q in &m.query_params {
            let name = pool.push_text(&q.name, site)?;
            let value = value(pool, &q.value, site, || {
                format!("query parameter {:?}", q.name)
            })?;
            pool.query.push((name, value));
        }
        let query = Pool::tail(from, pool.query.len(), site)?;
        Ok(CompiledMatch {
            path,
            method,
            headers,
            query,
        })
    }

    /// Every condition holds. Always inlined: the linear scan of a small
    /// virtual host calls it once per match.
    #[inline(always)]
    pub(crate) fn matches<H: HeaderMap + ?Sized>(&self, pool: &Pool, req: &Parts<'_, H>) -> bool {
        // Lengths first: most paths are refused without reading the pool.
        let path_ok = match self.path {
            PathCond::Exact(p) => p.len() == req.path.len() && pool.bytes(p) == req.path,
            PathCond::Prefix(key) => {
                key.len() <= req.path.len() && prefix_matches(pool.bytes(key), req.path)
            }
            PathCond::Regex(id) => pool.regex_matches(id, req.path),
        };
        path_ok && self.matches_besides_path(pool, req)
    }

    /// Every condition but the path holds (the caller has already checked
    /// the path, e.g. by finding this match under the path's index key).
    /// Cheap conditions first: method, then query, then headers.
    #[inline]
    pub(crate) fn matches_besides_path<H: HeaderMap + ?Sized>(
        &self,
        pool: &Pool,
        req: &Parts<'_, H>,
    ) -> bool {
        if let Some(m) = self.method
            && pool.bytes(m) != req.method
        {
            return false;
        }
        // Gateway API: when a parameter repeats, only its first occurrence
        // is considered.
        let query_ok = pool.query(self.query).iter().all(|&(name, value)| {
            first_query_value(req.query, pool.bytes(name))
                .is_some_and(|v| pool.value_matches(value, v))
        });
        // A field that occurs several times matches when any one of its
        // values matches (the request is not rejected, nor are values joined
        // with commas: a value is compared exactly as the field carried it).
        query_ok
            && pool.headers(self.headers).iter().all(|&(name, value)| {
                req.headers
                    .any_value(pool.text(name), &mut |v| pool.value_matches(value, v))
            })
    }
}

fn value(
    pool: &mut Pool,
    m: &StringMatch,
    site: Site<'_>,
    field: impl Fn() -> String,
) -> Result<Value, CompileError> {
    Ok(match m {
        StringMatch::Exact(v) => Value::Exact(pool.push_text(v, site)?),
        StringMatch::Regex(p) => Value::Regex(pool.push_regex(p, site, field)?),
    })
}

#[cfg(test)]
mod tests;

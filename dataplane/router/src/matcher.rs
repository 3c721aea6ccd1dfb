//! One compiled `RouteMatch`: path, method, headers and query parameters,
//! all of which must hold.

use crate::anchored::AnchoredRegex;
use crate::error::CompileError;
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
pub(crate) fn prefix_key(prefix: &str) -> &[u8] {
    let mut key = prefix.as_bytes();
    while let [rest @ .., b'/'] = key {
        key = rest;
    }
    key
}

/// Segment-aware prefix test on a normalised key (see [`prefix_key`]).
#[inline]
pub(crate) fn prefix_matches(key: &[u8], path: &[u8]) -> bool {
    path.starts_with(key) && path.get(key.len()).is_none_or(|&b| b == b'/')
}

#[derive(Debug)]
pub(crate) enum PathMatcher {
    Exact(Box<[u8]>),
    /// Normalised by [`prefix_key`].
    Prefix(Box<[u8]>),
    Regex(AnchoredRegex),
}

impl PathMatcher {
    #[inline]
    fn matches(&self, path: &[u8]) -> bool {
        match self {
            PathMatcher::Exact(p) => **p == *path,
            PathMatcher::Prefix(key) => prefix_matches(key, path),
            PathMatcher::Regex(re) => re.is_match(path),
        }
    }
}

#[derive(Debug)]
pub(crate) enum ValueMatcher {
    Exact(Box<[u8]>),
    Regex(AnchoredRegex),
}

impl ValueMatcher {
    fn compile(
        m: &StringMatch,
        site: Site<'_>,
        field: impl Fn() -> String,
    ) -> Result<Self, CompileError> {
        Ok(match m {
            StringMatch::Exact(v) => ValueMatcher::Exact(v.as_bytes().into()),
            StringMatch::Regex(p) => ValueMatcher::Regex(AnchoredRegex::compile(p, site, field)?),
        })
    }

    #[inline]
    fn matches(&self, value: &[u8]) -> bool {
        match self {
            ValueMatcher::Exact(v) => **v == *value,
            ValueMatcher::Regex(re) => re.is_match(value),
        }
    }
}

/// The request as the matchers see it: target already split.
pub(crate) struct Parts<'r, H: ?Sized> {
    pub(crate) method: &'r [u8],
    pub(crate) path: &'r [u8],
    /// Empty when the target has no `?`.
    pub(crate) query: &'r [u8],
    pub(crate) headers: &'r H,
}

/// A compiled `RouteMatch`.
#[derive(Debug)]
pub(crate) struct CompiledMatch {
    pub(crate) path: PathMatcher,
    method: Option<Box<[u8]>>,
    headers: Box<[(Box<str>, ValueMatcher)]>,
    query: Box<[(Box<[u8]>, ValueMatcher)]>,
}

impl CompiledMatch {
    pub(crate) fn compile(m: &RouteMatch, site: Site<'_>) -> Result<Self, CompileError> {
        let path = match &m.path {
            PathMatch::Exact(p) => PathMatcher::Exact(p.as_bytes().into()),
            PathMatch::Prefix(p) => PathMatcher::Prefix(prefix_key(p).into()),
            PathMatch::Regex(p) => {
                PathMatcher::Regex(AnchoredRegex::compile(p, site, || "path".to_owned())?)
            }
        };
        let headers = m
            .headers
            .iter()
            .map(|h| {
                let field = || format!("header {:?}", h.name);
                Ok((
                    h.name.as_str().into(),
                    ValueMatcher::compile(&h.value, site, field)?,
                ))
            })
            .collect::<Result<_, CompileError>>()?;
        let query = m
            .query_params
            .iter()
            .map(|q| {
                let field = || format!("query parameter {:?}", q.name);
                Ok((
                    q.name.as_bytes().into(),
                    ValueMatcher::compile(&q.value, site, field)?,
                ))
            })
            .collect::<Result<_, CompileError>>()?;
        Ok(CompiledMatch {
            path,
            method: m.method.as_deref().map(|s| s.as_bytes().into()),
            headers,
            query,
        })
    }

    /// Every condition holds.
    #[inline]
    pub(crate) fn matches<H: HeaderMap + ?Sized>(&self, req: &Parts<'_, H>) -> bool {
        self.path.matches(req.path) && self.matches_besides_path(req)
    }

    /// Every condition but the path holds (the caller has already checked
    /// the path, e.g. by finding this match under the path's index key).
    /// Cheap conditions first: method, then query, then headers.
    #[inline]
    pub(crate) fn matches_besides_path<H: HeaderMap + ?Sized>(&self, req: &Parts<'_, H>) -> bool {
        if let Some(m) = &self.method
            && **m != *req.method
        {
            return false;
        }
        // Gateway API: when a parameter repeats, only its first occurrence
        // is considered.
        let query_ok = self.query.iter().all(|(name, value)| {
            first_query_value(req.query, name).is_some_and(|v| value.matches(v))
        });
        // A field that occurs several times matches when any one of its
        // values matches (the request is not rejected, nor are values joined
        // with commas: a value is compared exactly as the field carried it).
        query_ok
            && self
                .headers
                .iter()
                .all(|(name, value)| req.headers.any_value(name, &mut |v| value.matches(v)))
    }
}

#[cfg(test)]
mod tests;

//! First-match-in-IR-order over one virtual host's route matches, without a
//! linear scan when the virtual host is large.
//!
//! Every `RouteMatch` of the virtual host gets a number in IR order (routes
//! in order, each route's matches in order); the answer is the smallest
//! number whose match holds. A large virtual host files each number under
//! its path:
//!
//! - `Exact(p)`: under `p` in the exact map;
//! - `Prefix(p)`: under its normalised key in the prefix map (`/` under the
//!   empty key);
//! - `Regex`: in the `scan` list, checked for every request.
//!
//! A request can only be matched by numbers filed under its own path (exact
//! map), under one of its segment boundaries `path[..i]` where `i` is the
//! length or `path[i] == '/'` (prefix map; these are exactly the keys that
//! [`prefix_matches`](crate::matcher::prefix_matches) accepts), or in
//! `scan`. Each of those lists is ascending, so the smallest holding number
//! in a list is its first holding entry, and lists are cut short at the best
//! number found so far. The result is the same as the linear scan, which the
//! randomized test in `tests/equivalence.rs` checks.

use crate::hash::{BytesMap, PrefixHasher};
use crate::matcher::{CompiledMatch, Parts, PathCond};
use crate::pool::Pool;
use crate::request::HeaderMap;

/// Up to this many matches a linear scan beats hashing the path.
const LINEAR_MAX: usize = 16;

#[derive(Debug)]
pub(crate) struct MatchEntry {
    /// Index of the route within its virtual host.
    pub(crate) route: u32,
    pub(crate) cond: CompiledMatch,
}

#[derive(Debug)]
pub(crate) struct RouteIndex {
    pool: Pool,
    entries: Box<[MatchEntry]>,
    paths: Option<PathIndex>,
}

#[derive(Debug, Default)]
struct PathIndex {
    exact: BytesMap<Vec<u32>>,
    prefix: BytesMap<Vec<u32>>,
    scan: Vec<u32>,
}

impl RouteIndex {
    /// `entries` in IR order, their conditions in `pool`; their count must
    /// fit in a `u32`.
    pub(crate) fn new(entries: Vec<MatchEntry>, mut pool: Pool) -> Self {
        pool.shrink_to_fit();
        let paths = (entries.len() > LINEAR_MAX).then(|| {
            let mut ix = PathIndex::default();
            for (id, e) in (0u32..).zip(&entries) {
                let list = match e.cond.path {
                    PathCond::Exact(p) => ix.exact.get_or_insert_with(pool.bytes(p), Vec::new),
                    PathCond::Prefix(key) => {
                        ix.prefix.get_or_insert_with(pool.bytes(key), Vec::new)
                    }
                    PathCond::Regex(_) => &mut ix.scan,
                };
                list.push(id);
            }
            for list in ix.exact.values_mut().chain(ix.prefix.values_mut()) {
                list.shrink_to_fit();
            }
            ix.scan.shrink_to_fit();
            ix
        });
        RouteIndex {
            pool,
            entries: entries.into(),
            paths,
        }
    }

    /// The route (index within the virtual host) of the first match in IR
    /// order that the request satisfies.
    #[inline]
    pub(crate) fn find<H: HeaderMap + ?Sized>(&self, req: &Parts<'_, H>) -> Option<u32> {
        match &self.paths {
            None => self
                .entries
                .iter()
                .find(|e| e.cond.matches(&self.pool, req))
                .map(|e| e.route),
            Some(ix) => {
                let id = ix.first_match(&self.pool, &self.entries, req)?;
                self.entries.get(id as usize).map(|e| e.route)
            }
        }
    }
}

impl PathIndex {
    fn first_match<H: HeaderMap + ?Sized>(
        &self,
        pool: &Pool,
        entries: &[MatchEntry],
        req: &Parts<'_, H>,
    ) -> Option<u32> {
        let path = req.path;
        let mut best = u32::MAX;
        // `path_known`: the list was found under the request's own path, so
        // only the other conditions remain to be checked.
        let mut consider = |ids: &[u32], path_known: bool| {
            for &id in ids {
                if id >= best {
                    break;
                }
                let Some(e) = entries.get(id as usize) else {
                    break;
                };
                let holds = if path_known {
                    e.cond.matches_besides_path(pool, req)
                } else {
                    e.cond.matches(pool, req)
                };
                if holds {
                    best = id;
                    break;
                }
            }
        };

        let mut hasher = PrefixHasher::new(path);
        if !self.prefix.is_empty() {
            let limit = path.len().min(self.prefix.max_key_len());
            for end in 0..=limit {
                if self.prefix.has_key_len(end)
                    && path.get(end).is_none_or(|&b| b == b'/')
                    && let Some(ids) = self.prefix.get(hasher.hash_to(end), &path[..end])
                {
                    consider(ids, true);
                }
            }
        }
        if self.exact.has_key_len(path.len())
            && let Some(ids) = self.exact.get(hasher.hash_to(path.len()), path)
        {
            consider(ids, true);
        }
        // Regexes last: by now `best` is as low as the cheap lists make it.
        consider(&self.scan, false);
        (best != u32::MAX).then_some(best)
    }
}

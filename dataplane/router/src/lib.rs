//! The compiled routing table of the data plane.
//!
//! [`Table::compile`] turns a [`shardgate_ir::Snapshot`] into an immutable
//! table that every shard shares behind an `Arc`; [`ListenerTable::route`]
//! answers "which route serves this request" synchronously, without I/O and
//! without allocating. Per-shard mutable state (the random numbers for
//! [`WeightedBackends::pick`], counters) belongs to the caller.
//!
//! Semantics follow the Gateway API as the IR encodes it:
//!
//! - **Virtual host** by request host, with `:port` stripped, one trailing dot
//!   ignored and ASCII case folded: an exact hostname first, then the longest
//!   wildcard suffix (`.example.com` matches `a.example.com` and
//!   `a.b.example.com`, not `example.com`), then the virtual host without
//!   hostnames. Hosts over 253 bytes reach only that catch-all. Only the
//!   chosen virtual host's routes are considered.
//! - **Routes** in IR order (the control plane has sorted them by
//!   precedence); the first route with a holding `RouteMatch` wins. Matches of
//!   a route are OR'd, conditions of a match AND'd.
//! - **Path** (target up to `?`, compared raw): `Exact` byte-equal; `Prefix`
//!   segment-aware with a trailing `/` ignored; `Regex` anchored to the whole
//!   path.
//! - **Headers**: names ASCII case-insensitive; values byte-equal (`Exact`)
//!   or anchored (`Regex`). A field present several times matches when any
//!   one of its values matches.
//! - **Query parameters**: raw names and values; when a name repeats only its
//!   first occurrence counts.
//! - **Method**: exact and case-sensitive.
//!
//! Cost: choosing the virtual host is one walk over the host plus a hash
//! probe per candidate wildcard suffix length. Small virtual hosts are
//! scanned; large ones index their matches by exact path and by prefix (see
//! the `index` module), so plain path tables cost a probe per segment
//! boundary whatever their size. Matches that only a header, query or regex
//! tells apart are still checked one by one, from compact arrays; regexes
//! first check the literal prefix every match must start with.
//!
//! Regular expressions are `regex::bytes::Regex` values shared by all
//! shards: the regex crate keeps a scratch cache per thread, which it
//! allocates on a thread's first use of each regex and may grow, up to a
//! bounded size, while its lazy DFA meets new inputs. Everything else on the
//! match path never allocates (`tests/no_alloc.rs`).
#![forbid(unsafe_code)]

mod anchored;
mod backends;
mod error;
mod hash;
mod host;
mod index;
mod matcher;
mod pool;
mod request;
mod table;

pub use backends::WeightedBackends;
pub use error::{CompileError, RegexError};
pub use host::{MAX_HOST_LEN, normalise_host};
pub use request::{HeaderMap, Request};
pub use table::{ListenerTable, RouteAction, RouteEntry, Table};

// The table is shared read-only by every shard.
const _: () = {
    const fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Table>();
};

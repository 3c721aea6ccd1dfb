//! Hostnames as the Gateway API uses them: exact names, `*.suffix`
//! wildcards, and "any host" when a listener or route names none.

use shardgate_ir::HostMatch;
use std::cmp::Ordering;
use std::fmt;

/// A hostname pattern, lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// No hostname: every host.
    Any,
    Exact(String),
    /// `*.example.com`, stored as the suffix `.example.com`.
    Wildcard(String),
}

impl Host {
    /// Parse a Gateway API hostname; `*.x` is a wildcard. Lower-cased.
    pub fn parse(s: &str) -> Host {
        let s = s.to_ascii_lowercase();
        match s.strip_prefix('*') {
            Some(suffix) if suffix.starts_with('.') && suffix.len() > 1 => {
                Host::Wildcard(suffix.to_owned())
            }
            _ => Host::Exact(s),
        }
    }

    /// Can the data plane match it? Exact names must be non-empty and free
    /// of `*`; a wildcard is only allowed as the whole first label.
    pub fn is_valid(&self) -> bool {
        match self {
            Host::Any => true,
            Host::Exact(n) => !n.is_empty() && !n.contains('*'),
            Host::Wildcard(s) => s.len() > 1 && !s.contains('*'),
        }
    }

    pub fn from_opt(s: Option<&str>) -> Host {
        match s {
            None | Some("") => Host::Any,
            Some(s) => Host::parse(s),
        }
    }

    /// Does `self` cover every host that `other` matches?
    pub fn covers(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Any, _) => true,
            (_, Host::Any) => false,
            (Host::Exact(a), Host::Exact(b)) => a == b,
            (Host::Exact(_), Host::Wildcard(_)) => false,
            (Host::Wildcard(s), Host::Exact(name)) => name.len() > s.len() && name.ends_with(s),
            (Host::Wildcard(s), Host::Wildcard(t)) => t.ends_with(s.as_str()),
        }
    }

    /// The hosts matched by both patterns, if any. Per the Gateway API, a
    /// listener `*.example.com` and a route `foo.example.com` intersect in
    /// `foo.example.com`; two wildcards intersect in the narrower one.
    pub fn intersect(&self, other: &Host) -> Option<Host> {
        if self.covers(other) {
            Some(other.clone())
        } else if other.covers(self) {
            Some(self.clone())
        } else {
            None
        }
    }

    /// Specificity for precedence: exact names first (two different exact
    /// names never match the same host, so they are equal here), then
    /// wildcards with the longest suffix, then any host. Smaller sorts first.
    pub fn precedence(&self, other: &Host) -> Ordering {
        fn rank(h: &Host) -> (u8, std::cmp::Reverse<usize>) {
            match h {
                Host::Exact(_) => (0, std::cmp::Reverse(0)),
                Host::Wildcard(s) => (1, std::cmp::Reverse(s.len())),
                Host::Any => (2, std::cmp::Reverse(0)),
            }
        }
        rank(self).cmp(&rank(other))
    }

    /// The IR form; `None` for any host (an empty hostname list).
    pub fn to_ir(&self) -> Option<HostMatch> {
        match self {
            Host::Any => None,
            Host::Exact(n) => Some(HostMatch::Exact(n.clone())),
            Host::Wildcard(s) => Some(HostMatch::Wildcard(s.clone())),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Any => f.write_str("*"),
            Host::Exact(n) => f.write_str(n),
            Host::Wildcard(s) => write!(f, "*{s}"),
        }
    }
}

impl Ord for Host {
    /// Precedence first, then alphabetical, so that sorting is total.
    fn cmp(&self, other: &Self) -> Ordering {
        self.precedence(other)
            .then_with(|| self.to_string().cmp(&other.to_string()))
    }
}

impl PartialOrd for Host {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The effective hostnames of a route on a listener: the intersection of the
/// route's hostnames with the listener's. Empty when nothing intersects.
pub fn effective(listener: &Host, route: &[String]) -> Vec<Host> {
    if route.is_empty() {
        return vec![listener.clone()];
    }
    let mut out: Vec<Host> = route
        .iter()
        .map(|r| Host::parse(r))
        .filter(Host::is_valid)
        .filter_map(|r| listener.intersect(&r))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    fn h(s: &str) -> Host {
        Host::from_opt(Some(s))
    }

    #[test]
    fn wildcard_needs_at_least_one_label() {
        assert!(h("*.example.com").covers(&h("a.example.com")));
        assert!(h("*.example.com").covers(&h("a.b.example.com")));
        assert!(!h("*.example.com").covers(&h("example.com")));
        assert!(!h("*.example.com").covers(&h("aexample.com")));
    }

    #[test]
    fn intersections() {
        let l = h("*.example.com");
        assert_eq!(
            l.intersect(&h("Foo.Example.com")),
            Some(h("foo.example.com"))
        );
        assert_eq!(l.intersect(&h("*.example.com")), Some(l.clone()));
        assert_eq!(
            l.intersect(&h("*.a.example.com")),
            Some(h("*.a.example.com"))
        );
        assert_eq!(
            h("*.a.example.com").intersect(&h("*.example.com")),
            Some(h("*.a.example.com"))
        );
        assert_eq!(l.intersect(&h("*.com")), Some(l.clone()));
        assert_eq!(
            h("foo.example.com").intersect(&h("*.com")),
            Some(h("foo.example.com"))
        );
        assert_eq!(l.intersect(&h("*.example.org")), None);
        assert_eq!(h("a.com").intersect(&h("b.com")), None);
        assert_eq!(Host::Any.intersect(&h("*.x.io")), Some(h("*.x.io")));
    }

    #[test]
    fn effective_hostnames() {
        assert_eq!(effective(&h("a.com"), &[]), vec![h("a.com")]);
        assert_eq!(
            effective(
                &Host::Any,
                &["b.com".into(), "a.com".into(), "a.com".into()]
            ),
            vec![h("a.com"), h("b.com")]
        );
        assert!(effective(&h("a.com"), &["b.com".into()]).is_empty());
        assert!(effective(&Host::Any, &["*".into(), "a.*.com".into()]).is_empty());
        assert!(!h("*").is_valid() && !Host::parse("").is_valid() && h("*.a").is_valid());
    }

    #[test]
    fn ordering_is_by_specificity() {
        let mut v = [Host::Any, h("*.com"), h("b.com"), h("*.x.com"), h("aa.com")];
        v.sort();
        let shown: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["aa.com", "b.com", "*.x.com", "*.com", "*"]);
        assert_eq!(h("zz.com").precedence(&h("a.com")), Ordering::Equal);
    }
}

//! Choosing certificates by the client's SNI name.
//!
//! Order: an exact server name, then the longest matching wildcard suffix,
//! then the certificates that carry no server name (the default, also used
//! when the client sends no SNI). The first tier that matches gives the
//! candidates; the caller then takes the first one whose key the client
//! accepts. The table is generic so its selection is tested without keys.

use rustc_hash::FxHashMap;
use shardgate_ir::HostMatch;
use std::borrow::Cow;

/// Candidates per name, in the order the snapshot listed them.
#[derive(Debug)]
pub struct SniTable<T> {
    exact: FxHashMap<Box<str>, Vec<T>>,
    /// `(suffix with its leading dot, candidates)`, longest suffix first.
    wildcard: Vec<(Box<str>, Vec<T>)>,
    default: Vec<T>,
}

impl<T> Default for SniTable<T> {
    fn default() -> Self {
        SniTable {
            exact: FxHashMap::default(),
            wildcard: Vec::new(),
            default: Vec::new(),
        }
    }
}

impl<T: Clone> SniTable<T> {
    /// Add `item` for `names` (empty: the default).
    pub fn insert(&mut self, names: &[HostMatch], item: T) {
        if names.is_empty() {
            self.default.push(item);
            return;
        }
        for name in names {
            match name {
                HostMatch::Exact(host) => self
                    .exact
                    .entry(host.to_ascii_lowercase().into())
                    .or_default()
                    .push(item.clone()),
                HostMatch::Wildcard(suffix) => {
                    let suffix = suffix.to_ascii_lowercase();
                    match self.wildcard.iter_mut().find(|(s, _)| **s == *suffix) {
                        Some((_, items)) => items.push(item.clone()),
                        None => {
                            // Keep longest first; equal lengths keep insertion order.
                            let at = self
                                .wildcard
                                .iter()
                                .position(|(s, _)| s.len() < suffix.len())
                                .unwrap_or(self.wildcard.len());
                            self.wildcard
                                .insert(at, (suffix.into(), vec![item.clone()]));
                        }
                    }
                }
            }
        }
    }
}

impl<T> SniTable<T> {
    /// The candidates for a client that sent `sni` (`None`: no SNI).
    /// Empty when nothing matches and there is no default.
    pub fn select(&self, sni: Option<&str>) -> &[T] {
        let Some(name) = sni.map(lower) else {
            return &self.default;
        };
        let name = name.strip_suffix('.').unwrap_or(&name);
        if let Some(items) = self.exact.get(name) {
            return items;
        }
        // A wildcard covers one or more labels before its suffix.
        self.wildcard
            .iter()
            .find(|(suffix, _)| name.len() > suffix.len() && name.ends_with(&**suffix))
            .map_or(&self.default, |(_, items)| items)
    }

    /// No certificate at all: every handshake fails.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcard.is_empty() && self.default.is_empty()
    }
}

/// Lower-case without allocating when the name already is.
fn lower(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(s: &str) -> HostMatch {
        HostMatch::Exact(s.into())
    }
    fn wild(s: &str) -> HostMatch {
        HostMatch::Wildcard(s.into())
    }

    fn table() -> SniTable<&'static str> {
        let mut t = SniTable::default();
        t.insert(&[exact("a.example.com")], "a");
        t.insert(&[wild(".example.com")], "wild");
        t.insert(&[wild(".deep.example.com")], "deep");
        t.insert(&[exact("b.example.com"), exact("c.example.com")], "bc");
        t.insert(&[], "default");
        t
    }

    #[test]
    fn exact_name_beats_every_wildcard() {
        let t = table();
        assert_eq!(t.select(Some("a.example.com")), ["a"]);
        assert_eq!(t.select(Some("c.example.com")), ["bc"]);
    }

    #[test]
    fn longest_wildcard_suffix_wins_whatever_the_insert_order() {
        let t = table();
        assert_eq!(t.select(Some("x.deep.example.com")), ["deep"]);
        assert_eq!(t.select(Some("x.y.deep.example.com")), ["deep"]);
        assert_eq!(t.select(Some("x.example.com")), ["wild"]);
        assert_eq!(t.select(Some("deep.example.com")), ["wild"]);
    }

    #[test]
    fn a_wildcard_needs_a_label_before_its_suffix() {
        let t = table();
        assert_eq!(t.select(Some("example.com")), ["default"]);
    }

    #[test]
    fn no_sni_or_unknown_name_gets_the_default_or_nothing() {
        let t = table();
        assert_eq!(t.select(None), ["default"]);
        assert_eq!(t.select(Some("other.org")), ["default"]);
        let mut bare = SniTable::default();
        bare.insert(&[exact("a.example.com")], "a");
        assert!(bare.select(None).is_empty());
        assert!(bare.select(Some("other.org")).is_empty());
        assert!(!bare.is_empty());
        assert!(SniTable::<u8>::default().is_empty());
    }

    #[test]
    fn names_match_case_insensitively_and_without_a_trailing_dot() {
        let t = table();
        assert_eq!(t.select(Some("A.Example.COM")), ["a"]);
        assert_eq!(t.select(Some("a.example.com.")), ["a"]);
        assert_eq!(t.select(Some("Z.EXAMPLE.com")), ["wild"]);
    }

    #[test]
    fn several_certificates_for_one_name_keep_their_order() {
        let mut t = SniTable::default();
        t.insert(&[exact("a.example.com")], "rsa");
        t.insert(&[exact("a.example.com")], "ecdsa");
        t.insert(&[wild(".example.com")], "w1");
        t.insert(&[wild(".example.com")], "w2");
        assert_eq!(t.select(Some("a.example.com")), ["rsa", "ecdsa"]);
        assert_eq!(t.select(Some("b.example.com")), ["w1", "w2"]);
    }
}

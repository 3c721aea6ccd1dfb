//! Regular expressions anchored to the whole subject, with a literal-prefix
//! prefilter.
//!
//! A `regex::bytes::Regex` is fast on its own, but a table with thousands of
//! them touches each one's engine state and per-thread cache on every
//! request that reaches them: measured here, about 50 ns per call with a few
//! regexes and over 2 µs per call with 5,000, from cache misses alone. Most
//! route regexes begin with a literal (`/api/v[0-9]+/.*`, `tenant-7(-eu)?`),
//! so the literal prefixes every match must start with are found here, kept
//! by the [`Pool`](crate::pool::Pool) beside the other conditions, and
//! checked first: a subject without one of them is refused without touching
//! the regex.

use crate::error::{CompileError, RegexError};
use crate::matcher::Site;
use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::literal::{ExtractKind, Extractor};

/// Literals one of which every match starts with.
pub(crate) type Prefixes = Box<[Box<[u8]>]>;

/// Above this many alternative prefixes the check costs more than it saves.
const MAX_PREFIXES: usize = 8;

/// Compile `pattern` so that it must match the whole subject, and find
/// the literal prefixes every match starts with (empty: no prefilter).
///
/// The pattern is wrapped as `^(?:…)$`. A pattern with unbalanced groups
/// could escape that wrapper (`a)|(b` would become `^(?:a)|(b)$`), so it
/// must first parse on its own.
pub(crate) fn compile(
    pattern: &str,
    site: Site<'_>,
    field: impl Fn() -> String,
) -> Result<(Regex, Prefixes), CompileError> {
    let fail = |source| {
        CompileError::Regex(Box::new(RegexError {
            listener: site.listener.to_owned(),
            virtual_host: site.virtual_host.to_owned(),
            route: site.route.to_owned(),
            field: field(),
            pattern: pattern.to_owned(),
            source,
        }))
    };
    // The same syntax options as `regex::bytes` (which allows patterns that
    // match invalid UTF-8).
    let parsed = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(pattern);
    let prefixes = match &parsed {
        Ok(hir) => literal_prefixes(hir),
        Err(_) => {
            // Let the regex crate word the error; should it accept the
            // pattern after all, its groups are balanced and the wrapper
            // below is safe.
            Regex::new(pattern).map_err(fail)?;
            Box::default()
        }
    };
    let re = RegexBuilder::new(&format!("^(?:{pattern})$"))
        .build()
        .map_err(fail)?;
    Ok((re, prefixes))
}

/// Literals one of which every match must start with, or none when the set
/// is infinite or contains the empty string (no constraint). A set too
/// large to check quickly is reduced to the prefix its literals share.
fn literal_prefixes(hir: &regex_syntax::hir::Hir) -> Prefixes {
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    let Some(lits) = seq.literals() else {
        return Box::default();
    };
    if lits.is_empty() || lits.iter().any(|l| l.as_bytes().is_empty()) {
        return Box::default();
    }
    if lits.len() <= MAX_PREFIXES {
        return lits.iter().map(|l| l.as_bytes().into()).collect();
    }
    match seq.longest_common_prefix() {
        Some(common) if !common.is_empty() => Box::new([common.into()]),
        _ => Box::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::Pool;

    const SITE: Site<'static> = Site {
        listener: "l",
        virtual_host: "vh",
        route: "r",
    };

    fn prefixes(p: &str) -> Vec<Vec<u8>> {
        let (_, prefixes) = compile(p, SITE, String::new).expect("test pattern compiles");
        prefixes.iter().map(|p| p.to_vec()).collect()
    }

    #[test]
    fn prefixes_are_extracted_when_finite_and_small() {
        assert_eq!(prefixes("/api/v[0-9]+/.*"), [b"/api/v"]);
        let mut got = prefixes("/(a|b)/c");
        got.sort();
        assert_eq!(got, [b"/a/c", b"/b/c"]);
        assert!(prefixes(".*").is_empty(), "no literal");
        assert!(prefixes("x?").is_empty(), "may be empty");
        assert!(prefixes("(?i)/a[a-z]").len() <= MAX_PREFIXES);
        assert!(
            prefixes("[0-9]{3}/x").is_empty(),
            "many alternatives, nothing in common"
        );
        assert_eq!(
            prefixes("/v[0-9]{3}"),
            [b"/v"],
            "reduced to the common part"
        );
    }

    #[test]
    fn prefilter_never_refuses_a_real_match() {
        type Case = (
            &'static str,
            &'static [&'static [u8]],
            &'static [&'static [u8]],
        );
        let cases: &[Case] = &[
            (
                "/api/v[0-9]+/.*",
                &[b"/api/v1/", b"/api/v22/x"],
                &[b"/api/v/", b"/ap", b"x/api/v1/"],
            ),
            (
                "tenant-7(-[a-z]+)?",
                &[b"tenant-7", b"tenant-7-eu"],
                &[b"tenant-77", b"tenant-"],
            ),
            (
                "(?i)/Admin",
                &[b"/admin", b"/ADMIN", b"/aDmIn"],
                &[b"/admins", b"admin"],
            ),
            ("(?i)k", &[b"k", b"K", b"\xE2\x84\xAA"], &[b"x"]),
            ("a|ab", &[b"a", b"ab"], &[b"abc", b"b"]),
            ("x?/y", &[b"/y", b"x/y"], &[b"xx/y", b"/"]),
            ("(?-u:\\xFF)x", &[b"\xFFx"], &[b"x", b"\xFF"]),
            ("", &[b""], &[b"a"]),
        ];
        let mut pool = Pool::default();
        for (pattern, yes, no) in cases {
            let id = pool
                .push_regex(pattern, SITE, String::new)
                .expect("test pattern compiles");
            for s in *yes {
                assert!(pool.regex_matches(id, s), "{pattern} should match {s:?}");
            }
            for s in *no {
                assert!(
                    !pool.regex_matches(id, s),
                    "{pattern} should not match {s:?}"
                );
            }
        }
    }
}

use super::*;
use shardgate_ir::{Protocol, VirtualHost};

fn listener(vhosts: &[(&str, &[&str])]) -> Listener {
    Listener {
        name: "l".into(),
        address: [0, 0, 0, 0].into(),
        port: 80,
        protocol: Protocol::Http,
        tls: None,
        virtual_hosts: vhosts
            .iter()
            .map(|(name, hosts)| VirtualHost {
                name: (*name).into(),
                hostnames: hosts
                    .iter()
                    .map(|h| match h.strip_prefix('*') {
                        Some(suffix) => HostMatch::Wildcard(suffix.into()),
                        None => HostMatch::Exact((*h).into()),
                    })
                    .collect(),
                routes: vec![],
            })
            .collect(),
    }
}

fn index(vhosts: &[(&str, &[&str])]) -> HostIndex {
    HostIndex::build(&listener(vhosts)).expect("test hosts are valid")
}

#[test]
fn normalisation_strips_port_and_trailing_dot_only() {
    assert_eq!(normalise_host(b"Example.COM:8080"), b"Example.COM");
    assert_eq!(normalise_host(b"example.com."), b"example.com");
    assert_eq!(normalise_host(b"example.com.:80"), b"example.com");
    assert_eq!(normalise_host(b"example.com.."), b"example.com.");
    assert_eq!(normalise_host(b"[::1]:8080"), b"[::1]");
    assert_eq!(normalise_host(b"[::1]"), b"[::1]");
    assert_eq!(normalise_host(b"[::1"), b"[::1");
    assert_eq!(normalise_host(b""), b"");
    assert_eq!(normalise_host(b":80"), b"");
}

#[test]
fn exact_then_longest_wildcard_then_catch_all() {
    let ix = index(&[
        ("any", &[]),
        ("wide", &["*.example.com"]),
        ("narrow", &["*.foo.example.com"]),
        ("exact", &["bar.foo.example.com", "example.com"]),
    ]);
    let pick = |h: &str| ix.select(h.as_bytes());
    assert_eq!(pick("bar.foo.example.com"), Some(3));
    assert_eq!(pick("example.com"), Some(3));
    assert_eq!(pick("baz.foo.example.com"), Some(2));
    assert_eq!(pick("a.b.foo.example.com"), Some(2));
    assert_eq!(
        pick("foo.example.com"),
        Some(1),
        "suffix needs a label before it"
    );
    assert_eq!(pick("a.example.com"), Some(1));
    assert_eq!(pick("a.b.example.com"), Some(1));
    assert_eq!(pick("other.org"), Some(0));
    assert_eq!(
        pick("xexample.com"),
        Some(0),
        "wildcard suffix starts with a dot"
    );
    assert_eq!(pick(".example.com"), Some(0), "empty first label");
    assert_eq!(pick(""), Some(0));
}

#[test]
fn request_host_case_port_and_trailing_dot_are_ignored() {
    let ix = index(&[("exact", &["example.com"]), ("wild", &["*.example.com"])]);
    for h in [
        "example.com",
        "EXAMPLE.com",
        "example.com.",
        "Example.Com.:8443",
        "example.com:80",
    ] {
        assert_eq!(ix.select(h.as_bytes()), Some(0), "{h}");
    }
    for h in ["A.Example.COM", "a.example.com.", "a.example.com:1"] {
        assert_eq!(ix.select(h.as_bytes()), Some(1), "{h}");
    }
    assert_eq!(ix.select(b"example.org"), None, "no catch-all: nothing");
    assert_eq!(ix.select(b"example.com.."), None);
}

#[test]
fn overlong_hosts_reach_only_the_catch_all() {
    let long = format!("{}.example.com", "a".repeat(250));
    let ix = index(&[("wild", &["*.example.com"])]);
    assert_eq!(ix.select(long.as_bytes()), None);
    let ix = index(&[("wild", &["*.example.com"]), ("any", &[])]);
    assert_eq!(ix.select(long.as_bytes()), Some(1));
    // Exactly 253 bytes is still a name.
    let max = format!("{}.example.com", "a".repeat(MAX_HOST_LEN - 12));
    assert_eq!(max.len(), MAX_HOST_LEN);
    assert_eq!(ix.select(max.as_bytes()), Some(0));
}

#[test]
fn hosts_with_non_ascii_bytes_do_not_panic_or_match_wrongly() {
    let ix = index(&[("exact", &["example.com"]), ("any", &[])]);
    assert_eq!(ix.select("ëxample.com".as_bytes()), Some(1));
    assert_eq!(ix.select(&[0xff, b'.', 0x80]), Some(1));
}

#[test]
fn conflicting_hostnames_are_refused() {
    let err = HostIndex::build(&listener(&[("a", &["x.com"]), ("b", &["x.com"])]))
        .expect_err("same exact name twice");
    assert!(
        matches!(&err, CompileError::DuplicateHostname { first, second, hostname, .. }
            if first == "a" && second == "b" && hostname == "x.com"),
        "{err:?}"
    );
    let err = HostIndex::build(&listener(&[("a", &["*.x.com"]), ("b", &["*.x.com"])]))
        .expect_err("same wildcard twice");
    assert!(
        matches!(err, CompileError::DuplicateHostname { .. }),
        "{err:?}"
    );
    let err = HostIndex::build(&listener(&[("a", &[]), ("b", &[])])).expect_err("two catch-alls");
    assert!(
        matches!(err, CompileError::DuplicateCatchAll { .. }),
        "{err:?}"
    );
    // The same name listed twice by one virtual host is harmless.
    let ix = index(&[("a", &["x.com", "x.com"])]);
    assert_eq!(ix.select(b"x.com"), Some(0));
    // An exact name and a wildcard with the same text are different claims.
    let ix = index(&[("a", &["x.com"]), ("b", &["*.x.com"])]);
    assert_eq!(ix.select(b"x.com"), Some(0));
    assert_eq!(ix.select(b"y.x.com"), Some(1));
}

#[test]
fn unmatchable_hostnames_are_refused() {
    let long = "a".repeat(254);
    for bad in [
        "x.com.",
        "x.com:80",
        long.as_str(),
        &format!("*.{}", "a".repeat(252)),
    ] {
        let err = HostIndex::build(&listener(&[("v", &[bad])])).expect_err(bad);
        assert!(
            matches!(&err, CompileError::UnmatchableHostname { virtual_host, .. } if virtual_host == "v"),
            "{err:?}"
        );
    }
}

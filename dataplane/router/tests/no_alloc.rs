//! The match path must not allocate: a counting global allocator watches
//! 10,000 lookups over a table with header, query and regex conditions.
//!
//! Runs without the test harness (see Cargo.toml) so that no other thread
//! allocates while the counter is read.

use shardgate_ir::{
    Action, BackendTarget, Cluster, HeaderMatch, HostMatch, Listener, PathMatch, Protocol,
    QueryParamMatch, Route, RouteMatch, Snapshot, StringMatch, Timeouts, VirtualHost,
    WeightedBackend,
};
use shardgate_router::{Request, RouteAction, Table};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn route(name: String, m: RouteMatch) -> Route {
    Route {
        name,
        matches: vec![m],
        filters: vec![],
        action: Action::Forward(vec![
            WeightedBackend {
                weight: 1,
                target: BackendTarget::Cluster(0),
                filters: Vec::new(),
            },
            WeightedBackend {
                weight: 2,
                target: BackendTarget::Invalid { status: 500 },
                filters: Vec::new(),
            },
        ]),
        timeouts: Timeouts::default(),
    }
}

fn plain(path: PathMatch) -> RouteMatch {
    RouteMatch {
        path,
        headers: vec![],
        query_params: vec![],
        method: None,
    }
}

/// 10,000 routes in one big virtual host, plus small exact and wildcard ones.
fn snapshot() -> Snapshot {
    let mut routes = Vec::new();
    for i in 0..3_000 {
        routes.push(route(
            format!("exact-{i}"),
            plain(PathMatch::Exact(format!("/svc/{i}"))),
        ));
        routes.push(route(
            format!("prefix-{i}"),
            plain(PathMatch::Prefix(format!("/pre/{i}/"))),
        ));
        let mut h = plain(PathMatch::Prefix(format!("/hdr/{i}")));
        h.method = Some("POST".into());
        h.headers.push(HeaderMatch {
            name: "x-version".into(),
            value: StringMatch::Regex("v[0-9]+".into()),
        });
        h.query_params.push(QueryParamMatch {
            name: "animal".into(),
            value: StringMatch::Exact("whale".into()),
        });
        routes.push(route(format!("hdr-{i}"), h));
    }
    for i in 0..999 {
        routes.push(route(
            format!("re-{i}"),
            plain(PathMatch::Regex(format!("/re{i}/[a-z]+"))),
        ));
    }
    routes.push(route("root".into(), plain(PathMatch::Prefix("/".into()))));
    assert_eq!(routes.len(), 10_000);

    let mut small = plain(PathMatch::Exact("/q".into()));
    small.query_params.push(QueryParamMatch {
        name: "id".into(),
        value: StringMatch::Regex("[0-9]{1,4}".into()),
    });
    let vhosts = vec![
        VirtualHost {
            name: "small".into(),
            hostnames: vec![HostMatch::Exact("small.example.com".into())],
            routes: vec![route("small-q".into(), small)],
        },
        VirtualHost {
            name: "wild".into(),
            hostnames: vec![HostMatch::Wildcard(".example.com".into())],
            routes: vec![route(
                "wild-root".into(),
                plain(PathMatch::Prefix("/".into())),
            )],
        },
        VirtualHost {
            name: "big".into(),
            hostnames: vec![],
            routes,
        },
    ];
    Snapshot {
        generation: 1,
        listeners: vec![Listener {
            name: "http".into(),
            address: [0, 0, 0, 0].into(),
            port: 8080,
            protocol: Protocol::Http,
            tls: None,
            virtual_hosts: vhosts,
        }],
        clusters: vec![Cluster::new("c", vec![])],
    }
}

type Headers<'a> = [(&'a [u8], &'a [u8])];

const H_NONE: &Headers<'static> = &[];
const H_VERSION: &Headers<'static> = &[(b"Accept", b"*/*"), (b"X-Version", b"v12")];

/// (method, host, target, headers, expected route)
const CASES: &[(&str, &str, &str, &Headers<'static>, Option<&str>)] = &[
    (
        "GET",
        "api.test:8080",
        "/svc/2999",
        H_NONE,
        Some("exact-2999"),
    ),
    (
        "GET",
        "API.TEST.",
        "/pre/2999/a/b?x=1",
        H_NONE,
        Some("prefix-2999"),
    ),
    (
        "POST",
        "api.test",
        "/hdr/2999/x?animal=whale&b=2",
        H_VERSION,
        Some("hdr-2999"),
    ),
    (
        "POST",
        "api.test",
        "/hdr/2999?animal=shark",
        H_VERSION,
        Some("root"),
    ),
    ("GET", "api.test", "/re998/abc", H_NONE, Some("re-998")),
    ("GET", "api.test", "/nothing/here?q", H_NONE, Some("root")),
    (
        "GET",
        "small.example.com",
        "/q?id=1234",
        H_NONE,
        Some("small-q"),
    ),
    ("GET", "small.example.com", "/q?id=12345", H_NONE, None),
    ("GET", "a.b.example.com", "/x", H_NONE, Some("wild-root")),
];

fn run(table: &Table, rounds: usize) -> usize {
    let l = &table.listeners()[0];
    let mut found = 0;
    for i in 0..rounds {
        let (method, host, target, headers, expected) = CASES[i % CASES.len()];
        let req = Request {
            method: method.as_bytes(),
            host: host.as_bytes(),
            target: target.as_bytes(),
            headers,
        };
        let hit = l.route(black_box(&req));
        assert_eq!(hit.map(|e| e.name()), expected, "{host} {target}");
        if let Some(e) = hit {
            if let RouteAction::Forward(b) = e.action() {
                black_box(b.pick((i as u32).wrapping_mul(2_654_435_761)));
            }
            found += 1;
        }
    }
    found
}

fn main() {
    let table = Table::compile(&snapshot()).expect("benchmark snapshot compiles");
    // Warm up: the regex crate sizes its per-thread caches on first use.
    run(&table, CASES.len() * 3);

    let region = Region::new(GLOBAL);
    let found = run(&table, 10_000);
    let change = region.change();
    assert!(found > 8_000, "most cases route somewhere ({found})");
    assert_eq!(
        (
            change.allocations,
            change.reallocations,
            change.deallocations
        ),
        (0, 0, 0),
        "the match path allocated: {change:?}"
    );
    println!("no_alloc: 10000 lookups, 0 allocations");
    println!("1 passed, 0 failed");
}

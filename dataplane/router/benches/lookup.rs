//! Route lookup cost against table size, with the matching route last in IR
//! order, and the cost of compiling a 10,000-route table.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use shardgate_ir::{
    Action, BackendTarget, Cluster, HeaderMatch, HostMatch, Listener, PathMatch, Protocol,
    QueryParamMatch, Route, RouteMatch, Snapshot, StringMatch, Timeouts, VirtualHost,
    WeightedBackend,
};
use shardgate_router::{Request, RouteAction, Table};
use std::hint::black_box;

fn route(name: String, path: PathMatch) -> Route {
    Route {
        name,
        matches: vec![RouteMatch {
            path,
            headers: vec![],
            query_params: vec![],
            method: None,
        }],
        filters: vec![],
        action: Action::Forward(vec![WeightedBackend {
            weight: 1,
            target: BackendTarget::Cluster(0),
            filters: Vec::new(),
        }]),
        timeouts: Timeouts::default(),
    }
}

/// `n` routes, alternating exact and prefix paths, all distinct.
fn routes(n: usize, tag: &str) -> Vec<Route> {
    (0..n)
        .map(|i| {
            let path = if i % 2 == 0 {
                PathMatch::Exact(format!("/api/v1/{tag}svc-{i}/items"))
            } else {
                PathMatch::Prefix(format!("/api/v1/{tag}svc-{i}/"))
            };
            route(format!("default/{tag}route-{i}/rule/0"), path)
        })
        .collect()
}

fn snapshot(vhosts: Vec<VirtualHost>) -> Snapshot {
    Snapshot {
        generation: 1,
        listeners: vec![Listener {
            name: "0.0.0.0:8080".into(),
            address: [0, 0, 0, 0].into(),
            port: 8080,
            protocol: Protocol::Http,
            tls: None,
            virtual_hosts: vhosts,
        }],
        clusters: vec![Cluster::new("default/echo:8080", vec![])],
    }
}

/// One virtual host holding every route.
fn one_vhost(n: usize) -> Snapshot {
    snapshot(vec![VirtualHost {
        name: "big".into(),
        hostnames: vec![HostMatch::Exact("api.example.com".into())],
        routes: routes(n, ""),
    }])
}

type Headers = [(&'static [u8], &'static [u8])];
const HEADERS: &Headers = &[
    (b"user-agent", b"bench/1.0"),
    (b"accept", b"*/*"),
    (b"x-request-id", b"0123456789abcdef"),
];

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup_last_route");
    for n in [10usize, 1_000, 10_000, 100_000] {
        let table = Table::compile(&one_vhost(n)).expect("bench snapshot compiles");
        // Route n-1 is a prefix route (n is even).
        let target = format!("/api/v1/svc-{}/items/42?page=2", n - 1);
        let req = Request {
            method: b"GET",
            host: b"API.example.com:8080",
            target: target.as_bytes(),
            headers: HEADERS,
        };
        let l = &table.listeners()[0];
        assert_eq!(
            l.route(&req).map(|e| e.name()),
            Some(format!("default/route-{}/rule/0", n - 1).as_str())
        );
        g.bench_with_input(BenchmarkId::from_parameter(n), &req, |b, req| {
            b.iter(|| l.route(black_box(req)).map(|e| e.index()))
        });
    }
    g.finish();

    // 10,000 routes spread over 1,000 virtual hosts of 10: the host picks a
    // small one, so the cost should be that of a 10-route table.
    let vhosts = (0..1_000)
        .map(|v| VirtualHost {
            name: format!("vh-{v}"),
            hostnames: vec![HostMatch::Exact(format!("app-{v}.example.com"))],
            routes: routes(10, &format!("v{v}-")),
        })
        .collect();
    let table = Table::compile(&snapshot(vhosts)).expect("bench snapshot compiles");
    let req = Request {
        method: b"GET",
        host: b"app-999.example.com",
        target: b"/api/v1/v999-svc-9/items/42",
        headers: HEADERS,
    };
    let l = &table.listeners()[0];
    assert_eq!(
        l.route(&req).map(|e| e.name()),
        Some("default/v999-route-9/rule/0")
    );
    c.bench_function("lookup_10000_routes_in_1000_vhosts", |b| {
        b.iter(|| l.route(black_box(&req)).map(|e| e.index()))
    });

    let table = Table::compile(&one_vhost(10_000)).expect("bench snapshot compiles");
    let miss = Request {
        method: b"GET",
        host: b"api.example.com",
        target: b"/api/v1/unknown/items/42",
        headers: HEADERS,
    };
    let l = &table.listeners()[0];
    assert!(l.route(&miss).is_none());
    c.bench_function("lookup_miss_10000_routes", |b| {
        b.iter(|| l.route(black_box(&miss)).map(|e| e.index()))
    });
}

/// 10,000 routes that all share the path prefix `/api` and differ by a
/// header (every other one a regex) and a query parameter: the path index
/// cannot narrow them, so this is the worst case of the indexed lookup.
fn conditions(c: &mut Criterion) {
    let n = 10_000;
    let routes = (0..n)
        .map(|i| {
            let mut r = route(format!("cond-{i}"), PathMatch::Prefix("/api".into()));
            let value = if i % 2 == 0 {
                StringMatch::Exact(format!("tenant-{i}"))
            } else {
                StringMatch::Regex(format!("tenant-{i}(-[a-z]+)?"))
            };
            r.matches[0].headers.push(HeaderMatch {
                name: "x-tenant".into(),
                value,
            });
            r.matches[0].query_params.push(QueryParamMatch {
                name: "v".into(),
                value: StringMatch::Exact("2".into()),
            });
            r
        })
        .collect();
    let table = Table::compile(&snapshot(vec![VirtualHost {
        name: "big".into(),
        hostnames: vec![],
        routes,
    }]))
    .expect("bench snapshot compiles");
    let headers: &Headers = &[
        (b"user-agent", b"bench/1.0"),
        (b"x-tenant", b"tenant-9999-eu"),
    ];
    let req = Request {
        method: b"GET",
        host: b"api.example.com",
        target: b"/api/items?v=2",
        headers,
    };
    let l = &table.listeners()[0];
    assert_eq!(l.route(&req).map(|e| e.name()), Some("cond-9999"));
    c.bench_function("lookup_last_of_10000_header_query_routes", |b| {
        b.iter(|| l.route(black_box(&req)).map(|e| e.index()))
    });
}

fn pick(c: &mut Criterion) {
    let mut r = route("weighted".into(), PathMatch::Prefix("/".into()));
    r.action = Action::Forward(
        (0..8)
            .map(|i| WeightedBackend {
                weight: i * 10,
                target: BackendTarget::Cluster(0),
                filters: Vec::new(),
            })
            .collect(),
    );
    let table = Table::compile(&snapshot(vec![VirtualHost {
        name: "vh".into(),
        hostnames: vec![],
        routes: vec![r],
    }]))
    .expect("bench snapshot compiles");
    let req = Request {
        method: b"GET",
        host: b"h",
        target: b"/",
        headers: HEADERS,
    };
    let Some(RouteAction::Forward(backends)) = table.listeners()[0].route(&req).map(|e| e.action())
    else {
        panic!("the bench route forwards");
    };
    let mut x = 0x9E37_79B9u32;
    c.bench_function("pick_among_8_backends", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            backends.pick(black_box(x))
        })
    });
}

fn compile(c: &mut Criterion) {
    let s = one_vhost(10_000);
    let mut g = c.benchmark_group("compile");
    g.sample_size(20);
    g.bench_function("10000_routes", |b| {
        b.iter(|| Table::compile(black_box(&s)).map(|t| t.route_count()))
    });
    g.finish();
}

criterion_group!(benches, lookup, conditions, pick, compile);
criterion_main!(benches);

//! Table compile and route lookup at 10, 1,000 and 10,000 routes, with
//! allocation counts per iteration: the data plane compiles every new
//! snapshot once (off the shards) and looks up a route per request.
//!
//! The table is one virtual host of path-prefix routes, as the lab's
//! `scale` command generates it, and the request matches the last route
//! in precedence order. `lookup.rs` has the other lookup shapes.

// One copy of the allocation table for every crate's benches.
#[path = "../../ir/benches/alloc/mod.rs"]
mod alloc;

use criterion::{BenchmarkId, Criterion};
use shardgate_ir::{
    Action, BackendTarget, Cluster, Endpoint, HostMatch, Listener, PathMatch, Protocol, Route,
    RouteMatch, Snapshot, Timeouts, VirtualHost, WeightedBackend,
};
use shardgate_router::{Request, Table};
use std::hint::black_box;

const SCALES: [usize; 3] = [10, 1_000, 10_000];

fn snapshot(n: usize) -> Snapshot {
    let routes = (0..n)
        .map(|i| Route {
            name: format!("lab/r-{i:06}/rule/0"),
            matches: vec![RouteMatch {
                path: PathMatch::Prefix(format!("/r/{i:06}/")),
                headers: vec![],
                query_params: vec![],
                method: None,
            }],
            filters: vec![],
            action: Action::Forward(vec![WeightedBackend {
                weight: 1,
                target: BackendTarget::Cluster((i % 4) as u32),
                filters: vec![],
            }]),
            timeouts: Timeouts::default(),
        })
        .collect();
    Snapshot {
        generation: 1,
        listeners: vec![Listener {
            name: "127.0.0.1:8080".into(),
            address: [127, 0, 0, 1].into(),
            port: 8080,
            protocol: Protocol::Http,
            tls: None,
            virtual_hosts: vec![VirtualHost {
                name: "lab/gw/http/routes.lab.test".into(),
                hostnames: vec![HostMatch::Exact("routes.lab.test".into())],
                routes,
            }],
        }],
        clusters: (0..4u8)
            .map(|c| {
                Cluster::new(
                    format!("lab/svc-{c}:80"),
                    vec![Endpoint {
                        addr: ([127, 0, 0, c + 1], 9000).into(),
                    }],
                )
            })
            .collect(),
    }
}

type Headers = [(&'static [u8], &'static [u8])];
const HEADERS: &Headers = &[(b"user-agent", b"bench/1.0"), (b"accept", b"*/*")];

fn compile(c: &mut Criterion, allocs: &mut alloc::AllocTable) {
    let mut g = c.benchmark_group("table_compile");
    for n in SCALES {
        let s = snapshot(n);
        assert_eq!(
            Table::compile(&s).map(|t| t.route_count()).ok(),
            Some(n),
            "the bench snapshot compiles"
        );
        g.bench_with_input(BenchmarkId::from_parameter(n), &s, |b, s| {
            b.iter(|| Table::compile(black_box(s)).map(|t| t.route_count()))
        });
        allocs.measure(&format!("table_compile/{n}"), 5, || {
            Table::compile(black_box(&s)).map(|t| t.route_count())
        });
    }
    g.finish();
}

fn lookup(c: &mut Criterion, allocs: &mut alloc::AllocTable) {
    let mut g = c.benchmark_group("lookup_at_scale");
    for n in SCALES {
        let table = Table::compile(&snapshot(n)).expect("the bench snapshot compiles");
        let target = format!("/r/{:06}/items/42?page=2", n - 1);
        let req = Request {
            method: b"GET",
            host: b"routes.lab.test",
            target: target.as_bytes(),
            headers: HEADERS,
        };
        let l = &table.listeners()[0];
        let want = format!("lab/r-{:06}/rule/0", n - 1);
        assert_eq!(l.route(&req).map(|e| e.name()), Some(want.as_str()));
        g.bench_with_input(BenchmarkId::from_parameter(n), &req, |b, req| {
            b.iter(|| l.route(black_box(req)).map(|e| e.index()))
        });
        allocs.measure(&format!("lookup_at_scale/{n}"), 10_000, || {
            l.route(black_box(&req)).map(|e| e.index())
        });
    }
    g.finish();
}

fn main() {
    let mut c = alloc::criterion();
    let mut allocs = alloc::AllocTable::default();
    compile(&mut c, &mut allocs);
    lookup(&mut c, &mut allocs);
    c.final_summary();
    allocs.print();
}

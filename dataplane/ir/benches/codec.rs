//! Snapshot encode (the control plane's publish) and decode (checksum,
//! postcard and full validation: what every data plane runs before it
//! trusts a snapshot) at 10, 1,000 and 10,000 routes, with allocation
//! counts per iteration.

mod alloc;

use criterion::{BenchmarkId, Criterion, Throughput};
use shardgate_ir::{
    Action, BackendTarget, Cluster, Endpoint, Filter, HeaderModifier, HostMatch, Listener,
    PathMatch, Protocol, Route, RouteMatch, Snapshot, Timeouts, VirtualHost, WeightedBackend,
    decode, encode,
};
use std::hint::black_box;

/// `n` routes in one virtual host, shaped like translated HTTPRoutes: a
/// path prefix each, every tenth with a request header modifier, spread
/// over 16 clusters of 3 endpoints.
fn snapshot(n: usize) -> Snapshot {
    let clusters: Vec<Cluster> = (0..16u16)
        .map(|c| {
            Cluster::new(
                format!("default/svc-{c}:80"),
                (0..3u16)
                    .map(|e| Endpoint {
                        addr: ([10, 0, c as u8, e as u8 + 1], 8080).into(),
                    })
                    .collect(),
            )
        })
        .collect();
    let routes = (0..n)
        .map(|i| Route {
            name: format!("default/route-{i}/rule/0"),
            matches: vec![RouteMatch {
                path: PathMatch::Prefix(format!("/api/v1/svc-{i}/")),
                headers: vec![],
                query_params: vec![],
                method: None,
            }],
            filters: if i % 10 == 0 {
                vec![Filter::RequestHeaderModifier(HeaderModifier {
                    set: vec![("x-route".into(), format!("route-{i}"))],
                    add: vec![],
                    remove: vec!["x-debug".into()],
                })]
            } else {
                vec![]
            },
            action: Action::Forward(vec![WeightedBackend {
                weight: 1,
                target: BackendTarget::Cluster((i % 16) as u32),
                filters: vec![],
            }]),
            timeouts: Timeouts::default(),
        })
        .collect();
    Snapshot {
        generation: 7,
        listeners: vec![Listener {
            name: "0.0.0.0:8080".into(),
            address: [0, 0, 0, 0].into(),
            port: 8080,
            protocol: Protocol::Http,
            tls: None,
            virtual_hosts: vec![VirtualHost {
                name: "default/gw/http/api.example.com".into(),
                hostnames: vec![HostMatch::Exact("api.example.com".into())],
                routes,
            }],
        }],
        clusters,
    }
}

fn codec(c: &mut Criterion, allocs: &mut alloc::AllocTable) {
    let mut g = c.benchmark_group("snapshot_decode");
    for n in [10usize, 1_000, 10_000] {
        let s = snapshot(n);
        let bytes = encode(&s);
        assert_eq!(
            decode(&bytes).as_ref(),
            Ok(&s),
            "the bench snapshot round-trips"
        );
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &bytes, |b, bytes| {
            b.iter(|| decode(black_box(bytes)).map(|s| s.generation))
        });
        allocs.measure(&format!("snapshot_decode/{n}"), 10, || {
            decode(black_box(&bytes)).map(|s| s.generation)
        });
    }
    g.finish();

    let mut g = c.benchmark_group("snapshot_encode");
    for n in [10usize, 1_000, 10_000] {
        let s = snapshot(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &s, |b, s| {
            b.iter(|| encode(black_box(s)).len())
        });
        allocs.measure(&format!("snapshot_encode/{n}"), 10, || {
            encode(black_box(&s)).len()
        });
    }
    g.finish();
}

fn main() {
    let mut c = alloc::criterion();
    let mut allocs = alloc::AllocTable::default();
    codec(&mut c, &mut allocs);
    c.final_summary();
    allocs.print();
}

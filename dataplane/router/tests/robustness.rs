//! Arbitrary bytes in every request field: the router must neither panic
//! nor let the spelling of the host (case, port, one trailing dot) change
//! the answer.

use shardgate_ir::{
    Action, HeaderMatch, HostMatch, Listener, PathMatch, Protocol, QueryParamMatch, Route,
    RouteMatch, Snapshot, StringMatch, Timeouts, VirtualHost,
};
use shardgate_router::{Request, Table};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Bytes drawn mostly from the characters routing cares about.
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        const TRICKY: &[u8] = b"/?&=.:[]%aAbB0 \t\xff\xc3\x80-";
        (0..self.below(max + 1))
            .map(|_| {
                if self.below(4) == 0 {
                    self.next() as u8
                } else {
                    TRICKY[self.below(TRICKY.len())]
                }
            })
            .collect()
    }
}

fn m(path: PathMatch) -> RouteMatch {
    RouteMatch {
        path,
        headers: vec![],
        query_params: vec![],
        method: None,
    }
}

fn table() -> Table {
    let mut routes = Vec::new();
    for (i, p) in ["/a", "/a/b", "/b/", "/", "/%ff", "/a.b"]
        .iter()
        .enumerate()
    {
        routes.push(m(PathMatch::Exact((*p).into())));
        let mut pre = m(PathMatch::Prefix((*p).into()));
        pre.headers.push(HeaderMatch {
            name: "x-a".into(),
            value: StringMatch::Regex(format!("a{i}|[\\x00-\\x7f]*b")),
        });
        routes.push(pre);
        let mut q = m(PathMatch::Prefix((*p).into()));
        q.query_params.push(QueryParamMatch {
            name: "a".into(),
            value: StringMatch::Exact(String::new()),
        });
        q.method = Some("GET".into());
        routes.push(q);
    }
    routes.push(m(PathMatch::Regex("/(a|b)+/?.*".into())));
    routes.push(m(PathMatch::Regex("(?-u:[\\x80-\\xff])+".into())));
    let routes: Vec<Route> = routes
        .into_iter()
        .enumerate()
        .map(|(i, rm)| Route {
            name: format!("r{i}"),
            matches: vec![rm],
            filters: vec![],
            action: Action::DirectResponse { status: 200 },
            timeouts: Timeouts::default(),
        })
        .collect();
    let vhost = |name: &str, hosts: Vec<HostMatch>, routes: Vec<Route>| VirtualHost {
        name: name.into(),
        hostnames: hosts,
        routes,
    };
    let snapshot = Snapshot {
        generation: 1,
        listeners: vec![Listener {
            name: "l".into(),
            address: [0, 0, 0, 0].into(),
            port: 80,
            protocol: Protocol::Http,
            tls: None,
            virtual_hosts: vec![
                vhost(
                    "exact",
                    vec![HostMatch::Exact("a.b".into())],
                    routes.clone(),
                ),
                vhost(
                    "wild",
                    vec![HostMatch::Wildcard(".b".into())],
                    routes.clone(),
                ),
                vhost("any", vec![], routes[3..].to_vec()),
            ],
        }],
        clusters: vec![],
    };
    Table::compile(&snapshot).expect("robustness table compiles")
}

#[test]
fn arbitrary_requests_neither_panic_nor_depend_on_host_spelling() {
    let t = table();
    let l = &t.listeners()[0];
    let mut rng = Rng(0x0DDB_1A5E_5BAD_5EED);
    let mut routed = 0;
    for _ in 0..50_000 {
        let host = if rng.below(3) == 0 {
            [b"a.b".as_slice(), b"x.b", b"x.y.b", b"b", b""][rng.below(5)].to_vec()
        } else {
            rng.bytes(12)
        };
        let mut target = match rng.below(3) {
            0 => rng.bytes(24),
            _ => [b"/".as_slice(), b"/a", b"/a/b", b"/b/", b"/a.b"][rng.below(5)].to_vec(),
        };
        target.extend(rng.bytes(8));
        let method = [b"GET".as_slice(), b"get", b"POST"][rng.below(3)];
        let values: Vec<Vec<u8>> = (0..rng.below(3)).map(|_| rng.bytes(6)).collect();
        let headers: Vec<(&[u8], &[u8])> = values
            .iter()
            .map(|v| (b"X-A".as_slice(), v.as_slice()))
            .collect();
        let req = Request {
            method,
            host: &host,
            target: &target,
            headers: headers.as_slice(),
        };
        let got = l.route(&req).map(|e| (e.virtual_host(), e.name()));
        routed += usize::from(got.is_some());

        // The same host, spelt differently, reaches the same route.
        if !host.contains(&b':') && !host.starts_with(b"[") && !host.ends_with(b".") {
            let mut other = host.to_ascii_uppercase();
            other.extend_from_slice(b".:8080");
            let again = l
                .route(&Request {
                    host: &other,
                    ..req
                })
                .map(|e| (e.virtual_host(), e.name()));
            assert_eq!(got, again, "host {host:?} vs {other:?}, target {target:?}");
        }
    }
    assert!(routed > 5_000, "routed {routed}");
}

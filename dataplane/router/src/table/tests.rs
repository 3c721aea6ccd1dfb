use super::*;
use shardgate_ir::{
    BackendTarget, Endpoint, HeaderMatch, HeaderModifier, HostMatch, PathMatch, Protocol,
    QueryParamMatch, RouteMatch, StringMatch, WeightedBackend,
};

fn path_match(p: PathMatch) -> RouteMatch {
    RouteMatch {
        path: p,
        headers: vec![],
        query_params: vec![],
        method: None,
    }
}

fn route(name: &str, matches: Vec<RouteMatch>) -> Route {
    Route {
        name: name.into(),
        matches,
        filters: vec![],
        action: Action::DirectResponse { status: 200 },
        timeouts: Timeouts::default(),
    }
}

fn vhost(name: &str, hosts: &[&str], routes: Vec<Route>) -> VirtualHost {
    VirtualHost {
        name: name.into(),
        hostnames: hosts
            .iter()
            .map(|h| match h.strip_prefix('*') {
                Some(s) => HostMatch::Wildcard(s.into()),
                None => HostMatch::Exact((*h).into()),
            })
            .collect(),
        routes,
    }
}

fn snapshot(vhosts: Vec<VirtualHost>) -> Snapshot {
    Snapshot {
        generation: 7,
        listeners: vec![Listener {
            name: "http".into(),
            address: [127, 0, 0, 1].into(),
            port: 8080,
            protocol: Protocol::Http,
            tls: None,
            virtual_hosts: vhosts,
        }],
        clusters: vec![Cluster::new(
            "default/echo:8080",
            vec![Endpoint {
                addr: "127.0.0.1:9000".parse().expect("literal address"),
            }],
        )],
    }
}

fn get<'t>(t: &'t Table, host: &str, target: &str) -> Option<&'t str> {
    with_headers(t, "GET", host, target, &[])
}

fn with_headers<'t>(
    t: &'t Table,
    method: &str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Option<&'t str> {
    let req = Request {
        method: method.as_bytes(),
        host: host.as_bytes(),
        target: target.as_bytes(),
        headers,
    };
    t.listeners()[0].route(&req).map(RouteEntry::name)
}

fn compile(s: &Snapshot) -> Table {
    Table::compile(s).expect("test snapshot compiles")
}

#[test]
fn accessors_reflect_the_snapshot() {
    let s = snapshot(vec![vhost(
        "vh",
        &[],
        vec![route("r", vec![path_match(PathMatch::Prefix("/".into()))])],
    )]);
    let t = compile(&s);
    assert_eq!(t.generation(), 7);
    assert_eq!(t.clusters(), &s.clusters[..]);
    assert_eq!(t.route_count(), 1);
    let l = &t.listeners()[0];
    assert_eq!(l.name(), "http");
    assert_eq!(l.address(), IpAddr::from([127, 0, 0, 1]));
    assert_eq!(l.port(), 8080);
    assert_eq!(l.virtual_host(b"anything"), Some("vh"));
}

#[test]
fn first_route_in_ir_order_wins() {
    let t = compile(&snapshot(vec![vhost(
        "vh",
        &[],
        vec![
            route("exact", vec![path_match(PathMatch::Exact("/a/b".into()))]),
            route("long", vec![path_match(PathMatch::Prefix("/a/b".into()))]),
            route("short", vec![path_match(PathMatch::Prefix("/a".into()))]),
            route(
                "late-exact",
                vec![path_match(PathMatch::Exact("/a/c".into()))],
            ),
        ],
    )]));
    assert_eq!(get(&t, "h", "/a/b"), Some("exact"));
    assert_eq!(get(&t, "h", "/a/b/c"), Some("long"));
    assert_eq!(
        get(&t, "h", "/a/c"),
        Some("short"),
        "an earlier prefix wins over a later exact"
    );
    assert_eq!(get(&t, "h", "/b"), None);
}

#[test]
fn matches_of_a_route_are_ored() {
    let mut by_header = path_match(PathMatch::Exact("/path4".into()));
    by_header.headers.push(HeaderMatch {
        name: "version".into(),
        value: StringMatch::Exact("three".into()),
    });
    by_header.query_params.push(QueryParamMatch {
        name: "animal".into(),
        value: StringMatch::Exact("kraken".into()),
    });
    let mut by_query = path_match(PathMatch::Exact("/path3".into()));
    by_query.query_params.push(QueryParamMatch {
        name: "animal".into(),
        value: StringMatch::Exact("shark".into()),
    });
    let t = compile(&snapshot(vec![vhost(
        "vh",
        &[],
        vec![route("or", vec![by_query, by_header])],
    )]));
    assert_eq!(get(&t, "h", "/path3?animal=shark"), Some("or"));
    let h = [("version", "three")];
    assert_eq!(
        with_headers(&t, "GET", "h", "/path4?animal=kraken", &h),
        Some("or")
    );
    assert_eq!(get(&t, "h", "/path4?animal=kraken"), None, "AND'd subset");
    assert_eq!(get(&t, "h", "/?animal=shark"), None);
}

#[test]
fn only_the_chosen_virtual_host_is_searched() {
    let t = compile(&snapshot(vec![
        vhost(
            "foo",
            &["foo.example.com"],
            vec![route(
                "foo-only",
                vec![path_match(PathMatch::Exact("/foo".into()))],
            )],
        ),
        vhost(
            "wild",
            &["*.example.com"],
            vec![route(
                "wild-all",
                vec![path_match(PathMatch::Prefix("/".into()))],
            )],
        ),
        vhost(
            "any",
            &[],
            vec![route(
                "any-all",
                vec![path_match(PathMatch::Prefix("/".into()))],
            )],
        ),
    ]));
    assert_eq!(get(&t, "foo.example.com", "/foo"), Some("foo-only"));
    assert_eq!(get(&t, "FOO.example.com:8080", "/foo"), Some("foo-only"));
    // The exact virtual host has no route for /bar: 404, no fall-through.
    assert_eq!(get(&t, "foo.example.com", "/bar"), None);
    assert_eq!(get(&t, "bar.example.com", "/bar"), Some("wild-all"));
    assert_eq!(get(&t, "example.com", "/bar"), Some("any-all"));
    assert_eq!(get(&t, "", "/bar"), Some("any-all"));
}

#[test]
fn no_catch_all_means_no_route() {
    let t = compile(&snapshot(vec![vhost(
        "foo",
        &["foo.com"],
        vec![route("r", vec![path_match(PathMatch::Prefix("/".into()))])],
    )]));
    assert_eq!(get(&t, "bar.com", "/"), None);
    assert_eq!(get(&t, "foo.com", "/"), Some("r"));
}

#[test]
fn entry_carries_filters_timeouts_and_action() {
    let mut r = route("fwd", vec![path_match(PathMatch::Prefix("/".into()))]);
    r.filters = vec![Filter::RequestHeaderModifier(HeaderModifier {
        set: vec![("x-a".into(), "1".into())],
        add: vec![],
        remove: vec!["x-b".into()],
    })];
    r.timeouts = Timeouts {
        request_ms: Some(500),
        backend_request_ms: None,
    };
    r.action = Action::Forward(vec![
        WeightedBackend {
            weight: 0,
            target: BackendTarget::Invalid { status: 500 },
            filters: Vec::new(),
        },
        WeightedBackend {
            weight: 3,
            target: BackendTarget::Cluster(0),
            filters: Vec::new(),
        },
    ]);
    let direct = Route {
        action: Action::DirectResponse { status: 503 },
        ..route("direct", vec![path_match(PathMatch::Exact("/down".into()))])
    };
    let t = compile(&snapshot(vec![vhost("vh", &[], vec![direct, r.clone()])]));
    let req = |target: &'static str| Request {
        method: b"GET",
        host: b"x",
        target: target.as_bytes(),
        headers: &[] as &[(&[u8], &[u8])],
    };
    let l = &t.listeners()[0];
    let e = l.route(&req("/up")).expect("prefix / matches");
    assert_eq!(e.name(), "fwd");
    assert_eq!(e.virtual_host(), "vh");
    assert_eq!(e.index(), 1);
    assert_eq!(e.filters(), &r.filters[..]);
    assert_eq!(e.timeouts(), r.timeouts);
    match e.action() {
        RouteAction::Forward(b) => {
            assert_eq!(b.total_weight(), 3);
            assert_eq!(b.backends().len(), 2);
            assert_eq!(*b.pick(0), BackendTarget::Cluster(0));
        }
        other => panic!("expected forward, got {other:?}"),
    }
    let d = l.route(&req("/down")).expect("exact /down matches");
    assert!(matches!(d.action(), RouteAction::Direct { status: 503 }));
    assert_eq!(d.index(), 0);
}

#[test]
fn ir_validation_runs_first() {
    let mut s = snapshot(vec![vhost(
        "vh",
        &[],
        vec![route(
            "r",
            vec![path_match(PathMatch::Prefix("nope".into()))],
        )],
    )]);
    let err = Table::compile(&s).expect_err("path without leading slash");
    assert!(matches!(err, CompileError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("route r"), "{err}");
    s.listeners[0].virtual_hosts[0].routes[0].matches[0].path = PathMatch::Prefix("/".into());
    s.listeners[0].virtual_hosts[0].routes[0].action = Action::Forward(vec![WeightedBackend {
        weight: 1,
        target: BackendTarget::Cluster(9),
        filters: Vec::new(),
    }]);
    let err = Table::compile(&s).expect_err("cluster out of range");
    assert!(err.to_string().contains("cluster index 9"), "{err}");
}

#[test]
fn compile_errors_name_listener_virtual_host_route_and_field() {
    let mut m = path_match(PathMatch::Prefix("/".into()));
    m.headers.push(HeaderMatch {
        name: "x-v".into(),
        value: StringMatch::Regex("(".into()),
    });
    let s = snapshot(vec![vhost(
        "default/gw/http",
        &[],
        vec![
            route("ok", vec![path_match(PathMatch::Regex("/v[0-9]+".into()))]),
            route("default/web/rule/3", vec![m]),
        ],
    )]);
    let err = Table::compile(&s).expect_err("bad regex");
    let text = err.to_string();
    for part in [
        "listener http",
        "virtual host default/gw/http",
        "route default/web/rule/3",
        "header \"x-v\"",
        "regex \"(\"",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }
}

#[test]
fn duplicate_hostnames_across_virtual_hosts_are_refused() {
    let s = snapshot(vec![
        vhost("a", &["x.com"], vec![]),
        vhost("b", &["y.com", "x.com"], vec![]),
    ]);
    let err = Table::compile(&s).expect_err("x.com twice");
    assert_eq!(
        err.to_string(),
        "listener http: hostname \"x.com\" is claimed by virtual hosts a and b"
    );
}

#[test]
fn large_virtual_host_keeps_ir_order() {
    // Enough routes to use the path index; earlier, shorter prefixes must
    // still beat later, longer or exact ones.
    let mut routes = vec![route(
        "early-api",
        vec![path_match(PathMatch::Prefix("/api/".into()))],
    )];
    for i in 0..200 {
        routes.push(route(
            &format!("exact-{i}"),
            vec![path_match(PathMatch::Exact(format!("/svc/{i}")))],
        ));
        routes.push(route(
            &format!("prefix-{i}"),
            vec![path_match(PathMatch::Prefix(format!("/svc/{i}/")))],
        ));
    }
    routes.push(route(
        "api-exact",
        vec![path_match(PathMatch::Exact("/api/x".into()))],
    ));
    routes.push(route(
        "regex",
        vec![path_match(PathMatch::Regex("/re/[a-z]+".into()))],
    ));
    routes.push(route(
        "root",
        vec![path_match(PathMatch::Prefix("/".into()))],
    ));
    let t = compile(&snapshot(vec![vhost("big", &[], routes)]));
    assert_eq!(get(&t, "h", "/api/x"), Some("early-api"));
    assert_eq!(get(&t, "h", "/api"), Some("early-api"));
    assert_eq!(get(&t, "h", "/svc/17"), Some("exact-17"));
    assert_eq!(get(&t, "h", "/svc/17/"), Some("prefix-17"));
    assert_eq!(get(&t, "h", "/svc/199/a/b?x"), Some("prefix-199"));
    assert_eq!(get(&t, "h", "/svc/1999"), Some("root"));
    assert_eq!(get(&t, "h", "/re/abc"), Some("regex"));
    assert_eq!(get(&t, "h", "/re/abc/"), Some("root"));
    assert_eq!(get(&t, "h", "/"), Some("root"));
}

#[test]
fn listeners_keep_snapshot_order_and_their_own_routes() {
    let mut s = snapshot(vec![vhost(
        "first",
        &[],
        vec![route(
            "on-8080",
            vec![path_match(PathMatch::Prefix("/".into()))],
        )],
    )]);
    s.listeners.push(Listener {
        name: "other".into(),
        address: [0, 0, 0, 0].into(),
        port: 9090,
        protocol: Protocol::Http,
        tls: None,
        virtual_hosts: vec![vhost(
            "second",
            &["x.com"],
            vec![route(
                "on-9090",
                vec![path_match(PathMatch::Prefix("/".into()))],
            )],
        )],
    });
    let t = compile(&s);
    let names: Vec<_> = t.listeners().iter().map(|l| (l.name(), l.port())).collect();
    assert_eq!(names, [("http", 8080), ("other", 9090)]);
    let req = Request {
        method: b"GET",
        host: b"x.com",
        target: b"/",
        headers: &[] as &[(&[u8], &[u8])],
    };
    assert_eq!(
        t.listeners()[0].route(&req).map(RouteEntry::name),
        Some("on-8080")
    );
    assert_eq!(
        t.listeners()[1].route(&req).map(RouteEntry::name),
        Some("on-9090")
    );
    let elsewhere = Request {
        host: b"y.com",
        ..req
    };
    assert_eq!(t.listeners()[1].route(&elsewhere).map(|e| e.index()), None);
    assert_eq!(t.listeners()[1].route(&req).map(|e| e.index()), Some(1));
}

//! The generator against the in-process fixed-response server, in each mode,
//! bounded by request count so the tests stay short.

use shardgate_loadgen::fixed::{Expect, FixedConfig};
use shardgate_loadgen::{
    BenchConfig, FixedServer, Pace, Protocol, RequestSpec, SutSpec, Target, run, run_full,
};
use shardgate_runtime::{DriverChoice, ShardPlan};
use std::time::Duration;

fn server() -> FixedServer {
    FixedServer::start(
        "127.0.0.1:0".parse().expect("addr"),
        &ShardPlan { cores: vec![None] },
        DriverChoice::Auto,
    )
    .expect("fixed server starts")
}

fn config(url: &str) -> BenchConfig {
    BenchConfig {
        target: Target::parse(url).expect("url"),
        connections: 4,
        duration: Duration::from_secs(20),
        warmup: Duration::from_millis(100),
        requests: Some(2000),
        pace: Pace::Closed,
        new_conn: false,
        plan: ShardPlan {
            cores: vec![None, None],
        },
        driver: DriverChoice::Auto,
        timeout: Duration::from_secs(2),
        request: RequestSpec::default(),
        protocol: Protocol::Http1,
        expect_body: Some(13),
    }
}

fn server_with(config: FixedConfig) -> FixedServer {
    FixedServer::start_with(
        "127.0.0.1:0".parse().expect("addr"),
        &ShardPlan { cores: vec![None] },
        DriverChoice::Auto,
        config,
    )
    .expect("fixed server starts")
}

fn sane(r: &shardgate_loadgen::BenchReport, want: u64) {
    assert_eq!(r.requests, want, "{}", r.table());
    assert_eq!(r.errors_total, 0, "{}", r.table());
    let l = &r.latency_us;
    assert!(l.min > 0.0 && l.min <= l.p50, "{l:?}");
    assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max);
    assert_eq!(
        r.timeline.iter().map(|s| s.requests).sum::<u64>(),
        r.requests
    );
}

#[test]
fn closed_loop_keepalive_counts_every_request_once() {
    let s = server();
    let url = format!("http://{}/x", s.addr);
    let me = std::process::id();
    let r = run(
        &config(&url),
        &SutSpec {
            pids: vec![me],
            pattern: None,
            core: Some(0),
        },
    )
    .expect("run");
    sane(&r, 2000);
    // Keep-alive: only the 4 connections were ever opened.
    assert_eq!(r.connections_opened, 4);
    assert!(r.sut_cpu.is_some() && r.sut_core.is_some());
    let json = serde_json::to_string(&r).expect("json");
    let back: shardgate_loadgen::BenchReport = serde_json::from_str(&json).expect("parse");
    assert_eq!(back.requests, 2000);
}

#[test]
fn new_connection_per_request() {
    let s = server();
    let mut cfg = config(&format!("http://{}/", s.addr));
    cfg.new_conn = true;
    cfg.requests = Some(300);
    let r = run(&cfg, &SutSpec::default()).expect("run");
    sane(&r, 300);
    assert!(r.connections_opened >= 300, "{}", r.connections_opened);
    assert_eq!(r.connection, "new-connection");
}

#[test]
fn open_loop_keeps_to_the_rate() {
    let s = server();
    let mut cfg = config(&format!("http://{}/", s.addr));
    cfg.pace = Pace::Open { rate: 2000.0 };
    cfg.requests = None;
    cfg.duration = Duration::from_secs(1);
    cfg.warmup = Duration::ZERO;
    let r = run(&cfg, &SutSpec::default()).expect("run");
    // 2000 req/s for one second, give or take the requests in flight at the
    // edges of the window.
    assert!((1900..=2000).contains(&r.requests), "{}", r.table());
    assert_eq!(r.errors_total, 0);
    assert_eq!(r.mode, "open");
}

#[test]
fn refused_connections_are_errors_by_kind() {
    // Bind then drop: nothing listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut cfg = config(&format!("http://127.0.0.1:{port}/"));
    cfg.requests = Some(20);
    cfg.warmup = Duration::ZERO;
    let r = run(&cfg, &SutSpec::default()).expect("run");
    assert_eq!(r.requests, 0);
    assert_eq!(r.errors.connect, 20, "{}", r.table());
}

#[test]
fn bodies_both_ways_are_sized_and_checked() {
    let s = server_with(FixedConfig {
        body: 65536,
        expect: Expect::default(),
    });
    let mut cfg = config(&format!("http://{}/big", s.addr));
    cfg.requests = Some(300);
    cfg.request.body = 65536;
    cfg.expect_body = Some(65536);
    let r = run(&cfg, &SutSpec::default()).expect("run");
    sane(&r, 300);
    assert_eq!(r.connections_opened, 4);
    // The wrong expectation turns every answer into a `body` error.
    cfg.expect_body = Some(1024);
    cfg.requests = Some(50);
    let r = run(&cfg, &SutSpec::default()).expect("run");
    assert_eq!((r.requests, r.errors.body), (0, 50), "{}", r.table());
}

#[test]
fn the_backend_checks_forwarded_headers() {
    let s = server_with(FixedConfig {
        body: 13,
        expect: Expect {
            present: vec![("x-lab-set".into(), "set".into())],
            absent: vec!["x-lab-remove".into()],
        },
    });
    let mut cfg = config(&format!("http://{}/", s.addr));
    cfg.requests = Some(100);
    cfg.request.headers = vec![("X-Lab-Set".into(), "set".into())];
    sane(&run(&cfg, &SutSpec::default()).expect("run"), 100);
    cfg.request
        .headers
        .push(("X-Lab-Remove".into(), "1".into()));
    let r = run(&cfg, &SutSpec::default()).expect("run");
    assert_eq!(r.requests, 0);
    assert_eq!(r.errors.status.get(&400), Some(&100), "{}", r.table());
}

#[test]
fn h2c_streams_share_connections() {
    let s = server_with(FixedConfig {
        body: 1000,
        expect: Expect::default(),
    });
    let mut cfg = config(&format!("http://{}/h2", s.addr));
    cfg.protocol = Protocol::H2c { streams: 8 };
    cfg.request.body = 100;
    cfg.expect_body = Some(1000);
    let (r, extras) = run_full(&cfg, &SutSpec::default()).expect("run");
    sane(&r, 2000);
    // 4 connections, 8 streams each: never more connections than that.
    assert_eq!(r.connections_opened, 4, "{}", r.table());
    assert_eq!(extras.protocol, "h2c");
    assert_eq!(extras.streams_per_connection, 8);
}

#[test]
fn grpc_unary_calls_are_judged_by_their_trailers() {
    let s = server_with(FixedConfig {
        body: 128,
        expect: Expect {
            present: vec![("x-lab".into(), "1".into())],
            absent: Vec::new(),
        },
    });
    let mut cfg = config(&format!("http://{}/lab.Fixed/Unary", s.addr));
    cfg.protocol = Protocol::Grpc { streams: 4 };
    cfg.requests = Some(500);
    cfg.request.body = 128;
    cfg.request.headers = vec![("x-lab".into(), "1".into())];
    cfg.expect_body = Some(133);
    sane(&run(&cfg, &SutSpec::default()).expect("run"), 500);
    // Without the header the backend answers grpc-status 3.
    cfg.request.headers.clear();
    cfg.requests = Some(40);
    let r = run(&cfg, &SutSpec::default()).expect("run");
    assert_eq!((r.requests, r.errors.grpc), (0, 40), "{}", r.table());
}

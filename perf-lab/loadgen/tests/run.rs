//! The generator against the in-process fixed-response server, in each mode,
//! bounded by request count so the tests stay short.

use shardgate_loadgen::{BenchConfig, FixedServer, Pace, SutSpec, Target, run};
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
    }
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

//! Configuration changes while serving: hot swaps under load, and broken
//! files that must not take down what already works.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use support::http::{self, Client};
use support::yaml::{docs, route, service};
use support::{Env, Gateway, Rule};

/// What one client thread saw.
#[derive(Debug, Default)]
struct Tally {
    requests: usize,
    to_a: usize,
    to_b: usize,
    failures: Vec<String>,
}

/// Loop requests until `stop` (or `limit`), on one keep-alive connection
/// (`keep_alive`) or a new connection per request.
fn hammer(addr: std::net::SocketAddr, keep_alive: bool, stop: Arc<AtomicBool>) -> Tally {
    const MAX_REQUESTS: usize = 50_000;
    let limit = Duration::from_secs(20);
    let start = Instant::now();
    let mut t = Tally::default();
    let mut conn: Option<Client> = None;
    while !stop.load(Ordering::Relaxed) && start.elapsed() < limit && t.requests < MAX_REQUESTS {
        t.requests += 1;
        let mode = if keep_alive { "kept" } else { "new" };
        let path = format!("/load/{mode}/{}", t.requests);
        let mut c = match conn.take() {
            Some(c) => c,
            None => match Client::connect(addr) {
                Ok(c) => c,
                Err(e) => {
                    t.failures.push(format!("{path}: connect: {e}"));
                    continue;
                }
            },
        };
        // A request takes milliseconds; 10 s means it was lost.
        let _ = c.set_read_timeout(Duration::from_secs(10));
        let sent = Instant::now();
        match c.get("swap.test", &path) {
            Ok(r) if r.status() == 200 => {
                match r.pod().as_deref() {
                    Some("a") => t.to_a += 1,
                    Some("b") => t.to_b += 1,
                    other => t.failures.push(format!("{path}: answered by {other:?}")),
                }
                if keep_alive && !r.head.closes() {
                    conn = Some(c);
                }
            }
            Ok(r) => t
                .failures
                .push(format!("{path}: {} {}", r.status(), r.text())),
            Err(e) => t
                .failures
                .push(format!("{path}: {e} after {:?}", sent.elapsed())),
        }
    }
    t
}

fn swap_route(backend: &str) -> String {
    route("swap", &["swap.test"], &[Rule::to(backend)])
}

#[test]
fn route_swaps_under_load_lose_no_request() {
    let env = Env::new();
    let a = env.echo("a");
    let b = env.echo("b");
    env.write(
        "services.yaml",
        &docs(&[service("a", &[a.addr]), service("b", &[b.addr])]),
    );
    env.write("routes.yaml", &swap_route("a"));
    let gw = Gateway::start_up(env, "swap.test", "/");

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = [true, false]
        .into_iter()
        .map(|keep_alive| {
            let (addr, stop) = (gw.addr(), stop.clone());
            thread::spawn(move || hammer(addr, keep_alive, stop))
        })
        .collect();
    const REWRITES: usize = 200;
    for i in 0..REWRITES {
        let backend = if i % 2 == 0 { "b" } else { "a" };
        gw.env.write("routes.yaml", &swap_route(backend));
        // Pacing between rewrites (not a wait for a condition): 200
        // rewrites spread over about 8 s of load.
        thread::sleep(Duration::from_millis(40));
    }
    stop.store(true, Ordering::Relaxed);
    let tallies: Vec<Tally> = clients
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();

    let mut total = Tally::default();
    for t in tallies {
        total.requests += t.requests;
        total.to_a += t.to_a;
        total.to_b += t.to_b;
        total.failures.extend(t.failures);
    }
    // Which backend, if any, saw the failed requests.
    let seen_by = |f: &str| {
        let path = f.split(' ').next().unwrap_or_default();
        [&a, &b]
            .iter()
            .filter(|e| e.received_count(path) > 0)
            .map(|e| e.pod.clone())
            .collect::<Vec<_>>()
    };
    let first: Vec<String> = total.failures[..total.failures.len().min(10)]
        .iter()
        .map(|f| format!("{f} (reached backends {:?})", seen_by(f)))
        .collect();
    // Requests a backend accepted at the TCP level but never read.
    let stuck: Vec<String> = [&a, &b]
        .iter()
        .map(|e| {
            let unread = support::procs::unread_connections(e.pid(), e.addr.port());
            format!(
                "echo {} holds {} unread connections {unread:?}",
                e.pod,
                unread.len()
            )
        })
        .collect();
    assert!(
        total.failures.is_empty(),
        "{} of {} requests failed during config swaps; first ones: {first:?}; {stuck:?}\n{}",
        total.failures.len(),
        total.requests,
        gw.logs()
    );
    assert!(
        total.requests >= 100,
        "only {} requests sent",
        total.requests
    );
    assert_eq!(total.to_a + total.to_b, total.requests);
    assert!(
        total.to_a > 0 && total.to_b > 0,
        "swaps never took effect: a={}, b={}",
        total.to_a,
        total.to_b
    );
    // The last rewrite (i = 199) routes to "a".
    let r = gw.wait_for("swap.test", "/final", Duration::from_secs(10), |r| {
        r.pod().as_deref() == Some("a")
    });
    assert_eq!(r.status(), 200);
    for i in 0..20 {
        let r = http::get(gw.addr(), "swap.test", "/settled").expect("request");
        assert_eq!(r.pod().as_deref(), Some("a"), "request {i} after settling");
    }
}

#[test]
fn malformed_file_does_not_take_down_serving_routes() {
    let env = Env::new();
    let web = env.echo("web");
    let extra = env.echo("extra");
    env.write(
        "services.yaml",
        &docs(&[service("web", &[web.addr]), service("extra", &[extra.addr])]),
    );
    env.write(
        "routes.yaml",
        &route("web", &["web.test"], &[Rule::to("web")]),
    );
    let gw = Gateway::start_up(env, "web.test", "/");

    gw.env.write(
        "broken.yaml",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: [oops\n  spec: : :\n",
    );
    let mentioned = support::procs::poll(Duration::from_secs(10), || {
        gw.logs().contains("broken.yaml").then_some(())
    });
    assert!(
        mentioned.is_some(),
        "no log line names broken.yaml:\n{}",
        gw.logs()
    );
    let m = gw.metrics();
    assert!(
        m.get("shardgate_controlplane_config_errors") >= 1.0,
        "config errors gauge:\n{}",
        m.text
    );
    for i in 0..20 {
        let r = http::get(gw.addr(), "web.test", &format!("/still/{i}")).expect("request");
        assert_eq!(r.status(), 200, "existing route after a broken file");
        assert_eq!(r.pod().as_deref(), Some("web"));
    }
    let ready = gw.admin_get("/ready");
    assert_eq!(ready.status(), 200, "{}", ready.text());

    // Other files still load while the broken one is there.
    gw.env.write(
        "extra.yaml",
        &route("extra", &["extra.test"], &[Rule::to("extra")]),
    );
    let r = gw.wait_for("extra.test", "/", Duration::from_secs(10), |r| {
        r.status() == 200
    });
    assert_eq!(r.pod().as_deref(), Some("extra"));
    assert_eq!(
        http::get(gw.addr(), "web.test", "/")
            .expect("request")
            .pod()
            .as_deref(),
        Some("web")
    );

    // Fixing the file clears the error.
    std::fs::remove_file(gw.env.config.join("broken.yaml")).expect("removing broken.yaml");
    let cleared = support::procs::poll(Duration::from_secs(10), || {
        (gw.metrics().get("shardgate_controlplane_config_errors") == 0.0).then_some(())
    });
    assert!(cleared.is_some(), "config errors gauge stayed up");
}

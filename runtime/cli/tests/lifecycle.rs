//! Process lifecycle: a dead control plane, a dead data plane, and the
//! graceful drain on SIGTERM.

mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::http::{self, Client};
use support::procs::{alive, children_of, poll, signal};
use support::yaml::{docs, route, service};
use support::{DRAIN_TIMEOUT, Env, Gateway, Rule};

fn to(backend: &str) -> String {
    route("life", &["life.test"], &[Rule::to(backend)])
}

#[test]
fn data_plane_serves_on_after_control_plane_dies() {
    let env = Env::new();
    let a = env.echo("a");
    let b = env.echo("b");
    env.write(
        "services.yaml",
        &docs(&[service("a", &[a.addr]), service("b", &[b.addr])]),
    );
    env.write("routes.yaml", &to("a"));
    let mut gw = Gateway::start_split(env, "life.test", "/");

    gw.kill_controlplane();
    // Traffic keeps flowing for a few seconds, on a kept-alive connection
    // and on new ones.
    let mut kept = Client::connect(gw.addr()).expect("connecting");
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(3) && n < 5000 {
        n += 1;
        let r = kept
            .get("life.test", &format!("/orphan/{n}"))
            .unwrap_or_else(|e| panic!("request {n} without a control plane: {e}\n{}", gw.logs()));
        assert_eq!(r.status(), 200, "request {n}");
        assert_eq!(r.pod().as_deref(), Some("a"));
        let r = http::get(gw.addr(), "life.test", "/fresh").expect("fresh connection");
        assert_eq!(r.status(), 200, "fresh connection {n}");
    }
    assert!(n >= 10, "only {n} requests in 3 s");

    // A new control plane on the same segment and config takes over.
    gw.start_controlplane();
    gw.wait_ready("life.test", "/");
    gw.env.write("routes.yaml", &to("b"));
    let r = gw.wait_for("life.test", "/", Duration::from_secs(20), |r| {
        r.pod().as_deref() == Some("b")
    });
    assert_eq!(r.status(), 200);
    let r = kept
        .get("life.test", "/kept")
        .expect("kept-alive connection");
    assert_eq!(r.pod().as_deref(), Some("b"), "old connection, new route");
}

#[test]
fn up_restarts_a_killed_data_plane() {
    let env = Env::new();
    let web = env.echo("web");
    env.write("services.yaml", &service("web", &[web.addr]));
    env.write("routes.yaml", &to("web"));
    let mut gw = Gateway::start_up(env, "life.test", "/");
    let up = gw.up_pid();
    let old = gw.dataplane_pid();

    assert!(signal(old, "KILL"), "SIGKILL to the data plane {old}");
    let new = poll(Duration::from_secs(20), || {
        children_of(up).into_iter().find(|p| *p != old && alive(*p))
    })
    .unwrap_or_else(|| panic!("up did not restart its data plane:\n{}", gw.logs()));
    gw.refresh_children();
    assert!(!alive(old), "the killed data plane {old} is still alive");
    let r = gw.wait_for("life.test", "/back", Duration::from_secs(20), |r| {
        r.status() == 200
    });
    assert_eq!(r.pod().as_deref(), Some("web"));
    assert!(alive(up), "up itself died");
    assert_eq!(gw.dataplane_pid(), new);
    let ready = poll(Duration::from_secs(10), || {
        (gw.admin_get("/ready").status() == 200).then_some(())
    });
    assert!(ready.is_some(), "/ready after the restart");
}

#[test]
fn a_killed_up_takes_its_data_plane_down() {
    let env = Env::new();
    let web = env.echo("web");
    env.write("services.yaml", &service("web", &[web.addr]));
    env.write("routes.yaml", &to("web"));
    let gw = Gateway::start_up(env, "life.test", "/");
    let up = gw.up_pid();
    let dp = gw.dataplane_pid();
    assert!(signal(up, "KILL"), "SIGKILL to up {up}");
    let gone = poll(Duration::from_secs(15), || (!alive(dp)).then_some(()));
    assert!(
        gone.is_some(),
        "the data plane {dp} outlived its killed parent:\n{}",
        gw.logs()
    );
}

#[test]
fn sigterm_drains_in_flight_requests() {
    let env = Env::new();
    let web = env.echo("web");
    env.write("services.yaml", &service("web", &[web.addr]));
    env.write("routes.yaml", &to("web"));
    let mut gw = Gateway::start_up(env, "life.test", "/");
    let dp = gw.dataplane_pid();

    // One slow request in flight and one idle keep-alive connection.
    let mut idle = Client::connect(gw.addr()).expect("connecting");
    assert_eq!(idle.get("life.test", "/idle").expect("idle").status(), 200);
    let mut slow = Client::connect(gw.addr()).expect("connecting");
    slow.send(http::get_request("life.test", "/delay/1500").as_bytes())
        .expect("slow request");
    assert!(
        web.wait_received("/delay/1500", Duration::from_secs(10)),
        "the slow request never reached the backend"
    );
    let sent = Instant::now();
    gw.signal_main("TERM");

    let r = slow
        .read_response()
        .unwrap_or_else(|e| panic!("in-flight request during drain: {e}\n{}", gw.logs()));
    assert_eq!(r.status(), 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/delay/1500");
    assert!(
        r.head.closes(),
        "a response during drain says Connection: close"
    );
    assert!(
        idle.closed_within(Duration::from_secs(5)),
        "an idle keep-alive connection stayed open during drain"
    );

    let status = gw
        .wait_main_exit(DRAIN_TIMEOUT + Duration::from_secs(2))
        .unwrap_or_else(|| panic!("up still running after the drain:\n{}", gw.logs()));
    assert!(
        sent.elapsed() < DRAIN_TIMEOUT + Duration::from_secs(2),
        "exit took {:?}",
        sent.elapsed()
    );
    assert!(status.success(), "up exited with {status}:\n{}", gw.logs());
    assert!(!alive(dp), "the data plane {dp} outlived up");
    let refused = TcpStream::connect_timeout(&gw.addr(), Duration::from_secs(2));
    assert!(
        refused.is_err(),
        "the listener still accepts connections after shutdown"
    );
}

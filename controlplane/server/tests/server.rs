//! The control plane end to end: a real config directory, a real
//! shared-memory segment read back by a Subscriber, acknowledgements, and
//! the admin endpoint over TCP.

use shardgate_controlplane::{Config, run};
use shardgate_ir::{PathMatch, Snapshot};
use shardgate_snapshot::Subscriber;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixListener};

const BASE: &str = "\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: sg}
spec: {controllerName: shardgate.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: web}
spec:
  gatewayClassName: sg
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: web}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-1
  namespace: web
  labels: {kubernetes.io/service-name: echo}
addressType: IPv4
ports: [{name: http, port: 3000}]
endpoints: [{addresses: [127.0.0.1]}]
";

fn route(name: &str, path: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: web}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: {path}}}}}]
    backendRefs: [{{name: echo, port: 80}}]
"
    )
}

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr")
}

async fn get(addr: SocketAddr, target: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect to admin");
    let req = format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.expect("read response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    assert!(head.contains("Connection: close"), "{head}");
    (code, body.to_owned())
}

/// Poll until `check` yields a value; a generous guard keeps a broken
/// control plane from hanging the suite.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let wait = async {
        loop {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for: {what}"))
}

fn read_back(sub: &mut Subscriber) -> Snapshot {
    sub.load_current()
        .expect("load the published snapshot")
        .expect("a snapshot is published")
        .decode()
        .expect("the snapshot decodes and validates")
}

fn prefixes(s: &Snapshot) -> Vec<String> {
    s.listeners
        .iter()
        .flat_map(|l| &l.virtual_hosts)
        .flat_map(|v| &v.routes)
        .flat_map(|r| &r.matches)
        .filter_map(|m| match &m.path {
            PathMatch::Prefix(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

/// A stand-in for the data plane's admin socket.
fn fake_dataplane_admin(path: &Path) {
    let listener = UnixListener::bind(path).expect("bind the fake data-plane socket");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            let body = if req.starts_with("GET /metrics ") {
                "# TYPE dp_requests counter\ndp_requests_total 7\n# EOF\n"
            } else {
                "2 of 2 shards serving\n"
            };
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_follows_edits_and_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).expect("config dir");
    std::fs::write(config_dir.join("base.yaml"), BASE).expect("write base");
    std::fs::write(config_dir.join("route.yaml"), route("r", "/a")).expect("write route");
    let snapshot_path = dir.path().join("segment");
    let dp_socket = dir.path().join("dp.sock");
    fake_dataplane_admin(&dp_socket);
    let admin = free_addr();
    let cfg = Config {
        config_dir: config_dir.clone(),
        snapshot_path: snapshot_path.clone(),
        admin: Some(admin),
        dataplane_admin: Some(dp_socket),
        gateway_address: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(cfg, async {
        let _ = stopped.await;
    }));

    // Generation 1 is published and reads back.
    eventually("first snapshot in /config_dump", || async {
        TcpStream::connect(admin).await.ok()?;
        (get(admin, "/config_dump").await.0 == 200).then_some(())
    })
    .await;
    let mut sub = Subscriber::open(&snapshot_path).expect("open the segment");
    assert_eq!(sub.generation(), 1);
    let first = read_back(&mut sub);
    assert_eq!(first.generation, 1);
    assert_eq!(prefixes(&first), ["/a"]);
    assert_eq!(first.listeners[0].port, 8080);
    let dump: Snapshot = serde_json::from_str(&get(admin, "/config_dump").await.1)
        .expect("config_dump is the IR as JSON");
    assert_eq!(dump, first);

    // Not ready until a data plane adopts it; the data plane's own /ready is included.
    let (code, body) = get(admin, "/ready").await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("no data plane attached"), "{body}");
    assert!(
        body.contains("data plane /ready (200): 2 of 2 shards serving"),
        "{body}"
    );
    let (_, status) = get(admin, "/status").await;
    assert!(status.contains("reason: Pending"), "{status}");

    let acks = sub.register(2).expect("register two shards");
    acks.ack(0, 1);
    let body = eventually("the control plane sees the data plane", || async {
        let (code, body) = get(admin, "/ready").await;
        (code == 503 && !body.contains("no data plane attached")).then_some(body)
    })
    .await;
    assert!(
        body.contains("not yet adopted"),
        "one shard of two acked: {body}"
    );
    assert!(body.contains("shards at [1, 0]"), "{body}");
    acks.ack(1, 1);
    eventually("ready after both shards acked", || async {
        (get(admin, "/ready").await.0 == 200).then_some(())
    })
    .await;
    let (_, status) = get(admin, "/status").await;
    assert!(status.contains("kind: Gateway"), "{status}");
    assert!(status.contains("reason: Programmed"), "{status}");
    assert!(!status.contains("reason: Pending"), "{status}");

    // An edit publishes generation 2, which is not adopted yet.
    std::fs::write(config_dir.join("route.yaml"), route("r", "/b")).expect("edit route");
    eventually("generation 2", || async {
        (sub.generation() == 2).then_some(())
    })
    .await;
    assert_eq!(prefixes(&read_back(&mut sub)), ["/b"]);
    eventually("not ready for generation 2", || async {
        (get(admin, "/ready").await.0 == 503).then_some(())
    })
    .await;
    acks.ack(0, 2);
    acks.ack(1, 2);
    eventually("ready for generation 2", || async {
        (get(admin, "/ready").await.0 == 200).then_some(())
    })
    .await;

    // Broken YAML (a new file, and a bad edit of route.yaml) changes nothing
    // that is served: no new generation, the last good route stays.
    std::fs::write(config_dir.join("broken.yaml"), "kind: [unclosed\n").expect("write broken");
    std::fs::write(config_dir.join("route.yaml"), "spec: {oops\n").expect("break route");
    eventually("both errors loaded", || async {
        let (_, m) = get(admin, "/metrics").await;
        m.lines()
            .any(|l| l == "shardgate_controlplane_config_errors 2")
            .then_some(())
    })
    .await;
    assert_eq!(sub.generation(), 2);
    let (_, dump) = get(admin, "/config_dump").await;
    assert!(dump.contains("\"/b\""), "{dump}");

    // A file with one malformed object and one good route: the good one is served.
    let mixed = format!(
        "{}---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: bad, namespace: web}}\nspec: {{rules: 5}}\n",
        route("extra", "/extra")
    );
    std::fs::write(config_dir.join("mixed.yaml"), mixed).expect("write mixed");
    eventually("generation 3", || async {
        (sub.generation() == 3).then_some(())
    })
    .await;
    let mut got = prefixes(&read_back(&mut sub));
    got.sort();
    assert_eq!(got, ["/b", "/extra"]);

    let metrics = eventually("metrics show generation 3", || async {
        let (code, m) = get(admin, "/metrics").await;
        (code == 200 && m.contains("shardgate_controlplane_published_generation 3")).then_some(m)
    })
    .await;
    assert!(
        metrics.contains("shardgate_controlplane_translations_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("shardgate_controlplane_last_translation_seconds"),
        "{metrics}"
    );
    assert!(
        metrics.contains("shardgate_controlplane_dataplane_scrape_up{socket="),
        "{metrics}"
    );
    assert!(
        metrics.ends_with("dp_requests_total 7\n# EOF\n"),
        "{metrics}"
    );
    assert_eq!(metrics.matches("# EOF").count(), 1, "{metrics}");

    let (code, _) = get(admin, "/nope").await;
    assert_eq!(code, 404);

    stop.send(()).expect("server still running");
    server
        .await
        .expect("server task")
        .expect("server stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_dataplane_admin_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).expect("config dir");
    std::fs::write(config_dir.join("base.yaml"), BASE).expect("write base");
    let admin = free_addr();
    let cfg = Config {
        config_dir,
        snapshot_path: dir.path().join("segment"),
        admin: Some(admin),
        dataplane_admin: Some(dir.path().join("missing.sock")),
        gateway_address: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(cfg, async {
        let _ = stopped.await;
    }));
    let metrics = eventually("admin up", || async {
        TcpStream::connect(admin).await.ok()?;
        Some(get(admin, "/metrics").await.1)
    })
    .await;
    let up = metrics
        .lines()
        .find(|l| l.starts_with("shardgate_controlplane_dataplane_scrape_up{"))
        .unwrap_or_default();
    assert!(
        up.contains("missing.sock") && up.ends_with(" 0"),
        "{metrics}"
    );
    let (code, body) = get(admin, "/ready").await;
    assert_eq!(code, 503);
    assert!(body.contains("data plane /ready unavailable"), "{body}");
    stop.send(()).expect("server still running");
    server.await.expect("server task").expect("clean stop");
}

#[tokio::test]
async fn missing_config_dir_fails_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = Config {
        config_dir: dir.path().join("nope"),
        snapshot_path: dir.path().join("segment"),
        admin: None,
        dataplane_admin: None,
        gateway_address: None,
    };
    let err = run(cfg, std::future::pending())
        .await
        .expect_err("no config dir");
    assert!(format!("{err:#}").contains("nope"), "{err:#}");
}

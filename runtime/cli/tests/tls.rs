//! HTTPS listeners end to end: the real `shardgate` terminating TLS for
//! curl (TLS 1.2 and 1.3) and for a rustls client, with certificates from
//! `kubernetes.io/tls` Secrets in the YAML directory — or, for what the
//! control plane never sends (a certificate the data plane cannot load),
//! from a snapshot published directly.

#[path = "tls/pki.rs"]
mod pki;
mod support;

use pki::{Pki, curl, describe, issue, resolve, secret, sum};
use std::time::Duration;
use support::procs::{free_port, poll};
use support::yaml::{GATEWAY, NS, docs, route, service};
use support::{Env, Gateway, Rule};

const TLS12: &[&str] = &["--tlsv1.2", "--tls-max", "1.2"];
const TLS13: &[&str] = &["--tlsv1.3"];

/// An HTTP listener (the readiness probe) and HTTPS listeners: on
/// `shared`, `a.example.com`, `*.wild.example` and a default; on `strict`,
/// only `only.example.com`.
fn gateway(http: u16, shared: u16, strict: u16) -> String {
    format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: shardgate}}
spec:
  controllerName: shardgate.dev/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {GATEWAY}, namespace: {NS}}}
spec:
  gatewayClassName: shardgate
  listeners:
  - {{name: http, port: {http}, protocol: HTTP}}
  - name: a
    port: {shared}
    protocol: HTTPS
    hostname: a.example.com
    tls: {{certificateRefs: [{{name: cert-a}}]}}
  - name: wild
    port: {shared}
    protocol: HTTPS
    hostname: \"*.wild.example\"
    tls: {{certificateRefs: [{{name: cert-w}}]}}
  - name: default
    port: {shared}
    protocol: HTTPS
    tls: {{certificateRefs: [{{name: cert-d}}]}}
  - name: strict
    port: {strict}
    protocol: HTTPS
    hostname: only.example.com
    tls: {{certificateRefs: [{{name: cert-o}}]}}
"
    )
}

struct Setup {
    gw: Gateway,
    _echo: support::Echo,
    shared: u16,
    strict: u16,
    a: Pki,
    w: Pki,
    d: Pki,
    o: Pki,
}

fn start() -> Setup {
    let env = Env::new();
    let (shared, strict) = (free_port(), free_port());
    let dir = env.dir().to_path_buf();
    let a = issue(&dir, "a", &["a.example.com"]);
    let w = issue(&dir, "w", &["*.wild.example", "y.z.wild.example"]);
    // The default also names what no listener has, and the bare address.
    let d = issue(&dir, "d", &["unknown.test", "127.0.0.1"]);
    let o = issue(&dir, "o", &["only.example.com"]);
    let echo = env.echo("echo");
    env.write("gateway.yaml", &gateway(env.port, shared, strict));
    env.write(
        "app.yaml",
        &docs(&[
            service("echo", &[echo.addr]),
            route("web", &[], &[Rule::to("echo")]),
        ]),
    );
    write_secrets(
        &env,
        &[
            ("cert-a", &a),
            ("cert-w", &w),
            ("cert-d", &d),
            ("cert-o", &o),
        ],
    );
    let gw = Gateway::start_up(env, "plain.test", "/");
    Setup {
        gw,
        _echo: echo,
        shared,
        strict,
        a,
        w,
        d,
        o,
    }
}

fn write_secrets(env: &Env, certs: &[(&str, &Pki)]) {
    let parts: Vec<String> = certs
        .iter()
        .map(|(name, p)| secret(name, &p.chain_pem, &p.key_pem))
        .collect();
    env.write("secrets.yaml", &docs(&parts));
}

/// GET `host` on `port` trusting only `ca`; (exit code, HTTP status + body).
fn get(version: &[&str], ca: &Pki, host: &str, port: u16, path: &str) -> (i32, String, String) {
    let (res, base) = resolve(host, port);
    let ca = ca.ca_file.to_string_lossy().into_owned();
    let url = format!("{base}{path}");
    let mut args = version.to_vec();
    args.extend([
        "--cacert",
        &ca,
        "--resolve",
        &res,
        "-w",
        "\n%{http_code}",
        &url,
    ]);
    curl(&args)
}

#[test]
fn sni_chooses_the_certificate_over_tls12_and_tls13() {
    let s = start();
    for v in [TLS12, TLS13] {
        // Each name is answered with its own certificate: only its CA verifies it.
        for (ca, host) in [
            (&s.a, "a.example.com"),
            (&s.w, "x.wild.example"),
            (&s.w, "y.z.wild.example"),
            (&s.d, "unknown.test"),
        ] {
            let r = get(v, ca, host, s.shared, "/sni");
            assert_eq!(r.0, 0, "{}\n{}", describe(host, &r), s.gw.logs());
            assert!(r.1.ends_with("\n200"), "{}", describe(host, &r));
            let json: serde_json::Value =
                serde_json::from_str(r.1.trim_end_matches("200").trim()).expect("echo JSON");
            assert_eq!(
                json["headers"]["X-Forwarded-Proto"],
                serde_json::json!(["https"]),
                "{json}"
            );
        }
        // The wildcard's certificate is not the one for a.example.com.
        let r = get(v, &s.a, "x.wild.example", s.shared, "/");
        assert_ne!(r.0, 0, "{}", describe("wildcard with A's CA", &r));
        // No SNI (an address): the default certificate.
        let ca = s.d.ca_file.to_string_lossy().into_owned();
        let url = format!("https://127.0.0.1:{}/", s.shared);
        let mut args = v.to_vec();
        args.extend([
            "--cacert",
            &ca,
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &url,
        ]);
        let r = curl(&args);
        assert_eq!(
            (r.0, r.1.as_str()),
            (0, "200"),
            "{}",
            describe("no SNI", &r)
        );
        // A listener without a default: an unknown name fails the handshake.
        let r = get(v, &s.o, "only.example.com", s.strict, "/");
        assert!(
            r.1.ends_with("\n200"),
            "{}",
            describe("strict listener", &r)
        );
        for host in ["other.test", "a.example.com"] {
            let r = get(v, &s.o, host, s.strict, "/");
            assert_eq!(r.0, 35, "{}", describe(host, &r));
        }
    }
    let m = s.gw.metrics();
    let port = format!(":{}\"", s.strict);
    let failed = sum(
        &m,
        "shardgate_tls_handshakes_total{",
        &[&port, "result=\"failed\""],
    );
    let done = sum(
        &m,
        "shardgate_tls_handshakes_total{",
        &[&port, "result=\"completed\""],
    );
    assert_eq!((failed, done), (4.0, 2.0), "{}", m.text);
}

#[test]
fn keep_alive_and_large_and_chunked_bodies_over_tls() {
    let s = start();
    let (res, base) = resolve("a.example.com", s.shared);
    let ca = s.a.ca_file.to_string_lossy().into_owned();
    for v in [TLS12, TLS13] {
        // Two requests, one connection.
        let mut args = v.to_vec();
        let (one, two) = (format!("{base}/one"), format!("{base}/two"));
        args.extend([
            "--cacert",
            &ca,
            "--resolve",
            &res,
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
        ]);
        args.extend(["-w", "%{http_code} %{num_connects}\n", &one, &two]);
        let r = curl(&args);
        assert_eq!(r.1, "200 1\n200 0\n", "{}", describe("keep-alive", &r));
        // Large responses, with a length and chunked.
        for path in ["/bytes/3000001", "/chunked/3000001"] {
            let url = format!("{base}{path}");
            let mut args = v.to_vec();
            args.extend(["--cacert", &ca, "--resolve", &res, "-o", "/dev/null"]);
            args.extend(["-w", "%{http_code} %{size_download}", &url]);
            let r = curl(&args);
            assert_eq!(r.1, "200 3000001", "{}", describe(path, &r));
        }
        // Large uploads, with a length and chunked.
        let file = s.gw.env.dir().join("upload.bin");
        let data: Vec<u8> = (0..2_500_003u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &data).expect("writing the upload");
        let at = format!("@{}", file.display());
        for chunked in [false, true] {
            let mut args = v.to_vec();
            args.extend([
                "--cacert",
                &ca,
                "--resolve",
                &res,
                "-o",
                "/dev/null",
                "-D",
                "-",
            ]);
            args.extend([
                "--data-binary",
                &at,
                "-H",
                "Content-Type: application/octet-stream",
            ]);
            if chunked {
                args.extend(["-H", "Transfer-Encoding: chunked"]);
            }
            let url = format!("{base}/upload");
            args.push(&url);
            let r = curl(&args);
            assert!(
                r.1.to_ascii_lowercase()
                    .contains("x-echo-body-length: 2500003"),
                "{}",
                describe("upload", &r)
            );
        }
    }
}

/// A rustls client connection kept open across requests.
struct Kept {
    s: rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>,
}

impl Kept {
    fn connect(ca: &Pki, host: &str, port: u16) -> Kept {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(
                rustls::pki_types::CertificateDer::from_pem_slice(ca.ca_pem.as_bytes())
                    .expect("CA pem"),
            )
            .expect("CA accepted");
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(host.to_owned()).expect("name");
        let conn = rustls::ClientConnection::new(std::sync::Arc::new(cfg), name).expect("client");
        let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Kept {
            s: rustls::StreamOwned::new(conn, tcp),
        }
    }

    /// GET `path`; returns the status and the body.
    fn get(&mut self, host: &str, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        use std::io::{Read, Write};
        write!(self.s, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")?;
        self.s.flush()?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = self.s.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let mut body = buf.split_off(end);
        while body.len() < len {
            let n = self.s.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Ok((status, body))
    }

    fn leaf(&self) -> Vec<u8> {
        self.s
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.to_vec())
            .unwrap_or_default()
    }
}

#[test]
fn a_rotated_secret_serves_new_connections_while_open_ones_keep_theirs() {
    let s = start();
    let mut old = Kept::connect(&s.a, "a.example.com", s.shared);
    let (status, _) = old.get("a.example.com", "/before").expect("first request");
    assert_eq!(status, 200);
    let old_leaf = old.leaf();
    assert!(!old_leaf.is_empty());

    let a2 = issue(s.gw.env.dir(), "a2", &["a.example.com"]);
    write_secrets(
        &s.gw.env,
        &[
            ("cert-a", &a2),
            ("cert-w", &s.w),
            ("cert-d", &s.d),
            ("cert-o", &s.o),
        ],
    );
    // New connections get the new certificate (trusted only through a2's CA).
    let mut last = (0, String::new(), String::new());
    let rotated = poll(Duration::from_secs(15), || {
        last = get(TLS13, &a2, "a.example.com", s.shared, "/after");
        last.1.ends_with("\n200").then_some(())
    });
    assert!(
        rotated.is_some(),
        "{}\n{}",
        describe("after rotation", &last),
        s.gw.logs()
    );
    // The connection opened before keeps its certificate and keeps working.
    for i in 0..3 {
        let (status, _) = old
            .get("a.example.com", &format!("/still/{i}"))
            .unwrap_or_else(|e| panic!("request {i} on the kept connection: {e}\n{}", s.gw.logs()));
        assert_eq!(status, 200);
    }
    assert_eq!(old.leaf(), old_leaf);
    let fresh = Kept::connect(&a2, "a.example.com", s.shared);
    let mut fresh = fresh;
    assert_eq!(fresh.get("a.example.com", "/fresh").expect("fresh").0, 200);
    assert_ne!(fresh.leaf(), old_leaf);
}

/// `shardgate dataplane` on a segment this test publishes to.
struct DataPlane {
    proc: support::procs::Proc,
    admin: std::net::SocketAddr,
    shm: std::path::PathBuf,
    publisher: shardgate_snapshot::Publisher,
}

impl DataPlane {
    /// One shard, plus `extra` flags.
    fn start(env: &Env, extra: &[&str]) -> DataPlane {
        let shm = std::path::PathBuf::from("/dev/shm").join(support::procs::unique("sg-e2e-tls"));
        let publisher = shardgate_snapshot::Publisher::open(&shm).expect("creating the segment");
        let admin = support::procs::loopback(free_port());
        let mut cmd = std::process::Command::new(support::procs::BIN);
        cmd.arg("dataplane")
            .arg("--snapshot")
            .arg(&shm)
            .args(["--admin", &admin.to_string()])
            .args([
                "--bind-ip",
                "127.0.0.1",
                "--shards",
                "1",
                "--drain-timeout",
                "1s",
            ])
            .args(extra);
        let proc = support::procs::Proc::spawn(
            "shardgate dataplane",
            cmd,
            &env.dir().join("dp.log"),
            false,
        );
        DataPlane {
            proc,
            admin,
            shm,
            publisher,
        }
    }

    /// Publish `snapshot` as the next generation.
    fn publish(&mut self, snapshot: &shardgate_ir::Snapshot) {
        let mut s = snapshot.clone();
        s.generation = self.publisher.current_generation() + 1;
        self.publisher
            .publish(&shardgate_ir::encode(&s))
            .expect("publishing the snapshot");
    }

    fn wait_ready(&self) {
        let ok = poll(support::READY_TIMEOUT, || {
            support::http::get_close(self.admin, "/ready")
                .ok()
                .filter(|r| r.status() == 200)
        });
        assert!(
            ok.is_some(),
            "data plane not ready:\n{}",
            self.proc.log_text()
        );
    }

    fn get(&self, path: &str) -> support::Response {
        support::http::get_close(self.admin, path).expect("data plane admin")
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        self.proc.stop(Duration::from_secs(5));
        // The segment and the blobs kept beside it (`NAME.*`).
        let name = self
            .shm
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        if let (Some(name), Ok(entries)) = (name, std::fs::read_dir("/dev/shm")) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n == name || n.starts_with(&format!("{name}.")) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

fn https_listener(
    name: &str,
    port: u16,
    certificates: Vec<shardgate_ir::TlsCertificate>,
) -> shardgate_ir::Listener {
    use shardgate_ir::*;
    Listener {
        name: name.into(),
        address: "127.0.0.1".parse().expect("address"),
        port,
        protocol: Protocol::Https,
        tls: Some(ListenerTls { certificates }),
        virtual_hosts: vec![VirtualHost {
            name: format!("{name}/any"),
            hostnames: Vec::new(),
            routes: vec![Route {
                name: format!("{name}/all"),
                matches: vec![RouteMatch {
                    path: PathMatch::Prefix("/".into()),
                    headers: Vec::new(),
                    query_params: Vec::new(),
                    method: None,
                }],
                filters: Vec::new(),
                action: Action::Forward(vec![WeightedBackend {
                    weight: 1,
                    target: BackendTarget::Cluster(0),
                    filters: Vec::new(),
                }]),
                timeouts: Timeouts::default(),
            }],
        }],
    }
}

fn certificate(name: &str, chain_pem: &str, key_pem: &str) -> shardgate_ir::TlsCertificate {
    shardgate_ir::TlsCertificate {
        name: name.into(),
        server_names: Vec::new(),
        chain_pem: chain_pem.into(),
        key_pem: key_pem.into(),
    }
}

#[test]
fn a_certificate_the_data_plane_cannot_load_is_left_out_and_counted() {
    let env = Env::new();
    let echo = env.echo("echo");
    let dir = env.dir().to_path_buf();
    let good = issue(&dir, "good", &["good.test"]);
    let other = issue(&dir, "other", &["good.test"]);
    let (broken_port, mixed_port, fine_port) = (free_port(), free_port(), free_port());
    let mismatched = certificate("e2e/broken", &good.chain_pem, &other.key_pem);
    let snapshot = shardgate_ir::Snapshot {
        generation: 0,
        listeners: vec![
            https_listener("broken", broken_port, vec![mismatched.clone()]),
            https_listener(
                "mixed",
                mixed_port,
                vec![
                    // PEM, but not a certificate inside.
                    certificate(
                        "e2e/garbage",
                        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                        &good.key_pem,
                    ),
                    certificate("e2e/good", &good.chain_pem, &good.key_pem),
                ],
            ),
            https_listener(
                "fine",
                fine_port,
                vec![certificate("e2e/fine", &good.chain_pem, &good.key_pem)],
            ),
        ],
        clusters: vec![shardgate_ir::Cluster::new(
            "e2e/echo",
            vec![shardgate_ir::Endpoint { addr: echo.addr }],
        )],
    };
    let mut dp = DataPlane::start(&env, &[]);
    dp.publish(&snapshot);
    dp.wait_ready();
    for port in [mixed_port, fine_port] {
        let r = get(TLS13, &good, "good.test", port, "/");
        assert!(
            r.1.ends_with("\n200"),
            "{}\n{}",
            describe("serving listener", &r),
            dp.proc.log_text()
        );
    }
    let r = get(TLS12, &good, "good.test", broken_port, "/");
    assert_eq!(
        r.0,
        35,
        "{}",
        describe("listener without a loadable certificate", &r)
    );

    // The same snapshot again (a new generation): counted once, not again.
    dp.publish(&snapshot);
    let text = poll(Duration::from_secs(10), || {
        let t = dp.get("/metrics").text();
        t.contains("shardgate_snapshot_generation{shard=\"0\"} 2")
            .then_some(t)
    })
    .expect("the second generation adopted");
    let m = support::Metrics::parse(&text);
    for name in ["e2e/broken", "e2e/garbage"] {
        let key = format!("shardgate_tls_certificates_refused_total{{certificate=\"{name}\"}}");
        assert_eq!(m.get(&key), 1.0, "{key}\n{text}");
    }
    assert!(!text.contains("certificate=\"e2e/good\""), "{text}");
    let log = dp.proc.log_text();
    assert!(
        log.contains("e2e/broken") && log.contains("certificate refused"),
        "{log}"
    );
    // The dump shows certificates, never their keys.
    let dump = dp.get("/config_dump").text();
    assert!(
        dump.contains("e2e/broken") && !dump.contains("PRIVATE KEY"),
        "{dump}"
    );
}

#[test]
fn a_client_that_never_finishes_its_handshake_is_closed_at_the_timeout() {
    use std::io::{Read, Write};
    let env = Env::new();
    let echo = env.echo("echo");
    let good = issue(env.dir(), "good", &["good.test"]);
    let port = free_port();
    let snapshot = shardgate_ir::Snapshot {
        generation: 0,
        listeners: vec![https_listener(
            "slow",
            port,
            vec![certificate("e2e/good", &good.chain_pem, &good.key_pem)],
        )],
        clusters: vec![shardgate_ir::Cluster::new(
            "e2e/echo",
            vec![shardgate_ir::Endpoint { addr: echo.addr }],
        )],
    };
    let mut dp = DataPlane::start(&env, &["--tls-handshake-timeout", "300ms"]);
    dp.publish(&snapshot);
    dp.wait_ready();
    // One client sends nothing, one sends the start of a TLS record and
    // stalls. Both are closed by the data plane long before the 5 s this
    // side waits (a read that times out here is an error, not a 0).
    let silent = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .expect("partial hello");
    for (what, mut s) in [("silent", silent), ("stalled", stalled)] {
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        let mut buf = [0u8; 64];
        let r = s.read(&mut buf);
        assert!(
            matches!(r, Ok(0))
                || r.as_ref()
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
            "{what}: expected a close, got {r:?}\n{}",
            dp.proc.log_text()
        );
    }
    // The listener still serves real clients.
    let r = get(TLS13, &good, "good.test", port, "/");
    assert!(
        r.1.ends_with("\n200"),
        "{}",
        describe("after the timeouts", &r)
    );
    let m = support::Metrics::parse(&dp.get("/metrics").text());
    let failed = sum(
        &m,
        "shardgate_tls_handshakes_total{",
        &["listener=\"slow\"", "result=\"failed\""],
    );
    let done = sum(
        &m,
        "shardgate_tls_handshakes_total{",
        &["listener=\"slow\"", "result=\"completed\""],
    );
    assert_eq!((failed, done), (2.0, 1.0), "{}", m.text);
}

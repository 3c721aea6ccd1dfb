//! Equivalent configurations for the three proxies, and how each is started.
//!
//! All three: one listener on 127.0.0.1:PORT, every request to one backend
//! (127.0.0.1:BACKEND) over kept-alive HTTP/1.1 upstream connections, one
//! worker/thread/shard per proxy CPU, each pinned to its CPU (and the whole
//! process under `taskset` on the proxy CPUs), no access log, and no limit
//! on requests per client or upstream connection.

use super::scenario::{
    ADD_HEADER, ADD_VALUE, Listener, REMOVE_HEADER, SET_HEADER, SET_VALUE, Scenario,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The proxies `compare` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proxy {
    Shardgate,
    Nginx,
    Haproxy,
}

impl Proxy {
    pub fn name(self) -> &'static str {
        match self {
            Proxy::Shardgate => "shardgate",
            Proxy::Nginx => "nginx",
            Proxy::Haproxy => "haproxy",
        }
    }

    /// The Debian package that provides the binary.
    pub fn package(self) -> &'static str {
        match self {
            Proxy::Shardgate => "(built from this repository)",
            Proxy::Nginx => "nginx",
            Proxy::Haproxy => "haproxy",
        }
    }
}

/// Everything a proxy's configuration depends on.
#[derive(Debug, Clone)]
pub struct Setup {
    pub port: u16,
    pub backend_port: u16,
    /// shardgate's admin endpoint.
    pub admin_port: u16,
    pub cpus: Vec<usize>,
    /// Directory for this proxy's configuration, pid and temp files.
    pub dir: PathBuf,
    pub run_as_root: bool,
    pub scenario: Scenario,
    /// The certificate and key (HTTPS scenarios).
    pub tls: Option<TlsFiles>,
}

/// The lab's self-signed certificate, as files and as PEM text.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Certificate then key, one file (haproxy's `crt`).
    pub combined: PathBuf,
    pub cert_pem: String,
    pub key_pem: String,
}

/// Write `proxy`'s configuration under `setup.dir`; return the program's
/// arguments (the program itself is resolved by the caller).
pub fn prepare(proxy: Proxy, setup: &Setup, tag: &str) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(&setup.dir)?;
    let d = setup.dir.display().to_string();
    let cpus = cpu_list(&setup.cpus);
    match proxy {
        Proxy::Shardgate => {
            let cfg = setup.dir.join("config");
            std::fs::create_dir_all(&cfg)?;
            std::fs::write(cfg.join("lab.yaml"), shardgate_yaml(setup))?;
            Ok(vec![
                "up".into(),
                "--config".into(),
                cfg.display().to_string(),
                "--admin".into(),
                format!("127.0.0.1:{}", setup.admin_port),
                "--snapshot".into(),
                shm_path(tag).display().to_string(),
                "--bind-ip".into(),
                "127.0.0.1".into(),
                "--shards".into(),
                setup.cpus.len().to_string(),
                "--cpus".into(),
                cpus,
                "--drain-timeout".into(),
                "2s".into(),
            ])
        }
        Proxy::Nginx => {
            std::fs::create_dir_all(setup.dir.join("tmp"))?;
            let conf = setup.dir.join("nginx.conf");
            std::fs::write(&conf, nginx_conf(setup))?;
            Ok(vec![
                "-p".into(),
                format!("{d}/"),
                "-e".into(),
                format!("{d}/error.log"),
                "-c".into(),
                conf.display().to_string(),
                "-g".into(),
                "daemon off;".into(),
            ])
        }
        Proxy::Haproxy => {
            if setup.scenario.routes() > 1 {
                std::fs::write(setup.dir.join("routes.map"), haproxy_route_map(setup))?;
            }
            let conf = setup.dir.join("haproxy.cfg");
            std::fs::write(&conf, haproxy_cfg(setup))?;
            Ok(vec!["-f".into(), conf.display().to_string(), "-db".into()])
        }
    }
}

/// The shared-memory segment for one shardgate run.
pub fn shm_path(tag: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("shardgate-lab-{}-{tag}", std::process::id()))
}

pub fn cpu_list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Gateway API objects: one Gateway listener (HTTP, or HTTPS with the
/// lab certificate in a `kubernetes.io/tls` Secret), a Service and its
/// EndpointSlice for the backend, and the routes: one HTTPRoute sending
/// every path to the backend, or one HTTPRoute per path prefix in the
/// route-table scenarios, or a GRPCRoute (with an h2c Service port).
pub fn shardgate_yaml(s: &Setup) -> String {
    let sc = s.scenario;
    let mut y = String::from(
        "# Generated by shardgate-lab compare.
apiVersion: v1
kind: Namespace
metadata: {name: lab}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: shardgate-lab}
spec: {controllerName: shardgate.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: lab, namespace: lab}
spec:
  gatewayClassName: shardgate-lab
  listeners:
",
    );
    match (sc.listener(), &s.tls) {
        (Listener::Https, Some(_)) => {
            let _ = writeln!(
                y,
                "  - name: https
    port: {}
    protocol: HTTPS
    tls:
      mode: Terminate
      certificateRefs: [{{name: lab-tls}}]",
                s.port
            );
        }
        _ => {
            let _ = writeln!(y, "  - {{name: http, port: {}, protocol: HTTP}}", s.port);
        }
    }
    if let (Listener::Https, Some(t)) = (sc.listener(), &s.tls) {
        let _ = write!(
            y,
            "---
apiVersion: v1
kind: Secret
metadata: {{name: lab-tls, namespace: lab}}
type: kubernetes.io/tls
data:
  tls.crt: {}
  tls.key: {}
",
            base64(t.cert_pem.as_bytes()),
            base64(t.key_pem.as_bytes())
        );
    }
    let app_protocol = if sc.grpc() {
        ", appProtocol: kubernetes.io/h2c"
    } else {
        ""
    };
    let _ = write!(
        y,
        "---
apiVersion: v1
kind: Service
metadata: {{name: backend, namespace: lab}}
spec:
  ports: [{{name: http, port: 80{app_protocol}}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-1
  namespace: lab
  labels: {{kubernetes.io/service-name: backend}}
addressType: IPv4
ports: [{{name: http, port: {backend}{app_protocol}}}]
endpoints: [{{addresses: [127.0.0.1]}}]
",
        backend = s.backend_port
    );
    if sc.grpc() {
        y.push_str(
            "---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc, namespace: lab}
spec:
  parentRefs: [{name: lab}]
  rules:
  - backendRefs: [{name: backend, port: 80}]
",
        );
    } else if sc.routes() > 1 {
        for i in 0..sc.routes() {
            let prefix = Scenario::route_prefix(i);
            let _ = write!(
                y,
                "---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r{i:05}, namespace: lab}}
spec:
  parentRefs: [{{name: lab}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: {}}}}}]
    backendRefs: [{{name: backend, port: 80}}]
",
                prefix.trim_end_matches('/')
            );
        }
    } else {
        y.push_str(
            "---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: all, namespace: lab}
spec:
  parentRefs: [{name: lab}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
",
        );
        if sc.header_filter() {
            let _ = write!(
                y,
                "    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{{name: {SET_HEADER}, value: {SET_VALUE}}}]
        add: [{{name: {ADD_HEADER}, value: {ADD_VALUE}}}]
        remove: [{REMOVE_HEADER}]
"
            );
        }
        y.push_str("    backendRefs: [{name: backend, port: 80}]\n");
    }
    y
}

/// Standard base64 with padding (Secret data).
pub fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// nginx: one worker per proxy CPU with `worker_cpu_affinity`, upstream
/// keep-alive (HTTP/1.1, `Connection` cleared), the client's Host passed
/// on; the scenario adds TLS, HTTP/2, gRPC (`grpc_pass`), in-memory body
/// buffers, prefix `location`s (nginx keeps them in a tree) or header
/// changes (`proxy_set_header`).
pub fn nginx_conf(s: &Setup) -> String {
    let sc = s.scenario;
    let d = s.dir.display();
    let masks: Vec<String> = s.cpus.iter().map(|&c| cpu_mask(c)).collect();
    let mut c = String::new();
    let _ = writeln!(c, "# Generated by shardgate-lab compare.");
    if s.run_as_root {
        // Workers would otherwise run as nobody, outside the 0700 run dir.
        let _ = writeln!(c, "user root;");
    }
    let _ = write!(
        c,
        "worker_processes {workers};
worker_cpu_affinity {masks};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
    worker_connections 16384;
}}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/client_body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
",
        workers = s.cpus.len(),
        masks = masks.join(" "),
    );
    if sc.request_body() > 0 && !sc.grpc() {
        // Bodies stay in memory (no temp files) both ways.
        c.push_str(
            "    client_body_buffer_size 128k;
    proxy_buffer_size 16k;
    proxy_buffers 8 16k;
    proxy_busy_buffers_size 32k;
",
        );
    }
    let _ = write!(
        c,
        "    upstream backend {{
        server 127.0.0.1:{backend};
        keepalive 1024;
        keepalive_requests 1000000;
    }}
    server {{
",
        backend = s.backend_port
    );
    let listen_opts = match sc.listener() {
        Listener::Http => "",
        Listener::Https => " ssl",
        Listener::H2c => " http2",
    };
    let _ = writeln!(
        c,
        "        listen 127.0.0.1:{}{listen_opts} reuseport;",
        s.port
    );
    if let (Listener::Https, Some(t)) = (sc.listener(), &s.tls) {
        let _ = write!(
            c,
            "        ssl_certificate {};
        ssl_certificate_key {};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:lab:10m;
        ssl_session_timeout 1h;
        ssl_session_tickets on;
",
            t.cert.display(),
            t.key.display()
        );
    }
    if sc.grpc() {
        c.push_str(
            "        location / {
            grpc_pass grpc://backend;
        }
    }
}
",
        );
        return c;
    }
    c.push_str(
        "        proxy_http_version 1.1;
        proxy_set_header Connection \"\";
        proxy_set_header Host $http_host;
",
    );
    if sc.header_filter() {
        // nginx has no "append": proxy_set_header stands for both set and
        // add (the client never sends the added header).
        let _ = write!(
            c,
            "        proxy_set_header {SET_HEADER} {SET_VALUE};
        proxy_set_header {ADD_HEADER} {ADD_VALUE};
        proxy_set_header {REMOVE_HEADER} \"\";
"
        );
    }
    if sc.routes() > 1 {
        for i in 0..sc.routes() {
            let _ = writeln!(
                c,
                "        location {} {{ proxy_pass http://backend; }}",
                Scenario::route_prefix(i)
            );
        }
    } else {
        c.push_str(
            "        location / {
            proxy_pass http://backend;
        }
",
        );
    }
    c.push_str("    }\n}\n");
    c
}

/// haproxy: one thread per proxy CPU pinned with `cpu-map`, upstream
/// connections reused across requests (`http-reuse always`); the scenario
/// adds TLS (`ssl crt`), HTTP/2 (`proto h2`, and to the backend for gRPC),
/// `http-request set-header/add-header/del-header`, or the route table as
/// a map keyed by the first path segment (`map_str`, a balanced tree;
/// `map_beg` would scan a list).
pub fn haproxy_cfg(s: &Setup) -> String {
    let sc = s.scenario;
    let mut c = String::from("# Generated by shardgate-lab compare.\nglobal\n");
    let _ = writeln!(c, "    nbthread {}", s.cpus.len());
    for (i, cpu) in s.cpus.iter().enumerate() {
        let _ = writeln!(c, "    cpu-map 1/{} {cpu}", i + 1);
    }
    if sc.listener() == Listener::Https {
        c.push_str("    ssl-default-bind-options ssl-min-ver TLSv1.2\n");
    }
    c.push_str(
        "    maxconn 4096
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
frontend lab
",
    );
    let bind_opts = match (sc.listener(), &s.tls) {
        (Listener::Https, Some(t)) => format!(" ssl crt {} alpn http/1.1", t.combined.display()),
        (Listener::H2c, _) => " proto h2".to_string(),
        _ => String::new(),
    };
    let _ = writeln!(c, "    bind 127.0.0.1:{}{bind_opts}", s.port);
    if sc.header_filter() {
        let _ = write!(
            c,
            "    http-request set-header {SET_HEADER} {SET_VALUE}
    http-request add-header {ADD_HEADER} {ADD_VALUE}
    http-request del-header {REMOVE_HEADER}
"
        );
    }
    if sc.routes() > 1 {
        let _ = writeln!(
            c,
            "    use_backend %[path,field(2,/),map_str({}/routes.map)]",
            s.dir.display()
        );
    } else {
        c.push_str("    default_backend backend\n");
    }
    let proto = if sc.grpc() { " proto h2" } else { "" };
    let _ = writeln!(
        c,
        "backend backend\n    server b1 127.0.0.1:{}{proto}",
        s.backend_port
    );
    c
}

/// The haproxy route map: the first path segment of each route prefix to
/// the backend's name.
pub fn haproxy_route_map(s: &Setup) -> String {
    let mut m =
        String::from("# Generated by shardgate-lab compare: first path segment -> backend\n");
    for i in 0..s.scenario.routes() {
        let prefix = Scenario::route_prefix(i);
        let _ = writeln!(m, "{} backend", prefix.trim_matches('/'));
    }
    m
}

/// nginx's `worker_cpu_affinity` mask for one CPU: a binary string with
/// only that CPU's bit set.
fn cpu_mask(cpu: usize) -> String {
    let mut m = "0".repeat(cpu + 1);
    m.replace_range(0..1, "1");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup {
        Setup {
            port: 18080,
            backend_port: 18090,
            admin_port: 18091,
            cpus: vec![0, 2],
            dir: PathBuf::from("/tmp/x"),
            run_as_root: true,
            scenario: Scenario::SmallGetKeepalive,
            tls: None,
        }
    }

    fn with(scenario: Scenario) -> Setup {
        Setup {
            scenario,
            tls: Some(TlsFiles {
                cert: PathBuf::from("/tmp/x/cert.pem"),
                key: PathBuf::from("/tmp/x/key.pem"),
                combined: PathBuf::from("/tmp/x/combined.pem"),
                cert_pem: "CERT".into(),
                key_pem: "KEY".into(),
            }),
            ..setup()
        }
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn route_tables_hold_every_route_in_each_proxy() {
        let s = with(Scenario::Routes10k);
        let n = nginx_conf(&s);
        assert_eq!(n.matches("location /r").count(), 10_000);
        assert!(n.contains("location /r09999/ { proxy_pass http://backend; }"));
        assert!(!n.contains("location / "), "no catch-all");
        let h = haproxy_cfg(&s);
        assert!(h.contains("use_backend %[path,field(2,/),map_str(/tmp/x/routes.map)]"));
        assert!(!h.contains("default_backend"));
        let m = haproxy_route_map(&s);
        assert_eq!(m.lines().count(), 10_001);
        assert!(m.ends_with("r09999 backend\n"));
        let y = shardgate_yaml(&s);
        assert_eq!(y.matches("kind: HTTPRoute").count(), 10_000);
        assert!(y.contains("value: /r09999}"));
    }

    #[test]
    fn header_filter_in_each_proxy() {
        let s = with(Scenario::HeaderFilter);
        let n = nginx_conf(&s);
        assert!(n.contains("proxy_set_header X-Lab-Set set;"));
        assert!(n.contains("proxy_set_header X-Lab-Remove \"\";"));
        let h = haproxy_cfg(&s);
        for l in [
            "http-request set-header X-Lab-Set set",
            "http-request add-header X-Lab-Add added",
            "http-request del-header X-Lab-Remove",
        ] {
            assert!(h.contains(l), "{l}");
        }
        let y = shardgate_yaml(&s);
        assert!(y.contains("type: RequestHeaderModifier"));
        assert!(y.contains("remove: [X-Lab-Remove]"));
    }

    #[test]
    fn tls_and_h2_listeners() {
        let s = with(Scenario::Https);
        assert!(nginx_conf(&s).contains("ssl reuseport;"));
        assert!(nginx_conf(&s).contains("ssl_certificate /tmp/x/cert.pem;"));
        assert!(haproxy_cfg(&s).contains("ssl crt /tmp/x/combined.pem alpn http/1.1"));
        let y = shardgate_yaml(&s);
        assert!(y.contains("protocol: HTTPS"));
        assert!(y.contains("tls.crt: Q0VSVA=="));
        let s = with(Scenario::GrpcUnary);
        assert!(nginx_conf(&s).contains("http2 reuseport;"));
        assert!(nginx_conf(&s).contains("grpc_pass grpc://backend;"));
        let h = haproxy_cfg(&s);
        assert!(h.contains("proto h2\n") && h.contains("server b1 127.0.0.1:18090 proto h2"));
        assert!(shardgate_yaml(&s).contains("kind: GRPCRoute"));
        let h = haproxy_cfg(&with(Scenario::Http2));
        assert!(h.contains("server b1 127.0.0.1:18090\n"), "{h}");
    }

    #[test]
    fn masks() {
        assert_eq!(cpu_mask(0), "1");
        assert_eq!(cpu_mask(1), "10");
        assert_eq!(cpu_mask(3), "1000");
    }

    #[test]
    fn nginx_config_pins_each_worker_and_keeps_upstreams_alive() {
        let c = nginx_conf(&setup());
        for line in [
            "worker_processes 2;",
            "worker_cpu_affinity 1 100;",
            "server 127.0.0.1:18090;",
            "keepalive 1024;",
            "listen 127.0.0.1:18080 reuseport;",
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
            "pid /tmp/x/nginx.pid;",
            "user root;",
        ] {
            assert!(c.contains(line), "missing {line:?} in\n{c}");
        }
    }

    #[test]
    fn haproxy_config_pins_each_thread_and_reuses_connections() {
        let c = haproxy_cfg(&setup());
        for line in [
            "nbthread 2",
            "cpu-map 1/1 0",
            "cpu-map 1/2 2",
            "http-reuse always",
            "bind 127.0.0.1:18080",
            "server b1 127.0.0.1:18090",
        ] {
            assert!(c.contains(line), "missing {line:?} in\n{c}");
        }
    }

    #[test]
    fn shardgate_objects_route_everything_to_the_backend() {
        let y = shardgate_yaml(&setup());
        assert!(y.contains("port: 18080, protocol: HTTP"));
        assert!(y.contains("ports: [{name: http, port: 18090}]"));
        assert_eq!(y.matches("\n---\n").count(), 5);
    }
}

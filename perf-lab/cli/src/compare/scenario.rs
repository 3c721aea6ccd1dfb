//! The scenarios `compare` can run, and everything each one sets: the
//! request, the backend's answer and checks, the listener, the route table.

use super::peers::Proxy;
use shardgate_loadgen::fixed::Expect;

/// A load shape, run identically against every proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Small GETs (13-byte body) on kept-alive client connections,
    /// closed loop: the plain request-forwarding cost.
    SmallGetKeepalive,
    /// Small GETs, a new client connection per request (`Connection:
    /// close`), closed loop: accept and connection set-up cost; upstream
    /// connections stay kept-alive.
    NewConnection,
    /// POST with a 1 KiB body, answered with a 1 KiB body, keep-alive.
    #[value(name = "body-1k")]
    #[serde(rename = "body-1k")]
    Body1k,
    /// POST with a 64 KiB body, answered with a 64 KiB body, keep-alive.
    #[value(name = "body-64k")]
    #[serde(rename = "body-64k")]
    Body64k,
    /// 1,000 path-prefix routes; every request matches the last one.
    #[value(name = "routes-1k")]
    #[serde(rename = "routes-1k")]
    Routes1k,
    /// 10,000 path-prefix routes; every request matches the last one.
    #[value(name = "routes-10k")]
    #[serde(rename = "routes-10k")]
    Routes10k,
    /// A request-header modifier on every request: set one header, add
    /// one, remove one (the backend checks what arrived).
    HeaderFilter,
    /// TLS terminated at the proxy, a new connection (and full handshake)
    /// per request.
    Https,
    /// TLS terminated at the proxy, a new connection per request, resuming
    /// the previous session (TLS 1.3 tickets).
    HttpsResumption,
    /// HTTP/2 over clear text (prior knowledge), 16 multiplexed streams on
    /// each of 4 connections; HTTP/1.1 to the backend.
    Http2,
    /// gRPC unary calls (128-byte messages) over h2c, 16 streams on each
    /// of 4 connections; HTTP/2 to the backend too.
    GrpcUnary,
}

/// How the proxy listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Http,
    Https,
    /// HTTP/2 over clear text, prior knowledge.
    H2c,
}

/// Header names of the header-filter scenario.
pub const SET_HEADER: &str = "X-Lab-Set";
pub const ADD_HEADER: &str = "X-Lab-Add";
pub const REMOVE_HEADER: &str = "X-Lab-Remove";
/// Values the proxy must set / add.
pub const SET_VALUE: &str = "set";
pub const ADD_VALUE: &str = "added";

/// The gRPC method the grpc-unary scenario calls.
pub const GRPC_PATH: &str = "/lab.Fixed/Unary";

/// Streams per HTTP/2 connection.
const H2_STREAMS: usize = 16;

impl Scenario {
    #[cfg(test)]
    pub const ALL: [Scenario; 11] = [
        Scenario::SmallGetKeepalive,
        Scenario::NewConnection,
        Scenario::Body1k,
        Scenario::Body64k,
        Scenario::Routes1k,
        Scenario::Routes10k,
        Scenario::HeaderFilter,
        Scenario::Https,
        Scenario::HttpsResumption,
        Scenario::Http2,
        Scenario::GrpcUnary,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::SmallGetKeepalive => "small-get-keepalive",
            Scenario::NewConnection => "new-connection",
            Scenario::Body1k => "body-1k",
            Scenario::Body64k => "body-64k",
            Scenario::Routes1k => "routes-1k",
            Scenario::Routes10k => "routes-10k",
            Scenario::HeaderFilter => "header-filter",
            Scenario::Https => "https",
            Scenario::HttpsResumption => "https-resumption",
            Scenario::Http2 => "http2",
            Scenario::GrpcUnary => "grpc-unary",
        }
    }

    /// Client connections (default; `--connections` overrides).
    pub fn connections(self) -> usize {
        match self {
            Scenario::NewConnection | Scenario::Https | Scenario::HttpsResumption => 16,
            Scenario::Http2 | Scenario::GrpcUnary => 4,
            _ => 32,
        }
    }

    /// Concurrent streams per connection (HTTP/2), 1 otherwise.
    pub fn streams(self) -> usize {
        match self.listener() {
            Listener::H2c => H2_STREAMS,
            _ => 1,
        }
    }

    pub fn new_conn(self) -> bool {
        matches!(
            self,
            Scenario::NewConnection | Scenario::Https | Scenario::HttpsResumption
        )
    }

    pub fn listener(self) -> Listener {
        match self {
            Scenario::Https | Scenario::HttpsResumption => Listener::Https,
            Scenario::Http2 | Scenario::GrpcUnary => Listener::H2c,
            _ => Listener::Http,
        }
    }

    pub fn grpc(self) -> bool {
        self == Scenario::GrpcUnary
    }

    /// Whether the client offers to resume TLS sessions.
    pub fn tls_resumption(self) -> bool {
        self == Scenario::HttpsResumption
    }

    /// Routes in the table (1: a single catch-all `/`).
    pub fn routes(self) -> usize {
        match self {
            Scenario::Routes1k => 1_000,
            Scenario::Routes10k => 10_000,
            _ => 1,
        }
    }

    /// The path prefix of route `i` of a route-table scenario.
    pub fn route_prefix(i: usize) -> String {
        format!("/r{i:05}/")
    }

    /// The request path: the last route of the table, the gRPC method, or `/`.
    pub fn path(self) -> String {
        if self.routes() > 1 {
            format!("{}item", Self::route_prefix(self.routes() - 1))
        } else if self.grpc() {
            GRPC_PATH.to_string()
        } else {
            "/".to_string()
        }
    }

    /// A path outside the route table (route-table scenarios only): a
    /// proxy must not answer it 2xx.
    pub fn unrouted_path(self) -> Option<String> {
        (self.routes() > 1).then(|| format!("{}item", Self::route_prefix(self.routes())))
    }

    pub fn header_filter(self) -> bool {
        self == Scenario::HeaderFilter
    }

    /// Request body bytes (a gRPC message's size over gRPC).
    pub fn request_body(self) -> usize {
        match self {
            Scenario::Body1k => 1024,
            Scenario::Body64k => 65536,
            Scenario::GrpcUnary => 128,
            _ => 0,
        }
    }

    /// The backend's response body (a gRPC message's size over gRPC).
    pub fn response_body(self) -> usize {
        match self {
            Scenario::Body1k => 1024,
            Scenario::Body64k => 65536,
            Scenario::GrpcUnary => 128,
            _ => shardgate_loadgen::fixed::DEFAULT_BODY,
        }
    }

    /// The body size a client must receive (gRPC: the message and its
    /// 5-byte prefix).
    pub fn expect_body(self) -> u64 {
        let n = self.response_body() as u64;
        if self.grpc() { n + 5 } else { n }
    }

    /// Headers the client sends.
    pub fn client_headers(self) -> Vec<(String, String)> {
        if self.header_filter() {
            vec![
                (SET_HEADER.into(), "original".into()),
                (REMOVE_HEADER.into(), "1".into()),
            ]
        } else {
            Vec::new()
        }
    }

    /// Headers as the backend should see them after the proxy (what the
    /// direct baseline run sends).
    pub fn forwarded_headers(self) -> Vec<(String, String)> {
        if self.header_filter() {
            vec![
                (SET_HEADER.into(), SET_VALUE.into()),
                (ADD_HEADER.into(), ADD_VALUE.into()),
            ]
        } else {
            Vec::new()
        }
    }

    /// What the backend checks on every request (it answers 400, or
    /// grpc-status 3, otherwise).
    pub fn backend_expect(self) -> Expect {
        let mut e = Expect::default();
        if self.header_filter() {
            e.present = vec![
                (SET_HEADER.to_ascii_lowercase(), SET_VALUE.into()),
                (ADD_HEADER.to_ascii_lowercase(), ADD_VALUE.into()),
            ];
            e.absent = vec![REMOVE_HEADER.to_ascii_lowercase()];
        }
        if !self.grpc() && self.request_body() > 0 {
            // The body arrives whole and length-delimited.
            e.present
                .push(("content-length".into(), self.request_body().to_string()));
        }
        e
    }

    /// A proxy that may not speak this scenario's protocol yet: its failure
    /// to start or to answer the readiness probe reads "not yet supported"
    /// rather than a failed run.
    pub fn may_be_unsupported(self, proxy: Proxy) -> bool {
        proxy == Proxy::Shardgate && self.listener() != Listener::Http
    }

    /// How long a proxy may take to load the configuration and answer.
    pub fn ready_timeout(self) -> std::time::Duration {
        std::time::Duration::from_secs(match self.routes() {
            r if r >= 10_000 => 120,
            r if r >= 1_000 => 60,
            _ => 20,
        })
    }

    /// One line for the header of the output.
    pub fn describe(self) -> String {
        let mut parts = vec![match self.listener() {
            Listener::Http => "HTTP/1.1".to_string(),
            Listener::Https => format!(
                "HTTP/1.1 over TLS ({})",
                if self.tls_resumption() {
                    "session resumption"
                } else {
                    "full handshake every time"
                }
            ),
            Listener::H2c => format!(
                "{} over h2c, {} streams per connection",
                if self.grpc() { "gRPC unary" } else { "HTTP/2" },
                self.streams()
            ),
        }];
        parts.push(if self.new_conn() {
            "a new connection per request".into()
        } else {
            "keep-alive".into()
        });
        if self.request_body() > 0 {
            parts.push(format!(
                "{}-byte request and {}-byte response bodies",
                self.request_body(),
                self.response_body()
            ));
        }
        if self.routes() > 1 {
            parts.push(format!(
                "{} routes, the request matches the last",
                self.routes()
            ));
        }
        if self.header_filter() {
            parts.push("request headers set/added/removed by the proxy".into());
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_clap() {
        use clap::ValueEnum;
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_str(s.name(), false), Ok(s), "{}", s.name());
            let json = serde_json::to_string(&s).expect("json");
            assert_eq!(json, format!("\"{}\"", s.name()));
        }
    }

    #[test]
    fn route_scenarios_target_the_last_route() {
        assert_eq!(Scenario::Routes10k.path(), "/r09999/item");
        assert_eq!(
            Scenario::Routes10k.unrouted_path().as_deref(),
            Some("/r10000/item")
        );
        assert_eq!(Scenario::Routes1k.path(), "/r00999/item");
        assert_eq!(Scenario::SmallGetKeepalive.unrouted_path(), None);
    }

    #[test]
    fn checks_follow_the_scenario() {
        let e = Scenario::HeaderFilter.backend_expect();
        assert_eq!(e.absent, vec!["x-lab-remove".to_string()]);
        assert_eq!(e.present.len(), 2);
        let e = Scenario::Body64k.backend_expect();
        assert_eq!(
            e.present,
            vec![("content-length".to_string(), "65536".to_string())]
        );
        assert_eq!(Scenario::GrpcUnary.expect_body(), 133);
        assert!(Scenario::Http2.may_be_unsupported(Proxy::Shardgate));
        assert!(!Scenario::Http2.may_be_unsupported(Proxy::Nginx));
        assert!(!Scenario::Body1k.may_be_unsupported(Proxy::Shardgate));
    }
}

//! What a bench run does: target, load shape, bounds, placement.

use shardgate_runtime::{DriverChoice, ShardPlan};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("--url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error(
        "--url {url:?} resolves to {addr}, which is not a loopback address (the lab targets loopback only)"
    )]
    NotLoopback { url: String, addr: IpAddr },
    #[error("--connections {connections} must be at least the number of shards ({shards})")]
    Connections { connections: usize, shards: usize },
    #[error("--rate {0} must be a positive number of requests per second")]
    Rate(f64),
    #[error("--duration must be longer than zero")]
    Duration,
    #[error("a new connection per request is only supported over HTTP/1.1")]
    NewConnH2,
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    pub addr: SocketAddr,
    /// The `Host` header (the URL's authority unless overridden).
    pub host: String,
    /// The request-target (path and query).
    pub path: String,
}

impl Target {
    /// Parse `http[s]://HOST[:PORT][/path]` (the scheme only sets the
    /// default port; [`Protocol`] says what is spoken); the host must resolve to a
    /// loopback address.
    pub fn parse(url: &str) -> Result<Target, ConfigError> {
        let err = |reason: &str| ConfigError::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let (rest, default_port) = match url.strip_prefix("http://") {
            Some(rest) => (rest, 80),
            None => (
                url.strip_prefix("https://")
                    .ok_or_else(|| err("only http:// and https:// URLs are supported"))?,
                443,
            ),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(err("missing or unsupported authority"));
        }
        let with_port = if authority.ends_with(']') || !authority.contains(':') {
            format!("{authority}:{default_port}")
        } else {
            authority.to_string()
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| err(&format!("cannot resolve {authority}: {e}")))?
            .next()
            .ok_or_else(|| err(&format!("{authority} resolves to nothing")))?;
        if !addr.ip().is_loopback() {
            return Err(ConfigError::NotLoopback {
                url: url.to_string(),
                addr: addr.ip(),
            });
        }
        if path
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(err("the path contains whitespace or control characters"));
        }
        Ok(Target {
            url: url.to_string(),
            addr,
            host: authority.to_string(),
            path,
        })
    }
}

/// How each connection paces its requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Send the next request as soon as the previous response is read.
    Closed,
    /// A constant total rate (requests per second) spread evenly over the
    /// connections; latency counts from each request's scheduled send time.
    Open { rate: f64 },
}

/// What each request carries besides its request line and `Host`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestSpec {
    /// Request body size: `POST` with this many bytes, or `GET` when 0.
    /// Over gRPC, the size of the one length-prefixed message.
    pub body: usize,
    /// Extra request headers, sent as given.
    pub headers: Vec<(String, String)>,
}

/// TLS client settings (HTTP/1.1 over TLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsClient {
    /// SNI and the name the certificate must carry.
    pub server_name: String,
    /// Trusted certificates (DER): the lab's self-signed certificate.
    pub roots_der: Vec<Vec<u8>>,
    /// Offer to resume earlier sessions (TLS 1.3 tickets / TLS 1.2 ids).
    pub resumption: bool,
}

/// The protocol spoken to the target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Protocol {
    /// HTTP/1.1 in clear text.
    #[default]
    Http1,
    /// HTTP/1.1 over TLS (rustls, ring provider).
    Https(TlsClient),
    /// HTTP/2 over clear text with prior knowledge (h2c): each connection
    /// carries `streams` concurrent request loops.
    H2c { streams: usize },
    /// gRPC unary calls over h2c: `POST` with `content-type:
    /// application/grpc`, one length-prefixed message, and the answer
    /// judged by its `grpc-status` trailer.
    Grpc { streams: usize },
}

impl Protocol {
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::Http1 => "http/1.1",
            Protocol::Https(_) => "http/1.1+tls",
            Protocol::H2c { .. } => "h2c",
            Protocol::Grpc { .. } => "grpc",
        }
    }

    /// Concurrent request loops per connection.
    pub fn streams(&self) -> usize {
        match self {
            Protocol::H2c { streams } | Protocol::Grpc { streams } => (*streams).max(1),
            _ => 1,
        }
    }
}

/// A complete bench run description.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub target: Target,
    pub connections: usize,
    pub duration: Duration,
    pub warmup: Duration,
    /// Stop after this many measured requests (over all shards).
    pub requests: Option<u64>,
    pub pace: Pace,
    /// Open a new connection for every request (`Connection: close`).
    pub new_conn: bool,
    /// One generator shard per entry.
    pub plan: ShardPlan,
    pub driver: DriverChoice,
    /// Longest wait for one response (connect included).
    pub timeout: Duration,
    /// Body and extra headers of every request.
    pub request: RequestSpec,
    pub protocol: Protocol,
    /// A response whose body is not exactly this many bytes is an error
    /// (`body`), so a scenario cannot pass on the wrong answer.
    pub expect_body: Option<u64>,
}

impl BenchConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.connections < self.plan.len().max(1) {
            return Err(ConfigError::Connections {
                connections: self.connections,
                shards: self.plan.len(),
            });
        }
        if let Pace::Open { rate } = self.pace
            && (!rate.is_finite() || rate <= 0.0)
        {
            return Err(ConfigError::Rate(rate));
        }
        if self.duration.is_zero() {
            return Err(ConfigError::Duration);
        }
        if self.new_conn && !matches!(self.protocol, Protocol::Http1 | Protocol::Https(_)) {
            return Err(ConfigError::NewConnH2);
        }
        Ok(())
    }

    /// Connections of shard `i`: an even split, the remainder to the first.
    pub fn shard_connections(&self, i: usize) -> usize {
        let n = self.plan.len().max(1);
        self.connections / n + usize::from(i < self.connections % n)
    }

    /// Measured-request budget of shard `i`.
    pub fn shard_requests(&self, i: usize) -> Option<u64> {
        let n = self.plan.len().max(1) as u64;
        self.requests.map(|r| r / n + u64::from((i as u64) < r % n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = Target::parse("http://127.0.0.1:8080/a/b?c=d").expect("valid");
        assert_eq!(t.addr, "127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(t.host, "127.0.0.1:8080");
        assert_eq!(t.path, "/a/b?c=d");
        let t = Target::parse("http://localhost:9").expect("valid");
        assert!(t.addr.ip().is_loopback());
        assert_eq!(t.path, "/");
        let t = Target::parse("http://[::1]:81?x").expect("valid");
        assert_eq!(t.addr.port(), 81);
        assert_eq!(t.path, "/?x");
        assert_eq!(
            Target::parse("http://127.0.0.1")
                .expect("valid")
                .addr
                .port(),
            80
        );
        assert!(matches!(
            Target::parse("http://10.1.2.3:80/"),
            Err(ConfigError::NotLoopback { .. })
        ));
        assert_eq!(
            Target::parse("https://127.0.0.1/")
                .expect("valid")
                .addr
                .port(),
            443
        );
        assert!(Target::parse("ftp://127.0.0.1/").is_err());
        assert!(Target::parse("http:///x").is_err());
        assert!(Target::parse("http://127.0.0.1:1/a b").is_err());
    }

    #[test]
    fn splits_over_shards() {
        let cfg = BenchConfig {
            target: Target::parse("http://127.0.0.1:1/").expect("valid"),
            connections: 5,
            duration: Duration::from_secs(1),
            warmup: Duration::ZERO,
            requests: Some(7),
            pace: Pace::Closed,
            new_conn: false,
            plan: ShardPlan {
                cores: vec![None, None],
            },
            driver: DriverChoice::Auto,
            timeout: Duration::from_secs(1),
            request: RequestSpec::default(),
            protocol: Protocol::Http1,
            expect_body: None,
        };
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!((cfg.shard_connections(0), cfg.shard_connections(1)), (3, 2));
        assert_eq!(
            (cfg.shard_requests(0), cfg.shard_requests(1)),
            (Some(4), Some(3))
        );
        let bad = BenchConfig {
            connections: 1,
            ..cfg.clone()
        };
        assert!(matches!(
            bad.validate(),
            Err(ConfigError::Connections { .. })
        ));
        let bad = BenchConfig {
            pace: Pace::Open { rate: 0.0 },
            ..cfg.clone()
        };
        assert_eq!(bad.validate(), Err(ConfigError::Rate(0.0)));
        let bad = BenchConfig {
            new_conn: true,
            protocol: Protocol::H2c { streams: 4 },
            ..cfg
        };
        assert_eq!(bad.validate(), Err(ConfigError::NewConnH2));
    }
}

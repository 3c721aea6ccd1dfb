//! Executing one request case: building the request the suite would send,
//! retrying until it passes `REQUIRED_CONSECUTIVE_SUCCESSES` times in a
//! row, `repeat`, weighted splits and mirror checks.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::corpus::{Expect, Request};
use crate::echo::EchoPool;
use crate::expect::{
    Echoed, Outcome, REQUEST_ID_PARAM, Sent, Verdict, backend_of_pod, check, check_weights,
    mirror_line,
};
use crate::http::{HttpRequest, send};
use crate::ports::PortMap;
use crate::tls::TlsTarget;

/// As in the suite.
pub const REQUIRED_CONSECUTIVE_SUCCESSES: u32 = 3;
const POLL: Duration = Duration::from_millis(100);
const PER_REQUEST: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: usize = 10;

/// Where a request goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The address shardgate binds (`--bind-ip`) and the Gateway address.
    pub ip: Ipv4Addr,
    pub gateway_ns: String,
    pub gateway: String,
    /// The corpus (unmapped) listener port.
    pub port: u16,
}

/// Everything a request case needs from the test.
pub struct Ctx<'a> {
    pub ports: &'a PortMap,
    pub echoes: &'a EchoPool,
    pub consistency_timeout: Duration,
    /// DER of the certificate HTTPS requests trust.
    pub trusted_cert: &'a [u8],
}

fn random_hex(n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
        .collect()
}

fn uuid() -> String {
    format!(
        "{}-{}-4{}-a{}-{}",
        random_hex(8),
        random_hex(4),
        random_hex(3),
        random_hex(3),
        random_hex(12)
    )
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The request target: path plus the case's `query` (keys sorted,
/// `<random>` = a fresh uuid per probe) plus an optional request id.
fn target_of(r: &Request, request_id: Option<&str>) -> String {
    let mut t = r.path.clone().unwrap_or_else(|| "/".into());
    let mut params: Vec<String> = r
        .query
        .iter()
        .map(|(k, v)| {
            let v = if v == "<random>" { uuid() } else { v.clone() };
            format!("{}={}", url_encode(k), url_encode(&v))
        })
        .collect();
    if let Some(id) = request_id {
        params.push(format!("{REQUEST_ID_PARAM}={id}"));
    }
    if !params.is_empty() {
        t.push(if t.contains('?') { '&' } else { '?' });
        t.push_str(&params.join("&"));
    }
    t
}

/// `host:port` → `host` (IPv6 literals keep their brackets).
fn without_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

/// Build the wire request and what the checks compare against. An HTTPS
/// request trusts only `pinned` (a certificate's DER).
pub fn build(
    r: &Request,
    target: &Target,
    request_id: Option<&str>,
    pinned: &[u8],
) -> (HttpRequest, Sent) {
    let method = r.method.clone().unwrap_or_else(|| "GET".into());
    let path = target_of(r, request_id);
    let host = match r.host.as_deref() {
        Some(h) if !h.is_empty() => h.to_owned(),
        _ if target.port == 80 || target.port == 443 => target.ip.to_string(),
        _ => format!("{}:{}", target.ip, target.port),
    };
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let echo_set: Vec<String> = r
        .echo_set_response_headers
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect();
    // The suite's client always sends this header (empty when unused).
    headers.push(("X-Echo-Set-Header".into(), echo_set.join(",")));
    let https = r
        .scheme
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("https"));
    let tls = https.then(|| TlsTarget {
        // Without an explicit SNI, the host name the client dials.
        server_name: r
            .sni
            .clone()
            .unwrap_or_else(|| without_port(&host).to_owned()),
        pinned: pinned.to_vec(),
    });
    let wire = HttpRequest {
        method: method.clone(),
        target: path.clone(),
        host,
        headers,
        tls,
    };
    let sent = Sent {
        scheme: if https { "https" } else { "http" }.into(),
        method,
        target: path,
        host: r.host.clone().filter(|h| !h.is_empty()),
        headers: r.headers.clone(),
        request_id: request_id.map(str::to_owned),
    };
    (wire, sent)
}

/// One round trip, following redirects (to the Gateway only) unless the
/// case says not to.
pub fn round_trip(ctx: &Ctx<'_>, target: &Target, wire: &HttpRequest, follow: bool) -> Outcome {
    let Some(local) = ctx
        .ports
        .get(&target.gateway_ns, &target.gateway, target.port)
    else {
        return Outcome::Transport(format!(
            "no listener on port {} of Gateway {}/{}",
            target.port, target.gateway_ns, target.gateway
        ));
    };
    let mut addr = SocketAddr::from((target.ip, local));
    let mut req = wire.clone();
    for _ in 0..=MAX_REDIRECTS {
        let resp = match send(addr, &req, PER_REQUEST) {
            Ok(r) => r,
            Err(e) => return Outcome::Transport(e),
        };
        let location = resp.header_joined("location");
        let (true, true, Some(loc)) = (follow, (300..400).contains(&resp.status), location) else {
            return Outcome::Response(resp);
        };
        let l = crate::expect::parse_location(&loc);
        if !l.scheme.is_empty() && l.scheme != "http" {
            return Outcome::Transport(format!("redirect to {loc}: the runner follows http only"));
        }
        if !l.host.is_empty() && l.host != target.ip.to_string() {
            return Outcome::Transport(format!("redirect to {loc}: host is not the Gateway"));
        }
        if let Ok(p) = l.port.parse::<u16>() {
            let local = if ctx.ports.original(p).is_some() {
                Some(p)
            } else {
                ctx.ports.get(&target.gateway_ns, &target.gateway, p)
            };
            match local {
                Some(lp) => addr = SocketAddr::from((target.ip, lp)),
                None => return Outcome::Transport(format!("redirect to {loc}: no such listener")),
            }
        }
        let path_and_query = match loc.find("://") {
            Some(i) => {
                let rest = &loc[i + 3..];
                rest.find('/')
                    .map(|j| rest[j..].to_owned())
                    .unwrap_or_else(|| "/".into())
            }
            None => loc.clone(),
        };
        req.target = path_and_query;
        req.method = "GET".into();
    }
    Outcome::Transport(format!("more than {MAX_REDIRECTS} redirects"))
}

/// Run a request case to its verdict. `Err` is the failure to report.
pub fn run_case(
    ctx: &Ctx<'_>,
    target: &Target,
    r: &Request,
    e: &Expect,
    repeat: Option<u32>,
) -> Result<(), String> {
    if !e.weights.is_empty() {
        return run_weights(ctx, target, r, e);
    }
    let request_id = (!e.mirrored_to.is_empty()).then(uuid);
    let follow = !r.unfollow_redirect;
    let original = |p: u16| ctx.ports.original(p);
    if let Some(n) = repeat {
        for i in 0..n {
            let (wire, sent) = build(r, target, request_id.as_deref(), ctx.trusted_cert);
            let out = round_trip(ctx, target, &wire, follow);
            match check(&sent, e, &out, &original) {
                Verdict::Pass => {}
                Verdict::NotYet(m) | Verdict::Fatal(m) => {
                    return Err(format!("repeat {}/{n}: {m}", i + 1));
                }
            }
        }
        return Ok(());
    }
    let deadline = Instant::now() + ctx.consistency_timeout;
    let mut streak = 0;
    let mut last = String::from("no attempt made");
    let mut sent_target = String::new();
    while streak < REQUIRED_CONSECUTIVE_SUCCESSES {
        if Instant::now() >= deadline {
            return Err(format!(
                "{last} (not {REQUIRED_CONSECUTIVE_SUCCESSES} consecutive successes within {:?})",
                ctx.consistency_timeout
            ));
        }
        let (wire, sent) = build(r, target, request_id.as_deref(), ctx.trusted_cert);
        let out = round_trip(ctx, target, &wire, follow);
        match check(&sent, e, &out, &original) {
            Verdict::Pass => {
                streak += 1;
                sent_target = sent.target;
                continue;
            }
            Verdict::NotYet(m) => {
                streak = 0;
                last = m;
            }
            Verdict::Fatal(m) => return Err(m),
        }
        std::thread::sleep(POLL);
    }
    for m in &e.mirrored_to {
        let needle = mirror_line(&sent_target);
        loop {
            if ctx.echoes.logged(&m.namespace, &m.name, &needle) {
                break;
            }
            if Instant::now() >= deadline + ctx.consistency_timeout {
                return Err(format!(
                    "request {sent_target} was not mirrored to {}/{}",
                    m.namespace, m.name
                ));
            }
            std::thread::sleep(POLL);
        }
    }
    Ok(())
}

fn run_weights(ctx: &Ctx<'_>, target: &Target, r: &Request, e: &Expect) -> Result<(), String> {
    let total = e.weights_total_requests.unwrap_or(0);
    let tolerance = e.weights_tolerance.unwrap_or(0.05);
    let mut last = String::new();
    for _ in 0..10 {
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for _ in 0..total {
            let (wire, _) = build(r, target, None, ctx.trusted_cert);
            match round_trip(ctx, target, &wire, !r.unfollow_redirect) {
                Outcome::Response(resp) if resp.status == 200 => {
                    let pod = Echoed::from_body(&resp.body).pod;
                    *counts.entry(backend_of_pod(&pod).to_owned()).or_default() += 1;
                }
                Outcome::Response(resp) => {
                    return Err(format!("weighted request answered {}", resp.status));
                }
                Outcome::Transport(m) => return Err(format!("weighted request failed: {m}")),
            }
        }
        match check_weights(&counts, &e.weights, tolerance) {
            Ok(()) => return Ok(()),
            Err(m) => last = m,
        }
    }
    Err(format!("weights after 10 tries: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_defaults_to_gateway_address_with_non_default_port() {
        let r = Request {
            path: Some("/a?x=1".into()),
            query: [("b".to_owned(), "c d".to_owned())].into_iter().collect(),
            ..Request::default()
        };
        let t = Target {
            ip: Ipv4Addr::LOCALHOST,
            gateway_ns: "n".into(),
            gateway: "g".into(),
            port: 8080,
        };
        let (wire, sent) = build(&r, &t, Some("id1"), &[]);
        assert_eq!(wire.host, "127.0.0.1:8080");
        assert_eq!(
            wire.target,
            "/a?x=1&b=c%20d&gateway-api-conformance-request-id=id1"
        );
        assert_eq!(sent.target, wire.target);
        assert_eq!(sent.host, None);
        assert!(
            wire.headers
                .iter()
                .any(|(k, v)| k == "X-Echo-Set-Header" && v.is_empty())
        );
        let t80 = Target { port: 80, ..t };
        assert_eq!(
            build(&Request::default(), &t80, None, &[]).0.host,
            "127.0.0.1"
        );
    }
}

//! Per-shard counters. A shard owns its counters outright (plain integers
//! behind `Cell`/`RefCell` on its own thread); the admin thread asks every
//! shard for a copy by message and merges them, so counting a request never
//! touches memory another core writes.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Status classes counted per listener and route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusClass {
    C1xx,
    C2xx,
    C3xx,
    C4xx,
    C5xx,
}

impl StatusClass {
    pub fn of(status: u16) -> StatusClass {
        match status {
            0..=199 => StatusClass::C1xx,
            200..=299 => StatusClass::C2xx,
            300..=399 => StatusClass::C3xx,
            400..=499 => StatusClass::C4xx,
            _ => StatusClass::C5xx,
        }
    }
    fn label(self) -> &'static str {
        ["1xx", "2xx", "3xx", "4xx", "5xx"][self as usize]
    }
}

/// Upstream failures by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UpstreamError {
    Connect,
    ConnectTimeout,
    ResponseTimeout,
    Reset,
    Protocol,
    NoEndpoint,
}

impl UpstreamError {
    fn label(self) -> &'static str {
        match self {
            UpstreamError::Connect => "connect",
            UpstreamError::ConnectTimeout => "connect_timeout",
            UpstreamError::ResponseTimeout => "response_timeout",
            UpstreamError::Reset => "reset",
            UpstreamError::Protocol => "protocol",
            UpstreamError::NoEndpoint => "no_endpoint",
        }
    }
}

/// How a TLS handshake ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    Completed {
        resumed: bool,
    },
    /// A TLS error, a client that went away, or the handshake timeout.
    Failed,
}

/// TLS handshakes of one listener.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlsCounts {
    pub completed: u64,
    pub failed: u64,
    /// Of `completed`, those that resumed a session (ticket or cache).
    pub resumed: u64,
}

impl TlsCounts {
    fn add(&mut self, o: TlsCounts) {
        self.completed += o.completed;
        self.failed += o.failed;
        self.resumed += o.resumed;
    }
}

/// Responses the proxy generated itself, by status (404, 400, 502, …).
type LocalKey = u16;

/// Request counts by (listener, route, status class) names.
pub type RequestCounts = BTreeMap<(Box<str>, Box<str>, StatusClass), u64>;

/// Names of the counted routes of one table, by dense route index, and of
/// its listeners, by listener index.
#[derive(Debug, Default)]
pub struct Labels {
    /// `(listener name, route name)` per route index.
    pub routes: Vec<(Box<str>, Box<str>)>,
    pub listeners: Vec<Box<str>>,
}

/// One shard's counters.
#[derive(Debug, Default)]
pub struct ShardMetrics {
    /// Per route index of the current table: counting is an array
    /// increment, no hashing and no allocation.
    live_routes: RefCell<Vec<[u64; 5]>>,
    /// Requests no route matched, per listener index of the current table.
    live_unrouted: RefCell<Vec<[u64; 5]>>,
    /// Counts from earlier tables, by name, folded in on every swap.
    retired: RefCell<RequestCounts>,
    upstream_errors: RefCell<BTreeMap<(Box<str>, UpstreamError), u64>>,
    local: RefCell<BTreeMap<LocalKey, u64>>,
    /// By listener name; a handshake costs far more than the lookup.
    tls: RefCell<BTreeMap<Box<str>, TlsCounts>>,
    pub connections_accepted: Cell<u64>,
    pub connections_active: Cell<i64>,
    pub upstream_connects: Cell<u64>,
    pub upstream_reused: Cell<u64>,
    pub upstream_retries: Cell<u64>,
    /// RequestMirror copies delivered to a mirror backend.
    pub mirrors_sent: Cell<u64>,
    /// Copies not made: the request body had not fully arrived with its head.
    pub mirrors_skipped: Cell<u64>,
    /// Copies that could not be delivered (no endpoint, connect failure).
    pub mirrors_failed: Cell<u64>,
    pub generation: Cell<u64>,
}

impl ShardMetrics {
    /// Count one answered request; `route` is the router's dense index.
    #[inline]
    pub fn request(&self, listener: usize, route: Option<usize>, status: u16) {
        let class = StatusClass::of(status) as usize;
        let slot = match route {
            Some(r) => self
                .live_routes
                .borrow_mut()
                .get_mut(r)
                .map(|c| c[class] += 1),
            None => self
                .live_unrouted
                .borrow_mut()
                .get_mut(listener)
                .map(|c| c[class] += 1),
        };
        debug_assert!(slot.is_some(), "counter index out of range");
    }

    pub fn upstream_error(&self, cluster: &str, kind: UpstreamError) {
        *self
            .upstream_errors
            .borrow_mut()
            .entry((cluster.into(), kind))
            .or_default() += 1;
    }

    pub fn local_response(&self, status: u16) {
        *self.local.borrow_mut().entry(status).or_default() += 1;
    }

    /// Count one TLS handshake on `listener`.
    pub fn tls_handshake(&self, listener: &str, outcome: Handshake) {
        let mut tls = self.tls.borrow_mut();
        let counts = match tls.get_mut(listener) {
            Some(c) => c,
            None => tls.entry(listener.into()).or_default(),
        };
        match outcome {
            Handshake::Completed { resumed } => {
                counts.completed += 1;
                counts.resumed += u64::from(resumed);
            }
            Handshake::Failed => counts.failed += 1,
        }
    }

    /// Fold the counts of the table labelled `old` into the by-name totals
    /// and size the live counters for a table labelled `new`.
    pub fn swap_tables(&self, old: &Labels, new: &Labels) {
        let mut retired = self.retired.borrow_mut();
        fold(
            &mut retired,
            old,
            &self.live_routes.borrow(),
            &self.live_unrouted.borrow(),
        );
        *self.live_routes.borrow_mut() = vec![[0; 5]; new.routes.len()];
        *self.live_unrouted.borrow_mut() = vec![[0; 5]; new.listeners.len()];
    }

    /// A mergeable copy, taken on the shard and sent to the admin thread.
    pub fn snapshot(&self, labels: &Labels) -> MetricsSnapshot {
        let mut requests = self.retired.borrow().clone();
        fold(
            &mut requests,
            labels,
            &self.live_routes.borrow(),
            &self.live_unrouted.borrow(),
        );
        MetricsSnapshot {
            requests,
            upstream_errors: self.upstream_errors.borrow().clone(),
            local: self.local.borrow().clone(),
            tls_handshakes: self.tls.borrow().clone(),
            tls_certificates_refused: BTreeMap::new(),
            connections_accepted: self.connections_accepted.get(),
            connections_active: self.connections_active.get(),
            upstream_connects: self.upstream_connects.get(),
            upstream_reused: self.upstream_reused.get(),
            upstream_retries: self.upstream_retries.get(),
            mirrors_sent: self.mirrors_sent.get(),
            mirrors_skipped: self.mirrors_skipped.get(),
            mirrors_failed: self.mirrors_failed.get(),
            generations: vec![self.generation.get()],
        }
    }
}

fn fold(into: &mut RequestCounts, labels: &Labels, routes: &[[u64; 5]], unrouted: &[[u64; 5]]) {
    let named_routes = labels.routes.iter().map(|(l, r)| (l, r)).zip(routes);
    let empty: Box<str> = Box::from("");
    let named_unrouted = labels.listeners.iter().map(|l| (l, &empty)).zip(unrouted);
    for ((l, r), counts) in named_routes.chain(named_unrouted) {
        for (class, n) in CLASSES.iter().zip(counts).filter(|(_, n)| **n > 0) {
            *into.entry((l.clone(), r.clone(), *class)).or_default() += n;
        }
    }
}

const CLASSES: [StatusClass; 5] = [
    StatusClass::C1xx,
    StatusClass::C2xx,
    StatusClass::C3xx,
    StatusClass::C4xx,
    StatusClass::C5xx,
];

/// Counters from one or more shards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    pub requests: RequestCounts,
    pub upstream_errors: BTreeMap<(Box<str>, UpstreamError), u64>,
    pub local: BTreeMap<u16, u64>,
    /// TLS handshakes by listener name.
    pub tls_handshakes: BTreeMap<Box<str>, TlsCounts>,
    /// Certificates the data plane could not load, by name (counted by
    /// the snapshot reader, not by shards).
    pub tls_certificates_refused: BTreeMap<Box<str>, u64>,
    pub connections_accepted: u64,
    pub connections_active: i64,
    pub upstream_connects: u64,
    pub upstream_reused: u64,
    pub upstream_retries: u64,
    pub mirrors_sent: u64,
    pub mirrors_skipped: u64,
    pub mirrors_failed: u64,
    /// Per shard, in shard order.
    pub generations: Vec<u64>,
}

impl MetricsSnapshot {
    pub fn merge(&mut self, other: MetricsSnapshot) {
        for (k, v) in other.requests {
            *self.requests.entry(k).or_default() += v;
        }
        for (k, v) in other.upstream_errors {
            *self.upstream_errors.entry(k).or_default() += v;
        }
        for (k, v) in other.local {
            *self.local.entry(k).or_default() += v;
        }
        for (k, v) in other.tls_handshakes {
            self.tls_handshakes.entry(k).or_default().add(v);
        }
        for (k, v) in other.tls_certificates_refused {
            *self.tls_certificates_refused.entry(k).or_default() += v;
        }
        self.connections_accepted += other.connections_accepted;
        self.connections_active += other.connections_active;
        self.upstream_connects += other.upstream_connects;
        self.upstream_reused += other.upstream_reused;
        self.upstream_retries += other.upstream_retries;
        self.mirrors_sent += other.mirrors_sent;
        self.mirrors_skipped += other.mirrors_skipped;
        self.mirrors_failed += other.mirrors_failed;
        self.generations.extend(other.generations);
    }

    /// OpenMetrics text exposition (ends with `# EOF`). Counter families
    /// are named without `_total`; their samples carry it.
    pub fn render(&self, driver: &str) -> String {
        let mut o = String::with_capacity(4096);
        let esc = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let family = |o: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(o, "# HELP {name} {help}");
            let _ = writeln!(o, "# TYPE {name} {kind}");
        };
        family(
            &mut o,
            "shardgate_requests",
            "counter",
            "Requests answered, by listener, route and status class.",
        );
        for ((l, r, c), n) in &self.requests {
            let _ = writeln!(
                o,
                "shardgate_requests_total{{listener=\"{}\",route=\"{}\",class=\"{}\"}} {n}",
                esc(l),
                esc(r),
                c.label()
            );
        }
        family(
            &mut o,
            "shardgate_local_responses",
            "counter",
            "Error responses generated by the proxy itself, by status.",
        );
        for (s, n) in &self.local {
            let _ = writeln!(o, "shardgate_local_responses_total{{status=\"{s}\"}} {n}");
        }
        family(
            &mut o,
            "shardgate_upstream_errors",
            "counter",
            "Upstream failures, by cluster and kind.",
        );
        for ((c, k), n) in &self.upstream_errors {
            let _ = writeln!(
                o,
                "shardgate_upstream_errors_total{{cluster=\"{}\",kind=\"{}\"}} {n}",
                esc(c),
                k.label()
            );
        }
        family(
            &mut o,
            "shardgate_tls_handshakes",
            "counter",
            "TLS handshakes on HTTPS listeners, by listener and result (completed, failed).",
        );
        for (l, c) in &self.tls_handshakes {
            for (result, n) in [("completed", c.completed), ("failed", c.failed)] {
                let _ = writeln!(
                    o,
                    "shardgate_tls_handshakes_total{{listener=\"{}\",result=\"{result}\"}} {n}",
                    esc(l)
                );
            }
        }
        family(
            &mut o,
            "shardgate_tls_resumed_handshakes",
            "counter",
            "Completed TLS handshakes that resumed a session, by listener.",
        );
        for (l, c) in &self.tls_handshakes {
            let _ = writeln!(
                o,
                "shardgate_tls_resumed_handshakes_total{{listener=\"{}\"}} {}",
                esc(l),
                c.resumed
            );
        }
        family(
            &mut o,
            "shardgate_tls_certificates_refused",
            "counter",
            "Certificates left out because they could not be loaded (bad PEM, unusable key, key not matching the certificate), by name.",
        );
        for (c, n) in &self.tls_certificates_refused {
            let _ = writeln!(
                o,
                "shardgate_tls_certificates_refused_total{{certificate=\"{}\"}} {n}",
                esc(c)
            );
        }
        let counters = [
            (
                "shardgate_connections_accepted",
                "Downstream connections accepted.",
                self.connections_accepted,
            ),
            (
                "shardgate_upstream_connects",
                "New upstream connections opened.",
                self.upstream_connects,
            ),
            (
                "shardgate_upstream_reused",
                "Requests sent on a pooled upstream connection.",
                self.upstream_reused,
            ),
            (
                "shardgate_upstream_retries",
                "Requests moved to a fresh connection because a pooled one was found closed before sending.",
                self.upstream_retries,
            ),
            (
                "shardgate_mirrors_sent",
                "RequestMirror copies delivered to a mirror backend.",
                self.mirrors_sent,
            ),
            (
                "shardgate_mirrors_skipped",
                "RequestMirror copies not made because the request body had not fully arrived with its head.",
                self.mirrors_skipped,
            ),
            (
                "shardgate_mirrors_failed",
                "RequestMirror copies that could not be delivered (no endpoint, connect failure).",
                self.mirrors_failed,
            ),
        ];
        for (name, help, v) in counters {
            family(&mut o, name, "counter", help);
            let _ = writeln!(o, "{name}_total {v}");
        }
        family(
            &mut o,
            "shardgate_connections_active",
            "gauge",
            "Downstream connections open now.",
        );
        let _ = writeln!(
            o,
            "shardgate_connections_active {}",
            self.connections_active
        );
        family(
            &mut o,
            "shardgate_snapshot_generation",
            "gauge",
            "Snapshot generation each shard serves.",
        );
        for (i, g) in self.generations.iter().enumerate() {
            let _ = writeln!(o, "shardgate_snapshot_generation{{shard=\"{i}\"}} {g}");
        }
        family(
            &mut o,
            "shardgate_driver",
            "info",
            "The event driver the shards run on.",
        );
        let _ = writeln!(o, "shardgate_driver_info{{driver=\"{driver}\"}} 1");
        o.push_str("# EOF\n");
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(route: &str) -> Labels {
        Labels {
            routes: vec![("l1".into(), route.into())],
            listeners: vec!["l1".into()],
        }
    }

    #[test]
    fn counts_survive_a_table_swap_and_merge() {
        let m = ShardMetrics::default();
        let (t1, t2) = (labels("r1"), labels("r1"));
        m.swap_tables(&Labels::default(), &t1);
        m.request(0, Some(0), 200);
        m.request(0, Some(0), 204);
        m.request(0, None, 404);
        m.swap_tables(&t1, &t2);
        m.request(0, Some(0), 503);
        m.upstream_error("c", UpstreamError::Connect);
        m.local_response(404);
        m.tls_handshake("l1", Handshake::Completed { resumed: false });
        m.tls_handshake("l1", Handshake::Completed { resumed: true });
        m.tls_handshake("l1", Handshake::Failed);
        let mut a = m.snapshot(&t2);
        a.merge(m.snapshot(&t2));
        let key = |r: &str, c| (Box::from("l1"), Box::from(r), c);
        assert_eq!(a.requests.get(&key("r1", StatusClass::C2xx)), Some(&4));
        assert_eq!(a.requests.get(&key("r1", StatusClass::C5xx)), Some(&2));
        assert_eq!(a.requests.get(&key("", StatusClass::C4xx)), Some(&2));
        let text = a.render("io_uring");
        assert!(
            text.contains("shardgate_requests_total{listener=\"l1\",route=\"r1\",class=\"2xx\"} 4"),
            "{text}"
        );
        assert!(text.contains("shardgate_upstream_errors_total{cluster=\"c\",kind=\"connect\"} 2"));
        assert!(text.contains("shardgate_driver_info{driver=\"io_uring\"} 1"));
        let tls = [
            "shardgate_tls_handshakes_total{listener=\"l1\",result=\"completed\"} 4",
            "shardgate_tls_handshakes_total{listener=\"l1\",result=\"failed\"} 2",
            "shardgate_tls_resumed_handshakes_total{listener=\"l1\"} 2",
        ];
        for line in tls {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        assert!(
            text.contains("# TYPE shardgate_requests counter\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}

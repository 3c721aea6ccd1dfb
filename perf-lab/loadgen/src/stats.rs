//! What one shard records while it runs, and how shards are merged.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Highest latency the histogram holds (larger values are clamped).
pub const MAX_LATENCY: Duration = Duration::from_secs(60);

/// The ways a request can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The TCP connection could not be opened.
    Connect,
    /// Writing the request failed.
    Write,
    /// Reading the response failed (I/O error).
    Read,
    /// The peer closed the connection before the response was complete.
    Closed,
    /// No complete response within the request timeout.
    Timeout,
    /// The response was not valid HTTP/1.1 as far as the reader looks.
    Parse,
    /// A complete response with a status outside 200–299.
    Status(u16),
    /// A 2xx response whose body was not the expected size.
    Body,
    /// A gRPC answer without `grpc-status: 0`.
    Grpc,
    /// The TLS handshake failed.
    Tls,
}

/// Error counts by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    pub connect: u64,
    pub write: u64,
    pub read: u64,
    pub closed: u64,
    pub timeout: u64,
    pub parse: u64,
    /// Non-2xx responses by status code.
    pub status: BTreeMap<u16, u64>,
    /// 2xx responses with a body of the wrong size.
    #[serde(default)]
    pub body: u64,
    /// gRPC answers whose `grpc-status` was missing or not 0.
    #[serde(default)]
    pub grpc: u64,
    /// TLS handshakes that failed.
    #[serde(default)]
    pub tls: u64,
}

impl ErrorCounts {
    pub fn add(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::Connect => self.connect += 1,
            ErrorKind::Write => self.write += 1,
            ErrorKind::Read => self.read += 1,
            ErrorKind::Closed => self.closed += 1,
            ErrorKind::Timeout => self.timeout += 1,
            ErrorKind::Parse => self.parse += 1,
            ErrorKind::Status(s) => *self.status.entry(s).or_default() += 1,
            ErrorKind::Body => self.body += 1,
            ErrorKind::Grpc => self.grpc += 1,
            ErrorKind::Tls => self.tls += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.connect
            + self.write
            + self.read
            + self.closed
            + self.timeout
            + self.parse
            + self.body
            + self.grpc
            + self.tls
            + self.status.values().sum::<u64>()
    }

    pub fn merge(&mut self, other: &ErrorCounts) {
        self.connect += other.connect;
        self.write += other.write;
        self.read += other.read;
        self.closed += other.closed;
        self.timeout += other.timeout;
        self.parse += other.parse;
        self.body += other.body;
        self.grpc += other.grpc;
        self.tls += other.tls;
        for (s, n) in &other.status {
            *self.status.entry(*s).or_default() += n;
        }
    }

    /// `connect=3 status_503=2`, or `none`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (name, n) in [
            ("connect", self.connect),
            ("write", self.write),
            ("read", self.read),
            ("closed", self.closed),
            ("timeout", self.timeout),
            ("parse", self.parse),
            ("body", self.body),
            ("grpc", self.grpc),
            ("tls", self.tls),
        ] {
            if n > 0 {
                parts.push(format!("{name}={n}"));
            }
        }
        for (s, n) in &self.status {
            parts.push(format!("status_{s}={n}"));
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(" ")
        }
    }
}

/// One shard's measurements.
#[derive(Debug, Clone)]
pub struct ShardStats {
    /// Latency of successful measured requests, in nanoseconds.
    pub latency: Histogram<u64>,
    /// Successful measured requests.
    pub requests: u64,
    /// Requests completed during warm-up (not measured).
    pub warmup_requests: u64,
    pub errors: ErrorCounts,
    /// Successful requests per second of the measurement window.
    pub timeline_ok: Vec<u64>,
    /// Errors per second of the measurement window.
    pub timeline_err: Vec<u64>,
    /// Connections opened (measured and warm-up).
    pub connections_opened: u64,
    /// TLS handshakes completed, and how many of them resumed a session.
    pub tls_handshakes: u64,
    pub tls_resumed: u64,
}

impl Default for ShardStats {
    fn default() -> Self {
        Self::new()
    }
}

impl ShardStats {
    pub fn new() -> Self {
        ShardStats {
            latency: new_histogram(),
            requests: 0,
            warmup_requests: 0,
            errors: ErrorCounts::default(),
            timeline_ok: Vec::new(),
            timeline_err: Vec::new(),
            connections_opened: 0,
            tls_handshakes: 0,
            tls_resumed: 0,
        }
    }

    /// A successful request that completed `second` seconds into the window.
    pub fn record_ok(&mut self, latency: Duration, second: usize) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.latency.saturating_record(ns);
        self.requests += 1;
        bump(&mut self.timeline_ok, second);
    }

    pub fn record_error(&mut self, kind: ErrorKind, second: usize) {
        self.errors.add(kind);
        bump(&mut self.timeline_err, second);
    }

    pub fn merge(&mut self, other: &ShardStats) {
        // Both histograms have the same bounds, so adding cannot fail.
        if let Err(e) = self.latency.add(&other.latency) {
            tracing::error!(error = %e, "merging latency histograms");
        }
        self.requests += other.requests;
        self.warmup_requests += other.warmup_requests;
        self.errors.merge(&other.errors);
        add_series(&mut self.timeline_ok, &other.timeline_ok);
        add_series(&mut self.timeline_err, &other.timeline_err);
        self.connections_opened += other.connections_opened;
        self.tls_handshakes += other.tls_handshakes;
        self.tls_resumed += other.tls_resumed;
    }
}

/// A histogram of nanoseconds from 1 ns to [`MAX_LATENCY`], 3 significant
/// digits.
pub fn new_histogram() -> Histogram<u64> {
    let max = u64::try_from(MAX_LATENCY.as_nanos()).unwrap_or(u64::MAX);
    match Histogram::new_with_bounds(1, max, 3) {
        Ok(h) => h,
        // The bounds are constants that hdrhistogram accepts.
        Err(e) => unreachable!("histogram bounds 1..{max} rejected: {e}"),
    }
}

fn bump(series: &mut Vec<u64>, second: usize) {
    if series.len() <= second {
        series.resize(second + 1, 0);
    }
    series[second] += 1;
}

fn add_series(into: &mut Vec<u64>, from: &[u64]) {
    if into.len() < from.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_counts_series_and_latencies() {
        let mut a = ShardStats::new();
        a.record_ok(Duration::from_micros(10), 0);
        a.record_ok(Duration::from_micros(20), 2);
        a.record_error(ErrorKind::Status(503), 1);
        let mut b = ShardStats::new();
        b.record_ok(Duration::from_millis(5), 0);
        b.record_error(ErrorKind::Connect, 3);
        b.record_error(ErrorKind::Status(503), 3);
        b.record_error(ErrorKind::Body, 3);
        b.warmup_requests = 7;
        b.tls_handshakes = 2;
        b.tls_resumed = 1;
        a.merge(&b);
        assert_eq!(a.requests, 3);
        assert_eq!(a.warmup_requests, 7);
        assert_eq!(a.timeline_ok, vec![2, 0, 1]);
        assert_eq!(a.timeline_err, vec![0, 1, 0, 3]);
        assert_eq!(a.errors.total(), 4);
        assert_eq!(a.errors.status.get(&503), Some(&2));
        assert_eq!(a.errors.summary(), "connect=1 body=1 status_503=2");
        assert_eq!((a.tls_handshakes, a.tls_resumed), (2, 1));
        assert_eq!(a.latency.len(), 3);
        let max = a.latency.max();
        assert!((4_990_000..=5_010_000).contains(&max), "max {max}");
        assert!(a.latency.min() <= 10_010);
    }

    #[test]
    fn huge_latencies_are_clamped_not_lost() {
        let mut s = ShardStats::new();
        s.record_ok(Duration::from_secs(3600), 0);
        assert_eq!(s.latency.len(), 1);
        assert_eq!(ErrorCounts::default().summary(), "none");
    }
}

//! The perf-lab load generator, on the project's own thread-per-core
//! runtime: one pinned shard per generator core, each driving its share of
//! HTTP/1.1 connections (keep-alive or a new connection per request; in
//! clear text or over TLS), or HTTP/2 and gRPC streams, in
//! closed loop (fixed connections, as fast as answers come) or open loop (a
//! constant rate, latency counted from each request's scheduled send time,
//! correcting coordinated omission as wrk2 does). Latencies go into an
//! hdrhistogram per shard, merged at the end, with a per-second timeline,
//! errors by kind, and the CPU time the system under test spent per
//! request, read from `/proc`.
//!
//! [`fixed::FixedServer`] is the trivial fixed-response server that the
//! generator's own ceiling is measured against.
#![forbid(unsafe_code)]

pub mod compat;
pub mod config;
mod conn;
pub mod fixed;
mod h1;
pub mod h2;
pub mod http;
pub mod report;
mod run;
pub mod stats;
pub mod sut;
pub mod tls;

pub use compat::Compat;
pub use config::{BenchConfig, ConfigError, Pace, Protocol, RequestSpec, Target, TlsClient};
pub use fixed::FixedServer;
pub use report::BenchReport;
pub use run::{BenchError, RunExtras, SutSpec, run, run_full};

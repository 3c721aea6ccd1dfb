//! Thread-per-core bootstrap for shardgate.
//!
//! A process runs N *shards*: one OS thread per chosen core, pinned with
//! `core_affinity`, each owning a monoio runtime on io_uring (or on epoll where
//! io_uring cannot be set up). Shards share nothing on the request path;
//! control travels to them by message ([`mailbox`]). This crate owns the few
//! places where the data plane touches the OS directly: ring setup flags,
//! SO_REUSEPORT listeners, socket probes and signals.
#![allow(unsafe_code)] // sock.rs: one non-blocking MSG_PEEK probe; each block has a SAFETY note.

pub mod cpus;
pub mod driver;
pub mod duration;
pub mod listener;
pub mod mailbox;
pub mod shard;
pub mod signals;
pub mod sock;

pub use cpus::{CpuSetError, ShardPlan, parse_cpu_list, plan_shards};
pub use driver::{Driver, DriverChoice};
pub use duration::parse_duration;
pub use listener::bind_reuseport;
pub use mailbox::{Inbox, Mailbox, mailbox};
pub use shard::{ShardContext, ShardHandle, spawn_shards};

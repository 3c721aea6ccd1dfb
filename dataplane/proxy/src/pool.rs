//! Per-shard upstream connection pools: idle keep-alive connections by
//! endpoint address, most recently used first, bounded, expired by idle time.
//! Owned by one shard, so no synchronisation at all.

use monoio::net::TcpStream;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

struct Idle {
    stream: TcpStream,
    since: Instant,
}

/// Idle upstream connections of one shard.
#[derive(Default)]
pub struct Pool {
    idle: RefCell<FxHashMap<SocketAddr, Vec<Idle>>>,
}

/// Result of a checkout.
pub enum Checkout {
    /// A live pooled connection.
    Reused(TcpStream),
    /// Nothing usable pooled; `discarded` connections were found closed by
    /// the peer (or expired) and dropped.
    Empty { discarded: usize },
}

impl Pool {
    /// Take the most recently returned live connection to `addr`. Each
    /// candidate is probed with one non-blocking peek: a connection the
    /// upstream closed while idle is dropped here, before any byte of the
    /// request is written to it.
    pub fn checkout(&self, addr: SocketAddr, idle_timeout: Duration) -> Checkout {
        let mut idle = self.idle.borrow_mut();
        let Some(list) = idle.get_mut(&addr) else {
            return Checkout::Empty { discarded: 0 };
        };
        let now = Instant::now();
        let mut discarded = 0;
        while let Some(c) = list.pop() {
            if now.duration_since(c.since) < idle_timeout
                && !shardgate_runtime::sock::peer_closed(c.stream.as_raw_fd())
            {
                return Checkout::Reused(c.stream);
            }
            discarded += 1;
        }
        Checkout::Empty { discarded }
    }

    /// Return a connection whose last exchange completed cleanly.
    pub fn put(&self, addr: SocketAddr, stream: TcpStream, max_idle: usize) {
        let mut idle = self.idle.borrow_mut();
        let list = idle.entry(addr).or_default();
        if list.len() >= max_idle {
            // Keep the most recent ones: drop the oldest.
            list.remove(0);
        }
        list.push(Idle {
            stream,
            since: Instant::now(),
        });
    }

    /// Drop connections idle longer than `max_idle_for`, and connections to
    /// addresses not in `keep` (endpoints removed by a new snapshot).
    pub fn prune(&self, max_idle_for: Duration, keep: impl Fn(&SocketAddr) -> bool) -> usize {
        let now = Instant::now();
        let mut dropped = 0;
        let mut idle = self.idle.borrow_mut();
        idle.retain(|addr, list| {
            if !keep(addr) {
                dropped += list.len();
                return false;
            }
            let before = list.len();
            list.retain(|c| now.duration_since(c.since) < max_idle_for);
            dropped += before - list.len();
            !list.is_empty()
        });
        dropped
    }

    /// Number of idle connections (all endpoints).
    pub fn idle_count(&self) -> usize {
        self.idle.borrow().values().map(Vec::len).sum()
    }

    /// Close everything (drain).
    pub fn clear(&self) {
        self.idle.borrow_mut().clear();
    }
}

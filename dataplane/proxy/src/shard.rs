//! One shard: its current table, listeners, pool, counters and control loop.
//!
//! Everything here lives on the shard's own thread (`Rc`, `Cell`, `RefCell`).
//! A new table arrives by message and replaces `current` between requests; a
//! request holds its own `Rc<Current>` from its first routing decision to its
//! last byte, so it finishes on the table it started with.

use crate::accept;
use crate::metrics::{Labels, MetricsSnapshot, ShardMetrics};
use crate::pool::Pool;
use crate::settings::Settings;
use monoio::io::Canceller;
use monoio::net::TcpListener;
use rustc_hash::FxHashMap;
use shardgate_router::Table;
use shardgate_runtime::{Inbox, ShardContext};
use shardgate_snapshot::AckHandle;
use shardgate_tls::{ListenerCerts, ServerConfig, ShardTls, TlsShared};
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A compiled table with what the shards need beside it.
pub struct Installed {
    pub table: Table,
    pub labels: Labels,
    /// Where each IR listener is bound (after any address override).
    pub binds: Vec<SocketAddr>,
    /// Where shards report that they serve this table.
    pub ack: Option<AckHandle>,
    /// Per listener (same index): the certificates of an HTTPS listener,
    /// parsed once by the reader for every shard.
    pub tls: Vec<Option<Arc<ListenerCerts>>>,
}

/// Messages to a shard.
pub enum ShardMsg {
    Install(Arc<Installed>),
    Collect(crossbeam_channel::Sender<MetricsSnapshot>),
    Drain { deadline: Instant },
}

/// The table a request routes with, plus this shard's per-cluster state.
pub struct Current {
    pub installed: Arc<Installed>,
    /// Round-robin cursor per cluster index.
    pub rr: Vec<Cell<usize>>,
    /// Per listener index: how its connections start.
    pub security: Vec<Security>,
}

/// How connections on a listener start.
pub enum Security {
    /// HTTP/1.1 at once.
    Plain,
    /// A TLS handshake with this shard's configuration for the listener.
    Tls(Arc<ServerConfig>),
    /// HTTPS without a usable configuration: connections are closed.
    Unusable,
}

impl Current {
    fn new(installed: Arc<Installed>, tls: &ShardTls) -> Self {
        let rr = (0..installed.table.clusters().len())
            .map(|_| Cell::new(0))
            .collect();
        let security = (0..installed.binds.len())
            .map(|i| match installed.tls.get(i).cloned().flatten() {
                None => Security::Plain,
                Some(certs) => match tls.server_config(certs) {
                    Ok(cfg) => Security::Tls(cfg),
                    Err(e) => {
                        tracing::error!(listener = installed.table.listeners()[i].name(), error = %e, "cannot configure TLS; the listener refuses connections");
                        Security::Unusable
                    }
                },
            })
            .collect();
        Current {
            installed,
            rr,
            security,
        }
    }

    /// Index of the listener bound at `bind`.
    pub fn listener_index(&self, bind: SocketAddr) -> Option<usize> {
        self.installed.binds.iter().position(|b| *b == bind)
    }
}

struct Bound {
    canceller: Canceller,
    stopped: Rc<Cell<bool>>,
}

/// A shard's state, shared by its tasks through `Rc`.
pub struct Shard {
    pub index: usize,
    /// The shard's own copy: reading it never touches another core's
    /// cache lines.
    pub settings: Settings,
    current: RefCell<Rc<Current>>,
    pub pool: Pool,
    pub metrics: ShardMetrics,
    pub draining: Cell<bool>,
    /// This shard's TLS state (its own session cache).
    tls: ShardTls,
    rng: RefCell<fastrand::Rng>,
    bound: RefCell<FxHashMap<SocketAddr, Bound>>,
    /// Connections waiting for their next request, by a token, so a drain
    /// can close them at once.
    idle: RefCell<slab::Slab<RawFd>>,
}

impl Shard {
    /// The table to route the next request with.
    #[inline]
    pub fn current(&self) -> Rc<Current> {
        self.current.borrow().clone()
    }

    #[inline]
    pub fn random(&self) -> u32 {
        self.rng.borrow_mut().u32(..)
    }

    pub fn idle_enter(&self, fd: RawFd) -> usize {
        self.idle.borrow_mut().insert(fd)
    }

    pub fn idle_leave(&self, token: usize) {
        self.idle.borrow_mut().try_remove(token);
    }

    /// Install a new table: open listeners it adds, close those it removes,
    /// drop pooled connections to endpoints it no longer has.
    fn install(self: &Rc<Self>, new: Arc<Installed>) {
        let old = self.current();
        self.metrics.swap_tables(&old.installed.labels, &new.labels);
        // Open before closing, so a port that stays never stops accepting.
        for (i, bind) in new.binds.iter().enumerate() {
            if self.bound.borrow().contains_key(bind) {
                continue;
            }
            match shardgate_runtime::bind_reuseport(*bind).and_then(TcpListener::from_std) {
                Ok(listener) => {
                    let canceller = Canceller::new();
                    let stopped = Rc::new(Cell::new(false));
                    monoio::spawn(accept_loop(
                        self.clone(),
                        *bind,
                        listener,
                        canceller.handle(),
                        stopped.clone(),
                    ));
                    self.bound
                        .borrow_mut()
                        .insert(*bind, Bound { canceller, stopped });
                    tracing::debug!(shard = self.index, listener = new.table.listeners()[i].name(), %bind, "listening");
                }
                Err(e) => tracing::error!(
                    shard = self.index,
                    listener = new.table.listeners()[i].name(),
                    %bind,
                    error = %e,
                    "cannot listen; the other listeners keep serving"
                ),
            }
        }
        let gone: Vec<SocketAddr> = self
            .bound
            .borrow()
            .keys()
            .filter(|b| !new.binds.contains(b))
            .copied()
            .collect();
        for bind in gone {
            if let Some(b) = self.bound.borrow_mut().remove(&bind) {
                b.stopped.set(true);
                b.canceller.cancel();
            }
        }
        let endpoints: rustc_hash::FxHashSet<SocketAddr> = new
            .table
            .clusters()
            .iter()
            .flat_map(|c| c.endpoints.iter().map(|e| e.addr))
            .collect();
        self.pool
            .prune(self.settings.pool_idle_max, |a| endpoints.contains(a));
        self.metrics.generation.set(new.table.generation());
        *self.current.borrow_mut() = Rc::new(Current::new(new, &self.tls));
    }

    /// Stop accepting and wake every idle keep-alive connection so it closes.
    fn start_drain(&self) {
        self.draining.set(true);
        for (_, b) in self.bound.borrow_mut().drain() {
            b.stopped.set(true);
            b.canceller.cancel();
        }
        for fd in self.idle.borrow_mut().drain() {
            shardgate_runtime::sock::shutdown_read(fd);
        }
        self.pool.clear();
    }
}

/// The main future of a shard.
pub async fn run(ctx: ShardContext<ShardMsg>, settings: Arc<Settings>, tls: Arc<TlsShared>) {
    let empty = Arc::new(Installed {
        table: Table::compile(&shardgate_ir::Snapshot::default())
            .expect("the empty snapshot always compiles"),
        labels: Labels::default(),
        binds: Vec::new(),
        ack: None,
        tls: Vec::new(),
    });
    let tls = ShardTls::new(tls);
    let shard = Rc::new(Shard {
        index: ctx.index,
        settings: Settings::clone(&settings),
        current: RefCell::new(Rc::new(Current::new(empty, &tls))),
        pool: Pool::default(),
        metrics: ShardMetrics::default(),
        draining: Cell::new(false),
        tls,
        rng: RefCell::new(fastrand::Rng::with_seed(0x5eed ^ ctx.index as u64)),
        bound: RefCell::new(FxHashMap::default()),
        idle: RefCell::new(slab::Slab::new()),
    });
    monoio::spawn(prune_pool(shard.clone()));
    let inbox: Inbox<ShardMsg> = ctx.inbox;
    while let Some(msg) = inbox.recv().await {
        match msg {
            ShardMsg::Install(installed) => {
                let generation = installed.table.generation();
                let ack = installed.ack.clone();
                shard.install(installed);
                if let Some(ack) = ack {
                    ack.ack(shard.index, generation);
                }
                tracing::debug!(shard = shard.index, generation, "table installed");
            }
            ShardMsg::Collect(reply) => {
                let cur = shard.current();
                let _ = reply.send(shard.metrics.snapshot(&cur.installed.labels));
            }
            ShardMsg::Drain { deadline } => {
                shard.start_drain();
                while shard.metrics.connections_active.get() > 0 && Instant::now() < deadline {
                    monoio::time::sleep(Duration::from_millis(10)).await;
                    // Connections that went idle after the drain began.
                    for fd in shard.idle.borrow_mut().drain() {
                        shardgate_runtime::sock::shutdown_read(fd);
                    }
                }
                tracing::info!(
                    shard = shard.index,
                    open = shard.metrics.connections_active.get(),
                    "shard drained"
                );
                return;
            }
        }
    }
}

async fn accept_loop(
    shard: Rc<Shard>,
    bind: SocketAddr,
    listener: TcpListener,
    cancel: monoio::io::CancelHandle,
    stopped: Rc<Cell<bool>>,
) {
    loop {
        match listener.cancelable_accept(cancel.clone()).await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                shard
                    .metrics
                    .connections_accepted
                    .set(shard.metrics.connections_accepted.get() + 1);
                monoio::spawn(accept::serve(shard.clone(), bind, stream, peer));
            }
            Err(_) if stopped.get() => return,
            Err(e) => {
                // EMFILE/ENFILE/ENOBUFS: back off instead of spinning.
                tracing::warn!(shard = shard.index, %bind, error = %e, "accept failed");
                monoio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

async fn prune_pool(shard: Rc<Shard>) {
    loop {
        monoio::time::sleep(Duration::from_secs(1)).await;
        if shard.draining.get() {
            return;
        }
        let max = shard.settings.pool_idle_max;
        shard.pool.prune(max, |_| true);
    }
}

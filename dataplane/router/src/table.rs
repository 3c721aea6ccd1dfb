//! The compiled table: listeners → virtual hosts → routes.

use crate::backends::WeightedBackends;
use crate::error::CompileError;
use crate::host::HostIndex;
use crate::index::{MatchEntry, RouteIndex};
use crate::matcher::{CompiledMatch, Parts, Site};
use crate::pool::Pool;
use crate::request::{HeaderMap, Request, split_target};
use shardgate_ir::{
    Action, Cluster, Filter, Listener, Redirect, Route, Snapshot, Timeouts, VirtualHost,
};
use std::net::IpAddr;
use std::sync::Arc;

/// An immutable routing table compiled from one snapshot; share it between
/// shards behind an `Arc`.
#[derive(Debug)]
pub struct Table {
    generation: u64,
    listeners: Box<[ListenerTable]>,
    clusters: Box<[Cluster]>,
    route_count: usize,
}

impl Table {
    /// Validate-and-compile. Refuses, never panics on, anything the data
    /// plane cannot serve exactly: a snapshot that fails
    /// [`shardgate_ir::validate`], a regular expression that does not
    /// compile, a hostname claimed twice or unmatchable.
    pub fn compile(snapshot: &Snapshot) -> Result<Table, CompileError> {
        shardgate_ir::validate(snapshot)?;
        let mut route_count = 0;
        let listeners = snapshot
            .listeners
            .iter()
            .map(|l| ListenerTable::compile(l, &mut route_count))
            .collect::<Result<_, _>>()?;
        Ok(Table {
            generation: snapshot.generation,
            listeners,
            clusters: snapshot.clusters.as_slice().into(),
            route_count,
        })
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// In the order of `snapshot.listeners`.
    pub fn listeners(&self) -> &[ListenerTable] {
        &self.listeners
    }

    /// In the order of `snapshot.clusters`: [`shardgate_ir::BackendTarget::Cluster`]
    /// indexes this slice.
    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// Number of routes in the whole table; [`RouteEntry::index`] is below it.
    pub fn route_count(&self) -> usize {
        self.route_count
    }
}

/// The routes served on one bound address and port.
#[derive(Debug)]
pub struct ListenerTable {
    name: Box<str>,
    address: IpAddr,
    port: u16,
    hosts: HostIndex,
    virtual_hosts: Box<[VhostTable]>,
}

#[derive(Debug)]
struct VhostTable {
    name: Arc<str>,
    routes: Box<[RouteEntry]>,
    index: RouteIndex,
}

impl ListenerTable {
    fn compile(l: &Listener, route_count: &mut usize) -> Result<Self, CompileError> {
        let virtual_hosts = l
            .virtual_hosts
            .iter()
            .map(|vh| VhostTable::compile(&l.name, vh, route_count))
            .collect::<Result<_, _>>()?;
        Ok(ListenerTable {
            name: l.name.as_str().into(),
            address: l.address,
            port: l.port,
            hosts: HostIndex::build(l)?,
            virtual_hosts,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn address(&self) -> IpAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The name of the virtual host that serves `host` (as received).
    pub fn virtual_host(&self, host: &[u8]) -> Option<&str> {
        let vh = self.hosts.select(host)?;
        self.virtual_hosts.get(vh as usize).map(|v| &*v.name)
    }

    /// The route for a request: the virtual host chosen by its host (exact
    /// name, else longest wildcard suffix, else the catch-all), then the
    /// first route of that virtual host, in IR order, with a `RouteMatch`
    /// whose every condition holds. `None` means 404.
    ///
    /// Allocates nothing (regular expressions use the regex crate's
    /// per-thread caches, which allocate only while they warm up).
    pub fn route<H: HeaderMap + ?Sized>(&self, req: &Request<'_, H>) -> Option<&RouteEntry> {
        let vh = self
            .virtual_hosts
            .get(self.hosts.select(req.host)? as usize)?;
        let (path, query) = split_target(req.target);
        let parts = Parts {
            method: req.method,
            path,
            query: query.unwrap_or_default(),
            headers: req.headers,
        };
        let route = vh.index.find(&parts)?;
        vh.routes.get(route as usize)
    }
}

impl VhostTable {
    fn compile(
        listener: &str,
        vh: &VirtualHost,
        route_count: &mut usize,
    ) -> Result<Self, CompileError> {
        let name: Arc<str> = vh.name.as_str().into();
        let match_count: usize = vh.routes.iter().map(|r| r.matches.len()).sum();
        if u32::try_from(match_count).is_err() || u32::try_from(vh.routes.len()).is_err() {
            return Err(CompileError::TooManyMatches {
                listener: listener.to_owned(),
                virtual_host: vh.name.clone(),
                count: match_count,
                limit: u32::MAX as usize,
            });
        }
        let mut entries = Vec::with_capacity(match_count);
        let mut pool = Pool::default();
        let mut routes = Vec::with_capacity(vh.routes.len());
        for (i, r) in (0u32..).zip(&vh.routes) {
            let site = Site {
                listener,
                virtual_host: &vh.name,
                route: &r.name,
            };
            for m in &r.matches {
                entries.push(MatchEntry {
                    route: i,
                    cond: CompiledMatch::compile(m, site, &mut pool)?,
                });
            }
            routes.push(RouteEntry::compile(r, &name, *route_count)?);
            *route_count += 1;
        }
        Ok(VhostTable {
            name,
            routes: routes.into(),
            index: RouteIndex::new(entries, pool),
        })
    }
}

/// What a matched route does with the request.
#[derive(Debug)]
pub struct RouteEntry {
    name: Box<str>,
    virtual_host: Arc<str>,
    index: usize,
    filters: Box<[Filter]>,
    timeouts: Timeouts,
    action: Compiled,
}

#[derive(Debug)]
enum Compiled {
    Forward(WeightedBackends),
    Direct { status: u16 },
    Redirect(Redirect),
}

/// The action of a route.
#[derive(Debug, Clone, Copy)]
pub enum RouteAction<'a> {
    /// Pick a backend with [`WeightedBackends::pick`].
    Forward(&'a WeightedBackends),
    /// Answer locally with this status.
    Direct { status: u16 },
    /// Answer locally with a redirect.
    Redirect(&'a Redirect),
}

impl RouteEntry {
    fn compile(r: &Route, virtual_host: &Arc<str>, index: usize) -> Result<Self, CompileError> {
        let action = match &r.action {
            Action::Forward(list) => {
                Compiled::Forward(WeightedBackends::new(list).ok_or_else(|| {
                    CompileError::Invalid(shardgate_ir::IrError::Invalid(format!(
                        "route {} in virtual host {virtual_host}: backend weights sum to zero",
                        r.name
                    )))
                })?)
            }
            Action::DirectResponse { status } => Compiled::Direct { status: *status },
            Action::Redirect(r) => Compiled::Redirect(r.clone()),
        };
        Ok(RouteEntry {
            name: r.name.as_str().into(),
            virtual_host: Arc::clone(virtual_host),
            index,
            filters: r.filters.as_slice().into(),
            timeouts: r.timeouts,
            action,
        })
    }

    /// The IR route name, for metrics and logs.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn virtual_host(&self) -> &str {
        &self.virtual_host
    }

    /// Dense number of this route within its [`Table`] (`0..route_count()`),
    /// e.g. to index per-shard counters without hashing names.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Applied in order.
    pub fn filters(&self) -> &[Filter] {
        &self.filters
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    pub fn action(&self) -> RouteAction<'_> {
        match &self.action {
            Compiled::Forward(b) => RouteAction::Forward(b),
            Compiled::Direct { status } => RouteAction::Direct { status: *status },
            Compiled::Redirect(r) => RouteAction::Redirect(r),
        }
    }
}

#[cfg(test)]
mod tests;

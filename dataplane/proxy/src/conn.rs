//! One downstream HTTP/1.1 connection: read a head, route it, answer locally
//! or forward it, stream the bodies, repeat while keep-alive holds.
//!
//! All I/O uses owned buffers (io_uring style). A connection keeps three
//! reusable buffers: `rbuf` (bytes from the client, possibly several
//! pipelined requests), `ubuf` (bytes from the upstream) and `out` (heads
//! being written). Requests are handled strictly one after the other, so
//! pipelined responses go out in order. Bodies are streamed through these
//! buffers and never held whole: memory per connection stays bounded by the
//! head limit plus a few buffer sizes.

use crate::cors;
use crate::io::{Downstream, read_into, write_slice};
use crate::metrics::UpstreamError;
use crate::mirror;
use crate::mods::ModList;
use crate::redirect::{self, Origin};
use crate::shard::{Current, Shard};
use crate::upstream::{self, Attempt, UpstreamFailure};
use shardgate_http1::{
    BodyKind, ChunkedDecoder, ClientBody, ClientResponse, HeaderMods, LengthBody, Method,
    ParseStatus, RequestHead, ResponseHead, UpstreamRequest, Version, WriteError,
    write_client_response, write_continue, write_error_response, write_upstream_request,
};
use shardgate_ir::{BackendTarget, Cors, Filter, Redirect, UrlRewrite};
use shardgate_router::{HeaderMap, Request, RouteAction, RouteEntry};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Serve one accepted connection (plain, or TLS after its handshake)
/// until it closes. The caller counts it in `connections_active`.
pub async fn serve<S: Downstream>(shard: Rc<Shard>, bind: SocketAddr, client: S, peer: SocketAddr) {
    let size = shard.settings.buffer_size;
    let mut conn = Conn {
        shard: shard.clone(),
        bind,
        peer,
        client,
        rbuf: Vec::with_capacity(size),
        ubuf: Vec::with_capacity(size),
        out: Vec::with_capacity(size),
        target: Vec::new(),
        req: RequestHead::new(),
        resp: ResponseHead::new(),
    };
    conn.run().await;
    // Bounded: a client that stopped reading cannot hold the task.
    let _ = monoio::time::timeout(CLOSE_TIMEOUT, conn.client.close()).await;
}

/// How long a goodbye (TLS close_notify) may take to go out.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the client connection stays open after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    KeepAlive,
    Close,
}

/// What routing decided for a request.
enum Decision<'t> {
    Local {
        route: Option<usize>,
        status: u16,
        /// The cluster that had no endpoint, for a 503.
        empty_cluster: Option<&'t str>,
    },
    Forward {
        route: &'t RouteEntry,
        cluster: usize,
        /// The picked backend's own filters (`backendRefs[].filters`).
        backend: &'t [Filter],
    },
    Redirect {
        route: usize,
        redirect: &'t Redirect,
    },
    /// A CORS preflight on a route with a CORS filter: answered here.
    Preflight { route: usize, cors: &'t Cors },
}

struct Conn<S> {
    shard: Rc<Shard>,
    bind: SocketAddr,
    peer: SocketAddr,
    client: S,
    rbuf: Vec<u8>,
    ubuf: Vec<u8>,
    out: Vec<u8>,
    /// The request-target rewritten by a URLRewrite filter (reused).
    target: Vec<u8>,
    req: RequestHead,
    resp: ResponseHead,
}

/// Request headers as the router sees them, borrowed from the parse.
struct HeadView<'a> {
    head: &'a RequestHead,
    buf: &'a [u8],
}

impl HeaderMap for HeadView<'_> {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.head.header_values(self.buf, name).any(f)
    }
}

/// The request body still to be read from the client.
enum ReqBody {
    Done,
    Length(LengthBody),
    Chunked(ChunkedDecoder),
}

impl ReqBody {
    fn new(kind: BodyKind) -> ReqBody {
        match kind {
            BodyKind::None => ReqBody::Done,
            BodyKind::Length(0) => ReqBody::Done,
            BodyKind::Length(n) => ReqBody::Length(LengthBody::new(n)),
            BodyKind::Chunked => ReqBody::Chunked(ChunkedDecoder::new()),
        }
    }

    /// How many bytes at the start of `input` belong to the body.
    fn take(&mut self, input: &[u8]) -> Result<usize, ()> {
        let n = match self {
            ReqBody::Done => 0,
            ReqBody::Length(l) => l.take(input.len()),
            ReqBody::Chunked(d) => d.feed(input).map_err(|_| ())?.consumed,
        };
        if self.is_done_inner() {
            *self = ReqBody::Done;
        }
        Ok(n)
    }

    fn is_done_inner(&self) -> bool {
        match self {
            ReqBody::Done => true,
            ReqBody::Length(l) => l.is_done(),
            ReqBody::Chunked(d) => d.is_done(),
        }
    }

    fn is_done(&self) -> bool {
        matches!(self, ReqBody::Done)
    }
}

/// The response body still to be copied to the client.
enum RespBody {
    Done,
    Length(LengthBody),
    Chunked(ChunkedDecoder),
    Dechunk(ChunkedDecoder),
    UntilClose,
}

impl RespBody {
    /// Append the part of `input` that belongs to the body, as the client
    /// must see it, to `out`; return how many input bytes were used.
    fn copy(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ()> {
        let used = match self {
            RespBody::Done => 0,
            RespBody::Length(l) => {
                let n = l.take(input.len());
                out.extend_from_slice(&input[..n]);
                n
            }
            RespBody::Chunked(d) => {
                let n = d.feed(input).map_err(|_| ())?.consumed;
                out.extend_from_slice(&input[..n]);
                n
            }
            RespBody::Dechunk(d) => {
                let mut off = 0;
                while off < input.len() && !d.is_done() {
                    let p = d.decode(&input[off..]).map_err(|_| ())?;
                    out.extend_from_slice(&input[off..][p.data]);
                    if p.consumed == 0 {
                        break;
                    }
                    off += p.consumed;
                }
                off
            }
            RespBody::UntilClose => {
                out.extend_from_slice(input);
                input.len()
            }
        };
        let done = match self {
            RespBody::Length(l) => l.is_done(),
            RespBody::Chunked(d) | RespBody::Dechunk(d) => d.is_done(),
            RespBody::Done | RespBody::UntilClose => false,
        };
        if done {
            *self = RespBody::Done;
        }
        Ok(used)
    }
}

/// The header modifiers for the request (`request`) or the response: the
/// route's, then those of the picked backend. Allocates nothing.
fn header_mods<'a>(route: &'a RouteEntry, backend: &'a [Filter], request: bool) -> ModList<'a> {
    route
        .filters()
        .iter()
        .chain(backend)
        .filter_map(|f| match (f, request) {
            (Filter::RequestHeaderModifier(m), true)
            | (Filter::ResponseHeaderModifier(m), false) => Some(HeaderMods {
                set: &m.set,
                add: &m.add,
                remove: &m.remove,
            }),
            _ => None,
        })
        .collect()
}

/// The route's CORS filter, if any.
fn cors_filter(route: &RouteEntry) -> Option<&Cors> {
    route.filters().iter().find_map(|f| match f {
        Filter::Cors(c) => Some(c),
        _ => None,
    })
}

/// The route's URLRewrite filter, if any (validation allows one).
fn url_rewrite(route: &RouteEntry) -> Option<&UrlRewrite> {
    route.filters().iter().find_map(|f| match f {
        Filter::UrlRewrite(w) => Some(w),
        _ => None,
    })
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

impl<S: Downstream> Conn<S> {
    async fn run(&mut self) {
        loop {
            match self.read_head().await {
                Ok(()) => {}
                Err(None) => return,
                Err(Some(status)) => {
                    // The head is bad or incomplete: framing is in doubt.
                    self.local_response(None, status, true).await;
                    return;
                }
            }
            if self.handle().await == Next::Close {
                return;
            }
        }
    }

    /// Read until `rbuf` starts with a complete request head. `Err(None)`:
    /// the client went away or idled out between requests (close quietly);
    /// `Err(Some(status))`: answer with `status` and close.
    async fn read_head(&mut self) -> Result<(), Option<u16>> {
        // An `Rc` clone (shard-local, non-atomic) so the settings can be
        // borrowed while `self` is mutably borrowed.
        let shard = self.shard.clone();
        let settings = &shard.settings;
        loop {
            if !self.rbuf.is_empty() {
                match self.req.parse(&self.rbuf, &settings.limits) {
                    Ok(ParseStatus::Complete) => return Ok(()),
                    Ok(ParseStatus::Partial) => {}
                    Err(e) => return Err(Some(e.status())),
                }
            }
            let idle = self.rbuf.is_empty();
            if idle && self.shard.draining.get() {
                return Err(None);
            }
            let token = idle.then(|| self.shard.idle_enter(self.client.as_raw_fd()));
            let wait = if idle {
                settings.client_idle_timeout
            } else {
                settings.client_header_timeout
            };
            let buf = std::mem::take(&mut self.rbuf);
            let read =
                monoio::time::timeout(wait, self.client.read_into(buf, settings.buffer_size)).await;
            if let Some(t) = token {
                self.shard.idle_leave(t);
            }
            match read {
                Err(_) if idle => return Err(None),
                Err(_) => return Err(Some(408)),
                Ok((Ok(0), _)) if idle => return Err(None),
                // End of input in the middle of a head.
                Ok((Ok(0), _)) => return Err(Some(400)),
                Ok((Ok(_), buf)) => self.rbuf = buf,
                Ok((Err(_), _)) => return Err(None),
            }
        }
    }

    async fn handle(&mut self) -> Next {
        let cur = self.shard.current();
        let Some(li) = cur.listener_index(self.bind) else {
            // The listener was removed while this connection was open.
            return self.local_response(None, 404, true).await;
        };
        let decision = self.decide(&cur, li);
        match decision {
            Decision::Local {
                route,
                status,
                empty_cluster,
            } => {
                if let Some(cluster) = empty_cluster {
                    self.shard
                        .metrics
                        .upstream_error(cluster, UpstreamError::NoEndpoint);
                }
                let next = self.local_response(Some(li), status, false).await;
                self.shard.metrics.request(li, route, status);
                next
            }
            Decision::Forward {
                route,
                cluster,
                backend,
            } => self.forward(&cur, li, route, cluster, backend).await,
            Decision::Preflight { route, cors } => {
                let next = self.preflight_response(cors).await;
                self.shard.metrics.request(li, Some(route), 204);
                next
            }
            Decision::Redirect { route, redirect } => {
                let next = self.redirect_response(redirect).await;
                self.shard.metrics.request(li, Some(route), redirect.status);
                next
            }
        }
    }

    fn decide<'t>(&self, cur: &'t Current, li: usize) -> Decision<'t> {
        let table = &cur.installed.table;
        let listener = &table.listeners()[li];
        let headers = HeadView {
            head: &self.req,
            buf: &self.rbuf,
        };
        let req = Request {
            method: self.req.method_bytes(&self.rbuf),
            host: self.req.host(&self.rbuf).unwrap_or_default(),
            target: self.req.path(&self.rbuf),
            headers: &headers,
        };
        let Some(route) = listener.route(&req) else {
            return Decision::Local {
                route: None,
                status: 404,
                empty_cluster: None,
            };
        };
        let ri = Some(route.index());
        if let Some(cors) = cors_filter(route)
            && self.req.method() == Method::Options
            && self.req.header(&self.rbuf, "origin").is_some()
            && self
                .req
                .header(&self.rbuf, "access-control-request-method")
                .is_some()
        {
            return Decision::Preflight {
                route: route.index(),
                cors,
            };
        }
        match route.action() {
            RouteAction::Redirect(redirect) => Decision::Redirect {
                route: route.index(),
                redirect,
            },
            RouteAction::Direct { status } => Decision::Local {
                route: ri,
                status,
                empty_cluster: None,
            },
            RouteAction::Forward(backends) => {
                let picked = backends.pick_backend(self.shard.random());
                match &picked.target {
                    BackendTarget::Invalid { status } => Decision::Local {
                        route: ri,
                        status: *status,
                        empty_cluster: None,
                    },
                    BackendTarget::Cluster(ci) => {
                        let ci = *ci as usize;
                        let cluster = &table.clusters()[ci];
                        if cluster.endpoints.is_empty() {
                            Decision::Local {
                                route: ri,
                                status: 503,
                                empty_cluster: Some(&cluster.name),
                            }
                        } else {
                            Decision::Forward {
                                route,
                                cluster: ci,
                                backend: &picked.filters,
                            }
                        }
                    }
                }
            }
        }
    }

    /// Answer the current request (or a broken head, `li == None`) locally.
    /// The connection stays open only if the head was valid, it had no body
    /// (an unread body would desynchronise the stream), the client allows
    /// keep-alive and the shard is not draining.
    async fn local_response(&mut self, li: Option<usize>, status: u16, force_close: bool) -> Next {
        let close = force_close || li.is_none() || self.must_close_after_local();
        self.write_local(status, close, li.is_some());
        self.send_local(close).await
    }

    /// Whether a locally answered request ends the connection: an unread
    /// body would desynchronise the stream; the client or a drain may
    /// also ask for it.
    fn must_close_after_local(&self) -> bool {
        !self.req.keep_alive() || self.req.body() != BodyKind::None || self.shard.draining.get()
    }

    /// Answer the current request with redirect `r` (Gateway API
    /// `RequestRedirect`), built from the request as received.
    async fn redirect_response(&mut self, r: &Redirect) -> Next {
        let close = self.must_close_after_local();
        let origin = Origin {
            scheme: S::SCHEME,
            host: self.req.host(&self.rbuf).unwrap_or_default(),
            listener_port: self.bind.port(),
            target: self.req.path(&self.rbuf),
        };
        self.out.clear();
        redirect::write_redirect(&mut self.out, r, &origin, close);
        self.send_local(close).await
    }

    /// Answer a CORS preflight (Gateway API `CORS` filter) with 204 and,
    /// for an allowed origin, the CORS headers.
    async fn preflight_response(&mut self, c: &Cors) -> Next {
        let close = self.must_close_after_local();
        let r = cors::CorsRequest {
            origin: self.req.header(&self.rbuf, "origin").unwrap_or_default(),
            request_method: self.req.header(&self.rbuf, "access-control-request-method"),
            request_headers: self
                .req
                .header(&self.rbuf, "access-control-request-headers"),
        };
        self.out.clear();
        cors::write_preflight(&mut self.out, c, &r, close);
        self.shard.metrics.local_response(204);
        self.send_local(close).await
    }

    /// Write `self.out` (a complete local response) and consume the head.
    async fn send_local(&mut self, close: bool) -> Next {
        let out = std::mem::take(&mut self.out);
        let (res, out) = self.client.write_all(out).await;
        self.out = out;
        if res.is_err() || close {
            return Next::Close;
        }
        let consumed = self.req.head_len();
        self.rbuf.drain(..consumed);
        Next::KeepAlive
    }

    /// Forward the current request to an endpoint of `ci` and relay the
    /// response.
    async fn forward(
        &mut self,
        cur: &Rc<Current>,
        li: usize,
        route: &RouteEntry,
        ci: usize,
        backend: &[Filter],
    ) -> Next {
        let shard = self.shard.clone();
        let settings = &shard.settings;
        let cluster = &cur.installed.table.clusters()[ci];
        let rr = &cur.rr[ci];
        let pick = rr.get();
        rr.set(pick.wrapping_add(1));
        let endpoint = cluster.endpoints[pick % cluster.endpoints.len()].addr;
        let ri = Some(route.index());
        let timeouts = route.timeouts();
        let deadline = Instant::now()
            + timeouts
                .backend_request_ms
                .or(timeouts.request_ms)
                .map(ms)
                .unwrap_or(settings.response_timeout);

        // The upstream head, followed by whatever body bytes already arrived.
        let req_mods = header_mods(route, backend, true);
        let mut opts = UpstreamRequest::new(self.peer.ip(), S::SCHEME);
        opts.mods = req_mods.as_slice();
        if let Some(w) = url_rewrite(route) {
            if let Some(p) = &w.path {
                self.target.clear();
                let (path, query) = redirect::split_target(self.req.path(&self.rbuf));
                redirect::rewrite_path(&mut self.target, p, path);
                self.target.extend_from_slice(query);
                opts.path = Some(&self.target);
            }
            opts.host = w.hostname.as_deref().map(str::as_bytes);
        }
        self.out.clear();
        if let Err(e) = write_upstream_request(&self.req, &self.rbuf, &opts, &mut self.out) {
            tracing::warn!(route = route.name(), error = %e, "request header modifier rejected");
            let next = self.local_response(Some(li), 500, true).await;
            self.shard.metrics.request(li, ri, 500);
            return next;
        }
        let head_len = self.req.head_len();
        let method = self.req.method();
        // Kept past the head's lifetime in `rbuf`, for the CORS headers.
        let origin: Option<Vec<u8>> = cors_filter(route)
            .and_then(|_| self.req.header(&self.rbuf, "origin"))
            .map(<[u8]>::to_vec);
        let mut client_opts = ClientResponse::for_request(&self.req);
        let expect_continue = self.req.expect_continue();
        let mut body = ReqBody::new(self.req.body());
        let Ok(initial) = body.take(&self.rbuf[head_len..]) else {
            let next = self.local_response(Some(li), 400, true).await;
            self.shard.metrics.request(li, ri, 400);
            return next;
        };
        self.out
            .extend_from_slice(&self.rbuf[head_len..head_len + initial]);
        if route
            .filters()
            .iter()
            .any(|f| matches!(f, Filter::RequestMirror(_)))
        {
            self.mirror(
                cur,
                route,
                backend,
                &opts,
                body.is_done(),
                initial,
                deadline,
            );
        }
        self.rbuf.drain(..head_len + initial);

        // An upstream connection: pooled if a live one exists, else new.
        let attempt = upstream::send_head(
            &self.shard,
            cluster,
            endpoint,
            std::mem::take(&mut self.out),
            deadline,
        )
        .await;
        let mut up = match attempt {
            Attempt::Sent { stream, buf } => {
                self.out = buf;
                stream
            }
            Attempt::Failed { failure, buf } => {
                self.out = buf;
                let body_unread = !body.is_done();
                return self
                    .upstream_failed(li, ri, &cluster.name, failure, body_unread)
                    .await;
            }
        };

        // The rest of the request body, streamed.
        let mut sent_continue = false;
        if !body.is_done() && expect_continue {
            self.out.clear();
            write_continue(&mut self.out);
            let (res, out) = self.client.write_all(std::mem::take(&mut self.out)).await;
            self.out = out;
            if res.is_err() {
                return Next::Close;
            }
            sent_continue = true;
        }
        while !body.is_done() {
            let buf = std::mem::take(&mut self.rbuf);
            let read = monoio::time::timeout(
                settings.client_body_timeout,
                self.client.read_into(buf, settings.buffer_size),
            )
            .await;
            let buf = match read {
                Ok((Ok(n), buf)) if n > 0 => buf,
                // Client gone or stalled mid-body: nothing sane to answer.
                _ => return Next::Close,
            };
            let Ok(n) = body.take(&buf) else {
                self.rbuf = buf;
                let next = self.local_response(Some(li), 400, true).await;
                self.shard.metrics.request(li, ri, 400);
                return next;
            };
            let (res, mut buf) = write_slice(&mut up, buf, 0..n).await;
            if res.is_err() {
                self.rbuf = Vec::new();
                self.shard
                    .metrics
                    .upstream_error(&cluster.name, UpstreamError::Reset);
                let next = self.local_response(Some(li), 502, true).await;
                self.shard.metrics.request(li, ri, 502);
                return next;
            }
            buf.drain(..n);
            self.rbuf = buf;
        }

        // The response head, skipping interim responses.
        self.ubuf.clear();
        loop {
            if !self.ubuf.is_empty() {
                match self.resp.parse(&self.ubuf, method, &settings.limits) {
                    Ok(ParseStatus::Complete) if self.resp.is_interim() => {
                        let hl = self.resp.head_len();
                        // Interim responses never go to HTTP/1.0 clients
                        // (RFC 9110 §15.2), and a 100 we already sent is
                        // not sent twice.
                        let relay = client_opts.client_version == Version::Http11
                            && !(sent_continue && self.resp.status() == 100);
                        if relay {
                            self.out.clear();
                            let _ = write_client_response(
                                &self.resp,
                                &self.ubuf,
                                &client_opts,
                                &mut self.out,
                            );
                            let (res, out) =
                                self.client.write_all(std::mem::take(&mut self.out)).await;
                            self.out = out;
                            if res.is_err() {
                                return Next::Close;
                            }
                        }
                        self.ubuf.drain(..hl);
                        continue;
                    }
                    Ok(ParseStatus::Complete) => break,
                    Ok(ParseStatus::Partial) => {}
                    Err(_) => {
                        return self
                            .upstream_failed(
                                li,
                                ri,
                                &cluster.name,
                                UpstreamFailure::Protocol,
                                false,
                            )
                            .await;
                    }
                }
            }
            let buf = std::mem::take(&mut self.ubuf);
            let read = monoio::time::timeout_at(
                deadline.into(),
                read_into(&mut up, buf, settings.buffer_size),
            )
            .await;
            match read {
                Err(_) => {
                    return self
                        .upstream_failed(li, ri, &cluster.name, UpstreamFailure::Timeout, false)
                        .await;
                }
                Ok((Ok(n), buf)) if n > 0 => self.ubuf = buf,
                Ok((_, _)) => {
                    return self
                        .upstream_failed(li, ri, &cluster.name, UpstreamFailure::Reset, false)
                        .await;
                }
            }
        }

        // Relay the response.
        let status = self.resp.status();
        let mut resp_mods = header_mods(route, backend, false);
        // CORS headers for an allowed origin (allocated only then).
        let cors_set = match (cors_filter(route), &origin) {
            (Some(c), Some(o)) if cors::origin_allowed(c, o) => cors::response_headers(c, o),
            _ => Vec::new(),
        };
        if !cors_set.is_empty() {
            resp_mods.push(HeaderMods {
                set: &cors_set,
                add: &[],
                remove: &[],
            });
        }
        client_opts.mods = resp_mods.as_slice();
        client_opts.close |= self.shard.draining.get();
        self.out.clear();
        let plan = match write_client_response(&self.resp, &self.ubuf, &client_opts, &mut self.out)
        {
            Ok(plan) => plan,
            Err(WriteError::UnexpectedSwitchingProtocols) => {
                // A 101 to a request whose upgrade was not forwarded.
                return self
                    .upstream_failed(li, ri, &cluster.name, UpstreamFailure::Protocol, false)
                    .await;
            }
            Err(e) => {
                tracing::warn!(route = route.name(), error = %e, "response header modifier rejected");
                let next = self.local_response(Some(li), 500, true).await;
                self.shard.metrics.request(li, ri, 500);
                return next;
            }
        };
        let mut rbody = match plan.body {
            ClientBody::None => RespBody::Done,
            ClientBody::Length(n) => RespBody::Length(LengthBody::new(n)),
            ClientBody::Chunked => RespBody::Chunked(ChunkedDecoder::new()),
            ClientBody::Dechunk => RespBody::Dechunk(ChunkedDecoder::new()),
            ClientBody::UntilClose => RespBody::UntilClose,
        };
        if let RespBody::Length(l) = &rbody
            && l.is_done()
        {
            rbody = RespBody::Done;
        }
        let hl = self.resp.head_len();
        let Ok(used) = rbody.copy(&self.ubuf[hl..], &mut self.out) else {
            // Broken upstream framing before anything reached the client.
            return self
                .upstream_failed(li, ri, &cluster.name, UpstreamFailure::Protocol, false)
                .await;
        };
        let mut leftover = self.ubuf.len() - hl - used;
        let (res, out) = self.client.write_all(std::mem::take(&mut self.out)).await;
        self.out = out;
        if res.is_err() {
            self.shard.metrics.request(li, ri, status);
            return Next::Close;
        }
        let mut upstream_eof = false;
        while !matches!(rbody, RespBody::Done) {
            self.ubuf.clear();
            let buf = std::mem::take(&mut self.ubuf);
            let read = monoio::time::timeout(
                settings.upstream_body_timeout,
                read_into(&mut up, buf, settings.buffer_size),
            )
            .await;
            let buf = match read {
                Ok((Ok(n), buf)) if n > 0 => buf,
                Ok((Ok(_), buf)) if matches!(rbody, RespBody::UntilClose) => {
                    self.ubuf = buf;
                    upstream_eof = true;
                    break;
                }
                _ => {
                    // Truncated body: the client can only learn by a close.
                    self.shard
                        .metrics
                        .upstream_error(&cluster.name, UpstreamError::Reset);
                    self.shard.metrics.request(li, ri, status);
                    return Next::Close;
                }
            };
            self.out.clear();
            let used = if matches!(rbody, RespBody::Length(_) | RespBody::UntilClose) {
                // Plain bytes: write straight from the read buffer.
                let used = match &mut rbody {
                    RespBody::Length(l) => l.take(buf.len()),
                    _ => buf.len(),
                };
                if let RespBody::Length(l) = &rbody
                    && l.is_done()
                {
                    rbody = RespBody::Done;
                }
                let (res, buf) = self.client.write_slice(buf, 0..used).await;
                self.ubuf = buf;
                if res.is_err() {
                    self.shard.metrics.request(li, ri, status);
                    return Next::Close;
                }
                used
            } else {
                let Ok(used) = rbody.copy(&buf, &mut self.out) else {
                    self.shard
                        .metrics
                        .upstream_error(&cluster.name, UpstreamError::Protocol);
                    self.shard.metrics.request(li, ri, status);
                    return Next::Close;
                };
                self.ubuf = buf;
                let (res, out) = self.client.write_all(std::mem::take(&mut self.out)).await;
                self.out = out;
                if res.is_err() {
                    self.shard.metrics.request(li, ri, status);
                    return Next::Close;
                }
                used
            };
            leftover = self.ubuf.len() - used;
        }
        self.shard.metrics.request(li, ri, status);
        let reusable = self.resp.keep_alive()
            && !upstream_eof
            && leftover == 0
            && !matches!(plan.body, ClientBody::UntilClose)
            && !self.shard.draining.get();
        if reusable {
            self.shard
                .pool
                .put(endpoint, up, cluster.max_idle_per_endpoint as usize);
        }
        if plan.close {
            Next::Close
        } else {
            Next::KeepAlive
        }
    }

    /// Spawn the route's RequestMirror copies of the current request, whose
    /// upstream head and first `initial` body bytes are in `out`. Only a
    /// request whose body is complete (`body_done`) is copied; see
    /// [`crate::mirror`]. The copy carries the route's modifications but
    /// not the picked backend's own filters.
    #[allow(clippy::too_many_arguments)]
    fn mirror(
        &self,
        cur: &Rc<Current>,
        route: &RouteEntry,
        backend: &[Filter],
        opts: &UpstreamRequest<'_>,
        body_done: bool,
        initial: usize,
        deadline: Instant,
    ) {
        let m = &self.shard.metrics;
        for f in route.filters() {
            let Filter::RequestMirror(mirror) = f else {
                continue;
            };
            if !mirror::chosen(mirror, self.shard.random()) {
                continue;
            }
            if !body_done {
                m.mirrors_skipped.set(m.mirrors_skipped.get() + 1);
                continue;
            }
            let copy = if backend.is_empty() {
                self.out.clone()
            } else {
                // The same head without the backend's own modifiers.
                let route_mods = header_mods(route, &[], true);
                let mut o = *opts;
                o.mods = route_mods.as_slice();
                let mut copy = Vec::with_capacity(self.out.len());
                if write_upstream_request(&self.req, &self.rbuf, &o, &mut copy).is_err() {
                    continue;
                }
                let head_len = self.req.head_len();
                copy.extend_from_slice(&self.rbuf[head_len..head_len + initial]);
                copy
            };
            let timeout = deadline.saturating_duration_since(Instant::now());
            monoio::spawn(mirror::send(
                self.shard.clone(),
                cur.clone(),
                mirror.cluster as usize,
                self.req.method(),
                copy,
                timeout,
            ));
        }
    }

    /// Put a small local response in `out`: status line, `Content-Length`,
    /// a one-line body (none for HEAD, whose response carries the length
    /// only), `Connection: close` when closing.
    fn write_local(&mut self, status: u16, close: bool, head_valid: bool) {
        self.out.clear();
        write_error_response(&mut self.out, status, close);
        if head_valid
            && self.req.method() == Method::Head
            && let Some(end) = self.out.windows(4).position(|w| w == b"\r\n\r\n")
        {
            self.out.truncate(end + 4);
        }
        self.shard.metrics.local_response(status);
    }

    /// Answer a failed upstream exchange: 504 for a timeout, 502 otherwise.
    async fn upstream_failed(
        &mut self,
        li: usize,
        ri: Option<usize>,
        cluster: &str,
        failure: UpstreamFailure,
        body_unread: bool,
    ) -> Next {
        let (status, kind) = match failure {
            UpstreamFailure::Connect => (502, UpstreamError::Connect),
            UpstreamFailure::ConnectTimeout => (502, UpstreamError::ConnectTimeout),
            UpstreamFailure::Timeout => (504, UpstreamError::ResponseTimeout),
            UpstreamFailure::Reset => (502, UpstreamError::Reset),
            UpstreamFailure::Protocol => (502, UpstreamError::Protocol),
        };
        self.shard.metrics.upstream_error(cluster, kind);
        // The request head was consumed already; an unread body was
        // streamed or the connection closes.
        let close = body_unread || !self.req.keep_alive() || self.shard.draining.get();
        self.write_local(status, close, true);
        self.shard.metrics.request(li, ri, status);
        let (res, out) = self.client.write_all(std::mem::take(&mut self.out)).await;
        self.out = out;
        if res.is_err() || close {
            Next::Close
        } else {
            Next::KeepAlive
        }
    }
}

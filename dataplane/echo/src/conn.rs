//! One client connection: read, parse with `shardgate-http1`, consume the
//! body as it streams, answer, repeat (keep-alive and pipelining).

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use monoio::buf::IoBuf;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use shardgate_http1::{
    BodyKind, ChunkedDecoder, LengthBody, Limits, Method, ParseStatus, RequestHead, Version,
    reason_phrase, write_continue, write_error_response,
};

use crate::Ctx;
use crate::reply::{self, Action, Body, Reply};
use crate::ws;

const READ_SIZE: usize = 64 * 1024;
const PATTERN_BLOCK: usize = 64 * 1024;
const CHUNK_SIZE: usize = 16 * 1024;

/// Generated body bytes: `0123456789abcdef` repeating (byte `i` of a body
/// is `"0123456789abcdef"[i % 16]`).
fn pattern_block() -> Vec<u8> {
    (0..PATTERN_BLOCK)
        .map(|i| b"0123456789abcdef"[i % 16])
        .collect()
}

struct Conn {
    stream: TcpStream,
    /// Received, not yet consumed bytes.
    pending: Vec<u8>,
    /// Owned read buffer handed to the kernel and back.
    rbuf: Vec<u8>,
    /// Owned write buffer.
    out: Vec<u8>,
}

enum BodyEnd {
    /// The body was consumed; this many body (data) bytes.
    Done(u64),
    /// Invalid chunked framing: answer 400 and close.
    Invalid,
    /// The peer closed before the body ended.
    Eof,
}

impl Conn {
    /// Read once, append to `pending`. Returns 0 at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        let mut buf = std::mem::take(&mut self.rbuf);
        buf.clear();
        let (res, buf) = self.stream.read(buf).await;
        self.rbuf = buf;
        let n = res?;
        self.pending.extend_from_slice(&self.rbuf[..n]);
        Ok(n)
    }

    async fn flush_out(&mut self) -> io::Result<()> {
        let (res, buf) = self.stream.write_all(std::mem::take(&mut self.out)).await;
        self.out = buf;
        self.out.clear();
        res.map(|_| ())
    }

    async fn consume_body(&mut self, kind: BodyKind) -> io::Result<BodyEnd> {
        match kind {
            BodyKind::None => Ok(BodyEnd::Done(0)),
            BodyKind::Length(n) => {
                let mut body = LengthBody::new(n);
                loop {
                    let take = body.take(self.pending.len());
                    self.pending.drain(..take);
                    if body.is_done() {
                        return Ok(BodyEnd::Done(n));
                    }
                    if self.fill().await? == 0 {
                        return Ok(BodyEnd::Eof);
                    }
                }
            }
            BodyKind::Chunked => {
                let mut dec = ChunkedDecoder::new();
                loop {
                    if !self.pending.is_empty() {
                        match dec.feed(&self.pending) {
                            Ok(p) => {
                                self.pending.drain(..p.consumed);
                                if p.done {
                                    return Ok(BodyEnd::Done(dec.data_len()));
                                }
                            }
                            Err(e) => {
                                tracing::debug!(error = %e, "echo: invalid chunked body");
                                return Ok(BodyEnd::Invalid);
                            }
                        }
                    }
                    if self.fill().await? == 0 {
                        return Ok(BodyEnd::Eof);
                    }
                }
            }
        }
    }
}

/// Serve one connection until it closes; errors are logged, never panic.
pub(crate) async fn serve_connection(stream: TcpStream, peer: SocketAddr, ctx: Rc<Ctx>) {
    let mut conn = Conn {
        stream,
        pending: Vec::with_capacity(READ_SIZE),
        rbuf: Vec::with_capacity(READ_SIZE),
        out: Vec::with_capacity(4096),
    };
    if let Err(e) = handle(&mut conn, peer, &ctx).await {
        tracing::debug!(%peer, error = %e, "echo connection ended with an error");
    }
}

async fn handle(conn: &mut Conn, peer: SocketAddr, ctx: &Ctx) -> io::Result<()> {
    let limits = Limits::default();
    let mut head = RequestHead::new();
    loop {
        match head.parse(&conn.pending, &limits) {
            Ok(ParseStatus::Partial) => {
                if conn.fill().await? == 0 {
                    return Ok(());
                }
                continue;
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "echo: rejecting request");
                write_error_response(&mut conn.out, e.status(), true);
                return conn.flush_out().await;
            }
            Ok(ParseStatus::Complete) => {}
        }
        let action = reply::decide(&head, &conn.pending, ctx, peer);
        let keep_alive = head.keep_alive();
        let version = head.version();
        let is_head = head.method() == Method::Head;
        let body_kind = head.body();
        conn.pending.drain(..head.head_len());

        let has_body = !matches!(body_kind, BodyKind::None | BodyKind::Length(0));
        if head.expect_continue() && has_body && conn.pending.is_empty() {
            write_continue(&mut conn.out);
            conn.flush_out().await?;
        }
        let body_len = match conn.consume_body(body_kind).await? {
            BodyEnd::Done(n) => n,
            BodyEnd::Eof => return Ok(()),
            BodyEnd::Invalid => {
                write_error_response(&mut conn.out, 400, true);
                return conn.flush_out().await;
            }
        };
        match action {
            Action::WebSocket { accept } => {
                conn.out.extend_from_slice(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
                );
                conn.out.extend_from_slice(accept.as_bytes());
                conn.out.extend_from_slice(b"\r\n\r\n");
                conn.flush_out().await?;
                return echo_frames(conn).await;
            }
            Action::Abort { delay } => {
                if let Some(d) = delay {
                    monoio::time::sleep(d).await;
                }
                return Ok(());
            }
            Action::Respond(reply) => {
                if let Some(d) = reply.delay {
                    monoio::time::sleep(d).await;
                }
                let resp = Response {
                    version,
                    keep_alive,
                    is_head,
                    body_len,
                };
                write_reply(conn, &reply, &resp).await?;
                if !keep_alive {
                    return Ok(());
                }
            }
        }
    }
}

struct Response {
    version: Version,
    keep_alive: bool,
    is_head: bool,
    body_len: u64,
}

fn put_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

async fn write_reply(conn: &mut Conn, reply: &Reply, resp: &Response) -> io::Result<()> {
    let out = &mut conn.out;
    out.clear();
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {} {}\r\n",
            reply.status,
            reason_phrase(reply.status)
        )
        .as_bytes(),
    );
    for (n, v) in &reply.headers {
        put_field(out, n, v);
    }
    put_field(out, "X-Echo-Body-Length", &resp.body_len.to_string());
    let chunked = matches!(reply.body, Body::Chunked(_)) && resp.version == Version::Http11;
    let bodiless_status = reply.status == 204 || reply.status == 304 || reply.status < 200;
    let len = match &reply.body {
        Body::Bytes(b) => b.len() as u64,
        Body::Pattern(n) | Body::Chunked(n) => *n,
    };
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else if !bodiless_status {
        put_field(out, "Content-Length", &len.to_string());
    }
    if !resp.keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if resp.version == Version::Http10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if resp.is_head || bodiless_status {
        return conn.flush_out().await;
    }
    match &reply.body {
        Body::Bytes(b) => {
            conn.out.extend_from_slice(b);
            conn.flush_out().await
        }
        Body::Pattern(n) | Body::Chunked(n) if !chunked => {
            conn.flush_out().await?;
            stream_pattern(conn, *n).await
        }
        Body::Pattern(n) | Body::Chunked(n) => {
            conn.flush_out().await?;
            stream_chunked(conn, *n).await
        }
    }
}

/// Write `n` pattern bytes in 64 KiB writes from one reused block.
async fn stream_pattern(conn: &mut Conn, n: u64) -> io::Result<()> {
    let mut block = pattern_block();
    let mut left = n;
    while left > 0 {
        let take = left.min(PATTERN_BLOCK as u64) as usize;
        let (res, slice) = conn.stream.write_all(block.slice(..take)).await;
        block = slice.into_inner();
        res?;
        left -= take as u64;
    }
    Ok(())
}

/// Write `n` pattern bytes as chunks of at most 16 KiB, then the last-chunk.
async fn stream_chunked(conn: &mut Conn, n: u64) -> io::Result<()> {
    let block = pattern_block();
    let mut left = n;
    let mut offset = 0usize;
    while left > 0 {
        let take = left.min(CHUNK_SIZE as u64) as usize;
        conn.out.clear();
        conn.out
            .extend_from_slice(format!("{take:x}\r\n").as_bytes());
        let start = offset % PATTERN_BLOCK;
        // CHUNK_SIZE divides PATTERN_BLOCK, so a chunk never wraps.
        conn.out.extend_from_slice(&block[start..start + take]);
        conn.out.extend_from_slice(b"\r\n");
        conn.flush_out().await?;
        left -= take as u64;
        offset += take;
    }
    conn.out.extend_from_slice(b"0\r\n\r\n");
    conn.flush_out().await?;
    Ok(())
}

/// After a 101: echo WebSocket frames until the client closes.
async fn echo_frames(conn: &mut Conn) -> io::Result<()> {
    loop {
        loop {
            let parsed = match ws::parse_frame(&conn.pending) {
                Ok(p) => p,
                Err(e) => {
                    tracing::debug!(error = ?e, "echo: websocket protocol error");
                    // 1002 protocol error.
                    ws::write_frame(&mut conn.out, true, 0x8, &1002u16.to_be_bytes());
                    return conn.flush_out().await;
                }
            };
            let Some((frame, used)) = parsed else { break };
            conn.pending.drain(..used);
            match frame.opcode {
                0x8 => {
                    ws::write_frame(&mut conn.out, true, 0x8, &frame.payload);
                    return conn.flush_out().await;
                }
                0x9 => ws::write_frame(&mut conn.out, true, 0xA, &frame.payload),
                0xA => {}
                op => ws::write_frame(&mut conn.out, frame.fin, op, &frame.payload),
            }
        }
        if !conn.out.is_empty() {
            conn.flush_out().await?;
        }
        if conn.fill().await? == 0 {
            return Ok(());
        }
    }
}

//! tokio's `AsyncRead`/`AsyncWrite` over a monoio `TcpStream`, without
//! unsafe code: two small monoio tasks pump bytes between the socket and
//! two single-threaded pipes, which the poll-based side reads and writes.
//! This is what lets the `h2` crate (written against tokio's I/O traits)
//! run on the lab's own thread-per-core runtime. The pipes cost one copy
//! each way; that cost is the generator's and the same for every proxy.

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt, Splitable};
use monoio::net::TcpStream;
use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes a pipe holds before its producer waits.
const PIPE_LIMIT: usize = 256 * 1024;
/// One socket read.
const READ_CHUNK: usize = 64 * 1024;

#[derive(Default)]
struct Pipe {
    data: Vec<u8>,
    /// Consumed prefix of `data`.
    pos: usize,
    /// The producer is done (end of stream, or the writer shut down).
    closed: bool,
    /// The socket failed.
    error: Option<io::ErrorKind>,
    /// The writer pump holds bytes it has not finished sending.
    in_flight: bool,
    consumer: Option<Waker>,
    producer: Option<Waker>,
}

impl Pipe {
    fn pending(&self) -> usize {
        self.data.len() - self.pos
    }

    fn wake_consumer(&mut self) {
        if let Some(w) = self.consumer.take() {
            w.wake();
        }
    }

    fn wake_producer(&mut self) {
        if let Some(w) = self.producer.take() {
            w.wake();
        }
    }
}

/// The poll-based end; dropping it shuts the socket's write side down.
pub struct Compat {
    rx: Rc<RefCell<Pipe>>,
    tx: Rc<RefCell<Pipe>>,
}

impl Compat {
    /// Wrap `stream`; `already_read` are bytes read from it before (they
    /// are delivered first). Spawns the two pump tasks on the current
    /// monoio runtime.
    pub fn new(stream: TcpStream, already_read: Vec<u8>) -> Compat {
        let rx = Rc::new(RefCell::new(Pipe {
            data: already_read,
            ..Pipe::default()
        }));
        let tx = Rc::new(RefCell::new(Pipe::default()));
        let (read_half, write_half) = stream.into_split();
        monoio::spawn(read_pump(read_half, rx.clone()));
        monoio::spawn(write_pump(write_half, tx.clone()));
        Compat { rx, tx }
    }
}

impl Drop for Compat {
    fn drop(&mut self) {
        let mut tx = self.tx.borrow_mut();
        tx.closed = true;
        tx.wake_consumer();
        // The read pump ends when the peer closes in turn.
        self.rx.borrow_mut().closed = true;
    }
}

async fn read_pump<R: AsyncReadRent>(mut sock: R, pipe: Rc<RefCell<Pipe>>) {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        // Wait for room (or for the consumer to go away).
        let go_on = poll_fn(|cx| {
            let mut p = pipe.borrow_mut();
            if p.closed {
                Poll::Ready(false)
            } else if p.pending() < PIPE_LIMIT {
                Poll::Ready(true)
            } else {
                p.producer = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        if !go_on {
            return;
        }
        buf.clear();
        let (res, slice) = sock.read(buf.slice_mut(0..READ_CHUNK)).await;
        buf = slice.into_inner();
        let mut p = pipe.borrow_mut();
        match res {
            Ok(0) => p.closed = true,
            Ok(_) => {
                if p.pos == p.data.len() {
                    p.data.clear();
                    p.pos = 0;
                }
                p.data.extend_from_slice(&buf);
            }
            Err(e) => {
                p.error = Some(e.kind());
                p.closed = true;
            }
        }
        let done = p.closed;
        p.wake_consumer();
        if done {
            return;
        }
    }
}

async fn write_pump<W: AsyncWriteRent>(mut sock: W, pipe: Rc<RefCell<Pipe>>) {
    let mut spare: Vec<u8> = Vec::new();
    loop {
        let next = poll_fn(|cx| {
            let mut p = pipe.borrow_mut();
            if p.pending() > 0 {
                let mut out = std::mem::take(&mut spare);
                out.clear();
                out.extend_from_slice(&p.data[p.pos..]);
                p.data.clear();
                p.pos = 0;
                p.in_flight = true;
                p.wake_producer();
                Poll::Ready(Some(out))
            } else if p.closed {
                Poll::Ready(None)
            } else {
                p.consumer = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        let Some(out) = next else {
            let _ = sock.shutdown().await;
            return;
        };
        let (res, out) = sock.write_all(out).await;
        spare = out;
        let mut p = pipe.borrow_mut();
        p.in_flight = false;
        if let Err(e) = res {
            p.error = Some(e.kind());
            p.closed = true;
            p.wake_producer();
            return;
        }
        p.wake_producer();
    }
}

impl AsyncRead for Compat {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut p = self.rx.borrow_mut();
        if p.pending() > 0 {
            let n = p.pending().min(out.remaining());
            let start = p.pos;
            out.put_slice(&p.data[start..start + n]);
            p.pos += n;
            p.wake_producer();
            return Poll::Ready(Ok(()));
        }
        if let Some(kind) = p.error {
            return Poll::Ready(Err(kind.into()));
        }
        if p.closed {
            return Poll::Ready(Ok(()));
        }
        p.consumer = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for Compat {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut p = self.tx.borrow_mut();
        if let Some(kind) = p.error {
            return Poll::Ready(Err(kind.into()));
        }
        if p.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if p.pending() >= PIPE_LIMIT {
            p.producer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(PIPE_LIMIT - p.pending());
        p.data.extend_from_slice(&buf[..n]);
        p.wake_consumer();
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut p = self.tx.borrow_mut();
        if let Some(kind) = p.error {
            return Poll::Ready(Err(kind.into()));
        }
        if p.pending() == 0 && !p.in_flight {
            return Poll::Ready(Ok(()));
        }
        p.producer = Some(cx.waker().clone());
        Poll::Pending
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut p = self.tx.borrow_mut();
        p.closed = true;
        p.wake_consumer();
        Poll::Ready(Ok(()))
    }
}

//! HTTP/1.1 exchanges: one request written, one response read to its end,
//! over a clear-text TCP stream or a TLS session ([`crate::tls`]).

use crate::conn::{Exchange, Outcome, ShardRun};
use crate::http::ResponseReader;
use crate::stats::ErrorKind;
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use std::io;

/// Read buffer per connection; grows for long heads.
const READ_BUF: usize = 16 * 1024;

/// A byte stream with owned buffers, as monoio does I/O.
pub(crate) trait Io: Sized {
    /// Write all of `buf`, handing it back.
    async fn write_all(&mut self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>);
    /// Append what arrives to `buf` (up to its capacity); 0 at end of stream.
    async fn read_more(&mut self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>);
}

impl Io for TcpStream {
    async fn write_all(&mut self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        let (res, buf) = AsyncWriteRentExt::write_all(self, buf).await;
        (res.map(|_| ()), buf)
    }

    async fn read_more(&mut self, mut buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        let len = buf.len();
        let total = buf.bytes_total();
        let (res, slice) = self.read(buf.slice_mut(len..total)).await;
        (res, slice.into_inner())
    }
}

/// How an HTTP/1.1 exchanger opens its connections.
pub(crate) trait Connector {
    type Stream: Io;
    async fn connect(&self, run: &ShardRun) -> Result<Self::Stream, ErrorKind>;
}

/// Clear-text TCP.
pub(crate) struct Plain;

impl Connector for Plain {
    type Stream = TcpStream;

    async fn connect(&self, run: &ShardRun) -> Result<TcpStream, ErrorKind> {
        let stream = TcpStream::connect_addr(run.addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

struct Conn<S> {
    stream: S,
    buf: Vec<u8>,
    reader: ResponseReader,
}

/// One HTTP/1.1 request loop's connection (kept alive or not).
pub(crate) struct H1<C: Connector> {
    connector: std::rc::Rc<C>,
    request: Vec<u8>,
    slot: Option<Conn<C::Stream>>,
}

impl<C: Connector> H1<C> {
    pub fn new(connector: std::rc::Rc<C>, request: Vec<u8>) -> Self {
        H1 {
            connector,
            request,
            slot: None,
        }
    }
}

impl<C: Connector> Exchange for H1<C> {
    fn reset(&mut self) {
        self.slot = None;
    }

    async fn exchange(&mut self, run: &ShardRun) -> Outcome {
        if self.slot.is_none() {
            let stream = match self.connector.connect(run).await {
                Ok(s) => s,
                Err(kind) => return Outcome::Failed(kind),
            };
            run.stats.borrow_mut().connections_opened += 1;
            self.slot = Some(Conn {
                stream,
                buf: Vec::with_capacity(READ_BUF),
                reader: ResponseReader::new(),
            });
        }
        let Some(conn) = self.slot.as_mut() else {
            return Outcome::Failed(ErrorKind::Connect);
        };
        let req = std::mem::take(&mut self.request);
        let (res, req) = conn.stream.write_all(req).await;
        self.request = req;
        if res.is_err() {
            return Outcome::Failed(ErrorKind::Write);
        }
        loop {
            match conn.reader.advance(&conn.buf) {
                Err(_) => return Outcome::Failed(ErrorKind::Parse),
                Ok((used, done)) => {
                    if used == conn.buf.len() {
                        conn.buf.clear();
                    } else if used > 0 {
                        conn.buf.drain(..used);
                    }
                    if let Some(resp) = done {
                        return Outcome::Done(resp);
                    }
                }
            }
            if conn.buf.len() == conn.buf.capacity() {
                conn.buf.reserve(conn.buf.capacity());
            }
            let buf = std::mem::take(&mut conn.buf);
            let (res, buf) = conn.stream.read_more(buf).await;
            conn.buf = buf;
            match res {
                Err(_) => return Outcome::Failed(ErrorKind::Read),
                Ok(0) => {
                    return match conn.reader.eof() {
                        Some(resp) => Outcome::Done(resp),
                        None => Outcome::Failed(ErrorKind::Closed),
                    };
                }
                Ok(_) => {}
            }
        }
    }
}

//! Owned-buffer I/O helpers over monoio's rent traits.

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use shardgate_http1::Scheme;
use shardgate_tls::TlsStream;
use std::io;
use std::ops::Range;
use std::os::fd::AsRawFd;

/// Read once, appending to `buf` (at least `min_spare` bytes of room are
/// made first). Returns the byte count (0 at end of input) and the buffer.
pub async fn read_into<S: AsyncReadRent>(
    stream: &mut S,
    mut buf: Vec<u8>,
    min_spare: usize,
) -> (io::Result<usize>, Vec<u8>) {
    if buf.capacity() - buf.len() < min_spare {
        buf.reserve(min_spare);
    }
    let (len, cap) = (buf.len(), buf.capacity());
    let (res, slice) = stream.read(buf.slice_mut(len..cap)).await;
    (res, slice.into_inner())
}

/// Write `buf[range]` completely, then hand the whole buffer back.
pub async fn write_slice<S: AsyncWriteRent>(
    stream: &mut S,
    buf: Vec<u8>,
    range: Range<usize>,
) -> (io::Result<usize>, Vec<u8>) {
    if range.is_empty() {
        return (Ok(0), buf);
    }
    let (res, slice) = stream.write_all(buf.slice(range)).await;
    (res, slice.into_inner())
}

/// A client connection as [`crate::conn`] uses it: plain TCP or TLS over
/// TCP, chosen per listener and monomorphised (no dynamic dispatch).
///
/// These are owned-buffer operations on `Vec<u8>` rather than monoio's
/// generic rent traits: a TLS stream hands plaintext over from rustls'
/// buffers, which for an arbitrary `IoBufMut` would need raw-pointer
/// writes, and this crate forbids `unsafe`.
pub trait Downstream: AsRawFd {
    /// `X-Forwarded-Proto` / `Forwarded: proto=` of requests on it.
    const SCHEME: Scheme;

    /// As [`read_into`]: append at least one byte, or `Ok(0)` at the end.
    async fn read_into(&mut self, buf: Vec<u8>, min_spare: usize) -> (io::Result<usize>, Vec<u8>);

    /// Send `buf[range]` completely, then hand the buffer back.
    async fn write_slice(
        &mut self,
        buf: Vec<u8>,
        range: Range<usize>,
    ) -> (io::Result<usize>, Vec<u8>);

    /// Send all of `buf`.
    async fn write_all(&mut self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        let len = buf.len();
        self.write_slice(buf, 0..len).await
    }

    /// Say goodbye before the socket is closed (TLS close_notify).
    async fn close(&mut self);
}

impl Downstream for TcpStream {
    const SCHEME: Scheme = Scheme::Http;

    async fn read_into(&mut self, buf: Vec<u8>, min_spare: usize) -> (io::Result<usize>, Vec<u8>) {
        read_into(self, buf, min_spare).await
    }

    async fn write_slice(
        &mut self,
        buf: Vec<u8>,
        range: Range<usize>,
    ) -> (io::Result<usize>, Vec<u8>) {
        write_slice(self, buf, range).await
    }

    async fn close(&mut self) {}
}

impl Downstream for TlsStream<TcpStream> {
    const SCHEME: Scheme = Scheme::Https;

    async fn read_into(&mut self, buf: Vec<u8>, _min_spare: usize) -> (io::Result<usize>, Vec<u8>) {
        TlsStream::read_into(self, buf).await
    }

    async fn write_slice(
        &mut self,
        buf: Vec<u8>,
        range: Range<usize>,
    ) -> (io::Result<usize>, Vec<u8>) {
        self.write_range(buf, range).await
    }

    async fn close(&mut self) {
        TlsStream::close(self).await;
    }
}

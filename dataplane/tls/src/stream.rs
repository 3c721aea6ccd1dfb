//! A server-side TLS stream over monoio's owned-buffer I/O.
//!
//! rustls' `ServerConnection` does the protocol; this adapter moves bytes:
//! ciphertext is read from the socket into `rx` and fed with `read_tls`,
//! plaintext is written with `writer()` and the records it produces are
//! drained with `write_tls` into `tx`, which goes to the socket as an
//! owned buffer. Both buffers live as long as the connection, so after the
//! handshake no I/O allocates here (rustls keeps its own record buffers).
//!
//! Plaintext comes out appended to a caller's `Vec<u8>` and goes in from a
//! caller's `Vec<u8>` range, the same shapes the proxy uses for plain TCP.

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
use rustls::{HandshakeKind, ServerConfig, ServerConnection};
use std::io::{self, Read as _, Write as _};
use std::ops::Range;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

/// Why a handshake did not complete.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("the client closed the connection during the handshake")]
    Eof,
    #[error("I/O error during the handshake: {0}")]
    Io(#[from] io::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(#[from] rustls::Error),
}

/// An established (or establishing) server-side TLS connection over `S`.
pub struct TlsStream<S> {
    io: S,
    conn: ServerConnection,
    /// Ciphertext from the socket; `rx[rx_pos..]` is not yet fed to rustls.
    rx: Vec<u8>,
    rx_pos: usize,
    /// Ciphertext on its way to the socket.
    tx: Vec<u8>,
    read_size: usize,
    /// The socket reached end of input.
    eof: bool,
}

impl<S> std::fmt::Debug for TlsStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("handshaking", &self.conn.is_handshaking())
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl<S: AsyncReadRent + AsyncWriteRent> TlsStream<S> {
    /// Run the server handshake on `io`. `read_size` is the socket read
    /// size (and the initial capacity of each buffer). On failure the
    /// alert rustls queued has been sent, best effort.
    pub async fn accept(
        io: S,
        config: Arc<ServerConfig>,
        read_size: usize,
    ) -> Result<Self, HandshakeError> {
        let mut s = TlsStream {
            io,
            conn: ServerConnection::new(config)?,
            rx: Vec::with_capacity(read_size),
            rx_pos: 0,
            tx: Vec::with_capacity(read_size),
            read_size,
            eof: false,
        };
        while s.conn.is_handshaking() {
            if s.conn.wants_write() {
                s.flush().await?;
                continue;
            }
            if !s.pull().await? {
                return Err(HandshakeError::Eof);
            }
            if let Err(e) = s.conn.process_new_packets() {
                let _ = s.flush().await;
                return Err(e.into());
            }
        }
        // The last flight: TLS 1.2 Finished, TLS 1.3 session tickets. The
        // handshake is complete even if the client has already gone (a
        // client that closes right after its Finished never reads the
        // tickets); the stream's next read or write says so.
        if let Err(e) = s.flush().await {
            tracing::trace!(error = %e, "client gone right after the handshake");
        }
        Ok(s)
    }

    /// Feed ciphertext to rustls, reading the socket when nothing is
    /// pending. `Ok(false)`: end of input.
    async fn pull(&mut self) -> io::Result<bool> {
        if self.rx_pos == self.rx.len() {
            if self.eof {
                return Ok(false);
            }
            self.rx.clear();
            self.rx_pos = 0;
            let mut buf = std::mem::take(&mut self.rx);
            buf.reserve(self.read_size);
            let end = buf.capacity();
            let (res, slice) = self.io.read(buf.slice_mut(0..end)).await;
            self.rx = slice.into_inner();
            if res? == 0 {
                self.eof = true;
                return Ok(false);
            }
        }
        let n = self.conn.read_tls(&mut &self.rx[self.rx_pos..])?;
        if n == 0 {
            // rustls takes nothing more (close_notify seen): the rest is
            // ignored, as TLS requires.
            self.rx_pos = self.rx.len();
            return Ok(false);
        }
        self.rx_pos += n;
        Ok(true)
    }

    /// Send everything rustls has queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.tx.clear();
            self.conn.write_tls(&mut self.tx)?;
            let (res, tx) = self.io.write_all(std::mem::take(&mut self.tx)).await;
            self.tx = tx;
            res?;
        }
        Ok(())
    }

    /// Read plaintext, appending it to `buf`: at least one byte unless the
    /// client closed (`Ok(0)`, with or without close_notify).
    pub async fn read_into(&mut self, mut buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        loop {
            let state = match self.conn.process_new_packets() {
                Ok(s) => s,
                Err(e) => {
                    let _ = self.flush().await;
                    return (Err(tls_error(e)), buf);
                }
            };
            let avail = state.plaintext_bytes_to_read();
            if avail > 0 {
                // Zero exactly the bytes about to be overwritten.
                let len = buf.len();
                buf.resize(len + avail, 0);
                let res = self.conn.reader().read(&mut buf[len..]);
                let n = res.as_ref().map_or(0, |n| *n);
                buf.truncate(len + n);
                return (res, buf);
            }
            if state.peer_has_closed() {
                return (Ok(0), buf);
            }
            if state.tls_bytes_to_write() > 0
                && let Err(e) = self.flush().await
            {
                return (Err(e), buf);
            }
            match self.pull().await {
                Ok(true) => {}
                Ok(false) => return (Ok(0), buf),
                Err(e) => return (Err(e), buf),
            }
        }
    }

    /// Encrypt and send `buf[range]` completely, then hand `buf` back.
    pub async fn write_range(
        &mut self,
        buf: Vec<u8>,
        range: Range<usize>,
    ) -> (io::Result<usize>, Vec<u8>) {
        let mut off = range.start;
        while off < range.end {
            let n = match self.conn.writer().write(&buf[off..range.end]) {
                Ok(n) => n,
                Err(e) => return (Err(e), buf),
            };
            if n == 0 && !self.conn.wants_write() {
                return (Err(io::ErrorKind::WriteZero.into()), buf);
            }
            off += n;
            if let Err(e) = self.flush().await {
                return (Err(e), buf);
            }
        }
        (Ok(range.len()), buf)
    }

    /// Send close_notify (best effort) before the socket is dropped.
    pub async fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush().await;
    }
}

impl<S> TlsStream<S> {
    /// Full or resumed handshake (`None` before it completes).
    pub fn handshake_kind(&self) -> Option<HandshakeKind> {
        self.conn.handshake_kind()
    }

    /// The SNI name the client sent.
    pub fn server_name(&self) -> Option<&str> {
        self.conn.server_name()
    }

    /// The negotiated ALPN protocol.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.conn.protocol_version()
    }

    pub fn get_ref(&self) -> &S {
        &self.io
    }
}

impl<S: AsRawFd> AsRawFd for TlsStream<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

//! A TLS client over monoio's owned-buffer I/O: rustls (ring provider)
//! driven by hand — records written with `write_tls` into a buffer that is
//! then sent, records received into a buffer that is then fed to
//! `read_tls`. Counts handshakes and how many resumed a session.

use crate::config::TlsClient;
use crate::conn::ShardRun;
use crate::h1::{Connector, Io};
use crate::stats::ErrorKind;
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, HandshakeKind, RootCertStore};
use std::io::{self, Read, Write};
use std::sync::Arc;

/// Raw record bytes read from the socket at once.
const RECORD_BUF: usize = 32 * 1024;

/// The client configuration for `spec`: its roots only, TLS 1.3 and 1.2,
/// session resumption on or off, ALPN `http/1.1`.
pub fn client_config(spec: &TlsClient) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    for der in &spec.roots_der {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| format!("TLS root certificate rejected: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    if !spec.resumption {
        cfg.resumption = rustls::client::Resumption::disabled();
    }
    Ok(Arc::new(cfg))
}

/// Opens TCP connections and completes a TLS handshake on each.
pub(crate) struct TlsConnector {
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
}

impl TlsConnector {
    pub fn new(spec: &TlsClient) -> Result<Self, String> {
        let name = ServerName::try_from(spec.server_name.clone())
            .map_err(|e| format!("TLS server name {:?}: {e}", spec.server_name))?;
        Ok(TlsConnector {
            config: client_config(spec)?,
            name,
        })
    }
}

impl Connector for TlsConnector {
    type Stream = TlsStream;

    async fn connect(&self, run: &ShardRun) -> Result<TlsStream, ErrorKind> {
        let tcp = TcpStream::connect_addr(run.addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        let _ = tcp.set_nodelay(true);
        let tls = ClientConnection::new(self.config.clone(), self.name.clone())
            .map_err(|_| ErrorKind::Tls)?;
        let mut s = TlsStream {
            tcp,
            tls,
            raw: Vec::with_capacity(RECORD_BUF),
            out: Vec::with_capacity(RECORD_BUF),
            eof: false,
        };
        s.handshake().await.map_err(|_| ErrorKind::Tls)?;
        let mut stats = run.stats.borrow_mut();
        stats.tls_handshakes += 1;
        if s.tls.handshake_kind() == Some(HandshakeKind::Resumed) {
            stats.tls_resumed += 1;
        }
        Ok(s)
    }
}

/// One TLS session over one TCP connection.
pub(crate) struct TlsStream {
    tcp: TcpStream,
    tls: ClientConnection,
    /// Records received and not yet given to rustls.
    raw: Vec<u8>,
    /// Records to send.
    out: Vec<u8>,
    eof: bool,
}

impl TlsStream {
    async fn handshake(&mut self) -> io::Result<()> {
        while self.tls.is_handshaking() {
            self.flush_records().await?;
            if self.tls.is_handshaking() && self.tls.wants_read() && self.read_records().await? == 0
            {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        self.flush_records().await
    }

    /// Send every record rustls has queued.
    async fn flush_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            self.out.clear();
            self.tls.write_tls(&mut self.out)?;
            let out = std::mem::take(&mut self.out);
            let (res, out) = AsyncWriteRentExt::write_all(&mut self.tcp, out).await;
            self.out = out;
            res?;
        }
        Ok(())
    }

    /// Receive records and let rustls process them; 0 at end of stream.
    async fn read_records(&mut self) -> io::Result<usize> {
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        let total = raw.bytes_total();
        let (res, slice) = self.tcp.read(raw.slice_mut(0..total)).await;
        self.raw = slice.into_inner();
        let n = res?;
        if n == 0 {
            self.eof = true;
            return Ok(0);
        }
        let mut rest = &self.raw[..n];
        while !rest.is_empty() {
            self.tls.read_tls(&mut rest)?;
            if let Err(e) = self.tls.process_new_packets() {
                // Tell the peer why before giving up.
                let _ = self.flush_records().await;
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        // Key updates or alerts may need an answer.
        self.flush_records().await?;
        Ok(n)
    }
}

impl Io for TlsStream {
    async fn write_all(&mut self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        if let Err(e) = self.tls.writer().write_all(&buf) {
            return (Err(e), buf);
        }
        (self.flush_records().await, buf)
    }

    async fn read_more(&mut self, mut buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let room = (buf.capacity() - buf.len()).clamp(1, chunk.len());
            match self.tls.reader().read(&mut chunk[..room]) {
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    return (Ok(n), buf);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return (Err(e), buf),
            }
            if self.eof {
                // TCP closed without close_notify: end of stream all the same.
                return (Ok(0), buf);
            }
            if let Err(e) = self.read_records().await {
                return (Err(e), buf);
            }
        }
    }
}

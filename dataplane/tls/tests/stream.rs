//! The TLS stream against a real rustls client over loopback TCP: the
//! server runs on a monoio runtime (as a shard does), the client is a
//! blocking rustls connection on the test thread.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use shardgate_ir::{HostMatch, Listener, ListenerTls, Protocol, Snapshot, TlsCertificate};
use shardgate_tls::{CertLoader, HandshakeKind, ShardTls, TlsShared, TlsStream};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::mpsc;

struct Pki {
    ca_pem: String,
    chain_pem: String,
    key_pem: String,
}

fn pki(names: &[&str]) -> Pki {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");
    let key = rcgen::KeyPair::generate().expect("leaf key");
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let leaf = rcgen::CertificateParams::new(names)
        .expect("leaf params")
        .signed_by(&key, &ca)
        .expect("leaf certificate");
    Pki {
        ca_pem: ca.pem(),
        chain_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn listener_certs(p: &Pki, names: Vec<HostMatch>) -> Arc<shardgate_tls::ListenerCerts> {
    let snap = Snapshot {
        listeners: vec![Listener {
            name: "l".into(),
            address: "127.0.0.1".parse().expect("address"),
            port: 443,
            protocol: Protocol::Https,
            tls: Some(ListenerTls {
                certificates: vec![TlsCertificate {
                    name: "c".into(),
                    server_names: names,
                    chain_pem: p.chain_pem.clone(),
                    key_pem: p.key_pem.clone(),
                }],
            }),
            virtual_hosts: Vec::new(),
        }],
        ..Snapshot::default()
    };
    let shared = TlsShared::new().expect("TLS setup");
    let mut loaded = CertLoader::new(shared.provider.clone()).load(&snap);
    assert_eq!(loaded.refused, 0);
    loaded.listeners[0]
        .take()
        .expect("HTTPS listener certificates")
}

/// What the server saw of one connection.
#[derive(Debug)]
struct Seen {
    handshake: Result<Option<HandshakeKind>, String>,
    alpn: Option<Vec<u8>>,
    sni: Option<String>,
    echoed: usize,
}

/// Serve `configs.len()` connections, the i-th with `configs[i]`: after
/// the handshake, echo every byte until the client closes.
fn serve(configs: Vec<Arc<rustls::ServerConfig>>) -> (u16, mpsc::Receiver<Seen>) {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = std_listener.local_addr().expect("local addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .expect("monoio runtime");
        rt.block_on(async move {
            let listener =
                monoio::net::TcpListener::from_std(std_listener).expect("monoio listener");
            for cfg in configs {
                let (tcp, _) = listener.accept().await.expect("accept");
                let mut tls = match TlsStream::accept(tcp, cfg, 4096).await {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = tx.send(Seen {
                            handshake: Err(e.to_string()),
                            alpn: None,
                            sni: None,
                            echoed: 0,
                        });
                        continue;
                    }
                };
                let mut buf = Vec::with_capacity(4096);
                let mut echoed = 0;
                loop {
                    buf.clear();
                    let (res, b) = tls.read_into(buf).await;
                    buf = b;
                    match res {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let (res, b) = tls.write_range(buf, 0..n).await;
                            buf = b;
                            res.expect("echo write");
                            echoed += n;
                        }
                    }
                }
                tls.close().await;
                let _ = tx.send(Seen {
                    handshake: Ok(tls.handshake_kind()),
                    alpn: tls.alpn_protocol().map(<[u8]>::to_vec),
                    sni: tls.server_name().map(str::to_owned),
                    echoed,
                });
            }
        });
    });
    (port, rx)
}

fn client_config(
    ca_pem: &str,
    version: &'static rustls::SupportedProtocolVersion,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("CA pem"))
        .expect("CA accepted");
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[version])
    .expect("version")
    .with_root_certificates(roots)
    .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

/// Connect, send `payload`, read it all back, close.
fn round_trip(
    port: u16,
    cfg: &Arc<rustls::ClientConfig>,
    sni: &str,
    payload: &[u8],
) -> std::io::Result<Vec<u8>> {
    let name = ServerName::try_from(sni.to_owned()).expect("server name");
    let conn = rustls::ClientConnection::new(cfg.clone(), name).expect("client connection");
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    // Writer and reader interleave so neither side's buffers fill up.
    let mut back = Vec::with_capacity(payload.len());
    let mut chunk = [0u8; 8192];
    for part in payload.chunks(16 * 1024) {
        s.write_all(part)?;
        s.flush()?;
        let sent = back.len() + part.len();
        while back.len() < sent {
            let n = s.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            back.extend_from_slice(&chunk[..n]);
        }
    }
    s.conn.send_close_notify();
    let _ = s.flush();
    Ok(back)
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn large_payloads_cross_in_both_directions_over_tls12_and_tls13() {
    let p = pki(&["a.example.com"]);
    let certs = listener_certs(&p, vec![HostMatch::Exact("a.example.com".into())]);
    let shard = ShardTls::new(Arc::new(TlsShared::new().expect("TLS setup")));
    let cfg = shard.server_config(certs).expect("server config");
    let (port, seen) = serve(vec![cfg.clone(), cfg]);
    let data = payload(300 * 1024 + 17);
    for v in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let back = round_trip(port, &client_config(&p.ca_pem, v), "a.example.com", &data)
            .expect("round trip");
        assert!(
            back == data,
            "echoed bytes differ ({} of {})",
            back.len(),
            data.len()
        );
        let s = seen.recv().expect("server report");
        assert_eq!(s.handshake.expect("handshake"), Some(HandshakeKind::Full));
        assert_eq!(s.alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(s.sni.as_deref(), Some("a.example.com"));
        assert_eq!(s.echoed, data.len());
    }
}

#[test]
fn a_second_shard_resumes_a_session_with_the_shared_ticket_key() {
    let p = pki(&["a.example.com"]);
    let certs = listener_certs(&p, vec![HostMatch::Exact("a.example.com".into())]);
    let shared = Arc::new(TlsShared::new().expect("TLS setup"));
    let shard0 = ShardTls::new(shared.clone())
        .server_config(certs.clone())
        .expect("config");
    let shard1 = ShardTls::new(shared).server_config(certs).expect("config");
    let (port, seen) = serve(vec![shard0.clone(), shard1.clone(), shard0, shard1]);
    for v in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let client = client_config(&p.ca_pem, v);
        for expected in [HandshakeKind::Full, HandshakeKind::Resumed] {
            round_trip(port, &client, "a.example.com", b"ping").expect("round trip");
            let s = seen.recv().expect("server report");
            assert_eq!(s.handshake.expect("handshake"), Some(expected), "{v:?}");
        }
    }
}

#[test]
fn an_unknown_name_without_a_default_fails_the_handshake() {
    let p = pki(&["a.example.com"]);
    let certs = listener_certs(&p, vec![HostMatch::Exact("a.example.com".into())]);
    let shard = ShardTls::new(Arc::new(TlsShared::new().expect("TLS setup")));
    let (port, seen) = serve(vec![shard.server_config(certs).expect("config")]);
    let client = client_config(&p.ca_pem, &rustls::version::TLS13);
    assert!(round_trip(port, &client, "b.example.com", b"ping").is_err());
    let s = seen.recv().expect("server report");
    let err = s.handshake.expect_err("the handshake fails");
    assert!(err.contains("TLS"), "{err}");
}

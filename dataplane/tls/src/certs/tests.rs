use super::*;
use rustls::SignatureScheme;
use shardgate_ir::{HostMatch, Listener, ListenerTls};

fn keypair(alg: &'static rcgen::SignatureAlgorithm, names: &[&str]) -> (String, String) {
    let key = rcgen::KeyPair::generate_for(alg).expect("key generation");
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let cert = rcgen::CertificateParams::new(names)
        .expect("params")
        .self_signed(&key)
        .expect("self-signed certificate");
    (cert.pem(), key.serialize_pem())
}

fn cert(name: &str, hosts: &[HostMatch], pem: &(String, String)) -> TlsCertificate {
    TlsCertificate {
        name: name.into(),
        server_names: hosts.to_vec(),
        chain_pem: pem.0.clone(),
        key_pem: pem.1.clone(),
    }
}

fn https(name: &str, port: u16, certificates: Vec<TlsCertificate>) -> Listener {
    Listener {
        name: name.into(),
        address: "127.0.0.1".parse().expect("address"),
        port,
        protocol: Protocol::Https,
        tls: Some(ListenerTls { certificates }),
        virtual_hosts: Vec::new(),
    }
}

fn loader() -> CertLoader {
    CertLoader::new(Arc::new(rustls::crypto::ring::default_provider()))
}

const ECDSA: &[SignatureScheme] = &[SignatureScheme::ECDSA_NISTP256_SHA256];
const ED25519: &[SignatureScheme] = &[SignatureScheme::ED25519];

#[test]
fn valid_certificates_load_and_resolve_by_name() {
    let a = keypair(&rcgen::PKCS_ECDSA_P256_SHA256, &["a.example.com"]);
    let d = keypair(&rcgen::PKCS_ECDSA_P256_SHA256, &["default.example"]);
    let snap = Snapshot {
        listeners: vec![https(
            "l",
            443,
            vec![
                cert("a", &[HostMatch::Exact("a.example.com".into())], &a),
                cert("d", &[], &d),
            ],
        )],
        ..Snapshot::default()
    };
    let loaded = loader().load(&snap);
    assert_eq!((loaded.refused, loaded.parsed), (0, 2));
    let certs = loaded.listeners[0].as_ref().expect("an HTTPS listener");
    let leaf = |ck: Option<Arc<CertifiedKey>>| ck.expect("a certificate").cert[0].clone();
    let a_der = CertificateDer::from_pem_slice(a.0.as_bytes()).expect("pem");
    let d_der = CertificateDer::from_pem_slice(d.0.as_bytes()).expect("pem");
    assert_eq!(leaf(certs.choose(Some("a.example.com"), ECDSA)), a_der);
    assert_eq!(leaf(certs.choose(Some("b.example.com"), ECDSA)), d_der);
    assert_eq!(leaf(certs.choose(None, ECDSA)), d_der);
}

#[test]
fn the_first_certificate_whose_key_the_client_accepts_wins() {
    let ec = keypair(&rcgen::PKCS_ECDSA_P256_SHA256, &["a.example.com"]);
    let ed = keypair(&rcgen::PKCS_ED25519, &["a.example.com"]);
    let name = [HostMatch::Exact("a.example.com".into())];
    let snap = Snapshot {
        listeners: vec![https(
            "l",
            443,
            vec![cert("ec", &name, &ec), cert("ed", &name, &ed)],
        )],
        ..Snapshot::default()
    };
    let loaded = loader().load(&snap);
    let certs = loaded.listeners[0].as_ref().expect("an HTTPS listener");
    let ed_der = CertificateDer::from_pem_slice(ed.0.as_bytes()).expect("pem");
    let ec_der = CertificateDer::from_pem_slice(ec.0.as_bytes()).expect("pem");
    let both = [ED25519[0], ECDSA[0]];
    let pick = |s| {
        certs
            .choose(Some("a.example.com"), s)
            .expect("a certificate")
    };
    assert_eq!(pick(ED25519).cert[0], ed_der);
    assert_eq!(pick(ECDSA).cert[0], ec_der);
    assert_eq!(pick(&both).cert[0], ec_der);
    assert!(
        certs
            .choose(Some("a.example.com"), &[SignatureScheme::RSA_PSS_SHA256])
            .is_none()
    );
}

#[test]
fn broken_certificates_are_named_left_out_and_reported_once() {
    let good = keypair(&rcgen::PKCS_ECDSA_P256_SHA256, &["good.example"]);
    let other = keypair(&rcgen::PKCS_ECDSA_P256_SHA256, &["other.example"]);
    let mismatched = (good.0.clone(), other.1.clone());
    let garbage = ("not pem".to_string(), good.1.clone());
    let no_key = (good.0.clone(), "-----BEGIN NOTHING-----\n".to_string());
    let snap = Snapshot {
        listeners: vec![
            https(
                "one",
                443,
                vec![
                    cert("ns/mismatch", &[], &mismatched),
                    cert("ns/garbage", &[], &garbage),
                    cert("ns/nokey", &[], &no_key),
                    cert("ns/good", &[], &good),
                ],
            ),
            https("two", 8443, vec![cert("ns/good", &[], &good)]),
        ],
        ..Snapshot::default()
    };
    let mut l = loader();
    let first = l.load(&snap);
    assert_eq!(first.refused, 3);
    let names: Vec<&str> = first
        .newly_refused
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["ns/mismatch", "ns/garbage", "ns/nokey"]);
    assert!(matches!(first.newly_refused[0].reason, Reason::Mismatch(_)));
    assert_eq!(first.newly_refused[1].reason, Reason::NoCertificate);
    assert!(matches!(first.newly_refused[2].reason, Reason::KeyPem(_)));
    assert!(first.newly_refused[0].to_string().contains("ns/mismatch"));
    // The good certificate still serves on both listeners.
    for certs in first.listeners.iter().flatten() {
        assert!(certs.choose(None, ECDSA).is_some());
    }
    // Same snapshot again: nothing parsed, nothing reported anew.
    let again = l.load(&snap);
    assert_eq!((again.parsed, again.refused), (0, 3));
    assert!(again.newly_refused.is_empty());
}

#[test]
fn changed_content_is_parsed_again_and_unused_entries_are_forgotten() {
    let v1 = keypair(&rcgen::PKCS_ECDSA_P256_SHA256, &["a.example"]);
    let v2 = keypair(&rcgen::PKCS_ECDSA_P256_SHA256, &["a.example"]);
    let snap = |p: &(String, String)| Snapshot {
        listeners: vec![https("l", 443, vec![cert("c", &[], p)])],
        ..Snapshot::default()
    };
    let mut l = loader();
    assert_eq!(l.load(&snap(&v1)).parsed, 1);
    assert_eq!(l.load(&snap(&v2)).parsed, 1);
    assert_eq!(l.load(&snap(&v2)).parsed, 0);
    assert_eq!(l.cache.len(), 1);
    // v1 was dropped from the cache when v2 replaced it.
    assert_eq!(l.load(&snap(&v1)).parsed, 1);
}

#[test]
fn http_listeners_get_no_certificates() {
    let mut plain = https("plain", 80, Vec::new());
    plain.protocol = Protocol::Http;
    plain.tls = None;
    let snap = Snapshot {
        listeners: vec![plain],
        ..Snapshot::default()
    };
    let loaded = loader().load(&snap);
    assert!(loaded.listeners[0].is_none());
}

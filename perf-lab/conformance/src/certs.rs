//! The TLS Secrets and CA ConfigMaps the official suite creates at setup
//! (listed in INDEX.md), generated with rcgen. The suite uses RSA-2048;
//! rcgen's ring backend cannot generate RSA keys, so the runner uses
//! ECDSA P-256, which every TLS stack that accepts the suite's
//! certificates also accepts.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use serde_json::{Value, json};

use crate::Error;

const INFRA: &str = "gateway-conformance-infra";
const APP: &str = "gateway-conformance-app-backend";
const WEB: &str = "gateway-conformance-web-backend";

/// A certificate and its key, PEM encoded.
#[derive(Debug, Clone)]
pub struct Pem {
    pub cert: String,
    pub key: String,
}

/// The generated Secrets and ConfigMaps, as Kubernetes objects.
#[derive(Debug, Clone, Default)]
pub struct SuiteSecrets {
    pub objects: Vec<Value>,
    /// The certificate the suite's HTTPS clients trust
    /// (`tls-validity-checks-certificate`), PEM.
    pub trusted_cert_pem: String,
}

fn err(what: &str) -> impl FnOnce(rcgen::Error) -> Error + '_ {
    move |e| Error::Certificate(format!("{what}: {e}"))
}

fn params(cn: &str, sans: &[&str], ca: bool) -> Result<CertificateParams, Error> {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "shardgate conformance");
    for s in sans {
        let san = if s.contains("://") {
            SanType::URI((*s).try_into().map_err(err(s))?)
        } else {
            SanType::DnsName((*s).try_into().map_err(err(s))?)
        };
        p.subject_alt_names.push(san);
    }
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
    }
    Ok(p)
}

/// A CA: its PEM and an issuer to sign with.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(cn: &str) -> Result<Ca, Error> {
    let key = KeyPair::generate().map_err(err(cn))?;
    let p = params(cn, &[], true)?;
    let cert = p.self_signed(&key).map_err(err(cn))?;
    Ok(Ca {
        pem: cert.pem(),
        issuer: Issuer::new(p, key),
    })
}

fn self_signed(cn: &str, sans: &[&str]) -> Result<Pem, Error> {
    let key = KeyPair::generate().map_err(err(cn))?;
    let cert = params(cn, sans, false)?
        .self_signed(&key)
        .map_err(err(cn))?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

fn signed(ca: &Ca, cn: &str, sans: &[&str]) -> Result<Pem, Error> {
    let key = KeyPair::generate().map_err(err(cn))?;
    let cert = params(cn, sans, false)?
        .signed_by(&key, &ca.issuer)
        .map_err(err(cn))?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Standard base64 (RFC 4648, with padding), as Secret `data` requires.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn secret(ns: &str, name: &str, pem: &Pem) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": base64(pem.cert.as_bytes()), "tls.key": base64(pem.key.as_bytes())},
    })
}

fn config_map(ns: &str, name: &str, ca_pem: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": {"ca.crt": ca_pem},
    })
}

impl SuiteSecrets {
    /// Generate everything INDEX.md lists.
    pub fn generate() -> Result<SuiteSecrets, Error> {
        let mut o = Vec::new();
        let web = self_signed("*", &["*"])?;
        o.push(secret(WEB, "certificate", &web));
        o.push(config_map(WEB, "web-backend-cm", &web.cert));
        let validity = self_signed("*", &["*", "*.org", "*.wildcard.org"])?;
        o.push(secret(INFRA, "tls-validity-checks-certificate", &validity));
        let trusted_cert_pem = validity.cert.clone();
        let client_ca = ca("tls-validity-checks-ca")?;
        o.push(config_map(
            INFRA,
            "tls-validity-checks-ca-certificate",
            &client_ca.pem,
        ));
        o.push(secret(
            INFRA,
            "tls-validity-checks-client-certificate",
            &signed(&client_ca, "client", &[])?,
        ));
        let per_port_ca = ca("tls-validity-checks-per-port-ca")?;
        o.push(config_map(
            INFRA,
            "tls-validity-checks-per-port-ca-certificate",
            &per_port_ca.pem,
        ));
        o.push(secret(
            INFRA,
            "tls-validity-checks-per-port-client-certificate",
            &signed(&per_port_ca, "client", &[])?,
        ));
        let checks = ca("tls-checks-ca")?;
        o.push(config_map(INFRA, "tls-checks-ca-certificate", &checks.pem));
        o.push(secret(
            INFRA,
            "tls-checks-certificate",
            &signed(
                &checks,
                "abc.example.com",
                &[
                    "abc.example.com",
                    "spiffe://abc.example.com/test-identity",
                    "other.example.com",
                ],
            )?,
        ));
        o.push(secret(
            INFRA,
            "tls-checks-client-certificate",
            &signed(&checks, "client", &[])?,
        ));
        let passthrough = signed(&checks, "abc.example.com", &["abc.example.com"])?;
        o.push(secret(
            INFRA,
            "tls-passthrough-checks-certificate",
            &passthrough,
        ));
        o.push(secret(
            APP,
            "tls-passthrough-checks-certificate",
            &passthrough,
        ));
        o.push(secret(
            INFRA,
            "tls-terminate-checks-certificate",
            &signed(&checks, "tls.example.com", &["tls.example.com"])?,
        ));
        let mismatch = ca("mismatch-ca")?;
        o.push(config_map(INFRA, "mismatch-ca-certificate", &mismatch.pem));
        Ok(SuiteSecrets {
            objects: o,
            trusted_cert_pem,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn generates_every_listed_secret_and_config_map() {
        let s = SuiteSecrets::generate().expect("generate");
        let names: Vec<String> = s
            .objects
            .iter()
            .map(|o| {
                format!(
                    "{}/{}/{}",
                    o["kind"].as_str().unwrap_or(""),
                    o["metadata"]["namespace"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap_or("")
                )
            })
            .collect();
        for want in [
            "Secret/gateway-conformance-infra/tls-validity-checks-certificate",
            "Secret/gateway-conformance-web-backend/certificate",
            "ConfigMap/gateway-conformance-infra/tls-checks-ca-certificate",
            "Secret/gateway-conformance-app-backend/tls-passthrough-checks-certificate",
            "ConfigMap/gateway-conformance-infra/mismatch-ca-certificate",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:?}"
            );
        }
        let tls = &s.objects[2];
        assert_eq!(tls["type"], "kubernetes.io/tls");
        assert!(
            tls["data"]["tls.crt"]
                .as_str()
                .is_some_and(|c| c.starts_with("LS0tLS1CRUdJTi"))
        );
        let cm = s
            .objects
            .iter()
            .find(|o| o["kind"] == "ConfigMap")
            .expect("a ConfigMap");
        assert!(
            cm["data"]["ca.crt"]
                .as_str()
                .is_some_and(|c| c.contains("BEGIN CERTIFICATE"))
        );
    }
}

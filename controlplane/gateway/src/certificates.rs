//! A TLS listener's `certificateRefs`: core Secrets holding a PEM
//! certificate chain and its private key, in the listener's namespace or
//! granted by a ReferenceGrant. The material is parsed here (PEM, DER,
//! key type, key matching the leaf) so that a Secret the data plane could
//! not load is reported on the listener instead of failing handshakes.

use crate::grants::{self, From, To};
use crate::objects::{ObjectKey, Objects};
use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};

/// A resolved certificate: which Secret, and its PEM material as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub secret: ObjectKey,
    pub chain_pem: String,
    pub key_pem: String,
}

/// One `tls.certificateRefs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecretRef {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Why a certificate reference does not resolve: (ResolvedRefs reason,
/// message).
pub type Problem = (&'static str, String);

/// Resolve every reference of a listener declared by `owner`; the first
/// problem is returned. An empty list is a problem of its own (a TLS
/// listener that terminates needs a certificate).
pub fn resolve(
    objects: &Objects,
    owner: From<'_>,
    refs: &[SecretRef],
) -> Result<Vec<Certificate>, Problem> {
    if refs.is_empty() {
        return Err((
            "InvalidCertificateRef",
            "tls.certificateRefs is empty: terminating TLS needs a certificate".to_owned(),
        ));
    }
    refs.iter()
        .map(|r| resolve_one(objects, owner, r))
        .collect()
}

fn resolve_one(objects: &Objects, owner: From<'_>, r: &SecretRef) -> Result<Certificate, Problem> {
    let group = r.group.as_deref().unwrap_or("");
    let kind = r.kind.as_deref().unwrap_or("Secret");
    let ns = r.namespace.as_deref().unwrap_or(owner.namespace);
    if !group.is_empty() || kind != "Secret" {
        return Err((
            "InvalidCertificateRef",
            format!(
                "certificateRef {ns}/{}: kind {kind:?} of group {group:?} is not supported; only core Secrets are",
                r.name
            ),
        ));
    }
    let to = To {
        group: "",
        kind: "Secret",
        namespace: ns,
        name: &r.name,
    };
    if !grants::permitted(objects, owner, to) {
        return Err((
            "RefNotPermitted",
            format!(
                "certificateRef Secret {ns}/{}: no ReferenceGrant in namespace {ns} allows {} from namespace {} to refer to it",
                r.name, owner.kind, owner.namespace
            ),
        ));
    }
    let key = ObjectKey::new(ns, r.name.clone());
    let Some(secret) = objects.secrets.get(&key) else {
        return Err((
            "InvalidCertificateRef",
            format!("certificateRef: Secret {key} not found"),
        ));
    };
    let field = |name: &str| -> Option<Vec<u8>> {
        if let Some(v) = secret.data.as_ref().and_then(|d| d.get(name)) {
            return Some(v.0.clone());
        }
        secret
            .string_data
            .as_ref()
            .and_then(|d| d.get(name))
            .map(|s| s.as_bytes().to_vec())
    };
    let mut pems = Vec::with_capacity(2);
    for (name, label) in [("tls.crt", "CERTIFICATE"), ("tls.key", "PRIVATE KEY")] {
        let pem = field(name).unwrap_or_default();
        if !holds_pem(&pem, label) {
            return Err((
                "InvalidCertificateRef",
                format!("certificateRef: Secret {key} has no PEM {label} in {name}"),
            ));
        }
        pems.push(pem);
    }
    let (chain, private) = (&pems[0], &pems[1]);
    check_pair(chain, private).map_err(|why| {
        (
            "InvalidCertificateRef",
            format!("certificateRef: Secret {key}: {why}"),
        )
    })?;
    Ok(Certificate {
        secret: key,
        // holds_pem has checked both are UTF-8.
        chain_pem: String::from_utf8_lossy(chain).into_owned(),
        key_pem: String::from_utf8_lossy(private).into_owned(),
    })
}

/// Parse the chain and the key the way the data plane will, and check the
/// key belongs to the leaf certificate.
fn check_pair(chain: &[u8], private: &[u8]) -> Result<(), String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls.crt is not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err("tls.crt holds no certificate".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(private)
        .map_err(|e| format!("tls.key is not a valid PEM private key: {e}"))?;
    let signer = any_supported_type(&key)
        .map_err(|e| format!("tls.key is not a supported private key: {e}"))?;
    CertifiedKey::new(certs, signer)
        .keys_match()
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => {
                "tls.key is not the private key of the first certificate in tls.crt".to_owned()
            }
            other => format!("tls.key cannot be checked against tls.crt: {other}"),
        })
}

/// Does `data` hold a PEM block whose label ends with `label` (so `PRIVATE
/// KEY` also accepts `RSA PRIVATE KEY` and `EC PRIVATE KEY`)?
fn holds_pem(data: &[u8], label: &str) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    text.lines().any(|l| {
        l.trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
            .is_some_and(|found| found.ends_with(label))
    }) && text.contains("-----END ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_labels() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert!(holds_pem(cert.as_bytes(), "CERTIFICATE"));
        assert!(!holds_pem(cert.as_bytes(), "PRIVATE KEY"));
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n";
        assert!(holds_pem(key.as_bytes(), "PRIVATE KEY"));
        assert!(!holds_pem(b"Hello world\n", "CERTIFICATE"));
        assert!(
            !holds_pem(b"-----BEGIN CERTIFICATE-----\n", "CERTIFICATE"),
            "no end line"
        );
        assert!(!holds_pem(&[0xff, 0xfe], "CERTIFICATE"));
    }
}

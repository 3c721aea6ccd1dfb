//! Loading a snapshot's certificates: PEM → `CertifiedKey`, once per
//! distinct content.
//!
//! The snapshot reader owns one [`CertLoader`] for the life of the
//! process. A snapshot whose certificates did not change parses nothing: a
//! chain and key are looked up by the hash of their PEM. A certificate that
//! cannot be loaded (bad PEM, unusable key, key not matching the leaf) is
//! left out of its listener, named in a [`CertError`], and reported once
//! until its content changes; every other certificate keeps serving.

use crate::sni::SniTable;
use rustc_hash::{FxHashMap, FxHashSet};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use shardgate_ir::{Protocol, Snapshot, TlsCertificate};
use std::sync::Arc;

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("chain_pem holds no CERTIFICATE block")]
    NoCertificate,
    #[error("chain_pem is not valid PEM: {0}")]
    ChainPem(String),
    #[error("key_pem holds no usable private key: {0}")]
    KeyPem(String),
    #[error("the private key cannot sign: {0}")]
    Key(String),
    #[error("the private key does not belong to the leaf certificate: {0}")]
    Mismatch(String),
}

/// A refused certificate, by its snapshot name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("certificate {name}: {reason}")]
pub struct CertError {
    pub name: String,
    #[source]
    pub reason: Reason,
}

/// The certificates of one HTTPS listener, chosen per handshake by SNI.
#[derive(Debug, Default)]
pub struct ListenerCerts {
    table: SniTable<Arc<CertifiedKey>>,
}

impl ListenerCerts {
    /// The certificate for a client that sent `sni` and accepts the
    /// signature schemes `schemes`: the first candidate of the best
    /// matching tier whose key can sign with one of them.
    pub fn choose(
        &self,
        sni: Option<&str>,
        schemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.table
            .select(sni)
            .iter()
            .find(|ck| ck.key.choose_scheme(schemes).is_some())
            .cloned()
    }

    /// No certificate loaded: every handshake on this listener fails.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

impl ResolvesServerCert for ListenerCerts {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.choose(hello.server_name(), hello.signature_schemes())
    }
}

/// The result of loading one snapshot's certificates.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Per snapshot listener (same index): `Some` for HTTPS listeners.
    pub listeners: Vec<Option<Arc<ListenerCerts>>>,
    /// Certificates refused for the first time (new name or new content);
    /// a refusal that persists unchanged is reported only once.
    pub newly_refused: Vec<CertError>,
    /// How many certificate entries this snapshot has refused in all.
    pub refused: usize,
    /// How many chains and keys had to be parsed (not found in the cache).
    pub parsed: usize,
}

type Parsed = Result<Arc<CertifiedKey>, Reason>;

/// Parses certificates with the ring provider, caching by content.
#[derive(Debug)]
pub struct CertLoader {
    provider: Arc<CryptoProvider>,
    cache: FxHashMap<u128, Parsed>,
    /// `(name, content)` refused by the previous snapshot.
    refused: FxHashSet<(String, u128)>,
}

impl CertLoader {
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        CertLoader {
            provider,
            cache: FxHashMap::default(),
            refused: FxHashSet::default(),
        }
    }

    /// Load every HTTPS listener's certificates of `snapshot`. Cache
    /// entries the snapshot no longer uses are dropped.
    pub fn load(&mut self, snapshot: &Snapshot) -> Loaded {
        let mut old = std::mem::take(&mut self.cache);
        let mut refused = FxHashSet::default();
        let mut out = Loaded::default();
        for l in &snapshot.listeners {
            let Some(tls) = l.tls.as_ref().filter(|_| l.protocol == Protocol::Https) else {
                out.listeners.push(None);
                continue;
            };
            let mut certs = ListenerCerts::default();
            for c in &tls.certificates {
                let key = content_hash(c);
                let parsed = match self.cache.get(&key) {
                    Some(p) => p.clone(),
                    None => {
                        let p = old.remove(&key).unwrap_or_else(|| {
                            out.parsed += 1;
                            parse(c, &self.provider)
                        });
                        self.cache.insert(key, p.clone());
                        p
                    }
                };
                match parsed {
                    Ok(ck) => certs.table.insert(&c.server_names, ck),
                    Err(reason) => {
                        out.refused += 1;
                        let id = (c.name.clone(), key);
                        if !self.refused.contains(&id) && !refused.contains(&id) {
                            out.newly_refused.push(CertError {
                                name: c.name.clone(),
                                reason,
                            });
                        }
                        refused.insert(id);
                    }
                }
            }
            out.listeners.push(Some(Arc::new(certs)));
        }
        self.refused = refused;
        out
    }
}

fn content_hash(c: &TlsCertificate) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(c.chain_pem.as_bytes());
    // 0xff never occurs in UTF-8: the two parts cannot run together.
    h.update(&[0xff]);
    h.update(c.key_pem.as_bytes());
    h.digest128()
}

/// Parse one chain and key and check that they belong together.
pub fn parse(c: &TlsCertificate, provider: &CryptoProvider) -> Parsed {
    let chain = CertificateDer::pem_slice_iter(c.chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Reason::ChainPem(e.to_string()))?;
    if chain.is_empty() {
        return Err(Reason::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(c.key_pem.as_bytes())
        .map_err(|e| Reason::KeyPem(e.to_string()))?;
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| Reason::Key(e.to_string()))?;
    let ck = CertifiedKey::new(chain, signer);
    match ck.keys_match() {
        Ok(()) => Ok(Arc::new(ck)),
        Err(e) => Err(Reason::Mismatch(e.to_string())),
    }
}

#[cfg(test)]
mod tests;

//! The lab's self-signed certificate for the HTTPS scenarios: one ECDSA
//! P-256 certificate for `localhost`, made fresh for each compare and
//! given to all three proxies (and trusted by the generator).

use super::peers::TlsFiles;
use anyhow::Context;
use std::path::Path;

/// The name the certificate carries and the generator sends as SNI.
pub const SERVER_NAME: &str = "localhost";

/// Write `cert.pem`, `key.pem` and `combined.pem` under `dir`; return them
/// and the certificate in DER (the generator's trust root).
pub fn make(dir: &Path) -> anyhow::Result<(TlsFiles, Vec<u8>)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ck = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_string()])
        .context("generating the lab's self-signed certificate")?;
    let cert_pem = ck.cert.pem();
    let key_pem = ck.signing_key.serialize_pem();
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        combined: dir.join("combined.pem"),
        cert_pem,
        key_pem,
    };
    std::fs::write(&files.cert, &files.cert_pem)?;
    std::fs::write(&files.key, &files.key_pem)?;
    std::fs::write(
        &files.combined,
        format!("{}{}", files.cert_pem, files.key_pem),
    )?;
    Ok((files, ck.cert.der().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pem_files_and_a_der_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (f, der) = make(dir.path()).expect("certificate");
        let combined = std::fs::read_to_string(&f.combined).expect("combined");
        assert!(combined.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(combined.contains("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(std::fs::read_to_string(&f.cert).expect("cert"), f.cert_pem);
        // DER of a certificate starts with a SEQUENCE.
        assert_eq!(der.first(), Some(&0x30));
        // The generator accepts it as its root.
        let spec = shardgate_loadgen::TlsClient {
            server_name: SERVER_NAME.into(),
            roots_der: vec![der],
            resumption: true,
        };
        assert!(shardgate_loadgen::tls::client_config(&spec).is_ok());
    }
}

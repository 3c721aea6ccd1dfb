//! Certificates for the HTTPS tests: every leaf has its own CA, so a client
//! that trusts only one CA proves which certificate the server chose.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub struct Pki {
    /// The CA's certificate, written to a file for `curl --cacert`.
    pub ca_file: PathBuf,
    pub ca_pem: String,
    pub chain_pem: String,
    pub key_pem: String,
}

/// A CA and a leaf for `names` (DNS names or IP addresses), the CA file
/// written as `dir/NAME-ca.pem`.
pub fn issue(dir: &Path, name: &str, names: &[&str]) -> Pki {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} test CA"));
    let ca = rcgen::CertifiedIssuer::self_signed(params, ca_key).expect("CA certificate");
    let key = rcgen::KeyPair::generate().expect("leaf key");
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let leaf = rcgen::CertificateParams::new(names)
        .expect("leaf params")
        .signed_by(&key, &ca)
        .expect("leaf certificate");
    let ca_file = dir.join(format!("{name}-ca.pem"));
    std::fs::write(&ca_file, ca.pem()).expect("writing the CA file");
    Pki {
        ca_file,
        ca_pem: ca.pem(),
        chain_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A `kubernetes.io/tls` Secret in the test namespace.
pub fn secret(name: &str, chain_pem: &str, key_pem: &str) -> String {
    format!(
        "apiVersion: v1
kind: Secret
metadata: {{name: {name}, namespace: {ns}}}
type: kubernetes.io/tls
data:
  tls.crt: {crt}
  tls.key: {key}
",
        ns = crate::support::yaml::NS,
        crt = base64(chain_pem.as_bytes()),
        key = base64(key_pem.as_bytes()),
    )
}

/// Standard base64 with padding (Secret `data` values).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Run curl; returns (exit code, stdout, stderr).
pub fn curl(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .output()
        .expect("running curl (is it installed?)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--resolve HOST:PORT:127.0.0.1`, and the `https://HOST:PORT` base URL.
pub fn resolve(host: &str, port: u16) -> (String, String) {
    (
        format!("{host}:{port}:127.0.0.1"),
        format!("https://{host}:{port}"),
    )
}

/// The sum of every series whose key starts with `prefix` and contains
/// each of `parts`.
pub fn sum(m: &crate::support::Metrics, prefix: &str, parts: &[&str]) -> f64 {
    m.values
        .iter()
        .filter(|(k, _)| k.starts_with(prefix) && parts.iter().all(|p| k.contains(p)))
        .map(|(_, v)| v)
        .sum()
}

/// Lines for a failure message.
pub fn describe(what: &str, r: &(i32, String, String)) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "{what}: curl exit {}; stdout: {}; stderr: {}",
        r.0, r.1, r.2
    );
    s
}

#[test]
fn base64_matches_the_rfc_vectors() {
    for (plain, enc) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(plain.as_bytes()), enc);
    }
}

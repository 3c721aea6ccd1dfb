//! Binary encoding: a fixed header with a checksum, then a postcard payload.

use crate::{ABI_VERSION, IrError, Snapshot, validate};
use xxhash_rust::xxh3::xxh3_64;

pub const MAGIC: [u8; 8] = *b"SGIRSNAP";
pub const HEADER_LEN: usize = 40;

/// The fixed-size header in front of every encoded snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub abi_version: u32,
    pub generation: u64,
    pub payload_len: u64,
    pub checksum: u64,
}

/// Encode a snapshot with its header. The generation in the header is the
/// one in `snapshot`.
pub fn encode(snapshot: &Snapshot) -> Vec<u8> {
    // Encoding owned plain data into a Vec cannot fail: postcard only errors on
    // writer exhaustion or serde features the model does not use.
    let mut buf = postcard::to_extend(snapshot, vec![0u8; HEADER_LEN])
        .expect("postcard encodes every IR value");
    let payload_len = (buf.len() - HEADER_LEN) as u64;
    let checksum = xxh3_64(&buf[HEADER_LEN..]);
    let header = Header {
        abi_version: ABI_VERSION,
        generation: snapshot.generation,
        payload_len,
        checksum,
    };
    write_header(&mut buf[..HEADER_LEN], &header);
    buf
}

fn write_header(dst: &mut [u8], h: &Header) {
    dst[0..8].copy_from_slice(&MAGIC);
    dst[8..12].copy_from_slice(&h.abi_version.to_le_bytes());
    dst[12..16].copy_from_slice(&0u32.to_le_bytes());
    dst[16..24].copy_from_slice(&h.generation.to_le_bytes());
    dst[24..32].copy_from_slice(&h.payload_len.to_le_bytes());
    dst[32..40].copy_from_slice(&h.checksum.to_le_bytes());
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Read and check the header only (magic, ABI, length); the checksum is
/// verified by [`decode`].
pub fn read_header(bytes: &[u8]) -> Result<Header, IrError> {
    if bytes.len() < HEADER_LEN {
        return Err(IrError::TooShort { len: bytes.len() });
    }
    if bytes[0..8] != MAGIC {
        return Err(IrError::BadMagic);
    }
    if bytes[12..16] != [0u8; 4] {
        return Err(IrError::Invalid(
            "reserved header bytes are not zero".into(),
        ));
    }
    let h = Header {
        abi_version: le_u32(&bytes[8..12]),
        generation: le_u64(&bytes[16..24]),
        payload_len: le_u64(&bytes[24..32]),
        checksum: le_u64(&bytes[32..40]),
    };
    if h.abi_version != ABI_VERSION {
        return Err(IrError::AbiMismatch {
            found: h.abi_version,
        });
    }
    let actual = (bytes.len() - HEADER_LEN) as u64;
    if h.payload_len != actual {
        return Err(IrError::LengthMismatch {
            declared: h.payload_len,
            actual,
        });
    }
    Ok(h)
}

/// Decode and fully validate a snapshot. Any failure refuses the whole
/// snapshot; nothing partial is ever returned.
pub fn decode(bytes: &[u8]) -> Result<Snapshot, IrError> {
    let h = read_header(bytes)?;
    let payload = &bytes[HEADER_LEN..];
    let actual = xxh3_64(payload);
    if actual != h.checksum {
        return Err(IrError::Checksum {
            declared: h.checksum,
            actual,
        });
    }
    let snapshot: Snapshot =
        postcard::from_bytes(payload).map_err(|e| IrError::Decode(e.to_string()))?;
    if snapshot.generation != h.generation {
        return Err(IrError::GenerationMismatch {
            header: h.generation,
            body: snapshot.generation,
        });
    }
    validate(&snapshot)?;
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    pub(crate) fn sample(generation: u64) -> Snapshot {
        Snapshot {
            generation,
            listeners: vec![Listener {
                name: "0.0.0.0:8080".into(),
                address: "0.0.0.0".parse().expect("literal"),
                port: 8080,
                protocol: Protocol::Http,
                tls: None,
                virtual_hosts: vec![VirtualHost {
                    name: "default/gw/http".into(),
                    hostnames: vec![HostMatch::Wildcard(".example.com".into())],
                    routes: vec![Route {
                        name: "default/web/rule/0".into(),
                        matches: vec![RouteMatch {
                            path: PathMatch::Prefix("/".into()),
                            headers: vec![],
                            query_params: vec![],
                            method: None,
                        }],
                        filters: vec![],
                        action: Action::Forward(vec![
                            WeightedBackend {
                                weight: 90,
                                target: BackendTarget::Cluster(0),
                                filters: vec![Filter::RequestHeaderModifier(HeaderModifier {
                                    set: vec![("x-backend".into(), "echo".into())],
                                    ..HeaderModifier::default()
                                })],
                            },
                            WeightedBackend {
                                weight: 10,
                                target: BackendTarget::Invalid { status: 500 },
                                filters: vec![],
                            },
                        ]),
                        timeouts: Timeouts::default(),
                    }],
                }],
            }],
            clusters: vec![Cluster::new(
                "default/echo:8080",
                vec![Endpoint {
                    addr: "127.0.0.1:3000".parse().expect("literal"),
                }],
            )],
        }
    }

    #[test]
    fn round_trip() {
        let s = sample(7);
        let bytes = encode(&s);
        assert_eq!(read_header(&bytes).map(|h| h.generation), Ok(7));
        assert_eq!(decode(&bytes), Ok(s));
    }

    #[test]
    fn every_single_bit_flip_is_refused() {
        let bytes = encode(&sample(3));
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(
                    decode(&b).is_err(),
                    "flip of bit {bit} in byte {i} accepted"
                );
            }
        }
    }

    #[test]
    fn truncation_and_garbage_are_refused() {
        let bytes = encode(&sample(3));
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len]).is_err(),
                "truncation to {len} accepted"
            );
        }
        assert_eq!(decode(b"hello"), Err(IrError::TooShort { len: 5 }));
        assert_eq!(decode(&[0u8; 64]), Err(IrError::BadMagic));
    }

    #[test]
    fn other_abi_is_refused() {
        let mut bytes = encode(&sample(3));
        bytes[8..12].copy_from_slice(&(ABI_VERSION + 1).to_le_bytes());
        assert_eq!(
            decode(&bytes),
            Err(IrError::AbiMismatch {
                found: ABI_VERSION + 1
            })
        );
    }

    #[test]
    fn dangling_cluster_index_is_refused() {
        let mut s = sample(1);
        s.clusters.clear();
        let err = decode(&encode(&s)).expect_err("must refuse");
        assert!(
            err.to_string().contains("cluster index 0 out of range"),
            "{err}"
        );
    }

    #[test]
    fn zero_total_weight_and_duplicate_bind_are_refused() {
        let mut s = sample(1);
        if let Action::Forward(b) = &mut s.listeners[0].virtual_hosts[0].routes[0].action {
            b.iter_mut().for_each(|b| b.weight = 0);
        }
        assert!(validate(&s).is_err());
        let mut s = sample(1);
        let l = s.listeners[0].clone();
        s.listeners.push(l);
        assert!(validate(&s).is_err());
    }

    #[test]
    fn backend_filters_are_header_modifiers_only() {
        let mut s = sample(1);
        if let Action::Forward(b) = &mut s.listeners[0].virtual_hosts[0].routes[0].action {
            b[0].filters
                .push(Filter::ResponseHeaderModifier(HeaderModifier::default()));
        }
        assert!(validate(&s).is_ok());
        if let Action::Forward(b) = &mut s.listeners[0].virtual_hosts[0].routes[0].action {
            b[0].filters.push(Filter::UrlRewrite(UrlRewrite {
                hostname: Some("x.example".into()),
                path: None,
            }));
        }
        let err = validate(&s).expect_err("a rewrite on a backend must be refused");
        assert!(err.to_string().contains("not a header modifier"), "{err}");
    }

    #[test]
    fn mirrors_need_a_cluster_and_a_fraction_up_to_one() {
        let with = |m: Mirror| {
            let mut s = sample(1);
            s.listeners[0].virtual_hosts[0].routes[0]
                .filters
                .push(Filter::RequestMirror(m));
            validate(&s)
        };
        let m = |cluster, numerator, denominator| Mirror {
            cluster,
            numerator,
            denominator,
        };
        assert!(with(m(0, 1, 1)).is_ok());
        assert!(with(m(0, 0, 100)).is_ok());
        let err = |m: Mirror| with(m).expect_err("must refuse").to_string();
        assert!(err(m(1, 1, 1)).contains("mirror cluster index 1"));
        assert!(err(m(0, 2, 1)).contains("not between 0 and 1"));
        assert!(err(m(0, 0, 0)).contains("not between 0 and 1"));
    }

    #[test]
    fn cors_values_must_be_header_safe() {
        let with = |origin: &str| {
            let mut s = sample(1);
            s.listeners[0].virtual_hosts[0].routes[0]
                .filters
                .push(Filter::Cors(Cors {
                    allow_origins: vec![origin.into()],
                    allow_methods: vec!["GET".into()],
                    allow_headers: vec![],
                    expose_headers: vec![],
                    max_age_s: 5,
                    allow_credentials: false,
                }));
            validate(&s)
        };
        assert!(with("https://*.example.com").is_ok());
        assert!(with("https://a.example\r\nx: y").is_err());
        assert!(with("https://A.example").is_err());
        assert!(with("").is_err());
    }

    #[test]
    fn tls_settings_must_match_the_protocol() {
        let cert = TlsCertificate {
            name: "default/gw/https/default/cert".into(),
            server_names: vec![HostMatch::Wildcard(".example.com".into())],
            chain_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            key_pem: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n".into(),
        };
        let with = |protocol, tls: Option<ListenerTls>| {
            let mut s = sample(1);
            s.listeners[0].protocol = protocol;
            s.listeners[0].tls = tls;
            validate(&s)
        };
        let tls = |certificates: Vec<TlsCertificate>| Some(ListenerTls { certificates });
        assert!(with(Protocol::Https, tls(vec![cert.clone()])).is_ok());
        let https = decode(&encode(&{
            let mut s = sample(3);
            s.listeners[0].protocol = Protocol::Https;
            s.listeners[0].tls = tls(vec![cert.clone()]);
            s
        }))
        .expect("round trip");
        assert_eq!(https.listeners[0].tls, tls(vec![cert.clone()]));

        for (protocol, settings, why) in [
            (Protocol::Https, None, "HTTPS without TLS settings"),
            (Protocol::Https, tls(vec![]), "HTTPS without a certificate"),
            (
                Protocol::Http,
                tls(vec![cert.clone()]),
                "TLS settings on a cleartext",
            ),
            (
                Protocol::Https,
                tls(vec![TlsCertificate {
                    server_names: vec![HostMatch::Exact("Upper.example".into())],
                    ..cert.clone()
                }]),
                "bad server name",
            ),
            (
                Protocol::Https,
                tls(vec![TlsCertificate {
                    key_pem: String::new(),
                    ..cert.clone()
                }]),
                "PEM chain or key missing",
            ),
        ] {
            let err = with(protocol, settings).expect_err(why);
            assert!(err.to_string().contains(why), "{err} should say {why}");
        }
    }
}

//! The IR: the compiled, self-contained snapshot that the control plane
//! publishes and every data-plane process serves.
//!
//! This crate is the whole contract between the two planes. It knows nothing
//! of Kubernetes and nothing of any runtime: plain data, a compact binary
//! encoding with a checksummed header, and a full validation pass that every
//! reader runs before it trusts a snapshot.
//!
//! Layout of an encoded snapshot (all integers little endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 0..8 | magic `SGIRSNAP` |
//! | 8..12 | `abi_version` |
//! | 12..16 | reserved, zero |
//! | 16..24 | `generation` |
//! | 24..32 | payload length |
//! | 32..40 | xxh3-64 of the payload |
//! | 40.. | payload (postcard) |
#![forbid(unsafe_code)]

mod codec;
mod model;
mod validate;

pub use codec::{HEADER_LEN, Header, MAGIC, decode, encode, read_header};
pub use model::*;
pub use validate::validate;

/// Version of the binary layout and of the model. Bump on any change that an
/// older reader could misread; readers refuse other versions.
pub const ABI_VERSION: u32 = 5;

/// Why a snapshot was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IrError {
    #[error("snapshot too short: {len} bytes, header needs {HEADER_LEN}")]
    TooShort { len: usize },
    #[error("bad magic: not a shardgate snapshot")]
    BadMagic,
    #[error("abi version {found} is not supported (this build reads {ABI_VERSION})")]
    AbiMismatch { found: u32 },
    #[error("payload length {declared} does not match the {actual} bytes present")]
    LengthMismatch { declared: u64, actual: u64 },
    #[error("checksum mismatch: header says {declared:#018x}, payload hashes to {actual:#018x}")]
    Checksum { declared: u64, actual: u64 },
    #[error("generation {header} in header differs from generation {body} in body")]
    GenerationMismatch { header: u64, body: u64 },
    #[error("payload does not decode: {0}")]
    Decode(String),
    #[error("invalid snapshot: {0}")]
    Invalid(String),
}

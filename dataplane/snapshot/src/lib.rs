//! Shared-memory transport of IR snapshots from one control-plane process
//! (the [`Publisher`]) to any number of data-plane processes
//! ([`Subscriber`]s), with per-shard acknowledgements flowing back.
//!
//! # Files
//!
//! For a segment at `PATH` (normally under `/dev/shm`):
//!
//! * `PATH` — the **control segment**, a fixed-size file mapped shared by
//!   every process. It holds a header (magic, layout version, geometry,
//!   publisher pid and start time), the published generation with the length
//!   of its blob, a 32-bit change counter used as a futex word, and
//!   [`SLOTS`] acknowledgement slots. Every field is an atomic word; nothing
//!   in it is ever read or written non-atomically once it is reachable at
//!   `PATH`. See `layout.rs` for the byte map.
//! * `PATH.{generation:020}` — one immutable **blob** per published
//!   snapshot: exactly the bytes of `shardgate_ir::encode`. A blob is written
//!   in full under a temporary name and renamed into place *before* the
//!   control segment names its generation, and it is never modified after
//!   that. The publisher keeps the newest few blobs and unlinks older ones.
//!
//! # Why readers never see a torn snapshot
//!
//! The publisher stores the generation with `Release` after the rename; a
//! reader `Acquire`-loads it, opens the blob of that generation and maps it.
//! The blob was complete before its name existed, and nobody writes it
//! afterwards, so the mapping is stable for as long as the reader keeps it,
//! even after the publisher unlinks the file (the mapping pins the inode).
//! As a second line of defence [`Subscriber::load_current`] checks the IR
//! header, the generation and the xxh3 checksum of every blob before handing
//! it out; the caller then runs `shardgate_ir::decode` (see
//! [`SnapshotBytes::decode`]) for the structural validation it needs anyway.
//! A reader that loses a race with the unlinking of an old blob sees the file
//! missing, re-reads the (newer) generation and retries.
//!
//! Improvements over the first sketch of this design:
//!
//! * The futex word is a separate 32-bit change counter, because a futex
//!   compares 32 bits and generations are 64 bits. Readers load the counter,
//!   then the generation, and sleep only if the counter is still unchanged,
//!   so a publish between the check and the sleep cannot be missed.
//! * A new or garbage control segment is built under a temporary name and
//!   then linked (new) or renamed (garbage) into place, so a subscriber never
//!   maps a half-initialised header and no file that anyone has mapped is
//!   ever truncated (which would raise `SIGBUS` in the mapping process).
//! * The publisher holds an exclusive `flock` on the control segment for its
//!   lifetime, so a second live control plane on the same path is refused
//!   ([`ShmError::PublisherActive`]); the lock dies with the process.
//!
//! # Restarts
//!
//! A subscriber keeps its own mappings of the control segment and of the
//! current blob, so it keeps serving when the control plane dies. A new
//! [`Publisher`] on the same path either takes over the existing segment
//! (generations continue from the published one) or, when the file was
//! deleted, creates a new one. Subscribers notice a re-created file by its
//! device and inode number (checked on every [`Subscriber::wait_for_change`]
//! round and every [`Subscriber::load_current`]) and follow it. Generations
//! strictly increase within one control segment; a re-created segment starts
//! again from 0, so data planes must treat "different", not "greater", as the
//! signal to reload (see [`Subscriber::recreations`]).
//!
//! # Acknowledgements
//!
//! Each data-plane process claims one slot with [`Subscriber::register`]
//! (a compare-and-swap on the slot's owner word, tagged against ABA). Every
//! shard's acknowledged generation sits on its own 128-byte line, so shards
//! acking at the same time never share a cache line (128 rather than 64
//! because adjacent-line prefetchers pair 64-byte lines). A slot records the
//! owner's pid and its start time from `/proc/PID/stat`; a slot whose process
//! is gone, is a zombie, or whose pid now belongs to a younger process is
//! reclaimed by [`Publisher::readers`] and by registering subscribers.
//! This needs every process to share one pid namespace (true for
//! `shardgate up` and for containers of one pod with a shared process
//! namespace).
//!
//! [`AckHandle`]s follow a re-created control segment transparently: the
//! subscriber re-registers the same number of shards in the new segment and
//! switches every clone of the handle to the new slot (acks restart at 0
//! there, since generations restart with the segment).
//!
//! # Use
//!
//! Control plane:
//!
//! ```no_run
//! # fn main() -> Result<(), shardgate_snapshot::ShmError> {
//! use shardgate_snapshot::Publisher;
//! let mut publisher = Publisher::open("/dev/shm/shardgate".as_ref())?;
//! let generation = publisher.current_generation() + 1;
//! let snapshot = shardgate_ir::Snapshot { generation, ..Default::default() };
//! publisher.publish(&shardgate_ir::encode(&snapshot))?;
//! let converged = publisher.all_adopted(generation);
//! # let _ = converged; Ok(()) }
//! ```
//!
//! Data plane (the snapshot thread; shards get the decoded table by message
//! and ack through their clone of the handle):
//!
//! ```no_run
//! # fn main() -> Result<(), shardgate_snapshot::ShmError> {
//! use shardgate_snapshot::Subscriber;
//! use std::time::Duration;
//! let mut sub = Subscriber::open("/dev/shm/shardgate".as_ref())?;
//! let acks = sub.register(4)?;
//! let (mut seen, mut segment) = (0, 0);
//! loop {
//!     let now = sub.wait_for_change(seen, Duration::from_secs(1));
//!     if now == seen && sub.recreations() == segment {
//!         continue;
//!     }
//!     (seen, segment) = (now, sub.recreations());
//!     match sub.load_current() {
//!         Ok(Some(bytes)) => match bytes.decode() {
//!             Ok(snapshot) => {
//!                 seen = bytes.generation();
//!                 // ... compile `snapshot`, hand it to every shard; each
//!                 // shard then calls `acks.ack(shard, seen)`.
//! #               let _ = snapshot;
//!                 for shard in 0..4 {
//!                     acks.ack(shard, seen);
//!                 }
//!             }
//!             Err(e) => tracing::error!(error = %e, "refusing snapshot; keeping the old one"),
//!         },
//!         Ok(None) => {}
//!         Err(e) => tracing::warn!(error = %e, "cannot load snapshot; keeping the old one"),
//!     }
//! }
//! # }
//! ```
//!
//! # Platform
//!
//! Linux only (futex, `/proc`).
//!
//! # Testing under Miri and sanitizers
//!
//! Miri cannot run `mmap`, `flock` or `futex`, so only the pure parts run
//! under it: `cargo +nightly miri test -p shardgate-snapshot --lib` runs the
//! layout arithmetic and `/proc/PID/stat` parsing tests and skips (via
//! `cfg_attr(miri, ignore)`) every test that needs the OS. The unsafe code
//! that matters (atomic views into the shared mapping, the handle's pointer
//! swap) is exercised by the integration tests, which can optionally be run
//! under AddressSanitizer or ThreadSanitizer on a nightly toolchain, e.g.
//! `RUSTFLAGS=-Zsanitizer=thread cargo +nightly test -Zbuild-std
//! --target x86_64-unknown-linux-gnu -p shardgate-snapshot`. Neither is
//! required: CI runs the plain stable `cargo test`.
// The transport maps files shared between processes and blocks on futexes;
// that needs unsafe (mmap, atomic views into the mapping, the futex syscall,
// kill(2)). Every unsafe block states why it is sound.
#![allow(unsafe_code)]

mod ack;
mod futex;
mod layout;
mod proc;
mod publisher;
mod subscriber;
#[cfg(test)]
mod testdir;

use std::io;
use std::path::{Path, PathBuf};

pub use ack::{AckHandle, ReaderStatus};
pub use layout::{MAX_SHARDS, SLOTS};
pub use publisher::{KEEP_BLOBS, Publisher};
pub use subscriber::{SnapshotBytes, Subscriber};

/// Why a transport operation failed. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("control segment {path} does not exist (no control plane has created it yet)")]
    Missing { path: PathBuf },
    #[error("control segment {path} is not a shardgate control segment: {reason}")]
    Garbage { path: PathBuf, reason: String },
    #[error("control segment {path} is held by another live control plane")]
    PublisherActive { path: PathBuf },
    #[error("control segment {path} kept changing while it was being opened; retry")]
    Contended { path: PathBuf },
    #[error("refusing to publish to {path}: {source}")]
    InvalidSnapshot {
        path: PathBuf,
        #[source]
        source: shardgate_ir::IrError,
    },
    #[error(
        "refusing to publish generation {offered} to {path}: it must be greater than the current generation {current}"
    )]
    GenerationNotIncreasing {
        path: PathBuf,
        current: u64,
        offered: u64,
    },
    #[error("snapshot blob {path} of published generation {generation} is missing")]
    BlobMissing { path: PathBuf, generation: u64 },
    #[error("snapshot blob {path} of published generation {generation} is corrupt: {source}")]
    BlobCorrupt {
        path: PathBuf,
        generation: u64,
        #[source]
        source: shardgate_ir::IrError,
    },
    #[error(
        "snapshot blob {path} carries generation {found}, but generation {generation} was published"
    )]
    BlobGeneration {
        path: PathBuf,
        generation: u64,
        found: u64,
    },
    #[error(
        "control segment {path}: cannot register {shards} shards (a process may register 1..={MAX_SHARDS})"
    )]
    ShardCount { path: PathBuf, shards: usize },
    #[error("control segment {path}: all {SLOTS} acknowledgement slots are held by live processes")]
    NoFreeSlot { path: PathBuf },
}

impl ShmError {
    fn io(path: &Path, op: &'static str) -> impl FnOnce(io::Error) -> ShmError {
        let path = path.to_path_buf();
        move |source| ShmError::Io { path, op, source }
    }
}

/// Remove a control segment and every file beside it named `PATH.*` (its
/// blobs and any temporary file a publisher left), e.g. when an all-in-one
/// process that created the segment exits. Missing files are not an error.
pub fn remove_segment(control: &Path) {
    let _ = std::fs::remove_file(control);
    let (Some(dir), Some(name)) = (control.parent(), control.file_name()) else {
        return;
    };
    let prefix = format!("{}.", name.to_string_lossy());
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// `PATH.{generation:020}`: where the blob of one generation lives.
pub fn blob_path(control: &Path, generation: u64) -> PathBuf {
    let mut s = control.as_os_str().to_owned();
    s.push(format!(".{generation:020}"));
    PathBuf::from(s)
}

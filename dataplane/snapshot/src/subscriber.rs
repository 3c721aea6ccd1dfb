//! The data-plane side: waits for a new generation, maps its blob, verifies
//! it, registers shards for acknowledgement, and follows a re-created
//! control segment.

use crate::ack::{self, AckShared};
use crate::layout::{FileId, Segment};
use crate::{AckHandle, ShmError, blob_path, futex, proc};
use memmap2::Mmap;
use shardgate_ir::{HEADER_LEN, IrError, Snapshot};
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Longest single futex sleep: bounds how late a missed wake (or a
/// re-created control segment, whose futex word is a different one) is seen.
const POLL: Duration = Duration::from_millis(100);

/// A data plane's view of one control segment path.
#[derive(Debug)]
pub struct Subscriber {
    seg: Arc<Segment>,
    /// Registrations to carry over to a re-created segment.
    registrations: Vec<Weak<AckShared>>,
    recreations: u64,
}

fn open_segment(path: &Path) -> Result<Segment, ShmError> {
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(ShmError::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(ShmError::io(path, "open control segment")(e)),
    };
    Segment::open(path, file)
}

impl Subscriber {
    /// Open an existing control segment. Errors (clearly) if it is missing
    /// or garbage; callers retry.
    pub fn open(path: &Path) -> Result<Subscriber, ShmError> {
        Ok(Subscriber {
            seg: Arc::new(open_segment(path)?),
            registrations: Vec::new(),
            recreations: 0,
        })
    }

    /// The control segment's path.
    pub fn path(&self) -> &Path {
        self.seg.path()
    }

    /// The generation published in the followed control segment right now.
    pub fn generation(&self) -> u64 {
        self.seg.generation().load(Ordering::Acquire)
    }

    /// How many times this subscriber has followed a re-created control
    /// segment. Generations restart with a new segment, so a loop that must
    /// never miss a change reloads when either the generation or this count
    /// differs from what it last loaded.
    pub fn recreations(&self) -> u64 {
        self.recreations
    }

    /// Whether a live control plane currently owns the segment.
    pub fn publisher_alive(&self) -> bool {
        let pid = self.seg.publisher_pid().load(Ordering::Acquire);
        let start = self.seg.publisher_start().load(Ordering::Relaxed);
        u32::try_from(pid).is_ok_and(|pid| pid != 0 && proc::is_alive(pid, start))
    }

    /// Block up to `timeout` until the published generation differs from
    /// `seen`, or the control segment was re-created; returns the published
    /// generation now (equal to `seen` on timeout, and possibly after a
    /// re-creation: see [`Subscriber::recreations`]).
    pub fn wait_for_change(&mut self, seen: u64, timeout: Duration) -> u64 {
        let start = Instant::now();
        loop {
            if self.follow_recreated() {
                return self.generation();
            }
            // Counter first, then generation: a publish after these loads
            // bumps the counter, and the futex refuses to sleep on a stale
            // counter value, so no wake-up is lost.
            let changes = self.seg.changes().load(Ordering::Acquire);
            let generation = self.generation();
            let elapsed = start.elapsed();
            if generation != seen || elapsed >= timeout {
                return generation;
            }
            futex::wait(self.seg.changes(), changes, (timeout - elapsed).min(POLL));
        }
    }

    /// Map the currently published snapshot, after checking its IR header,
    /// generation and checksum. `None` when nothing is published yet. The
    /// bytes stay valid and unchanged for the life of the value, whatever
    /// the publisher does meanwhile.
    pub fn load_current(&mut self) -> Result<Option<SnapshotBytes>, ShmError> {
        self.follow_recreated();
        let mut generation = self.generation();
        loop {
            if generation == 0 {
                return Ok(None);
            }
            let path = blob_path(self.path(), generation);
            match File::open(&path) {
                Ok(file) => return map_blob(&path, &file, generation).map(Some),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    // Unlinked after newer publishes: retry with the newest.
                    let now = self.generation();
                    if now != generation {
                        generation = now;
                    } else if self.follow_recreated() {
                        generation = self.generation();
                    } else {
                        return Err(ShmError::BlobMissing { path, generation });
                    }
                }
                Err(e) => return Err(ShmError::io(&path, "open snapshot blob")(e)),
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn segment(&self) -> &Arc<Segment> {
        &self.seg
    }

    /// Claim an acknowledgement slot for this process with `shards` shards.
    /// The handle follows re-created control segments (see [`AckHandle`]).
    pub fn register(&mut self, shards: usize) -> Result<AckHandle, ShmError> {
        let handle = AckHandle::register(&self.seg, shards)?;
        self.registrations.retain(|w| w.strong_count() > 0);
        self.registrations.push(Arc::downgrade(handle.shared()));
        Ok(handle)
    }

    /// If the path now names another valid control segment, switch to it
    /// and move every live registration over. A path that is missing or
    /// garbage keeps us on the segment we have.
    fn follow_recreated(&mut self) -> bool {
        let path = self.seg.path();
        match FileId::of_path(path) {
            Ok(id) if id != self.seg.id() => {}
            _ => return false,
        }
        let seg = match open_segment(path) {
            Ok(seg) if seg.id() != self.seg.id() => Arc::new(seg),
            Ok(_) => return false,
            Err(e) => {
                tracing::debug!(error = %e, "control segment replaced by an unusable file; staying on the old one");
                return false;
            }
        };
        self.registrations.retain(|w| w.strong_count() > 0);
        for shared in self.registrations.iter().filter_map(Weak::upgrade) {
            match ack::claim(&seg, shared.shards()) {
                Ok(claim) => shared.switch(Arc::clone(&seg), claim),
                Err(e) => tracing::warn!(error = %e,
                    "cannot re-register in the re-created control segment; acknowledgements stay invisible"),
            }
        }
        tracing::info!(path = %seg.path().display(), generation = seg.generation().load(Ordering::Acquire),
            "following re-created control segment");
        self.seg = seg;
        self.recreations += 1;
        true
    }
}

fn map_blob(path: &Path, file: &File, generation: u64) -> Result<SnapshotBytes, ShmError> {
    let corrupt = |source| ShmError::BlobCorrupt {
        path: path.to_path_buf(),
        generation,
        source,
    };
    let len = file
        .metadata()
        .map_err(ShmError::io(path, "stat snapshot blob"))?
        .len();
    if len < HEADER_LEN as u64 {
        return Err(corrupt(IrError::TooShort {
            len: usize::try_from(len).unwrap_or(0),
        }));
    }
    // SAFETY: blobs are immutable: the publisher writes a blob completely
    // under a temporary name, renames it into place, and never opens it for
    // writing again; replacing or unlinking the name leaves this inode and
    // mapping intact. (Only a foreign process truncating the file could
    // invalidate the mapping; the blob's mode keeps other users out.)
    let map = unsafe { Mmap::map(file) }.map_err(ShmError::io(path, "map snapshot blob"))?;
    let header = shardgate_ir::read_header(&map).map_err(corrupt)?;
    if header.generation != generation {
        return Err(ShmError::BlobGeneration {
            path: path.to_path_buf(),
            generation,
            found: header.generation,
        });
    }
    let actual = xxhash_rust::xxh3::xxh3_64(&map[HEADER_LEN..]);
    if actual != header.checksum {
        return Err(corrupt(IrError::Checksum {
            declared: header.checksum,
            actual,
        }));
    }
    Ok(SnapshotBytes { map, generation })
}

/// The immutable bytes of one published snapshot, mapped from its blob,
/// with the generation it was published as. Header, generation and checksum
/// are verified; [`SnapshotBytes::decode`] adds the structural validation.
pub struct SnapshotBytes {
    map: Mmap,
    generation: u64,
}

impl SnapshotBytes {
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// `shardgate_ir::decode` of these bytes.
    pub fn decode(&self) -> Result<Snapshot, IrError> {
        shardgate_ir::decode(self)
    }
}

impl std::ops::Deref for SnapshotBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl AsRef<[u8]> for SnapshotBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for SnapshotBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotBytes")
            .field("generation", &self.generation)
            .field("len", &self.map.len())
            .finish()
    }
}

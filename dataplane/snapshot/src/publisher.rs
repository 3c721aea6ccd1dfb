//! The control-plane side: owns the control segment, writes blobs, bumps
//! the generation, wakes readers, reads acknowledgements.

use crate::layout::{FileId, Segment};
use crate::{ReaderStatus, ShmError, ack, blob_path, futex, proc};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// Blobs kept on disk, the current one included. Older ones are unlinked;
/// readers that mapped them keep valid mappings.
pub const KEEP_BLOBS: usize = 4;

/// Attempts to open a control segment that keeps being replaced under us.
const OPEN_ATTEMPTS: usize = 8;

const CONTROL_MODE: u32 = 0o660;
const BLOB_MODE: u32 = 0o640;

/// The single writer of a control segment. Holds an exclusive `flock` on it
/// for its whole life, so a second live publisher on the same path is
/// refused. Dropping it (or the process dying) leaves the segment and the
/// current blob in place for the data planes.
#[derive(Debug)]
pub struct Publisher {
    seg: Segment,
    /// Generations whose blobs this publisher keeps on disk, oldest first.
    kept: VecDeque<u64>,
}

impl Publisher {
    /// Create the control segment at `path`, or take over an existing valid
    /// one (control-plane restart). A garbage file at `path` is replaced by
    /// a fresh segment (logged); the garbage itself is never resized in
    /// place, because another process might have it mapped.
    pub fn open(path: &Path) -> Result<Publisher, ShmError> {
        for _ in 0..OPEN_ATTEMPTS {
            if let Some(seg) = try_open(path)? {
                return Ok(Publisher::take(seg));
            }
        }
        Err(ShmError::Contended {
            path: path.to_path_buf(),
        })
    }

    fn take(seg: Segment) -> Publisher {
        seg.publisher_start()
            .store(proc::own_start_time(), Ordering::Relaxed);
        seg.publisher_pid()
            .store(u64::from(std::process::id()), Ordering::Release);
        let current = seg.generation().load(Ordering::Acquire);
        let mut publisher = Publisher {
            seg,
            kept: VecDeque::new(),
        };
        publisher.remove_leftovers(current);
        if current != 0 {
            publisher.kept.push_back(current);
            let blob = blob_path(publisher.path(), current);
            if !blob.exists() {
                tracing::warn!(blob = %blob.display(), generation = current,
                    "the blob of the published generation is missing; readers fail until the next publish");
            }
        }
        tracing::info!(path = %publisher.path().display(), generation = current, "publishing snapshots");
        publisher
    }

    /// The control segment's path.
    pub fn path(&self) -> &Path {
        self.seg.path()
    }

    /// The published generation; 0 before anything is published.
    pub fn current_generation(&self) -> u64 {
        self.seg.generation().load(Ordering::Acquire)
    }

    /// Publish bytes produced by `shardgate_ir::encode`. The generation is
    /// read from the IR header and must be greater than
    /// [`Publisher::current_generation`]. The header and checksum are
    /// verified first, so a corrupt buffer is refused here and not by every
    /// data plane.
    pub fn publish(&mut self, bytes: &[u8]) -> Result<(), ShmError> {
        let invalid = |source| ShmError::InvalidSnapshot {
            path: self.path().to_path_buf(),
            source,
        };
        let header = shardgate_ir::read_header(bytes).map_err(invalid)?;
        let actual = xxhash_rust::xxh3::xxh3_64(&bytes[shardgate_ir::HEADER_LEN..]);
        if actual != header.checksum {
            return Err(invalid(shardgate_ir::IrError::Checksum {
                declared: header.checksum,
                actual,
            }));
        }
        let generation = header.generation;
        let current = self.current_generation();
        if generation <= current {
            return Err(ShmError::GenerationNotIncreasing {
                path: self.path().to_path_buf(),
                current,
                offered: generation,
            });
        }
        self.write_blob(generation, bytes)?;
        let seg = &self.seg;
        seg.blob_len().store(bytes.len() as u64, Ordering::Relaxed);
        // The blob is complete under its final name: make it current.
        seg.generation().store(generation, Ordering::Release);
        seg.changes().fetch_add(1, Ordering::Release);
        futex::wake_all(seg.changes());
        tracing::debug!(path = %self.path().display(), generation, len = bytes.len(), "published");
        self.kept.push_back(generation);
        while self.kept.len() > KEEP_BLOBS {
            if let Some(old) = self.kept.pop_front() {
                remove_quietly(&blob_path(self.path(), old));
            }
        }
        Ok(())
    }

    /// Write the blob under a temporary name, then rename it into place, so
    /// that its final name only ever refers to complete bytes.
    fn write_blob(&self, generation: u64, bytes: &[u8]) -> Result<(), ShmError> {
        let path = blob_path(self.path(), generation);
        let tmp = tmp_blob_path(&path);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(BLOB_MODE)
            .open(&tmp)
            .map_err(ShmError::io(&tmp, "create snapshot blob"))?;
        if let Err(e) = file.write_all(bytes) {
            remove_quietly(&tmp);
            return Err(ShmError::io(&tmp, "write snapshot blob")(e));
        }
        drop(file);
        std::fs::rename(&tmp, &path).map_err(|e| {
            remove_quietly(&tmp);
            ShmError::io(&path, "rename snapshot blob into place")(e)
        })
    }

    /// Unlink temporary files of crashed publishers and every blob except
    /// the published one. Safe: a reader only ever opens the blob the
    /// segment currently names, and retries when that changes.
    fn remove_leftovers(&self, current: u64) {
        let Some(dir) = self.path().parent() else {
            return;
        };
        let Some(name) = self.path().file_name().and_then(|n| n.to_str()) else {
            return;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(rest) = file_name
                .to_str()
                .and_then(|f| f.strip_prefix(name))
                .and_then(|f| f.strip_prefix('.'))
            else {
                continue;
            };
            let stale = match Leftover::parse(rest) {
                Some(Leftover::Blob(g)) => g != current,
                Some(Leftover::BlobTmp) => true,
                Some(Leftover::ControlTmp(pid)) => !proc::is_alive(pid, 0),
                None => false,
            };
            if stale {
                remove_quietly(&entry.path());
            }
        }
    }

    /// Live data-plane processes and the generation each of their shards has
    /// adopted. Slots of dead processes are reclaimed on the way.
    pub fn readers(&self) -> Vec<ReaderStatus> {
        ack::readers(&self.seg)
    }

    /// True when at least one live reader exists and every shard of every
    /// live reader has adopted `generation` or newer.
    pub fn all_adopted(&self, generation: u64) -> bool {
        let readers = self.readers();
        !readers.is_empty()
            && readers
                .iter()
                .all(|r| r.shards.iter().all(|&g| g >= generation))
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        // Tell subscribers nobody publishes now; the flock goes with the file.
        self.seg.publisher_pid().store(0, Ordering::Release);
    }
}

/// Files beside a control segment `NAME`, by what follows `NAME.`.
#[derive(Debug, PartialEq, Eq)]
enum Leftover {
    /// `NAME.{generation:020}`
    Blob(u64),
    /// `NAME.{generation:020}.tmp`
    BlobTmp,
    /// `NAME.ctl.{pid}.tmp`
    ControlTmp(u32),
}

impl Leftover {
    fn parse(rest: &str) -> Option<Leftover> {
        let digits20 = |s: &str| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit());
        if let Some(pid) = rest
            .strip_prefix("ctl.")
            .and_then(|r| r.strip_suffix(".tmp"))
        {
            return pid.parse().ok().map(Leftover::ControlTmp);
        }
        if let Some(g) = rest.strip_suffix(".tmp") {
            return digits20(g).then_some(Leftover::BlobTmp);
        }
        if digits20(rest) {
            return rest.parse().ok().map(Leftover::Blob);
        }
        None
    }
}

fn tmp_blob_path(blob: &Path) -> PathBuf {
    let mut s = blob.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

fn tmp_control_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".ctl.{}.tmp", std::process::id()));
    PathBuf::from(s)
}

fn remove_quietly(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot remove old snapshot file")
        }
    }
}

/// Take an exclusive lock, or say who holds it.
fn lock(path: &Path, file: &File) -> Result<(), ShmError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(ShmError::PublisherActive {
            path: path.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(ShmError::io(path, "lock control segment")(e)),
    }
}

/// One attempt to own the segment at `path`. `Ok(None)`: the file changed
/// under us, try again.
fn try_open(path: &Path) -> Result<Option<Segment>, ShmError> {
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return create_fresh(path, false),
        Err(e) => return Err(ShmError::io(path, "open control segment")(e)),
    };
    lock(path, &file)?;
    let seg = match Segment::open(path, file) {
        Ok(seg) => seg,
        Err(ShmError::Garbage { reason, .. }) => {
            tracing::warn!(path = %path.display(), %reason,
                "control segment is garbage; replacing it with a fresh one");
            return create_fresh(path, true);
        }
        Err(e) => return Err(e),
    };
    // Replaced between our open and our lock? Then we locked a dead file.
    match FileId::of_path(path) {
        Ok(id) if id == seg.id() => Ok(Some(seg)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ShmError::io(path, "stat control segment")(e)),
    }
}

/// Build a fresh segment under a temporary name, lock it, then make it
/// visible at `path`: by `link` when nothing is there (fails if somebody was
/// faster), by `rename` over garbage.
fn create_fresh(path: &Path, replace: bool) -> Result<Option<Segment>, ShmError> {
    let tmp = tmp_control_path(path);
    remove_quietly(&tmp);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(CONTROL_MODE)
        .open(&tmp)
        .map_err(ShmError::io(&tmp, "create control segment"))?;
    lock(&tmp, &file)?;
    let seg = match Segment::create(path, file) {
        Ok(seg) => seg,
        Err(e) => {
            remove_quietly(&tmp);
            return Err(e);
        }
    };
    let placed = if replace {
        std::fs::rename(&tmp, path)
    } else {
        std::fs::hard_link(&tmp, path)
    };
    remove_quietly(&tmp);
    match placed {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(ShmError::io(path, "place new control segment")(e)),
    }
    match FileId::of_path(path) {
        Ok(id) if id == seg.id() => Ok(Some(seg)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ShmError::io(path, "stat control segment")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_names() {
        assert_eq!(
            Leftover::parse("00000000000000000042"),
            Some(Leftover::Blob(42))
        );
        assert_eq!(
            Leftover::parse("00000000000000000042.tmp"),
            Some(Leftover::BlobTmp)
        );
        assert_eq!(
            Leftover::parse("ctl.1234.tmp"),
            Some(Leftover::ControlTmp(1234))
        );
        for other in ["42", "0000000000000000004x", "ctl.x.tmp", "", "log"] {
            assert_eq!(Leftover::parse(other), None, "{other:?}");
        }
    }

    #[test]
    fn blob_names_sort_by_generation() {
        let a = blob_path(Path::new("/dev/shm/sg"), 9);
        let b = blob_path(Path::new("/dev/shm/sg"), 10);
        assert_eq!(a, Path::new("/dev/shm/sg.00000000000000000009"));
        assert!(a < b);
    }
}

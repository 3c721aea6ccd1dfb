//! The control segment: a fixed-size file whose every field is an atomic
//! word, mapped read-write and shared by every process.
//!
//! Byte map (little endian, `LINE` = 128 bytes):
//!
//! | offset | field |
//! | --- | --- |
//! | 0 | magic `SGSHMCTL` |
//! | 8 | layout version |
//! | 16 | total length of the file |
//! | 24 | slot count |
//! | 32 | shards per slot |
//! | 40 | line size |
//! | 48 | next registration tag (bumped by every claim) |
//! | 56 | publisher pid (0: none) |
//! | 64 | publisher start time (clock ticks after boot) |
//! | 128 | published generation (0: nothing yet) |
//! | 136 | length of the published blob |
//! | 144 | change counter, `u32`, the futex word |
//! | 256 + s·SLOT_LEN | slot `s`: owner word, start time, shard count |
//! | … + (1 + i)·LINE | slot `s`, shard `i`: acknowledged generation |
//!
//! The owner word of a slot is 0 when free, otherwise
//! `pid | tag << 32`, with bit 63 set while the claimer is still filling in
//! the slot.

use crate::ShmError;
use memmap2::{MmapOptions, MmapRaw};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"SGSHMCTL");
pub(crate) const LAYOUT_VERSION: u64 = 1;
pub(crate) const LINE: usize = 128;
/// Acknowledgement slots in one control segment: the most data-plane
/// processes that can register at once.
pub const SLOTS: usize = 64;
/// The most shards one data-plane process can register.
pub const MAX_SHARDS: usize = 256;
const HEADER_LEN: usize = 2 * LINE;
const SLOT_LEN: usize = LINE * (1 + MAX_SHARDS);
pub(crate) const SEGMENT_LEN: usize = HEADER_LEN + SLOTS * SLOT_LEN;

const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_LEN: usize = 16;
const OFF_SLOTS: usize = 24;
const OFF_MAX_SHARDS: usize = 32;
const OFF_LINE: usize = 40;
const OFF_NEXT_TAG: usize = 48;
const OFF_PUB_PID: usize = 56;
const OFF_PUB_START: usize = 64;
const OFF_GENERATION: usize = LINE;
const OFF_BLOB_LEN: usize = LINE + 8;
const OFF_CHANGES: usize = LINE + 16;

/// Set in a slot's owner word while the claimer fills in the slot.
pub(crate) const CLAIMING: u64 = 1 << 63;

const fn slot_base(slot: usize) -> usize {
    HEADER_LEN + slot * SLOT_LEN
}
const fn slot_owner_off(slot: usize) -> usize {
    slot_base(slot)
}
const fn slot_start_off(slot: usize) -> usize {
    slot_base(slot) + 8
}
const fn slot_shards_off(slot: usize) -> usize {
    slot_base(slot) + 16
}
const fn ack_off(slot: usize, shard: usize) -> usize {
    slot_base(slot) + LINE * (1 + shard)
}

/// Identity of a file: a re-created control segment has another one. While
/// any process maps the old file its inode cannot be reused, so a mapped
/// segment and a new file at the same path never compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    pub(crate) fn of_path(path: &Path) -> std::io::Result<FileId> {
        let m = std::fs::metadata(path)?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    fn of_file(file: &File) -> std::io::Result<FileId> {
        let m = file.metadata()?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

/// One mapped control segment.
pub(crate) struct Segment {
    path: PathBuf,
    map: MmapRaw,
    id: FileId,
    /// Kept open: the publisher's `flock` lives on this descriptor.
    _file: File,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("path", &self.path)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Segment {
    /// Map `file`, which is (or, for `create`, will be) a control segment
    /// named `path` in messages. Refuses a file of the wrong size before
    /// mapping it, so nothing past its end is ever touched.
    fn map(path: &Path, file: File) -> Result<Segment, ShmError> {
        let len = file
            .metadata()
            .map_err(ShmError::io(path, "stat control segment"))?
            .len();
        if len != SEGMENT_LEN as u64 {
            return Err(ShmError::Garbage {
                path: path.to_path_buf(),
                reason: format!("size is {len} bytes, expected {SEGMENT_LEN}"),
            });
        }
        let id = FileId::of_file(&file).map_err(ShmError::io(path, "stat control segment"))?;
        let map = MmapOptions::new()
            .len(SEGMENT_LEN)
            .map_raw(&file)
            .map_err(ShmError::io(path, "map control segment"))?;
        Ok(Segment {
            path: path.to_path_buf(),
            map,
            id,
            _file: file,
        })
    }

    /// Map an existing control segment and check its header.
    pub(crate) fn open(path: &Path, file: File) -> Result<Segment, ShmError> {
        let seg = Segment::map(path, file)?;
        seg.check().map_err(|reason| ShmError::Garbage {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(seg)
    }

    /// Size a new, empty file and write a fresh header into it. Only for
    /// files not yet reachable under the segment's real path.
    pub(crate) fn create(path: &Path, file: File) -> Result<Segment, ShmError> {
        file.set_len(SEGMENT_LEN as u64)
            .map_err(ShmError::io(path, "size new control segment"))?;
        let seg = Segment::map(path, file)?;
        let geometry = [
            (OFF_VERSION, LAYOUT_VERSION),
            (OFF_LEN, SEGMENT_LEN as u64),
            (OFF_SLOTS, SLOTS as u64),
            (OFF_MAX_SHARDS, MAX_SHARDS as u64),
            (OFF_LINE, LINE as u64),
        ];
        for (off, value) in geometry {
            seg.word(off).store(value, Ordering::Relaxed);
        }
        seg.word(OFF_MAGIC).store(MAGIC, Ordering::Release);
        Ok(seg)
    }

    /// Why this mapping is not a control segment of this layout, if it is not.
    fn check(&self) -> Result<(), String> {
        let magic = self.word(OFF_MAGIC).load(Ordering::Acquire);
        if magic != MAGIC {
            return Err(format!("bad magic {magic:#018x}, expected {MAGIC:#018x}"));
        }
        let version = self.word(OFF_VERSION).load(Ordering::Relaxed);
        if version != LAYOUT_VERSION {
            return Err(format!(
                "layout version {version}, this build reads {LAYOUT_VERSION}"
            ));
        }
        let expect = [
            ("length", OFF_LEN, SEGMENT_LEN),
            ("slot count", OFF_SLOTS, SLOTS),
            ("shards per slot", OFF_MAX_SHARDS, MAX_SHARDS),
            ("line size", OFF_LINE, LINE),
        ];
        for (what, off, want) in expect {
            let found = self.word(off).load(Ordering::Relaxed);
            if found != want as u64 {
                return Err(format!("{what} is {found}, expected {want}"));
            }
        }
        Ok(())
    }

    /// An atomic view of the 8 bytes at `off`.
    fn word(&self, off: usize) -> &AtomicU64 {
        assert!(
            off.is_multiple_of(8) && off + 8 <= self.map.len(),
            "control segment offset {off} out of layout"
        );
        // SAFETY: the mapping is page aligned and `off` is a multiple of 8,
        // so the pointer is aligned for AtomicU64; the assert keeps all 8
        // bytes inside the mapping, which lives as long as `&self`. The
        // mapping is shared and writable, and every process touches the
        // control segment only through atomic operations (see module docs),
        // so there is no concurrent non-atomic access.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(off).cast::<u64>()) }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn id(&self) -> FileId {
        self.id
    }

    pub(crate) fn generation(&self) -> &AtomicU64 {
        self.word(OFF_GENERATION)
    }

    pub(crate) fn blob_len(&self) -> &AtomicU64 {
        self.word(OFF_BLOB_LEN)
    }

    /// The futex word: bumped after every publish.
    pub(crate) fn changes(&self) -> &AtomicU32 {
        let off = OFF_CHANGES;
        assert!(off.is_multiple_of(4) && off + 4 <= self.map.len());
        // SAFETY: as in `word`: aligned (page-aligned base, offset multiple
        // of 4), in bounds, lives as long as `&self`, only accessed
        // atomically by every process (and by the kernel's futex code, which
        // only reads it).
        unsafe { AtomicU32::from_ptr(self.map.as_mut_ptr().add(off).cast::<u32>()) }
    }

    pub(crate) fn publisher_pid(&self) -> &AtomicU64 {
        self.word(OFF_PUB_PID)
    }

    pub(crate) fn publisher_start(&self) -> &AtomicU64 {
        self.word(OFF_PUB_START)
    }

    pub(crate) fn next_tag(&self) -> &AtomicU64 {
        self.word(OFF_NEXT_TAG)
    }

    pub(crate) fn slot_owner(&self, slot: usize) -> &AtomicU64 {
        assert!(slot < SLOTS);
        self.word(slot_owner_off(slot))
    }

    pub(crate) fn slot_start(&self, slot: usize) -> &AtomicU64 {
        assert!(slot < SLOTS);
        self.word(slot_start_off(slot))
    }

    pub(crate) fn slot_shards(&self, slot: usize) -> &AtomicU64 {
        assert!(slot < SLOTS);
        self.word(slot_shards_off(slot))
    }

    pub(crate) fn ack(&self, slot: usize, shard: usize) -> &AtomicU64 {
        assert!(slot < SLOTS && shard < MAX_SHARDS);
        self.word(ack_off(slot, shard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_fit_their_lines() {
        for off in [
            OFF_MAGIC,
            OFF_VERSION,
            OFF_LEN,
            OFF_SLOTS,
            OFF_MAX_SHARDS,
            OFF_LINE,
            OFF_NEXT_TAG,
            OFF_PUB_PID,
            OFF_PUB_START,
        ] {
            assert!(off + 8 <= LINE, "config field at {off} spills into line 1");
        }
        for off in [OFF_GENERATION, OFF_BLOB_LEN, OFF_CHANGES + 4] {
            assert!((LINE..2 * LINE).contains(&off), "published field at {off}");
        }
        assert!(HEADER_LEN <= slot_base(0));
    }

    #[test]
    fn every_ack_word_has_its_own_line() {
        let mut lines = std::collections::HashSet::new();
        for slot in 0..SLOTS {
            assert!(lines.insert(slot_owner_off(slot) / LINE));
            assert_eq!(slot_start_off(slot) / LINE, slot_owner_off(slot) / LINE);
            assert_eq!(slot_shards_off(slot) / LINE, slot_owner_off(slot) / LINE);
            for shard in 0..MAX_SHARDS {
                let off = ack_off(slot, shard);
                assert_eq!(off % LINE, 0, "slot {slot} shard {shard} not line aligned");
                assert!(
                    lines.insert(off / LINE),
                    "slot {slot} shard {shard} shares a line"
                );
            }
        }
        assert_eq!(ack_off(SLOTS - 1, MAX_SHARDS - 1) + LINE, SEGMENT_LEN);
        assert!(
            lines.insert(0) && lines.insert(1),
            "header lines are reused"
        );
    }
}

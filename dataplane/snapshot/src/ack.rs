//! Acknowledgement slots: claiming, reading, reclaiming, and the handle the
//! shards use to report the generation they serve.

use crate::layout::{CLAIMING, MAX_SHARDS, SLOTS, Segment};
use crate::{ShmError, proc};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, OnceLock};

/// One live data-plane process and the generation each of its shards has
/// acknowledged (index = shard; 0 = nothing yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderStatus {
    pub pid: u32,
    pub shards: Vec<u64>,
}

const TAG_MASK: u64 = 0x7fff_ffff;

fn owner_pid(owner: u64) -> u32 {
    (owner & 0xffff_ffff) as u32
}

/// A slot this process claimed, identified by its full owner word so that a
/// release never frees somebody else's later claim of the same slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim {
    slot: usize,
    owner: u64,
}

/// Claim a free slot for this process, reclaiming slots of dead processes
/// when none is free.
pub(crate) fn claim(seg: &Segment, shards: usize) -> Result<Claim, ShmError> {
    if shards == 0 || shards > MAX_SHARDS {
        return Err(ShmError::ShardCount {
            path: seg.path().to_path_buf(),
            shards,
        });
    }
    let pid = u64::from(std::process::id());
    let start = proc::own_start_time();
    for round in 0..2 {
        for slot in 0..SLOTS {
            let owner_word = seg.slot_owner(slot);
            if owner_word.load(Ordering::Relaxed) != 0 {
                continue;
            }
            let tag = seg.next_tag().fetch_add(1, Ordering::Relaxed) & TAG_MASK;
            let owner = pid | (tag << 32);
            if owner_word
                .compare_exchange(0, owner | CLAIMING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            seg.slot_start(slot).store(start, Ordering::Relaxed);
            seg.slot_shards(slot)
                .store(shards as u64, Ordering::Relaxed);
            for shard in 0..shards {
                seg.ack(slot, shard).store(0, Ordering::Relaxed);
            }
            // Publishes the fields above to whoever Acquire-loads the owner.
            owner_word.store(owner, Ordering::Release);
            tracing::debug!(path = %seg.path().display(), slot, shards, "claimed acknowledgement slot");
            return Ok(Claim { slot, owner });
        }
        if round == 0 {
            reclaim_dead(seg);
        }
    }
    Err(ShmError::NoFreeSlot {
        path: seg.path().to_path_buf(),
    })
}

/// Whether the owner of a slot is alive. A slot still being claimed has no
/// trustworthy start time yet, so only its pid is checked.
fn owner_alive(seg: &Segment, slot: usize, owner: u64) -> bool {
    let start = if owner & CLAIMING != 0 {
        0
    } else {
        seg.slot_start(slot).load(Ordering::Relaxed)
    };
    proc::is_alive(owner_pid(owner), start)
}

/// Free the slot if it still holds exactly `owner`.
fn release(seg: &Segment, slot: usize, owner: u64) -> bool {
    seg.slot_owner(slot)
        .compare_exchange(owner, 0, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
}

fn reclaim_dead(seg: &Segment) {
    for slot in 0..SLOTS {
        let owner = seg.slot_owner(slot).load(Ordering::Acquire);
        if owner != 0 && !owner_alive(seg, slot, owner) && release(seg, slot, owner) {
            tracing::info!(
                path = %seg.path().display(),
                slot,
                pid = owner_pid(owner),
                "reclaimed the acknowledgement slot of a dead data-plane process"
            );
        }
    }
}

/// Every live registered process with its shards' acknowledged generations;
/// slots of dead processes are reclaimed on the way.
pub(crate) fn readers(seg: &Segment) -> Vec<ReaderStatus> {
    reclaim_dead(seg);
    let mut out = Vec::new();
    for slot in 0..SLOTS {
        let owner_word = seg.slot_owner(slot);
        let owner = owner_word.load(Ordering::Acquire);
        if owner == 0 || owner & CLAIMING != 0 {
            continue;
        }
        let count = usize::try_from(seg.slot_shards(slot).load(Ordering::Relaxed))
            .map_or(MAX_SHARDS, |n| n.min(MAX_SHARDS));
        let shards = (0..count)
            .map(|shard| seg.ack(slot, shard).load(Ordering::Acquire))
            .collect();
        // A slot released and re-claimed while we read it mixes two owners:
        // leave it out of this round.
        if owner_word.load(Ordering::Acquire) == owner {
            out.push(ReaderStatus {
                pid: owner_pid(owner),
                shards,
            });
        }
    }
    out
}

/// One registration in one control segment. Dropping it frees the slot.
struct Target {
    seg: Arc<Segment>,
    claim: Claim,
    /// The target this one replaced: kept alive because a shard may still be
    /// storing through it while the switch happens.
    older: OnceLock<Arc<Target>>,
}

impl Drop for Target {
    fn drop(&mut self) {
        release(&self.seg, self.claim.slot, self.claim.owner);
    }
}

/// What every clone of an [`AckHandle`] shares: the current target.
pub(crate) struct AckShared {
    shards: usize,
    /// Owns one strong count of the newest target (from `Arc::into_raw`);
    /// older targets hang off it through `Target::older`.
    current: AtomicPtr<Target>,
}

impl AckShared {
    fn new(seg: Arc<Segment>, claim: Claim, shards: usize) -> AckShared {
        let target = Arc::new(Target {
            seg,
            claim,
            older: OnceLock::new(),
        });
        AckShared {
            shards,
            current: AtomicPtr::new(Arc::into_raw(target).cast_mut()),
        }
    }

    pub(crate) fn shards(&self) -> usize {
        self.shards
    }

    fn target(&self) -> &Target {
        let ptr = self.current.load(Ordering::Acquire);
        // SAFETY: `current` always holds a pointer from `Arc::into_raw`, and
        // a target is freed only when every newer target has been freed,
        // which happens only in `AckShared::drop`. So whatever pointer we
        // loaded stays valid for as long as `&self` does.
        unsafe { &*ptr }
    }

    /// Point every handle at a new slot (after the control segment was
    /// re-created). Safe to race with `ack` and with itself.
    pub(crate) fn switch(&self, seg: Arc<Segment>, claim: Claim) {
        let new = Arc::new(Target {
            seg,
            claim,
            older: OnceLock::new(),
        });
        let raw = Arc::into_raw(Arc::clone(&new)).cast_mut();
        let old = self.current.swap(raw, Ordering::AcqRel);
        // SAFETY: `old` came from `Arc::into_raw` and the count it carried
        // was owned by `current`; the swap moved that ownership to us, and
        // we hand it on to the new target, which keeps the old one alive.
        let old = unsafe { Arc::from_raw(old) };
        // Fresh OnceLock, set exactly once here.
        let _ = new.older.set(old);
    }
}

impl Drop for AckShared {
    fn drop(&mut self) {
        let ptr = *self.current.get_mut();
        // SAFETY: the pointer came from `Arc::into_raw` and `current` owns
        // its count; with `&mut self` nobody can load it any more.
        drop(unsafe { Arc::from_raw(ptr) });
    }
}

/// Reports the generation each shard of this process serves. Cheap to
/// clone; clones share one slot. [`AckHandle::ack`] is one atomic store on
/// the shard's own cache line.
///
/// When the control segment is re-created, the [`crate::Subscriber`] that
/// made this handle re-registers in the new segment and switches every
/// clone over transparently. The slot is freed when the last clone drops.
#[derive(Clone)]
pub struct AckHandle {
    shared: Arc<AckShared>,
}

impl std::fmt::Debug for AckHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.shared.target();
        f.debug_struct("AckHandle")
            .field("path", &t.seg.path())
            .field("slot", &t.claim.slot)
            .field("shards", &self.shared.shards)
            .finish()
    }
}

impl AckHandle {
    pub(crate) fn register(seg: &Arc<Segment>, shards: usize) -> Result<AckHandle, ShmError> {
        let claim = claim(seg, shards)?;
        Ok(AckHandle {
            shared: Arc::new(AckShared::new(Arc::clone(seg), claim, shards)),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<AckShared> {
        &self.shared
    }

    /// Record that `shard` now serves `generation`.
    ///
    /// # Panics
    /// If `shard` is not below the count given to `register`.
    pub fn ack(&self, shard: usize, generation: u64) {
        assert!(
            shard < self.shared.shards,
            "shard {shard} acked, but only {} shards are registered",
            self.shared.shards
        );
        let t = self.shared.target();
        t.seg
            .ack(t.claim.slot, shard)
            .store(generation, Ordering::Release);
    }

    /// The number of shards this handle was registered with.
    pub fn shards(&self) -> usize {
        self.shared.shards
    }
}

#[cfg(test)]
mod tests;

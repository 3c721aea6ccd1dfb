use super::*;
use crate::testdir::TestDir;
use crate::{Publisher, Subscriber};

fn setup(dir: &TestDir, name: &str) -> (Publisher, Subscriber) {
    let path = dir.path(name);
    let publisher = Publisher::open(&path).expect("publisher");
    let subscriber = Subscriber::open(&path).expect("subscriber");
    (publisher, subscriber)
}

/// A process that existed and is now dead and reaped, with its start time.
fn dead_process() -> (u32, u64) {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    let pid = child.id();
    let start = proc::start_time(&pid.to_string());
    assert_ne!(start, 0, "no start time for {pid}");
    child.kill().expect("kill sleep");
    child.wait().expect("reap sleep");
    (pid, start)
}

#[test]
#[cfg_attr(miri, ignore = "mmap")]
fn shard_counts_outside_the_slot_are_refused() {
    let dir = TestDir::new();
    let (_p, mut s) = setup(&dir, "ctl");
    for shards in [0, MAX_SHARDS + 1] {
        let err = s.register(shards).expect_err("must refuse");
        assert!(matches!(err, ShmError::ShardCount { .. }), "{err}");
        assert!(err.to_string().contains("ctl"), "{err}");
    }
    assert_eq!(s.register(MAX_SHARDS).expect("max").shards(), MAX_SHARDS);
}

#[test]
#[cfg_attr(miri, ignore = "mmap")]
fn slots_run_out_and_dropping_the_last_clone_frees_one() {
    let dir = TestDir::new();
    let (p, mut s) = setup(&dir, "ctl");
    let mut handles: Vec<AckHandle> = (0..SLOTS)
        .map(|_| s.register(1).expect("free slot"))
        .collect();
    let err = s
        .register(1)
        .expect_err("all slots held by this live process");
    assert!(matches!(err, ShmError::NoFreeSlot { .. }), "{err}");
    assert_eq!(p.readers().len(), SLOTS);

    let last = handles.pop().expect("one handle");
    let clone = last.clone();
    drop(last);
    assert!(s.register(1).is_err(), "a clone still holds the slot");
    drop(clone);
    let again = s.register(2).expect("slot freed by the last clone");
    again.ack(1, 7);
    assert!(p.readers().iter().any(|r| r.shards == [0, 7]));
}

#[test]
#[cfg_attr(miri, ignore = "mmap, /proc")]
fn slot_of_a_dead_process_is_reclaimed_but_a_live_claimer_is_not() {
    let dir = TestDir::new();
    let (p, s) = setup(&dir, "ctl");
    let seg = s.segment();
    let (dead, dead_start) = dead_process();
    // A dead process that finished registering: slot 3.
    seg.slot_start(3).store(dead_start, Ordering::Relaxed);
    seg.slot_shards(3).store(2, Ordering::Relaxed);
    seg.slot_owner(3)
        .store(u64::from(dead) | (9 << 32), Ordering::Release);
    // A dead process that died while claiming: slot 5.
    seg.slot_owner(5)
        .store(u64::from(dead) | (10 << 32) | CLAIMING, Ordering::Release);
    // This (live) process in the middle of claiming: slot 6.
    let me = u64::from(std::process::id()) | (11 << 32) | CLAIMING;
    seg.slot_owner(6).store(me, Ordering::Release);

    assert_eq!(p.readers(), vec![], "dead or half-claimed slots listed");
    assert_eq!(seg.slot_owner(3).load(Ordering::Acquire), 0);
    assert_eq!(seg.slot_owner(5).load(Ordering::Acquire), 0);
    assert_eq!(seg.slot_owner(6).load(Ordering::Acquire), me);
}

#[test]
#[cfg_attr(miri, ignore = "mmap, /proc")]
fn a_reused_pid_does_not_keep_a_dead_slot() {
    let dir = TestDir::new();
    let (p, s) = setup(&dir, "ctl");
    let seg = s.segment();
    // Our own pid, but a start time that is not ours: the registered
    // process died and the pid now belongs to someone else.
    let start = proc::own_start_time();
    seg.slot_start(0).store(start + 1, Ordering::Relaxed);
    seg.slot_shards(0).store(1, Ordering::Relaxed);
    seg.slot_owner(0)
        .store(u64::from(std::process::id()) | (1 << 32), Ordering::Release);
    assert!(p.readers().is_empty());
    assert_eq!(seg.slot_owner(0).load(Ordering::Acquire), 0);
}

#[test]
#[cfg_attr(miri, ignore = "mmap")]
fn switch_moves_every_clone_and_frees_old_slots_with_the_last_clone() {
    let dir = TestDir::new();
    let (p1, mut s1) = setup(&dir, "one");
    let (p2, s2) = setup(&dir, "two");
    let handle = s1.register(3).expect("register");
    let clone = handle.clone();
    handle.ack(0, 4);
    assert_eq!(p1.readers()[0].shards, vec![4, 0, 0]);

    let claim = claim(s2.segment(), 3).expect("claim in second segment");
    handle.shared().switch(Arc::clone(s2.segment()), claim);
    clone.ack(2, 9);
    assert_eq!(p2.readers()[0].shards, vec![0, 0, 9], "clone not switched");
    assert_eq!(p1.readers()[0].shards, vec![4, 0, 0], "old slot written");

    drop(handle);
    assert_eq!(p1.readers().len(), 1, "freed while a clone lives");
    drop(clone);
    assert!(p1.readers().is_empty(), "old slot not freed");
    assert!(p2.readers().is_empty(), "new slot not freed");
}

#[test]
#[cfg_attr(miri, ignore = "mmap")]
fn acks_from_many_threads_land_on_their_own_shards() {
    let dir = TestDir::new();
    let (p, mut s) = setup(&dir, "ctl");
    let handle = s.register(8).expect("register");
    std::thread::scope(|scope| {
        for shard in 0..8 {
            let h = handle.clone();
            scope.spawn(move || {
                for g in 1..=1000 {
                    h.ack(shard, g * 10 + shard as u64);
                }
            });
        }
    });
    let expect: Vec<u64> = (0..8).map(|shard| 10_000 + shard).collect();
    assert_eq!(p.readers()[0].shards, expect);
}

#[test]
#[should_panic(expected = "shard 2 acked, but only 2 shards are registered")]
#[cfg_attr(miri, ignore = "mmap")]
fn acking_an_unregistered_shard_panics() {
    let dir = TestDir::new();
    let (_p, mut s) = setup(&dir, "ctl");
    s.register(2).expect("register").ack(2, 1);
}

//! Acknowledgements: per-shard acks seen by the publisher, `all_adopted`,
//! dead readers reclaimed, handles surviving a re-created segment.

mod common;

use common::{TestDir, child_env, eventually, read_marker, small, spawn_child_test, write_marker};
use shardgate_snapshot::{Publisher, ReaderStatus, Subscriber};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

#[test]
fn per_shard_acks_and_all_adopted() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    publisher.publish(&small(5)).expect("publish");
    assert!(!publisher.all_adopted(0), "no readers: nothing is adopted");

    let mut sub = Subscriber::open(&path).expect("subscriber");
    let handle = sub.register(3).expect("register");
    let pid = std::process::id();
    assert_eq!(
        publisher.readers(),
        vec![ReaderStatus {
            pid,
            shards: vec![0, 0, 0]
        }]
    );
    handle.ack(0, 5);
    handle.clone().ack(1, 5);
    assert_eq!(publisher.readers()[0].shards, vec![5, 5, 0]);
    assert!(!publisher.all_adopted(5), "shard 2 has not adopted");
    handle.ack(2, 6);
    assert!(publisher.all_adopted(5));
    assert!(!publisher.all_adopted(6));

    let mut other = Subscriber::open(&path).expect("second subscriber");
    let second = other.register(1).expect("register");
    assert_eq!(publisher.readers().len(), 2);
    assert!(!publisher.all_adopted(5), "second reader has not adopted");
    second.ack(0, 5);
    assert!(publisher.all_adopted(5));
    drop(second);
    assert_eq!(publisher.readers().len(), 1, "dropped handle still listed");
}

const CHILD_PATH: &str = "SG_SNAPSHOT_ACK_PATH";

/// Registers two shards, acks 3 and 4, says so, then exits without any
/// cleanup as soon as the parent writes a line (a crash, as far as the
/// segment can tell).
#[test]
#[ignore = "child process of dead_reader_slot_is_reclaimed"]
fn child_registers_then_dies() {
    let Some(path) = child_env(CHILD_PATH) else {
        return;
    };
    let mut sub = Subscriber::open(Path::new(&path)).expect("child subscriber");
    let handle = sub.register(2).expect("child register");
    handle.ack(0, 3);
    handle.ack(1, 4);
    write_marker("READY ", std::process::id());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    std::process::exit(0);
}

#[test]
fn dead_reader_slot_is_reclaimed() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let publisher = Publisher::open(&path).expect("publisher");
    let mut child = spawn_child_test(
        "child_registers_then_dies",
        &[(CHILD_PATH, path.to_string_lossy().into_owned())],
    );
    let pid: u32 = read_marker(&mut child, "READY ")
        .parse()
        .expect("child pid");
    assert_eq!(pid, child.id());
    assert_eq!(
        publisher.readers(),
        vec![ReaderStatus {
            pid,
            shards: vec![3, 4]
        }]
    );
    assert!(publisher.all_adopted(3));
    assert!(!publisher.all_adopted(4));

    let mut stdin = child.stdin.take().expect("child stdin");
    stdin.write_all(b"die\n").expect("tell child to exit");
    drop(stdin);
    assert!(child.wait().expect("reap child").success());

    assert_eq!(publisher.readers(), vec![], "dead reader still listed");
    assert!(!publisher.all_adopted(0));
    // All slots are free again: this process can take every one of them.
    let mut sub = Subscriber::open(&path).expect("subscriber");
    let handles: Vec<_> = (0..shardgate_snapshot::SLOTS)
        .map(|_| sub.register(1).expect("slot free after reclaim"))
        .collect();
    assert_eq!(publisher.readers().len(), handles.len());
}

#[test]
fn ack_handle_follows_a_recreated_segment() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    publisher.publish(&small(8)).expect("publish");
    let mut sub = Subscriber::open(&path).expect("subscriber");
    let handle = sub.register(2).expect("register");
    let shard_thread_handle = handle.clone();
    handle.ack(0, 8);
    handle.ack(1, 8);
    assert!(publisher.all_adopted(8));
    drop(publisher);
    std::fs::remove_file(&path).expect("delete control segment");

    let mut publisher = Publisher::open(&path).expect("new control plane");
    assert!(publisher.readers().is_empty(), "fresh segment has readers");
    publisher.publish(&small(1)).expect("publish");
    assert_eq!(sub.wait_for_change(8, Duration::from_secs(30)), 1);
    assert_eq!(sub.recreations(), 1);
    let pid = std::process::id();
    let reregistered = eventually(Duration::from_secs(30), "re-registration", || {
        publisher.readers().into_iter().find(|r| r.pid == pid)
    });
    assert_eq!(
        reregistered.shards,
        vec![0, 0],
        "acks restart with the segment"
    );

    let loaded = sub.load_current().expect("load").expect("some");
    std::thread::scope(|s| {
        s.spawn(|| shard_thread_handle.ack(0, loaded.generation()));
    });
    handle.ack(1, loaded.generation());
    assert!(publisher.all_adopted(1));
    drop((handle, shard_thread_handle));
    assert!(
        publisher.readers().is_empty(),
        "slot kept after the last handle"
    );
}

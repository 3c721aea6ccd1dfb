//! Publishing and loading: late subscribers, garbage, refusals, blob
//! retention, big snapshots, control-plane restarts.

mod common;

use common::{TestDir, assert_is_generation, small, snapshot};
use shardgate_snapshot::{KEEP_BLOBS, Publisher, ShmError, Subscriber, blob_path};
use std::os::unix::fs::FileExt;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(30);

#[test]
fn handles_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Publisher>();
    send_sync::<Subscriber>();
    send_sync::<shardgate_snapshot::SnapshotBytes>();
    send_sync::<shardgate_snapshot::AckHandle>();
    send_sync::<ShmError>();
}

#[test]
fn late_subscriber_gets_the_current_snapshot_at_once() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    assert_eq!(publisher.current_generation(), 0);
    for g in 1..=3 {
        publisher.publish(&small(g)).expect("publish");
    }
    assert_eq!(publisher.current_generation(), 3);

    let mut sub = Subscriber::open(&path).expect("subscriber");
    assert_eq!(sub.wait_for_change(0, LONG), 3);
    let bytes = sub.load_current().expect("load").expect("published");
    assert_eq!(bytes.generation(), 3);
    assert_eq!(&bytes[..], &small(3)[..]);
    assert_eq!(bytes.decode().expect("decode"), snapshot(3, 2, 2));
    assert!(sub.publisher_alive());
}

#[test]
fn nothing_published_yet_is_none_and_waiting_times_out() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let _publisher = Publisher::open(&path).expect("publisher");
    let mut sub = Subscriber::open(&path).expect("subscriber");
    assert!(sub.load_current().expect("load").is_none());
    assert_eq!(sub.wait_for_change(0, Duration::from_millis(20)), 0);
}

#[test]
fn missing_segment_is_a_clear_error() {
    let dir = TestDir::new();
    let path = dir.path("absent");
    let err = Subscriber::open(&path).expect_err("nothing there");
    assert!(matches!(err, ShmError::Missing { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&*path.to_string_lossy()) && msg.contains("does not exist"),
        "{msg}"
    );
}

#[test]
fn garbage_segments_are_refused_by_subscribers_and_replaced_by_the_publisher() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let refused = |why: &str| {
        let err = Subscriber::open(&path).expect_err("garbage accepted");
        let msg = err.to_string();
        assert!(matches!(err, ShmError::Garbage { .. }), "{msg}");
        assert!(msg.contains(&*path.to_string_lossy()), "{msg}");
        assert!(msg.contains(why), "{msg} does not mention {why}");
    };

    std::fs::write(&path, b"definitely not a control segment").expect("write garbage");
    refused("size is 32 bytes");

    // Right size (taken from a real segment), wrong content.
    let len = {
        let other = dir.path("real");
        let _p = Publisher::open(&other).expect("real segment");
        std::fs::metadata(&other).expect("stat").len()
    };
    std::fs::write(&path, vec![0u8; len as usize]).expect("write zeroes");
    refused("bad magic");

    // A valid header of another layout version.
    drop(Publisher::open(&path).expect("publisher replaces garbage"));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open for patching");
    file.write_all_at(&2u64.to_le_bytes(), 8)
        .expect("patch version");
    refused("layout version 2, this build reads 1");

    // The publisher replaces it and subscribers accept the result.
    let mut publisher = Publisher::open(&path).expect("publisher replaces garbage");
    assert_eq!(publisher.current_generation(), 0);
    publisher.publish(&small(1)).expect("publish");
    let mut sub = Subscriber::open(&path).expect("now valid");
    assert_eq!(
        sub.load_current()
            .expect("load")
            .expect("some")
            .generation(),
        1
    );
}

#[test]
fn publish_refuses_old_generations_and_bad_bytes() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    publisher.publish(&small(5)).expect("publish 5");
    for g in [5, 4, 0] {
        let err = publisher.publish(&small(g)).expect_err("not increasing");
        assert!(
            matches!(err, ShmError::GenerationNotIncreasing { current: 5, offered, .. } if offered == g),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("greater than the current generation 5"),
            "{err}"
        );
    }
    let mut corrupt = small(6);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    let err = publisher.publish(&corrupt).expect_err("bad checksum");
    assert!(err.to_string().contains("checksum"), "{err}");
    let err = publisher.publish(b"hello").expect_err("not a snapshot");
    assert!(matches!(err, ShmError::InvalidSnapshot { .. }), "{err}");
    assert_eq!(publisher.current_generation(), 5);
    assert!(!blob_path(&path, 6).exists(), "refused blob written");
}

#[test]
fn a_second_live_publisher_is_refused() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut first = Publisher::open(&path).expect("first");
    first.publish(&small(1)).expect("publish");
    let err = Publisher::open(&path).expect_err("two publishers");
    assert!(matches!(err, ShmError::PublisherActive { .. }), "{err}");
    drop(first);
    let second = Publisher::open(&path).expect("after the first is gone");
    assert_eq!(second.current_generation(), 1);
}

#[test]
fn old_blobs_are_removed_but_mapped_bytes_stay_valid() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    let mut sub = Subscriber::open(&path).expect("subscriber");
    publisher.publish(&small(1)).expect("publish");
    let first = sub.load_current().expect("load").expect("some");
    for g in 2..=10 {
        publisher.publish(&small(g)).expect("publish");
    }
    let mut expect = vec!["ctl".to_string()];
    expect.extend((11 - KEEP_BLOBS as u64..=10).map(|g| format!("ctl.{g:020}")));
    assert_eq!(dir.files(), expect);
    assert!(!blob_path(&path, 1).exists());
    assert_is_generation(&first, 1);
}

#[test]
fn wait_for_change_returns_when_another_thread_publishes() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    let mut sub = Subscriber::open(&path).expect("subscriber");
    let waiter = std::thread::spawn(move || sub.wait_for_change(0, LONG));
    publisher.publish(&small(1)).expect("publish");
    assert_eq!(waiter.join().expect("waiter"), 1);
}

#[test]
fn fifty_megabyte_snapshot_round_trips() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut big = snapshot(7, 1, 0);
    let filler = "h2c-".repeat(240); // about 1 KB per cluster
    for c in 0..52_000u32 {
        let mut cluster = shardgate_ir::Cluster::new(
            format!("big/svc-{c}:80"),
            (0..8)
                .map(|e| shardgate_ir::Endpoint {
                    addr: std::net::SocketAddr::from(([10, (c >> 8) as u8, c as u8, e], 80)),
                })
                .collect(),
        );
        cluster.app_protocol = Some(filler.clone());
        big.clusters.push(cluster);
    }
    let bytes = shardgate_ir::encode(&big);
    assert!(bytes.len() >= 50 << 20, "only {} bytes", bytes.len());

    let mut publisher = Publisher::open(&path).expect("publisher");
    let mut sub = Subscriber::open(&path).expect("subscriber");
    publisher.publish(&bytes).expect("publish 50 MB");
    let loaded = sub.load_current().expect("load").expect("some");
    assert_eq!(loaded.generation(), 7);
    assert!(loaded[..] == bytes[..], "bytes differ");
    assert_eq!(loaded.decode().expect("decode"), big);
}

#[test]
fn control_plane_restart_on_the_same_segment() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    publisher.publish(&small(4)).expect("publish");
    let mut sub = Subscriber::open(&path).expect("subscriber");
    let held = sub.load_current().expect("load").expect("some");
    drop(publisher); // the control plane dies

    assert!(!sub.publisher_alive());
    assert_eq!(sub.wait_for_change(4, Duration::from_millis(20)), 4);
    assert_is_generation(&held, 4);
    assert_eq!(
        sub.load_current()
            .expect("load")
            .expect("some")
            .generation(),
        4
    );

    let mut publisher = Publisher::open(&path).expect("new control plane");
    assert_eq!(
        publisher.current_generation(),
        4,
        "generation did not continue"
    );
    assert!(publisher.publish(&small(4)).is_err());
    let waiter = std::thread::spawn(move || {
        let g = sub.wait_for_change(4, LONG);
        (g, sub)
    });
    publisher.publish(&small(5)).expect("publish");
    let (g, mut sub) = waiter.join().expect("waiter");
    assert_eq!(g, 5);
    assert!(sub.publisher_alive());
    assert_eq!(sub.recreations(), 0);
    assert_is_generation(&sub.load_current().expect("load").expect("some"), 5);
    assert_is_generation(&held, 4);
}

#[test]
fn subscriber_follows_a_deleted_and_recreated_segment() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    publisher.publish(&small(9)).expect("publish");
    let mut sub = Subscriber::open(&path).expect("subscriber");
    let held = sub.load_current().expect("load").expect("some");
    drop(publisher);
    std::fs::remove_file(&path).expect("delete control segment");

    // No segment at the path: the data plane keeps what it has.
    assert_eq!(sub.wait_for_change(9, Duration::from_millis(20)), 9);
    assert_eq!(
        sub.load_current()
            .expect("load")
            .expect("some")
            .generation(),
        9
    );
    assert!(matches!(
        Subscriber::open(&path),
        Err(ShmError::Missing { .. })
    ));

    let waiter = std::thread::spawn(move || {
        let g = sub.wait_for_change(9, LONG);
        (g, sub)
    });
    let mut publisher = Publisher::open(&path).expect("new control plane");
    assert_eq!(publisher.current_generation(), 0, "fresh segment");
    publisher
        .publish(&small(1))
        .expect("publish into the new segment");
    let (g, mut sub) = waiter.join().expect("waiter");
    assert_eq!(sub.recreations(), 1);
    // The waiter may have switched before or after the first publish.
    assert!(g == 0 || g == 1, "{g}");
    assert_eq!(sub.wait_for_change(0, LONG), 1);
    assert_is_generation(&sub.load_current().expect("load").expect("some"), 1);
    assert_is_generation(&held, 9);
    publisher.publish(&small(2)).expect("publish");
    assert_eq!(sub.wait_for_change(1, LONG), 2);
}

#[test]
fn damaged_blobs_are_refused_with_the_file_named() {
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    let mut sub = Subscriber::open(&path).expect("subscriber");
    let load_err = |sub: &mut Subscriber| {
        let err = sub.load_current().expect_err("damaged blob accepted");
        let msg = err.to_string();
        assert!(msg.contains("ctl.0000000000000000000"), "{msg}");
        (err, msg)
    };

    publisher.publish(&small(1)).expect("publish");
    let blob = blob_path(&path, 1);
    let len = std::fs::metadata(&blob).expect("stat blob").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&blob)
        .expect("open blob");
    file.write_all_at(b"\xff", len - 1).expect("damage payload");
    let (err, msg) = load_err(&mut sub);
    assert!(
        matches!(err, ShmError::BlobCorrupt { generation: 1, .. }),
        "{msg}"
    );
    assert!(msg.contains("checksum"), "{msg}");

    std::fs::write(&blob, b"short").expect("truncate blob");
    let (err, msg) = load_err(&mut sub);
    assert!(matches!(err, ShmError::BlobCorrupt { .. }), "{msg}");
    assert!(msg.contains("too short"), "{msg}");

    // A valid snapshot of another generation under this generation's name.
    publisher.publish(&small(2)).expect("publish");
    std::fs::write(blob_path(&path, 2), small(1)).expect("swap blob");
    let (err, msg) = load_err(&mut sub);
    assert!(
        matches!(
            err,
            ShmError::BlobGeneration {
                generation: 2,
                found: 1,
                ..
            }
        ),
        "{msg}"
    );

    std::fs::remove_file(blob_path(&path, 2)).expect("remove blob");
    let (err, msg) = load_err(&mut sub);
    assert!(
        matches!(err, ShmError::BlobMissing { generation: 2, .. }),
        "{msg}"
    );

    // The next publish heals the data plane.
    publisher.publish(&small(3)).expect("publish");
    assert_is_generation(&sub.load_current().expect("load").expect("some"), 3);
}

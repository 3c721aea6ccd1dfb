//! Torn-read stress: a writer publishes thousands of generations of varying
//! size while reader threads, and reader processes, load and decode every
//! generation they observe.

mod common;

use common::{
    TestDir, assert_is_generation, child_env, eventually, read_marker, snapshot, spawn_child_test,
    write_marker,
};
use shardgate_snapshot::{Publisher, Subscriber};
use std::path::Path;
use std::time::{Duration, Instant};

const SAFETY_NET: Duration = Duration::from_secs(60);

/// Mostly small snapshots, a medium one (about 25 KB) every 97 generations
/// and a large one (about 400 KB) every 997, so blob sizes and write times
/// vary widely. (Size itself is covered by the 50 MB test; debug-build
/// encoding and decoding keep these modest.)
fn encoded(generation: u64) -> Vec<u8> {
    let (clusters, endpoints) = if generation.is_multiple_of(997) {
        (1_000, 40)
    } else if generation.is_multiple_of(97) {
        (200, 10)
    } else {
        (1 + (generation % 5) as usize, (generation % 11) as usize)
    };
    shardgate_ir::encode(&snapshot(generation, clusters, endpoints))
}

/// Follow the segment until `last` is loaded; every loaded snapshot must
/// decode as its own generation, and generations must never go backwards.
/// Returns how many distinct generations were loaded.
fn read_until(sub: &mut Subscriber, last: u64, mut on_load: impl FnMut(u64)) -> usize {
    let start = Instant::now();
    let (mut seen, mut loaded) = (0u64, 0usize);
    while seen != last {
        assert!(
            start.elapsed() < SAFETY_NET,
            "reader stuck at generation {seen}"
        );
        let now = sub.wait_for_change(seen, Duration::from_secs(1));
        assert!(
            now >= seen,
            "published generation went back from {seen} to {now}"
        );
        if now == seen {
            continue;
        }
        let bytes = sub
            .load_current()
            .unwrap_or_else(|e| panic!("load after {seen}: {e}"))
            .expect("a generation was published");
        let g = bytes.generation();
        assert!(g >= now, "loaded {g} after being told {now}");
        assert_is_generation(&bytes, g);
        on_load(g);
        seen = g;
        loaded += 1;
    }
    loaded
}

fn publish_all(publisher: &mut Publisher, last: u64) {
    for g in 1..=last {
        publisher.publish(&encoded(g)).expect("publish");
    }
}

#[test]
fn reader_threads_never_see_a_torn_snapshot() {
    const LAST: u64 = 2_000;
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    let counts = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let mut sub = Subscriber::open(&path).expect("subscriber");
                scope.spawn(move || read_until(&mut sub, LAST, |_| {}))
            })
            .collect();
        publish_all(&mut publisher, LAST);
        readers
            .into_iter()
            .map(|r| r.join().expect("reader thread panicked"))
            .collect::<Vec<_>>()
    });
    eprintln!("generations loaded per reader: {counts:?}");
    assert!(counts.iter().all(|&n| n >= 1), "{counts:?}");
}

const CHILD_PATH: &str = "SG_SNAPSHOT_STRESS_PATH";
const CHILD_LAST: &str = "SG_SNAPSHOT_STRESS_LAST";

/// Reader process: registers one shard, acks every generation it loads,
/// reports what it saw, and exits once its parent closes stdin.
#[test]
#[ignore = "child process of reader_processes_never_see_a_torn_snapshot"]
fn child_reader_process() {
    let (Some(path), Some(last)) = (child_env(CHILD_PATH), child_env(CHILD_LAST)) else {
        return;
    };
    let last: u64 = last.parse().expect("last generation");
    let mut sub = Subscriber::open(Path::new(&path)).expect("child subscriber");
    let ack = sub.register(1).expect("child register");
    let loaded = read_until(&mut sub, last, |g| ack.ack(0, g));
    write_marker("LOADED ", loaded);
    // Hold the slot until the parent has checked the acks.
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn reader_processes_never_see_a_torn_snapshot() {
    const LAST: u64 = 1_000;
    let dir = TestDir::new();
    let path = dir.path("ctl");
    let mut publisher = Publisher::open(&path).expect("publisher");
    let env = [
        (CHILD_PATH, path.to_string_lossy().into_owned()),
        (CHILD_LAST, LAST.to_string()),
    ];
    let mut children: Vec<_> = (0..2)
        .map(|_| spawn_child_test("child_reader_process", &env))
        .collect();
    eventually(SAFETY_NET, "both reader processes to register", || {
        (publisher.readers().len() == 2).then_some(())
    });
    publish_all(&mut publisher, LAST);

    for child in &mut children {
        let loaded: usize = read_marker(child, "LOADED ").parse().expect("count");
        assert!(loaded >= 1);
    }
    // Both processes acked the last generation before reporting.
    assert!(publisher.all_adopted(LAST), "{:?}", publisher.readers());
    for mut child in children {
        drop(child.stdin.take());
        let status = child.wait().expect("wait for child");
        assert!(status.success(), "reader process failed: {status}");
    }
}

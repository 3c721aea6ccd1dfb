//! Allocation counts per iteration, printed as a table after criterion's
//! timings (shared by the benches of shardgate-ir, -router and -http1,
//! which include this file by path): a counting global allocator
//! (`stats_alloc`) watches a fixed number of iterations of each
//! benchmarked routine, run on the main thread outside criterion's timing
//! loop, after one warm-up call (so reusable buffers have reached their
//! steady-state capacity).
//!
//! The counter adds two relaxed atomic increments per allocation to the
//! timed figures of routines that allocate; routines that do not allocate
//! are timed exactly as without it.

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// One measured routine.
struct Row {
    name: String,
    allocations: f64,
    reallocations: f64,
    bytes: f64,
}

/// The rows gathered during a bench binary's run.
#[derive(Default)]
pub struct AllocTable {
    rows: Vec<Row>,
}

impl AllocTable {
    /// Count the allocations of `iterations` calls of `f` (after one
    /// warm-up call) and record the per-call averages under `name`.
    pub fn measure<R>(&mut self, name: &str, iterations: u32, mut f: impl FnMut() -> R) {
        black_box(f());
        let n = iterations.max(1);
        let region = Region::new(GLOBAL);
        for _ in 0..n {
            black_box(f());
        }
        let s = region.change();
        let per = |x: usize| x as f64 / f64::from(n);
        self.rows.push(Row {
            name: name.to_string(),
            allocations: per(s.allocations),
            reallocations: per(s.reallocations),
            bytes: per(s.bytes_allocated),
        });
    }

    /// Print the table (stdout, after criterion's own output).
    pub fn print(&self) {
        let width = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(0)
            .max(9);
        println!();
        println!("allocations per iteration");
        println!(
            "{:<width$} {:>12} {:>12} {:>14}",
            "benchmark", "allocs", "reallocs", "bytes"
        );
        for r in &self.rows {
            println!(
                "{:<width$} {:>12.1} {:>12.1} {:>14.0}",
                r.name, r.allocations, r.reallocations, r.bytes
            );
        }
    }
}

/// Criterion settings that keep a whole bench binary to a minute or two;
/// command-line flags (`--quick`, `--sample-size`, …) still override them.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1))
        .configure_from_args()
}

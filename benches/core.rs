//! Core scheduler benchmarks, ringolo against tokio's current-thread runtime in the same run.
//!
//! Each workload runs interleaved (ringolo, tokio, ringolo, tokio, ...) `REPS` times; the table
//! shows medians and the median of the per-pair ratios with its min–max. Wall time per op is
//! the headline; CPU time per op (getrusage of this thread) is shown beside it.
//!
//! `cargo bench --bench core` (add `-- quick` for fewer repetitions).

mod common;
use common::{median, thread_cpu};

use std::time::{Duration, Instant};

const SPAWN_TASKS: usize = 100_000;
const YIELD_TASKS: usize = 200;
const YIELDS: usize = 1_000;
const TIMERS: usize = 100_000;

/// One module per runtime with the same three workloads, so both sides run identical code
/// apart from the runtime's own `spawn`, `yield_now` and `sleep`.
macro_rules! workloads {
    ($name:ident, $rt:ty, $build:expr, $spawn:path, $yield_now:path, $sleep:path) => {
        mod $name {
            use super::*;

            pub fn rt() -> $rt {
                $build
            }

            /// (wall, cpu) of `f` run inside the runtime.
            fn timed<F: std::future::Future<Output = ()>>(rt: &$rt, f: F) -> (Duration, Duration) {
                rt.block_on(async {
                    let c0 = thread_cpu();
                    let t0 = Instant::now();
                    f.await;
                    (t0.elapsed(), thread_cpu() - c0)
                })
            }

            pub fn spawn_join(rt: &$rt) -> (Duration, Duration) {
                timed(rt, async {
                    let handles: Vec<_> = (0..SPAWN_TASKS).map(|_| $spawn(async {})).collect();
                    for h in handles {
                        h.await.unwrap();
                    }
                })
            }

            pub fn yields(rt: &$rt) -> (Duration, Duration) {
                timed(rt, async {
                    let handles: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            $spawn(async {
                                for _ in 0..YIELDS {
                                    $yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await.unwrap();
                    }
                })
            }

            pub fn timers(rt: &$rt) -> (Duration, Duration) {
                timed(rt, async {
                    let handles: Vec<_> = (0..TIMERS)
                        .map(|i| {
                            $spawn(async move {
                                $sleep(Duration::from_millis(1 + (i % 10) as u64)).await
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await.unwrap();
                    }
                })
            }
        }
    };
}

workloads!(
    ringolo_side,
    ringolo::runtime::Runtime,
    ringolo::runtime::Builder::new_current_thread()
        .build()
        .unwrap(),
    ringolo::spawn,
    ringolo::task::yield_now,
    ringolo::time::sleep
);

workloads!(
    tokio_side,
    tokio::runtime::Runtime,
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap(),
    tokio::spawn,
    tokio::task::yield_now,
    tokio::time::sleep
);

struct Row {
    name: &'static str,
    unit_ops: usize,
    /// The target in ns on the reference machine.
    target_ns: f64,
    /// Tokio current-thread's time there (../shared/PERF.md): target / this is the target ratio,
    /// which is what a noisy shared machine can check.
    tokio_ref_ns: f64,
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let reps = if quick { 3 } else { 7 };
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "quick" && !a.starts_with('-'))
        .collect();

    let ring = ringolo_side::rt();
    let tok = tokio_side::rt();

    type Bench<R> = fn(&R) -> (Duration, Duration);
    let workloads: [(
        Row,
        Bench<ringolo::runtime::Runtime>,
        Bench<tokio::runtime::Runtime>,
    ); 3] = [
        (
            Row {
                name: "spawn+join 100k empty tasks (ns/task)",
                unit_ops: SPAWN_TASKS,
                target_ns: 90.0,
                tokio_ref_ns: 347.0,
            },
            ringolo_side::spawn_join,
            tokio_side::spawn_join,
        ),
        (
            Row {
                name: "200 tasks x 1000 yields (ns/yield)",
                unit_ops: YIELD_TASKS * YIELDS,
                target_ns: 25.0,
                tokio_ref_ns: 41.0,
            },
            ringolo_side::yields,
            tokio_side::yields,
        ),
        (
            Row {
                name: "100k sleeps of 1-10 ms (ns/timer)",
                unit_ops: TIMERS,
                target_ns: 650.0,
                tokio_ref_ns: 892.0,
            },
            ringolo_side::timers,
            tokio_side::timers,
        ),
    ];

    println!("ringolo vs tokio current-thread, {reps} interleaved repetitions, medians");
    println!(
        "{:<42} {:>9} {:>9} {:>7} {:>13} {:>11} {:>9} {:>13}",
        "workload",
        "ringolo",
        "tokio",
        "ratio",
        "ratio min-max",
        "ringolo cpu",
        "tokio cpu",
        "target ratio"
    );
    for (row, r, t) in workloads {
        if !filter.is_empty() && !filter.iter().any(|f| row.name.contains(f.as_str())) {
            continue;
        }
        // Warm-up of both sides.
        r(&ring);
        t(&tok);
        let (mut rw, mut tw, mut rc, mut tc, mut ratios) = (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..reps {
            let (a_wall, a_cpu) = r(&ring);
            let (b_wall, b_cpu) = t(&tok);
            let per = |d: Duration| d.as_nanos() as f64 / row.unit_ops as f64;
            rw.push(per(a_wall));
            tw.push(per(b_wall));
            rc.push(per(a_cpu));
            tc.push(per(b_cpu));
            ratios.push(per(a_wall) / per(b_wall));
        }
        let (lo, hi) = common::min_max(&ratios);
        let ratio = median(&mut ratios);
        let target = row.target_ns / row.tokio_ref_ns;
        println!(
            "{:<42} {:>9.1} {:>9.1} {:>7.2} {:>6.2}-{:<6.2} {:>11.1} {:>9.1} {:>7.2} {}",
            row.name,
            median(&mut rw),
            median(&mut tw),
            ratio,
            lo,
            hi,
            median(&mut rc),
            median(&mut tc),
            target,
            if ratio <= target { "met" } else { "MISSED" }
        );
    }
}

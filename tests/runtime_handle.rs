//! The runtime surface compat builds on: entering a runtime, `Handle::block_on`, thread names
//! and hooks, metrics, `worker_index`, the completion budget per look at the ring, and the
//! blocking pool's shutdown.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ringolo::runtime::{Builder, Handle};

fn ct() -> ringolo::runtime::Runtime {
    Builder::new_current_thread().build().unwrap()
}

fn mt(n: usize) -> ringolo::runtime::Runtime {
    Builder::new_multi_thread()
        .worker_threads(n)
        .build()
        .unwrap()
}

#[test]
fn enter_makes_spawn_and_current_reach_the_runtime() {
    let rt = ct();
    assert!(Handle::try_current().is_none());
    let guard = rt.enter();
    assert_eq!(Handle::current().id(), rt.handle().id());
    // Spawned from a thread that only entered the runtime: runs at the next block_on.
    let join = ringolo::spawn(async { 7 });
    drop(guard);
    assert!(Handle::try_current().is_none());
    assert_eq!(rt.block_on(join).unwrap(), 7);
}

#[test]
fn the_most_recent_of_entered_and_driven_is_current() {
    let a = ct();
    let b = ct();
    let (ida, idb) = (a.handle().id(), b.handle().id());
    assert_ne!(ida, idb);
    let _b = b.enter();
    a.block_on(async {
        // Driven inside an older `enter`: the driven runtime wins.
        assert_eq!(Handle::current().id(), ida);
        let _inner = b.handle().enter();
        // Entered inside the drive: the entered one wins, and spawn goes there.
        assert_eq!(Handle::current().id(), idb);
    });
}

#[test]
#[should_panic(expected = "dropped out of order")]
fn enter_guards_dropped_out_of_order_panic() {
    let a = ct();
    let b = ct();
    let ga = a.enter();
    let gb = b.enter();
    drop(ga);
    drop(gb);
}

#[test]
fn handle_block_on_drives_a_free_current_thread_runtime() {
    let rt = ct();
    let handle = rt.handle();
    // No thread is in Runtime::block_on: the handle takes the core, so I/O and timers work.
    let out = std::thread::spawn(move || {
        handle.block_on(async {
            ringolo::time::sleep(Duration::from_millis(5)).await;
            let task = ringolo::spawn(async { 3 });
            task.await.unwrap()
        })
    })
    .join()
    .unwrap();
    assert_eq!(out, 3);
}

#[test]
fn handle_block_on_while_another_thread_drives_polls_with_a_parker() {
    let rt = Arc::new(ct());
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<u32>();
    let handle = rt.handle();
    // Thread 1 holds the core in block_on, waiting for thread 2.
    let rt1 = rt.clone();
    let t1 = std::thread::spawn(move || rt1.block_on(async { go_rx.await.unwrap() }));
    std::thread::sleep(Duration::from_millis(20));
    let t2 = std::thread::spawn(move || {
        handle.block_on(async move {
            // Spawned onto the runtime, run by thread 1's core; woken here through the parker.
            let j = ringolo::spawn(async { 5u32 });
            let v = j.await.unwrap();
            go_tx.send(v).unwrap();
            tx.send(()).unwrap();
        })
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the parked block_on made progress");
    t2.join().unwrap();
    assert_eq!(t1.join().unwrap(), 5);
}

#[test]
#[should_panic(expected = "Cannot start a runtime from within a runtime")]
fn nested_handle_block_on_panics() {
    let rt = ct();
    let h = rt.handle();
    rt.block_on(async move { h.block_on(async {}) });
}

#[test]
fn thread_names_and_start_stop_hooks_cover_workers_and_the_blocking_pool() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("hooked")
        .on_thread_start(move || {
            s.fetch_add(1, SeqCst);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();
    let names = rt.block_on(async {
        let worker = ringolo::spawn(async { std::thread::current().name().map(String::from) });
        let blocking =
            ringolo::task::spawn_blocking(|| std::thread::current().name().map(String::from));
        (worker.await.unwrap(), blocking.await.unwrap())
    });
    assert_eq!(names, (Some("hooked".into()), Some("hooked".into())));
    drop(rt);
    // Two workers and one blocking thread, each started and stopped once, all joined by drop.
    assert_eq!(started.load(SeqCst), 3);
    assert_eq!(stopped.load(SeqCst), 3);
}

#[test]
fn park_hook_may_spawn_and_the_runtime_does_not_sleep_through_it() {
    let parks = Arc::new(AtomicUsize::new(0));
    let p = parks.clone();
    let rt = Builder::new_current_thread()
        .on_thread_park(move || {
            // Spawning from the hook: the runtime must look again before sleeping.
            if p.fetch_add(1, SeqCst) == 0 {
                drop(ringolo::spawn(async {}));
            }
        })
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(ringolo::time::sleep(Duration::from_millis(20)));
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(parks.load(SeqCst) >= 1);
}

#[test]
fn metrics_report_workers_tasks_queue_and_parks() {
    let rt = ct();
    let m = rt.metrics();
    assert_eq!(m.num_workers(), 1);
    assert_eq!(m.num_alive_tasks(), 0);
    let handle = rt.handle();
    let held = std::thread::spawn(move || handle.spawn(async {}))
        .join()
        .unwrap();
    // Spawned from another thread, not yet run: queued from outside.
    assert_eq!(m.global_queue_depth(), 1);
    rt.block_on(async {
        held.await.unwrap();
        ringolo::time::sleep(Duration::from_millis(2)).await;
    });
    assert_eq!(m.num_alive_tasks(), 0);
    assert_eq!(m.global_queue_depth(), 0);
    assert!(m.worker_park_count(0) >= 1);
    assert_eq!(
        m.worker_park_unpark_count(0) % 2,
        0,
        "every park was followed by an unpark"
    );
    assert!(m.worker_total_busy_duration(0) > Duration::ZERO);

    let rt = mt(2);
    let m = rt.metrics();
    assert_eq!(m.num_workers(), 2);
    let (tx, rx) = mpsc::channel::<()>();
    let j = rt.spawn(async move {
        rx.recv().unwrap();
    });
    for _ in 0..100 {
        if m.num_alive_tasks() == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(m.num_alive_tasks(), 1);
    tx.send(()).unwrap();
    rt.block_on(j).unwrap();
    // Idle workers go to sleep (and stay asleep: no periodic wake-ups).
    for w in 0..2 {
        let deadline = Instant::now() + Duration::from_secs(5);
        while m.worker_park_count(w) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(m.worker_park_count(w) >= 1, "worker {w} parked");
    }
    drop(rt);
    for w in 0..2 {
        assert_eq!(
            m.worker_park_unpark_count(w) % 2,
            0,
            "worker {w} woke from every park"
        );
    }
}

#[test]
fn worker_index_matches_tokio() {
    assert_eq!(ringolo::runtime::worker_index(), None);
    let rt = ct();
    assert_eq!(
        rt.block_on(async { ringolo::runtime::worker_index() }),
        Some(0)
    );
    assert_eq!(
        rt.handle()
            .block_on(async { ringolo::runtime::worker_index() }),
        None
    );
    let blocking =
        rt.block_on(async { ringolo::task::spawn_blocking(ringolo::runtime::worker_index).await });
    assert_eq!(blocking.unwrap(), None);
    let rt = mt(2);
    assert_eq!(
        rt.block_on(async { ringolo::runtime::worker_index() }),
        None
    );
    let on_worker =
        rt.block_on(async { ringolo::spawn(async { ringolo::runtime::worker_index() }).await });
    assert!(matches!(on_worker.unwrap(), Some(0 | 1)));
}

/// Regression: with a budget of one completion per look at the ring, every completion must
/// still be delivered (the first version consumed the CQE after the budget ran out and lost it).
#[test]
fn a_budget_of_one_completion_per_look_loses_none() {
    for busy in [true, false] {
        let mut b = Builder::new_current_thread();
        if busy {
            b.max_io_events_per_busy_tick(1);
        } else {
            b.max_io_events_per_tick(1);
        }
        let rt = b.build().unwrap();
        let done = rt.block_on(async {
            // Tasks spinning keep the runtime busy (its looks at the ring do not wait).
            let spin = ringolo::spawn(async {
                loop {
                    ringolo::task::yield_now().await;
                }
            });
            let mut ops = Vec::new();
            for _ in 0..200 {
                ops.push(ringolo::spawn(async {
                    ringolo::Op::new(ringolo::driver::ops::Nop).await
                }));
            }
            let mut done = 0;
            for op in ops {
                op.await.unwrap().unwrap();
                done += 1;
            }
            spin.abort();
            done
        });
        assert_eq!(done, 200);
    }
}

#[test]
#[should_panic(expected = "max_io_events_per_tick must be non-zero")]
fn zero_completions_per_tick_is_refused() {
    Builder::new_current_thread().max_io_events_per_tick(0);
}

#[test]
fn blocking_pool_runs_queued_calls_on_shutdown_and_refuses_later_ones() {
    let rt = Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let handle = rt.handle();
    let (slow, queued) = rt.block_on(async {
        let slow = ringolo::task::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(50));
            1
        });
        (slow, ringolo::task::spawn_blocking(|| 2))
    });
    rt.shutdown_timeout(Duration::from_secs(10));
    assert_eq!(futures::executor::block_on(slow).unwrap(), 1);
    assert_eq!(futures::executor::block_on(queued).unwrap(), 2);
    let late = handle.spawn_blocking(|| 3);
    assert!(futures::executor::block_on(late)
        .unwrap_err()
        .is_cancelled());
}

#[test]
fn shutdown_timeout_bounds_the_wait_for_blocking_calls() {
    let rt = ct();
    let (tx, rx) = mpsc::channel::<()>();
    rt.block_on(async {
        drop(ringolo::task::spawn_blocking(move || {
            let _ = rx.recv_timeout(Duration::from_secs(30));
        }));
    });
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(90) && took < Duration::from_secs(5),
        "{took:?}"
    );
    drop(tx);
}

#[test]
fn a_timer_polled_on_a_blocking_thread_fires_on_its_runtime() {
    for rt in [ct(), mt(2)] {
        let fired = rt.block_on(async {
            let start = Instant::now();
            let sleep = ringolo::compat::time::sleep(Duration::from_millis(20));
            ringolo::task::spawn_blocking(move || {
                futures::executor::block_on(sleep);
                start.elapsed()
            })
            .await
            .unwrap()
        });
        assert!(
            fired >= Duration::from_millis(19) && fired < Duration::from_secs(5),
            "{fired:?}"
        );
    }
}

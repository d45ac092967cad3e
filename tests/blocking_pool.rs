//! `spawn_blocking`: results, the thread bound, idle exit, abort, panics, shutdown, paused time.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringolo::runtime::Builder;
use ringolo::task::spawn_blocking;

#[test]
fn runs_on_a_pool_thread_and_returns_the_value() {
    let rt = common::rt();
    rt.block_on(async {
        let caller = std::thread::current().id();
        let (v, name, id) = spawn_blocking(move || {
            let t = std::thread::current();
            (6 * 7, t.name().map(str::to_owned), t.id())
        })
        .await
        .unwrap();
        assert_eq!(v, 42);
        assert_eq!(name.as_deref(), Some("ringolo-blocking"));
        assert_ne!(id, caller);
    });
}

#[test]
fn thread_count_is_bounded_and_idle_threads_exit() {
    let rt = Builder::new_current_thread()
        .max_blocking_threads(2)
        .thread_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (running, peak) = (running.clone(), peak.clone());
                spawn_blocking(move || {
                    let now = running.fetch_add(1, SeqCst) + 1;
                    peak.fetch_max(now, SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, SeqCst);
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        assert_eq!(sum, 28);
    });
    assert!(peak.load(SeqCst) <= 2, "peak {}", peak.load(SeqCst));
    assert!(peak.load(SeqCst) >= 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rt.blocking_threads(), 0, "idle threads should have exited");
}

#[test]
fn abort_before_start_never_runs_and_panics_are_reported() {
    let rt = Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let blocker = spawn_blocking(move || rx.recv().unwrap());
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = spawn_blocking(move || r.store(true, SeqCst));
        queued.abort();
        tx.send(()).unwrap();
        blocker.await.unwrap();
        assert!(queued.await.unwrap_err().is_cancelled());
        assert!(!ran.load(SeqCst));

        let err = spawn_blocking(|| panic!("blocking boom"))
            .await
            .unwrap_err();
        assert!(err.is_panic());
        assert!(err.to_string().contains("blocking boom"));
    });
}

#[test]
fn runtime_drop_runs_queued_calls_and_cancels_later_ones() {
    let rt = Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (h1, h2) = rt.block_on(async move {
        let h1 = spawn_blocking(move || {
            started_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            1
        });
        let h2 = spawn_blocking(|| 2);
        (h1, h2)
    });
    started_rx.recv().unwrap();
    let handle = rt.handle();
    drop(rt);
    // As in Tokio: the drop waits for the pool; the running call finishes and the queued one,
    // accepted before shutdown, runs too; a call spawned after shutdown is cancelled.
    assert_eq!(futures::executor::block_on(h1).unwrap(), 1);
    assert_eq!(futures::executor::block_on(h2).unwrap(), 2);
    let late = handle.spawn_blocking(|| 3);
    assert!(futures::executor::block_on(late)
        .unwrap_err()
        .is_cancelled());
}

#[test]
fn paused_clock_waits_for_blocking_work() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let res = ringolo::time::timeout(
            Duration::from_secs(10),
            spawn_blocking(|| std::thread::sleep(Duration::from_millis(50))),
        )
        .await;
        assert!(
            res.is_ok(),
            "the paused clock jumped past a 10 s timeout while blocking work ran"
        );
        assert!(start.elapsed() >= Duration::from_millis(50));
    });
}

#[test]
#[should_panic(expected = "spawn_blocking must be called from the context of a ringolo runtime")]
fn spawn_blocking_outside_runtime_panics() {
    drop(spawn_blocking(|| ()));
}

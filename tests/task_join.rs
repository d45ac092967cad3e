//! Spawning, joining, aborting and panicking tasks.
#![allow(clippy::async_yields_async)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ringolo::runtime::{Builder, UnhandledPanic};
use ringolo::task::{self, JoinError};

#[test]
fn spawn_and_join_many() {
    let rt = common::rt();
    let sum = rt.block_on(async {
        let handles: Vec<_> = (0..1000u64)
            .map(|i| ringolo::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 999 * 1000 / 2);
}

#[test]
fn panicking_task_is_reported_and_others_keep_running() {
    let rt = common::rt();
    rt.block_on(async {
        let bad = ringolo::spawn(async { panic!("boom") });
        let good = ringolo::spawn(async {
            for _ in 0..10 {
                task::yield_now().await;
            }
            7
        });
        let err: JoinError = bad.await.unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert!(err.to_string().contains("boom"), "{err}");
        let payload = err.into_panic();
        assert_eq!(*payload.downcast::<&str>().unwrap(), "boom");
        assert_eq!(good.await.unwrap(), 7);
    });
    // The runtime is still usable afterwards.
    assert_eq!(
        rt.block_on(async { ringolo::spawn(async { 1 }).await.unwrap() }),
        1
    );
}

#[test]
fn unhandled_panic_shutdown_runtime_stops_block_on() {
    let rt = Builder::new_current_thread()
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            drop(ringolo::spawn(async { panic!("task failure") }));
            ringolo::time::sleep(Duration::from_secs(5)).await;
        })
    }));
    let msg = common::panic_message(res.unwrap_err());
    assert!(msg.contains("UnhandledPanic::ShutdownRuntime"), "{msg}");
}

#[test]
fn abort_idle_task_yields_cancelled_and_drops_future() {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let rt = common::rt();
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    rt.block_on(async move {
        let h = ringolo::spawn(async move {
            let _guard = SetOnDrop(d);
            std::future::pending::<()>().await;
        });
        task::yield_now().await;
        assert!(!h.is_finished());
        h.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled());
    });
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn abort_before_first_poll_and_after_completion() {
    let rt = common::rt();
    rt.block_on(async {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let h = ringolo::spawn(async move { r.store(true, Ordering::SeqCst) });
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
        assert!(
            !ran.load(Ordering::SeqCst),
            "an aborted task must not be polled"
        );

        let h = ringolo::spawn(async { 5 });
        task::yield_now().await;
        assert!(h.is_finished());
        h.abort();
        assert_eq!(
            h.await.unwrap(),
            5,
            "abort after completion keeps the output"
        );
    });
}

#[test]
fn abort_handle_and_ids() {
    let rt = common::rt();
    rt.block_on(async {
        let h = ringolo::spawn(async {
            let id = task::id();
            std::future::pending::<()>().await;
            id
        });
        let ah = h.abort_handle();
        assert_eq!(ah.id(), h.id());
        task::yield_now().await;
        ah.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(ah.is_finished());
        assert_eq!(err.id(), ah.id());
        assert!(
            task::try_id().is_none(),
            "block_on's own future is not a task"
        );
    });
}

#[test]
fn a_task_can_abort_itself_while_running() {
    let rt = common::rt();
    rt.block_on(async {
        let (tx, rx) = futures::channel::oneshot::channel();
        let h = ringolo::spawn(async move {
            let me: task::AbortHandle = rx.await.unwrap();
            me.abort();
            task::yield_now().await;
            unreachable!("cancelled at the yield");
        });
        tx.send(h.abort_handle()).unwrap();
        assert!(h.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn dropping_join_handle_detaches() {
    let rt = common::rt();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    rt.block_on(async move {
        drop(ringolo::spawn(async move {
            ringolo::time::sleep(Duration::from_millis(20)).await;
            d.fetch_add(1, Ordering::SeqCst);
        }));
        ringolo::time::sleep(Duration::from_millis(60)).await;
    });
    assert_eq!(done.load(Ordering::SeqCst), 1);
}

#[test]
fn join_from_another_task_and_thread() {
    let rt = common::rt();
    rt.block_on(async {
        let inner = ringolo::spawn(async {
            ringolo::time::sleep(Duration::from_millis(10)).await;
            "inner"
        });
        let outer = ringolo::spawn(async move { inner.await.unwrap() });
        assert_eq!(outer.await.unwrap(), "inner");
    });
    // A JoinHandle awaited on a plain thread (futures' executor) while the runtime runs.
    let h = rt.spawn(async { 99 });
    let t = std::thread::spawn(move || futures::executor::block_on(h).unwrap());
    rt.block_on(async { ringolo::time::sleep(Duration::from_millis(20)).await });
    assert_eq!(t.join().unwrap(), 99);
}

#[test]
fn dropping_runtime_cancels_tasks_and_reports_it() {
    let rt = common::rt();
    let h = rt.block_on(async {
        let h = ringolo::spawn(async {
            ringolo::time::sleep(Duration::from_secs(30)).await;
        });
        task::yield_now().await;
        h
    });
    drop(rt);
    let err = futures::executor::block_on(h).unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn spawn_from_outside_then_run() {
    let rt = common::rt();
    let handles: Vec<_> = (0..100).map(|i| rt.spawn(async move { i * 2 })).collect();
    let total: i32 = rt.block_on(async move {
        let mut t = 0;
        for h in handles {
            t += h.await.unwrap();
        }
        t
    });
    assert_eq!(total, 9900);
}

#[test]
fn spawn_outside_runtime_panics_clearly() {
    let err = std::panic::catch_unwind(|| ringolo::spawn(async {})).unwrap_err();
    let msg = common::panic_message(err);
    assert!(
        msg.contains("must be called from the context of a ringolo runtime"),
        "{msg}"
    );
}

#[test]
fn output_dropped_when_handle_dropped_after_completion() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let rt = common::rt();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    rt.block_on(async move {
        let h = ringolo::spawn(async move { Counted(d) });
        task::yield_now().await;
        assert!(h.is_finished());
        drop(h);
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[ringolo::test]
async fn macro_test_runs_on_ringolo() {
    let h = ringolo::spawn(async { 3 });
    assert_eq!(h.await.unwrap(), 3);
    ringolo::time::sleep(Duration::from_millis(1)).await;
}

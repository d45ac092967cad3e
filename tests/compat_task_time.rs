//! compat's tasks and timers: JoinSet, Tokio's detach-on-drop, ids, the paused clock, and
//! Tokio's panic texts where Tokio panics.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use ringolo::compat as tokio;
use tokio::task::JoinSet;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn join_set_yields_in_finish_order_and_aborts_on_drop() {
    let mut set = JoinSet::new();
    for i in (0..5u64).rev() {
        set.spawn(async move {
            tokio::time::sleep(Duration::from_millis(10 * i)).await;
            i
        });
    }
    assert_eq!(set.len(), 5);
    let mut order = Vec::new();
    while let Some(r) = set.join_next().await {
        order.push(r.unwrap());
    }
    assert_eq!(order, vec![0, 1, 2, 3, 4]);
    assert!(set.is_empty());

    let dropped = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let mut set = JoinSet::new();
    for _ in 0..3 {
        let c = Count(dropped.clone());
        set.spawn(async move {
            let _c = c;
            std::future::pending::<()>().await;
        });
    }
    drop(set);
    tokio::task::yield_now().await;
    assert_eq!(
        dropped.load(SeqCst),
        3,
        "dropping the set aborted its tasks"
    );
}

#[tokio::test]
async fn join_set_abort_all_detach_all_and_try_join_next() {
    let mut set: JoinSet<u32> = (0..4).map(|i| async move { i }).collect();
    tokio::task::yield_now().await;
    let mut n = 0;
    while let Some(r) = set.try_join_next() {
        r.unwrap();
        n += 1;
    }
    assert_eq!(n, 4, "finished tasks are joined without waiting");

    let mut set = JoinSet::new();
    set.spawn(std::future::pending::<u32>());
    set.spawn(async { 1u32 });
    set.abort_all();
    let mut cancelled = 0;
    while let Some(r) = set.join_next().await {
        if let Err(e) = r {
            assert!(e.is_cancelled());
            cancelled += 1;
        }
    }
    assert!(cancelled >= 1);

    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut set = JoinSet::new();
    set.spawn(async move { tx.send(7).unwrap() });
    set.detach_all();
    assert!(set.join_next().await.is_none());
    assert_eq!(rx.await.unwrap(), 7, "a detached task runs on");
}

#[tokio::test]
async fn dropping_a_join_handle_detaches_and_ids_match() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let h = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        tx.send(tokio::task::id()).unwrap();
    });
    let id = h.id();
    drop(h);
    assert_eq!(rx.await.unwrap(), id);
    assert!(
        tokio::task::try_id().is_none(),
        "the test's own future is not a task"
    );
}

#[tokio::test(start_paused = true)]
async fn advance_fires_what_falls_due_and_auto_advance_jumps_to_the_next_timer() {
    let start = Instant::now();
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        f.fetch_add(1, SeqCst);
    });
    tokio::task::yield_now().await;
    tokio::time::advance(Duration::from_millis(49)).await;
    assert_eq!(fired.load(SeqCst), 0);
    tokio::time::advance(Duration::from_millis(1)).await;
    tokio::task::yield_now().await;
    assert_eq!(fired.load(SeqCst), 1);
    assert_eq!(start.elapsed(), Duration::from_millis(50));
    // Idle with a timer pending: the clock jumps straight to it.
    let real = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(real.elapsed() < Duration::from_secs(5));
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(50) + Duration::from_secs(3600)
    );
}

#[tokio::test(start_paused = true)]
async fn interval_ticks_at_once_then_every_period() {
    let start = Instant::now();
    let mut iv = tokio::time::interval(Duration::from_millis(10));
    assert_eq!(iv.tick().await, start);
    assert_eq!(iv.tick().await, start + Duration::from_millis(10));
    assert_eq!(iv.tick().await, start + Duration::from_millis(20));
}

#[test]
#[should_panic(expected = "timers are disabled")]
fn a_runtime_without_timers_refuses_sleep_with_tokio_s_message() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(1)).await });
}

#[test]
#[should_panic(expected = "there is no reactor running")]
fn sleep_outside_a_runtime_panics_at_creation() {
    drop(tokio::time::sleep(Duration::from_millis(1)));
}

#[test]
#[should_panic(expected = "time is already frozen")]
fn pausing_twice_panics() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::pause();
        tokio::time::pause();
    });
}

#[test]
fn an_entered_paused_runtime_s_clock_is_what_instant_now_reads() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let _g = rt.enter();
    let a = Instant::now();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        Instant::now(),
        a,
        "paused clock, read without driving the runtime"
    );
    rt.block_on(tokio::time::sleep(Duration::from_millis(3)));
    assert_eq!(a.elapsed(), Duration::from_millis(3));
}

#[test]
fn timeout_with_an_overflowing_duration_needs_no_timer() {
    // No runtime: Tokio builds no timer for a deadline past the clock's range.
    let t = tokio::time::timeout(Duration::MAX, async { 5 });
    assert_eq!(futures::executor::block_on(t).unwrap(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_test_macro_and_block_in_place() {
    let v = tokio::task::block_in_place(|| 40 + 2);
    assert_eq!(v, 42);
    assert_eq!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::MultiThread
    );
    assert_eq!(tokio::runtime::Handle::current().metrics().num_workers(), 2);
}

#[tokio::test(flavor = "local")]
async fn local_flavor_runs_tasks_that_are_not_send() {
    let rc = std::rc::Rc::new(5);
    let r = rc.clone();
    let out = tokio::task::spawn_local(async move { *r + 1 })
        .await
        .unwrap();
    assert_eq!(out, 6);
}

#[tokio::test(name = "named")]
async fn the_name_argument_names_the_runtime() {
    assert_eq!(tokio::runtime::Handle::current().name(), Some("named"));
}

/// Tokio's rule: a waker replaced by `poll_join_next` is dropped after the poll (its drop may
/// run user code — here, driving the task to completion), so that poll still says `Pending`.
#[test]
fn join_set_drops_a_replaced_waker_after_the_poll() {
    use std::task::{Context, Wake, Waker};
    struct DriveOnDrop(tokio::runtime::Runtime);
    impl Wake for DriveOnDrop {
        fn wake(self: Arc<Self>) {}
    }
    impl Drop for DriveOnDrop {
        fn drop(&mut self) {
            self.0.block_on(tokio::task::yield_now());
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut set = JoinSet::new();
    set.spawn_on(async { 42 }, rt.handle());
    let waker = Waker::from(Arc::new(DriveOnDrop(rt)));
    assert!(set
        .poll_join_next(&mut Context::from_waker(&waker))
        .is_pending());
    drop(waker);
    assert!(set
        .poll_join_next(&mut Context::from_waker(Waker::noop()))
        .is_pending());
    assert_eq!(set.try_join_next().unwrap().unwrap(), 42);
}

//! Regression tests for defects found in review: each names what used to go wrong.
#![allow(clippy::async_yields_async)]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ringolo::driver::ops::Write;
use ringolo::Op;

/// Shutdown used to apply `Reclaim::CloseFd` to every op still alive, closing "fd" N where N
/// was a write's byte count.
#[test]
fn shutdown_does_not_close_an_fd_numbered_like_a_result() {
    let (r, w) = common::pipe();
    let rt = common::rt();
    let op = rt.block_on(async move {
        // Write exactly `r` bytes, so the result equals the read end's fd number.
        let mut op = Op::new(Write::new(w, vec![b'x'; r as usize], u64::MAX));
        let waker = futures::task::noop_waker();
        assert!(Pin::new(&mut op)
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        ringolo::time::sleep(Duration::from_millis(5)).await;
        op // completed in the kernel, never polled again
    });
    drop(rt);
    drop(op);
    // SAFETY: fcntl on an fd number only queries it.
    assert_ne!(
        unsafe { libc::fcntl(r, libc::F_GETFD) },
        -1,
        "the read end was closed by shutdown"
    );
    common::close(r);
    common::close(w);
}

/// Counts its polls; never finishes.
struct PollCounter(Arc<AtomicUsize>);
impl Future for PollCounter {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        self.0.fetch_add(1, SeqCst);
        Poll::Pending
    }
}

/// A `yield_now` inside a poll that then completed left its note behind, and the next task to
/// return Pending on that thread was re-queued for nothing.
#[test]
fn yield_inside_a_finished_poll_does_not_requeue_the_next_task() {
    let rt = common::rt();
    rt.block_on(async {
        let polls = Arc::new(AtomicUsize::new(0));
        let a = ringolo::spawn(async {
            let y = std::pin::pin!(ringolo::task::yield_now());
            futures::future::select(y, std::future::ready(())).await;
        });
        let b = ringolo::spawn(PollCounter(polls.clone()));
        ringolo::time::sleep(Duration::from_millis(20)).await;
        a.await.unwrap();
        assert_eq!(
            polls.load(SeqCst),
            1,
            "the idle task was polled again without a wake"
        );
        b.abort();
    });
}

/// A task spawned from a Drop impl during shutdown was bound to the dying runtime and never
/// cancelled: its JoinHandle waited forever.
#[test]
fn spawn_during_shutdown_is_cancelled() {
    struct SpawnOnDrop(Arc<std::sync::Mutex<Option<ringolo::task::JoinHandle<()>>>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let h = ringolo::spawn(async { std::future::pending::<()>().await });
            *self.0.lock().unwrap() = Some(h);
        }
    }
    let slot = Arc::new(std::sync::Mutex::new(None));
    let rt = common::rt();
    let s = slot.clone();
    rt.block_on(async move {
        drop(ringolo::spawn(async move {
            let _guard = SpawnOnDrop(s);
            std::future::pending::<()>().await;
        }));
        ringolo::task::yield_now().await;
    });
    drop(rt);
    let h = slot
        .lock()
        .unwrap()
        .take()
        .expect("spawned during shutdown");
    let err = futures::executor::block_on(h).unwrap_err();
    assert!(err.is_cancelled());
}

/// `time::advance` used to move the clock without firing, so a task awaiting it in a spawned
/// task saw its sleepers still pending.
#[test]
fn advance_fires_due_timers_before_returning() {
    let rt = ringolo::runtime::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let driver = ringolo::spawn(async {
            let fired = Arc::new(AtomicBool::new(false));
            let f = fired.clone();
            let _sleeper = ringolo::spawn(async move {
                ringolo::time::sleep(Duration::from_secs(10)).await;
                f.store(true, SeqCst);
            });
            ringolo::task::yield_now().await;
            ringolo::time::advance(Duration::from_secs(10)).await;
            fired.load(SeqCst)
        });
        assert!(
            driver.await.unwrap(),
            "the sleeper had not run after advance returned"
        );
    });
}

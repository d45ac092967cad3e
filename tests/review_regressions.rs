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

/// A buffer ring registered on one runtime's io_uring, used for a recv on another's, would
/// have selected the other ring's group: now it is refused.
#[test]
fn a_buffer_ring_is_refused_on_another_ring() {
    use futures::StreamExt;
    let rt_a = common::rt();
    let rt_b = common::rt();
    let ring = rt_a.block_on(async { ringolo::net::BufRing::new(4, 64).unwrap() });
    rt_b.block_on(async {
        let _own = ringolo::net::BufRing::new(4, 64).unwrap(); // same group id on this ring
        let (a, b) = ringolo::net::UnixStream::pair().unwrap();
        a.write_all("x").await.0.unwrap();
        let mut s = b.recv_multi(&ring);
        let err = s.next().await.unwrap().unwrap_err();
        assert!(
            err.to_string()
                .contains("other than the one it is registered with"),
            "{err}"
        );
        assert!(s.next().await.is_none());
    });
    rt_a.block_on(async move { drop(ring) });
}

/// A listener dropped as `block_on`'s future finished stayed open until a later turn.
#[test]
fn a_listener_dropped_at_the_end_of_block_on_is_closed_at_once() {
    let rt = common::rt();
    let addr = rt.block_on(async {
        let l = ringolo::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        l.local_addr().unwrap()
    });
    std::net::TcpListener::bind(addr).expect("the port is free again right after block_on");
}

/// Timestamps before 1970 were computed as sec - nsec instead of sec + nsec.
#[test]
fn timestamps_before_the_epoch() {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ts-{}", std::process::id()));
    std::fs::write(&path, b"x").unwrap();
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let times = [
        libc::timespec {
            tv_sec: -2,
            tv_nsec: 300_000_000,
        },
        libc::timespec {
            tv_sec: -2,
            tv_nsec: 300_000_000,
        },
    ];
    // SAFETY: a valid path and two timespecs.
    assert_eq!(
        unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) },
        0
    );
    common::rt().block_on(async {
        let m = ringolo::fs::metadata(&path).await.unwrap();
        let expected = std::time::SystemTime::UNIX_EPOCH - Duration::from_millis(1700);
        assert_eq!(m.modified().unwrap(), expected);
        assert_eq!(
            m.modified().unwrap(),
            std::fs::metadata(&path).unwrap().modified().unwrap()
        );
    });
    std::fs::remove_file(path).unwrap();
}

/// `fs::read` of an exactly-sized buffer used to double it just to see end-of-file.
#[test]
fn fs_read_does_not_double_the_buffer() {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("rd-{}", std::process::id()));
    std::fs::write(&path, vec![5u8; 100_000]).unwrap();
    common::rt().block_on(async {
        let data = ringolo::fs::read(&path).await.unwrap();
        assert_eq!(data.len(), 100_000);
        assert!(data.capacity() < 150_000, "capacity {}", data.capacity());
    });
    std::fs::remove_file(path).unwrap();
}

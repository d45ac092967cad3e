//! Descriptor accounting: these tests count `/proc/self/fd`, so they live in their own test
//! binary and take a lock so no other test opens descriptors meanwhile.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use ringolo::driver::{Completion, Operation, Reclaim};
use ringolo::Op;

static FD_LOCK: Mutex<()> = Mutex::new(());

fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &std::task::Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// An op whose result is a new fd (as accept's or socket's would be): an openat of /dev/null.
struct OpenDevNull {
    path: std::ffi::CString,
}

// SAFETY: the entry points at the CString's heap buffer, owned by self.
unsafe impl Operation for OpenDevNull {
    type Output = std::io::Result<i32>;
    fn build(&mut self) -> io_uring::squeue::Entry {
        io_uring::opcode::OpenAt::new(io_uring::types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(libc::O_RDONLY | libc::O_CLOEXEC)
            .build()
    }
    fn complete(self, result: std::io::Result<Completion>) -> Self::Output {
        result.map(|c| c.result as i32)
    }
    fn reclaim(&self) -> Reclaim {
        Reclaim::CloseFd
    }
}

#[test]
fn fd_of_an_abandoned_op_is_closed() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let rt = common::rt();
    rt.block_on(async {
        let before = common::open_fds();
        for _ in 0..100 {
            let mut op = Op::new(OpenDevNull {
                path: std::ffi::CString::new("/dev/null").unwrap(),
            });
            let (_c, waker) = common::counting_waker();
            assert!(poll_once(&mut op, &waker).is_pending());
            // Let the open complete in the kernel, then drop the op without taking the fd.
            ringolo::time::sleep(Duration::from_millis(1)).await;
            drop(op);
        }
        ringolo::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(common::open_fds(), before, "abandoned fds leaked");
        let fd = Op::new(OpenDevNull {
            path: std::ffi::CString::new("/dev/null").unwrap(),
        })
        .await
        .unwrap();
        common::close(fd);
    });
}

#[test]
fn runtimes_built_and_dropped_leak_no_fds() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    for _ in 0..20 {
        let rt = common::rt();
        let r = rt.block_on(async {
            // Leave an op in flight at drop: a read on a pipe nobody writes to.
            let (r, w) = common::pipe();
            let h = ringolo::spawn(async move {
                let _ = Op::new(ringolo::driver::ops::Read::new(
                    r,
                    Vec::with_capacity(8),
                    u64::MAX,
                ))
                .await;
            });
            ringolo::time::sleep(Duration::from_millis(2)).await;
            assert!(!h.is_finished());
            common::close(w);
            // `r` is closed below once the runtime has cancelled the read.
            drop(h);
            r
        });
        drop(rt);
        common::close(r);
    }
    // Ring fds and eventfds are closed with their runtimes.
    assert_eq!(common::open_fds(), before);
}

#[test]
fn dropped_files_are_closed_on_the_ring() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    let rt = common::rt();
    rt.block_on(async {
        let mut files = Vec::new();
        for _ in 0..200 {
            files.push(ringolo::fs::File::open("/dev/null").await.unwrap());
        }
        assert_eq!(
            common::open_fds(),
            before + 200 + 2,
            "200 files plus the ring and its eventfd"
        );
        let pushed = ringolo::runtime::driver_stats().unwrap().sqes_pushed;
        drop(files);
        ringolo::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(common::open_fds(), before + 2);
        assert!(
            ringolo::runtime::driver_stats().unwrap().sqes_pushed >= pushed + 200,
            "closed with IORING_OP_CLOSE"
        );
        // Files dropped right before the runtime: the pending closes still go through.
        for _ in 0..50 {
            std::mem::forget(ringolo::fs::File::open("/dev/null").await.unwrap());
        }
    });
    drop(rt);
    // The 50 forgotten files are the only ones left.
    assert_eq!(common::open_fds(), before + 50);
    for fd in 0..4096 {
        // Close the forgotten ones: every fd above the initial set that points at /dev/null.
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}"));
        if link
            .map(|l| l == std::path::Path::new("/dev/null"))
            .unwrap_or(false)
            && fd > 2
        {
            common::close(fd);
        }
    }
}

#[test]
fn files_dropped_at_runtime_shutdown_are_closed() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    let rt = common::rt();
    let files = rt.block_on(async {
        let mut files = Vec::new();
        for _ in 0..20 {
            files.push(ringolo::fs::File::open("/dev/null").await.unwrap());
        }
        files
    });
    // Dropped outside block_on: closed directly, not through the ring.
    drop(files);
    let rt2 = common::rt();
    rt2.block_on(async {
        let keep: Vec<_> = {
            let mut v = Vec::new();
            for _ in 0..20 {
                v.push(ringolo::fs::File::open("/dev/null").await.unwrap());
            }
            v
        };
        // Dropped inside the task that is still running when the runtime shuts down.
        ringolo::spawn(async move {
            let _keep = keep;
            std::future::pending::<()>().await;
        });
        ringolo::task::yield_now().await;
    });
    drop(rt2);
    drop(rt);
    assert_eq!(common::open_fds(), before);
}

#[test]
fn a_thousand_cancelled_accepts_leak_no_fds() {
    use ringolo::net::{TcpListener, TcpStream};
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    let rt = common::rt();
    let (accepted, timed_out) = rt.block_on(async {
        let listener = std::sync::Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let accepts: Vec<_> = (0..1000u64)
            .map(|i| {
                let l = listener.clone();
                ringolo::spawn(async move {
                    // Each accept gives up after 1–20 ms, while connections keep arriving.
                    ringolo::time::timeout(Duration::from_millis(1 + i % 20), l.accept()).await
                })
            })
            .collect();
        let clients: Vec<_> = (0..1000u64)
            .map(|i| {
                ringolo::spawn(async move {
                    ringolo::time::sleep(Duration::from_millis(i % 40)).await;
                    TcpStream::connect(addr).await
                })
            })
            .collect();
        let (mut accepted, mut timed_out) = (0, 0);
        for a in accepts {
            match a.await.unwrap() {
                Ok(conn) => {
                    conn.unwrap();
                    accepted += 1;
                }
                Err(_) => timed_out += 1,
            }
        }
        for c in clients {
            drop(c.await.unwrap());
        }
        drop(listener);
        ringolo::time::sleep(Duration::from_millis(20)).await;
        (accepted, timed_out)
    });
    drop(rt);
    assert_eq!(accepted + timed_out, 1000);
    assert!(
        timed_out > 0,
        "no accept was cancelled: the test proves nothing"
    );
    assert_eq!(
        common::open_fds(),
        before,
        "accepted {accepted}, cancelled {timed_out}"
    );
}

#[test]
fn a_close_dropped_before_it_reached_the_kernel_still_closes() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let rt = common::rt();
    rt.block_on(async {
        let before = common::open_fds();
        for i in 0..50 {
            let (a, b) = ringolo::net::UnixStream::pair().unwrap();
            let file = ringolo::fs::File::open("/dev/null").await.unwrap();
            let (_c, waker) = common::counting_waker();
            // Polled once: the close SQE is queued in userspace, not yet submitted; then the
            // futures are dropped before the driver's next turn.
            let mut close_a = Box::pin(a.close());
            let mut close_f = Box::pin(file.close());
            assert!(close_a
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            assert!(close_f
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            drop((close_a, close_f));
            if i % 2 == 0 {
                // And the other end is closed by a close() that is never polled at all.
                drop(b.close());
            } else {
                b.close().await.unwrap();
            }
        }
        ringolo::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            common::open_fds(),
            before,
            "dropped closes leaked their fds"
        );
    });
}

#[test]
fn multi_thread_runtimes_dropped_with_io_in_flight_leak_no_fds() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    for _ in 0..10 {
        let rt = ringolo::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let listening = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for _ in 0..8 {
            let listening = listening.clone();
            rt.spawn(async move {
                let l = ringolo::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap();
                let f = ringolo::fs::File::open("/dev/null").await.unwrap();
                listening.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // Blocks in an accept on this worker's ring until the runtime is dropped.
                let _ = (l.accept().await, f);
            });
        }
        rt.block_on(async {
            while listening.load(std::sync::atomic::Ordering::SeqCst) < 8 {
                ringolo::time::sleep(Duration::from_millis(1)).await;
            }
        });
        drop(rt);
    }
    assert_eq!(
        common::open_fds(),
        before,
        "fds leaked by multi-thread runtimes"
    );
}

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

//! Readiness for compat's sockets: Tokio's poll model on io_uring.
//!
//! A compat socket is a non-blocking std socket. A read or write first tries the syscall;
//! when it would block, the socket waits for readiness with a one-shot `IORING_OP_POLL_ADD`
//! on the ring of the thread polling it, then tries again. Nothing is read into a buffer of
//! ours, so a read future dropped while waiting loses no byte, and a write reported done is in
//! the kernel's socket buffer (docs/design/compat.md, "I/O: readiness").
//!
//! Each direction has one wait in flight at a time, shared by every task waiting on it: its
//! waker wakes them all. A thread that drives no ring (a blocking-pool thread, say) has the
//! wait submitted by a small task on the socket's runtime instead. Once that runtime has shut
//! down, waits fail with Tokio's shutdown error.

use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use tokio::io::{Interest, ReadBuf, Ready};

use crate::driver::ops::PollAdd;
use crate::runtime as native;
use crate::task::JoinHandle;
use crate::Op;

/// A direction of readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn events(self) -> u32 {
        match self {
            Direction::Read => (libc::POLLIN | libc::POLLRDHUP) as u32,
            Direction::Write => libc::POLLOUT as u32,
        }
    }
}

/// The error of a socket whose runtime has shut down (Tokio's, which `is_rt_shutdown_err`
/// recognizes).
pub(crate) fn shutting_down() -> io::Error {
    io::Error::other(crate::compat::SHUTTING_DOWN)
}

enum Wait {
    Idle,
    /// A poll on the ring of the thread that submitted it.
    Local(Op<PollAdd>),
    /// A poll submitted by a task on the socket's runtime, for a thread without a ring.
    Remote(JoinHandle<io::Result<u32>>),
}

/// Wakes every task waiting on one direction.
#[derive(Default)]
struct Wakers {
    list: Mutex<Vec<Waker>>,
}

impl Wakers {
    fn add(&self, waker: &Waker) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let list = std::mem::take(&mut *self.list.lock().unwrap_or_else(|e| e.into_inner()));
        for w in list {
            w.wake();
        }
    }
}

struct Dir {
    wait: Mutex<Wait>,
    wakers: Arc<Wakers>,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            wait: Mutex::new(Wait::Idle),
            wakers: Arc::new(Wakers::default()),
        }
    }
}

/// A socket's readiness state.
pub(crate) struct Readiness {
    fd: RawFd,
    handle: native::Handle,
    read: Dir,
    write: Dir,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness").field("fd", &self.fd).finish()
    }
}

/// The current runtime's handle, for a socket about to be made on it.
///
/// # Panics
/// Outside a runtime, or on one without I/O, with Tokio's messages.
#[track_caller]
pub(crate) fn io_handle() -> io::Result<native::Handle> {
    let Some(handle) = native::Handle::try_current() else {
        panic!("{}", crate::compat::CONTEXT_MISSING);
    };
    if !handle.config().io_enabled {
        panic!(
            "A Tokio 1.x context was found, but IO is disabled. Call `enable_io` on the \
             runtime builder to enable IO."
        );
    }
    if handle.is_shut_down() {
        return Err(shutting_down());
    }
    Ok(handle)
}

impl Readiness {
    /// For `fd`, on the current runtime.
    ///
    /// # Panics
    /// As [`io_handle`].
    #[track_caller]
    pub(crate) fn new(fd: RawFd) -> io::Result<Readiness> {
        Ok(Readiness::with_handle(fd, io_handle()?))
    }

    pub(crate) fn with_handle(fd: RawFd, handle: native::Handle) -> Readiness {
        Readiness {
            fd,
            handle,
            read: Dir::new(),
            write: Dir::new(),
        }
    }

    pub(crate) fn handle(&self) -> &native::Handle {
        &self.handle
    }

    /// Run a syscall until it stops blocking, waiting for readiness in `dir` in between.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::task::ready!(self.poll_ready(cx, dir))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return Poll::Ready(other),
            }
        }
    }

    /// [`poll_io`](Readiness::poll_io) for a read into `buf`'s unfilled part: `op` reads into
    /// the slice it is given and says how many bytes it read.
    pub(crate) fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
        mut op: impl FnMut(&mut [u8]) -> io::Result<usize>,
    ) -> Poll<io::Result<()>> {
        let n =
            std::task::ready!(self.poll_io(cx, Direction::Read, || op(buf.initialize_unfilled())))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// Wait for any of `interest` (Tokio's `ready`).
    pub(crate) async fn wait(&self, interest: Interest) -> io::Result<Ready> {
        std::future::poll_fn(|cx| {
            if interest.is_readable() {
                if let Poll::Ready(r) = self.poll_ready(cx, Direction::Read) {
                    return Poll::Ready(r.map(|()| Ready::READABLE));
                }
            }
            if interest.is_writable() {
                if let Poll::Ready(r) = self.poll_ready(cx, Direction::Write) {
                    return Poll::Ready(r.map(|()| Ready::WRITABLE));
                }
            }
            Poll::Pending
        })
        .await
        .map(|r| r & ready_for(interest))
    }

    /// Wait until the socket may be ready in `dir` (the caller then tries its syscall again).
    /// Wakes `cx` when it is.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<()>> {
        if self.handle.is_shut_down() {
            return Poll::Ready(Err(shutting_down()));
        }
        let d = match dir {
            Direction::Read => &self.read,
            Direction::Write => &self.write,
        };
        d.wakers.add(cx.waker());
        let waker = Waker::from(d.wakers.clone());
        let mut wcx = Context::from_waker(&waker);
        let mut wait = d.wait.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match &mut *wait {
                Wait::Idle => {
                    let on_ring = crate::runtime::context::with_driver(|_| ()).is_some();
                    *wait = if on_ring {
                        Wait::Local(Op::new(PollAdd {
                            fd: self.fd,
                            events: dir.events(),
                        }))
                    } else {
                        let (fd, events) = (self.fd, dir.events());
                        Wait::Remote(
                            self.handle
                                .spawn(async move { Op::new(PollAdd { fd, events }).await }),
                        )
                    };
                }
                Wait::Local(op) => {
                    if op.is_in_flight_elsewhere() {
                        // Another thread's ring holds it: its completion wakes every waiter
                        // (us included); until then there is nothing to do here.
                        return Poll::Pending;
                    }
                    return match Pin::new(op).poll(&mut wcx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(res) => {
                            *wait = Wait::Idle;
                            drop(wait);
                            Poll::Ready(done(res, &self.handle))
                        }
                    };
                }
                Wait::Remote(join) => {
                    return match Pin::new(join).poll(&mut wcx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(res) => {
                            *wait = Wait::Idle;
                            drop(wait);
                            Poll::Ready(match res {
                                Ok(res) => done(res, &self.handle),
                                // The runtime cancelled it: it is shutting down.
                                Err(_) => Err(shutting_down()),
                            })
                        }
                    };
                }
            }
        }
    }
}

/// The `Ready` set a direction's readiness stands for.
fn ready_for(interest: Interest) -> Ready {
    let mut r = Ready::EMPTY;
    if interest.is_readable() {
        r |= Ready::READABLE;
    }
    if interest.is_writable() {
        r |= Ready::WRITABLE;
    }
    r
}

/// A finished poll: any event (errors and hang-ups included) means "try the syscall again".
fn done(res: io::Result<u32>, handle: &native::Handle) -> io::Result<()> {
    match res {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ECANCELED) && handle.is_shut_down() => {
            Err(shutting_down())
        }
        // A poll the ring refused or cancelled: the retried syscall reports the socket's state.
        Err(_) => Ok(()),
    }
}

/// Tokio's `AsyncRead` for a compat stream: from `$this` (`&Self`), the stream's
/// [`Readiness`] and the field it reads through (whose `&` is `Read`).
macro_rules! impl_async_read {
    ($ty:ty, |$this:ident| ($ready:expr, $io:expr)) => {
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $this = &*self;
                $ready.poll_read_into(cx, buf, |b| std::io::Read::read(&mut &$io, b))
            }
        }
    };
}

/// Tokio's `AsyncWrite` for a compat stream: from `$this` (`&Self`), the stream's
/// [`Readiness`] and the field it writes through (whose `&` is `Write`); `$shutdown` ends the
/// write side with `$this` as `&mut Self`. Writes go straight to the kernel, so flushing has
/// nothing to do.
macro_rules! impl_async_write {
    ($ty:ty, |$this:ident| ($ready:expr, $io:expr), shutdown: $shutdown:expr) => {
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $ready.poll_io(cx, $crate::compat::net::ready::Direction::Write, || {
                    std::io::Write::write(&mut &$io, buf)
                })
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $ready.poll_io(cx, $crate::compat::net::ready::Direction::Write, || {
                    std::io::Write::write_vectored(&mut &$io, bufs)
                })
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                #[allow(unused_variables)]
                let $this = &mut *self;
                std::task::Poll::Ready($shutdown)
            }
        }
    };
}

pub(crate) use {impl_async_read, impl_async_write};

//! Readiness for compat's sockets: Tokio's poll model on io_uring.
//!
//! A compat socket is a non-blocking std socket. A read or write first tries the syscall;
//! when it would block, the socket waits for readiness with a one-shot `IORING_OP_POLL_ADD`
//! on the ring of the thread polling it, then tries again. Nothing is read into a buffer of
//! ours, so a read future dropped while waiting loses no byte, and a write reported done is in
//! the kernel's socket buffer (docs/design/compat.md, "I/O: readiness").
//!
//! Each direction (read, write, priority, error: Tokio's interests) has one wait in flight at
//! a time, shared by every task waiting on it: its waker wakes them all. A finished wait's
//! events are what `ready` reports, hang-ups as `READ_CLOSED` / `WRITE_CLOSED`. A thread that drives no ring (a blocking-pool thread, say) has the
//! wait submitted by a small task on the socket's runtime instead. Once that runtime has shut
//! down, waits fail with Tokio's shutdown error.

use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use bytes::BufMut;
use tokio::io::{Interest, ReadBuf, Ready};

use crate::driver::ops::PollAdd;
use crate::runtime as native;
use crate::task::JoinHandle;
use crate::Op;

/// A direction of readiness: one of Tokio's `Interest`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
    /// Out-of-band / priority data (`POLLPRI`).
    Priority,
    /// An error condition (`POLLERR`) alone.
    Error,
}

impl Direction {
    const ALL: [Direction; 4] = [
        Direction::Read,
        Direction::Write,
        Direction::Priority,
        Direction::Error,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn events(self) -> u32 {
        match self {
            Direction::Read => (libc::POLLIN | libc::POLLRDHUP) as u32,
            Direction::Write => libc::POLLOUT as u32,
            Direction::Priority => libc::POLLPRI as u32,
            // The kernel reports errors and hang-ups to every poll; one that asks for nothing
            // else waits for them alone.
            Direction::Error => libc::POLLERR as u32,
        }
    }

    fn in_interest(self, interest: Interest) -> bool {
        match self {
            Direction::Read => interest.is_readable(),
            Direction::Write => interest.is_writable(),
            Direction::Priority => interest.is_priority(),
            Direction::Error => interest.is_error(),
        }
    }

    /// What a finished wait in this direction says at least.
    fn ready(self) -> Ready {
        match self {
            Direction::Read => Ready::READABLE,
            Direction::Write => Ready::WRITABLE,
            Direction::Priority => Ready::PRIORITY,
            Direction::Error => Ready::ERROR,
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
    /// One per [`Direction`], in its order.
    dirs: [Dir; 4],
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
            dirs: [Dir::new(), Dir::new(), Dir::new(), Dir::new()],
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
        self.poll_read_with(cx, buf, |b| op(b).map(|n| (n, ())))
    }

    /// [`poll_read_into`](Readiness::poll_read_into) for a read that also says something
    /// else (a datagram's sender, say): `op` gives the bytes read and that.
    pub(crate) fn poll_read_with<T>(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
        mut op: impl FnMut(&mut [u8]) -> io::Result<(usize, T)>,
    ) -> Poll<io::Result<T>> {
        let (n, t) =
            std::task::ready!(self.poll_io(cx, Direction::Read, || op(buf.initialize_unfilled())))?;
        buf.advance(n);
        Poll::Ready(Ok(t))
    }

    /// Wait for any of `interest` (Tokio's `ready`): the events the kernel reported, as
    /// Tokio's `Ready` (hang-ups included as `READ_CLOSED` / `WRITE_CLOSED`), never empty.
    pub(crate) async fn wait(&self, interest: Interest) -> io::Result<Ready> {
        std::future::poll_fn(|cx| self.poll_wait(cx, interest)).await
    }

    /// [`wait`](Readiness::wait) as a poll.
    pub(crate) fn poll_wait(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<Ready>> {
        for dir in Direction::ALL {
            if !dir.in_interest(interest) {
                continue;
            }
            if let Poll::Ready(r) = self.poll_events(cx, dir) {
                return Poll::Ready(r.map(|revents| ready_of(revents, dir, interest)));
            }
        }
        Poll::Pending
    }

    /// Tokio's `async_io`: run `op` (a syscall of the caller's) until it stops blocking,
    /// waiting for any of `interest` in between. Every other error, `Interrupted` included,
    /// is `op`'s answer.
    pub(crate) async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait(interest).await?;
                }
                other => return other,
            }
        }
    }

    /// Wait until the socket may be ready in `dir` (the caller then tries its syscall again).
    /// Wakes `cx` when it is.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<()>> {
        self.poll_events(cx, dir).map_ok(|_| ())
    }

    /// [`poll_ready`](Readiness::poll_ready) with the poll's events (`revents`).
    fn poll_events(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<u32>> {
        if self.handle.is_shut_down() {
            return Poll::Ready(Err(shutting_down()));
        }
        let d = &self.dirs[dir.index()];
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
                            Poll::Ready(done(res, dir, &self.handle))
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
                                Ok(res) => done(res, dir, &self.handle),
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

/// The `Ready` set the interests of `interest` take in (Tokio's `Ready::from_interest`).
fn ready_for(interest: Interest) -> Ready {
    let mut r = Ready::EMPTY;
    if interest.is_readable() {
        r |= Ready::READABLE | Ready::READ_CLOSED;
    }
    if interest.is_writable() {
        r |= Ready::WRITABLE | Ready::WRITE_CLOSED;
    }
    if interest.is_priority() {
        r |= Ready::PRIORITY | Ready::READ_CLOSED;
    }
    if interest.is_error() {
        r |= Ready::ERROR;
    }
    r
}

/// A poll's events as Tokio's `Ready` (as mio reads epoll's), limited to `interest`; a
/// wait in `dir` that reported nothing of it still says `dir`'s readiness (try again).
fn ready_of(revents: u32, dir: Direction, interest: Interest) -> Ready {
    let has = |bits: libc::c_short| revents & bits as u32 != 0;
    let mut r = Ready::EMPTY;
    if has(libc::POLLIN | libc::POLLPRI) {
        r |= Ready::READABLE;
    }
    if has(libc::POLLOUT) {
        r |= Ready::WRITABLE;
    }
    if has(libc::POLLHUP | libc::POLLRDHUP) {
        r |= Ready::READ_CLOSED;
    }
    if has(libc::POLLHUP)
        || (has(libc::POLLOUT) && has(libc::POLLERR))
        || revents == libc::POLLERR as u32
    {
        r |= Ready::WRITE_CLOSED;
    }
    if has(libc::POLLERR) {
        r |= Ready::ERROR;
    }
    if has(libc::POLLPRI) {
        r |= Ready::PRIORITY;
    }
    let r = r & ready_for(interest);
    if r.is_empty() {
        dir.ready()
    } else {
        r
    }
}

/// A finished poll's events. Any event (errors and hang-ups included) means "try the syscall
/// again"; a poll the ring refused or cancelled reads as `dir`'s own events.
fn done(res: io::Result<u32>, dir: Direction, handle: &native::Handle) -> io::Result<u32> {
    match res {
        Ok(revents) => Ok(revents),
        Err(e) if e.raw_os_error() == Some(libc::ECANCELED) && handle.is_shut_down() => {
            Err(shutting_down())
        }
        // The retried syscall reports the socket's state.
        Err(_) => Ok(dir.events()),
    }
}

thread_local! {
    /// Where [`read_buf`] reads before copying into a `BufMut` (kept up to `SCRATCH_KEEP`).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The largest scratch buffer a thread keeps between reads.
const SCRATCH_KEEP: usize = 64 * 1024;

/// Tokio's `try_read_buf` / `recv_buf` family: `op` reads into a slice as long as `buf`'s next
/// chunk (so a datagram is cut where Tokio's would be), whose first `n` bytes then go into
/// `buf`. `BufMut` hands out only uninitialized memory, which safe code cannot read into, so
/// the bytes pass through a per-thread scratch buffer.
pub(crate) fn read_buf<B: BufMut + ?Sized, T>(
    buf: &mut B,
    op: impl FnOnce(&mut [u8]) -> io::Result<(usize, T)>,
) -> io::Result<(usize, T)> {
    let len = buf.chunk_mut().len();
    let run = |scratch: &mut Vec<u8>| {
        if scratch.len() < len {
            scratch.resize(len, 0);
        }
        let (n, t) = op(&mut scratch[..len])?;
        buf.put_slice(&scratch[..n.min(len)]);
        Ok((n, t))
    };
    if len > SCRATCH_KEEP {
        return run(&mut Vec::new());
    }
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut scratch) => run(&mut scratch),
        Err(_) => run(&mut Vec::new()),
    })
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

//! Readiness for compat's sockets: Tokio's poll model on io_uring.
//!
//! A compat socket is a non-blocking std socket with Tokio's readiness cache beside it
//! ([`Registration`]): ready bits per direction, set by one-shot `IORING_OP_POLL_ADD`s (armed
//! at registration and again whenever a `WouldBlock` clears a direction) and cleared by the
//! operation that finds the socket not ready. An operation waits until the cache says ready,
//! then runs its syscall. Nothing is read into a buffer of ours, so a read future dropped
//! while waiting loses no byte, and a write reported done is in the kernel's socket buffer
//! (docs/design/compat.md, "I/O: readiness"). Once the runtime has shut down, waits fail with
//! Tokio's shutdown error.

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BufMut;
use tokio::io::{Interest, ReadBuf, Ready};

use crate::compat::io::registration::Registration;
use crate::runtime as native;

/// A direction of readiness, as the registration polls it.
pub(crate) use crate::compat::io::registration::Dir as Direction;

/// The error of a socket whose runtime has shut down (Tokio's, which `is_rt_shutdown_err`
/// recognizes).
pub(crate) fn shutting_down() -> io::Error {
    io::Error::other(crate::compat::SHUTTING_DOWN)
}

/// A socket's readiness: Tokio's cached ready bits, fed by one-shot polls
/// ([`Registration`], shared with `AsyncFd`).
pub(crate) struct Readiness {
    reg: Arc<Registration>,
    handle: native::Handle,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness").field("reg", &self.reg).finish()
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

/// What a stream or datagram socket is registered for (Tokio's default).
const READ_WRITE: Interest = Interest::READABLE.add(Interest::WRITABLE);

impl Readiness {
    /// For `fd`, read and write, on the current runtime.
    ///
    /// # Panics
    /// As [`io_handle`].
    #[track_caller]
    pub(crate) fn new(fd: RawFd) -> io::Result<Readiness> {
        Readiness::with_interest(fd, READ_WRITE)
    }

    /// For `fd`, polled for `interest` only (a pipe end, a listener), on the current runtime.
    #[track_caller]
    pub(crate) fn with_interest(fd: RawFd, interest: Interest) -> io::Result<Readiness> {
        Ok(Readiness::on(fd, io_handle()?, interest))
    }

    /// For `fd`, read and write, on `handle`'s runtime.
    pub(crate) fn with_handle(fd: RawFd, handle: native::Handle) -> Readiness {
        Readiness::on(fd, handle, READ_WRITE)
    }

    /// For `fd`, polled for `interest`, on `handle`'s runtime: the polls for it are armed now,
    /// as an epoll registration reports the state at once.
    pub(crate) fn on(fd: RawFd, handle: native::Handle, interest: Interest) -> Readiness {
        Readiness {
            reg: Registration::new(fd, interest, handle.clone()),
            handle,
        }
    }

    pub(crate) fn handle(&self) -> &native::Handle {
        &self.handle
    }

    /// Tokio's `assume_ready`: `ready` holds until an operation finds otherwise.
    pub(crate) fn assume_ready(&self, ready: Ready) {
        self.reg.assume_ready(ready);
    }

    /// Tokio's `poll_read_io` / `poll_write_io`: wait until the cache says `dir` is ready, run
    /// the syscall, and on `WouldBlock` clear what it saw and wait again.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = std::task::ready!(self.reg.poll_dir(dir, cx))?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.reg.clear(ev, ev.ready),
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

    /// Tokio's `PollEvented::poll_read` / `poll_write` for a stream: as
    /// [`poll_io`](Readiness::poll_io), but a transfer shorter than asked for (`len`) also
    /// clears the direction: on a stream it shows the kernel's buffer was drained (or filled),
    /// so the next call waits for a poll instead of failing a syscall with `WouldBlock` first.
    pub(crate) fn poll_stream_io(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        mut op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            let ev = std::task::ready!(self.reg.poll_dir(dir, cx))?;
            match op() {
                Ok(n) => {
                    if 0 < n && n < len {
                        self.reg.clear(ev, ev.ready);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.reg.clear(ev, ev.ready),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
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

    /// Wait for any of `interest` (Tokio's `ready`): the cached bits that match it, never
    /// empty.
    pub(crate) async fn wait(&self, interest: Interest) -> io::Result<Ready> {
        std::future::poll_fn(|cx| self.poll_wait(cx, interest)).await
    }

    /// [`wait`](Readiness::wait) as a poll (every waiting task is woken, unlike
    /// [`poll_ready`](Readiness::poll_ready)).
    pub(crate) fn poll_wait(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<Ready>> {
        self.reg.poll_ready(interest, cx).map_ok(|ev| ev.ready)
    }

    /// Tokio's `async_io`: wait for any of `interest`, run `op` (a syscall of the caller's),
    /// and on `WouldBlock` clear what the wait saw and wait again. Every other error,
    /// `Interrupted` included, is `op`'s answer.
    pub(crate) async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let ev = std::future::poll_fn(|cx| self.reg.poll_ready(interest, cx)).await?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.reg.clear(ev, ev.ready),
                other => return other,
            }
        }
    }

    /// Tokio's `try_io`: `WouldBlock` without running `op` while the cache says `interest` is
    /// not ready; `op`'s `WouldBlock` clears it.
    pub(crate) fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let ev = self.reg.try_bits(interest);
        if ev.ready.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.reg.clear(ev, ev.ready);
                Err(e)
            }
            other => other,
        }
    }

    /// [`try_io`](Readiness::try_io) for reading.
    pub(crate) fn try_read<R>(&self, op: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.try_io(Interest::READABLE, op)
    }

    /// [`try_io`](Readiness::try_io) for writing.
    pub(crate) fn try_write<R>(&self, op: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.try_io(Interest::WRITABLE, op)
    }

    /// Wait until the cache says `dir` is ready (Tokio's `poll_read_ready` /
    /// `poll_write_ready`: only the latest caller's waker is kept).
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<()>> {
        self.reg.poll_dir(dir, cx).map_ok(|_| ())
    }
}

impl Drop for Readiness {
    fn drop(&mut self) {
        self.reg.deregister();
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
        $crate::compat::net::ready::impl_async_read!($ty, |$this| ($ready, $io), socket: false);
    };
    ($ty:ty, |$this:ident| ($ready:expr, $io:expr), socket: $socket:expr) => {
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $this = &*self;
                let len = buf.remaining();
                let fd = std::os::fd::AsRawFd::as_raw_fd(&$io);
                std::task::ready!($ready.poll_stream_io(
                    cx,
                    $crate::compat::net::ready::Direction::Read,
                    len,
                    || $crate::net::raw::read_into(fd, buf, $socket),
                ))?;
                std::task::Poll::Ready(Ok(()))
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
                $ready.poll_stream_io(
                    cx,
                    $crate::compat::net::ready::Direction::Write,
                    buf.len(),
                    || std::io::Write::write(&mut &$io, buf),
                )
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

//! `tokio::net::UnixListener` over readiness.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net;
use std::path::Path;
use std::task::{Context, Poll};

use super::{socketaddr, SocketAddr, UnixStream};
use crate::compat::net::ready::{io_handle, Direction, Readiness};

/// Stands for `tokio::net::UnixListener`.
pub struct UnixListener {
    io: net::UnixListener,
    ready: Readiness,
}

impl UnixListener {
    /// Stands for `UnixListener::bind` (synchronous, as Tokio's). A path that starts with a
    /// NUL byte names Linux's abstract namespace.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn bind<P>(path: P) -> io::Result<UnixListener>
    where
        P: AsRef<Path>,
    {
        let handle = io_handle()?;
        let addr = socketaddr::from_path(path.as_ref())?;
        UnixListener::adopt(net::UnixListener::bind_addr(&addr)?, handle)
    }

    /// Stands for `UnixListener::bind_addr`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn bind_addr(socket_addr: &SocketAddr) -> io::Result<UnixListener> {
        let handle = io_handle()?;
        UnixListener::adopt(net::UnixListener::bind_addr(&socket_addr.0)?, handle)
    }

    fn adopt(io: net::UnixListener, handle: crate::runtime::Handle) -> io::Result<UnixListener> {
        io.set_nonblocking(true)?;
        let ready = Readiness::on(io.as_raw_fd(), handle, tokio::io::Interest::READABLE);
        Ok(UnixListener { io, ready })
    }

    /// Stands for `UnixListener::from_std` (made non-blocking).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::adopt(listener, io_handle()?)
    }

    /// Stands for `UnixListener::into_std` (left non-blocking).
    pub fn into_std(self) -> io::Result<net::UnixListener> {
        Ok(self.io)
    }

    /// Stands for `UnixListener::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr().map(SocketAddr)
    }

    /// Stands for `UnixListener::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Stands for `UnixListener::accept`.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        // Every task waiting here is woken by a connection, as Tokio's (`poll_accept` keeps
        // only the last waker).
        let accepted = self
            .ready
            .async_io(tokio::io::Interest::READABLE, || self.io.accept())
            .await?;
        self.adopt_accepted(accepted)
    }

    /// Stands for `UnixListener::poll_accept`.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let accepted =
            std::task::ready!(self.ready.poll_io(cx, Direction::Read, || self.io.accept()))?;
        Poll::Ready(self.adopt_accepted(accepted))
    }

    /// A freshly accepted socket as a compat stream on this listener's runtime.
    fn adopt_accepted(
        &self,
        (s, addr): (net::UnixStream, std::os::unix::net::SocketAddr),
    ) -> io::Result<(UnixStream, SocketAddr)> {
        s.set_nonblocking(true)?;
        let ready = Readiness::with_handle(s.as_raw_fd(), self.ready.handle().clone());
        // As Tokio's: an accepted stream tries its first read and write at once.
        ready.assume_ready(tokio::io::Ready::READABLE | tokio::io::Ready::WRITABLE);
        Ok((UnixStream::from_parts(s, ready), SocketAddr(addr)))
    }
}

/// Stands for Tokio's `impl TryFrom<std::os::unix::net::UnixListener> for UnixListener`
/// (`UnixListener::from_std`).
impl TryFrom<net::UnixListener> for UnixListener {
    type Error = io::Error;

    fn try_from(listener: net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_std(listener)
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

//! Stands for `tokio::net::unix`: `UnixListener`, `UnixStream`, `UnixDatagram` over
//! readiness, and the socket address type.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net;
use std::path::Path;
use std::task::{Context, Poll};

use tokio::io::{Interest, Ready};

use crate::runtime as native;

use super::ready::{impl_async_read, impl_async_write, io_handle, Direction, Readiness};

pub mod pipe;

/// Stands for `tokio::net::unix::SocketAddr`.
pub use std::os::unix::net::SocketAddr;

/// Stands for `tokio::net::UnixListener`.
pub struct UnixListener {
    io: net::UnixListener,
    ready: Readiness,
}

impl UnixListener {
    /// Stands for `UnixListener::bind` (synchronous, as Tokio's).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let handle = io_handle()?;
        let io = net::UnixListener::bind(path)?;
        io.set_nonblocking(true)?;
        let ready = Readiness::with_handle(io.as_raw_fd(), handle);
        Ok(UnixListener { io, ready })
    }

    /// Stands for `UnixListener::from_std`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        let ready = Readiness::new(listener.as_raw_fd())?;
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: listener,
            ready,
        })
    }

    /// Stands for `UnixListener::into_std`.
    pub fn into_std(self) -> io::Result<net::UnixListener> {
        Ok(self.io)
    }

    /// Stands for `UnixListener::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Stands for `UnixListener::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Stands for `UnixListener::accept`.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Stands for `UnixListener::poll_accept`.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (s, addr) =
            std::task::ready!(self.ready.poll_io(cx, Direction::Read, || self.io.accept()))?;
        s.set_nonblocking(true)?;
        let ready = Readiness::with_handle(s.as_raw_fd(), self.ready.handle().clone());
        Poll::Ready(Ok((UnixStream { io: s, ready }, addr)))
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

/// Stands for `tokio::net::UnixStream`.
pub struct UnixStream {
    io: net::UnixStream,
    ready: Readiness,
}

impl UnixStream {
    /// Stands for `UnixStream::connect`.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref().to_path_buf();
        let s =
            super::on_runtime(async move { crate::net::UnixStream::connect(path).await }).await?;
        UnixStream::from_std(s.into_std())
    }

    /// Stands for `UnixStream::pair`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Stands for `UnixStream::from_std`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn from_std(stream: net::UnixStream) -> io::Result<UnixStream> {
        let ready = Readiness::new(stream.as_raw_fd())?;
        stream.set_nonblocking(true)?;
        Ok(UnixStream { io: stream, ready })
    }

    /// Stands for `UnixStream::into_std`.
    pub fn into_std(self) -> io::Result<net::UnixStream> {
        Ok(self.io)
    }

    /// Stands for `UnixStream::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Stands for `UnixStream::peer_addr`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// Stands for `UnixStream::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Stands for `UnixStream::ready`.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.ready.wait(interest).await
    }

    /// Stands for `UnixStream::readable`.
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Stands for `UnixStream::writable`.
    pub async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Stands for `UnixStream::poll_read_ready`.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Read)
    }

    /// Stands for `UnixStream::poll_write_ready`.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Write)
    }

    /// Stands for `UnixStream::try_read`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.io).read(buf)
    }

    /// Stands for `UnixStream::try_write`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.io).write(buf)
    }

    /// Stands for `UnixStream::shutdown`-like `AsyncWrite::poll_shutdown`: end the write side.
    fn shutdown_write(&self) -> io::Result<()> {
        match self.io.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

impl_async_read!(UnixStream, |s| (s.ready, s.io));
impl_async_write!(UnixStream, |s| (s.ready, s.io), shutdown: s.shutdown_write());

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

/// Stands for `tokio::net::UnixDatagram`.
pub struct UnixDatagram {
    io: net::UnixDatagram,
    ready: Readiness,
}

impl UnixDatagram {
    /// Stands for `UnixDatagram::bind` (synchronous).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let handle = io_handle()?;
        UnixDatagram::adopt(net::UnixDatagram::bind(path)?, handle)
    }

    /// Stands for `UnixDatagram::unbound`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn unbound() -> io::Result<UnixDatagram> {
        let handle = io_handle()?;
        UnixDatagram::adopt(net::UnixDatagram::unbound()?, handle)
    }

    /// Stands for `UnixDatagram::pair`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let handle = io_handle()?;
        let (a, b) = net::UnixDatagram::pair()?;
        Ok((
            UnixDatagram::adopt(a, handle.clone())?,
            UnixDatagram::adopt(b, handle)?,
        ))
    }

    /// Stands for `UnixDatagram::from_std`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn from_std(socket: net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::adopt(socket, io_handle()?)
    }

    fn adopt(io: net::UnixDatagram, handle: native::Handle) -> io::Result<UnixDatagram> {
        io.set_nonblocking(true)?;
        let ready = Readiness::with_handle(io.as_raw_fd(), handle);
        Ok(UnixDatagram { io, ready })
    }

    /// Stands for `UnixDatagram::into_std`.
    pub fn into_std(self) -> io::Result<net::UnixDatagram> {
        Ok(self.io)
    }

    /// Stands for `UnixDatagram::connect` (synchronous).
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.connect(path)
    }

    /// Stands for `UnixDatagram::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Stands for `UnixDatagram::peer_addr`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// Stands for `UnixDatagram::ready`.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.ready.wait(interest).await
    }

    /// Stands for `UnixDatagram::readable`.
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.ready.poll_ready(cx, Direction::Read)).await
    }

    /// Stands for `UnixDatagram::writable`.
    pub async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.ready.poll_ready(cx, Direction::Write)).await
    }

    /// Stands for `UnixDatagram::send`.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            self.ready
                .poll_io(cx, Direction::Write, || self.io.send(buf))
        })
        .await
    }

    /// Stands for `UnixDatagram::try_send`.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.send(buf)
    }

    /// Stands for `UnixDatagram::recv`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            self.ready
                .poll_io(cx, Direction::Read, || self.io.recv(buf))
        })
        .await
    }

    /// Stands for `UnixDatagram::try_recv`.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.recv(buf)
    }

    /// Stands for `UnixDatagram::send_to`.
    pub async fn send_to(&self, buf: &[u8], target: impl AsRef<Path>) -> io::Result<usize> {
        let target = target.as_ref();
        std::future::poll_fn(|cx| {
            self.ready
                .poll_io(cx, Direction::Write, || self.io.send_to(buf, target))
        })
        .await
    }

    /// Stands for `UnixDatagram::recv_from`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| {
            self.ready
                .poll_io(cx, Direction::Read, || self.io.recv_from(buf))
        })
        .await
    }

    /// Stands for `UnixDatagram::shutdown`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

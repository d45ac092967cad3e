//! Stands for `tokio::net::tcp`: `TcpListener`, `TcpStream` and the stream's halves, over
//! readiness (ready.rs): non-blocking std sockets whose waits are io_uring polls.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{Interest, Ready};

use super::ready::{impl_async_read, impl_async_write, Direction, Readiness};
use super::{to_socket_addrs, ToSocketAddrs};

/// Stands for `tokio::net::TcpListener`.
pub struct TcpListener {
    io: std::net::TcpListener,
    ready: Readiness,
}

impl TcpListener {
    /// Stands for `TcpListener::bind`: the first of `addr`'s addresses that binds (with
    /// `SO_REUSEADDR`, as Tokio's).
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let addrs = to_socket_addrs(addr).await?;
        let mut last = None;
        for a in addrs {
            match super::on_runtime(async move { crate::net::TcpListener::bind(a).await }).await {
                Ok(l) => return TcpListener::from_std(l.into_std()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(super::no_addresses))
    }

    /// Stands for `TcpListener::from_std` (the socket is made non-blocking).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let ready = Readiness::new(listener.as_raw_fd())?;
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: listener,
            ready,
        })
    }

    /// Stands for `TcpListener::into_std` (left non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io)
    }

    /// Stands for `TcpListener::accept`.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Stands for `TcpListener::poll_accept`.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (s, addr) =
            std::task::ready!(self.ready.poll_io(cx, Direction::Read, || self.io.accept()))?;
        s.set_nonblocking(true)?;
        let ready = Readiness::with_handle(s.as_raw_fd(), self.ready.handle().clone());
        Poll::Ready(Ok((TcpStream { io: s, ready }, addr)))
    }

    /// Stands for `TcpListener::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Stands for `TcpListener::ttl`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.ttl()
    }

    /// Stands for `TcpListener::set_ttl`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.set_ttl(ttl)
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

/// Stands for `tokio::net::TcpStream`: Tokio's `AsyncRead` / `AsyncWrite`. A read future
/// dropped before it finished loses no byte.
pub struct TcpStream {
    io: std::net::TcpStream,
    ready: Readiness,
}

impl TcpStream {
    /// Stands for `TcpStream::connect`: the first of `addr`'s addresses that accepts.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let addrs = to_socket_addrs(addr).await?;
        let mut last = None;
        for a in addrs {
            match super::on_runtime(async move { crate::net::TcpStream::connect(a).await }).await {
                Ok(s) => return TcpStream::from_std(s.into_std()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(super::no_addresses))
    }

    /// Stands for `TcpStream::from_std` (the socket is made non-blocking).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let ready = Readiness::new(stream.as_raw_fd())?;
        stream.set_nonblocking(true)?;
        Ok(TcpStream { io: stream, ready })
    }

    /// Stands for `TcpStream::into_std` (left non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.io)
    }

    /// Stands for `TcpStream::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Stands for `TcpStream::peer_addr`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// Stands for `TcpStream::nodelay`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.nodelay()
    }

    /// Stands for `TcpStream::set_nodelay`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.set_nodelay(nodelay)
    }

    /// Stands for `TcpStream::ttl`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.ttl()
    }

    /// Stands for `TcpStream::set_ttl`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.set_ttl(ttl)
    }

    /// Stands for `TcpStream::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Stands for `TcpStream::linger`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        crate::net::tcp::linger_fd(self.io.as_raw_fd())
    }

    /// Stands for `TcpStream::set_linger`.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        crate::net::tcp::set_linger_fd(self.io.as_raw_fd(), dur)
    }

    /// Stands for `TcpStream::ready`.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.ready.wait(interest).await
    }

    /// Stands for `TcpStream::readable`.
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Stands for `TcpStream::writable`.
    pub async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Stands for `TcpStream::poll_read_ready`.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Read)
    }

    /// Stands for `TcpStream::poll_write_ready`.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Write)
    }

    /// Stands for `TcpStream::try_read`: the bytes available now, or `WouldBlock`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.io).read(buf)
    }

    /// Stands for `TcpStream::try_read_vectored`.
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        (&self.io).read_vectored(bufs)
    }

    /// Stands for `TcpStream::try_write`: what fits in the socket now, or `WouldBlock`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.io).write(buf)
    }

    /// Stands for `TcpStream::try_write_vectored`.
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&self.io).write_vectored(bufs)
    }

    /// Stands for `TcpStream::peek`: read without consuming.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            self.ready
                .poll_io(cx, Direction::Read, || self.io.peek(buf))
        })
        .await
    }

    /// Stands for `TcpStream::split`: borrowed halves.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Stands for `TcpStream::into_split`: owned halves (`reunite` puts them back).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let arc = Arc::new(self);
        (
            OwnedReadHalf { inner: arc.clone() },
            OwnedWriteHalf {
                inner: arc,
                shutdown_on_drop: true,
            },
        )
    }

    fn shutdown_write(&self) -> io::Result<()> {
        match self.io.shutdown(Shutdown::Write) {
            // Already shut down or the peer is gone: nothing more to do.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

impl_async_read!(TcpStream, |s| (s.ready, s.io));
impl_async_write!(TcpStream, |s| (s.ready, s.io), shutdown: s.shutdown_write());

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

/// Stands for `tokio::net::tcp::ReadHalf`.
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// Stands for `tokio::net::tcp::WriteHalf`.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

impl ReadHalf<'_> {
    /// Stands for `ReadHalf::peek`.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.peek(buf).await
    }
}

impl_async_read!(ReadHalf<'_>, |h| (h.0.ready, h.0.io));
impl_async_write!(WriteHalf<'_>, |h| (h.0.ready, h.0.io), shutdown: h.0.shutdown_write());

/// Stands for `tokio::net::tcp::OwnedReadHalf`.
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<TcpStream>,
}

/// Stands for `tokio::net::tcp::OwnedWriteHalf`: dropping it shuts the write side down.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<TcpStream>,
    shutdown_on_drop: bool,
}

/// Stands for `tokio::net::tcp::ReuniteError`: the halves came from different streams.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl std::error::Error for ReuniteError {}

fn reunite(read: OwnedReadHalf, mut write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
    if !Arc::ptr_eq(&read.inner, &write.inner) {
        return Err(ReuniteError(read, write));
    }
    write.shutdown_on_drop = false;
    drop(write);
    Ok(Arc::try_unwrap(read.inner).expect("the two halves held the only references"))
}

impl OwnedReadHalf {
    /// Stands for `OwnedReadHalf::reunite`.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        reunite(self, other)
    }

    /// Stands for `OwnedReadHalf::peek`.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(buf).await
    }

    /// Stands for `OwnedReadHalf::peer_addr`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Stands for `OwnedReadHalf::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl OwnedWriteHalf {
    /// Stands for `OwnedWriteHalf::reunite`.
    pub fn reunite(self, other: OwnedReadHalf) -> Result<TcpStream, ReuniteError> {
        reunite(other, self)
    }

    /// Stands for `OwnedWriteHalf::forget`: drop without shutting the write side down.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// Stands for `OwnedWriteHalf::peer_addr`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Stands for `OwnedWriteHalf::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.shutdown_write();
        }
    }
}

impl_async_read!(OwnedReadHalf, |h| (h.inner.ready, h.inner.io));
impl_async_write!(OwnedWriteHalf, |h| (h.inner.ready, h.inner.io), shutdown: {
    let res = h.inner.shutdown_write();
    if res.is_ok() {
        h.shutdown_on_drop = false;
    }
    res
});

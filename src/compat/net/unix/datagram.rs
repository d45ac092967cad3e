//! `tokio::net::UnixDatagram` over readiness.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net;
use std::path::Path;
use std::task::{Context, Poll};

use bytes::BufMut;
use tokio::io::{Interest, ReadBuf, Ready};

use super::SocketAddr;
use crate::compat::net::ready::{io_handle, read_buf, Direction, Readiness};
use crate::runtime as native;

/// Stands for `tokio::net::UnixDatagram`.
pub struct UnixDatagram {
    io: net::UnixDatagram,
    ready: Readiness,
}

impl UnixDatagram {
    /// Stands for `UnixDatagram::ready`: the events the kernel reported.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.ready.wait(interest).await
    }

    /// Stands for `UnixDatagram::writable`.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready.wait(Interest::WRITABLE).await.map(|_| ())
    }

    /// Stands for `UnixDatagram::poll_send_ready`.
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Write)
    }

    /// Stands for `UnixDatagram::readable`.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready.wait(Interest::READABLE).await.map(|_| ())
    }

    /// Stands for `UnixDatagram::poll_recv_ready`.
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Read)
    }

    /// Stands for `UnixDatagram::bind` (synchronous).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn bind<P>(path: P) -> io::Result<UnixDatagram>
    where
        P: AsRef<Path>,
    {
        let handle = io_handle()?;
        UnixDatagram::adopt(net::UnixDatagram::bind(path)?, handle)
    }

    /// Stands for `UnixDatagram::pair`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let handle = io_handle()?;
        let (a, b) = net::UnixDatagram::pair()?;
        let (a, b) = (
            UnixDatagram::adopt(a, handle.clone())?,
            UnixDatagram::adopt(b, handle)?,
        );
        // As Tokio's: both ends start writable.
        a.ready.assume_ready(Ready::WRITABLE);
        b.ready.assume_ready(Ready::WRITABLE);
        Ok((a, b))
    }

    /// Stands for `UnixDatagram::from_std` (made non-blocking).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn from_std(datagram: net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::adopt(datagram, io_handle()?)
    }

    fn adopt(io: net::UnixDatagram, handle: native::Handle) -> io::Result<UnixDatagram> {
        io.set_nonblocking(true)?;
        let ready = Readiness::with_handle(io.as_raw_fd(), handle);
        Ok(UnixDatagram { io, ready })
    }

    /// Stands for `UnixDatagram::into_std` (left non-blocking).
    pub fn into_std(self) -> io::Result<net::UnixDatagram> {
        Ok(self.io)
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

    /// Stands for `UnixDatagram::connect` (synchronous).
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.io.connect(path)
    }

    /// Stands for `UnixDatagram::send` (to the connected peer).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.ready
            .async_io(Interest::WRITABLE, || self.io.send(buf))
            .await
    }

    /// Stands for `UnixDatagram::try_send`.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.ready.try_write(|| self.io.send(buf))
    }

    /// Stands for `UnixDatagram::try_send_to`.
    pub fn try_send_to<P>(&self, buf: &[u8], target: P) -> io::Result<usize>
    where
        P: AsRef<Path>,
    {
        self.ready.try_write(|| self.io.send_to(buf, target))
    }

    /// Stands for `UnixDatagram::recv` (from the connected peer).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.ready
            .async_io(Interest::READABLE, || self.io.recv(buf))
            .await
    }

    /// Stands for `UnixDatagram::try_recv`.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.ready.try_read(|| self.io.recv(buf))
    }

    /// Stands for `UnixDatagram::try_recv_buf_from`: a datagram into `buf`'s next chunk.
    pub fn try_recv_buf_from<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        self.ready.try_read(|| self.recv_buf_from_now(buf))
    }

    fn recv_buf_from_now<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        read_buf(buf, |b| self.io.recv_from(b)).map(|(n, a)| (n, SocketAddr(a)))
    }

    /// Stands for `UnixDatagram::recv_buf_from`.
    pub async fn recv_buf_from<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        self.ready
            .async_io(Interest::READABLE, || self.recv_buf_from_now(buf))
            .await
    }

    /// Stands for `UnixDatagram::try_recv_buf`.
    pub fn try_recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.ready.try_read(|| self.recv_buf_now(buf))
    }

    fn recv_buf_now<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        read_buf(buf, |b| self.io.recv(b).map(|n| (n, ()))).map(|(n, ())| n)
    }

    /// Stands for `UnixDatagram::recv_buf`.
    pub async fn recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.ready
            .async_io(Interest::READABLE, || self.recv_buf_now(buf))
            .await
    }

    /// Stands for `UnixDatagram::send_to`.
    pub async fn send_to<P>(&self, buf: &[u8], target: P) -> io::Result<usize>
    where
        P: AsRef<Path>,
    {
        let target = target.as_ref();
        self.ready
            .async_io(Interest::WRITABLE, || self.io.send_to(buf, target))
            .await
    }

    /// Stands for `UnixDatagram::recv_from`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self
            .ready
            .async_io(Interest::READABLE, || self.io.recv_from(buf))
            .await?;
        Ok((n, SocketAddr(addr)))
    }

    /// Stands for `UnixDatagram::poll_recv_from`.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        self.ready
            .poll_read_with(cx, buf, |b| self.io.recv_from(b))
            .map_ok(SocketAddr)
    }

    /// Stands for `UnixDatagram::poll_send_to`.
    pub fn poll_send_to<P>(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: P,
    ) -> Poll<io::Result<usize>>
    where
        P: AsRef<Path>,
    {
        let target = target.as_ref();
        self.ready
            .poll_io(cx, Direction::Write, || self.io.send_to(buf, target))
    }

    /// Stands for `UnixDatagram::poll_send`.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.ready
            .poll_io(cx, Direction::Write, || self.io.send(buf))
    }

    /// Stands for `UnixDatagram::poll_recv`.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_read_into(cx, buf, |b| self.io.recv(b))
    }

    /// Stands for `UnixDatagram::try_recv_from`.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.ready.try_read(|| self.io.recv_from(buf))?;
        Ok((n, SocketAddr(addr)))
    }

    /// Stands for `UnixDatagram::try_io`: `WouldBlock` without calling `f` while the socket is not
    /// known ready for `interest`; `f`'s `WouldBlock` clears that.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.ready.try_io(interest, f)
    }

    /// Stands for `UnixDatagram::async_io`: `f` until it stops returning `WouldBlock`,
    /// waiting for `interest` in between.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.ready.async_io(interest, f).await
    }

    /// Stands for `UnixDatagram::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr().map(SocketAddr)
    }

    /// Stands for `UnixDatagram::peer_addr`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr().map(SocketAddr)
    }

    /// Stands for `UnixDatagram::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Stands for `UnixDatagram::shutdown`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }
}

/// Stands for Tokio's `impl TryFrom<std::os::unix::net::UnixDatagram> for UnixDatagram`
/// (`UnixDatagram::from_std`).
impl TryFrom<net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    fn try_from(datagram: net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(datagram)
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

//! `tokio::net::UdpSocket` over readiness: sending and receiving here, peeking in
//! udp/peek.rs, socket options in udp/opts.rs.

mod opts;
mod peek;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use bytes::BufMut;
use tokio::io::{Interest, ReadBuf, Ready};

use super::ready::{read_buf, Direction, Readiness};
use super::{to_socket_addrs, ToSocketAddrs};

/// Stands for `tokio::net::UdpSocket`.
pub struct UdpSocket {
    io: std::net::UdpSocket,
    ready: Readiness,
}

impl UdpSocket {
    /// Stands for `UdpSocket::bind`: the first of `addr`'s addresses that binds.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let mut last = None;
        for a in to_socket_addrs(addr).await? {
            match std::net::UdpSocket::bind(a) {
                Ok(s) => return UdpSocket::from_std(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(super::no_addresses))
    }

    /// Stands for `UdpSocket::from_std` (made non-blocking).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        let ready = Readiness::new(socket.as_raw_fd())?;
        socket.set_nonblocking(true)?;
        Ok(UdpSocket { io: socket, ready })
    }

    /// Stands for `UdpSocket::into_std` (left non-blocking).
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(self.io)
    }

    /// Stands for `UdpSocket::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Stands for `UdpSocket::peer_addr`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// Stands for `UdpSocket::connect`: the first of `addr`'s addresses that works.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let mut last = None;
        for a in to_socket_addrs(addr).await? {
            match self.io.connect(a) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(super::no_addresses))
    }

    /// Stands for `UdpSocket::ready`: the events the kernel reported.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.ready.wait(interest).await
    }

    /// Stands for `UdpSocket::writable`.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready.wait(Interest::WRITABLE).await.map(|_| ())
    }

    /// Stands for `UdpSocket::poll_send_ready`.
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Write)
    }

    /// Stands for `UdpSocket::send` (to the connected peer).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.ready
            .async_io(Interest::WRITABLE, || self.io.send(buf))
            .await
    }

    /// Stands for `UdpSocket::poll_send`.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.ready
            .poll_io(cx, Direction::Write, || self.io.send(buf))
    }

    /// Stands for `UdpSocket::try_send`.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.ready.try_write(|| self.io.send(buf))
    }

    /// Stands for `UdpSocket::readable`.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready.wait(Interest::READABLE).await.map(|_| ())
    }

    /// Stands for `UdpSocket::poll_recv_ready`.
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Read)
    }

    /// Stands for `UdpSocket::recv` (from the connected peer).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // Tokio's datagram receives wait for errors too (an ICMP refusal), not only data.
        self.ready
            .async_io(Interest::READABLE | Interest::ERROR, || self.io.recv(buf))
            .await
    }

    /// Stands for `UdpSocket::poll_recv`.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_read_into(cx, buf, |b| self.io.recv(b))
    }

    /// Stands for `UdpSocket::try_recv`.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.ready.try_read(|| self.io.recv(buf))
    }

    /// Stands for `UdpSocket::try_recv_buf`: a datagram into `buf`'s next chunk.
    pub fn try_recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.ready.try_read(|| self.recv_buf_now(buf))
    }

    fn recv_buf_now<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        read_buf(buf, |b| self.io.recv(b).map(|n| (n, ()))).map(|(n, ())| n)
    }

    /// Stands for `UdpSocket::recv_buf`.
    pub async fn recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        // Tokio's datagram receives wait for errors too (an ICMP refusal), not only data.
        self.ready
            .async_io(Interest::READABLE | Interest::ERROR, || {
                self.recv_buf_now(buf)
            })
            .await
    }

    /// Stands for `UdpSocket::try_recv_buf_from`.
    pub fn try_recv_buf_from<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        self.ready
            .try_read(|| read_buf(buf, |b| self.io.recv_from(b)))
    }

    /// Stands for `UdpSocket::recv_buf_from`.
    pub async fn recv_buf_from<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        // Tokio's datagram receives wait for errors too (an ICMP refusal), not only data.
        self.ready
            .async_io(Interest::READABLE | Interest::ERROR, || {
                read_buf(buf, |b| self.io.recv_from(b))
            })
            .await
    }

    /// Stands for `UdpSocket::send_to`: to the first of `target`'s addresses.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let Some(addr) = to_socket_addrs(target).await?.into_iter().next() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            ));
        };
        self.ready
            .async_io(Interest::WRITABLE, || self.io.send_to(buf, addr))
            .await
    }

    /// Stands for `UdpSocket::poll_send_to`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.ready
            .poll_io(cx, Direction::Write, || self.io.send_to(buf, target))
    }

    /// Stands for `UdpSocket::try_send_to`.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.ready.try_write(|| self.io.send_to(buf, target))
    }

    /// Stands for `UdpSocket::recv_from`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        // Tokio's datagram receives wait for errors too (an ICMP refusal), not only data.
        self.ready
            .async_io(Interest::READABLE | Interest::ERROR, || {
                self.io.recv_from(buf)
            })
            .await
    }

    /// Stands for `UdpSocket::poll_recv_from`.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        self.ready.poll_read_with(cx, buf, |b| self.io.recv_from(b))
    }

    /// Stands for `UdpSocket::try_recv_from`.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.ready.try_read(|| self.io.recv_from(buf))
    }

    /// Stands for `UdpSocket::try_io`: `WouldBlock` without calling `f` while the socket is not
    /// known ready for `interest`; `f`'s `WouldBlock` clears that.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.ready.try_io(interest, f)
    }

    /// Stands for `UdpSocket::async_io`: `f` until it stops returning `WouldBlock`, waiting
    /// for `interest` in between.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.ready.async_io(interest, f).await
    }
}

/// Stands for Tokio's `impl TryFrom<std::net::UdpSocket> for UdpSocket`
/// (`UdpSocket::from_std`).
impl TryFrom<std::net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    fn try_from(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(socket)
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

//! `tokio::net::UdpSocket` over readiness.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use tokio::io::{Interest, ReadBuf, Ready};

use super::ready::{Direction, Readiness};
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

    /// Stands for `UdpSocket::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Stands for `UdpSocket::peer_addr`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// Stands for `UdpSocket::ready`.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.ready.wait(interest).await
    }

    /// Stands for `UdpSocket::readable`.
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.ready.poll_ready(cx, Direction::Read)).await
    }

    /// Stands for `UdpSocket::writable`.
    pub async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.ready.poll_ready(cx, Direction::Write)).await
    }

    /// Stands for `UdpSocket::send` (to the connected peer).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Stands for `UdpSocket::poll_send`.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.ready
            .poll_io(cx, Direction::Write, || self.io.send(buf))
    }

    /// Stands for `UdpSocket::try_send`.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.send(buf)
    }

    /// Stands for `UdpSocket::recv` (from the connected peer).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            self.ready
                .poll_io(cx, Direction::Read, || self.io.recv(buf))
        })
        .await
    }

    /// Stands for `UdpSocket::poll_recv`.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_read_into(cx, buf, |b| self.io.recv(b))
    }

    /// Stands for `UdpSocket::try_recv`.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.recv(buf)
    }

    /// Stands for `UdpSocket::send_to`.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let addr = to_socket_addrs(target)
            .await?
            .into_iter()
            .next()
            .ok_or_else(super::no_addresses)?;
        std::future::poll_fn(|cx| self.poll_send_to(cx, buf, addr)).await
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
        self.io.send_to(buf, target)
    }

    /// Stands for `UdpSocket::recv_from`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| {
            self.ready
                .poll_io(cx, Direction::Read, || self.io.recv_from(buf))
        })
        .await
    }

    /// Stands for `UdpSocket::poll_recv_from`.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let (n, addr) = std::task::ready!(self.ready.poll_io(cx, Direction::Read, || {
            self.io.recv_from(buf.initialize_unfilled())
        }))?;
        buf.advance(n);
        Poll::Ready(Ok(addr))
    }

    /// Stands for `UdpSocket::try_recv_from`.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.recv_from(buf)
    }

    /// Stands for `UdpSocket::peek_from`.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| {
            self.ready
                .poll_io(cx, Direction::Read, || self.io.peek_from(buf))
        })
        .await
    }

    /// Stands for `UdpSocket::broadcast`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.broadcast()
    }

    /// Stands for `UdpSocket::set_broadcast`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.set_broadcast(on)
    }

    /// Stands for `UdpSocket::ttl`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.ttl()
    }

    /// Stands for `UdpSocket::set_ttl`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.set_ttl(ttl)
    }

    /// Stands for `UdpSocket::multicast_loop_v4`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.multicast_loop_v4()
    }

    /// Stands for `UdpSocket::set_multicast_loop_v4`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.set_multicast_loop_v4(on)
    }

    /// Stands for `UdpSocket::multicast_ttl_v4`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.multicast_ttl_v4()
    }

    /// Stands for `UdpSocket::set_multicast_ttl_v4`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.set_multicast_ttl_v4(ttl)
    }

    /// Stands for `UdpSocket::multicast_loop_v6`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.multicast_loop_v6()
    }

    /// Stands for `UdpSocket::set_multicast_loop_v6`.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.set_multicast_loop_v6(on)
    }

    /// Stands for `UdpSocket::join_multicast_v4`.
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.join_multicast_v4(&multiaddr, &interface)
    }

    /// Stands for `UdpSocket::leave_multicast_v4`.
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.leave_multicast_v4(&multiaddr, &interface)
    }

    /// Stands for `UdpSocket::join_multicast_v6`.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.join_multicast_v6(multiaddr, interface)
    }

    /// Stands for `UdpSocket::leave_multicast_v6`.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.leave_multicast_v6(multiaddr, interface)
    }

    /// Stands for `UdpSocket::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
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

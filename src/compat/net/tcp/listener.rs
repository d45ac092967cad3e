//! `tokio::net::TcpListener` over readiness.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use super::TcpStream;
use crate::compat::net::ready::{Direction, Readiness};
use crate::compat::net::{to_socket_addrs, ToSocketAddrs};

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
            match TcpListener::bind_addr(a) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(crate::compat::net::no_addresses))
    }

    /// Tokio's (mio's) listener setup: `SO_REUSEADDR`, bind, a backlog of 1024. Plain
    /// syscalls that never block, so a bind polled by a thread that only entered the runtime
    /// (nobody driving its ring yet) finishes at once, as Tokio's does.
    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = if addr.is_ipv4() {
            crate::compat::net::TcpSocket::new_v4()?
        } else {
            crate::compat::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(1024)
    }

    /// Stands for `TcpListener::from_std` (the socket is made non-blocking).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let ready = Readiness::with_interest(listener.as_raw_fd(), tokio::io::Interest::READABLE)?;
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
        // Every task waiting here is woken by a connection, as Tokio's (`poll_accept` keeps
        // only the last waker).
        let accepted = self
            .ready
            .async_io(tokio::io::Interest::READABLE, || self.io.accept())
            .await?;
        self.adopt(accepted)
    }

    /// Stands for `TcpListener::poll_accept`.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let accepted =
            std::task::ready!(self.ready.poll_io(cx, Direction::Read, || self.io.accept()))?;
        Poll::Ready(self.adopt(accepted))
    }

    /// A freshly accepted socket as a compat stream on this listener's runtime.
    fn adopt(
        &self,
        (s, addr): (std::net::TcpStream, SocketAddr),
    ) -> io::Result<(TcpStream, SocketAddr)> {
        s.set_nonblocking(true)?;
        let ready = Readiness::with_handle(s.as_raw_fd(), self.ready.handle().clone());
        // As Tokio's: an accepted stream tries its first read and write at once.
        ready.assume_ready(tokio::io::Ready::READABLE | tokio::io::Ready::WRITABLE);
        Ok((TcpStream::from_parts(s, ready), addr))
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

/// Stands for Tokio's `impl TryFrom<std::net::TcpListener> for TcpListener`
/// (`TcpListener::from_std`).
impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    fn try_from(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
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

//! `tokio::net::TcpStream` over readiness.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::SockRef;
use tokio::io::ReadBuf;

use super::split_owned::split_owned;
use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::compat::net::methods::stream_io_methods;
use crate::compat::net::ready::{impl_async_read, impl_async_write, Readiness};
use crate::compat::net::{to_socket_addrs, ToSocketAddrs};

/// Stands for `tokio::net::TcpStream`: Tokio's `AsyncRead` / `AsyncWrite`. A read future
/// dropped before it finished loses no byte.
pub struct TcpStream {
    pub(super) io: std::net::TcpStream,
    pub(super) ready: Readiness,
}

impl TcpStream {
    /// Stands for `TcpStream::connect`: the first of `addr`'s addresses that accepts.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let addrs = to_socket_addrs(addr).await?;
        let mut last = None;
        for a in addrs {
            // Boxed: the ring's connect chain is large, and a Tokio caller's future holding
            // this one should stay small (Tokio's test holds it under 1000 bytes).
            let connected = Box::pin(crate::compat::net::on_runtime(async move {
                crate::net::TcpStream::connect(a).await
            }))
            .await;
            match connected {
                Ok(s) => {
                    let stream = TcpStream::from_std(s.into_std())?;
                    // Connected: writable, as Tokio's stream is once its connect returns.
                    stream.ready.assume_ready(tokio::io::Ready::WRITABLE);
                    return Ok(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(crate::compat::net::no_addresses))
    }

    pub(super) fn from_parts(io: std::net::TcpStream, ready: Readiness) -> TcpStream {
        TcpStream { io, ready }
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

    /// Stands for `TcpStream::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Stands for `TcpStream::peer_addr`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// Stands for `TcpStream::poll_peek`: read into `buf` without consuming, giving the
    /// count.
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.ready
            .poll_read_with(cx, buf, |b| self.io.peek(b).map(|n| (n, n)))
    }

    stream_io_methods!("tokio::net::TcpStream");

    /// Stands for `TcpStream::peek`: read without consuming.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.ready
            .async_io(tokio::io::Interest::READABLE, || self.io.peek(buf))
            .await
    }

    /// Stands for `TcpStream::nodelay`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.nodelay()
    }

    /// Stands for `TcpStream::set_nodelay`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.set_nodelay(nodelay)
    }

    /// Stands for `TcpStream::quickack` (`TCP_QUICKACK`).
    pub fn quickack(&self) -> io::Result<bool> {
        SockRef::from(&self.io).tcp_quickack()
    }

    /// Stands for `TcpStream::set_quickack` (`TCP_QUICKACK`; Linux may reset it later).
    pub fn set_quickack(&self, quickack: bool) -> io::Result<()> {
        SockRef::from(&self.io).set_tcp_quickack(quickack)
    }

    /// Stands for `TcpStream::linger` (`SO_LINGER`).
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(&self.io).linger()
    }

    /// Stands for `TcpStream::set_linger` (deprecated there, for the same reason: a non-zero
    /// `SO_LINGER` makes the close on drop block the thread).
    #[deprecated = "`SO_LINGER` causes the socket to block the thread on drop"]
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        SockRef::from(&self.io).set_linger(dur)
    }

    /// Stands for `TcpStream::set_zero_linger`: `SO_LINGER` of zero, so a drop aborts the
    /// connection (an `RST`, unsent bytes discarded) without blocking.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        SockRef::from(&self.io).set_linger(Some(Duration::ZERO))
    }

    /// Stands for `TcpStream::ttl`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.ttl()
    }

    /// Stands for `TcpStream::set_ttl`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.set_ttl(ttl)
    }

    /// Stands for `TcpStream::split`: borrowed halves.
    pub fn split<'a>(&'a mut self) -> (ReadHalf<'a>, WriteHalf<'a>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Stands for `TcpStream::into_split`: owned halves (`reunite` puts them back).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned(Arc::new(self))
    }

    /// End the write side (Tokio's `poll_shutdown`).
    pub(super) fn shutdown_write(&self) -> io::Result<()> {
        match self.io.shutdown(Shutdown::Write) {
            // Already shut down or the peer is gone: nothing more to do.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

/// Stands for Tokio's `impl TryFrom<std::net::TcpStream> for TcpStream`
/// (`TcpStream::from_std`).
impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    fn try_from(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(stream)
    }
}

impl_async_read!(TcpStream, |s| (s.ready, s.io), socket: true);
impl_async_write!(TcpStream, |s| (s.ready, s.io), shutdown: s.shutdown_write());

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl AsRef<TcpStream> for TcpStream {
    fn as_ref(&self) -> &TcpStream {
        self
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

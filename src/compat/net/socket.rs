//! `tokio::net::TcpSocket`: a TCP socket configured before it connects or listens: a
//! non-blocking socket whose options go through `socket2`, as Tokio's.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use crate::net::raw;

use super::{TcpListener, TcpStream};

/// Stands for `tokio::net::TcpSocket`.
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// Stands for `TcpSocket::new_v4`.
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// Stands for `TcpSocket::new_v6`.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        // Non-blocking and close-on-exec.
        let fd = raw::socket(domain.into(), Type::STREAM.into())?;
        Ok(TcpSocket {
            inner: Socket::from(fd),
        })
    }

    /// Stands for `TcpSocket::set_keepalive`.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Stands for `TcpSocket::keepalive`.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Stands for `TcpSocket::set_reuseaddr`.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuseaddr)
    }

    /// Stands for `TcpSocket::reuseaddr`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Stands for `TcpSocket::set_reuseport`.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuseport)
    }

    /// Stands for `TcpSocket::reuseport`.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Stands for `TcpSocket::set_send_buffer_size`.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// Stands for `TcpSocket::send_buffer_size`.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(|n| n as u32)
    }

    /// Stands for `TcpSocket::set_recv_buffer_size`.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// Stands for `TcpSocket::recv_buffer_size`.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(|n| n as u32)
    }

    /// Stands for `TcpSocket::set_linger` (deprecated there, for the same reason: a non-zero
    /// `SO_LINGER` makes the close on drop block the thread).
    #[deprecated = "`SO_LINGER` causes the socket to block the thread on drop"]
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(dur)
    }

    /// Stands for `TcpSocket::set_zero_linger`: a drop aborts the connection (an `RST`).
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.inner.set_linger(Some(Duration::ZERO))
    }

    /// Stands for `TcpSocket::linger`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// Stands for `TcpSocket::set_nodelay`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Stands for `TcpSocket::nodelay`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp_nodelay()
    }

    /// Stands for `TcpSocket::tclass_v6` (`IPV6_TCLASS`).
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.inner.tclass_v6()
    }

    /// Stands for `TcpSocket::set_tclass_v6` (`IPV6_TCLASS`).
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.inner.set_tclass_v6(tclass)
    }

    /// Stands for `TcpSocket::tos_v4` (`IP_TOS`).
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.inner.tos_v4()
    }

    /// Stands for `TcpSocket::tos` (deprecated there: renamed `tos_v4`).
    #[deprecated(
        note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific."
    )]
    #[doc(hidden)]
    pub fn tos(&self) -> io::Result<u32> {
        self.tos_v4()
    }

    /// Stands for `TcpSocket::set_tos_v4` (`IP_TOS`).
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.inner.set_tos_v4(tos)
    }

    /// Stands for `TcpSocket::set_tos` (deprecated there: renamed `set_tos_v4`).
    #[deprecated(
        note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific."
    )]
    #[doc(hidden)]
    pub fn set_tos(&self, tos: u32) -> io::Result<()> {
        self.set_tos_v4(tos)
    }

    /// Stands for `TcpSocket::device` (`SO_BINDTODEVICE`).
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        self.inner.device()
    }

    /// Stands for `TcpSocket::bind_device` (`SO_BINDTODEVICE`; `None` unbinds).
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        self.inner.bind_device(interface)
    }

    /// Stands for `TcpSocket::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()?.as_socket().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid address family (not IPv4 or IPv6)",
            )
        })
    }

    /// Stands for `TcpSocket::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Stands for `TcpSocket::bind`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        raw::bind(self.inner.as_fd(), addr)
    }

    /// Stands for `TcpSocket::connect`: connect and become a `TcpStream`.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        if let Err(e) = raw::connect(self.inner.as_fd(), addr) {
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
        }
        let stream = TcpStream::from_std(std::net::TcpStream::from(self.inner))?;
        // The handshake is over when the socket turns writable; its outcome is SO_ERROR.
        stream.writable().await?;
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// Stands for `TcpSocket::listen`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        raw::listen(self.inner.as_fd(), backlog)?;
        TcpListener::from_std(std::net::TcpListener::from(self.inner))
    }

    /// Stands for `TcpSocket::from_std_stream` (left in the blocking mode it has).
    pub fn from_std_stream(stream: std::net::TcpStream) -> TcpSocket {
        TcpSocket {
            inner: Socket::from(stream),
        }
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        OwnedFd::from(self.inner).into_raw_fd()
    }
}

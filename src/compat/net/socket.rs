//! `tokio::net::TcpSocket`: a TCP socket configured before it connects or listens.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use super::{TcpListener, TcpStream};
use crate::net::raw;
use crate::net::tcp::{getsockopt_int, linger_fd, set_linger_fd, setsockopt_int};

/// Stands for `tokio::net::TcpSocket`.
pub struct TcpSocket {
    fd: OwnedFd,
}

impl TcpSocket {
    /// Stands for `TcpSocket::new_v4`.
    pub fn new_v4() -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: raw::socket(libc::AF_INET, libc::SOCK_STREAM)?,
        })
    }

    /// Stands for `TcpSocket::new_v6`.
    pub fn new_v6() -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: raw::socket(libc::AF_INET6, libc::SOCK_STREAM)?,
        })
    }

    fn set(&self, level: i32, name: i32, value: i32) -> io::Result<()> {
        setsockopt_int(self.fd.as_raw_fd(), level, name, value)
    }

    fn get(&self, level: i32, name: i32) -> io::Result<i32> {
        getsockopt_int(self.fd.as_raw_fd(), level, name)
    }

    /// Stands for `TcpSocket::set_keepalive`.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, keepalive as i32)
    }

    /// Stands for `TcpSocket::keepalive`.
    pub fn keepalive(&self) -> io::Result<bool> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_KEEPALIVE)? != 0)
    }

    /// Stands for `TcpSocket::set_reuseaddr`.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.set(libc::SOL_SOCKET, libc::SO_REUSEADDR, reuseaddr as i32)
    }

    /// Stands for `TcpSocket::reuseaddr`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_REUSEADDR)? != 0)
    }

    /// Stands for `TcpSocket::set_reuseport`.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.set(libc::SOL_SOCKET, libc::SO_REUSEPORT, reuseport as i32)
    }

    /// Stands for `TcpSocket::reuseport`.
    pub fn reuseport(&self) -> io::Result<bool> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_REUSEPORT)? != 0)
    }

    /// Stands for `TcpSocket::set_send_buffer_size`.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.set(
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            size.min(i32::MAX as u32) as i32,
        )
    }

    /// Stands for `TcpSocket::send_buffer_size`.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_SNDBUF)? as u32)
    }

    /// Stands for `TcpSocket::set_recv_buffer_size`.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.set(
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            size.min(i32::MAX as u32) as i32,
        )
    }

    /// Stands for `TcpSocket::recv_buffer_size`.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_RCVBUF)? as u32)
    }

    /// Stands for `TcpSocket::set_linger`.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        set_linger_fd(self.fd.as_raw_fd(), dur)
    }

    /// Stands for `TcpSocket::linger`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        linger_fd(self.fd.as_raw_fd())
    }

    /// Stands for `TcpSocket::set_nodelay`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.set(libc::IPPROTO_TCP, libc::TCP_NODELAY, nodelay as i32)
    }

    /// Stands for `TcpSocket::nodelay`.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.get(libc::IPPROTO_TCP, libc::TCP_NODELAY)? != 0)
    }

    /// Stands for `TcpSocket::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        crate::net::addr::socket_name(self.fd.as_raw_fd(), false)
    }

    /// Stands for `TcpSocket::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let e = self.get(libc::SOL_SOCKET, libc::SO_ERROR)?;
        Ok((e != 0).then(|| io::Error::from_raw_os_error(e)))
    }

    /// Stands for `TcpSocket::bind`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        raw::bind(self.fd.as_fd(), addr)
    }

    /// Stands for `TcpSocket::connect`: connect and become a `TcpStream`.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        match raw::connect(self.fd.as_fd(), addr) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let stream = TcpStream::from_std(std::net::TcpStream::from(self.fd))?;
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
        raw::listen(self.fd.as_fd(), backlog)?;
        TcpListener::from_std(std::net::TcpListener::from(self.fd))
    }

    /// Stands for `TcpSocket::from_std_stream`.
    pub fn from_std_stream(stream: std::net::TcpStream) -> TcpSocket {
        TcpSocket {
            fd: OwnedFd::from(stream),
        }
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

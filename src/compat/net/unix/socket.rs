//! `tokio::net::UnixSocket`: a Unix socket configured (bound) before it listens, connects
//! or becomes a datagram socket.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net;
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};

use super::{UnixDatagram, UnixListener, UnixStream};

/// Stands for `tokio::net::UnixSocket`.
#[derive(Debug)]
pub struct UnixSocket {
    inner: Socket,
}

impl UnixSocket {
    fn ty(&self) -> io::Result<Type> {
        self.inner.r#type()
    }

    /// Stands for `UnixSocket::new_datagram`.
    pub fn new_datagram() -> io::Result<UnixSocket> {
        UnixSocket::new(Type::DGRAM)
    }

    /// Stands for `UnixSocket::new_stream`.
    pub fn new_stream() -> io::Result<UnixSocket> {
        UnixSocket::new(Type::STREAM)
    }

    fn new(ty: Type) -> io::Result<UnixSocket> {
        // Non-blocking; socket2 makes it close-on-exec.
        let inner = Socket::new(Domain::UNIX, ty.nonblocking(), None)?;
        Ok(UnixSocket { inner })
    }

    /// Stands for `UnixSocket::bind`.
    pub fn bind(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.inner.bind(&SockAddr::unix(path)?)
    }

    /// Stands for `UnixSocket::listen` (a stream socket's).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn listen(self, backlog: u32) -> io::Result<UnixListener> {
        if self.ty()? == Type::DGRAM {
            return Err(io::Error::other(
                "listen cannot be called on a datagram socket",
            ));
        }
        self.inner
            .listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        UnixListener::from_std(net::UnixListener::from(self.inner))
    }

    /// Stands for `UnixSocket::connect` (a stream socket's).
    pub async fn connect(self, path: impl AsRef<Path>) -> io::Result<UnixStream> {
        if self.ty()? == Type::DGRAM {
            return Err(io::Error::other(
                "connect cannot be called on a datagram socket",
            ));
        }
        let addr = SockAddr::unix(path)?;
        UnixStream::connect_socket(self.inner, &addr).await
    }

    /// Stands for `UnixSocket::datagram`: a datagram socket as a `UnixDatagram`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn datagram(self) -> io::Result<UnixDatagram> {
        if self.ty()? == Type::STREAM {
            return Err(io::Error::other(
                "datagram cannot be called on a stream socket",
            ));
        }
        UnixDatagram::from_std(net::UnixDatagram::from(self.inner))
    }
}

impl AsRawFd for UnixSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for UnixSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl IntoRawFd for UnixSocket {
    fn into_raw_fd(self) -> RawFd {
        OwnedFd::from(self.inner).into_raw_fd()
    }
}

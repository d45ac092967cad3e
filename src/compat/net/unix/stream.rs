//! `tokio::net::UnixStream` over readiness.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net;
use std::path::Path;
use std::sync::Arc;

use super::split_owned::split_owned;
use super::{ucred, OwnedReadHalf, OwnedWriteHalf, ReadHalf, SocketAddr, UCred, WriteHalf};
use crate::compat::net::methods::stream_io_methods;
use crate::compat::net::ready::{impl_async_read, impl_async_write, Readiness};

/// Stands for `tokio::net::UnixStream`: Tokio's `AsyncRead` / `AsyncWrite`.
pub struct UnixStream {
    pub(super) io: net::UnixStream,
    pub(super) ready: Readiness,
}

impl UnixStream {
    /// Stands for `UnixStream::connect`. A path that starts with a NUL byte names Linux's
    /// abstract namespace.
    pub async fn connect<P>(path: P) -> io::Result<UnixStream>
    where
        P: AsRef<Path>,
    {
        let path = path.as_ref().to_path_buf();
        let s =
            crate::compat::net::on_runtime(
                async move { crate::net::UnixStream::connect(path).await },
            )
            .await?;
        UnixStream::from_std(s.into_std())
    }

    /// Stands for `UnixStream::connect_addr`.
    pub async fn connect_addr(socket_addr: &SocketAddr) -> io::Result<UnixStream> {
        let addr = socket_addr.to_sock_addr()?;
        let socket = socket2::Socket::new(
            socket2::Domain::UNIX,
            socket2::Type::STREAM.nonblocking(),
            None,
        )?;
        UnixStream::connect_socket(socket, &addr).await
    }

    /// Connect a non-blocking stream socket to `addr` and wait for the outcome.
    pub(super) async fn connect_socket(
        socket: socket2::Socket,
        addr: &socket2::SockAddr,
    ) -> io::Result<UnixStream> {
        if let Err(e) = socket.connect(addr) {
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
        }
        let stream = UnixStream::from_std(net::UnixStream::from(socket))?;
        stream.writable().await?;
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    pub(super) fn from_parts(io: net::UnixStream, ready: Readiness) -> UnixStream {
        UnixStream { io, ready }
    }

    stream_io_methods!("tokio::net::UnixStream");

    /// Stands for `UnixStream::from_std` (made non-blocking).
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn from_std(stream: net::UnixStream) -> io::Result<UnixStream> {
        let ready = Readiness::new(stream.as_raw_fd())?;
        stream.set_nonblocking(true)?;
        Ok(UnixStream { io: stream, ready })
    }

    /// Stands for `UnixStream::into_std` (left non-blocking).
    pub fn into_std(self) -> io::Result<net::UnixStream> {
        Ok(self.io)
    }

    /// Stands for `UnixStream::pair`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = net::UnixStream::pair()?;
        let (a, b) = (UnixStream::from_std(a)?, UnixStream::from_std(b)?);
        // As Tokio's: both ends start writable.
        a.ready.assume_ready(tokio::io::Ready::WRITABLE);
        b.ready.assume_ready(tokio::io::Ready::WRITABLE);
        Ok((a, b))
    }

    /// Stands for `UnixStream::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr().map(SocketAddr)
    }

    /// Stands for `UnixStream::peer_addr`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr().map(SocketAddr)
    }

    /// Stands for `UnixStream::peer_cred` (`SO_PEERCRED`).
    pub fn peer_cred(&self) -> io::Result<UCred> {
        ucred::peer_cred(self.io.as_raw_fd())
    }

    /// Stands for `UnixStream::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Stands for `UnixStream::split`: borrowed halves.
    pub fn split<'a>(&'a mut self) -> (ReadHalf<'a>, WriteHalf<'a>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Stands for `UnixStream::into_split`: owned halves (`reunite` puts them back).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned(Arc::new(self))
    }

    /// End the write side (Tokio's `poll_shutdown`).
    pub(super) fn shutdown_write(&self) -> io::Result<()> {
        match self.io.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

/// Stands for Tokio's `impl TryFrom<std::os::unix::net::UnixStream> for UnixStream`
/// (`UnixStream::from_std`).
impl TryFrom<net::UnixStream> for UnixStream {
    type Error = io::Error;

    fn try_from(stream: net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_std(stream)
    }
}

impl_async_read!(UnixStream, |s| (s.ready, s.io), socket: true);
impl_async_write!(UnixStream, |s| (s.ready, s.io), shutdown: s.shutdown_write());

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl AsRef<UnixStream> for UnixStream {
    fn as_ref(&self) -> &UnixStream {
        self
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

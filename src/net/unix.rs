use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use super::addr::{unix_socket_name, SockAddr, UnixAddr};
use super::ops::NetOp;
use super::tcp::{new_socket, run, socket_set_up, Setup, Socket};
use super::udp::{MsgOp, RecvMsg, SendMsg};
use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::driver::ops::Target;
use crate::driver::ops::{Recv, Send as SendOp};
use crate::driver::Op;

async fn unix_socket(ty: i32) -> io::Result<Socket> {
    new_socket(libc::AF_UNIX, ty).await
}

fn socketpair(ty: i32) -> io::Result<(Socket, Socket)> {
    let mut fds = [0; 2];
    // SAFETY: net rule 1 — the kernel writes two descriptors into a local array.
    crate::fs::cvt(unsafe {
        libc::socketpair(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
    })?;
    Ok((Socket::new(fds[0]), Socket::new(fds[1])))
}

/// A Unix-domain stream socket listening for connections. A path starting with a NUL byte
/// binds in the abstract namespace.
#[derive(Debug)]
pub struct UnixListener {
    sock: Socket,
}

impl UnixListener {
    /// Bind to `path` and listen (a chain of `bind` → `listen` after the socket op).
    pub async fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let addr = SockAddr::unix(path.as_ref())?;
        let steps = [Setup::Bind, Setup::Listen];
        let sock = socket_set_up(libc::SOCK_STREAM, &addr, &steps).await?;
        Ok(UnixListener { sock })
    }

    /// Accept one connection.
    pub async fn accept(&self) -> io::Result<(UnixStream, UnixAddr)> {
        // The peer's name as accept wrote it: what getpeername would say, without the call.
        let (fd, addr, len) = Op::new(NetOp::accept(self.sock.0)).await?.accepted();
        let stream = UnixStream {
            sock: Socket::new(fd),
        };
        Ok((stream, UnixAddr::from_raw(&addr.storage, len)))
    }

    /// Every incoming connection, from one multishot accept.
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming::new(self.sock.0, |fd| UnixStream {
            sock: Socket::new(fd),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        unix_socket_name(self.sock.0, false)
    }
}

super::tcp::socket_common!(UnixListener, std::os::unix::net::UnixListener);
super::tcp::socket_common!(UnixStream, std::os::unix::net::UnixStream);
super::tcp::socket_common!(UnixDatagram, std::os::unix::net::UnixDatagram);

/// Connections from [`UnixListener::incoming`].
pub type UnixIncoming<'a> = super::ops::AcceptStream<'a, UnixStream>;

/// A Unix-domain stream connection.
#[derive(Debug)]
pub struct UnixStream {
    sock: Socket,
}

impl UnixStream {
    /// Connect to the socket at `path`.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = SockAddr::unix(path.as_ref())?;
        let steps = [Setup::Connect];
        let sock = socket_set_up(libc::SOCK_STREAM, &addr, &steps).await?;
        Ok(UnixStream { sock })
    }

    /// A connected pair (`socketpair(2)`).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = socketpair(libc::SOCK_STREAM)?;
        Ok((UnixStream { sock: a }, UnixStream { sock: b }))
    }

    fn fd(&self) -> RawFd {
        self.sock.0
    }

    fn sends(&self) -> &super::tcp::SendsInFlight {
        &self.sock.1
    }

    crate::net::stream::stream_io_methods!();

    /// The local address.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        unix_socket_name(self.fd(), false)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        unix_socket_name(self.fd(), true)
    }
}

/// A Unix-domain datagram socket.
#[derive(Debug)]
pub struct UnixDatagram {
    sock: Socket,
}

fn decode_unix(s: &libc::sockaddr_storage, len: libc::socklen_t) -> io::Result<UnixAddr> {
    Ok(UnixAddr::from_raw(s, len))
}

impl UnixDatagram {
    /// Bind to `path` (NUL-prefixed: abstract namespace).
    pub async fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        // A bad path is refused before any socket is made.
        let addr = SockAddr::unix(path.as_ref())?;
        let sock = socket_set_up(libc::SOCK_DGRAM, &addr, &[Setup::Bind]).await?;
        Ok(UnixDatagram { sock })
    }

    /// A socket with no address (it can still send, and receive once connected or paired).
    pub async fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            sock: unix_socket(libc::SOCK_DGRAM).await?,
        })
    }

    /// A connected pair.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = socketpair(libc::SOCK_DGRAM)?;
        Ok((UnixDatagram { sock: a }, UnixDatagram { sock: b }))
    }

    /// Set the default peer.
    pub async fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        run(NetOp::Connect {
            fd: Target::Fd(self.sock.0),
            addr: SockAddr::unix(path.as_ref())?,
        })
        .await
        .map(|_| ())
    }

    /// Send a datagram to the socket at `path`.
    pub async fn send_to<B: IoBuf>(&self, buf: B, path: impl AsRef<Path>) -> BufResult<usize, B> {
        match SockAddr::unix(path.as_ref()) {
            Ok(addr) => Op::new(SendMsg(MsgOp::new(self.sock.0, buf, addr))).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Receive a datagram and its sender's address.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, UnixAddr), B> {
        Op::new(RecvMsg {
            op: MsgOp::new(self.sock.0, buf, SockAddr::empty()),
            decode: decode_unix,
            flags: 0,
        })
        .await
    }

    /// Send to the connected peer.
    pub async fn send<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        Op::new(SendOp::new(self.sock.0, buf, 0)).await
    }

    /// Receive from the connected peer.
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        Op::new(Recv::new(self.sock.0, buf, 0)).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        unix_socket_name(self.sock.0, false)
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        unix_socket_name(self.sock.0, true)
    }
}

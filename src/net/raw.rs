//! Plain socket and pipe syscalls for sockets set up outside a ring (compat's `TcpSocket`,
//! its pipes): each takes a descriptor the caller owns, or returns one it now owns.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::addr::SockAddr;
use crate::fs::cvt;

/// A new non-blocking, close-on-exec socket of `domain` and `ty`.
pub(crate) fn socket(domain: i32, ty: i32) -> io::Result<OwnedFd> {
    // SAFETY: net rule 1 — a plain syscall with no pointers; the result is checked first.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: net rule 4 — a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `bind(2)` on a socket the caller owns.
pub(crate) fn bind(fd: BorrowedFd<'_>, addr: SocketAddr) -> io::Result<()> {
    let sa = SockAddr::new(addr);
    // SAFETY: net rules 1 and 2 — the address lives on this frame with its exact length.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), sa.as_ptr(), sa.len) })
}

/// `listen(2)` on a socket the caller owns.
pub(crate) fn listen(fd: BorrowedFd<'_>, backlog: u32) -> io::Result<()> {
    let backlog = backlog.min(i32::MAX as u32) as i32;
    // SAFETY: net rule 1 — a plain syscall on an owned descriptor.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) })
}

/// `connect(2)` on a non-blocking socket the caller owns: `Ok` when connected at once,
/// `EINPROGRESS` while the handshake runs (the socket turns writable when it is over).
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: SocketAddr) -> io::Result<()> {
    let sa = SockAddr::new(addr);
    // SAFETY: net rules 1 and 2 — the address lives on this frame with its exact length.
    cvt(unsafe { libc::connect(fd.as_raw_fd(), sa.as_ptr(), sa.len) })
}

/// Set or clear `O_NONBLOCK` on a descriptor the caller owns.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: net rule 1 — `fcntl` flag calls with no pointers, on an owned descriptor.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let new = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new == flags {
        return Ok(());
    }
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, new) })
}

/// A non-blocking, close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: net rule 1 — `pipe2` writes exactly two descriptors into the local array.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    // SAFETY: net rule 4 — two fresh descriptors nobody else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `poll(2)` with a zero timeout: which of `events` (plus the error and hang-up bits the
/// kernel always reports) hold for `fd` now. Never waits, and has no effect on the
/// descriptor, so a number the caller no longer owns can at worst give a wrong answer.
pub(crate) fn poll_now(fd: std::os::fd::RawFd, events: i16) -> io::Result<i16> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: net rule 1 — `poll` reads and writes exactly the one `pollfd` on this frame.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pfd.revents)
}

/// `read(2)` into `buf`'s unfilled part without zeroing it first (what Tokio's streams do
/// with `unsafe`; compat has none of its own): the bytes read are filled in `buf`. With
/// `socket`, `recv(2)` with no flags instead: the same bytes, without `read`'s file-position
/// lock and generic file path (what Tokio's sockets call too).
pub(crate) fn read_into(
    fd: std::os::fd::RawFd,
    buf: &mut tokio::io::ReadBuf<'_>,
    socket: bool,
) -> io::Result<usize> {
    // SAFETY: net rule 5 — nothing de-initialises these bytes: the kernel only writes data.
    let unfilled = unsafe { buf.unfilled_mut() };
    let (ptr, len) = (unfilled.as_mut_ptr().cast(), unfilled.len());
    let n = if socket {
        // SAFETY: net rule 5 — the kernel writes at most `len` bytes at the start of `ptr`.
        unsafe { libc::recv(fd, ptr, len, 0) }
    } else {
        // SAFETY: net rule 5 — the kernel writes at most `len` bytes at the start of `ptr`.
        unsafe { libc::read(fd, ptr, len) }
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: net rule 5 — those `n` bytes were just written by the kernel.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Ok(n)
}

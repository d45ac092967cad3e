//! TCP on io_uring, completion style: reads and writes take the buffer by value and give it
//! back with the result.
//!
//! `TcpListener::bind` is one linked chain: `IORING_OP_SOCKET` into a reserved registered-file
//! slot → `SO_REUSEADDR` → `bind` → `listen` → `FIXED_FD_INSTALL` (falling back to a socket
//! first and syscalls on kernels without those opcodes). `incoming()` is a multishot accept.
//! Dropping a socket closes it on the ring.
//!
//! # Rules
//!
//! 1. Socket syscalls (`socket`, `socketpair`, `setsockopt`, `getsockopt`, `getsockname`,
//!    `getpeername`, the `bind`/`listen` fallbacks, `connect`, `fcntl`, `pipe2` in raw.rs)
//!    get pointers to locals or boxed storage
//!    with their exact sizes (or none), on a socket the caller owns; the kernel writes at most
//!    the length it is given.
//! 2. A `sockaddr_storage` is large and aligned enough for every socket address type, so it may
//!    be written through a cast to `sockaddr_in`, `sockaddr_in6` or `sockaddr_un`; it is read
//!    as one of them only when its family says so. All-zero is a valid value of these C structs,
//!    and of `msghdr`, `iovec` and the socket option values.
//! 3. A synchronous `send(MSG_DONTWAIT)` (`stream::send_now`) reads only the initialised
//!    bytes of a buffer the caller holds for the length of the call; nothing is handed to the
//!    kernel beyond it.
//! 4. A socket type owns its descriptor exclusively (one `Socket`): it is closed once, by the
//!    drop or by `close()`, unless `into_raw_fd`/`into_std` hand it over whole first; a
//!    `BorrowedFd` from `as_fd` cannot outlive the borrow of the socket that keeps it open.
//! 5. A synchronous `read(2)` or `recv(2)` into a `ReadBuf`'s unfilled part (`raw::read_into`,
//!    for compat's streams) is given that part's exact length; the `n` bytes the kernel reports are the
//!    ones it wrote, at its start, so exactly those are declared initialised. The descriptor
//!    is only a number to the call: a stale one gives an error or another file's bytes, never
//!    a write outside the buffer.

pub(crate) mod addr;
mod ops;
pub(crate) mod raw;
mod recv;
pub(crate) mod stream;
pub(crate) mod tcp;
mod udp;
mod unix;

pub use self::addr::{Lookup, ToSocketAddrs, UnixAddr};
pub use self::ops::{AcceptStream, ACCEPT_BACKOFF};
pub use self::recv::RecvStream;
pub use self::tcp::{
    Incoming, OwnedReadHalf, OwnedWriteHalf, ReuniteError, TcpListener, TcpStream,
};
pub use self::udp::UdpSocket;
pub use self::unix::{UnixDatagram, UnixIncoming, UnixListener, UnixStream};
pub use crate::driver::bufring::{BufRing, RingBuf};

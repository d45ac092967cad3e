//! Stands for `tokio::net::unix`: `UnixListener`, `UnixStream` (and its halves),
//! `UnixDatagram` and `UnixSocket` over readiness, Tokio's `SocketAddr` and `UCred`, and
//! pipes.

mod datagram;
mod listener;
pub mod pipe;
mod socket;
mod socketaddr;
mod split;
mod split_owned;
mod stream;
mod ucred;

pub use self::datagram::UnixDatagram;
pub use self::listener::UnixListener;
pub use self::socket::UnixSocket;
pub use self::socketaddr::SocketAddr;
pub use self::split::{ReadHalf, WriteHalf};
pub use self::split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use self::stream::UnixStream;
pub use self::ucred::UCred;

/// Stands for `tokio::net::unix::uid_t`: a user ID.
#[allow(non_camel_case_types)]
pub type uid_t = u32;

/// Stands for `tokio::net::unix::gid_t`: a group ID.
#[allow(non_camel_case_types)]
pub type gid_t = u32;

/// Stands for `tokio::net::unix::pid_t`: a process (or process group) ID.
#[allow(non_camel_case_types)]
pub type pid_t = i32;

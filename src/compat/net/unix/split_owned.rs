//! `tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf, ReuniteError}`: a `UnixStream`'s owned
//! halves.

use super::{SocketAddr, UnixStream};

crate::compat::net::halves::owned_halves!("tokio::net::unix", UnixStream, SocketAddr);

//! `tokio::net::unix::{ReadHalf, WriteHalf}`: a `UnixStream`'s borrowed halves.

use super::{SocketAddr, UnixStream};

crate::compat::net::halves::borrowed_halves!("tokio::net::unix", UnixStream, SocketAddr);

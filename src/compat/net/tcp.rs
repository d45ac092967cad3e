//! Stands for `tokio::net::tcp`: `TcpListener`, `TcpStream` and the stream's halves, over
//! readiness (ready.rs): non-blocking std sockets whose waits are io_uring polls.

mod listener;
mod split;
mod split_owned;
mod stream;

pub use self::listener::TcpListener;
pub use self::split::{ReadHalf, WriteHalf};
pub use self::split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use self::stream::TcpStream;

//! `tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf, ReuniteError}`: a `TcpStream`'s owned
//! halves.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use tokio::io::ReadBuf;

use super::TcpStream;

crate::compat::net::halves::owned_halves!("tokio::net::tcp", TcpStream, SocketAddr);

impl OwnedReadHalf {
    /// Stands for `tokio::net::tcp::OwnedReadHalf::poll_peek`.
    pub fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_peek(cx, buf)
    }

    /// Stands for `tokio::net::tcp::OwnedReadHalf::peek`.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(buf).await
    }
}

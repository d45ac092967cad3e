//! `tokio::net::tcp::{ReadHalf, WriteHalf}`: a `TcpStream`'s borrowed halves.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use tokio::io::ReadBuf;

use super::TcpStream;

crate::compat::net::halves::borrowed_halves!("tokio::net::tcp", TcpStream, SocketAddr);

impl ReadHalf<'_> {
    /// Stands for `tokio::net::tcp::ReadHalf::poll_peek`.
    pub fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.0.poll_peek(cx, buf)
    }

    /// Stands for `tokio::net::tcp::ReadHalf::peek`.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.peek(buf).await
    }
}

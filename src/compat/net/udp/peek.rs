//! `tokio::net::UdpSocket`'s peeking: a datagram (or its sender) read without being taken.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use socket2::SockRef;
use tokio::io::{Interest, ReadBuf};

use super::UdpSocket;
use crate::compat::net::ready::Direction;

impl UdpSocket {
    /// Stands for `UdpSocket::peek` (from the connected peer).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        // Tokio's datagram receives wait for errors too (an ICMP refusal), not only data.
        self.ready
            .async_io(Interest::READABLE | Interest::ERROR, || self.io.peek(buf))
            .await
    }

    /// Stands for `UdpSocket::poll_peek`.
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_read_into(cx, buf, |b| self.io.peek(b))
    }

    /// Stands for `UdpSocket::try_peek`.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.ready.try_read(|| self.io.peek(buf))
    }

    /// Stands for `UdpSocket::peek_from`.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        // Tokio's datagram receives wait for errors too (an ICMP refusal), not only data.
        self.ready
            .async_io(Interest::READABLE | Interest::ERROR, || {
                self.io.peek_from(buf)
            })
            .await
    }

    /// Stands for `UdpSocket::poll_peek_from`.
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        self.ready.poll_read_with(cx, buf, |b| self.io.peek_from(b))
    }

    /// Stands for `UdpSocket::try_peek_from`.
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.ready.try_read(|| self.io.peek_from(buf))
    }

    /// Stands for `UdpSocket::peek_sender`: the next datagram's sender, the datagram left
    /// queued.
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        self.ready
            .async_io(Interest::READABLE | Interest::ERROR, || {
                self.peek_sender_now()
            })
            .await
    }

    /// Stands for `UdpSocket::poll_peek_sender`.
    pub fn poll_peek_sender(&self, cx: &mut Context<'_>) -> Poll<io::Result<SocketAddr>> {
        self.ready
            .poll_io(cx, Direction::Read, || self.peek_sender_now())
    }

    /// Stands for `UdpSocket::try_peek_sender`.
    pub fn try_peek_sender(&self) -> io::Result<SocketAddr> {
        self.ready.try_read(|| self.peek_sender_now())
    }

    fn peek_sender_now(&self) -> io::Result<SocketAddr> {
        SockRef::from(&self.io)
            .peek_sender()?
            .as_socket()
            .ok_or_else(|| io::Error::other("sender not available"))
    }
}

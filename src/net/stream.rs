//! The I/O methods every stream socket (TCP, Unix) shares, written once.

/// Expands, inside `impl` of a type with `fn fd(&self) -> RawFd`, `fn sends(&self) ->
/// &SendsInFlight` and `IntoRawFd`, to the
/// completion-style stream methods: read, write, read_exact, write_all, readv, writev, recv,
/// send, peek, close and shutdown.
macro_rules! stream_io_methods {
    () => {
        /// Read into the buffer's spare capacity; 0 means the peer closed its side.
        pub async fn read<B: $crate::buf::IoBufMut>(
            &self,
            buf: B,
        ) -> $crate::buf::BufResult<usize, B> {
            $crate::driver::Op::new($crate::driver::ops::Recv::new(self.fd(), buf, 0).poll_first())
                .await
        }

        /// Write the buffer's initialised bytes; returns how many were sent.
        ///
        /// When the socket has room the bytes are sent at once with a non-blocking
        /// `send(2)` (no SQE, no completion to wait for); otherwise an `IORING_OP_SEND`
        /// waits for room.
        pub async fn write<B: $crate::buf::IoBuf>(
            &self,
            buf: B,
        ) -> $crate::buf::BufResult<usize, B> {
            // Never ahead of a send still queued or in flight on this socket (its bytes first),
            // and within the task's budget of immediate completions (others get their turn).
            if self.sends().is_zero() && $crate::task::take_immediate_budget() {
                if let Some(res) = $crate::net::stream::send_now(self.fd(), &buf) {
                    return (res, buf);
                }
            }
            let _in_flight = self.sends().enter();
            // send(MSG_NOSIGNAL) rather than write: a closed peer gives EPIPE, never SIGPIPE.
            $crate::driver::Op::new($crate::driver::ops::Send::new(self.fd(), buf, 0)).await
        }

        /// Fill the buffer's spare capacity completely; `UnexpectedEof` if the peer closes first.
        pub async fn read_exact<B: $crate::buf::IoBufMut>(
            &self,
            buf: B,
        ) -> $crate::buf::BufResult<(), B> {
            let start = $crate::buf::IoBuf::bytes_init(&buf);
            let end = $crate::buf::IoBuf::bytes_total(&buf);
            let mut buf = buf;
            let mut filled = start;
            while filled < end {
                let (res, slice) = self.read($crate::buf::IoBuf::slice(buf, filled..end)).await;
                buf = slice.into_inner();
                match res {
                    Ok(0) => return (Err(std::io::ErrorKind::UnexpectedEof.into()), buf),
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
            (Ok(()), buf)
        }

        /// Write all of the buffer's initialised bytes.
        pub async fn write_all<B: $crate::buf::IoBuf>(
            &self,
            buf: B,
        ) -> $crate::buf::BufResult<(), B> {
            $crate::buf::write_all_with(buf, |rest, _| self.write(rest)).await
        }

        /// Read into several buffers in order (`readv`).
        pub async fn readv<B: $crate::buf::IoBufMut>(
            &self,
            bufs: Vec<B>,
        ) -> $crate::buf::BufResult<usize, Vec<B>> {
            $crate::driver::Op::new($crate::driver::ops::Readv::new(self.fd(), bufs, u64::MAX))
                .await
        }

        /// Write several buffers in order (one `sendmsg` with `MSG_NOSIGNAL`, so a closed peer
        /// gives `BrokenPipe`, never `SIGPIPE`); returns the bytes sent.
        pub async fn writev<B: $crate::buf::IoBuf>(
            &self,
            bufs: Vec<B>,
        ) -> $crate::buf::BufResult<usize, Vec<B>> {
            // Counted like a write's SEND: no immediate write may overtake it.
            let _in_flight = self.sends().enter();
            $crate::driver::Op::new($crate::driver::ops::SendVectored::new(self.fd(), bufs)).await
        }

        /// `recv(2)` with flags.
        pub async fn recv<B: $crate::buf::IoBufMut>(
            &self,
            buf: B,
            flags: i32,
        ) -> $crate::buf::BufResult<usize, B> {
            $crate::driver::Op::new($crate::driver::ops::Recv::new(self.fd(), buf, flags)).await
        }

        /// `send(2)` with flags (`MSG_NOSIGNAL` is always added).
        pub async fn send<B: $crate::buf::IoBuf>(
            &self,
            buf: B,
            flags: i32,
        ) -> $crate::buf::BufResult<usize, B> {
            let _in_flight = self.sends().enter();
            $crate::driver::Op::new($crate::driver::ops::Send::new(self.fd(), buf, flags)).await
        }

        /// Read without consuming (`MSG_PEEK`).
        pub async fn peek<B: $crate::buf::IoBufMut>(
            &self,
            buf: B,
        ) -> $crate::buf::BufResult<usize, B> {
            self.recv(buf, libc::MSG_PEEK).await
        }

        /// Shut down the read, write or both halves.
        pub async fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
            let how = match how {
                std::net::Shutdown::Read => libc::SHUT_RD,
                std::net::Shutdown::Write => libc::SHUT_WR,
                std::net::Shutdown::Both => libc::SHUT_RDWR,
            };
            $crate::net::tcp::run($crate::net::ops::NetOp::Shutdown { fd: self.fd(), how })
                .await
                .map(|_| ())
        }
        /// Receive into buffers picked by the kernel from `ring`, as a stream (one
        /// multishot `recv`). Dropping the stream cancels the request and returns any buffer
        /// it had taken to the ring.
        pub fn recv_multi<'a>(
            &'a self,
            ring: &$crate::net::BufRing,
        ) -> $crate::net::RecvStream<'a> {
            $crate::net::RecvStream::new(self.fd(), ring)
        }
    };
}

pub(crate) use stream_io_methods;

/// Send the buffer's initialised bytes now if the socket has room: `None` when it has none
/// (`EAGAIN`), so the caller submits a send that waits (net rule 3).
pub(crate) fn send_now<B: crate::buf::IoBuf>(
    fd: std::os::fd::RawFd,
    buf: &B,
) -> Option<std::io::Result<usize>> {
    let len = buf.bytes_init();
    // SAFETY: net rule 3 — `len` initialised bytes at the buffer's stable pointer, borrowed for
    // the length of this synchronous call.
    let n = unsafe {
        libc::send(
            fd,
            buf.stable_ptr().cast(),
            len,
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    if n >= 0 {
        return Some(Ok(n as usize));
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN | libc::EINTR) => None,
        _ => Some(Err(e)),
    }
}

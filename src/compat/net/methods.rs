//! The readiness methods every compat stream (and its halves) has, written once: Tokio's
//! `TcpStream` and `UnixStream` share them name for name, and so do their halves.
//!
//! `try_*` are the syscall itself (a `WouldBlock` is the kernel's); the waits are
//! [`Readiness`](super::ready::Readiness)'s polls.

/// Inside `impl $ty`, for a stream with fields `io` (whose `&` is `Read + Write`) and
/// `ready`: Tokio's `ready` … `async_io`. `$tokio` names the Tokio type, for the docs.
macro_rules! stream_io_methods {
    ($($tokio:literal)+) => {
        #[doc = concat!("Stands for `", $($tokio,)+ "::ready`: the events the kernel reported.")]
        pub async fn ready(&self, interest: tokio::io::Interest) -> std::io::Result<tokio::io::Ready> {
            self.ready.wait(interest).await
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::readable`.")]
        pub async fn readable(&self) -> std::io::Result<()> {
            self.ready.wait(tokio::io::Interest::READABLE).await.map(|_| ())
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::writable`.")]
        pub async fn writable(&self) -> std::io::Result<()> {
            self.ready.wait(tokio::io::Interest::WRITABLE).await.map(|_| ())
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::poll_read_ready`.")]
        pub fn poll_read_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.ready.poll_ready(cx, $crate::compat::net::ready::Direction::Read)
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::poll_write_ready`.")]
        pub fn poll_write_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.ready.poll_ready(cx, $crate::compat::net::ready::Direction::Write)
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_read`: the bytes available now, or `WouldBlock`.")]
        pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.ready.try_read(|| std::io::Read::read(&mut &self.io, buf))
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_read_vectored`.")]
        pub fn try_read_vectored(&self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
            self.ready.try_read(|| std::io::Read::read_vectored(&mut &self.io, bufs))
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_read_buf`: into `buf`'s next chunk, advancing it.")]
        pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            self.ready.try_read(|| {
                $crate::compat::net::ready::read_buf(buf, |b| {
                    std::io::Read::read(&mut &self.io, b).map(|n| (n, ()))
                })
            })
            .map(|(n, ())| n)
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_write`: what fits in the socket now, or `WouldBlock`.")]
        pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
            self.ready.try_write(|| std::io::Write::write(&mut &self.io, buf))
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_write_vectored`.")]
        pub fn try_write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
            self.ready.try_write(|| std::io::Write::write_vectored(&mut &self.io, bufs))
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_io`: `WouldBlock` without calling `f` while \
            the socket is not known ready for `interest`; `f`'s `WouldBlock` clears that.")]
        pub fn try_io<R>(
            &self,
            interest: tokio::io::Interest,
            f: impl FnOnce() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            self.ready.try_io(interest, f)
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::async_io`: wait for `interest`, then `f`, \
            until `f` stops returning `WouldBlock`.")]
        pub async fn async_io<R>(
            &self,
            interest: tokio::io::Interest,
            f: impl FnMut() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            self.ready.async_io(interest, f).await
        }
    };
}

/// Inside `impl` of a stream's read half (which is `AsRef<$stream>`): Tokio's `ready`,
/// `readable`, `try_read*`, `peer_addr`, `local_addr`, each the stream's.
macro_rules! read_half_methods {
    ($($tokio:literal)+; $stream:ty, $addr:ty) => {
        #[doc = concat!("Stands for `", $($tokio,)+ "::ready`.")]
        pub async fn ready(&self, interest: tokio::io::Interest) -> std::io::Result<tokio::io::Ready> {
            AsRef::<$stream>::as_ref(self).ready(interest).await
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::readable`.")]
        pub async fn readable(&self) -> std::io::Result<()> {
            AsRef::<$stream>::as_ref(self).readable().await
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_read`.")]
        pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            AsRef::<$stream>::as_ref(self).try_read(buf)
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_read_vectored`.")]
        pub fn try_read_vectored(&self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
            AsRef::<$stream>::as_ref(self).try_read_vectored(bufs)
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_read_buf`.")]
        pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            AsRef::<$stream>::as_ref(self).try_read_buf(buf)
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::peer_addr`.")]
        pub fn peer_addr(&self) -> std::io::Result<$addr> {
            AsRef::<$stream>::as_ref(self).peer_addr()
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::local_addr`.")]
        pub fn local_addr(&self) -> std::io::Result<$addr> {
            AsRef::<$stream>::as_ref(self).local_addr()
        }
    };
}

/// Inside `impl` of a stream's write half (which is `AsRef<$stream>`): Tokio's `ready`,
/// `writable`, `try_write*`, `peer_addr`, `local_addr`, each the stream's.
macro_rules! write_half_methods {
    ($($tokio:literal)+; $stream:ty, $addr:ty) => {
        #[doc = concat!("Stands for `", $($tokio,)+ "::ready`.")]
        pub async fn ready(&self, interest: tokio::io::Interest) -> std::io::Result<tokio::io::Ready> {
            AsRef::<$stream>::as_ref(self).ready(interest).await
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::writable`.")]
        pub async fn writable(&self) -> std::io::Result<()> {
            AsRef::<$stream>::as_ref(self).writable().await
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_write`.")]
        pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
            AsRef::<$stream>::as_ref(self).try_write(buf)
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::try_write_vectored`.")]
        pub fn try_write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
            AsRef::<$stream>::as_ref(self).try_write_vectored(bufs)
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::peer_addr`.")]
        pub fn peer_addr(&self) -> std::io::Result<$addr> {
            AsRef::<$stream>::as_ref(self).peer_addr()
        }

        #[doc = concat!("Stands for `", $($tokio,)+ "::local_addr`.")]
        pub fn local_addr(&self) -> std::io::Result<$addr> {
            AsRef::<$stream>::as_ref(self).local_addr()
        }
    };
}

pub(crate) use {read_half_methods, stream_io_methods, write_half_methods};

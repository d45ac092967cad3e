//! A stream's halves, written once for `TcpStream` and `UnixStream` (Tokio's are the same
//! shape for both): borrowed `ReadHalf` / `WriteHalf` and owned `OwnedReadHalf` /
//! `OwnedWriteHalf` with `ReuniteError`.
//!
//! The stream type must have fields `io` and `ready` visible where the macro expands, and a
//! `shutdown_write(&self) -> io::Result<()>` (Tokio's write-side shutdown).

/// Defines `ReadHalf<'a>` / `WriteHalf<'a>` over `&'a $stream`. `$tokio` is Tokio's module
/// path (`"tokio::net::tcp"`), `$addr` the stream's address type.
macro_rules! borrowed_halves {
    ($tokio:literal, $stream:ty, $addr:ty) => {
        #[doc = concat!("Stands for `", $tokio, "::ReadHalf`: the stream's reading side, borrowed.")]
        #[derive(Debug)]
        pub struct ReadHalf<'a>(pub(super) &'a $stream);

        #[doc = concat!("Stands for `", $tokio, "::WriteHalf`: the stream's writing side, \
            borrowed; shutting it down ends the stream's write side.")]
        #[derive(Debug)]
        pub struct WriteHalf<'a>(pub(super) &'a $stream);

        impl ReadHalf<'_> {
            $crate::compat::net::methods::read_half_methods!(
                $tokio "::ReadHalf"; $stream, $addr
            );
        }

        impl WriteHalf<'_> {
            $crate::compat::net::methods::write_half_methods!(
                $tokio "::WriteHalf"; $stream, $addr
            );
        }

        impl AsRef<$stream> for ReadHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }

        impl AsRef<$stream> for WriteHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }

        $crate::compat::net::ready::impl_async_read!(ReadHalf<'_>, |h| (h.0.ready, h.0.io), socket: true);
        $crate::compat::net::ready::impl_async_write!(
            WriteHalf<'_>,
            |h| (h.0.ready, h.0.io),
            shutdown: h.0.shutdown_write()
        );
    };
}

/// Defines `OwnedReadHalf`, `OwnedWriteHalf`, `ReuniteError` and
/// `split_owned(Arc<$stream>)` for `$stream`.
macro_rules! owned_halves {
    ($tokio:literal, $stream:ty, $addr:ty) => {
        #[doc = concat!("Stands for `", $tokio, "::OwnedReadHalf`.")]
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            pub(super) inner: std::sync::Arc<$stream>,
        }

        #[doc = concat!("Stands for `", $tokio, "::OwnedWriteHalf`: dropping it shuts the \
            stream's write side down.")]
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: std::sync::Arc<$stream>,
            shutdown_on_drop: bool,
        }

        #[doc = concat!("Stands for `", $tokio, "::ReuniteError`: the halves came from \
            different streams.")]
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for ReuniteError {}

        pub(super) fn split_owned(
            stream: std::sync::Arc<$stream>,
        ) -> (OwnedReadHalf, OwnedWriteHalf) {
            (
                OwnedReadHalf {
                    inner: stream.clone(),
                },
                OwnedWriteHalf {
                    inner: stream,
                    shutdown_on_drop: true,
                },
            )
        }

        fn reunite(
            read: OwnedReadHalf,
            mut write: OwnedWriteHalf,
        ) -> Result<$stream, ReuniteError> {
            if !std::sync::Arc::ptr_eq(&read.inner, &write.inner) {
                return Err(ReuniteError(read, write));
            }
            write.shutdown_on_drop = false;
            drop(write);
            // The two halves held the only references, and the write half is gone.
            std::sync::Arc::try_unwrap(read.inner).map_err(|_| unreachable!())
        }

        impl OwnedReadHalf {
            #[doc = concat!("Stands for `", $tokio, "::OwnedReadHalf::reunite`.")]
            pub fn reunite(self, other: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                reunite(self, other)
            }

            $crate::compat::net::methods::read_half_methods!(
                $tokio "::OwnedReadHalf"; $stream, $addr
            );
        }

        impl OwnedWriteHalf {
            #[doc = concat!("Stands for `", $tokio, "::OwnedWriteHalf::reunite`.")]
            pub fn reunite(self, other: OwnedReadHalf) -> Result<$stream, ReuniteError> {
                reunite(other, self)
            }

            #[doc = concat!("Stands for `", $tokio, "::OwnedWriteHalf::forget`: drop without \
                shutting the write side down (it closes with the read half).")]
            pub fn forget(mut self) {
                self.shutdown_on_drop = false;
            }

            $crate::compat::net::methods::write_half_methods!(
                $tokio "::OwnedWriteHalf"; $stream, $addr
            );
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    let _ = self.inner.shutdown_write();
                }
            }
        }

        impl AsRef<$stream> for OwnedReadHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl AsRef<$stream> for OwnedWriteHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        $crate::compat::net::ready::impl_async_read!(OwnedReadHalf, |h| (h.inner.ready, h.inner.io), socket: true);
        $crate::compat::net::ready::impl_async_write!(
            OwnedWriteHalf,
            |h| (h.inner.ready, h.inner.io),
            shutdown: {
                let res = h.inner.shutdown_write();
                if res.is_ok() {
                    h.shutdown_on_drop = false;
                }
                res
            }
        );
    };
}

pub(crate) use {borrowed_halves, owned_halves};

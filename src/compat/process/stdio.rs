//! A child's standard streams: the parent's ends of its pipes, non-blocking, with readiness
//! on the ring (as compat's sockets and pipes).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::Stdio;

use crate::compat::net::ready::{impl_async_read, impl_async_write, Readiness};

/// One end of a pipe to a child.
#[derive(Debug)]
struct End {
    io: std::fs::File,
    ready: Readiness,
}

impl End {
    #[track_caller]
    fn adopt(fd: OwnedFd) -> io::Result<End> {
        crate::net::raw::set_nonblocking(fd.as_fd(), true)?;
        let ready = Readiness::new(fd.as_raw_fd())?;
        Ok(End {
            io: std::fs::File::from(fd),
            ready,
        })
    }

    /// Back to a blocking descriptor, for std.
    fn into_owned_fd(self) -> io::Result<OwnedFd> {
        let fd = OwnedFd::from(self.io);
        crate::net::raw::set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
    }
}

macro_rules! child_stream {
    ($(#[$doc:meta])* $ty:ident, $std:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty {
            end: End,
        }

        impl $ty {
            #[doc = concat!("Stands for `tokio::process::", stringify!($ty), "::from_std`.")]
            ///
            /// # Panics
            /// Outside a runtime, with Tokio's message.
            #[track_caller]
            pub fn from_std(inner: $std) -> io::Result<$ty> {
                Ok($ty {
                    end: End::adopt(OwnedFd::from(inner))?,
                })
            }

            #[doc = concat!("Stands for `tokio::process::", stringify!($ty), "::into_owned_fd`")]
            /// (made blocking again).
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.end.into_owned_fd()
            }
        }

        impl TryInto<Stdio> for $ty {
            type Error = io::Error;

            fn try_into(self) -> Result<Stdio, io::Error> {
                self.into_owned_fd().map(Stdio::from)
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.end.io.as_raw_fd()
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.end.io.as_fd()
            }
        }
    };
}

child_stream!(
    /// Stands for `tokio::process::ChildStdin`: the child's standard input. Shutting it down
    /// does nothing (as Tokio's); dropping it closes the pipe.
    ChildStdin,
    std::process::ChildStdin
);
child_stream!(
    /// Stands for `tokio::process::ChildStdout`: the child's standard output.
    ChildStdout,
    std::process::ChildStdout
);
child_stream!(
    /// Stands for `tokio::process::ChildStderr`: the child's standard error.
    ChildStderr,
    std::process::ChildStderr
);

impl_async_write!(ChildStdin, |s| (s.end.ready, s.end.io), shutdown: Ok(()));
impl_async_read!(ChildStdout, |s| (s.end.ready, s.end.io));
impl_async_read!(ChildStderr, |s| (s.end.ready, s.end.io));

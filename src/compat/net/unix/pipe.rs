//! Stands for `tokio::net::unix::pipe`: anonymous pipes and FIFOs, over readiness.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::task::{Context, Poll};

use tokio::io::{Interest, Ready};

use crate::compat::net::ready::{impl_async_read, impl_async_write, Direction, Readiness};

/// Stands for `tokio::net::unix::pipe::pipe`: a non-blocking anonymous pipe.
///
/// # Panics
/// Outside a runtime, with Tokio's message.
#[track_caller]
pub fn pipe() -> io::Result<(Sender, Receiver)> {
    let (r, w) = crate::net::raw::pipe()?;
    Ok((Sender::adopt(w)?, Receiver::adopt(r)?))
}

/// Stands for `tokio::net::unix::pipe::OpenOptions`: opening a FIFO's end.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    read_write: bool,
    unchecked: bool,
}

impl OpenOptions {
    /// Stands for `OpenOptions::new`.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Stands for `OpenOptions::read_write`: open the FIFO for both directions (so opening a
    /// sender does not fail while no reader is there).
    pub fn read_write(&mut self, value: bool) -> &mut Self {
        self.read_write = value;
        self
    }

    /// Stands for `OpenOptions::unchecked`: skip the check that the file is a FIFO.
    pub fn unchecked(&mut self, value: bool) -> &mut Self {
        self.unchecked = value;
        self
    }

    fn open(&self, path: &Path, write: bool) -> io::Result<OwnedFd> {
        let mut o = std::fs::OpenOptions::new();
        o.read(!write || self.read_write)
            .write(write || self.read_write)
            .custom_flags(libc::O_NONBLOCK);
        let file = o.open(path)?;
        if !self.unchecked && !file.metadata()?.file_type().is_fifo() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a pipe"));
        }
        Ok(OwnedFd::from(file))
    }

    /// Stands for `OpenOptions::open_receiver`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn open_receiver<P: AsRef<Path>>(&self, path: P) -> io::Result<Receiver> {
        Receiver::adopt(self.open(path.as_ref(), false)?)
    }

    /// Stands for `OpenOptions::open_sender`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn open_sender<P: AsRef<Path>>(&self, path: P) -> io::Result<Sender> {
        Sender::adopt(self.open(path.as_ref(), true)?)
    }
}

macro_rules! pipe_end {
    ($ty:ident) => {
        impl $ty {
            #[track_caller]
            fn adopt(fd: OwnedFd) -> io::Result<$ty> {
                crate::net::raw::set_nonblocking(fd.as_fd(), true)?;
                let ready = Readiness::new(fd.as_raw_fd())?;
                Ok($ty {
                    io: File::from(fd),
                    ready,
                })
            }

            /// Stands for the end's `from_owned_fd` (made non-blocking).
            ///
            /// # Panics
            /// Outside a runtime, with Tokio's message.
            #[track_caller]
            pub fn from_owned_fd(fd: OwnedFd) -> io::Result<$ty> {
                $ty::adopt(fd)
            }

            /// Stands for the end's `into_nonblocking_fd`.
            pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
                Ok(OwnedFd::from(self.io))
            }

            /// Stands for the end's `into_blocking_fd`.
            pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
                let fd = OwnedFd::from(self.io);
                crate::net::raw::set_nonblocking(fd.as_fd(), false)?;
                Ok(fd)
            }

            /// Stands for the end's `ready`.
            pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
                self.ready.wait(interest).await
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("fd", &self.io.as_raw_fd())
                    .finish()
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.io.as_raw_fd()
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.as_fd()
            }
        }
    };
}

/// Stands for `tokio::net::unix::pipe::Sender`: the writing end.
pub struct Sender {
    io: File,
    ready: Readiness,
}

pipe_end!(Sender);

impl Sender {
    /// Stands for `Sender::writable`.
    pub async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Stands for `Sender::poll_write_ready`.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Write)
    }

    /// Stands for `Sender::try_write`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.io).write(buf)
    }

    /// Stands for `Sender::try_write_vectored`.
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&self.io).write_vectored(bufs)
    }
}

// A pipe's writing end has no half-close: shutting it down does nothing (as Tokio's).
impl_async_write!(Sender, |s| (s.ready, s.io), shutdown: Ok(()));

/// Stands for `tokio::net::unix::pipe::Receiver`: the reading end.
pub struct Receiver {
    io: File,
    ready: Readiness,
}

pipe_end!(Receiver);

impl Receiver {
    /// Stands for `Receiver::readable`.
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Stands for `Receiver::poll_read_ready`.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Read)
    }

    /// Stands for `Receiver::try_read`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.io).read(buf)
    }

    /// Stands for `Receiver::try_read_vectored`.
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        (&self.io).read_vectored(bufs)
    }
}

impl_async_read!(Receiver, |r| (r.ready, r.io));

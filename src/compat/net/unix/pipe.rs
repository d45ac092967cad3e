//! Stands for `tokio::net::unix::pipe`: anonymous pipes and FIFOs, over readiness.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::task::{Context, Poll};

use bytes::BufMut;
use tokio::io::{Interest, Ready};

use crate::compat::net::ready::{
    impl_async_read, impl_async_write, read_buf, Direction, Readiness,
};

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

    fn open(&self, path: &Path, write: bool) -> io::Result<File> {
        let mut o = std::fs::OpenOptions::new();
        o.read(!write || self.read_write)
            .write(write || self.read_write)
            .custom_flags(libc::O_NONBLOCK);
        let file = o.open(path)?;
        if !self.unchecked && !is_pipe(&file)? {
            return Err(not_a_pipe());
        }
        Ok(file)
    }

    /// Stands for `OpenOptions::open_receiver`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn open_receiver<P: AsRef<Path>>(&self, path: P) -> io::Result<Receiver> {
        Receiver::from_file_unchecked(self.open(path.as_ref(), false)?)
    }

    /// Stands for `OpenOptions::open_sender`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn open_sender<P: AsRef<Path>>(&self, path: P) -> io::Result<Sender> {
        Sender::from_file_unchecked(self.open(path.as_ref(), true)?)
    }
}

fn not_a_pipe() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a pipe")
}

fn is_pipe(file: &File) -> io::Result<bool> {
    Ok(file.metadata()?.file_type().is_fifo())
}

/// Whether `file` was opened for reading: a zero-length read checks the access mode and
/// nothing else (a pipe's returns at once, taking no byte); `EBADF` means write-only.
fn readable(file: &File) -> io::Result<bool> {
    probe((&*file).read(&mut []))
}

/// Whether `file` was opened for writing, as [`readable`] (a pipe's zero-length write
/// returns at once, even without a reader).
fn writable(file: &File) -> io::Result<bool> {
    probe((&*file).write(&[]))
}

fn probe(res: io::Result<usize>) -> io::Result<bool> {
    match res {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => Ok(false),
        // Nothing to read or no room yet: the mode allows the direction.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(true),
        Err(e) => Err(e),
    }
}

macro_rules! pipe_end {
    ($ty:ident, $can:ident, $mode:literal, $interest:expr) => {
        impl $ty {
            #[track_caller]
            fn adopt(fd: OwnedFd) -> io::Result<$ty> {
                crate::net::raw::set_nonblocking(fd.as_fd(), true)?;
                let ready = Readiness::with_interest(fd.as_raw_fd(), $interest)?;
                Ok($ty {
                    io: File::from(fd),
                    ready,
                })
            }

            #[doc = concat!("Stands for `tokio::net::unix::pipe::", stringify!($ty), "::from_file`: checks that `file` \
                is a pipe open in ", $mode, " access mode, and makes it non-blocking.")]
            ///
            /// # Panics
            /// Outside a runtime, with Tokio's message.
            #[track_caller]
            pub fn from_file(file: File) -> io::Result<$ty> {
                $ty::from_owned_fd(file.into())
            }

            #[doc = concat!("Stands for `tokio::net::unix::pipe::", stringify!($ty), "::from_owned_fd`: as `from_file`.")]
            ///
            /// # Panics
            /// Outside a runtime, with Tokio's message.
            #[track_caller]
            pub fn from_owned_fd(owned_fd: OwnedFd) -> io::Result<$ty> {
                let file = File::from(owned_fd);
                if !is_pipe(&file)? {
                    return Err(not_a_pipe());
                }
                if !$can(&file)? {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        concat!("not in ", $mode, " access mode"),
                    ));
                }
                $ty::adopt(file.into())
            }

            #[doc = concat!("Stands for `tokio::net::unix::pipe::", stringify!($ty), "::from_file_unchecked`: no \
                checks (it is still made non-blocking, which compat's waits need).")]
            ///
            /// # Panics
            /// Outside a runtime, with Tokio's message.
            #[track_caller]
            pub fn from_file_unchecked(file: File) -> io::Result<$ty> {
                $ty::adopt(file.into())
            }

            #[doc = concat!("Stands for `tokio::net::unix::pipe::", stringify!($ty), "::from_owned_fd_unchecked`: as \
                `from_file_unchecked`.")]
            ///
            /// # Panics
            /// Outside a runtime, with Tokio's message.
            #[track_caller]
            pub fn from_owned_fd_unchecked(owned_fd: OwnedFd) -> io::Result<$ty> {
                $ty::adopt(owned_fd)
            }

            #[doc = concat!("Stands for `tokio::net::unix::pipe::", stringify!($ty), "::try_io`: `WouldBlock` without \
                calling `f` while the pipe is not known ready; `f`'s `WouldBlock` clears that.")]
            pub fn try_io<R>(&self, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
                self.ready.try_io($interest, f)
            }

            #[doc = concat!("Stands for `tokio::net::unix::pipe::", stringify!($ty), "::into_nonblocking_fd`.")]
            pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
                Ok(OwnedFd::from(self.io))
            }

            #[doc = concat!("Stands for `tokio::net::unix::pipe::", stringify!($ty), "::into_blocking_fd`.")]
            pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
                let fd = OwnedFd::from(self.io);
                crate::net::raw::set_nonblocking(fd.as_fd(), false)?;
                Ok(fd)
            }

            #[doc = concat!("Stands for `tokio::net::unix::pipe::", stringify!($ty), "::ready`.")]
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

pipe_end!(Sender, writable, "O_WRONLY or O_RDWR", Interest::WRITABLE);

impl Sender {
    /// Stands for `Sender::writable`.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready.wait(Interest::WRITABLE).await.map(|_| ())
    }

    /// Stands for `Sender::poll_write_ready`.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Write)
    }

    /// Stands for `Sender::try_write`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.ready.try_write(|| (&self.io).write(buf))
    }

    /// Stands for `Sender::try_write_vectored`.
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.ready.try_write(|| (&self.io).write_vectored(bufs))
    }
}

// A pipe's writing end has no half-close: shutting it down does nothing (as Tokio's).
impl_async_write!(Sender, |s| (s.ready, s.io), shutdown: Ok(()));

/// Stands for `tokio::net::unix::pipe::Receiver`: the reading end.
pub struct Receiver {
    io: File,
    ready: Readiness,
}

pipe_end!(Receiver, readable, "O_RDONLY or O_RDWR", Interest::READABLE);

impl Receiver {
    /// Stands for `Receiver::readable`.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready.wait(Interest::READABLE).await.map(|_| ())
    }

    /// Stands for `Receiver::poll_read_ready`.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll_ready(cx, Direction::Read)
    }

    /// Stands for `Receiver::try_read`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.ready.try_read(|| (&self.io).read(buf))
    }

    /// Stands for `Receiver::try_read_vectored`.
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.ready.try_read(|| (&self.io).read_vectored(bufs))
    }

    /// Stands for `Receiver::try_read_buf`: into `buf`'s next chunk, advancing it.
    pub fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.ready
            .try_read(|| read_buf(buf, |b| (&self.io).read(b).map(|n| (n, ()))))
            .map(|(n, ())| n)
    }
}

impl_async_read!(Receiver, |r| (r.ready, r.io));

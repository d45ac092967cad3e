//! The `unsafe` entry points of compat types. `ringolo::compat` holds no `unsafe` code
//! (`#![forbid(unsafe_code)]`), yet some of Tokio's API is `unsafe fn` by contract — the
//! caller vouches for a raw descriptor — so those functions are declared here, beside the
//! checks that need the kernel.
//!
//! # Rules
//!
//! 1. An `AsyncFd` registration only inspects the descriptor `inner` exposes (`fcntl`,
//!    `fstat` on the number, no pointer but a local `stat` buffer); `register`'s caller
//!    vouches, as in Tokio, that the descriptor stays open and owned by `inner` while it is
//!    registered.

use std::io;
use std::os::fd::AsRawFd;

use tokio::io::Interest;

use crate::compat::io::unix::{AsyncFd, AsyncFdRegisterError};

/// Whether `fd` is open and can be polled (epoll refuses regular files and directories with
/// `EPERM`; io_uring would poll them as always ready, so they are refused here the same way).
fn check_pollable(fd: std::os::fd::RawFd) -> io::Result<()> {
    // SAFETY: rule 1 — F_GETFD only reads the descriptor's flags.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: rule 1 — fstat writes only into our local buffer, read only on success.
    if unsafe { libc::fstat(fd, st.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat succeeded, so it filled the buffer (rule 1).
    let mode = unsafe { st.assume_init() }.st_mode & libc::S_IFMT;
    if mode == libc::S_IFREG || mode == libc::S_IFDIR {
        return Err(io::Error::from_raw_os_error(libc::EPERM));
    }
    Ok(())
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Stands for `tokio::io::unix::AsyncFd::register`: readable and writable interest.
    ///
    /// # Safety
    /// As Tokio's: `inner`'s descriptor stays open, and is not registered elsewhere, until
    /// the `AsyncFd` is dropped or `into_inner` is called.
    ///
    /// # Panics
    /// Outside a runtime, or on one without I/O, with Tokio's messages.
    #[track_caller]
    pub unsafe fn register(inner: T) -> Result<Self, AsyncFdRegisterError<T>> {
        // SAFETY: the caller's promise, forwarded (rule 1).
        unsafe { Self::register_with_interest(inner, Interest::READABLE | Interest::WRITABLE) }
    }

    /// Stands for `tokio::io::unix::AsyncFd::register_with_interest`.
    ///
    /// # Safety
    /// As [`register`](Self::register).
    ///
    /// # Panics
    /// As [`register`](Self::register).
    #[track_caller]
    pub unsafe fn register_with_interest(
        inner: T,
        interest: Interest,
    ) -> Result<Self, AsyncFdRegisterError<T>> {
        let check = check_pollable(inner.as_raw_fd());
        AsyncFd::checked(inner, interest, check)
    }

    /// Stands for Tokio's deprecated `AsyncFd::new` (`register`, dropping `inner` on error).
    #[track_caller]
    #[deprecated(note = "unsound due to lack of I/O safety; use `AsyncFd::register` instead")]
    pub fn new(inner: T) -> io::Result<Self> {
        // SAFETY: rule 1 — Tokio's own deprecated safe wrapper makes the same call.
        Ok(unsafe { Self::register(inner) }?)
    }

    /// Stands for Tokio's deprecated `AsyncFd::with_interest`.
    #[track_caller]
    #[deprecated(
        note = "unsound due to lack of I/O safety; use `AsyncFd::register_with_interest` instead"
    )]
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<Self> {
        // SAFETY: rule 1, as in `new`.
        Ok(unsafe { Self::register_with_interest(inner, interest) }?)
    }

    /// Stands for Tokio's deprecated `AsyncFd::try_new`.
    #[track_caller]
    #[deprecated(note = "unsound due to lack of I/O safety; use `AsyncFd::register` instead")]
    pub fn try_new(inner: T) -> Result<Self, AsyncFdRegisterError<T>> {
        // SAFETY: rule 1, as in `new`.
        unsafe { Self::register(inner) }
    }

    /// Stands for Tokio's deprecated `AsyncFd::try_with_interest`.
    #[track_caller]
    #[deprecated(
        note = "unsound due to lack of I/O safety; use `AsyncFd::register_with_interest` instead"
    )]
    pub fn try_with_interest(
        inner: T,
        interest: Interest,
    ) -> Result<Self, AsyncFdRegisterError<T>> {
        // SAFETY: rule 1, as in `new`.
        unsafe { Self::register_with_interest(inner, interest) }
    }
}

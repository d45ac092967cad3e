//! Schedulers. `current_thread` drives one ring and one run queue on the thread that calls
//! `block_on`.
//!
//! # Rules
//!
//! 1. **Wakeup eventfds** (`WakeFd`) are created and owned here and only ever written 8 bytes
//!    at a time from a local; the ring's multishot poll on them turns a write into a completion.

pub(crate) mod current_thread;
#[cfg(all(test, ringolo_loom))]
mod loom_tests;
pub(crate) mod multi_thread;
pub(crate) mod queue;
mod spare;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The eventfd a scheduler writes to wake a thread parked in `io_uring_enter`.
pub(crate) struct WakeFd(OwnedFd);

impl WakeFd {
    /// A non-blocking, close-on-exec eventfd; `what` names it in the error.
    pub(crate) fn new(what: &str) -> Result<WakeFd, crate::runtime::BuildError> {
        // SAFETY: rule 1 — a plain syscall creating the eventfd; the result is checked first.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(crate::runtime::BuildError::other(
                format!("creating {what} failed"),
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: rule 1 — `fd` is a fresh descriptor nobody else owns.
        Ok(WakeFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Wake the thread parked on this eventfd's poll.
    pub(crate) fn signal(&self) {
        let one = 1u64;
        // SAFETY: rule 1 — an 8-byte write from a local to the eventfd we own.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

impl AsRawFd for WakeFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

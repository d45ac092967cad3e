//! Child-process support the compat layer cannot write without `unsafe`: a pidfd for a
//! child (so its exit can be awaited as readiness on the ring) and the reaping of children
//! whose handle was dropped before they exited.
//!
//! # Rules
//!
//! 1. `pidfd_open` is called only for a child this process spawned and has not reaped (the
//!    caller holds its `std::process::Child`), so the pid names that child and no other.
//! 2. compat's `Command::pre_exec` (an `unsafe fn`, so it lives here) only forwards its
//!    caller's promise to std's `pre_exec`, whose contract is the same.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Child;
use std::sync::Mutex;

/// A descriptor that becomes readable when `child` exits (`pidfd_open(2)`, Linux 5.3+).
pub(crate) fn pidfd(child: &Child) -> io::Result<OwnedFd> {
    // SAFETY: rule 1 — `child` is ours and unreaped; the syscall takes two integers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: rule 1 — a successful pidfd_open returned a new descriptor that nothing else
    // owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Children dropped before they exited, reaped on `SIGCHLD`.
static ORPHANS: Mutex<Vec<Child>> = Mutex::new(Vec::new());

/// Reap `child` now if it has exited, else once it does (on a later `SIGCHLD`).
pub(crate) fn orphan(mut child: Child) {
    if let Ok(None) = child.try_wait() {
        // SIGCHLD drives the reaping; if no handler can be installed the child is reaped
        // whenever another orphan is queued.
        let _ = crate::signal::register(libc::SIGCHLD);
        ORPHANS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child);
    }
    reap_orphans();
}

/// Reap every queued child that has exited.
pub(crate) fn reap_orphans() {
    let Ok(mut list) = ORPHANS.try_lock() else {
        return;
    };
    list.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
}

impl crate::compat::process::Command {
    /// Stands for `tokio::process::Command::pre_exec`: run `f` in the child between `fork`
    /// and `exec`.
    ///
    /// # Safety
    /// As std's `CommandExt::pre_exec`: `f` runs in a forked copy of a possibly
    /// multi-threaded process and may only do what is async-signal-safe there.
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Self
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: rule 2 — the caller upholds std's `pre_exec` contract, which is this one's.
        unsafe { std::os::unix::process::CommandExt::pre_exec(self.as_std_mut(), f) };
        self
    }
}

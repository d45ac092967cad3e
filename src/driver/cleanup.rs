//! What happens when undoing something on a ring fails: `runtime::Builder::on_cleanup_error`.
//!
//! A ring undoes what was dropped — a descriptor closed for a dropped file or socket
//! (`IORING_OP_CLOSE`), an op cancelled (`IORING_OP_ASYNC_CANCEL`), a direct descriptor's slot
//! cleared, a provided-buffer ring unregistered — on its own thread, also when the drop
//! happened elsewhere (mailbox.rs). Those can fail: a descriptor closed behind the runtime's
//! back (`EBADF`), an I/O error reported at close (`EIO` on some file systems), a registration
//! call interrupted or refused. Every failure is counted in the runtime's metrics
//! (`RuntimeMetrics::cleanup_failures`, `DriverStats::cleanup_failures`), and then the
//! runtime's [`OnCleanupError`] decides; the decision runs after the driver's borrow ends, so
//! a log line or a panic never happens with the ring half-updated.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What a runtime does when undoing something on a ring fails
/// (`runtime::Builder::on_cleanup_error`). Every failure is counted first, whatever the choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnCleanupError {
    /// Count it and carry on.
    Ignore,
    /// Count it and log it as a `tracing` warning (the default).
    #[default]
    Log,
    /// Try again, up to this many more times, a failure that may pass on another try
    /// (`EINTR`, `EAGAIN`, `EBUSY` from a registration call), then log it. A failed close is
    /// never tried again: Linux releases the descriptor whatever `close` returns, so a second
    /// close could close a descriptor number reused meanwhile.
    Retry(u32),
    /// Count it and panic on the ring's thread: a worker's panic shuts a multi-thread runtime
    /// down; a current-thread runtime's `block_on` panics.
    Panic,
}

/// A ring's copy of the runtime's choice, and the runtime's shared count of failures.
#[derive(Clone, Debug, Default)]
pub(crate) struct CleanupPolicy {
    pub(crate) on_error: OnCleanupError,
    pub(crate) failures: Arc<AtomicU64>,
}

impl CleanupPolicy {
    pub(crate) fn new(on_error: OnCleanupError) -> CleanupPolicy {
        CleanupPolicy {
            on_error,
            failures: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Failures counted so far, over every ring of the runtime.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// How many more tries a retryable failure gets.
    pub(crate) fn retries(&self) -> u32 {
        match self.on_error {
            OnCleanupError::Retry(n) => n,
            _ => 0,
        }
    }
}

/// Whether another try of a registration call may succeed.
pub(crate) fn retryable(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINTR) | Some(libc::EAGAIN) | Some(libc::EBUSY)
    )
}

/// One failed cleanup, reported after the driver's borrow (see the module doc).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) what: &'static str,
    pub(crate) errno: i32,
    pub(crate) on_error: OnCleanupError,
}

impl Failure {
    /// Log it or panic, as the policy says (the count was taken when it happened).
    pub(crate) fn report(self) {
        let err = std::io::Error::from_raw_os_error(self.errno);
        match self.on_error {
            OnCleanupError::Ignore => {}
            OnCleanupError::Log | OnCleanupError::Retry(_) => {
                tracing::warn!("ringolo: cleanup failed: {}: {err}", self.what);
            }
            OnCleanupError::Panic => panic!(
                "ringolo: cleanup failed: {}: {err} (the runtime was built with \
                 OnCleanupError::Panic)",
                self.what
            ),
        }
    }
}

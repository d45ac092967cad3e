//! `tokio::sync`, re-exported item by item from the real `tokio` crate.
//!
//! Tokio's synchronization primitives do not depend on Tokio's runtime: they are plain
//! futures woken through the `Waker` they are polled with, so they work on ringolo unchanged.
//! They are re-exported rather than rewritten so their types are *the same types* that
//! tokio-util, tokio-stream, hyper-util and tower name in their signatures.
//!
//! Two kinds of methods here still reach into Tokio's runtime from inside `tokio`, and behave
//! differently on ringolo (docs/design/compat.md lists them):
//!
//! - `mpsc::Sender::send_timeout` builds a Tokio timer and panics ("there is no reactor
//!   running") outside a Tokio runtime. Use [`mpsc::send_timeout`] instead: the same
//!   operation on ringolo's timers.
//! - The `blocking_*` methods (`Mutex::blocking_lock`, `mpsc::Receiver::blocking_recv`, …)
//!   panic when called inside a *Tokio* runtime; Tokio cannot see a ringolo runtime, so
//!   under compat they block the calling thread instead of panicking — do not call them from
//!   a task (use them from `spawn_blocking` or a plain thread, as Tokio requires anyway).

#[doc(inline)]
pub use tokio::sync::{
    AcquireError, Barrier, BarrierWaitResult, MappedMutexGuard, Mutex, MutexGuard, Notify,
    OnceCell, OwnedMappedMutexGuard, OwnedMutexGuard, OwnedRwLockMappedWriteGuard,
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard, Semaphore, SemaphorePermit,
    SetError, SetOnce, SetOnceError, TryAcquireError, TryLockError,
};

/// `tokio::sync::futures`: named future types.
pub mod futures {
    #[doc(inline)]
    pub use tokio::sync::futures::{Notified, OwnedNotified};
}

/// `tokio::sync::broadcast`, re-exported.
pub mod broadcast {
    #[doc(inline)]
    pub use tokio::sync::broadcast::{channel, Receiver, Sender, WeakSender};

    /// `tokio::sync::broadcast::error`, re-exported.
    pub mod error {
        #[doc(inline)]
        pub use tokio::sync::broadcast::error::{RecvError, SendError, TryRecvError};
    }
}

/// `tokio::sync::mpsc`, re-exported, plus [`send_timeout`] on ringolo's timers.
pub mod mpsc {
    #[doc(inline)]
    pub use tokio::sync::mpsc::{
        channel, unbounded_channel, OwnedPermit, Permit, PermitIterator, Receiver, Sender,
        UnboundedReceiver, UnboundedSender, WeakSender, WeakUnboundedSender,
    };

    /// `tokio::sync::mpsc::error`, re-exported.
    pub mod error {
        #[doc(inline)]
        #[allow(deprecated)]
        pub use tokio::sync::mpsc::error::{
            RecvError, SendError, SendTimeoutError, TryRecvError, TrySendError,
        };
    }

    /// Stands for `tokio::sync::mpsc::Sender::send_timeout`, which needs a Tokio runtime
    /// inside `tokio`: wait at most `timeout` for capacity, then send `value`. Errors as
    /// Tokio's: `Timeout(value)` when no capacity came in time, `Closed(value)` when the
    /// receiver is gone.
    ///
    /// ```ignore
    /// // tokio:  tx.send_timeout(v, Duration::from_millis(10)).await
    /// ringolo::compat::sync::mpsc::send_timeout(&tx, v, Duration::from_millis(10)).await
    /// ```
    pub async fn send_timeout<T>(
        sender: &Sender<T>,
        value: T,
        timeout: std::time::Duration,
    ) -> Result<(), error::SendTimeoutError<T>> {
        match crate::compat::time::timeout(timeout, sender.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(value);
                Ok(())
            }
            Ok(Err(_closed)) => Err(error::SendTimeoutError::Closed(value)),
            Err(_elapsed) => Err(error::SendTimeoutError::Timeout(value)),
        }
    }
}

/// `tokio::sync::oneshot`, re-exported.
pub mod oneshot {
    #[doc(inline)]
    pub use tokio::sync::oneshot::{channel, Receiver, Sender};

    /// `tokio::sync::oneshot::error`, re-exported.
    pub mod error {
        #[doc(inline)]
        pub use tokio::sync::oneshot::error::{RecvError, TryRecvError};
    }
}

/// `tokio::sync::watch`, re-exported.
pub mod watch {
    #[doc(inline)]
    pub use tokio::sync::watch::{channel, Receiver, Ref, Sender};

    /// `tokio::sync::watch::error`, re-exported.
    pub mod error {
        #[doc(inline)]
        pub use tokio::sync::watch::error::{RecvError, SendError};
    }
}

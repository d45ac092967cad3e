//! `tokio::task` on ringolo: spawning (`spawn`, `spawn_blocking`, `spawn_local`,
//! `block_in_place`), `JoinHandle` / `AbortHandle` / `JoinError` (ringolo's own, which follow
//! Tokio's semantics: dropping a handle detaches the task), `JoinSet`, `LocalSet`, task ids,
//! task-locals (Tokio's own, re-exported) and the cooperative-budget functions.

mod join_set;

pub mod coop;

pub use self::coop::{consume_budget, unconstrained, Unconstrained};
pub use self::join_set::JoinSet;

/// Stands for `tokio::task::JoinHandle`. Awaiting it yields the task's output or a
/// `JoinError`; dropping it detaches the task.
pub use crate::task::JoinHandle;

/// Stands for `tokio::task::AbortHandle`.
pub use crate::task::AbortHandle;

/// Stands for `tokio::task::JoinError` (same `Display`/`Debug` texts as Tokio's).
pub use crate::task::JoinError;

/// Stands for `tokio::task::Id`.
pub use crate::task::Id;

mod local;

pub use self::local::LocalSet;

/// Stands for `tokio::task::LocalEnterGuard`.
pub use crate::task::LocalEnterGuard;

/// Stands for `tokio::task::LocalKey` (re-exported: task-locals need no runtime).
pub use tokio::task::LocalKey;

/// Stands for `tokio::task::futures`.
pub mod futures {
    /// Stands for `tokio::task::futures::TaskLocalFuture` (re-exported).
    pub use tokio::task::futures::TaskLocalFuture;
}

use std::future::Future;

/// Stands for `tokio::task::spawn`: spawn a task onto the current runtime.
///
/// # Panics
/// Outside a runtime, with Tokio's message.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match crate::runtime::context::try_spawn(future, false) {
        Ok(join) => join,
        Err(_) => panic!("{}", crate::compat::CONTEXT_MISSING),
    }
}

/// Stands for `tokio::task::spawn_blocking`: run `f` on the runtime's blocking pool.
///
/// # Panics
/// Outside a runtime, with Tokio's message.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match crate::runtime::Handle::try_current() {
        Some(handle) => handle.spawn_blocking(f),
        None => panic!("{}", crate::compat::CONTEXT_MISSING),
    }
}

/// Stands for `tokio::task::spawn_local`: spawn a task that need not be `Send` onto the
/// current `LocalSet` or `LocalRuntime`.
///
/// # Panics
/// Elsewhere, with Tokio's message.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    crate::task::spawn_local(future)
}

/// Stands for `tokio::task::block_in_place`. On a multi-thread worker the tasks that can move
/// go to the other workers first; tasks with I/O in flight on this worker's ring wait for `f`
/// (docs/design/compat.md).
///
/// # Panics
/// On a current-thread runtime and inside a `LocalSet`, with Tokio's message.
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    crate::task::block_in_place(f)
}

/// Stands for `tokio::task::yield_now`: yield once to the scheduler (ringolo's own, which
/// re-queues the task behind every task that is ready).
pub use crate::task::yield_now;

/// Stands for `tokio::task::id`.
///
/// # Panics
/// Outside a task, with Tokio's message.
#[track_caller]
pub fn id() -> Id {
    match crate::task::try_id() {
        Some(id) => id,
        None => panic!("Can't get a task id when not inside a task"),
    }
}

/// Stands for `tokio::task::try_id`.
pub fn try_id() -> Option<Id> {
    crate::task::try_id()
}

//! The thread-local pointer to what this thread drives: a current-thread core (inside
//! `block_on`, of either flavor) or a multi-thread worker.
//!
//! # Rules
//!
//! 1. `CURRENT` is non-null only between `enter`/`enter_worker` and the drop of the
//!    `EnterGuard` it returns, and points to a `Core` or `Worker` that the guard's owner keeps
//!    alive and in place for that time.
//! 2. The core or worker is reached through a shared reference only; its mutable parts are
//!    `RefCell`s borrowed for the length of one call, never across user code.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;

use crate::blocking::BlockingPool;
use crate::driver::{Driver, DriverStats};
use crate::scheduler::current_thread::Core;
use crate::scheduler::multi_thread::Worker;
use crate::task::JoinHandle;
use crate::time::TimerStore;

#[derive(Clone, Copy)]
enum Current {
    None,
    Thread(*const Core),
    Worker(*const Worker),
}

thread_local! {
    static CURRENT: Cell<Current> = const { Cell::new(Current::None) };
}

/// What this thread drives, borrowed.
pub(crate) enum Driving<'a> {
    Thread(&'a Core),
    Worker(&'a Worker),
}

#[inline]
fn with_current<R>(f: impl FnOnce(Driving<'_>) -> R) -> Option<R> {
    match CURRENT.with(|c| c.get()) {
        Current::None => None,
        // SAFETY: rule 1 — a set CURRENT points to a live core for the guard's lifetime, and
        // the guard outlives this call because it lives further up this thread's stack.
        Current::Thread(p) => Some(f(Driving::Thread(unsafe { &*p }))),
        // SAFETY: rule 1, as above.
        Current::Worker(p) => Some(f(Driving::Worker(unsafe { &*p }))),
    }
}

/// Run `f` with the current-thread core driven by this thread, if any.
#[inline]
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    with_current(|d| match d {
        Driving::Thread(core) => Some(f(core)),
        Driving::Worker(_) => None,
    })
    .flatten()
}

/// Run `f` with the multi-thread worker this thread is, if any.
#[inline]
pub(crate) fn with_worker<R>(f: impl FnOnce(&Worker) -> R) -> Option<R> {
    with_current(|d| match d {
        Driving::Worker(w) => Some(f(w)),
        Driving::Thread(_) => None,
    })
    .flatten()
}

pub(crate) fn is_inside_runtime() -> bool {
    !matches!(CURRENT.with(|c| c.get()), Current::None)
}

/// Installs a core or worker as this thread's current one; restores the previous on drop.
pub(crate) struct EnterGuard {
    prev: Current,
}

/// # Safety
/// `core` must stay alive and in place until the returned guard is dropped (rule 1).
pub(crate) unsafe fn enter(core: &Core) -> EnterGuard {
    let prev = CURRENT.with(|c| c.replace(Current::Thread(core as *const Core)));
    EnterGuard { prev }
}

/// # Safety
/// `worker` must stay alive and in place until the returned guard is dropped (rule 1).
pub(crate) unsafe fn enter_worker(worker: &Worker) -> EnterGuard {
    let prev = CURRENT.with(|c| c.replace(Current::Worker(worker as *const Worker)));
    EnterGuard { prev }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

/// Run `f` on this thread's driver; the driver's deferred wakes and drops run after the borrow
/// ends (rule 2).
#[inline]
pub(crate) fn with_driver<R>(f: impl FnOnce(&mut Driver) -> R) -> Option<R> {
    with_current(|d| match d {
        Driving::Thread(core) => core.with_driver(f),
        Driving::Worker(w) => w.with_driver(f),
    })
}

/// Run `f` on the timer store of what this thread drives: the core's own, or the multi-thread
/// runtime's shared one.
pub(crate) fn with_timers<R>(f: impl FnOnce(&mut TimerStore) -> R) -> Option<R> {
    with_current(|d| match d {
        Driving::Thread(core) => f(&mut core.timers.borrow_mut()),
        Driving::Worker(w) => w.shared().with_timers(f),
    })
}

/// Whether this thread drives part of a multi-thread runtime (where the clock cannot be
/// paused).
pub(crate) fn is_multi_thread() -> bool {
    with_current(|d| match d {
        Driving::Thread(core) => core.multi_thread().is_some(),
        Driving::Worker(_) => true,
    })
    .unwrap_or(false)
}

pub(crate) fn blocking_pool() -> Option<BlockingPool> {
    with_current(|d| match d {
        Driving::Thread(core) => core.blocking_pool().clone(),
        Driving::Worker(w) => w.shared().blocking.clone(),
    })
}

/// This thread's driver counters and polls.
pub(crate) fn stats() -> Option<(DriverStats, u64)> {
    with_current(|d| match d {
        Driving::Thread(core) => (core.stats(), core.polls()),
        Driving::Worker(w) => (w.stats(), w.polls()),
    })
}

/// Whether the ring this thread drives has `opcode`. Outside a runtime: true (the op itself
/// then fails with the "outside a runtime" error, which is the one to report).
pub(crate) fn supports(opcode: u8) -> bool {
    with_driver(|d| d.supports(opcode)).unwrap_or(true)
}

/// The handle of the runtime this thread drives.
pub(crate) fn handle() -> Option<super::Handle> {
    with_current(|d| match d {
        Driving::Thread(core) => match core.multi_thread() {
            Some(mt) => super::Handle::multi_thread(mt.clone()),
            None => super::Handle::current_thread(core.handle().clone()),
        },
        Driving::Worker(w) => super::Handle::multi_thread(w.shared().clone()),
    })
}

#[track_caller]
pub(crate) fn spawn<F>(future: F, sticky: bool) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let spawned = with_current(|d| match d {
        Driving::Thread(core) => match core.multi_thread() {
            Some(mt) => Arc::clone(mt).spawn(future, sticky),
            None => core.spawn_local(future),
        },
        Driving::Worker(w) => w.shared().spawn(future, sticky),
    });
    match spawned {
        Some(join) => join,
        None => panic!("ringolo::spawn must be called from the context of a ringolo runtime"),
    }
}

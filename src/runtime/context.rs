//! The thread-local pointer to the runtime core being driven on this thread.
//!
//! # Rules
//!
//! 1. `CURRENT` is non-null only between `enter` and the drop of the `EnterGuard` it returns,
//!    and points to a `Core` that the guard's owner keeps alive and in place for that time.
//! 2. The `Core` is reached through a shared reference only; its mutable parts are `RefCell`s
//!    borrowed for the length of one call, never across user code.

use std::cell::Cell;
use std::future::Future;
use std::ptr;

use crate::driver::Driver;
use crate::scheduler::current_thread::Core;
use crate::task::JoinHandle;
use crate::time::TimerStore;

thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

/// Run `f` with the core driven by this thread, if any.
#[inline]
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let ptr = CURRENT.with(|c| c.get());
    if ptr.is_null() {
        return None;
    }
    // SAFETY: rule 1 — a non-null CURRENT points to a live core for the guard's lifetime, and
    // the guard outlives this call because it lives further up this thread's stack.
    Some(f(unsafe { &*ptr }))
}

pub(crate) fn is_inside_runtime() -> bool {
    CURRENT.with(|c| !c.get().is_null())
}

/// Installs `core` as this thread's current core; restores the previous one on drop.
pub(crate) struct EnterGuard {
    prev: *const Core,
}

/// # Safety
/// `core` must stay alive and in place until the returned guard is dropped (rule 1).
pub(crate) unsafe fn enter(core: &Core) -> EnterGuard {
    let prev = CURRENT.with(|c| c.replace(core as *const Core));
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
    with_core(|core| core.with_driver(f))
}

pub(crate) fn with_timers<R>(f: impl FnOnce(&mut TimerStore) -> R) -> Option<R> {
    with_core(|core| f(&mut core.timers.borrow_mut()))
}

#[track_caller]
pub(crate) fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match with_core(|core| core.spawn_local(future)) {
        Some(join) => join,
        None => panic!("ringolo::spawn must be called from the context of a ringolo runtime"),
    }
}

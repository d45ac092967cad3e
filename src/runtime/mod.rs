//! Building and running a runtime.
//!
//! ```no_run
//! let rt = ringolo::runtime::Builder::new_current_thread().build().unwrap();
//! let answer = rt.block_on(async { ringolo::spawn(async { 42 }).await.unwrap() });
//! assert_eq!(answer, 42);
//! ```

mod builder;
pub(crate) mod context;
mod error;

pub use self::builder::{Builder, UnhandledPanic};
pub use self::error::{BuildError, BuildErrorKind};
pub use crate::driver::DriverStats;

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex};

use crate::scheduler::current_thread::{Core, Shared};
use crate::task::JoinHandle;

/// A ringolo runtime: a ring, a run queue and a timer store, driven by `block_on`.
pub struct Runtime {
    shared: Arc<Shared>,
    core: Mutex<Option<Box<Core>>>,
    core_returned: Condvar,
}

/// A cloneable reference to a runtime, usable from any thread to spawn onto it.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

/// Puts the core back into the runtime when `block_on` ends, even by unwinding.
struct CoreGuard<'a> {
    rt: &'a Runtime,
    core: Option<Box<Core>>,
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        let mut slot = self.rt.core.lock().unwrap_or_else(|e| e.into_inner());
        *slot = self.core.take();
        self.rt.core_returned.notify_one();
    }
}

impl Runtime {
    fn take_core(&self) -> CoreGuard<'_> {
        let mut slot = self.core.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(core) = slot.take() {
                return CoreGuard {
                    rt: self,
                    core: Some(core),
                };
            }
            // Another thread is inside block_on; wait for it to hand the core back.
            slot = self
                .core_returned
                .wait(slot)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Run `future` to completion on this thread, driving spawned tasks, I/O and timers.
    ///
    /// # Panics
    /// When called from inside a runtime (a nested `block_on`), and when a task panicked under
    /// `UnhandledPanic::ShutdownRuntime`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if context::is_inside_runtime() {
            panic!(
                "Cannot start a runtime from within a runtime. This happens because a function (like \
                 `block_on`) attempted to block the current thread while the thread is being used to \
                 drive asynchronous tasks."
            );
        }
        let guard = self.take_core();
        let core: &Core = guard.core.as_deref().expect("core present");
        // SAFETY: context rule 1 — the core lives in `guard` on this stack frame and outlives
        // `_enter`, which is declared after it and so dropped first.
        let _enter = unsafe { context::enter(core) };
        let future = pin!(future);
        core.block_on(future)
    }

    /// Spawn a task onto this runtime from anywhere; it runs during `block_on`.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future)
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// The driver's counters (submissions, enters, overflows, unknown CQEs, ...). Waits if
    /// another thread is inside `block_on`.
    pub fn driver_stats(&self) -> DriverStats {
        let mine = |core: &Core| Arc::ptr_eq(core.handle(), &self.shared);
        if let Some(Some(stats)) = context::with_core(|core| mine(core).then(|| core.stats())) {
            // Called from inside this runtime's own block_on: the core is in use right here.
            return stats;
        }
        self.take_core()
            .core
            .as_ref()
            .expect("core present")
            .stats()
    }

    /// Threads the blocking pool is running right now.
    pub fn blocking_threads(&self) -> usize {
        self.shared.blocking.threads()
    }

    /// Remote unparks so far: how often another thread had to wake the parked runtime.
    pub fn remote_unparks(&self) -> u64 {
        self.shared.remote_unparks()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let guard = self.take_core();
        let core: &Core = guard.core.as_deref().expect("core present");
        // SAFETY: context rule 1, as in block_on. Nesting is allowed here: the previous context
        // (if this runtime is dropped inside another's block_on) is restored on drop.
        let _enter = unsafe { context::enter(core) };
        core.shutdown();
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &"current_thread")
            .finish()
    }
}

impl Handle {
    /// The handle of the runtime driving this thread.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current()
            .expect("ringolo::runtime::Handle::current() called outside of a ringolo runtime")
    }

    /// The handle of the runtime driving this thread, if any.
    pub fn try_current() -> Option<Handle> {
        context::with_core(|core| Handle {
            shared: core.handle().clone(),
        })
    }

    /// Spawn a task onto the runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// The driver counters of the runtime driving this thread, or `None` outside a runtime.
pub fn driver_stats() -> Option<DriverStats> {
    context::with_core(|core| core.stats())
}

/// Tasks polled so far by the runtime driving this thread.
pub fn task_polls() -> Option<u64> {
    context::with_core(|core| core.polls())
}

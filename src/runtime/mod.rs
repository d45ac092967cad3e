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
pub use crate::scheduler::multi_thread::WorkerMetrics;

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::scheduler::current_thread::{Core, Shared};
use crate::scheduler::multi_thread;
use crate::task::JoinHandle;

/// A ringolo runtime.
///
/// Current-thread: a ring, a run queue and a timer store, driven by the thread in `block_on`.
/// Multi-thread: worker threads, each with its own ring, stealing work from each other; the
/// thread in `block_on` polls the given future on a ring of its own and spawns onto the
/// workers.
pub struct Runtime {
    shared: Arc<Shared>,
    core: Mutex<Option<Box<Core>>>,
    core_returned: Condvar,
    mt: Option<MultiThread>,
}

struct MultiThread {
    shared: Arc<multi_thread::Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// For an extra `block_on` core when several threads block on the runtime at once.
    ring: crate::driver::RingConfig,
}

/// A cloneable reference to a runtime, usable from any thread to spawn onto it.
#[derive(Clone)]
pub struct Handle {
    inner: HandleInner,
}

#[derive(Clone)]
enum HandleInner {
    CurrentThread(Arc<Shared>),
    MultiThread(Arc<multi_thread::Shared>),
}

fn add_stats(a: DriverStats, b: DriverStats) -> DriverStats {
    DriverStats {
        sqes_pushed: a.sqes_pushed + b.sqes_pushed,
        enters: a.enters + b.enters,
        sq_full_flushes: a.sq_full_flushes + b.sq_full_flushes,
        cq_overflow_flushes: a.cq_overflow_flushes + b.cq_overflow_flushes,
        cqes: a.cqes + b.cqes,
        unknown_cqes: a.unknown_cqes + b.unknown_cqes,
        cancelled: a.cancelled + b.cancelled,
        leaked: a.leaked + b.leaked,
        reclaimed_fds: a.reclaimed_fds + b.reclaimed_fds,
        direct_slots_in_use: a.direct_slots_in_use + b.direct_slots_in_use,
        coalesced_waits: a.coalesced_waits + b.coalesced_waits,
    }
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
        let guard = match &self.mt {
            Some(mt) => {
                // Any number of threads may block on a multi-thread runtime at once, as in
                // Tokio: the first uses the runtime's own block_on core, others get a core (and
                // ring) of their own for the length of the call.
                let taken = {
                    let mut slot = self.core.lock().unwrap_or_else(|e| e.into_inner());
                    match slot.take() {
                        // A ring left with work bound to another thread (SINGLE_ISSUER) cannot
                        // move here: leave it for that thread and use an extra core.
                        Some(core) if !core.try_bind_current_thread() => {
                            *slot = Some(core);
                            None
                        }
                        other => other,
                    }
                };
                if taken.is_none() {
                    return self.block_on_extra_core(mt, future);
                }
                CoreGuard {
                    rt: self,
                    core: taken,
                }
            }
            None => self.take_core(),
        };
        let core: &Core = guard.core.as_deref().expect("core present");
        // SAFETY: context rule 1 — the core lives in `guard` on this stack frame and outlives
        // `_enter`, which is declared after it and so dropped first.
        let _enter = unsafe { context::enter(core) };
        let future = pin!(future);
        core.block_on(future)
    }

    #[track_caller]
    fn block_on_extra_core<F: Future>(&self, mt: &MultiThread, future: F) -> F::Output {
        let made = crate::scheduler::current_thread::new_with_pool(
            mt.ring,
            mt.shared.config.clone(),
            self.shared.blocking.clone(),
        );
        let (_shared, mut core) = match made {
            Ok(pair) => pair,
            Err(e) => panic!("ringolo: cannot set up a ring for a concurrent block_on: {e}"),
        };
        core.set_multi_thread(mt.shared.clone());
        /// Shuts the extra core's ring down when the call ends, by return or by unwinding,
        /// so ops the future left in flight are waited for (driver rule 5).
        struct ShutdownOnExit(Box<Core>);
        impl Drop for ShutdownOnExit {
            fn drop(&mut self) {
                // SAFETY: context rule 1 — the core is owned by this guard and outlives `_enter`.
                let _enter = unsafe { context::enter(&self.0) };
                self.0.shutdown_ring_only();
            }
        }
        let guard = ShutdownOnExit(core);
        // SAFETY: context rule 1 — `guard` lives on this stack frame and outlives `_enter`,
        // declared after it and so dropped first.
        let _enter = unsafe { context::enter(&guard.0) };
        // Declared last, so dropped first (also when unwinding): its ops are orphaned while the
        // context and the ring are still there.
        let future = pin!(future);
        guard.0.block_on(future)
    }

    /// Spawn a task onto this runtime from anywhere. On a current-thread runtime it runs
    /// during `block_on`; on a multi-thread runtime, on the workers right away.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.mt {
            Some(mt) => mt.shared.spawn(future, false),
            None => self.shared.spawn(future),
        }
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> Handle {
        match &self.mt {
            Some(mt) => Handle::multi_thread(mt.shared.clone()),
            None => Handle::current_thread(self.shared.clone()),
        }
    }

    /// The driver's counters (submissions, enters, overflows, unknown CQEs, ...): of the one
    /// ring of a current-thread runtime (waits if another thread is inside `block_on`), or
    /// summed over a multi-thread runtime's workers as of their last look at their rings.
    pub fn driver_stats(&self) -> DriverStats {
        if let Some(mt) = &self.mt {
            return mt
                .shared
                .driver_stats()
                .into_iter()
                .fold(DriverStats::default(), add_stats);
        }
        self.with_own_core(Core::stats)
    }

    /// `f` on this current-thread runtime's core: the one in use right here when called from
    /// inside its own `block_on`, else the one parked in the runtime (waiting for it if another
    /// thread is inside `block_on`).
    fn with_own_core<R>(&self, f: impl Fn(&Core) -> R) -> R {
        let mine = |core: &Core| Arc::ptr_eq(core.handle(), &self.shared);
        if let Some(Some(out)) = context::with_core(|core| mine(core).then(|| f(core))) {
            return out;
        }
        f(self.take_core().core.as_ref().expect("core present"))
    }

    /// Threads the blocking pool is running right now.
    pub fn blocking_threads(&self) -> usize {
        self.shared.blocking.threads()
    }

    /// Remote unparks so far: how often another thread had to wake a parked worker (or the
    /// parked current-thread runtime) through its eventfd.
    pub fn remote_unparks(&self) -> u64 {
        match &self.mt {
            Some(mt) => mt.shared.metrics().unparks,
            None => self.shared.remote_unparks(),
        }
    }

    /// Worker counters: tasks polled per worker, unparks, steals. A current-thread runtime
    /// reports itself as one worker.
    pub fn metrics(&self) -> WorkerMetrics {
        match &self.mt {
            Some(mt) => mt.shared.metrics(),
            None => WorkerMetrics {
                polls: vec![self.with_own_core(Core::polls)],
                unparks: self.shared.remote_unparks(),
                steals: 0,
            },
        }
    }

    /// Shut the runtime down, waiting at most `timeout` (instead of the builder's
    /// `shutdown_timeout`) for the kernel to finish with in-flight operations; what is still
    /// in flight after that is leaked, never freed. Tasks are cancelled as on drop.
    pub fn shutdown_timeout(self, timeout: Duration) {
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.shared
            .config
            .shutdown_timeout
            .store(nanos, std::sync::atomic::Ordering::Relaxed);
        drop(self);
    }

    /// Shut the runtime down without waiting for in-flight operations (their buffers are
    /// leaked, never freed). Tasks are cancelled as on drop.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    /// Worker threads (1 for a current-thread runtime).
    pub fn workers(&self) -> usize {
        self.mt.as_ref().map_or(1, |mt| mt.shared.workers())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(mt) = self.mt.take() {
            let on_own_worker =
                context::with_worker(|w| Arc::ptr_eq(w.shared(), &mt.shared)).unwrap_or(false);
            if on_own_worker {
                // Joining our own thread would never return. Leak the workers instead (they
                // keep running until the process exits) and say so, as Tokio panics here.
                mt.shared.begin_shutdown();
                std::mem::forget(mt.threads);
                panic!(
                    "Cannot drop a runtime in a context where blocking is not allowed. This \
                     happens when a runtime is dropped from within one of its own tasks."
                );
            }
            mt.shared.begin_shutdown();
            for t in mt.threads {
                // A worker that panicked has already reported it; shutdown carries on.
                let _ = t.join();
            }
            mt.shared.drain_after_shutdown();
        }
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
            .field(
                "flavor",
                &if self.mt.is_some() {
                    "multi_thread"
                } else {
                    "current_thread"
                },
            )
            .field("workers", &self.workers())
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
        context::handle()
    }

    pub(crate) fn current_thread(shared: Arc<Shared>) -> Handle {
        Handle {
            inner: HandleInner::CurrentThread(shared),
        }
    }

    pub(crate) fn multi_thread(shared: Arc<multi_thread::Shared>) -> Handle {
        Handle {
            inner: HandleInner::MultiThread(shared),
        }
    }

    /// Spawn a task onto the runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.inner {
            HandleInner::CurrentThread(shared) => shared.spawn(future),
            HandleInner::MultiThread(shared) => shared.spawn(future, false),
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// The driver counters of the ring this thread drives, or `None` outside a runtime.
pub fn driver_stats() -> Option<DriverStats> {
    context::stats().map(|(s, _)| s)
}

/// Tasks polled so far by this thread's core or worker.
pub fn task_polls() -> Option<u64> {
    context::stats().map(|(_, p)| p)
}

/// The index of the multi-thread worker running this code, or `None` elsewhere.
pub fn worker_index() -> Option<usize> {
    context::with_worker(|w| w.index())
}

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
pub(crate) mod local;
pub(crate) mod metrics;
pub(crate) mod park;
pub(crate) mod threads;

pub use self::builder::{Builder, UnhandledPanic};
pub use self::error::{BuildError, BuildErrorKind};
pub use self::local::LocalRuntime;
pub use self::metrics::RuntimeMetrics;
pub use crate::driver::{DriverStats, OnCleanupError};
pub use crate::scheduler::multi_thread::WorkerMetrics;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use self::threads::ThreadRole;
use crate::scheduler::current_thread::{self as ct, Core, Shared};
use crate::scheduler::multi_thread;
use crate::task::JoinHandle;

/// Tokio's text for a `block_on` inside a runtime.
const NESTED_BLOCK_ON: &str = "Cannot start a runtime from within a runtime. This happens \
    because a function (like `block_on`) attempted to block the current thread while the \
    thread is being used to drive asynchronous tasks. If you are in an async function, use \
    `.await` on the future instead of blocking on it.";

/// An opaque identifier of a runtime, unique for the life of the process.
#[derive(Clone, Copy, Debug, Hash, Eq, PartialEq, Ord, PartialOrd)]
pub struct Id(NonZeroU64);

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Id(NonZeroU64::new(NEXT.fetch_add(1, Ordering::Relaxed)).expect("runtime ids start at 1"))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Which scheduler a runtime runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// Everything on the thread inside `block_on`.
    CurrentThread,
    /// Worker threads, each with its own ring.
    MultiThread,
}

/// A ringolo runtime.
///
/// Current-thread: a ring, a run queue and a timer store, driven by the thread in `block_on`.
/// Multi-thread: worker threads, each with its own ring, stealing work from each other; the
/// thread in `block_on` polls the given future on a ring of its own and spawns onto the
/// workers.
pub struct Runtime {
    /// The `block_on` core's shared state (the whole runtime, for a current-thread one); the
    /// core itself waits in its slot while no thread drives it.
    shared: Arc<Shared>,
    mt: Option<MultiThread>,
    /// How long the drop waits for blocking-pool threads: `u64::MAX` nanoseconds for ever
    /// (the drop's own default, as in Tokio), else what `shutdown_timeout` asked for.
    blocking_wait_ns: AtomicU64,
}

struct MultiThread {
    shared: Arc<multi_thread::Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

/// A cloneable reference to a runtime, usable from any thread to spawn onto it.
#[derive(Clone)]
pub struct Handle {
    inner: HandleInner,
}

impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}

#[derive(Clone)]
enum HandleInner {
    CurrentThread(Arc<Shared>),
    MultiThread(Arc<multi_thread::Shared>),
}

/// A handle that does not keep its runtime alive (the blocking pool's, which the runtime owns).
#[derive(Clone)]
pub(crate) enum WeakHandle {
    CurrentThread(Weak<Shared>),
    MultiThread(Weak<multi_thread::Shared>),
}

/// Every live runtime by id, for what holds only an id (a compat timer) and is used where the
/// runtime is not current. Registered at build, removed at drop.
static RUNTIMES: std::sync::Mutex<Vec<(Id, WeakHandle)>> = std::sync::Mutex::new(Vec::new());

pub(crate) fn register_runtime(id: Id, handle: WeakHandle) {
    RUNTIMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, handle));
}

fn unregister_runtime(id: Id) {
    RUNTIMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(i, _)| *i != id);
}

/// The handle of runtime `id`, if it is alive.
pub(crate) fn handle_by_id(id: Id) -> Option<Handle> {
    let weak = RUNTIMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, w)| w.clone())?;
    weak.upgrade()
}

impl WeakHandle {
    pub(crate) fn upgrade(&self) -> Option<Handle> {
        match self {
            WeakHandle::CurrentThread(w) => w.upgrade().map(Handle::current_thread),
            WeakHandle::MultiThread(w) => w.upgrade().map(Handle::multi_thread),
        }
    }
}

/// Keeps a runtime entered on this thread (see [`Handle::enter`]); dropping it leaves. Guards
/// must be dropped in the reverse order of their creation.
///
/// The drop work lives in a field without a lifetime, so the guard does not hold its
/// handle's borrow across its own drop (Tokio's shape: `let _g = rt.enter();
/// rt.shutdown_timeout(..)` compiles).
pub struct EnterGuard<'a> {
    _guard: context::HandleGuard,
    _handle: PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
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
        buf_rings_registered: a.buf_rings_registered + b.buf_rings_registered,
        coalesced_waits: a.coalesced_waits + b.coalesced_waits,
        cleanup_failures: a.cleanup_failures + b.cleanup_failures,
    }
}

/// Puts the core back into its slot when a `block_on` ends, even by unwinding.
struct CoreGuard<'a> {
    shared: &'a Shared,
    core: Option<Box<Core>>,
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        if let Some(core) = self.core.take() {
            core.via_runtime.set(false);
            self.shared.put_core(core);
        }
    }
}

/// Drive `future` on `core` (taken from `shared`'s slot) until it completes.
#[track_caller]
fn run_on_core<F: Future>(
    shared: &Shared,
    core: Box<Core>,
    future: Pin<&mut F>,
    via_runtime: bool,
) -> F::Output {
    core.via_runtime.set(via_runtime);
    let guard = CoreGuard {
        shared,
        core: Some(core),
    };
    let core: &Core = guard.core.as_deref().expect("core present");
    // SAFETY: context rule 1 — the core lives in `guard` on this stack frame and outlives
    // `_enter`, which is declared after it and so dropped first.
    let _enter = unsafe { context::enter(core) };
    core.block_on(future)
}

/// `block_on` for either flavor: `shared` is the `block_on` core's state, `mt` the workers'
/// when the runtime has them.
#[track_caller]
fn block_on<F: Future>(
    shared: &Arc<Shared>,
    mt: Option<&Arc<multi_thread::Shared>>,
    future: F,
    via_runtime: bool,
) -> F::Output {
    if context::is_inside_runtime() {
        panic!("{}", NESTED_BLOCK_ON);
    }
    let threads = shared.config.threads.clone();
    threads.run(ThreadRole::BlockOn, move || {
        let future = pin!(future);
        block_on_pinned(shared, mt, future, via_runtime)
    })
}

#[track_caller]
fn block_on_pinned<F: Future>(
    shared: &Arc<Shared>,
    mt: Option<&Arc<multi_thread::Shared>>,
    future: Pin<&mut F>,
    via_runtime: bool,
) -> F::Output {
    match mt {
        // Any number of threads may block on a multi-thread runtime at once, as in Tokio: the
        // first uses the runtime's own block_on core, others get a core (and ring) of their own
        // for the length of the call.
        Some(mt) => match shared.try_take_bindable_core() {
            Some(core) => run_on_core(shared, core, future, false),
            None => block_on_extra_core(shared, mt, future),
        },
        None => {
            if let Some(core) = shared.try_take_core() {
                return run_on_core(shared, core, future, via_runtime);
            }
            block_on_without_core(shared, future, via_runtime)
        }
    }
}

/// A current-thread runtime's core is driven by another thread (or the runtime is gone): poll
/// the future here, woken through a parker, and take the core over when it comes back. The
/// runtime stays entered, so the future can spawn onto it and reach its timers.
#[track_caller]
fn block_on_without_core<F: Future>(
    shared: &Arc<Shared>,
    mut future: Pin<&mut F>,
    via_runtime: bool,
) -> F::Output {
    let parker = Arc::new(park::Parker::new());
    let waker = parker.waker();
    let mut cx = Context::from_waker(&waker);
    let _entered = context::enter_handle(Handle::current_thread(shared.clone()));
    let region = context::enter_block_on_region();
    loop {
        if !shared.shut_down.load(Ordering::Acquire) {
            shared.wait_for_core(&parker);
            if let Some(core) = shared.try_take_core() {
                drop(region);
                return run_on_core(shared, core, future, via_runtime);
            }
        }
        crate::task::reset_immediate_budget();
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        parker.park();
    }
}

#[track_caller]
fn block_on_extra_core<F: Future>(
    shared: &Arc<Shared>,
    mt: &Arc<multi_thread::Shared>,
    future: Pin<&mut F>,
) -> F::Output {
    let made = ct::new_with_pool(
        shared.config.ring.clone(),
        mt.config.clone(),
        shared.blocking.clone(),
    );
    let (_shared, mut core) = match made {
        Ok(pair) => pair,
        Err(e) => panic!("ringolo: cannot set up a ring for a concurrent block_on: {e}"),
    };
    core.set_multi_thread(mt.clone());
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
    // The future is pinned by the caller, further up: its ops are orphaned when it drops,
    // after this frame — while the ring is shut down by `guard`, so they are waited for there.
    guard.0.block_on(future)
}

impl Runtime {
    /// Run `future` to completion on this thread, driving spawned tasks, I/O and timers.
    ///
    /// # Panics
    /// When called from inside a runtime (a nested `block_on`), and when a task panicked under
    /// `UnhandledPanic::ShutdownRuntime`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        block_on(
            &self.shared,
            self.mt.as_ref().map(|mt| &mt.shared),
            future,
            true,
        )
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

    /// Run a blocking closure on this runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.shared.blocking.spawn(f)
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> Handle {
        match &self.mt {
            Some(mt) => Handle::multi_thread(mt.shared.clone()),
            None => Handle::current_thread(self.shared.clone()),
        }
    }

    /// Enter the runtime on this thread without driving it: until the guard drops,
    /// `ringolo::spawn` and `Handle::current` reach this runtime.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::enter_handle(self.handle()),
            _handle: PhantomData,
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
    /// inside its own `block_on`, else the one in its slot (waiting for it if another thread
    /// is inside `block_on`).
    fn with_own_core<R>(&self, f: impl Fn(&Core) -> R) -> R {
        let mine = |core: &Core| Arc::ptr_eq(core.handle(), &self.shared);
        if let Some(Some(out)) = context::with_core(|core| mine(core).then(|| f(core))) {
            return out;
        }
        loop {
            if let Some(core) = self.shared.try_take_core() {
                let out = f(&core);
                self.shared.put_core(core);
                return out;
            }
            let parker = Arc::new(park::Parker::new());
            self.shared.wait_for_core(&parker);
            if let Some(core) = self.shared.try_take_core() {
                let out = f(&core);
                self.shared.put_core(core);
                return out;
            }
            parker.park();
        }
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
    pub fn worker_metrics(&self) -> WorkerMetrics {
        match &self.mt {
            Some(mt) => mt.shared.metrics(),
            None => WorkerMetrics {
                polls: vec![self.with_own_core(Core::polls)],
                unparks: self.shared.remote_unparks(),
                steals: 0,
            },
        }
    }

    /// Tokio's runtime metrics (workers, live tasks, global queue, busy time, parks).
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::new(self.handle())
    }

    /// Shut the runtime down, waiting at most `timeout` (instead of the builder's
    /// `shutdown_timeout`) for the kernel to finish with in-flight operations and for the
    /// blocking pool's running calls; what is still in flight after that is leaked, never
    /// freed, and blocking calls still running are left to finish on their threads. Tasks are
    /// cancelled as on drop.
    pub fn shutdown_timeout(self, timeout: Duration) {
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX - 1);
        self.shared
            .config
            .shutdown_timeout
            .store(nanos, std::sync::atomic::Ordering::Relaxed);
        self.blocking_wait_ns
            .store(nanos.min(u64::MAX - 1), Ordering::Relaxed);
        drop(self);
    }

    /// Shut the runtime down without waiting for in-flight operations (their buffers are
    /// leaked, never freed) or blocking calls. Tasks are cancelled as on drop.
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
        unregister_runtime(self.shared.config.id);
        let wait = match self.blocking_wait_ns.load(Ordering::Relaxed) {
            u64::MAX => None,
            ns => Some(Duration::from_nanos(ns)),
        };
        if let Some(mt) = self.mt.take() {
            let on_own_worker =
                context::with_worker(|w| Arc::ptr_eq(w.shared(), &mt.shared)).unwrap_or(false);
            if on_own_worker {
                // Joining our own thread would never return. Leak the workers instead (they
                // keep running until the process exits) and say so, as Tokio panics here.
                mt.shared.begin_shutdown();
                std::mem::forget(mt.threads);
                if !std::thread::panicking() {
                    panic!(
                        "Cannot drop a runtime in a context where blocking is not allowed. This \
                         happens when a runtime is dropped from within one of its own tasks."
                    );
                }
                return;
            }
            mt.shared.begin_shutdown();
            for t in mt.threads {
                // A worker that panicked has already reported it; shutdown carries on.
                let _ = t.join();
            }
            mt.shared.join_spares();
            mt.shared.drain_after_shutdown();
        }
        let Some(core) = self.shared.take_core_for_shutdown() else {
            return;
        };
        // SAFETY: context rule 1, as in block_on: `core` lives on this frame past `_enter`.
        // Nesting is allowed here: the previous context (if this runtime is dropped inside
        // another's block_on) is restored on drop.
        let _enter = unsafe { context::enter(&core) };
        core.shutdown(wait);
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
    /// What the runtime does with its threads (their hooks and wrapper).
    pub(crate) fn threads(&self) -> &Arc<threads::ThreadConfig> {
        match &self.inner {
            HandleInner::CurrentThread(shared) => &shared.config.threads,
            HandleInner::MultiThread(mt) => &mt.config.threads,
        }
    }

    /// The handle of the current runtime: the one entered on this thread most recently
    /// (`enter`), or the one this thread drives.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(h) => h,
            None => {
                panic!("ringolo::runtime::Handle::current() called outside of a ringolo runtime")
            }
        }
    }

    /// The handle of the current runtime, if any.
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

    pub(crate) fn config(&self) -> &ct::Config {
        match &self.inner {
            HandleInner::CurrentThread(s) => &s.config,
            HandleInner::MultiThread(s) => &s.config,
        }
    }

    /// Spawn a task onto the runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_inner(future, false)
    }

    pub(crate) fn spawn_inner<F>(&self, future: F, sticky: bool) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.inner {
            HandleInner::CurrentThread(shared) => shared.spawn(future),
            HandleInner::MultiThread(shared) => shared.spawn(future, sticky),
        }
    }

    /// Run a blocking closure on the runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match &self.inner {
            HandleInner::CurrentThread(shared) => shared.blocking.spawn(f),
            HandleInner::MultiThread(shared) => shared.blocking.spawn(f),
        }
    }

    /// Run `future` to completion on this thread. On a current-thread runtime this drives the
    /// runtime when no other thread does; while one does, the future is polled here (it can
    /// spawn and use timers; its I/O needs a ring, so it should be awaited inside the runtime).
    /// On a multi-thread runtime it is polled here on a ring of its own.
    ///
    /// # Panics
    /// Inside a runtime (a nested `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.inner {
            HandleInner::CurrentThread(shared) => block_on(shared, None, future, false),
            HandleInner::MultiThread(mt) => {
                let shared = mt
                    .block_on_core()
                    .expect("a multi-thread runtime has a block_on core");
                block_on(&shared, Some(mt), future, false)
            }
        }
    }

    /// Enter the runtime on this thread (see [`Runtime::enter`]).
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::enter_handle(self.clone()),
            _handle: PhantomData,
        }
    }

    /// The runtime's flavor.
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        match &self.inner {
            HandleInner::CurrentThread(_) => RuntimeFlavor::CurrentThread,
            HandleInner::MultiThread(_) => RuntimeFlavor::MultiThread,
        }
    }

    /// The runtime's id.
    pub fn id(&self) -> Id {
        self.config().id
    }

    /// The name given with `Builder::name`.
    pub fn name(&self) -> Option<&str> {
        self.config().name.as_deref()
    }

    /// The runtime's metrics.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::new(self.clone())
    }

    pub(crate) fn num_workers(&self) -> usize {
        match &self.inner {
            HandleInner::CurrentThread(_) => 1,
            HandleInner::MultiThread(s) => s.workers(),
        }
    }

    pub(crate) fn cleanup_failures(&self) -> u64 {
        match &self.inner {
            HandleInner::CurrentThread(s) => s.config.ring.cleanup.failures(),
            HandleInner::MultiThread(s) => s.config.ring.cleanup.failures(),
        }
    }

    pub(crate) fn num_alive_tasks(&self) -> usize {
        match &self.inner {
            HandleInner::CurrentThread(s) => s.alive.load(Ordering::Relaxed),
            HandleInner::MultiThread(s) => s.alive(),
        }
    }

    pub(crate) fn global_queue_depth(&self) -> usize {
        match &self.inner {
            HandleInner::CurrentThread(s) => s.inject_depth(),
            HandleInner::MultiThread(s) => s.inject_depth(),
        }
    }

    #[track_caller]
    pub(crate) fn with_worker_stats<R>(
        &self,
        worker: usize,
        f: impl FnOnce(&metrics::WorkerStats) -> R,
    ) -> R {
        match &self.inner {
            HandleInner::CurrentThread(s) => {
                assert!(worker == 0, "worker index {worker} out of range (1 worker)");
                f(&s.stats)
            }
            HandleInner::MultiThread(s) => f(s.worker_stats(worker)),
        }
    }

    /// Whether the runtime's blocking pool still takes work (not once it has shut down).
    pub(crate) fn blocking_pool_open(&self) -> bool {
        let pool = match &self.inner {
            HandleInner::CurrentThread(s) => &s.blocking,
            HandleInner::MultiThread(s) => &s.blocking,
        };
        !pool.is_shut_down()
    }
    /// The runtime's clock (paused or not), from any thread.
    pub(crate) fn clock_now(&self) -> std::time::Instant {
        match &self.inner {
            HandleInner::CurrentThread(s) => {
                s.clock.lock().unwrap_or_else(|e| e.into_inner()).now()
            }
            HandleInner::MultiThread(_) => std::time::Instant::now(),
        }
    }

    /// Make a parked current-thread runtime look at its queues and clock again.
    pub(crate) fn unpark(&self) {
        if let HandleInner::CurrentThread(s) = &self.inner {
            s.unpark();
        }
    }

    /// Whether this handle's runtime has begun to shut down.
    pub(crate) fn is_shut_down(&self) -> bool {
        match &self.inner {
            HandleInner::CurrentThread(s) => s.shut_down.load(Ordering::Acquire),
            HandleInner::MultiThread(s) => s.is_shut_down(),
        }
    }

    /// Register a timer in this runtime's store from any thread; the entry is marked fired
    /// when its deadline passes on the runtime's clock.
    pub(crate) fn register_timer(
        &self,
        deadline: std::time::Instant,
    ) -> Arc<crate::time::remote::RemoteTimer> {
        let timer = crate::time::remote::RemoteTimer::new(deadline);
        match &self.inner {
            HandleInner::CurrentThread(s) => s.register_remote_timer(timer.clone()),
            HandleInner::MultiThread(s) => s.insert_remote_timer(&timer),
        }
        timer
    }

    /// Give up a timer from `register_timer`.
    pub(crate) fn cancel_timer(&self, timer: &crate::time::remote::RemoteTimer) {
        if let Some(key) = timer.cancel() {
            match &self.inner {
                HandleInner::CurrentThread(s) => s.cancel_remote_timer(key),
                HandleInner::MultiThread(s) => drop(s.with_timers(|t| t.remove(key))),
            }
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("id", &self.id())
            .finish_non_exhaustive()
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

/// The index of the worker running this code: a multi-thread runtime's worker, or 0 on the
/// thread inside a current-thread runtime's `Runtime::block_on` (as in Tokio); `None`
/// elsewhere (a multi-thread runtime's `block_on` thread, the blocking pool, `Handle::block_on`).
pub fn worker_index() -> Option<usize> {
    context::worker_index()
}

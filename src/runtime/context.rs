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

use std::cell::{Cell, RefCell};
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
    /// Driving contexts open on this thread (`enter`/`enter_worker` guards alive).
    static DRIVE_DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Entered runtimes, innermost last.
    static ENTERED: RefCell<Vec<Entered>> = const { RefCell::new(Vec::new()) };
    /// `block_on` calls polling a future on this thread without driving a core
    /// (`Handle::block_on` while another thread drives a current-thread runtime).
    static BLOCK_ON_REGIONS: Cell<usize> = const { Cell::new(0) };
    /// The drive depth recorded by the top of `ENTERED` (`usize::MAX` when it is empty), so
    /// the spawn path decides with two `Cell` reads.
    static ENTERED_TOP: Cell<usize> = const { Cell::new(usize::MAX) };
}

struct Entered {
    handle: super::Handle,
    drive_depth: usize,
    serial: u64,
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

/// Whether a `block_on` here would be nested in another (Tokio forbids it).
pub(crate) fn is_inside_runtime() -> bool {
    !matches!(CURRENT.with(|c| c.get()), Current::None) || BLOCK_ON_REGIONS.with(|r| r.get()) > 0
}

/// Marks a `block_on` that polls its future without driving a core, until dropped.
pub(crate) struct BlockOnRegion(());

pub(crate) fn enter_block_on_region() -> BlockOnRegion {
    BLOCK_ON_REGIONS.with(|r| r.set(r.get() + 1));
    BlockOnRegion(())
}

impl Drop for BlockOnRegion {
    fn drop(&mut self) {
        let _ = BLOCK_ON_REGIONS.try_with(|r| r.set(r.get().saturating_sub(1)));
    }
}

/// Run `f` as if this thread drove nothing (`block_in_place`): it may `block_on` a runtime
/// and build new ones. The runtime stays *entered* (`entered`), so `f` can spawn onto it.
pub(crate) fn exit_runtime<R>(entered: Option<super::Handle>, f: impl FnOnce() -> R) -> R {
    struct Restore {
        current: Current,
        depth: usize,
        regions: usize,
    }
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = CURRENT.try_with(|c| c.set(self.current));
            let _ = DRIVE_DEPTH.try_with(|d| d.set(self.depth));
            let _ = BLOCK_ON_REGIONS.try_with(|r| r.set(self.regions));
        }
    }
    let _restore = Restore {
        current: CURRENT.with(|c| c.replace(Current::None)),
        // A fresh depth: entered handles pushed inside `f` win over nothing driven.
        depth: DRIVE_DEPTH.with(|d| d.replace(0)),
        regions: BLOCK_ON_REGIONS.with(|r| r.replace(0)),
    };
    // Handles entered before (at the outer depths) must not win inside `f` by accident: the
    // runtime we leave is entered afresh at depth 0 on top of them.
    let _entered = entered.map(enter_handle);
    f()
}

/// Tokio's `worker_index`: a worker's index, 0 for a current-thread runtime's
/// `Runtime::block_on` thread, `None` elsewhere.
pub(crate) fn worker_index() -> Option<usize> {
    with_current(|d| match d {
        Driving::Worker(w) => Some(w.index()),
        Driving::Thread(core) => {
            (core.multi_thread().is_none() && core.via_runtime.get()).then_some(0)
        }
    })
    .flatten()
}

/// Installs a core or worker as this thread's current one; restores the previous on drop.
pub(crate) struct EnterGuard {
    prev: Current,
}

/// # Safety
/// `core` must stay alive and in place until the returned guard is dropped (rule 1).
pub(crate) unsafe fn enter(core: &Core) -> EnterGuard {
    let prev = CURRENT.with(|c| c.replace(Current::Thread(core as *const Core)));
    DRIVE_DEPTH.with(|d| d.set(d.get() + 1));
    EnterGuard { prev }
}

/// # Safety
/// `worker` must stay alive and in place until the returned guard is dropped (rule 1).
pub(crate) unsafe fn enter_worker(worker: &Worker) -> EnterGuard {
    let prev = CURRENT.with(|c| c.replace(Current::Worker(worker as *const Worker)));
    DRIVE_DEPTH.with(|d| d.set(d.get() + 1));
    EnterGuard { prev }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // `try_with`: a runtime may be dropped while this thread's locals are being destroyed.
        let _ = CURRENT.try_with(|c| c.set(self.prev));
        let _ = DRIVE_DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Keeps a runtime entered on this thread (see the module doc) until dropped. Not `Send`: it
/// belongs to the thread's stack of entered runtimes.
pub(crate) struct HandleGuard {
    serial: u64,
    _not_send: std::marker::PhantomData<std::sync::MutexGuard<'static, ()>>,
}

/// Enter `handle` on this thread.
pub(crate) fn enter_handle(handle: super::Handle) -> HandleGuard {
    static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let drive_depth = DRIVE_DEPTH.with(|d| d.get());
    // `try_with`: during thread-local destruction the stack may be gone; the guard is then
    // inert (its drop finds nothing of its own on top and, unwinding or not, leaves quietly).
    let pushed = ENTERED.try_with(|e| {
        e.borrow_mut().push(Entered {
            handle,
            drive_depth,
            serial,
        })
    });
    if pushed.is_ok() {
        ENTERED_TOP.with(|t| t.set(drive_depth));
    }
    HandleGuard {
        serial,
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        let popped = ENTERED.try_with(|e| {
            let mut e = e.borrow_mut();
            if e.last().map(|t| t.serial) != Some(self.serial) {
                return Err(());
            }
            let top = e.pop();
            ENTERED_TOP.with(|t| t.set(e.last().map_or(usize::MAX, |t| t.drive_depth)));
            drop(e);
            // The handle's drop may free a runtime's shared state: outside the borrow.
            drop(top);
            Ok(())
        });
        if let Ok(Err(())) = popped {
            let gone = ENTERED.try_with(|e| !e.borrow().iter().any(|t| t.serial == self.serial));
            if gone.unwrap_or(true) {
                // Never pushed (the stack was being destroyed): nothing to undo.
                return;
            }
            // As in Tokio: a guard dropped out of order is a bug in the caller, reported unless
            // the thread is already unwinding (then the stack is left as it is).
            if !std::thread::panicking() {
                panic!(
                    "`EnterGuard` values dropped out of order. Guards returned by \
                     `tokio::runtime::Handle::enter()` must be dropped in the reverse order as \
                     they were acquired."
                );
            }
        }
    }
}

/// The innermost entered handle, when it is more recent than what this thread drives.
#[inline]
fn entered_handle() -> Option<super::Handle> {
    let top = ENTERED_TOP.try_with(|t| t.get()).unwrap_or(usize::MAX);
    if top == usize::MAX || top != DRIVE_DEPTH.with(|d| d.get()) {
        return None;
    }
    ENTERED
        .try_with(|e| e.borrow().last().map(|t| t.handle.clone()))
        .ok()
        .flatten()
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

/// [`with_timers`] when what this thread drives is the runtime `id`, in the same lookup:
/// `None` when it is not, `Some(None)` (without running `f`) when that runtime is shutting
/// down.
#[inline]
pub(crate) fn with_timers_of<R>(
    id: super::Id,
    f: impl FnOnce(&mut TimerStore) -> R,
) -> Option<Option<R>> {
    with_current(|d| match d {
        Driving::Thread(core) => {
            let (here, shut_down) = match core.multi_thread() {
                Some(mt) => (mt.config.id, mt.is_shut_down()),
                None => (core.handle().config.id, false),
            };
            (here == id).then(|| (!shut_down).then(|| f(&mut core.timers.borrow_mut())))
        }
        Driving::Worker(w) => (w.shared().config.id == id).then(|| Some(w.shared().with_timers(f))),
    })
    .flatten()
}

/// Run `f` on the timer store of what this thread drives: the core's own, or the multi-thread
/// runtime's shared one.
pub(crate) fn with_timers<R>(f: impl FnOnce(&mut TimerStore) -> R) -> Option<R> {
    with_current(|d| match d {
        Driving::Thread(core) => f(&mut core.timers.borrow_mut()),
        Driving::Worker(w) => w.shared().with_timers(f),
    })
}

/// The current runtime's clock: of the innermost entered runtime when it is more recent than
/// what this thread drives, else of what it drives (a multi-thread runtime's clock cannot be
/// paused, so a worker reads the system clock), else the system clock.
pub(crate) fn clock_now() -> std::time::Instant {
    if has_entered_handle() {
        if let Some(h) = entered_handle() {
            return h.clock_now();
        }
    }
    with_current(|d| match d {
        Driving::Thread(core) => core.timers.borrow_mut().now(),
        Driving::Worker(_) => std::time::Instant::now(),
    })
    .unwrap_or_else(std::time::Instant::now)
}

/// The current runtime's id, whether its timers count as enabled, and its clock's now, in one
/// look at the context and without cloning its handle (what a compat timer needs when it is
/// made).
#[inline]
pub(crate) fn timer_context() -> Option<(super::Id, bool, std::time::Instant)> {
    if has_entered_handle() {
        if let Some(h) = entered_handle() {
            return Some((h.id(), h.config().time_enabled, h.clock_now()));
        }
    }
    with_current(|d| match d {
        Driving::Thread(core) => {
            let now = core.timers.borrow_mut().now();
            let config = match core.multi_thread() {
                Some(mt) => &mt.config,
                None => &core.handle().config,
            };
            (config.id, config.time_enabled, now)
        }
        Driving::Worker(w) => {
            let config = &w.shared().config;
            (config.id, config.time_enabled, std::time::Instant::now())
        }
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

/// The current runtime: the innermost entered one if more recent, else the one this thread
/// drives (see the module doc).
pub(crate) fn handle() -> Option<super::Handle> {
    entered_handle().or_else(driving_handle)
}

/// Whether a `Handle::enter` guard (more recent than any driving context) decides where
/// spawns go on this thread.
#[inline]
pub(crate) fn has_entered_handle() -> bool {
    let top = ENTERED_TOP.try_with(|t| t.get()).unwrap_or(usize::MAX);
    top != usize::MAX && top == DRIVE_DEPTH.with(|d| d.get())
}

/// The handle of the runtime this thread drives.
pub(crate) fn driving_handle() -> Option<super::Handle> {
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
    match try_spawn(future, sticky) {
        Ok(join) => join,
        Err(_) => panic!("ringolo::spawn must be called from the context of a ringolo runtime"),
    }
}

/// Spawn onto the current runtime, or hand the future back when there is none.
#[inline]
pub(crate) fn try_spawn<F>(future: F, sticky: bool) -> Result<JoinHandle<F::Output>, F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if has_entered_handle() {
        if let Some(h) = entered_handle() {
            return Ok(h.spawn_inner(future, sticky));
        }
    }
    let mut future = Some(future);
    let spawned = with_current(|d| {
        let future = future.take().expect("set above");
        match d {
            Driving::Thread(core) => match core.multi_thread() {
                Some(mt) => Arc::clone(mt).spawn(future, sticky),
                None => core.spawn_local(future),
            },
            Driving::Worker(w) => w.shared().spawn(future, sticky),
        }
    });
    spawned.ok_or_else(|| future.take().expect("not taken without a runtime"))
}

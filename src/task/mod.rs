//! Tasks: one allocation per spawned future, shared by the run queue, the wakers, the
//! `JoinHandle` and the runtime's registry, and freed when the last of them lets go.
//!
//! The design follows Tokio's: a `Header` (atomic state word, vtable, id) at the start of a
//! `Cell<F, S>` that also holds the scheduler handle, the future-or-output `Stage`, and a
//! `Trailer` with the `JoinHandle`'s waker. Handles are type-erased pointers to the header;
//! the vtable brings back the types.
//!
//! # Rules
//!
//! Every `unsafe` block in this module cites one of these.
//!
//! 1. **Layout.** A task is a single `Cell<F, S>` allocation (see `alloc.rs`), `#[repr(C)]` with `Header` first, so a
//!    `NonNull<Header>` may be cast to `Cell<F, S>` by the vtable functions, which are
//!    monomorphised for exactly that `F` and `S`. The cell never moves until it is freed.
//! 2. **References.** Each `Task` (the registry's), `Notified`, `JoinHandle`, `AbortHandle` and
//!    task `Waker` owns one count in the state word. Running a `Notified` passes its count to
//!    the poller for the length of the poll; `WakerRef` borrows that count and is never dropped.
//!    Whoever takes the count to zero frees the cell, exactly once.
//! 3. **The stage.** The future (and the output while it is being stored) is touched only by the
//!    thread that holds `RUNNING`. `RUNNING` is taken by `transition_to_running` or
//!    `transition_to_shutdown` and released by `transition_to_idle` or `transition_to_complete`.
//! 4. **The scheduler field** is written once, at allocation, and read-only afterwards; the
//!    scheduler is `Send + Sync`, and every future is `Send` (but a `LocalSet`'s, rule 11),
//!    which is what makes the handles `Send`.
//! 5. **The output.** After `COMPLETE`, the output belongs to the `JoinHandle` while
//!    `JOIN_INTEREST` is set, and to the runtime (which drops it) once it is clear.
//! 6. **The join waker** in the trailer: while `JOIN_INTEREST` is set and `JOIN_WAKER` is clear,
//!    only the `JoinHandle` touches it (to store or replace it). While `JOIN_WAKER` is set, both
//!    sides may read it and neither may write. The handle sets `JOIN_WAKER` only before
//!    `COMPLETE`; after `COMPLETE` the runtime wakes it, clears `JOIN_WAKER`, and drops the
//!    waker itself if `JOIN_INTEREST` was gone by then (otherwise the handle drops it).
//! 7. **The registry key** (`Header::owner_key`) is read and written only by the scheduler that
//!    owns the task, on the thread that drives that scheduler.
//! 8. **Notification.** At most one `Notified` exists per task: it is created only by the party
//!    that sets `NOTIFIED` on an idle task, or by the poller that saw `NOTIFIED` when going
//!    idle. Only a `Notified` can be polled.
//!
//! 9. **The current task.** The thread-local `CURRENT_TASK` is non-null only while the harness
//!    polls (or drops) that task's future on this thread, holding its reference; it may be
//!    dereferenced for the header's immutable fields during that time.
//! 10. **Ring bindings.** `inflight_ops` / `ring_resources` count the live `RingBinding`s of
//!     each kind. A binding is created only for `CURRENT_TASK` (the task being polled on the
//!     thread that submits the op or creates the resource — never derived from a waker),
//!     holds one task reference (rule 2) so the header outlives it, and is released by the op
//!     or resource itself. A count only goes up while its task is being polled, so a task
//!     queued with both counts at zero stays stealable until it runs.
//! 11. **Local tasks.** A task made by `new_local_task` (a `LocalSet`'s) may hold a future that
//!     is not `Send`. Its scheduler runs its `Notified`s and shuts it down only on the set's
//!     thread, and holds the registry reference until the future is gone; every other party
//!     (wakers, `JoinHandle`, `AbortHandle`, from any thread) only touches the state word, the
//!     join waker and the output — which is `Send` whenever the `JoinHandle` is. So the future
//!     is polled and dropped on that one thread.
//! 12. **Name and tags.** `Header::meta` is written when the cell is allocated, from the slot
//!     `task::Builder::spawn` filled on the same thread for that one allocation (builder.rs),
//!     and only read afterwards (by `task::current()` under rule 9), then dropped with the
//!     cell. The slot holds either null or one pointer from `Box::into_raw`, owned by the
//!     slot: whoever replaces it with null owns the box (`take_pending`), and `spawn`
//!     empties it on every way out.
//!
//! Panics in a future's `poll` or `drop`, and in an output's `drop`, are caught in the harness;
//! no unwinding crosses a vtable function.

mod alloc;
mod builder;
mod core;
mod error;
mod harness;
mod id;
mod join;
pub(crate) mod local;
mod raw;
mod state;

#[cfg(all(test, ringolo_loom))]
mod loom_tests;

pub use self::builder::{current, Builder, TaskInfo};
pub use self::error::JoinError;
pub use self::id::Id;
pub use self::join::{AbortHandle, JoinHandle};
pub use self::local::{spawn_local, LocalEnterGuard, LocalSet, RunUntil};

pub(crate) use self::core::{Header, Schedule};
pub(crate) use self::raw::{new_local_task, new_task, Notified, Task};

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spawn a future onto the current runtime. Panics outside a runtime.
///
/// The returned `JoinHandle` yields the future's output; dropping it detaches the task.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    crate::runtime::context::spawn(future, false)
}

/// Options for [`spawn_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskOpts(u32);

impl TaskOpts {
    /// No options: the task may run on any worker whenever nothing of it lives on a ring.
    pub const NONE: TaskOpts = TaskOpts(0);
    /// Pin the task to a worker: the one it is spawned on when spawned from a worker (so it
    /// can share that worker's ring-bound resources, such as a `BufRing` handle moved into
    /// it), otherwise the one that first polls it. It is never stolen. (A current-thread
    /// runtime has one worker anyway.)
    pub const STICKY: TaskOpts = TaskOpts(1);

    /// Whether every option in `other` is set in `self`.
    pub const fn contains(self, other: TaskOpts) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for TaskOpts {
    type Output = TaskOpts;
    fn bitor(self, rhs: TaskOpts) -> TaskOpts {
        TaskOpts(self.0 | rhs.0)
    }
}

/// Spawn a future onto the current runtime with options (see [`TaskOpts`]). Panics outside a
/// runtime.
#[track_caller]
pub fn spawn_with<F>(opts: TaskOpts, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    crate::runtime::context::spawn(future, opts.contains(TaskOpts::STICKY))
}

/// Run a blocking closure on the runtime's blocking pool; await its result through the
/// returned handle. Panics outside a runtime.
///
/// Aborting the handle stops the call only if it has not started yet.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match crate::runtime::Handle::try_current() {
        Some(handle) => handle.spawn_blocking(f),
        None => panic!(
            "ringolo::task::spawn_blocking must be called from the context of a ringolo runtime"
        ),
    }
}

/// Run a blocking closure on this thread, letting the runtime's other work go on meanwhile.
///
/// On a multi-thread worker, the worker first hands the tasks it holds that may move to the
/// other workers, and while `f` runs, tasks woken or spawned on this thread go to them too.
/// Tasks bound to this worker's ring (an op in flight, a ring-bound resource) wait until `f`
/// returns: unlike Tokio, which moves the whole worker to a new thread, ringolo cannot move a
/// ring. Inside `f` the runtime is entered but not driven: `f` may spawn, and may `block_on`
/// (this runtime's `Handle` or another runtime). Outside any runtime, on the blocking pool, in
/// `Handle::block_on` and on a multi-thread runtime's `block_on` thread, `f` just runs.
///
/// # Panics
/// On a current-thread runtime's thread and inside a `LocalSet`, with Tokio's message.
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    use crate::runtime::context;
    const REFUSED: &str = "can call blocking only when running on the multi-threaded runtime";
    if local::is_running() {
        panic!("{}", REFUSED);
    }
    // A current-thread runtime's thread inside `Runtime::block_on` (not `Handle::block_on`,
    // where Tokio allows it too).
    if context::with_core(|core| core.multi_thread().is_none() && core.via_runtime.get())
        .unwrap_or(false)
    {
        panic!("{}", REFUSED);
    }
    let handle = context::handle();
    let mut f = Some(f);
    let on_worker = context::with_worker(|w| {
        let f = f.take().expect("set above");
        w.block_in_place(|| context::exit_runtime(handle.clone(), f))
    });
    match on_worker {
        Some(out) => out,
        None => {
            let f = f.take().expect("not taken");
            match handle.as_ref().map(|h| h.threads().clone()) {
                Some(threads) => context::exit_runtime(handle, move || {
                    threads.run(crate::runtime::threads::ThreadRole::BlockInPlace, f)
                }),
                None => context::exit_runtime(handle, f),
            }
        }
    }
}

/// Yield to the scheduler once: the task is re-queued behind every task that is ready.
pub async fn yield_now() {
    struct YieldNow {
        yielded: bool,
    }
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.yielded {
                return Poll::Ready(());
            }
            self.yielded = true;
            if !defer_self_wake(cx.waker()) {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }
    }
    YieldNow { yielded: false }.await
}

/// Operations a task may complete without waiting (an immediate `send`) in one poll before
/// it must go through the ring and yield, so a task writing to a fast consumer cannot keep
/// its worker from other tasks, its completions and its timers.
const IMMEDIATE_BUDGET: u32 = 64;

thread_local! {
    /// The task being polled on this thread, or null (rule 9).
    static CURRENT_TASK: Cell<*const Header> = const { Cell::new(std::ptr::null()) };
    /// What is left of the polled task's immediate-completion budget.
    static IMMEDIATE_LEFT: Cell<u32> = const { Cell::new(IMMEDIATE_BUDGET) };
    /// Set by `yield_now` when it deferred a self-wake; read and cleared by the harness.
    static SELF_YIELD: Cell<bool> = const { Cell::new(false) };
    /// The id `task::id()` reports while a task's output is dropped outside its poll (by its
    /// `JoinHandle`, on whatever thread), as Tokio does.
    static DROPPING_ID: Cell<Option<Id>> = const { Cell::new(None) };
}

/// Report `id` from `task::id()` while `f` runs (dropping that task's output or future
/// outside a poll).
pub(crate) fn with_task_id<R>(id: Id, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Id>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = DROPPING_ID.try_with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(DROPPING_ID.with(|d| d.replace(Some(id))));
    f()
}

/// Run `f` with the immediate-completion budget unlimited (`compat::task::unconstrained`),
/// restoring what was left afterwards.
pub(crate) fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = IMMEDIATE_LEFT.try_with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(IMMEDIATE_LEFT.with(|b| b.replace(u32::MAX)));
    f()
}

/// Whether the polled task has immediate-completion budget left.
pub(crate) fn has_immediate_budget() -> bool {
    IMMEDIATE_LEFT.with(|b| b.get() > 0)
}

/// Give back one unit of budget taken by `take_immediate_budget` (nothing came of it).
pub(crate) fn return_immediate_budget() {
    IMMEDIATE_LEFT.with(|b| b.set(b.get().saturating_add(1)));
}

/// `f` on the header of the task being polled on this thread, if any (rule 9).
pub(crate) fn with_current_header<R>(f: impl FnOnce(&Header) -> R) -> Option<R> {
    let current = CURRENT_TASK.with(|c| c.get());
    // SAFETY: rule 9 — a non-null CURRENT_TASK is a live task this thread is polling (or
    // dropping), whose header's immutable fields may be read meanwhile.
    let header = unsafe { current.as_ref() }?;
    Some(f(header))
}

/// What a [`RingBinding`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BindKind {
    /// An op (single, chain, batch or multishot) in flight on the worker's ring.
    Op,
    /// A resource registered with the worker's ring (buffer ring, direct descriptor).
    Resource,
}

/// Keeps the task that was being polled when it was made on its worker (rule 10): counted in
/// the task's header until dropped.
pub(crate) struct RingBinding {
    task: raw::RawTask,
    kind: BindKind,
}

impl RingBinding {
    /// Bind the task being polled on this thread, if any (rule 10).
    pub(crate) fn current(kind: BindKind) -> Option<RingBinding> {
        let current = CURRENT_TASK.with(|c| c.get());
        let ptr = std::ptr::NonNull::new(current.cast_mut())?;
        // SAFETY: rule 9 — a non-null CURRENT_TASK is a live task this thread is polling.
        let task = unsafe { raw::RawTask::from_raw(ptr) };
        // Rule 2: the binding owns a reference from here until its drop.
        task.ref_inc();
        task.header()
            .counter(kind)
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Some(RingBinding { task, kind })
    }

    /// Whether this binding counts for the task being polled on this thread.
    pub(crate) fn is_current(&self) -> bool {
        CURRENT_TASK.with(|c| std::ptr::eq(c.get(), self.task.header_ptr().as_ptr()))
    }
}

// SAFETY: rule 10 — the binding only touches its task's atomic counters and reference count.
unsafe impl Send for RingBinding {}
// SAFETY: rule 10, as above: shared access reaches only those atomics.
unsafe impl Sync for RingBinding {}

impl Drop for RingBinding {
    fn drop(&mut self) {
        let counter = self.task.header().counter(self.kind);
        counter.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        self.task.drop_reference();
    }
}

impl std::fmt::Debug for RingBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBinding")
            .field("task", &self.task.header().id())
            .field("kind", &self.kind)
            .finish()
    }
}

/// Marks a task as the one being polled on this thread until the guard drops.
pub(crate) struct CurrentTaskGuard(*const Header);

/// Spend one unit of the polled task's immediate-completion budget; `false` when it is spent
/// (then the caller submits to the ring and the task yields). Outside a task (in `block_on`'s
/// own future) the budget is refilled by every poll of that future as well.
pub(crate) fn take_immediate_budget() -> bool {
    IMMEDIATE_LEFT.with(|b| {
        let left = b.get();
        if left == 0 {
            return false;
        }
        b.set(left - 1);
        true
    })
}

/// Refill the budget: a new poll starts.
pub(crate) fn reset_immediate_budget() {
    IMMEDIATE_LEFT.with(|b| b.set(IMMEDIATE_BUDGET));
}

impl CurrentTaskGuard {
    pub(crate) fn enter(header: std::ptr::NonNull<Header>) -> CurrentTaskGuard {
        reset_immediate_budget();
        CurrentTaskGuard(CURRENT_TASK.with(|c| c.replace(header.as_ptr())))
    }
}

impl Drop for CurrentTaskGuard {
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.0));
    }
}

/// `yield_now` with the waker of the very task being polled: instead of a wake (an atomic
/// read-modify-write), note it, and let the harness re-queue the task as it leaves `RUNNING`.
/// Any other waker (a combinator's, a foreign executor's) is woken normally by the caller.
fn defer_self_wake(waker: &std::task::Waker) -> bool {
    let current = CURRENT_TASK.with(|c| c.get());
    if !current.is_null() && raw::is_task_waker(waker) && std::ptr::eq(waker.data(), current.cast())
    {
        SELF_YIELD.with(|f| f.set(true));
        return true;
    }
    false
}

/// Whether the poll that just ended deferred a self-wake; clears the note.
pub(crate) fn take_self_yield() -> bool {
    SELF_YIELD.with(|f| f.replace(false))
}

/// What keeps the task being polled on its worker: its ops in flight and the ring-bound
/// resources it holds, counted only on a multi-thread runtime (where they decide whether
/// another worker may steal it). `None` outside a task. For diagnostics and tests.
pub fn ring_bindings() -> Option<(u32, u32)> {
    let current = CURRENT_TASK.with(|c| c.get());
    // SAFETY: rule 9 — a non-null CURRENT_TASK is a task this thread is polling, whose
    // reference the harness holds for the whole poll.
    let header = (!current.is_null()).then(|| unsafe { &*current })?;
    Some((
        header
            .inflight_ops
            .load(std::sync::atomic::Ordering::Acquire),
        header
            .ring_resources
            .load(std::sync::atomic::Ordering::Acquire),
    ))
}

/// The id of the task being polled. Panics outside a task.
#[track_caller]
pub fn id() -> Id {
    try_id().expect("ringolo::task::id() called outside of a task")
}

/// The id of the task being polled, or `None` outside a task.
pub fn try_id() -> Option<Id> {
    if let Some(id) = DROPPING_ID.with(|d| d.get()) {
        return Some(id);
    }
    let current = CURRENT_TASK.with(|c| c.get());
    // SAFETY: rule 9 — a non-null CURRENT_TASK is a task this thread is polling, whose
    // reference the harness holds for the whole poll.
    (!current.is_null()).then(|| unsafe { (*current).id })
}

//! `LocalSet`: tasks whose futures are not `Send`, run on the thread that drives the set.
//!
//! A set is a registry and a run queue of local tasks (task rule 11). It runs them while it is
//! polled: through `run_until(future)`, or by awaiting the set itself, from `block_on`'s
//! future or from another local task. Wakes from any thread push onto the set's queue (a
//! mutex, uncontended in practice) and wake whoever polls the set. `spawn_local` reaches the
//! set through a thread-local that is set while the set runs, while it is entered
//! (`LocalSet::enter`), and on a `LocalRuntime`'s thread.
//!
//! # Rules
//!
//! 1. **One thread.** A `LocalSet` is `!Send`; its tasks are polled (`tick`) and shut down
//!    (`Drop`) only through it, so only on the thread that made it (task rule 11). Tasks
//!    left when it drops are shut down there, with the set current, before it lets go of them.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::{Id, JoinHandle, Notified, Schedule, Task};

type LocalNotified = Notified<Arc<LocalShared>>;
type LocalTask = Task<Arc<LocalShared>>;

/// Tasks a set runs per poll before it yields to its caller (Tokio's number).
const MAX_TASKS_PER_TICK: usize = 61;

/// A set of tasks that need not be `Send`, run on the thread that polls the set.
///
/// ```no_run
/// use std::rc::Rc;
/// let rt = ringolo::runtime::Builder::new_current_thread().build().unwrap();
/// let local = ringolo::task::LocalSet::new();
/// let n = rt.block_on(local.run_until(async {
///     let shared = Rc::new(40);
///     let s = shared.clone();
///     ringolo::task::spawn_local(async move { *s + 2 }).await.unwrap()
/// }));
/// assert_eq!(n, 42);
/// ```
pub struct LocalSet {
    context: Rc<LocalContext>,
    _not_send: PhantomData<*const ()>,
}

pub(crate) struct LocalContext {
    shared: Arc<LocalShared>,
}

/// What wakers and handles on any thread may reach.
pub(crate) struct LocalShared {
    state: Mutex<LocalState>,
    /// Whoever polls the set (`run_until`, the set as a future) waits here for local wakes.
    waker: Mutex<Option<Waker>>,
}

struct LocalState {
    queue: VecDeque<LocalNotified>,
    owned: slab::Slab<LocalTask>,
    closed: bool,
}

thread_local! {
    /// The set `spawn_local` spawns onto on this thread.
    static CURRENT: RefCell<Option<Rc<LocalContext>>> = const { RefCell::new(None) };
    /// Sets running tasks (or dropping them) on this thread: `block_in_place` is refused
    /// there, as in Tokio.
    static RUNNING: Cell<usize> = const { Cell::new(0) };
}

impl Schedule for Arc<LocalShared> {
    fn schedule(&self, task: LocalNotified) {
        let mut state = self.lock();
        if state.closed {
            drop(state);
            // The set is gone or going: the task was shut down there (rule 1); this is only a
            // reference.
            drop(task);
            return;
        }
        state.queue.push_back(task);
        drop(state);
        self.wake_poller();
    }

    fn release(&self, task: &LocalTask) -> Option<LocalTask> {
        let key = task
            .header()
            .owner_key
            .load(std::sync::atomic::Ordering::Relaxed);
        if key == usize::MAX {
            return None;
        }
        let mut state = self.lock();
        // Task rule 7: the key is ours; check it still names this task.
        if state.owned.get(key).map(|t| t.header_ptr()) != Some(task.header_ptr()) {
            return None;
        }
        task.header()
            .owner_key
            .store(usize::MAX, std::sync::atomic::Ordering::Relaxed);
        Some(state.owned.remove(key))
    }
}

impl LocalShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, LocalState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake_poller(&self) {
        let waker = self.waker.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            // The old waker is user code: dropped outside the lock.
            let old = slot.replace(waker.clone());
            drop(slot);
            drop(old);
        }
    }
}

/// Makes `context` the thread's current set until dropped; restores the previous one.
struct SetCurrent(Option<Rc<LocalContext>>);

impl SetCurrent {
    fn enter(context: &Rc<LocalContext>) -> SetCurrent {
        // `try_with`: a set may be dropped while the thread's locals are being destroyed.
        SetCurrent(
            CURRENT
                .try_with(|c| c.replace(Some(context.clone())))
                .ok()
                .flatten(),
        )
    }
}

impl Drop for SetCurrent {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

/// Counts a set running tasks on this thread (block_in_place is refused meanwhile).
struct Running(());

impl Running {
    fn enter() -> Running {
        RUNNING.with(|r| r.set(r.get() + 1));
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = RUNNING.try_with(|r| r.set(r.get().saturating_sub(1)));
    }
}

/// Whether a `LocalSet` is running tasks on this thread.
pub(crate) fn is_running() -> bool {
    RUNNING.with(|r| r.get() > 0)
}

impl LocalContext {
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // SAFETY: task rule 11 and rule 1 — the set (`!Send`, on this thread) is the only one
        // to run or shut down its tasks, and keeps their registry references until then.
        let (task, notified, join) =
            unsafe { super::new_local_task(future, self.shared.clone(), Id::next()) };
        let mut state = self.shared.lock();
        if state.closed {
            drop(state);
            drop(notified);
            task.shutdown();
            return join;
        }
        let entry = state.owned.vacant_entry();
        task.header()
            .owner_key
            .store(entry.key(), std::sync::atomic::Ordering::Relaxed);
        entry.insert(task);
        state.queue.push_back(notified);
        drop(state);
        self.shared.wake_poller();
        join
    }

    /// Run up to a tick's worth of tasks; whether more are ready.
    fn tick(self: &Rc<Self>) -> bool {
        let _current = SetCurrent::enter(self);
        let _running = Running::enter();
        for _ in 0..MAX_TASKS_PER_TICK {
            let next = self.shared.lock().queue.pop_front();
            match next {
                // Rule 1: polled here, on the set's thread.
                Some(task) => task.run(),
                None => return false,
            }
        }
        !self.shared.lock().queue.is_empty()
    }

    fn is_empty(&self) -> bool {
        self.shared.lock().owned.is_empty()
    }
}

impl LocalSet {
    /// An empty set.
    pub fn new() -> LocalSet {
        LocalSet {
            context: Rc::new(LocalContext {
                shared: Arc::new(LocalShared {
                    state: Mutex::new(LocalState {
                        queue: VecDeque::new(),
                        owned: slab::Slab::new(),
                        closed: false,
                    }),
                    waker: Mutex::new(None),
                }),
            }),
            _not_send: PhantomData,
        }
    }

    /// Spawn a task onto this set. It runs when the set is next polled (`run_until`, or the
    /// set awaited).
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.context.spawn(future)
    }

    /// Run `future` to completion on `rt` (`Runtime::block_on`) while running this set's
    /// tasks.
    ///
    /// # Panics
    /// Inside a runtime (a nested `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &crate::runtime::Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Run `future` to completion while running this set's tasks.
    pub fn run_until<F: Future>(&self, future: F) -> RunUntil<'_, F> {
        RunUntil {
            set: self,
            future,
            _pin: std::marker::PhantomPinned,
        }
    }

    /// Make this the set `spawn_local` spawns onto on this thread until the guard drops.
    pub fn enter(&self) -> LocalEnterGuard {
        LocalEnterGuard {
            _current: SetCurrent::enter(&self.context),
            _not_send: PhantomData,
        }
    }

    pub(crate) fn context(&self) -> &Rc<LocalContext> {
        &self.context
    }

    fn poll_tasks(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.context.shared.register(cx.waker());
        if self.context.tick() {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.context.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet").finish_non_exhaustive()
    }
}

/// Awaiting a set runs its tasks until all of them have finished.
impl Future for LocalSet {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_tasks(cx)
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // Rule 1: the tasks' futures are dropped here, with this set current (their drops may
        // spawn, which is refused now) and block_in_place refused.
        let _current = SetCurrent::enter(&self.context);
        let _running = Running::enter();
        loop {
            let (tasks, queued) = {
                let mut state = self.context.shared.lock();
                state.closed = true;
                let tasks: Vec<LocalTask> = state.owned.drain().collect();
                let queued: Vec<LocalNotified> = state.queue.drain(..).collect();
                (tasks, queued)
            };
            if tasks.is_empty() && queued.is_empty() {
                break;
            }
            drop(queued);
            for task in tasks {
                task.header()
                    .owner_key
                    .store(usize::MAX, std::sync::atomic::Ordering::Relaxed);
                task.shutdown();
            }
        }
        let waker = self
            .context
            .shared
            .waker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(waker);
    }
}

/// The future returned by [`LocalSet::run_until`].
#[must_use = "futures do nothing unless awaited"]
#[pin_project::pin_project]
pub struct RunUntil<'a, F> {
    set: &'a LocalSet,
    #[pin]
    future: F,
    /// `!Unpin` whatever `F` is, as Tokio's.
    #[pin]
    _pin: std::marker::PhantomPinned,
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let context = this.set.context.clone();
        context.shared.register(cx.waker());
        {
            let _current = SetCurrent::enter(&context);
            let _running = Running::enter();
            if let Poll::Ready(out) = this.future.poll(cx) {
                return Poll::Ready(out);
            }
        }
        if context.tick() {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// Keeps a set current for `spawn_local` (see [`LocalSet::enter`]).
pub struct LocalEnterGuard {
    _current: SetCurrent,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for LocalEnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEnterGuard").finish_non_exhaustive()
    }
}

/// Spawn a task that need not be `Send` onto the current `LocalSet` (or `LocalRuntime`).
///
/// # Panics
/// Outside a `LocalSet` or `LocalRuntime`, with Tokio's message.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match try_spawn_local(future) {
        Ok(join) => join,
        Err(SpawnLocalError::WrongThread) => panic!(
            "Local tasks can only be spawned on a LocalRuntime from the thread the runtime was \
             created on"
        ),
        Err(SpawnLocalError::NoLocalSet) => panic!(
            "`spawn_local` called from outside of a `task::LocalSet` or `runtime::LocalRuntime`"
        ),
    }
}

pub(crate) enum SpawnLocalError {
    NoLocalSet,
    WrongThread,
}

/// `spawn_local`, reporting why it cannot instead of panicking.
pub(crate) fn try_spawn_local<F>(future: F) -> Result<JoinHandle<F::Output>, SpawnLocalError>
where
    F: Future + 'static,
    F::Output: 'static,
{
    if let Some(context) = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten() {
        return Ok(context.spawn(future));
    }
    match crate::runtime::local::current_local_context() {
        Ok(Some(context)) => Ok(context.spawn(future)),
        Ok(None) => Err(SpawnLocalError::NoLocalSet),
        Err(()) => Err(SpawnLocalError::WrongThread),
    }
}

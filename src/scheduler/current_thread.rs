//! The current-thread scheduler: one run queue, one ring, one timer store, driven by whichever
//! thread is inside `Runtime::block_on`.
//!
//! Wakes from the driving thread push straight onto the local queue. Wakes and spawns from any
//! other thread go through the mutex-protected inject queue and, when the driving thread is
//! parked in `io_uring_enter`, write the runtime's eventfd, which a multishot poll on the ring
//! turns into a completion.
//!
//! # Rules
//!
//! 1. **The eventfd** is owned by `Shared` (closed when the last task, waker or handle lets go
//!    of it); it is a `scheduler::WakeFd` (scheduler rule 1).
//! 2. **The core** is touched only by the thread inside `block_on` (or `Runtime::drop`), through
//!    the thread-local context; other threads reach `Shared` alone.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;

use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use crate::loom::sync::Mutex;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::blocking::BlockingPool;
use crate::driver::{Deferred, Driver, DriverStats, RingConfig};
use crate::runtime::context;
use crate::runtime::{BuildError, UnhandledPanic};
use crate::task::{self, JoinHandle, Notified, Schedule, Task};
use crate::time::TimerStore;

type Notif = Notified<Arc<Shared>>;
type OwnedTask = Task<Arc<Shared>>;

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) max_blocking_threads: usize,
    pub(crate) thread_keep_alive: Duration,
    pub(crate) event_interval: u32,
    /// Tasks run between two looks at the queue fed from other threads.
    pub(crate) global_queue_interval: u32,
    pub(crate) unhandled_panic: UnhandledPanic,
    /// How long shutdown waits for in-flight ops; shared by every core and worker of one
    /// runtime, so `Runtime::shutdown_timeout` can change it on the way out.
    pub(crate) shutdown_timeout: Arc<crate::loom::sync::atomic::AtomicU64>,
    pub(crate) id: crate::runtime::Id,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) threads: Arc<crate::runtime::threads::ThreadConfig>,
    /// The ring settings, for cores made later (a concurrent `block_on`).
    pub(crate) ring: RingConfig,
    /// Tokio's `enable_time` / `enable_io`, as compat reports them.
    pub(crate) time_enabled: bool,
    pub(crate) io_enabled: bool,
    /// A `LocalRuntime`'s thread.
    pub(crate) local_owner: Option<std::thread::ThreadId>,
}

impl Config {
    /// The shutdown grace period (see `shutdown_timeout`).
    pub(crate) fn grace(&self) -> Duration {
        Duration::from_nanos(self.shutdown_timeout.load(Relaxed))
    }
}

enum Injected {
    Spawn(OwnedTask, Notif),
    Wake(Notif),
    /// A timer registered from another thread (time/remote.rs), to insert into the store.
    Timer(Arc<crate::time::remote::RemoteTimer>),
    /// Such a timer given up after it was inserted.
    CancelTimer(crate::util::genslab::Key),
}

struct Inject {
    queue: VecDeque<Injected>,
    closed: bool,
}

/// The part of the runtime every task, waker and handle can reach, from any thread.
pub(crate) struct Shared {
    inject: Mutex<Inject>,
    inject_pending: AtomicBool,
    park_state: super::queue::ParkState,
    eventfd: super::WakeFd,
    pub(crate) config: Config,
    pub(crate) blocking: BlockingPool,
    panicked: AtomicBool,
    remote_unparks: AtomicU64,
    /// Tasks spawned here and not finished.
    pub(crate) alive: crate::loom::sync::atomic::AtomicUsize,
    pub(crate) stats: crate::runtime::metrics::WorkerStats,
    /// The core while no thread drives it (context rule 1: taken for a `block_on`, put back
    /// after, also when it unwinds). Plain std: never part of a loom model.
    core_slot: std::sync::Mutex<Option<Box<Core>>>,
    /// Threads in `block_on` waiting for the core to come back, woken when it does.
    core_waiters: std::sync::Mutex<Vec<Arc<crate::runtime::park::Parker>>>,
    /// Set once the runtime began to shut down: no `block_on` waits for the core any more.
    pub(crate) shut_down: AtomicBool,
    /// The timer store's clock, for threads that entered the runtime without driving it.
    pub(crate) clock: Arc<std::sync::Mutex<crate::time::clock::Clock>>,
}

/// What the driving thread owns: queues, registry, ring and timers. Moved into the thread-local
/// context for the length of a `block_on` (context rule 1).
pub(crate) struct Core {
    shared: Arc<Shared>,
    run_queue: RefCell<VecDeque<Notif>>,
    /// Tasks that yielded (`yield_now`): queued again only after the next driver turn, so a
    /// yielding task lets the ring's completions in first (Tokio's deferred wakes).
    yielded: RefCell<Vec<Notif>>,
    owned: RefCell<slab::Slab<OwnedTask>>,
    driver: RefCell<Driver>,
    pub(crate) timers: RefCell<TimerStore>,
    polls: Cell<u64>,
    /// Reused lists for what driver calls release (`with_driver`).
    deferred: Cell<Deferred>,
    /// Set when shutdown starts: tasks spawned from then on are cancelled at once.
    closed: Cell<bool>,
    /// For the `block_on` core of a multi-thread runtime: where spawns go.
    mt: Option<Arc<crate::scheduler::multi_thread::Shared>>,
    busy: crate::runtime::metrics::BusyClock,
    /// Whether the thread driving it came through `Runtime::block_on` (then it is worker 0
    /// for `worker_index`, as in Tokio) rather than `Handle::block_on`.
    pub(crate) via_runtime: Cell<bool>,
}

impl Shared {
    fn push_remote(&self, item: Injected) {
        let mut inject = self.inject.lock().unwrap_or_else(|e| e.into_inner());
        if inject.closed {
            drop(inject);
            // The runtime is gone: a new task is cancelled, a wake is dropped.
            if let Injected::Spawn(task, notified) = item {
                drop(notified);
                task.shutdown();
            }
            return;
        }
        inject.queue.push_back(item);
        self.inject_pending.store(true, Release);
        drop(inject);
        self.unpark();
    }

    /// Make the driving thread look at its queues again. A write to the eventfd (a syscall) is
    /// needed only when it is parked in the kernel.
    pub(crate) fn unpark(&self) {
        if self.park_state.unpark() {
            self.remote_unparks.fetch_add(1, Relaxed);
            self.eventfd.signal();
        }
    }

    fn take_injected(&self) -> VecDeque<Injected> {
        let mut inject = self.inject.lock().unwrap_or_else(|e| e.into_inner());
        self.inject_pending.store(false, Relaxed);
        std::mem::take(&mut inject.queue)
    }

    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, notified, join) = task::new_task(future, self.clone(), task::Id::next());
        let mut new = Some((task, notified));
        context::with_core(|core| {
            if Arc::ptr_eq(&core.shared, self) {
                let (task, notified) = new.take().expect("set above");
                core.bind(task, notified);
            }
        });
        if let Some((task, notified)) = new {
            self.push_remote(Injected::Spawn(task, notified));
        }
        join
    }

    pub(crate) fn remote_unparks(&self) -> u64 {
        self.remote_unparks.load(Relaxed)
    }

    /// Register a timer from a thread that does not drive this runtime.
    pub(crate) fn register_remote_timer(&self, timer: Arc<crate::time::remote::RemoteTimer>) {
        self.push_remote(Injected::Timer(timer));
    }

    /// Remove a remote timer's store entry.
    pub(crate) fn cancel_remote_timer(&self, key: crate::util::genslab::Key) {
        self.push_remote(Injected::CancelTimer(key));
    }

    /// Tasks and wakes queued from other threads.
    pub(crate) fn inject_depth(&self) -> usize {
        self.inject
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .queue
            .len()
    }

    /// Hand the core back (or in for the first time) and wake threads waiting for it.
    pub(crate) fn put_core(&self, core: Box<Core>) {
        *self.core_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(core);
        let waiters =
            std::mem::take(&mut *self.core_waiters.lock().unwrap_or_else(|e| e.into_inner()));
        for w in waiters {
            w.unpark();
        }
    }

    /// The core, if no thread drives it right now.
    pub(crate) fn try_take_core(&self) -> Option<Box<Core>> {
        self.core_slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Like `try_take_core`, but only a core whose ring this thread may drive.
    pub(crate) fn try_take_bindable_core(&self) -> Option<Box<Core>> {
        let mut slot = self.core_slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.take() {
            // A ring left with work bound to another thread (SINGLE_ISSUER) cannot move here.
            Some(core) if !core.try_bind_current_thread() => {
                *slot = Some(core);
                None
            }
            other => other,
        }
    }

    /// Be woken when the core comes back.
    pub(crate) fn wait_for_core(&self, parker: &Arc<crate::runtime::park::Parker>) {
        self.core_waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(parker.clone());
    }

    /// Take the core for good (runtime shutdown), waiting while a thread drives it.
    pub(crate) fn take_core_for_shutdown(&self) -> Option<Box<Core>> {
        self.shut_down.store(true, Release);
        loop {
            if let Some(core) = self.try_take_core() {
                return Some(core);
            }
            let parker = Arc::new(crate::runtime::park::Parker::new());
            self.wait_for_core(&parker);
            if let Some(core) = self.try_take_core() {
                return Some(core);
            }
            parker.park();
        }
    }
}

impl Shared {
    /// Queue a woken task on this runtime's core when this thread drives it (`yielded`: in
    /// the list the next driver turn releases), else through the injection queue.
    fn wake_task(self: &Arc<Self>, task: Notif, yielded: bool) {
        let mut task = Some(task);
        context::with_core(|core| {
            if Arc::ptr_eq(&core.shared, self) {
                let task = task.take().expect("set above");
                if yielded {
                    core.yielded.borrow_mut().push(task);
                } else {
                    core.run_queue.borrow_mut().push_back(task);
                }
            }
        });
        if let Some(task) = task {
            self.push_remote(Injected::Wake(task));
        }
    }
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Notif) {
        self.wake_task(task, false);
    }

    fn yield_now(&self, task: Notif) {
        self.wake_task(task, true);
    }

    fn release(&self, task: &OwnedTask) -> Option<OwnedTask> {
        let key = task.header().owner_key.load(Relaxed);
        if key == usize::MAX {
            return None;
        }
        context::with_core(|core| {
            if !Arc::ptr_eq(&core.shared, self) {
                return None;
            }
            let mut owned = core.owned.borrow_mut();
            // Task rule 7: the key is ours; check it still names this task before removing.
            if owned.get(key).map(|t| t.header_ptr()) != Some(task.header_ptr()) {
                return None;
            }
            task.header().owner_key.store(usize::MAX, Relaxed);
            self.alive.fetch_sub(1, Relaxed);
            Some(owned.remove(key))
        })
        .flatten()
    }

    fn unhandled_panic(&self) {
        if self.config.unhandled_panic == UnhandledPanic::ShutdownRuntime {
            self.panicked.store(true, Release);
        }
    }
}

struct RootWaker {
    woken: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for RootWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Release);
        let on_driver =
            context::with_core(|core| Arc::ptr_eq(&core.shared, &self.shared)).unwrap_or(false);
        if !on_driver {
            self.shared.unpark();
        }
    }
}

pub(crate) fn new(
    ring: RingConfig,
    config: Config,
) -> Result<(Arc<Shared>, Box<Core>), BuildError> {
    let pool = BlockingPool::new(
        config.max_blocking_threads,
        config.thread_keep_alive,
        config.threads.clone(),
    );
    new_with_pool(ring, config, pool)
}

/// A core whose blocking pool is `blocking` (shared with a multi-thread runtime).
pub(crate) fn new_with_pool(
    ring: RingConfig,
    config: Config,
    blocking: BlockingPool,
) -> Result<(Arc<Shared>, Box<Core>), BuildError> {
    let eventfd = super::WakeFd::new("the wakeup eventfd")?;
    let driver = Driver::new(ring, eventfd.as_raw_fd())?;
    let timers = TimerStore::new();
    let shared = Arc::new(Shared {
        inject: Mutex::new(Inject {
            queue: VecDeque::new(),
            closed: false,
        }),
        inject_pending: AtomicBool::new(false),
        park_state: super::queue::ParkState::new(),
        eventfd,
        blocking,
        config,
        panicked: AtomicBool::new(false),
        remote_unparks: AtomicU64::new(0),
        alive: crate::loom::sync::atomic::AtomicUsize::new(0),
        stats: Default::default(),
        core_slot: std::sync::Mutex::new(None),
        core_waiters: std::sync::Mutex::new(Vec::new()),
        shut_down: AtomicBool::new(false),
        clock: timers.clock_mirror(),
    });
    let core = Box::new(Core {
        shared: shared.clone(),
        run_queue: RefCell::new(VecDeque::with_capacity(256)),
        yielded: RefCell::new(Vec::new()),
        owned: RefCell::new(slab::Slab::new()),
        driver: RefCell::new(driver),
        timers: RefCell::new(timers),
        polls: Cell::new(0),
        deferred: Cell::new(Deferred::default()),
        closed: Cell::new(false),
        mt: None,
        busy: crate::runtime::metrics::BusyClock::new(),
        via_runtime: Cell::new(false),
    });
    Ok((shared, core))
}

impl Core {
    pub(crate) fn handle(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Whether this thread can drive the core's ring (see `Driver::bind_to_current_thread`).
    pub(crate) fn try_bind_current_thread(&self) -> bool {
        self.driver.borrow_mut().bind_to_current_thread().is_ok()
    }

    /// The multi-thread runtime this core runs `block_on` for, if any.
    pub(crate) fn multi_thread(&self) -> Option<&Arc<crate::scheduler::multi_thread::Shared>> {
        self.mt.as_ref()
    }

    pub(crate) fn set_multi_thread(&mut self, mt: Arc<crate::scheduler::multi_thread::Shared>) {
        self.mt = Some(mt);
    }

    pub(crate) fn blocking_pool(&self) -> &BlockingPool {
        &self.shared.blocking
    }

    #[inline]
    pub(crate) fn with_driver<R>(&self, f: impl FnOnce(&mut Driver) -> R) -> R {
        crate::driver::drive(&self.driver, &self.deferred, f)
    }

    pub(crate) fn stats(&self) -> DriverStats {
        self.driver.borrow().stats()
    }

    pub(crate) fn polls(&self) -> u64 {
        self.polls.get()
    }

    /// Spawn onto this core from its own thread.
    pub(crate) fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, notified, join) = task::new_task(future, self.shared.clone(), task::Id::next());
        self.bind(task, notified);
        join
    }

    fn bind(&self, task: OwnedTask, notified: Notif) {
        if self.closed.get() {
            // Spawned while shutting down (say, from a Drop impl): cancelled at once, so its
            // JoinHandle resolves and its future is dropped inside the runtime.
            drop(notified);
            task.shutdown();
            return;
        }
        let mut owned = self.owned.borrow_mut();
        let entry = owned.vacant_entry();
        task.header().owner_key.store(entry.key(), Relaxed);
        entry.insert(task);
        drop(owned);
        self.shared.alive.fetch_add(1, Relaxed);
        self.run_queue.borrow_mut().push_back(notified);
    }

    fn drain_inject(&self) {
        for item in self.shared.take_injected() {
            match item {
                Injected::Spawn(task, notified) => self.bind(task, notified),
                Injected::Wake(notified) => self.run_queue.borrow_mut().push_back(notified),
                Injected::Timer(timer) => {
                    if !timer.is_cancelled() {
                        let waker = Waker::from(timer.clone());
                        let key = self.timers.borrow_mut().insert(timer.deadline, waker);
                        timer.inserted(key);
                    }
                }
                Injected::CancelTimer(key) => {
                    let waker = self.timers.borrow_mut().remove(key);
                    drop(waker);
                }
            }
        }
    }

    fn next_task(&self, tick: u32) -> Option<Notif> {
        if tick % self.shared.config.global_queue_interval.max(1) == 0
            && self.shared.inject_pending.load(Acquire)
        {
            // Now and then work from other threads first, so a busy local queue cannot starve it.
            self.drain_inject();
        }
        let task = self.run_queue.borrow_mut().pop_front();
        task.or_else(|| {
            if self.shared.inject_pending.load(Acquire) {
                self.drain_inject();
                self.run_queue.borrow_mut().pop_front()
            } else {
                None
            }
        })
    }

    /// Drive `future` to completion, running spawned tasks, I/O and timers meanwhile.
    pub(crate) fn block_on<F: Future>(&self, mut future: Pin<&mut F>) -> F::Output {
        if let Err(msg) = self.driver.borrow_mut().bind_to_current_thread() {
            panic!("{msg}");
        }
        let root = Arc::new(RootWaker {
            woken: AtomicBool::new(true),
            shared: self.shared.clone(),
        });
        let waker = Waker::from(root.clone());
        let mut cx = Context::from_waker(&waker);
        let interval = self.shared.config.event_interval.max(1);
        self.busy.start();
        loop {
            if root.woken.swap(false, AcqRel) {
                crate::task::reset_immediate_budget();
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    // Closes and cancellations queued by the last poll (a listener dropped at
                    // the end of the future) reach the kernel now, not at some later turn.
                    self.with_driver(|d| d.flush_pending());
                    return out;
                }
            }
            let mut ran = 0;
            while ran < interval {
                let tick = (self.polls.get() as u32).wrapping_add(ran);
                let Some(task) = self.next_task(tick) else {
                    break;
                };
                task.run();
                ran += 1;
            }
            self.polls.set(self.polls.get() + ran as u64);
            if self
                .mt
                .as_ref()
                .is_some_and(|mt| mt.worker_panicked.load(Acquire))
            {
                panic!(
                    "ringolo: the multi-thread runtime shut down (a worker thread panicked outside \
                     any task; see the message above)"
                );
            }
            let mt_panicked = self.mt.as_ref().is_some_and(|mt| mt.panicked.load(Acquire));
            if self.shared.panicked.load(Acquire) || mt_panicked {
                panic!(
                    "ringolo: a spawned task panicked and the runtime is configured to shut down on an \
                     unhandled panic (UnhandledPanic::ShutdownRuntime)"
                );
            }
            if self.shared.inject_pending.load(Acquire) {
                self.drain_inject();
            }
            self.turn(&root);
        }
    }

    /// One driver turn: submit, reap, fire timers; sleep in the kernel first when idle. A paused
    /// clock with nothing to run jumps to the next deadline instead of sleeping.
    fn turn(&self, root: &RootWaker) {
        let is_idle = || {
            self.run_queue.borrow().is_empty()
                && self.yielded.borrow().is_empty()
                && !root.woken.load(Acquire)
                && !self.shared.inject_pending.load(Acquire)
        };
        let (deadline, paused) = {
            let mut timers = self.timers.borrow_mut();
            (timers.next_deadline(), timers.is_paused())
        };
        // A paused clock jumps ahead only when nothing can make progress without it: no task
        // ready and no blocking call outstanding (its result may arrive first, as in Tokio).
        let auto_advance = paused && self.shared.blocking.is_quiet();
        if let (true, Some(deadline), true) = (auto_advance, deadline, is_idle()) {
            self.with_driver(|d| d.poll_completions());
            if is_idle() {
                self.timers.borrow_mut().advance_to(deadline);
            }
        } else {
            let timeout =
                deadline.map(|d| d.saturating_duration_since(self.timers.borrow_mut().now()));
            let mut parked = false;
            if is_idle() && timeout != Some(Duration::ZERO) {
                // The hook may spawn or wake: idleness is checked again after it.
                let threads = &self.shared.config.threads;
                threads.before_park();
                if is_idle() && self.try_park() {
                    self.shared.stats.about_to_park(&self.busy);
                    self.with_driver(|d| d.park(timeout));
                    self.shared.park_state.unparked();
                    self.shared.stats.unparked(&self.busy);
                    parked = true;
                }
                threads.after_unpark();
            }
            if !parked {
                self.with_driver(|d| d.poll_completions());
            }
        }
        if deadline.is_some() {
            let mut wakers = Vec::new();
            {
                let mut timers = self.timers.borrow_mut();
                let now = timers.now();
                timers.fire(now, &mut wakers);
            }
            wakers.into_iter().for_each(Waker::wake);
        }
        // The driver was looked at: the tasks that yielded run again, after what it woke.
        let mut yielded = self.yielded.borrow_mut();
        if !yielded.is_empty() {
            self.run_queue.borrow_mut().extend(yielded.drain(..));
        }
    }

    /// Announce that we are about to sleep; fails if a remote wake came in since the last turn.
    fn try_park(&self) -> bool {
        if !self.shared.park_state.try_park() {
            return false;
        }
        // A remote push that raced with the announcement set inject_pending before swapping the
        // state, so checking it after cannot miss it.
        if self.shared.inject_pending.load(Acquire) {
            self.shared.park_state.unparked();
            return false;
        }
        true
    }

    /// Cancel every task, then let the driver wait (bounded) for the kernel to finish with their
    /// buffers (driver rule 5).
    pub(crate) fn shutdown(&self, blocking_wait: Option<Duration>) {
        self.shared.blocking.shutdown(blocking_wait);
        self.shutdown_ring_only();
        self.shared.stats.stopped(&self.busy);
    }

    /// `shutdown` without stopping the blocking pool (for an extra `block_on` core of a
    /// multi-thread runtime, whose pool belongs to the runtime).
    pub(crate) fn shutdown_ring_only(&self) {
        self.closed.set(true);
        let injected = {
            let mut inject = self.shared.inject.lock().unwrap_or_else(|e| e.into_inner());
            inject.closed = true;
            std::mem::take(&mut inject.queue)
        };
        for item in injected {
            match item {
                Injected::Spawn(task, notified) => {
                    drop(notified);
                    task.shutdown();
                }
                Injected::Wake(notified) => drop(notified),
                Injected::Timer(_) | Injected::CancelTimer(_) => {}
            }
        }
        loop {
            let tasks: Vec<OwnedTask> = self.owned.borrow_mut().drain().collect();
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                task.header().owner_key.store(usize::MAX, Relaxed);
                self.shared.alive.fetch_sub(1, Relaxed);
                task.shutdown();
            }
        }
        loop {
            let mut queued: Vec<Notif> = self.run_queue.borrow_mut().drain(..).collect();
            queued.append(&mut self.yielded.borrow_mut());
            if queued.is_empty() {
                break;
            }
            drop(queued);
        }
        let grace = self.shared.config.grace();
        self.with_driver(|d| d.shutdown(grace));
        let timers = std::mem::replace(&mut *self.timers.borrow_mut(), TimerStore::new());
        drop(timers);
    }
}

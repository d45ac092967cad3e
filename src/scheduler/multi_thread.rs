//! The multi-thread scheduler: N workers, each with its own io_uring, run queue, LIFO slot and
//! inbox, sharing an injection queue, the task registry and the timer store.
//!
//! Where a woken task goes depends on whether it may move (task rule 10):
//!
//! | task                                   | woken on a worker of this runtime          | woken elsewhere             |
//! |----------------------------------------|--------------------------------------------|-----------------------------|
//! | stealable (nothing on any ring)        | the waking worker's LIFO slot              | injection queue             |
//! | bound, home is the waking worker       | that worker's pinned queue (never stolen)  | —                           |
//! | bound, home is another worker          | the home worker's inbox, then unpark it    | the home's inbox + unpark   |
//!
//! Only a worker's run queue and the injection queue are stolen from, so a task with an op in
//! flight or a ring-bound resource is always polled on the worker whose ring holds them.
//!
//! # Rules
//!
//! 1. **Homes.** `Header::home` is written by a worker just before it polls the task (so a task
//!    is polled on its home), and read by wakers after the state transition that makes them
//!    the notifier, which orders it after that write.
//! 2. **Queues.** A task enters a stealable queue (run queue, LIFO slot, injection queue) only
//!    when `is_stealable()` holds at that moment or it has never been polled; it stays
//!    stealable while queued (task rule 10).
//! 3. **The worker** (`Worker`) is touched only by its own thread, through the thread-local
//!    context; other threads reach `Shared` and the worker's `Remote`.
//! 4. **The eventfds** are created here, one per worker, owned by its `Remote`; each is a
//!    `scheduler::WakeFd` (scheduler rule 1).
//! 5. **Registry keys** (`Header::owner_key`) are read and written under the lock of the
//!    registry shard the task's id selects (`Shared::shard`), which never changes.
//! 6. **Shutdown** runs in phases separated by a barrier: every worker stops polling; each
//!    shuts down the tasks whose home it is (so their ops are cancelled on the right ring);
//!    then each drops what is left in its queues and shuts its ring down. A worker inside
//!    `block_in_place` polls nothing else, so it is excused from the barriers while it is
//!    there (its closure may be waiting for a task the others are about to cancel); when it
//!    comes back it runs the phases it missed on its own, for its own tasks and ring.
//! 7. **Timer sleeper.** At most one parked worker sleeps with a timeout (the timers' next
//!    deadline, recorded with it under the timers lock); the others sleep until I/O or an
//!    unpark. Any change to the store under that lock that makes the next deadline earlier
//!    than the recorded one unparks the sleeper. A worker that wakes gives the role up and
//!    fires due timers whenever it looks at its ring (every `event_interval` polls and before
//!    it parks), so a timer is late only while that worker is inside one long poll — the
//!    same exposure Tokio's timer driver has.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use crate::loom::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering::*};
use crate::loom::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::current_thread::Config;
use super::queue::{Idle, ParkState, RunQueue};
use crate::blocking::BlockingPool;
use crate::driver::{Deferred, Driver, DriverStats, RingConfig};
use crate::runtime::context;
use crate::runtime::{BuildError, UnhandledPanic};
use crate::task::{self, Header, JoinHandle, Notified, Schedule, Task};
use crate::time::TimerStore;

type Notif = Notified<Arc<Shared>>;
type OwnedTask = Task<Arc<Shared>>;

/// How many times in a row the LIFO slot may be preferred before the run queue gets a turn.
const MAX_LIFO_RUNS: u32 = 3;

/// Most tasks a worker moves from the injection queue to its run queue at once.
const MAX_INJECT_BATCH: usize = 64;

/// One shard of the task registry; a task lives in the shard its id selects, so spawns and
/// completions on different workers rarely meet on one lock.
struct Owned {
    tasks: slab::Slab<OwnedTask>,
    closed: bool,
}

const OWNED_SHARDS: usize = 64;

/// One shard of the task registry, alone on its cache lines: a spawn on one worker and a
/// release on another, in neighbouring shards, do not contend for one line.
#[repr(align(128))]
struct Shard(Mutex<Owned>);

impl std::ops::Deref for Shard {
    type Target = Mutex<Owned>;
    fn deref(&self) -> &Mutex<Owned> {
        &self.0
    }
}

/// The workers' timer store, and which worker sleeps with its next deadline as timeout. Only
/// one does, so a timer wakes one worker rather than all of them; a timer added with an
/// earlier deadline unparks that worker so it sleeps again with the new one (rule 7).
struct SharedTimers {
    store: TimerStore,
    sleeper: Option<(usize, Instant)>,
}

/// What other threads may touch of one worker.
pub(crate) struct Remote {
    /// Stealable tasks (rule 2).
    pub(crate) queue: RunQueue<Notif>,
    /// Tasks bound to this worker, woken on another thread.
    inbox: RunQueue<Notif>,
    park: ParkState,
    /// Set when the worker starts (a spare slot's on its first activation, spare.rs).
    pub(crate) eventfd: std::sync::OnceLock<super::WakeFd>,
    /// Whether a worker runs this slot (always, for the regular workers; spare rule 8).
    pub(crate) active: std::sync::atomic::AtomicBool,
    polls: AtomicU64,
    driver_stats: Mutex<DriverStats>,
    stats: crate::runtime::metrics::WorkerStats,
}

/// The part of the runtime every task, waker and handle can reach.
pub(crate) struct Shared {
    /// The regular workers' slots, then the spare slots (spare.rs).
    pub(crate) remotes: Box<[Remote]>,
    /// How many of `remotes` are regular workers.
    regular: usize,
    pub(crate) inject: RunQueue<Notif>,
    pub(crate) idle: Idle,
    owned: Box<[Shard]>,
    timers: Mutex<SharedTimers>,
    pub(crate) config: Config,
    pub(crate) blocking: BlockingPool,
    pub(crate) panicked: AtomicBool,
    pub(crate) shutdown: AtomicBool,
    /// A worker panicked outside any task and shut the runtime down.
    pub(crate) worker_panicked: AtomicBool,
    pub(crate) phases: ShutdownPhases,
    /// Workers (regular and spare) inside `block_in_place`, and workers running.
    pub(crate) blocked: std::sync::atomic::AtomicUsize,
    pub(crate) running: std::sync::atomic::AtomicUsize,
    /// One past the highest slot ever activated: what stealing looks at.
    pub(crate) slots_in_use: std::sync::atomic::AtomicUsize,
    pub(crate) spare_threads: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
    unparks: AtomicU64,
    steals: AtomicU64,
    /// The `block_on` core, woken when a task panics under `UnhandledPanic::ShutdownRuntime`.
    block_on: OnceLock<Arc<super::current_thread::Shared>>,
    /// Set by the builder once every worker thread exists: `true` to run, `false` to leave.
    start: Mutex<Option<bool>>,
    started: Condvar,
}

/// Counters of a multi-thread runtime.
#[derive(Clone, Debug, Default)]
pub struct WorkerMetrics {
    /// Tasks polled by each worker (updated whenever a worker looks at its ring).
    pub polls: Vec<u64>,
    /// Times a parked worker had to be woken through its eventfd.
    pub unparks: u64,
    /// Successful steals (each moves up to half a victim's queue).
    pub steals: u64,
}

/// One worker's own state, driven by its thread (rule 3).
pub(crate) struct Worker {
    shared: Arc<Shared>,
    index: usize,
    lifo: Cell<Option<Notif>>,
    lifo_runs: Cell<u32>,
    /// Bound tasks woken on this thread: run here, never stolen.
    pinned: RefCell<VecDeque<Notif>>,
    /// Tasks bound here that yielded (`yield_now`): queued again only after this worker next
    /// looks at its ring (`maintenance`), so a yield lets their completions in first (Tokio's
    /// deferred wakes). A free task that yields goes to the stealable queue at once, and
    /// `ring_due` makes this worker look at its ring before it takes its next task, so that
    /// whatever the yield waited for (a readiness poll's completion) is in when it runs again.
    yielded: RefCell<Vec<Notif>>,
    /// A task yielded since this worker last looked at its ring.
    ring_due: Cell<bool>,
    driver: RefCell<Driver>,
    deferred: Cell<Deferred>,
    searching: Cell<bool>,
    tick: Cell<u32>,
    polls: Cell<u64>,
    /// A spare worker (spare.rs): it retires when no longer needed.
    spare: bool,
    busy: crate::runtime::metrics::BusyClock,
    /// Inside `block_in_place`: wakes and spawns on this thread go where other workers see
    /// them, since this one will not look at its own queues until the closure returns.
    in_blocking: Cell<bool>,
}

pub(crate) fn new(
    workers: usize,
    ring: RingConfig,
    config: Config,
    blocking: BlockingPool,
) -> Result<(Arc<Shared>, Vec<Worker>), BuildError> {
    let workers = workers.max(1);
    let spares = SPARE_SLOTS.min(config.max_blocking_threads.max(1));
    let mut remotes = Vec::with_capacity(workers + spares);
    let mut drivers = Vec::with_capacity(workers);
    for i in 0..workers + spares {
        let eventfd = std::sync::OnceLock::new();
        if i < workers {
            let fd = super::WakeFd::new("a worker's wakeup eventfd")?;
            let mut driver = Driver::new(ring.clone(), fd.as_raw_fd())?;
            driver.multi_thread = true;
            drivers.push(driver);
            let _ = eventfd.set(fd);
        }
        remotes.push(Remote {
            queue: RunQueue::new(),
            inbox: RunQueue::new(),
            park: ParkState::new(),
            eventfd,
            active: std::sync::atomic::AtomicBool::new(i < workers),
            polls: AtomicU64::new(0),
            driver_stats: Mutex::new(DriverStats::default()),
            stats: Default::default(),
        });
    }
    let shared = Arc::new(Shared {
        remotes: remotes.into_boxed_slice(),
        regular: workers,
        inject: RunQueue::new(),
        idle: Idle::new(),
        owned: (0..OWNED_SHARDS)
            .map(|_| {
                Shard(Mutex::new(Owned {
                    tasks: slab::Slab::new(),
                    closed: false,
                }))
            })
            .collect(),
        timers: Mutex::new(SharedTimers {
            store: TimerStore::new(),
            sleeper: None,
        }),
        config,
        blocking,
        panicked: AtomicBool::new(false),
        shutdown: AtomicBool::new(false),
        worker_panicked: AtomicBool::new(false),
        phases: ShutdownPhases::new(workers),
        blocked: std::sync::atomic::AtomicUsize::new(0),
        running: std::sync::atomic::AtomicUsize::new(workers),
        slots_in_use: std::sync::atomic::AtomicUsize::new(workers),
        spare_threads: std::sync::Mutex::new(Vec::new()),
        unparks: AtomicU64::new(0),
        steals: AtomicU64::new(0),
        block_on: OnceLock::new(),
        start: Mutex::new(None),
        started: Condvar::new(),
    });
    let workers = drivers
        .into_iter()
        .enumerate()
        .map(|(index, driver)| Worker::new(shared.clone(), index, driver, false))
        .collect();
    Ok((shared, workers))
}

/// Spare slots after the regular workers (spare.rs), at most `max_blocking_threads`.
const SPARE_SLOTS: usize = 64;

impl Worker {
    pub(crate) fn new(shared: Arc<Shared>, index: usize, driver: Driver, spare: bool) -> Worker {
        Worker {
            shared,
            index,
            lifo: Cell::new(None),
            lifo_runs: Cell::new(0),
            yielded: RefCell::new(Vec::new()),
            ring_due: Cell::new(false),
            pinned: RefCell::new(VecDeque::new()),
            driver: RefCell::new(driver),
            deferred: Cell::new(Deferred::default()),
            searching: Cell::new(false),
            tick: Cell::new(0),
            polls: Cell::new(0),
            spare,
            busy: crate::runtime::metrics::BusyClock::new(),
            in_blocking: Cell::new(false),
        }
    }

    pub(crate) fn is_spare(&self) -> bool {
        self.spare
    }

    /// Leave the searching state, if in it.
    pub(crate) fn stop_searching(&self) {
        if self.searching.replace(false) {
            self.shared.idle.stop_searching();
        }
    }
}

impl Shared {
    /// Run `f` on the shared timer store (context's `with_timers` on a worker). If it moved
    /// the next deadline before the one the timer sleeper sleeps until, unpark it (rule 7).
    pub(crate) fn with_timers<R>(&self, f: impl FnOnce(&mut TimerStore) -> R) -> R {
        let mut t = self.timers.lock().unwrap_or_else(|e| e.into_inner());
        let out = f(&mut t.store);
        let mut wake = None;
        if let Some((worker, until)) = t.sleeper {
            if t.store.next_deadline().is_some_and(|next| next < until) {
                // Recorded as the new deadline so the same change does not unpark it twice.
                t.sleeper = None;
                wake = Some(worker);
            }
        }
        drop(t);
        if let Some(w) = wake {
            self.unpark(w);
        }
        out
    }

    /// Insert a timer from a thread that is not a worker. With no worker sleeping on a
    /// deadline (none had a timer when it parked), one is woken to take the role (rule 7).
    pub(crate) fn insert_remote_timer(&self, timer: &Arc<crate::time::remote::RemoteTimer>) {
        let waker = std::task::Waker::from(timer.clone());
        let (key, no_sleeper) = {
            let mut t = self.timers.lock().unwrap_or_else(|e| e.into_inner());
            (t.store.insert(timer.deadline, waker), t.sleeper.is_none())
        };
        timer.inserted(key);
        // An earlier deadline than the sleeper's wakes it through `with_timers`' check.
        self.with_timers(|_| ());
        if no_sleeper {
            self.notify_parked();
        }
    }

    /// Let the workers run (`true`) or leave without running (`false`, when not every worker
    /// thread could be started — the shutdown barrier counts all of them).
    pub(crate) fn start(&self, go: bool) {
        *self.start.lock().unwrap_or_else(|e| e.into_inner()) = Some(go);
        self.started.notify_all();
    }

    fn wait_for_start(&self) -> bool {
        let mut go = self.start.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(go) = *go {
                return go;
            }
            go = self.started.wait(go).unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(crate) fn set_block_on(&self, core: Arc<super::current_thread::Shared>) {
        let _ = self.block_on.set(core);
    }

    /// The state of the runtime's own `block_on` core.
    pub(crate) fn block_on_core(&self) -> Option<Arc<super::current_thread::Shared>> {
        self.block_on.get().cloned()
    }

    /// Tasks spawned and not yet released: the registry's size, summed over its shards when
    /// asked (metrics), so that spawns and releases on different workers share no counter.
    pub(crate) fn alive(&self) -> usize {
        self.owned
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(|e| e.into_inner()).tasks.len())
            .sum()
    }

    pub(crate) fn inject_depth(&self) -> usize {
        self.inject.len()
    }

    #[track_caller]
    pub(crate) fn worker_stats(&self, worker: usize) -> &crate::runtime::metrics::WorkerStats {
        &self.remotes[worker].stats
    }

    /// The registry shard of a task (rule 5).
    fn shard(&self, header: &Header) -> MutexGuard<'_, Owned> {
        let i = header.id().as_u64() as usize % OWNED_SHARDS;
        self.owned[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Regular worker threads (spares come and go, spare.rs).
    pub(crate) fn workers(&self) -> usize {
        self.regular
    }

    /// Spawn from any thread. `sticky` pins the task to the worker that first polls it.
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F, sticky: bool) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, notified, join) = task::new_task(future, self.clone(), task::Id::next());
        if sticky {
            task.header().sticky.store(true, Relaxed);
        }
        let mut owned = self.shard(task.header());
        if owned.closed {
            drop(owned);
            // Spawned while shutting down: cancelled at once, so its JoinHandle resolves.
            drop(notified);
            task.shutdown();
            return join;
        }
        let entry = owned.tasks.vacant_entry();
        // Rule 5: under the lock.
        task.header().owner_key.store(entry.key(), Relaxed);
        entry.insert(task);
        drop(owned);
        let mut notified = Some(notified);
        context::with_worker(|w| {
            if Arc::ptr_eq(&w.shared, self) && !w.in_blocking.get() {
                let n = notified.take().expect("set above");
                if sticky {
                    // A sticky task spawned on a worker stays on that worker (rule 1: its home
                    // is set before anyone can poll it).
                    n.header().home.store(w.index as u32, Relaxed);
                    w.pinned.borrow_mut().push_back(n);
                } else {
                    // As a wake is (Tokio's spawn does the same): into the LIFO slot, so a
                    // task that spawns one and waits for it runs it next, here; what it
                    // displaces goes to the stealable queue, and only then is a sleeping
                    // worker woken.
                    w.schedule_local(n, false);
                }
            }
        });
        if let Some(n) = notified {
            self.inject.push_back(n);
            self.notify_parked();
        }
        join
    }

    /// New stealable work exists: wake one sleeping worker unless one is already searching.
    pub(crate) fn notify_parked(&self) {
        if let Some(w) = self.idle.worker_to_notify() {
            self.unpark(w);
        }
    }

    pub(crate) fn unpark(&self, worker: usize) {
        let remote = &self.remotes[worker];
        if remote.park.unpark() {
            self.unparks.fetch_add(1, Relaxed);
            if let Some(fd) = remote.eventfd.get() {
                fd.signal();
            }
        }
    }

    fn push_to_home(&self, home: usize, task: Notif) {
        self.remotes[home].inbox.push_back(task);
        self.unpark(home);
    }

    /// A wake that did not happen on one of this runtime's workers.
    fn schedule_remote(&self, task: Notif) {
        if self.shutdown.load(Acquire) {
            // Shutting down (rule 6): every task is being or has been cancelled, and a queued
            // notification would keep the task, and through it this struct, alive for ever.
            drop(task);
            return;
        }
        match bound_home(task.header()) {
            Some(home) => self.push_to_home(home, task),
            None => {
                self.inject.push_back(task);
                self.notify_parked();
            }
        }
    }

    fn has_stealable_work(&self) -> bool {
        !self.inject.is_empty() || self.remotes.iter().any(|r| !r.queue.is_empty())
    }

    pub(crate) fn metrics(&self) -> WorkerMetrics {
        WorkerMetrics {
            polls: self.remotes[..self.regular]
                .iter()
                .map(|r| r.polls.load(Relaxed))
                .collect(),
            unparks: self.unparks.load(Relaxed),
            steals: self.steals.load(Relaxed),
        }
    }

    /// Every worker's driver counters (spares' included), as of their last look at their rings.
    pub(crate) fn driver_stats(&self) -> Vec<DriverStats> {
        self.remotes
            .iter()
            .map(|r| *r.driver_stats.lock().unwrap_or_else(|e| e.into_inner()))
            .collect()
    }

    /// Whether shutdown has begun (only a worker panic begins it while `block_on` can run).
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.load(Acquire)
    }

    /// Begin shutdown: workers stop polling tasks and leave their loops (rule 6).
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, SeqCst);
        for i in 0..self.remotes.len() {
            self.unpark(i);
        }
    }

    /// After the workers have exited: drop what is still queued (late wakes).
    pub(crate) fn drain_after_shutdown(&self) {
        loop {
            let mut left = self.inject.drain();
            for r in self.remotes.iter() {
                left.extend(r.queue.drain());
                left.extend(r.inbox.drain());
            }
            if left.is_empty() {
                break;
            }
            drop(left);
        }
        let tasks: Vec<OwnedTask> = {
            let mut all = Vec::new();
            for shard in self.owned.iter() {
                let mut owned = shard.lock().unwrap_or_else(|e| e.into_inner());
                owned.closed = true;
                all.extend(owned.tasks.drain());
            }
            all
        };
        for t in tasks {
            t.header().owner_key.store(usize::MAX, Relaxed);
            t.shutdown();
        }
    }
}

/// Shutdown's barriers (rule 6), with workers inside `block_in_place` excused: a barrier opens
/// when every worker has arrived or is excused, and stays open for latecomers.
pub(crate) struct ShutdownPhases {
    state: Mutex<PhaseState>,
    changed: Condvar,
}

struct PhaseState {
    arrived: [usize; 2],
    open: [bool; 2],
    excused: usize,
    /// Workers taking part: the regular ones, plus spares while they run (spare rule 9).
    workers: usize,
}

/// Keeps a worker excused until dropped.
struct Excused<'a>(&'a ShutdownPhases);

impl ShutdownPhases {
    fn new(workers: usize) -> ShutdownPhases {
        ShutdownPhases {
            state: Mutex::new(PhaseState {
                arrived: [0; 2],
                open: [false; 2],
                excused: 0,
                workers,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PhaseState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open_if_complete(&self, s: &mut PhaseState) {
        for phase in 0..2 {
            if !s.open[phase] && s.arrived[phase] + s.excused >= s.workers {
                s.open[phase] = true;
                self.changed.notify_all();
            }
        }
    }

    /// A spare starts: take part, unless shutdown's phases have begun (spare rule 9).
    pub(crate) fn join(&self) -> bool {
        let mut s = self.lock();
        if s.arrived[0] > 0 {
            return false;
        }
        s.workers += 1;
        true
    }

    /// A spare retires.
    pub(crate) fn leave(&self) {
        let mut s = self.lock();
        s.workers -= 1;
        self.open_if_complete(&mut s);
    }

    fn excuse(&self) -> Excused<'_> {
        let mut s = self.lock();
        s.excused += 1;
        self.open_if_complete(&mut s);
        Excused(self)
    }

    /// Wait at barrier `phase` until it opens.
    fn wait(&self, phase: usize) {
        let mut s = self.lock();
        s.arrived[phase] += 1;
        self.open_if_complete(&mut s);
        while !s.open[phase] {
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for Excused<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.excused -= 1;
    }
}

/// The worker a woken task must run on, or `None` when any worker may run it (rule 2).
fn bound_home(header: &Header) -> Option<usize> {
    let home = header.home.load(Relaxed);
    if home == u32::MAX || header.is_stealable() {
        None
    } else {
        Some(home as usize)
    }
}

/// A wake (or a yield) of one of this runtime's tasks, from any thread.
fn schedule(shared: &Arc<Shared>, task: Notif, is_yield: bool) {
    let mut task = Some(task);
    context::with_worker(|w| {
        if Arc::ptr_eq(&w.shared, shared) {
            w.schedule_local(task.take().expect("set above"), is_yield);
        }
    });
    if let Some(task) = task {
        // Our own handle on the shared state: once the task is queued it may run, finish and
        // be freed on another thread, and with it the `Arc` that `shared` borrows from.
        let shared = Arc::clone(shared);
        shared.schedule_remote(task);
    }
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Notif) {
        schedule(self, task, false);
    }

    fn yield_now(&self, task: Notif) {
        schedule(self, task, true);
    }

    fn release(&self, task: &OwnedTask) -> Option<OwnedTask> {
        let key = task.header().owner_key.load(Relaxed);
        if key == usize::MAX {
            return None;
        }
        let mut owned = self.shard(task.header());
        // Rule 5: the key is read again under the lock and must still name this task.
        if owned.tasks.get(key).map(|t| t.header_ptr()) != Some(task.header_ptr()) {
            return None;
        }
        task.header().owner_key.store(usize::MAX, Relaxed);
        Some(owned.tasks.remove(key))
    }

    fn unhandled_panic(&self) {
        if self.config.unhandled_panic == UnhandledPanic::ShutdownRuntime {
            self.panicked.store(true, Release);
            if let Some(core) = self.block_on.get() {
                core.unpark();
            }
        }
    }
}

impl Worker {
    pub(crate) fn remote(&self) -> &Remote {
        &self.shared.remotes[self.index]
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn index(&self) -> usize {
        self.index
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

    /// A wake on this worker's thread (rule 2 decides where the task goes).
    fn schedule_local(&self, task: Notif, is_yield: bool) {
        if self.shared.shutdown.load(Acquire) {
            // As in `schedule_remote`.
            drop(task);
            return;
        }
        match bound_home(task.header()) {
            // A task bound here by ops in flight waits for them: it runs again only after the
            // ring was looked at (Tokio's deferred wake).
            Some(home) if is_yield && home == self.index && !self.in_blocking.get() => {
                self.yielded.borrow_mut().push(task)
            }
            Some(home) if home == self.index => self.pinned.borrow_mut().push_back(task),
            Some(home) => self.shared.push_to_home(home, task),
            None if self.in_blocking.get() => {
                // Inside block_in_place: where the other workers look.
                self.shared.inject.push_back(task);
                self.shared.notify_parked();
            }
            None if is_yield => {
                // Nothing of it waits on this ring: runnable work another worker may take.
                self.ring_due.set(true);
                self.remote().queue.push_back(task);
                self.shared.notify_parked();
            }
            None => {
                if let Some(prev) = self.lifo.replace(Some(task)) {
                    self.remote().queue.push_back(prev);
                    self.shared.notify_parked();
                }
            }
        }
    }

    /// `block_in_place` on this worker: what may move goes to the other workers, `f` runs,
    /// and meanwhile wakes and spawns on this thread go to the injection queue.
    pub(crate) fn block_in_place<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Unblock<'a>(&'a Worker);
        impl Drop for Unblock<'_> {
            fn drop(&mut self) {
                self.0.in_blocking.set(false);
            }
        }
        struct Unblocked<'a>(&'a Arc<Shared>);
        impl Drop for Unblocked<'_> {
            fn drop(&mut self) {
                self.0.blocked.fetch_sub(1, SeqCst);
                // Spares may not be needed any more (spare.rs).
                self.0.wake_spares();
            }
        }
        let was = self.in_blocking.replace(true);
        let _unblock = (!was).then_some(Unblock(self));
        // Excused from the shutdown barriers meanwhile (rule 6).
        let _excused = (!was).then(|| self.shared.phases.excuse());
        let _unblocked = (!was).then(|| {
            self.shared.blocked.fetch_add(1, SeqCst);
            Unblocked(&self.shared)
        });
        if let Some(t) = self.lifo.take() {
            self.remote().queue.push_back(t);
        }
        self.requeue_yielded();
        // Queued ops reach the kernel now, not after `f`.
        self.with_driver(|d| d.flush_pending());
        // Tokio moves the worker to another thread; a ring cannot move, so a spare worker
        // takes over when every worker is blocked (spare.rs).
        if !was {
            self.shared.start_spare_if_all_blocked();
        }
        if !self.remote().queue.is_empty() || !self.shared.inject.is_empty() {
            // Some worker must come and take them.
            self.shared.notify_parked();
            if let Some(w) = self.shared.idle.worker_to_notify() {
                self.shared.unpark(w);
            }
        }
        self.shared
            .config
            .threads
            .run(crate::runtime::threads::ThreadRole::BlockInPlace, f)
    }

    fn next_task(&self) -> Option<Notif> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        let remote = self.remote();
        if self.ring_due.replace(false) {
            // Tokio's deferred wake: a yield lets the ring's completions in first.
            self.with_driver(|d| d.poll_completions());
            self.requeue_yielded();
        }
        if tick % self.shared.config.event_interval.max(1) == 0 {
            self.maintenance();
            // Fairness: work from elsewhere first, now and then.
            if let Some(t) = remote.inbox.pop_front() {
                return Some(t);
            }
        }
        if tick % self.shared.config.global_queue_interval.max(1) == 0 {
            if let Some(t) = self.take_injected() {
                return Some(t);
            }
        }
        if self.lifo_runs.get() < MAX_LIFO_RUNS {
            if let Some(t) = self.lifo.take() {
                self.lifo_runs.set(self.lifo_runs.get() + 1);
                return Some(t);
            }
        } else if let Some(t) = self.lifo.take() {
            remote.queue.push_back(t);
        }
        self.lifo_runs.set(0);
        let pinned = || self.pinned.borrow_mut().pop_front();
        let local = || remote.queue.pop_front();
        let mine = if tick & 1 == 0 {
            pinned().or_else(local)
        } else {
            local().or_else(pinned)
        };
        mine.or_else(|| remote.inbox.pop_front())
            .or_else(|| self.take_injected())
    }

    /// Look at the ring and the timers without sleeping; then the tasks that yielded are
    /// runnable again.
    fn maintenance(&self) {
        self.with_driver(|d| d.poll_completions());
        self.fire_timers();
        self.requeue_yielded();
        self.publish_counters();
    }

    /// The bound tasks that yielded, back in the pinned queue behind what is there (one
    /// whose ops finished meanwhile is free again: it goes where other workers may steal it).
    fn requeue_yielded(&self) {
        let mut yielded = self.yielded.borrow_mut();
        if yielded.is_empty() {
            return;
        }
        let mut shared_work = false;
        for task in yielded.drain(..) {
            if bound_home(task.header()).is_some() {
                self.pinned.borrow_mut().push_back(task);
            } else {
                self.remote().queue.push_back(task);
                shared_work = true;
            }
        }
        drop(yielded);
        if shared_work {
            self.shared.notify_parked();
        }
    }

    pub(crate) fn publish_counters(&self) {
        let remote = self.remote();
        remote.polls.store(self.polls.get(), Relaxed);
        *remote
            .driver_stats
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = self.stats();
    }

    /// Fire what is due; the time until the next deadline.
    fn fire_timers(&self) -> Option<Duration> {
        self.fire_timers_and_claim(false)
    }

    /// Fire what is due. With `claim`, about to sleep: become the timer sleeper if there is
    /// a deadline and no one else is (returning the timeout to sleep with), or return `None`
    /// (sleep without a timeout) when another worker already is (rule 7).
    fn fire_timers_and_claim(&self, claim: bool) -> Option<Duration> {
        let mut wakers = Vec::new();
        let next = {
            let mut t = self.shared.timers.lock().unwrap_or_else(|e| e.into_inner());
            let now = t.store.now();
            t.store.fire(now, &mut wakers);
            let next = t.store.next_deadline();
            match (claim, t.sleeper, next) {
                (false, _, next) => next.map(|d| d.saturating_duration_since(now)),
                (true, Some((other, _)), _) if other != self.index => None,
                (true, _, Some(deadline)) => {
                    t.sleeper = Some((self.index, deadline));
                    Some(deadline.saturating_duration_since(now))
                }
                (true, _, None) => {
                    t.sleeper = None;
                    None
                }
            }
        };
        wakers.into_iter().for_each(std::task::Waker::wake);
        next
    }

    /// Back from sleep: give up the timer-sleeper role (rule 7).
    pub(crate) fn release_timer_role(&self) {
        let mut t = self.shared.timers.lock().unwrap_or_else(|e| e.into_inner());
        if t.sleeper.is_some_and(|(w, _)| w == self.index) {
            t.sleeper = None;
        }
    }

    /// Steal half of another worker's queue, or take from the injection queue.
    fn search(&self) -> Option<Notif> {
        if !self.searching.get() {
            if !self.shared.idle.try_start_searching(self.shared.workers()) {
                return None;
            }
            self.searching.set(true);
        }
        let n = self.shared.slots_in_use.load(Relaxed);
        let me = self.remote();
        let start = (self.tick.get() as usize) % n.max(1);
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            if let Some(t) = self.shared.remotes[victim]
                .queue
                .steal_half_into(&me.queue, usize::MAX)
            {
                self.shared.steals.fetch_add(1, Relaxed);
                return Some(t);
            }
        }
        self.take_injected()
    }

    /// Take a share of the injection queue: one task to run, a batch more into the run
    /// queue, so remote spawns cost one lock per batch.
    fn take_injected(&self) -> Option<Notif> {
        let share = self.shared.inject.len() / self.shared.workers().max(1);
        self.shared
            .inject
            .steal_half_into(&self.remote().queue, share.clamp(1, MAX_INJECT_BATCH))
    }

    fn run_task(&self, task: Notif) {
        if self.searching.replace(false) && self.shared.idle.stop_searching() && {
            // Order the count's decrement before the queue reads (queue rule 3).
            fence(SeqCst);
            self.shared.has_stealable_work()
        } {
            // The last searcher found work and more is waiting: let a sleeper look.
            self.shared.notify_parked();
        }
        // Rule 1: the home is set before the poll.
        task.header().home.store(self.index as u32, Relaxed);
        task.run();
        self.polls.set(self.polls.get() + 1);
    }

    pub(crate) fn has_local_work(&self) -> bool {
        // `lifo` is a Cell: take and put back to peek.
        let lifo = self.lifo.take();
        let has = lifo.is_some();
        self.lifo.set(lifo);
        has || !self.pinned.borrow().is_empty()
            || !self.yielded.borrow().is_empty()
            || !self.remote().queue.is_empty()
            || !self.remote().inbox.is_empty()
    }

    /// Nothing to run: look at the ring, then sleep in it until an I/O completion, a timer, or
    /// an unpark (queue rules 3 and 4).
    /// Sleep until woken. The run loop has just looked at the ring and the timers
    /// (`maintenance`); the driver's park does not sleep past completions that came since, and
    /// the timers are fired again below before sleeping.
    fn park(&self) {
        if self.has_local_work() {
            return;
        }
        let idle = &self.shared.idle;
        if self.searching.replace(false) {
            idle.stop_searching();
        }
        idle.sleep(self.index);
        let remote = self.remote();
        if !self.shared.has_stealable_work()
            && remote.inbox.is_empty()
            && !self.shared.shutdown.load(SeqCst)
            && remote.park.try_park()
        {
            // Firing the due timers may wake tasks onto this worker (its LIFO slot or pinned
            // queue, where no one else looks): then it must not sleep.
            let timeout = self.fire_timers_and_claim(true);
            let threads = &self.shared.config.threads;
            if timeout != Some(Duration::ZERO) {
                // The hook may spawn or wake: the checks below come after it.
                threads.before_park();
            }
            if remote.inbox.is_empty()
                && !self.shared.shutdown.load(SeqCst)
                && !self.has_local_work()
                && !self.shared.has_stealable_work()
                && timeout != Some(Duration::ZERO)
            {
                remote.stats.about_to_park(&self.busy);
                self.with_driver(|d| d.park(timeout));
                remote.stats.unparked(&self.busy);
            }
            if timeout != Some(Duration::ZERO) {
                threads.after_unpark();
            }
            self.release_timer_role();
            remote.park.unparked();
        }
        if !idle.wake(self.index) {
            // A producer took us off the sleeper list: we were woken to search.
            self.searching.set(true);
        }
        self.fire_timers();
    }

    /// The worker thread's body: wait for the builder's go, run until shutdown, shut down.
    pub(crate) fn run(self) {
        if !self.shared.wait_for_start() {
            // The runtime could not start all its workers: leave at once (the driver's drop
            // leaks rather than frees anything the kernel might still touch).
            return;
        }
        // SAFETY: context rule 1 — `self` lives on this stack frame until after `_enter` drops.
        let _enter = unsafe { context::enter_worker(&self) };
        self.busy.start();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_loop()));
        if outcome.is_ok() && self.spare && !self.shared.shutdown.load(SeqCst) {
            // Not needed any more (spare.rs).
            self.retire();
            return;
        }
        if let Err(payload) = outcome {
            // Task panics are caught by the harness; this is user code run outside a task (a
            // foreign waker, an op payload's drop) or a ring that cannot be entered. Keeping a
            // worker short would strand the tasks bound to it, so the runtime shuts down.
            self.shared.worker_panicked.store(true, SeqCst);
            self.shared.begin_shutdown();
            if let Some(core) = self.shared.block_on.get() {
                core.unpark();
            }
            // Reporting runs user code too (a tracing subscriber, the payload's drop, stderr):
            // nothing of it may keep this worker from the shutdown barriers.
            let index = self.index;
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string panic".into());
                // Its drop is user code too, inside this catch.
                drop(payload);
                let msg =
                    format!("ringolo: worker {index} panicked ({what}); shutting the runtime down");
                tracing::error!("{msg}");
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "{msg}");
            }));
        }
        self.shutdown();
    }

    fn run_loop(&self) {
        if let Err(msg) = self.driver.borrow_mut().bind_to_current_thread() {
            panic!("{msg}");
        }
        while !self.shared.shutdown.load(Acquire) {
            if let Some(task) = self.next_task() {
                self.run_task(task);
                continue;
            }
            self.maintenance();
            if let Some(task) = self.next_task().or_else(|| self.search()) {
                self.run_task(task);
                continue;
            }
            self.park();
            if self.spare && self.should_retire() {
                return;
            }
        }
    }

    /// Rule 6. Every worker passes both barriers even if user code run here panics (a
    /// future's or payload's drop), or the others would wait for ever.
    fn shutdown(&self) {
        if self.searching.replace(false) {
            self.shared.idle.stop_searching();
        }
        // Off the sleeper list (a panic may have left us on it).
        self.shared.idle.wake(self.index);
        self.shared.phases.wait(0);
        let cancelled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.cancel_my_tasks()));
        self.shared.phases.wait(1);
        let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.close_queues_and_ring()
        }));
        if cancelled.is_err() || closed.is_err() {
            tracing::error!(
                "ringolo: worker {} panicked while shutting down",
                self.index
            );
        }
    }

    /// Shutdown phase 2: cancel the tasks whose home is this worker (rule 6).
    fn cancel_my_tasks(&self) {
        loop {
            let mut mine: Vec<OwnedTask> = Vec::new();
            for shard in self.shared.owned.iter() {
                let mut owned = shard.lock().unwrap_or_else(|e| e.into_inner());
                owned.closed = true;
                let keys: Vec<usize> = owned
                    .tasks
                    .iter()
                    .filter(|(_, t)| {
                        let home = t.header().home.load(Relaxed);
                        home as usize == self.index || (home == u32::MAX && self.index == 0)
                    })
                    .map(|(k, _)| k)
                    .collect();
                mine.extend(keys.into_iter().map(|k| owned.tasks.remove(k)));
            }
            if mine.is_empty() {
                break;
            }
            for t in mine {
                t.header().owner_key.store(usize::MAX, Relaxed);
                t.shutdown();
            }
        }
    }

    /// Shutdown phase 3: drop what is left in the queues, then shut the ring down (rule 6).
    fn close_queues_and_ring(&self) {
        loop {
            let mut left: Vec<Notif> = self.pinned.borrow_mut().drain(..).collect();
            left.extend(self.lifo.take());
            left.append(&mut self.yielded.borrow_mut());
            left.extend(self.remote().queue.drain());
            left.extend(self.remote().inbox.drain());
            if left.is_empty() {
                break;
            }
            drop(left);
        }
        let grace = self.shared.config.grace();
        self.with_driver(|d| d.shutdown(grace));
        self.publish_counters();
        self.remote().stats.stopped(&self.busy);
    }
}

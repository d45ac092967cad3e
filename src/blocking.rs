//! The blocking pool: threads for work that cannot be an io_uring op (directory listing, name
//! resolution, `canonicalize`, arbitrary blocking calls).
//!
//! A blocking call becomes an ordinary task (so it gets a `JoinHandle`, `abort` and
//! `JoinError`) whose future runs the closure in its first and only poll. Tasks wait in a
//! mutex-protected queue; a thread is started when work arrives and no thread is idle, up to the
//! runtime's limit; an idle thread exits after the keep-alive period. An aborted call that has
//! not started never runs; one that has started runs to the end (a thread cannot be
//! interrupted), as in Tokio. On shutdown, calls already queued still run; later ones are
//! cancelled; the runtime's drop waits for the threads (`Runtime::shutdown_timeout` bounds the
//! wait, `shutdown_background` skips it).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::runtime::threads::ThreadConfig;
use crate::runtime::WeakHandle;
use crate::task::{self, JoinHandle, Notified, Schedule, Task};

type BlockingNotified = Notified<BlockingSchedule>;

#[derive(Clone)]
pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    work: Condvar,
    /// Signalled when the last thread leaves after shutdown began.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    /// Calls queued or running: the paused clock does not auto-advance while this is non-zero.
    outstanding: AtomicUsize,
    threads: Arc<ThreadConfig>,
    /// The runtime served, entered while a call runs so it sees `Handle::current()` (set once
    /// the runtime exists; weak, since the runtime owns the pool).
    handle: std::sync::OnceLock<WeakHandle>,
}

struct State {
    queue: VecDeque<BlockingNotified>,
    threads: usize,
    /// Threads waiting for work that no `push` has claimed yet.
    idle: usize,
    /// Wake-ups `push` handed to idle threads and not yet taken (so a spurious wake-up is
    /// told apart from a real one, and two pushes never count on the same idle thread).
    notified: usize,
    shutdown: bool,
    /// Join handles of the threads alive, by serial; a thread that leaves on its own (idle
    /// timeout) takes its own out.
    handles: Vec<(u64, std::thread::JoinHandle<()>)>,
    next_serial: u64,
}

/// The scheduler of blocking tasks: its only job is to queue them on the pool.
#[derive(Clone)]
pub(crate) struct BlockingSchedule {
    pool: BlockingPool,
}

impl Schedule for BlockingSchedule {
    fn schedule(&self, task: BlockingNotified) {
        self.pool.push(task);
    }

    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }
}

/// Runs the closure on its first poll.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("blocking task polled after completion");
        Poll::Ready(f())
    }
}

impl BlockingPool {
    pub(crate) fn new(
        max_threads: usize,
        keep_alive: Duration,
        threads: Arc<ThreadConfig>,
    ) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    notified: 0,
                    shutdown: false,
                    handles: Vec::new(),
                    next_serial: 0,
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                max_threads: max_threads.max(1),
                keep_alive,
                outstanding: AtomicUsize::new(0),
                threads,
                handle: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The runtime this pool serves (entered by its threads while they run calls).
    pub(crate) fn set_handle(&self, handle: WeakHandle) {
        let _ = self.inner.handle.set(handle);
    }

    pub(crate) fn spawn<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let sched = BlockingSchedule { pool: self.clone() };
        let (task, notified, join) = task::new_task(BlockingTask(Some(f)), sched, task::Id::next());
        // No registry: the pool's queue is the only place the task waits.
        drop(task);
        self.inner.outstanding.fetch_add(1, Ordering::AcqRel);
        self.push(notified);
        join
    }

    /// Whether the pool has shut down (later calls are cancelled).
    pub(crate) fn is_shut_down(&self) -> bool {
        self.state().shutdown
    }

    /// Whether no blocking call is queued or running.
    pub(crate) fn is_quiet(&self) -> bool {
        self.inner.outstanding.load(Ordering::Acquire) == 0
    }

    fn push(&self, task: BlockingNotified) {
        let mut state = self.state();
        if state.shutdown {
            drop(state);
            self.cancel_queued([task]);
            return;
        }
        state.queue.push_back(task);
        if state.idle > 0 {
            // Claim one idle thread for this call (Tokio's accounting): a second push before it
            // wakes claims another one, or starts a thread.
            state.idle -= 1;
            state.notified += 1;
            drop(state);
            self.inner.work.notify_one();
            return;
        }
        if state.threads < self.inner.max_threads {
            state.threads += 1;
            let serial = state.next_serial;
            state.next_serial += 1;
            let pool = self.clone();
            let spawned = self.inner.threads.spawn(
                crate::runtime::threads::ThreadRole::Blocking,
                || "ringolo-blocking".into(),
                move || pool.run(serial),
            );
            match spawned {
                Ok(handle) => state.handles.push((serial, handle)),
                Err(e) => {
                    tracing::warn!("ringolo: could not start a blocking-pool thread: {e}");
                    state.threads -= 1;
                    // With no thread at all the queued work would never run: fail it.
                    if state.threads == 0 {
                        let queued: Vec<_> = state.queue.drain(..).collect();
                        drop(state);
                        self.cancel_queued(queued);
                    }
                }
            }
        }
        // Otherwise every thread is busy and the task waits its turn.
    }

    fn run(&self, serial: u64) {
        let mut state = self.state();
        'main: loop {
            // Queued work runs even once shutdown began (as in Tokio): it was accepted before.
            while let Some(task) = state.queue.pop_front() {
                drop(state);
                self.run_one(task);
                state = self.state();
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            loop {
                let (s, timeout) = self
                    .inner
                    .work
                    .wait_timeout(state, self.inner.keep_alive)
                    .unwrap_or_else(|e| e.into_inner());
                state = s;
                if state.notified > 0 {
                    // A push claimed us (and already took us off the idle count).
                    state.notified -= 1;
                    continue 'main;
                }
                if state.shutdown {
                    state.idle -= 1;
                    continue 'main;
                }
                if timeout.timed_out() {
                    state.idle -= 1;
                    // Leaving on our own: detach our handle (nobody will join it).
                    state.handles.retain(|(s, _)| *s != serial);
                    break 'main;
                }
                // A spurious wake-up: wait again.
            }
        }
        state.threads -= 1;
        if state.threads == 0 {
            self.inner.exited.notify_all();
        }
    }

    /// Run one call with the runtime entered, so it can spawn and reach `Handle::current()`.
    fn run_one(&self, task: BlockingNotified) {
        let handle = self.inner.handle.get().and_then(WeakHandle::upgrade);
        let entered = handle.clone().map(crate::runtime::context::enter_handle);
        task.run();
        drop(entered);
        if self.inner.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last call finished: a paused clock may auto-advance now, so a runtime parked
            // while waiting for this must look again (nobody may be awaiting the result).
            if let Some(h) = handle {
                h.unpark();
            }
        }
    }

    /// Stop taking work (later calls are cancelled), let the threads finish what is queued
    /// and running, and wait for them to exit: for ever with `None`, at most `timeout`
    /// otherwise. Threads still running after that are left to finish on their own.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        let mut state = self.state();
        state.shutdown = true;
        self.inner.work.notify_all();
        if timeout == Some(Duration::ZERO) {
            return;
        }
        while state.threads > 0 {
            state = match deadline {
                // No timeout, or one too large for an `Instant`: wait for ever.
                None => self
                    .inner
                    .exited
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        return;
                    }
                    self.inner
                        .exited
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        let handles = std::mem::take(&mut state.handles);
        drop(state);
        let me = std::thread::current().id();
        for (_, h) in handles {
            // A pool thread dropping the runtime cannot join itself.
            if h.thread().id() != me {
                let _ = h.join();
            }
        }
    }

    /// Fail work that will never run (its JoinHandles see cancellation).
    fn cancel_queued(&self, tasks: impl IntoIterator<Item = BlockingNotified>) {
        for t in tasks {
            self.inner.outstanding.fetch_sub(1, Ordering::AcqRel);
            cancel(t);
        }
    }

    fn state(&self) -> crate::loom::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn threads(&self) -> usize {
        self.state().threads
    }
}

/// Complete a queued blocking task as cancelled: aborting it and running it makes the harness
/// drop the closure and report `JoinError::Cancelled`.
fn cancel(task: BlockingNotified) {
    task.cancel_and_run();
}

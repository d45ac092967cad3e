//! The blocking pool: threads for work that cannot be an io_uring op (directory listing, name
//! resolution, `canonicalize`, arbitrary blocking calls).
//!
//! A blocking call becomes an ordinary task (so it gets a `JoinHandle`, `abort` and
//! `JoinError`) whose future runs the closure in its first and only poll. Tasks wait in a
//! mutex-protected queue; a thread is started when work arrives and no thread is idle, up to the
//! runtime's limit; an idle thread exits after the keep-alive period. An aborted call that has
//! not started never runs; one that has started runs to the end (a thread cannot be
//! interrupted), as in Tokio.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::task::{self, JoinHandle, Notified, Schedule, Task};

type BlockingNotified = Notified<BlockingSchedule>;

#[derive(Clone)]
pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    work: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    /// Calls queued or running: the paused clock does not auto-advance while this is non-zero.
    outstanding: AtomicUsize,
}

struct State {
    queue: VecDeque<BlockingNotified>,
    threads: usize,
    idle: usize,
    shutdown: bool,
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
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                max_threads: max_threads.max(1),
                keep_alive,
                outstanding: AtomicUsize::new(0),
            }),
        }
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
            drop(state);
            self.inner.work.notify_one();
            return;
        }
        if state.threads < self.inner.max_threads {
            state.threads += 1;
            drop(state);
            let pool = self.clone();
            let spawned = std::thread::Builder::new()
                .name("ringolo-blocking".into())
                .spawn(move || pool.run());
            if let Err(e) = spawned {
                tracing::warn!("ringolo: could not start a blocking-pool thread: {e}");
                let mut state = self.state();
                state.threads -= 1;
                // With no thread at all the queued work would never run: fail it.
                if state.threads == 0 {
                    let queued: Vec<_> = state.queue.drain(..).collect();
                    drop(state);
                    self.cancel_queued(queued);
                }
            }
        }
        // Otherwise every thread is busy and the task waits its turn.
    }

    fn run(&self) {
        let mut state = self.state();
        loop {
            if let Some(task) = state.queue.pop_front() {
                drop(state);
                task.run();
                self.inner.outstanding.fetch_sub(1, Ordering::AcqRel);
                state = self.state();
                continue;
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            let (s, timeout) = self
                .inner
                .work
                .wait_timeout(state, self.inner.keep_alive)
                .unwrap_or_else(|e| e.into_inner());
            state = s;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                break;
            }
        }
        state.threads -= 1;
    }

    /// Cancel what has not started; running calls finish on their threads, which then exit.
    pub(crate) fn shutdown(&self) {
        let queued: Vec<_> = {
            let mut state = self.state();
            state.shutdown = true;
            state.queue.drain(..).collect()
        };
        self.inner.work.notify_all();
        self.cancel_queued(queued);
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

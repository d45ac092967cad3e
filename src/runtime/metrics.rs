//! Runtime metrics, Tokio's stable set: workers, live tasks, the global queue's depth, and per
//! worker the time spent busy and how often it parked.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::Handle;

/// One worker's counters, written by its own thread and read from anywhere. A current-thread
/// runtime is one worker (its `block_on` thread).
#[derive(Debug, Default)]
pub(crate) struct WorkerStats {
    park_count: AtomicU64,
    park_unpark_count: AtomicU64,
    busy_ns: AtomicU64,
}

/// The owning thread's side: when the current busy stretch began.
#[derive(Debug)]
pub(crate) struct BusyClock(Cell<Option<Instant>>);

impl BusyClock {
    pub(crate) fn new() -> BusyClock {
        BusyClock(Cell::new(None))
    }

    /// The thread starts (or resumes) work now, unless it already counts as busy.
    pub(crate) fn start(&self) {
        if self.0.get().is_none() {
            self.0.set(Some(Instant::now()));
        }
    }
}

impl WorkerStats {
    /// The thread is about to sleep: close its busy stretch and count the park.
    pub(crate) fn about_to_park(&self, clock: &BusyClock) {
        if let Some(since) = clock.0.take() {
            let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
            // At least 1 ns, so a worker that did any work reports a non-zero busy time.
            self.busy_ns.fetch_add(ns.max(1), Relaxed);
        }
        self.park_count.fetch_add(1, Relaxed);
        self.park_unpark_count.fetch_add(1, Relaxed);
    }

    /// Back from sleep.
    pub(crate) fn unparked(&self, clock: &BusyClock) {
        self.park_unpark_count.fetch_add(1, Relaxed);
        clock.start();
    }

    /// The thread stops for good: close its busy stretch.
    pub(crate) fn stopped(&self, clock: &BusyClock) {
        if let Some(since) = clock.0.take() {
            let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.busy_ns.fetch_add(ns.max(1), Relaxed);
        }
    }

    fn busy(&self) -> Duration {
        Duration::from_nanos(self.busy_ns.load(Relaxed))
    }
}

/// A runtime's metrics (Tokio's `RuntimeMetrics`, stable subset). Cheap to clone; keeps the
/// runtime's shared state alive, so it can be read after the runtime was dropped.
#[derive(Clone, Debug)]
pub struct RuntimeMetrics {
    handle: Handle,
}

impl RuntimeMetrics {
    pub(crate) fn new(handle: Handle) -> RuntimeMetrics {
        RuntimeMetrics { handle }
    }

    /// Worker threads (1 for a current-thread runtime).
    pub fn num_workers(&self) -> usize {
        self.handle.num_workers()
    }

    /// Tasks spawned and not yet finished (blocking-pool work excluded).
    pub fn num_alive_tasks(&self) -> usize {
        self.handle.num_alive_tasks()
    }

    /// Cleanups that failed on the runtime's rings so far (a close, a cancel, a slot cleared, a
    /// buffer ring unregistered), whatever [`OnCleanupError`](super::OnCleanupError) then did.
    pub fn cleanup_failures(&self) -> u64 {
        self.handle.cleanup_failures()
    }

    /// Tasks and wakes waiting in the queue fed from outside the runtime's threads.
    pub fn global_queue_depth(&self) -> usize {
        self.handle.global_queue_depth()
    }

    /// Time worker `worker` has spent running tasks and driving its ring, up to its last park.
    ///
    /// # Panics
    /// When `worker` is not below `num_workers()`.
    #[track_caller]
    pub fn worker_total_busy_duration(&self, worker: usize) -> Duration {
        self.handle.with_worker_stats(worker, WorkerStats::busy)
    }

    /// Times worker `worker` went to sleep.
    ///
    /// # Panics
    /// When `worker` is not below `num_workers()`.
    #[track_caller]
    pub fn worker_park_count(&self, worker: usize) -> u64 {
        self.handle
            .with_worker_stats(worker, |s| s.park_count.load(Relaxed))
    }

    /// Times worker `worker` went to sleep or woke up: odd while it sleeps.
    ///
    /// # Panics
    /// When `worker` is not below `num_workers()`.
    #[track_caller]
    pub fn worker_park_unpark_count(&self, worker: usize) -> u64 {
        self.handle
            .with_worker_stats(worker, |s| s.park_unpark_count.load(Relaxed))
    }
}

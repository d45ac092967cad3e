//! The synchronisation pieces of the multi-thread scheduler, kept free of tasks and rings so
//! the loom models in `loom_tests.rs` check this very code: a run queue other workers can steal
//! half of, the park state of one worker, and the idle-worker registry that decides whom to
//! unpark.
//!
//! # Rules
//!
//! 1. **No nested locks.** Every method takes at most one of these mutexes at a time (stealing
//!    locks the victim, releases it, then locks the thief's own queue), so no lock order exists
//!    to get wrong.
//! 2. **Length hints.** `RunQueue::len` is written under the queue's lock and read without it;
//!    a reader may see a stale value and must only use it to decide whether to look (a
//!    stale zero is covered by rule 3).
//! 3. **No lost work.** A worker goes to sleep only after registering as a sleeper and then
//!    looking at every queue once more; a producer pushes, then (after a `SeqCst` fence) reads
//!    the searcher and sleeper counts. By the `SeqCst` order one of the two sees the other: the
//!    producer wakes a sleeper, or the worker finds the work.
//! 4. **No lost unpark.** A worker announces `PARKED` with a compare-and-swap from `RUNNING`
//!    and re-checks its own inbox afterwards; an unparker swaps in `NOTIFIED` and signals the
//!    worker's eventfd only if it saw `PARKED`. The eventfd write stays readable until the
//!    worker's ring consumes it, so a signal sent just before the worker enters the kernel
//!    still wakes it.

use std::collections::VecDeque;

use crate::loom::sync::atomic::{fence, AtomicU8, AtomicUsize, Ordering::*};
use crate::loom::sync::Mutex;

/// A FIFO run queue owned by one worker; any worker may steal half of it.
pub(crate) struct RunQueue<T> {
    items: Mutex<VecDeque<T>>,
    len: AtomicUsize,
}

impl<T> RunQueue<T> {
    pub(crate) fn new() -> RunQueue<T> {
        RunQueue {
            items: Mutex::new(VecDeque::with_capacity(256)),
            len: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> crate::loom::sync::MutexGuard<'_, VecDeque<T>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push_back(&self, item: T) {
        let mut q = self.lock();
        q.push_back(item);
        self.len.store(q.len(), Release);
    }

    pub(crate) fn pop_front(&self) -> Option<T> {
        if self.len.load(Acquire) == 0 {
            return None;
        }
        let mut q = self.lock();
        let item = q.pop_front();
        self.len.store(q.len(), Release);
        item
    }

    /// A hint (rule 2).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Acquire)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Take the older half of this queue (rounded up, at most `max`): the first item is
    /// returned, the rest go to the back of `into` (rule 1).
    pub(crate) fn steal_half_into(&self, into: &RunQueue<T>, max: usize) -> Option<T> {
        if self.len.load(Acquire) == 0 {
            return None;
        }
        let mut taken: VecDeque<T> = {
            let mut q = self.lock();
            let n = q.len().div_ceil(2).min(max.max(1));
            let rest = q.split_off(n);
            let taken = std::mem::replace(&mut *q, rest);
            self.len.store(q.len(), Release);
            taken
        };
        let first = taken.pop_front();
        if !taken.is_empty() {
            let mut q = into.lock();
            q.extend(taken);
            into.len.store(q.len(), Release);
        }
        first
    }

    /// Everything queued, in order.
    pub(crate) fn drain(&self) -> Vec<T> {
        let mut q = self.lock();
        let out = q.drain(..).collect();
        self.len.store(0, Release);
        out
    }
}

const RUNNING: u8 = 0;
const PARKED: u8 = 1;
const NOTIFIED: u8 = 2;

/// Whether one worker is asleep in its ring, and whether someone asked it to wake (rule 4).
pub(crate) struct ParkState(AtomicU8);

impl ParkState {
    pub(crate) fn new() -> ParkState {
        ParkState(AtomicU8::new(RUNNING))
    }

    /// Announce sleep. `false` when an unpark came in since the last `unparked`: do not sleep.
    /// After `true` the caller must re-check its inbox before sleeping (rule 4).
    pub(crate) fn try_park(&self) -> bool {
        match self.0.compare_exchange(RUNNING, PARKED, AcqRel, Acquire) {
            Ok(_) => true,
            Err(_) => {
                self.0.store(RUNNING, Release);
                false
            }
        }
    }

    /// Back from sleep (or decided not to sleep after `try_park`).
    pub(crate) fn unparked(&self) {
        self.0.store(RUNNING, Release);
    }

    /// Ask the worker to look at its queues; `true` when it is asleep and must be signalled.
    pub(crate) fn unpark(&self) -> bool {
        self.0.swap(NOTIFIED, AcqRel) == PARKED
    }
}

/// Which workers sleep, and how many are searching for work (rule 3). At most one worker is
/// woken to search at a time: while one searches, new work does not wake another.
pub(crate) struct Idle {
    searching: AtomicUsize,
    sleeping: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
}

impl Idle {
    pub(crate) fn new() -> Idle {
        Idle {
            searching: AtomicUsize::new(0),
            sleeping: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> crate::loom::sync::MutexGuard<'_, Vec<usize>> {
        self.sleepers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// New stealable work was pushed: the worker to wake (as a searcher), if any (rule 3).
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        fence(SeqCst);
        if self.searching.load(SeqCst) != 0 || self.sleeping.load(SeqCst) == 0 {
            return None;
        }
        let mut sleepers = self.lock();
        // Re-check under the lock: a searcher may have started meanwhile.
        if self.searching.load(SeqCst) != 0 {
            return None;
        }
        let w = sleepers.pop()?;
        self.sleeping.fetch_sub(1, SeqCst);
        self.searching.fetch_add(1, SeqCst);
        Some(w)
    }

    /// Start searching on one's own initiative; refused when half the workers already search.
    pub(crate) fn try_start_searching(&self, workers: usize) -> bool {
        let now = self.searching.load(SeqCst);
        if 2 * now >= workers.max(2) {
            return false;
        }
        self.searching.fetch_add(1, SeqCst);
        true
    }

    /// Stop searching; `true` when this was the last searcher (it must then make sure no work
    /// is left unannounced).
    pub(crate) fn stop_searching(&self) -> bool {
        self.searching.fetch_sub(1, SeqCst) == 1
    }

    /// Register `worker` as asleep; the caller then re-checks every queue (rule 3).
    pub(crate) fn sleep(&self, worker: usize) {
        let mut sleepers = self.lock();
        sleepers.push(worker);
        self.sleeping.fetch_add(1, SeqCst);
        drop(sleepers);
        fence(SeqCst);
    }

    /// Leave the sleeper list. `false` when a producer already took `worker` off it, which
    /// made it a searcher.
    pub(crate) fn wake(&self, worker: usize) -> bool {
        let mut sleepers = self.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.sleeping.fetch_sub(1, SeqCst);
                true
            }
            None => false,
        }
    }
}

//! The task's atomic state word: lifecycle flags in the low bits, the reference count above them.
//!
//! Every transition is one compare-and-swap loop (or one `fetch_*`) so that the poller, wakers on
//! any thread, the `JoinHandle` and `abort` can race without a lock. The rules each transition
//! enforces are the numbered rules of `task/mod.rs`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use std::fmt;

/// The task is being polled (or cancelled) by exactly one thread. Exclusive with `COMPLETE`.
const RUNNING: usize = 0b00_0001;
/// The future has finished and the stage holds the output (or has been consumed). Never unset.
const COMPLETE: usize = 0b00_0010;
/// A `Notified` exists for this task (it is in some run queue) or will be created by the poller
/// when it releases `RUNNING`. At most one `Notified` exists at a time.
const NOTIFIED: usize = 0b00_0100;
/// The `JoinHandle` still exists and may read the output.
const JOIN_INTEREST: usize = 0b00_1000;
/// The trailer holds the `JoinHandle`'s waker and the runtime may read it (rule 6).
const JOIN_WAKER: usize = 0b01_0000;
/// The task was asked to stop; the next poller drops the future instead of polling it.
const CANCELLED: usize = 0b10_0000;

const LIFECYCLE_MASK: usize = RUNNING | COMPLETE;
const STATE_MASK: usize = 0b11_1111;
const REF_SHIFT: u32 = STATE_MASK.count_ones();
const REF_ONE: usize = 1 << REF_SHIFT;

/// A fresh task: three references (the owner registry, the first `Notified`, the `JoinHandle`),
/// already notified, with join interest.
const INITIAL: usize = (REF_ONE * 3) | JOIN_INTEREST | NOTIFIED;

pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the state word at one instant.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

#[must_use]
pub(super) enum TransitionToRunning {
    /// We own `RUNNING`: poll the future.
    Success,
    /// We own `RUNNING` but the task was cancelled: drop the future.
    Cancelled,
    /// Someone else runs it, or it is complete; our notification reference was released.
    Failed,
    /// As `Failed`, and that was the last reference: deallocate.
    Dealloc,
}

#[must_use]
pub(super) enum TransitionToIdle {
    /// Released `RUNNING` and the poller's reference.
    Ok,
    /// Released `RUNNING`; the task was woken while running, so the poller's reference becomes
    /// the new `Notified` and the caller must schedule it.
    OkNotified,
    /// Released `RUNNING` and the poller's reference was the last one.
    OkDealloc,
    /// Cancelled while running: `RUNNING` is still held; drop the future and complete.
    Cancelled,
}

#[must_use]
pub(super) enum TransitionToNotified {
    /// Nothing to schedule.
    DoNothing,
    /// The task must be scheduled; a reference for the `Notified` is already counted.
    Submit,
    /// The caller's reference was the last one: deallocate.
    Dealloc,
}

pub(super) struct JoinHandleDrop {
    pub(super) drop_output: bool,
    pub(super) drop_waker: bool,
}

impl State {
    pub(super) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL),
        }
    }

    pub(super) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// Runs `f` in a CAS loop; `f` returns the action and, when the word must change, its new value.
    #[inline]
    fn update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (action, next) = f(curr);
            let Some(next) = next else { return action };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return action,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// Called by the holder of a `Notified` about to poll (rule 2).
    pub(super) fn transition_to_running(&self) -> TransitionToRunning {
        self.update(|curr| {
            debug_assert!(curr.is_notified());
            let mut next = curr;
            if !curr.is_idle() {
                // Already running elsewhere or complete: this notification is stale.
                next.ref_dec();
                let action = if next.ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                return (action, Some(next));
            }
            next.0 |= RUNNING;
            next.0 &= !NOTIFIED;
            let action = if next.is_cancelled() {
                TransitionToRunning::Cancelled
            } else {
                TransitionToRunning::Success
            };
            (action, Some(next))
        })
    }

    /// Called by the poller after a `Pending` poll (rule 2).
    pub(super) fn transition_to_idle(&self) -> TransitionToIdle {
        self.update(|curr| {
            debug_assert!(curr.is_running());
            if curr.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            let mut next = curr;
            next.0 &= !RUNNING;
            if next.is_notified() {
                // Woken while running: our reference turns into the new Notified's reference.
                return (TransitionToIdle::OkNotified, Some(next));
            }
            next.ref_dec();
            let action = if next.ref_count() == 0 {
                TransitionToIdle::OkDealloc
            } else {
                TransitionToIdle::Ok
            };
            (action, Some(next))
        })
    }

    /// Sets `COMPLETE` and clears `RUNNING` in one step; returns the new snapshot.
    pub(super) fn transition_to_complete(&self) -> Snapshot {
        const DELTA: usize = RUNNING | COMPLETE;
        let prev = Snapshot(self.val.fetch_xor(DELTA, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        Snapshot(prev.0 ^ DELTA)
    }

    /// Drops `count` references after completion; true when the task must be deallocated.
    pub(super) fn transition_to_terminal(&self, count: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(count * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= count, "task reference count underflow");
        prev.ref_count() == count
    }

    /// A waker consumed by value: its reference is either handed to a new `Notified` or dropped.
    pub(super) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.update(|curr| {
            let mut next = curr;
            let action;
            if curr.is_running() {
                // The poller will schedule it when it goes idle (rule 2).
                next.0 |= NOTIFIED;
                next.ref_dec();
                debug_assert!(next.ref_count() > 0);
                action = TransitionToNotified::DoNothing;
            } else if curr.is_complete() || curr.is_notified() {
                next.ref_dec();
                action = if next.ref_count() == 0 {
                    TransitionToNotified::Dealloc
                } else {
                    TransitionToNotified::DoNothing
                };
            } else {
                // Idle: the waker's reference becomes the Notified's.
                next.0 |= NOTIFIED;
                action = TransitionToNotified::Submit;
            }
            (action, Some(next))
        })
    }

    /// A waker used by reference: a new reference is counted for the `Notified` if one is needed.
    pub(super) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.update(|curr| {
            let mut next = curr;
            if curr.is_complete() || curr.is_notified() {
                return (TransitionToNotified::DoNothing, None);
            }
            next.0 |= NOTIFIED;
            if curr.is_running() {
                return (TransitionToNotified::DoNothing, Some(next));
            }
            next.ref_inc();
            (TransitionToNotified::Submit, Some(next))
        })
    }

    /// `abort`: sets `CANCELLED`, and schedules the task if it is idle so that a poller drops it.
    pub(super) fn transition_to_notified_and_cancel(&self) -> bool {
        self.update(|curr| {
            if curr.is_cancelled() || curr.is_complete() {
                return (false, None);
            }
            let mut next = curr;
            next.0 |= CANCELLED;
            if curr.is_running() || curr.is_notified() {
                // The poller, or the queued notification, will see CANCELLED.
                next.0 |= NOTIFIED;
                return (false, Some(next));
            }
            next.0 |= NOTIFIED;
            next.ref_inc();
            (true, Some(next))
        })
    }

    /// Runtime shutdown: sets `CANCELLED`; if the task is idle also takes `RUNNING` and returns
    /// true, so the caller must drop the future and complete the task.
    pub(super) fn transition_to_shutdown(&self) -> bool {
        self.update(|curr| {
            let mut next = curr;
            next.0 |= CANCELLED;
            let claimed = curr.is_idle();
            if claimed {
                next.0 |= RUNNING;
            }
            (claimed, Some(next))
        })
    }

    /// Rule 6: the `JoinHandle` publishes its waker. Fails (returns the snapshot) once complete.
    pub(super) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|curr| {
            debug_assert!(curr.is_join_interested() && !curr.is_join_waker_set());
            if curr.is_complete() {
                return (Err(curr), None);
            }
            let next = Snapshot(curr.0 | JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// Rule 6: the `JoinHandle` takes its waker back to replace it. Fails once complete.
    pub(super) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|curr| {
            debug_assert!(curr.is_join_interested() && curr.is_join_waker_set());
            if curr.is_complete() {
                return (Err(curr), None);
            }
            let next = Snapshot(curr.0 & !JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// After waking the join waker on completion, the runtime gives it back (rule 6).
    pub(super) fn unset_waker_after_complete(&self) -> Snapshot {
        Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel) & !JOIN_WAKER)
    }

    pub(super) fn transition_to_join_handle_dropped(&self) -> JoinHandleDrop {
        self.update(|curr| {
            debug_assert!(curr.is_join_interested());
            let mut next = curr;
            next.0 &= !JOIN_INTEREST;
            let mut out = JoinHandleDrop {
                drop_output: false,
                drop_waker: false,
            };
            if curr.is_complete() {
                // The output belongs to the JoinHandle now (rule 5).
                out.drop_output = true;
            } else {
                next.0 &= !JOIN_WAKER;
            }
            // Without JOIN_WAKER the handle has the waker to itself (rule 6).
            out.drop_waker = !next.is_join_waker_set();
            (out, Some(next))
        })
    }

    /// The `JoinHandle` of a completed task is its last reference: drop interest and the
    /// reference in one step. True when that happened and the caller must deallocate.
    pub(super) fn try_drop_join_handle_last(&self) -> bool {
        self.update(|curr| {
            if !(curr.is_complete() && curr.is_join_interested() && curr.ref_count() == 1) {
                return (false, None);
            }
            let mut next = curr;
            next.0 &= !(JOIN_INTEREST | JOIN_WAKER);
            next.ref_dec();
            (true, Some(next))
        })
    }

    /// After a poll that ended in a self-wake by `yield_now`: release `RUNNING` and notify in
    /// one step, the poller's reference becoming the notification's. Returns false (still
    /// running) when the task was cancelled meanwhile.
    pub(super) fn transition_yield_to_notified(&self) -> bool {
        self.update(|curr| {
            debug_assert!(curr.is_running());
            if curr.is_cancelled() {
                return (false, None);
            }
            let mut next = curr;
            next.0 &= !RUNNING;
            next.0 |= NOTIFIED;
            (true, Some(next))
        })
    }

    pub(super) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        // An overflowing reference count would be a use-after-free waiting to happen.
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Returns true when this was the last reference.
    pub(super) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= 1, "task reference count underflow");
        prev.ref_count() == 1
    }
}

impl Snapshot {
    pub(crate) fn is_idle(self) -> bool {
        self.0 & LIFECYCLE_MASK == 0
    }
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
    fn ref_inc(&mut self) {
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        debug_assert!(self.ref_count() > 0);
        self.0 -= REF_ONE;
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interested", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("refs", &self.ref_count())
            .finish()
    }
}

//! The typed half of every task operation: polling, completing, cancelling, joining.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use super::core::{Cell, Core, Header, Schedule, Stage, Trailer};
use super::raw::{Notified, RawTask, Task, WakerRef};
use super::state::{State, TransitionToIdle, TransitionToRunning};
use super::JoinError;

enum PollOutcome {
    Ready,
    Pending { self_yield: bool },
}

pub(super) struct Harness<F: Future, S: 'static> {
    cell: NonNull<Cell<F, S>>,
}

impl<F: Future + 'static, S: Schedule> Harness<F, S> {
    /// # Safety
    /// `ptr` is the header of a live `Cell<F, S>` (rule 1).
    pub(super) unsafe fn from_raw(ptr: NonNull<Header>) -> Self {
        Harness { cell: ptr.cast() }
    }

    fn header_ptr(&self) -> NonNull<Header> {
        self.cell.cast()
    }

    fn header(&self) -> &Header {
        // SAFETY: rule 2 — the caller of every harness method holds a reference.
        unsafe { &self.cell.as_ref().header }
    }

    fn state(&self) -> &State {
        &self.header().state
    }

    fn core(&self) -> &Core<F, S> {
        // SAFETY: rule 2, as `header`.
        unsafe { &self.cell.as_ref().core }
    }

    fn trailer(&self) -> &Trailer {
        // SAFETY: rule 2, as `header`.
        unsafe { &self.cell.as_ref().trailer }
    }

    pub(super) fn scheduler(&self) -> &S {
        &self.core().scheduler
    }

    fn to_task(&self) -> Task<S> {
        // SAFETY: rule 2 — used only where a counted reference is handed over (the poller's to a
        // new Notified, or the registry's on release); see each caller.
        unsafe { Task::from_raw(self.header_ptr()) }
    }

    fn dealloc(self) {
        // SAFETY: rule 1 — the header belongs to a live cell whose last reference we dropped.
        unsafe { RawTask::from_raw(self.header_ptr()) }.dealloc();
    }

    /// Poll with the reference of the `Notified` that was run (rule 2).
    pub(super) fn poll(self) {
        match self.state().transition_to_running() {
            TransitionToRunning::Success => {
                // SAFETY: rule 2 — we hold the notification's reference during the poll.
                let waker = unsafe { WakerRef::new(self.header_ptr()) };
                let PollOutcome::Pending { self_yield } = self.poll_future(waker.waker()) else {
                    self.complete();
                    return;
                };
                if self_yield {
                    if self.state().transition_yield_to_notified() {
                        // Our reference becomes the new notification's.
                        self.scheduler()
                            .yield_now(Notified::from_task(self.to_task()));
                    } else {
                        self.cancel_future();
                        self.complete();
                    }
                    return;
                }
                match self.state().transition_to_idle() {
                    TransitionToIdle::Ok => {}
                    TransitionToIdle::OkNotified => {
                        // Our reference becomes the new notification's.
                        self.scheduler()
                            .yield_now(Notified::from_task(self.to_task()));
                    }
                    TransitionToIdle::OkDealloc => self.dealloc(),
                    TransitionToIdle::Cancelled => {
                        self.cancel_future();
                        self.complete();
                    }
                }
            }
            TransitionToRunning::Cancelled => {
                self.cancel_future();
                self.complete();
            }
            TransitionToRunning::Failed => {}
            TransitionToRunning::Dealloc => self.dealloc(),
        }
    }

    /// Runtime shutdown; consumes the caller's reference.
    pub(super) fn shutdown(self) {
        if !self.state().transition_to_shutdown() {
            // Running elsewhere or complete: the poller sees CANCELLED.
            if self.state().ref_dec() {
                self.dealloc();
            }
            return;
        }
        self.cancel_future();
        self.complete();
    }

    /// Polls the future under `RUNNING` (rule 3), catching a panic into the output. `Pending`
    /// says whether the task yielded with a deferred self-wake (see `task::defer_self_wake`).
    fn poll_future(&self, waker: &Waker) -> PollOutcome {
        let id = self.header().id;
        let _current = super::CurrentTaskGuard::enter(self.header_ptr());
        /// Drops the future while a panic out of its `poll` unwinds (as Tokio does: its `Drop`
        /// sees `thread::panicking()`); forgotten when the poll returns.
        struct DropOnUnwind<'a, F: Future + 'static, S: Schedule>(&'a Harness<F, S>);
        impl<F: Future + 'static, S: Schedule> Drop for DropOnUnwind<'_, F, S> {
            fn drop(&mut self) {
                self.0.store_stage(Stage::Consumed);
            }
        }
        let res = panic::catch_unwind(AssertUnwindSafe(|| {
            let guard = DropOnUnwind(self);
            let polled = self.core().stage.with_mut(|ptr| {
                // SAFETY: rule 3 — we hold RUNNING, so we have the stage to ourselves; the cell
                // never moves (rule 1), so pinning the future in place is sound.
                let Stage::Running(future) = (unsafe { &mut *ptr }) else {
                    unreachable!("polled a task whose future is gone");
                };
                // SAFETY: rule 1 — the cell never moves, so the future stays pinned in place.
                let future = unsafe { Pin::new_unchecked(future) };
                future.poll(&mut Context::from_waker(waker))
            });
            std::mem::forget(guard);
            polled
        }));
        // Taken whatever the outcome, so a yield inside a poll that then finished cannot leak
        // into the next task's poll.
        let self_yield = super::take_self_yield();
        let output = match res {
            Ok(Poll::Pending) => return PollOutcome::Pending { self_yield },
            Ok(Poll::Ready(out)) => Ok(out),
            Err(payload) => {
                self.scheduler().unhandled_panic();
                Err(JoinError::panic(id, payload))
            }
        };
        self.store_stage(Stage::Finished(output));
        PollOutcome::Ready
    }

    /// Drops the future under `RUNNING` and stores a cancellation (or the drop's panic).
    fn cancel_future(&self) {
        let id = self.header().id;
        let _current = super::CurrentTaskGuard::enter(self.header_ptr());
        let res = panic::catch_unwind(AssertUnwindSafe(|| self.store_stage(Stage::Consumed)));
        // A drop that polled something yielding must not leave a note for the next task.
        super::take_self_yield();
        let err = match res {
            Ok(()) => JoinError::cancelled(id),
            Err(payload) => JoinError::panic(id, payload),
        };
        self.store_stage(Stage::Finished(Err(err)));
    }

    fn store_stage(&self, stage: Stage<F>) {
        // SAFETY: rule 3 — only called while holding RUNNING, or after COMPLETE by the party
        // rule 5 gives the output to.
        self.core().stage.with_mut(|ptr| unsafe { *ptr = stage });
    }

    /// Publish the output, wake the joiner, leave the registry, drop our references.
    fn complete(self) {
        let snapshot = self.state().transition_to_complete();
        // Dropping an output or waking a waker runs user code; a panic there must not unwind
        // through the scheduler.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            if !snapshot.is_join_interested() {
                // Rule 5: nobody will read it. Dropped with the task's id visible, as in Tokio.
                super::with_task_id(self.header().id, || self.store_stage(Stage::Consumed));
            } else if snapshot.is_join_waker_set() {
                // SAFETY: rule 6 — JOIN_WAKER is set, so we may read the waker.
                unsafe { self.trailer().wake_join() };
                let snapshot = self.state().unset_waker_after_complete();
                if !snapshot.is_join_interested() {
                    // SAFETY: rule 6 — the handle is gone and JOIN_WAKER is clear.
                    unsafe { self.trailer().set_waker(None) };
                }
            }
        }));
        let me = self.to_task();
        let released = self.scheduler().release(&me);
        std::mem::forget(me);
        let count = if released.is_some() { 2 } else { 1 };
        std::mem::forget(released);
        if self.state().transition_to_terminal(count) {
            self.dealloc();
        }
    }

    /// # Safety
    /// `dst` points to a valid `Poll<Result<F::Output, JoinError>>`.
    pub(super) unsafe fn try_read_output(
        self,
        dst: *mut Poll<Result<F::Output, JoinError>>,
        waker: &Waker,
    ) {
        if !self.can_read_output(waker) {
            return;
        }
        // SAFETY: rule 5 — complete with join interest: the output belongs to the handle.
        let stage = self
            .core()
            .stage
            .with_mut(|ptr| unsafe { std::mem::replace(&mut *ptr, Stage::Consumed) });
        match stage {
            // SAFETY: the caller's contract on `dst`.
            Stage::Finished(out) => unsafe { *dst = Poll::Ready(out) },
            _ => panic!("JoinHandle polled after completion"),
        }
    }

    /// Rule 6, from the JoinHandle's side.
    fn can_read_output(&self, waker: &Waker) -> bool {
        let snapshot = self.state().load();
        if snapshot.is_complete() {
            return true;
        }
        if snapshot.is_join_waker_set() {
            // SAFETY: rule 6 — JOIN_WAKER set gives us shared access.
            if unsafe { self.trailer().will_wake(waker) } {
                return false;
            }
            if self.state().unset_join_waker().is_err() {
                return true;
            }
        }
        // SAFETY: rule 6 — JOIN_WAKER is clear and we are the handle: exclusive access.
        unsafe { self.trailer().set_waker(Some(waker.clone())) };
        match self.state().set_join_waker() {
            Ok(_) => false,
            Err(_) => {
                // Completed meanwhile; the waker is still ours to drop.
                // SAFETY: rule 6 — JOIN_WAKER never got set.
                unsafe { self.trailer().set_waker(None) };
                true
            }
        }
    }

    pub(super) fn drop_join_handle_slow(self) {
        let id = self.header().id;
        if self.state().try_drop_join_handle_last() {
            // We held the last reference: nobody else can touch the cell. The output is dropped
            // here, not inside dealloc, so a panicking drop cannot unwind through the free.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                super::with_task_id(id, || self.store_stage(Stage::Consumed))
            }));
            self.dealloc();
            return;
        }
        let t = self.state().transition_to_join_handle_dropped();
        if t.drop_output {
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                super::with_task_id(id, || self.store_stage(Stage::Consumed))
            }));
        }
        if t.drop_waker {
            // SAFETY: rule 6 — JOIN_WAKER is clear, the waker is ours.
            unsafe { self.trailer().set_waker(None) };
        }
        if self.state().ref_dec() {
            self.dealloc();
        }
    }
}

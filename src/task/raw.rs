//! Type-erased task pointers and the typed handles that each own one reference (rule 2).

use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::core::{Cell, Header, Schedule, Vtable};
use super::harness::Harness;
use super::{Id, JoinHandle};

/// A pointer to a task's header; owns no reference by itself.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    /// # Safety
    /// `ptr` points to the header of a live task.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: rule 2 — whoever holds a RawTask holds a counted reference, so the task is
        // allocated for as long as this borrow lives.
        unsafe { self.ptr.as_ref() }
    }

    pub(super) fn poll(self) {
        // SAFETY: rule 1 — the vtable was built for this cell's types.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    pub(super) fn schedule(self) {
        // SAFETY: rule 1.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    pub(super) fn dealloc(self) {
        // SAFETY: rule 1; the caller dropped the last reference.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// # Safety
    /// `dst` points to a `Poll<Result<T, JoinError>>` where `T` is the task's output type.
    pub(super) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: rule 1 plus the caller's type guarantee.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    pub(super) fn drop_join_handle_slow(self) {
        // SAFETY: rule 1.
        unsafe { (self.header().vtable.drop_join_handle_slow)(self.ptr) }
    }

    pub(super) fn shutdown(self) {
        // SAFETY: rule 1.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    pub(crate) fn ref_inc(self) {
        self.header().state.ref_inc();
    }

    pub(crate) fn drop_reference(self) {
        if self.header().state.ref_dec() {
            self.dealloc();
        }
    }

    pub(super) fn remote_abort(self) {
        if self.header().state.transition_to_notified_and_cancel() {
            // A reference for the new Notified was counted by the transition.
            self.schedule();
        }
    }
}

/// The owner registry's reference to a task.
pub(crate) struct Task<S: 'static> {
    raw: RawTask,
    _p: PhantomData<S>,
}

/// A task that is due to be polled. At most one exists per task (rule 8).
pub(crate) struct Notified<S: 'static>(Task<S>);

// SAFETY: rule 4 — tasks are created from `Send` futures with `Send + Sync` schedulers (or kept
// on one thread by their scheduler, rule 11), and every cross-thread access goes through the
// atomic state word.
unsafe impl<S> Send for Task<S> {}
// SAFETY: rule 4, as above.
unsafe impl<S> Sync for Task<S> {}
// SAFETY: rule 4, as above.
unsafe impl<S> Send for Notified<S> {}

impl<S: 'static> Task<S> {
    /// # Safety
    /// `ptr` is a live task whose scheduler type is `S`, and the caller transfers one reference.
    pub(super) unsafe fn from_raw(ptr: NonNull<Header>) -> Task<S> {
        Task {
            // SAFETY: per the caller's contract.
            raw: unsafe { RawTask::from_raw(ptr) },
            _p: PhantomData,
        }
    }

    pub(crate) fn header(&self) -> &Header {
        self.raw.header()
    }

    /// Cancel the task on runtime shutdown. Consumes this reference.
    pub(crate) fn shutdown(self) {
        let raw = ManuallyDrop::new(self).raw;
        raw.shutdown();
    }

    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.raw.header_ptr()
    }
}

impl<S: 'static> Notified<S> {
    pub(super) fn from_task(task: Task<S>) -> Notified<S> {
        Notified(task)
    }

    pub(crate) fn header(&self) -> &Header {
        self.0.header()
    }

    /// Poll the task. Consumes the notification; its reference passes to the poller (rule 2).
    pub(crate) fn run(self) {
        let raw = ManuallyDrop::new(self).0.raw;
        raw.poll();
    }

    /// Mark the task cancelled, then run it: the harness drops the future and reports
    /// `JoinError::Cancelled` (the notification this consumes was queued, so the abort adds
    /// none — rule 8).
    pub(crate) fn cancel_and_run(self) {
        self.0.raw.remote_abort();
        self.run();
    }
}

impl<S: 'static> Drop for Task<S> {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

/// Allocate a task. Returns the registry's reference, the first notification and the join handle.
pub(crate) fn new_task<F, S>(
    future: F,
    scheduler: S,
    id: Id,
) -> (Task<S>, Notified<S>, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: rule 4 — the future is `Send`, so the task may be polled and dropped anywhere.
    unsafe { new_task_unchecked(future, scheduler, id) }
}

/// Allocate a task whose future need not be `Send` (a `LocalSet`'s).
///
/// # Safety
/// Rule 11: `scheduler` runs the task's `Notified`s and shuts it down only on the thread that
/// calls this, and keeps its registry reference until the future is gone, so the future is
/// polled and dropped on this thread alone.
pub(crate) unsafe fn new_local_task<F, S>(
    future: F,
    scheduler: S,
    id: Id,
) -> (Task<S>, Notified<S>, JoinHandle<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: rule 11, per the caller's contract.
    unsafe { new_task_unchecked(future, scheduler, id) }
}

/// # Safety
/// The future is `Send` (rule 4), or the caller keeps it on one thread (rule 11).
unsafe fn new_task_unchecked<F, S>(
    future: F,
    scheduler: S,
    id: Id,
) -> (Task<S>, Notified<S>, JoinHandle<F::Output>)
where
    F: Future + 'static,
    S: Schedule,
{
    let ptr = Cell::new(future, scheduler, id, vtable::<F, S>()).cast::<Header>();
    // SAFETY: rule 2 — the state starts with three references (state.rs `INITIAL`), one per
    // handle created here.
    unsafe {
        let task = Task::from_raw(ptr);
        let notified = Notified(Task::from_raw(ptr));
        let join = JoinHandle::new(RawTask::from_raw(ptr));
        (task, notified, join)
    }
}

fn vtable<F, S>() -> &'static Vtable
where
    F: Future + 'static,
    S: Schedule,
{
    &Vtable {
        poll: poll::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle_slow: drop_join_handle_slow::<F, S>,
        shutdown: shutdown::<F, S>,
    }
}

unsafe fn poll<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: rule 1 — the vtable entry was built for `Cell<F, S>`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.poll();
}

unsafe fn schedule<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: rule 1; the caller counted a reference for the new Notified.
    let harness = unsafe { Harness::<F, S>::from_raw(ptr) };
    // SAFETY: rule 4, as above.
    let task = unsafe { Task::from_raw(ptr) };
    harness.scheduler().schedule(Notified(task));
}

unsafe fn dealloc<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: rule 1 — the last reference is gone; the cell came from `Cell::new`.
    unsafe { Cell::<F, S>::free(ptr.cast()) };
}

unsafe fn try_read_output<F: Future + 'static, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    // SAFETY: rule 1; `dst`'s type is guaranteed by `JoinHandle<F::Output>`.
    unsafe { Harness::<F, S>::from_raw(ptr).try_read_output(dst.cast(), waker) }
}

unsafe fn drop_join_handle_slow<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: rule 1.
    unsafe { Harness::<F, S>::from_raw(ptr) }.drop_join_handle_slow();
}

unsafe fn shutdown<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: rule 1.
    unsafe { Harness::<F, S>::from_raw(ptr) }.shutdown();
}

// ---- wakers: one counted reference each (rule 2) ----

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

/// Whether `waker` is a ringolo task waker (then its data pointer is a task header).
pub(super) fn is_task_waker(waker: &Waker) -> bool {
    std::ptr::eq(waker.vtable(), &WAKER_VTABLE)
}

fn raw_waker(ptr: NonNull<Header>) -> RawWaker {
    RawWaker::new(ptr.as_ptr() as *const (), &WAKER_VTABLE)
}

unsafe fn waker_clone(ptr: *const ()) -> RawWaker {
    // SAFETY: rule 2 — the waker being cloned holds a reference, so the task is alive.
    let raw = unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr as *mut Header)) };
    raw.ref_inc();
    raw_waker(raw.header_ptr())
}

unsafe fn waker_wake(ptr: *const ()) {
    // SAFETY: rule 2 — this waker's reference keeps the task alive until we pass it on.
    let raw = unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr as *mut Header)) };
    use super::state::TransitionToNotified::*;
    match raw.header().state.transition_to_notified_by_val() {
        Submit => raw.schedule(),
        Dealloc => raw.dealloc(),
        DoNothing => {}
    }
}

unsafe fn waker_wake_by_ref(ptr: *const ()) {
    // SAFETY: rule 2.
    let raw = unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr as *mut Header)) };
    use super::state::TransitionToNotified::*;
    match raw.header().state.transition_to_notified_by_ref() {
        Submit => raw.schedule(),
        Dealloc => raw.dealloc(),
        DoNothing => {}
    }
}

unsafe fn waker_drop(ptr: *const ()) {
    // SAFETY: rule 2.
    let raw = unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr as *mut Header)) };
    raw.drop_reference();
}

/// A waker borrowing the poller's reference: valid only while the poll lasts, never dropped.
pub(super) struct WakerRef {
    waker: ManuallyDrop<Waker>,
}

impl WakerRef {
    /// # Safety
    /// The caller holds a reference for the whole life of the `WakerRef`.
    pub(super) unsafe fn new(ptr: NonNull<Header>) -> WakerRef {
        // SAFETY: the vtable upholds the RawWaker contract; the reference is the caller's.
        let waker = unsafe { Waker::from_raw(raw_waker(ptr)) };
        WakerRef {
            waker: ManuallyDrop::new(waker),
        }
    }

    pub(super) fn waker(&self) -> &Waker {
        &self.waker
    }
}

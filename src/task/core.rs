//! The task's memory: `Header`, `Core` and `Trailer` laid out in one `#[repr(C)]` allocation.

use std::future::Future;
use std::ptr::NonNull;
use std::task::Waker;

use super::state::State;
use super::{Id, JoinError};
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{
    AtomicBool, AtomicU32, AtomicUsize,
    Ordering::{Acquire, Relaxed},
};

/// What every scheduler provides to the tasks it owns.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// Put a notified task on a run queue.
    fn schedule(&self, task: super::Notified<Self>);

    /// Re-queue a task that woke itself while running (yield); defaults to `schedule`.
    fn yield_now(&self, task: super::Notified<Self>) {
        self.schedule(task);
    }

    /// Remove a completing task from the owner registry, returning the registry's reference.
    fn release(&self, task: &super::Task<Self>) -> Option<super::Task<Self>>;

    /// A task panicked; the scheduler may decide to shut the runtime down.
    fn unhandled_panic(&self) {}
}

/// The type-erased part every handle can reach. Must stay the first field of `Cell` (rule 1).
#[repr(C)]
pub(crate) struct Header {
    pub(super) state: State,
    pub(super) vtable: &'static Vtable,
    pub(super) id: Id,
    /// Key of this task in its owner's registry, `usize::MAX` when it is in none. Touched only by
    /// the owning scheduler (rule 7).
    pub(crate) owner_key: AtomicUsize,
    /// Ops this task has in flight on its worker's ring (rule 10). Multi-thread only.
    pub(crate) inflight_ops: AtomicU32,
    /// Ring-bound resources (direct descriptors, buffer rings) it holds (rule 10).
    pub(crate) ring_resources: AtomicU32,
    /// The worker that polled it last (multi-thread); `u32::MAX` before its first poll.
    pub(crate) home: AtomicU32,
    /// Pinned to the worker that first polls it (`TaskOpts::STICKY`); set before the first
    /// schedule and read-only afterwards.
    pub(crate) sticky: AtomicBool,
    /// Its name and tags, if it was spawned through `task::Builder` with any (rule 12):
    /// written at allocation, read-only afterwards, dropped with the cell.
    pub(crate) meta: Option<Box<super::builder::Meta>>,
}

impl Header {
    /// Whether another worker may run this task next (rule 10): nothing of it lives on the
    /// ring of the worker that polled it last.
    pub(crate) fn is_stealable(&self) -> bool {
        self.inflight_ops.load(Acquire) == 0
            && self.ring_resources.load(Acquire) == 0
            && !self.sticky.load(Relaxed)
    }
}

/// The operations that need to know the future's and the scheduler's types.
pub(super) struct Vtable {
    pub(super) poll: unsafe fn(NonNull<Header>),
    pub(super) schedule: unsafe fn(NonNull<Header>),
    pub(super) dealloc: unsafe fn(NonNull<Header>),
    pub(super) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    pub(super) drop_join_handle_slow: unsafe fn(NonNull<Header>),
    pub(super) shutdown: unsafe fn(NonNull<Header>),
}

#[repr(C)]
pub(super) struct Cell<F: Future, S> {
    pub(super) header: Header,
    pub(super) core: Core<F, S>,
    pub(super) trailer: Trailer,
}

pub(super) struct Core<F: Future, S> {
    /// Immutable after creation (rule 4).
    pub(super) scheduler: S,
    /// The future, then its output. Access governed by rules 3 and 5.
    pub(super) stage: UnsafeCell<Stage<F>>,
}

pub(super) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

pub(super) struct Trailer {
    /// The `JoinHandle`'s waker. Access governed by rule 6.
    pub(super) waker: UnsafeCell<Option<Waker>>,
}

impl<F: Future, S: Schedule> Cell<F, S> {
    /// Allocate a cell (through the task-memory cache) and move the task into it.
    pub(super) fn new(future: F, scheduler: S, id: Id, vtable: &'static Vtable) -> NonNull<Self> {
        let ptr = super::alloc::allocate(std::alloc::Layout::new::<Self>()).cast::<Self>();
        let cell = Cell {
            header: Header {
                state: State::new(),
                vtable,
                id,
                owner_key: AtomicUsize::new(usize::MAX),
                inflight_ops: AtomicU32::new(0),
                ring_resources: AtomicU32::new(0),
                home: AtomicU32::new(u32::MAX),
                sticky: AtomicBool::new(false),
                meta: super::builder::take_pending(),
            },
            core: Core {
                scheduler,
                stage: UnsafeCell::new(Stage::Running(future)),
            },
            trailer: Trailer {
                waker: UnsafeCell::new(None),
            },
        };
        // SAFETY: rule 1 — `ptr` is fresh memory from alloc.rs with `Self`'s size and alignment.
        unsafe { ptr.as_ptr().write(cell) };
        ptr
    }

    /// Drop the cell's contents and give its memory back.
    ///
    /// # Safety
    /// `ptr` came from `Cell::new` and no reference to the task remains (rule 2).
    pub(super) unsafe fn free(ptr: NonNull<Self>) {
        // SAFETY: per the contract, the cell is initialised and unreachable.
        unsafe {
            std::ptr::drop_in_place(ptr.as_ptr());
            super::alloc::deallocate(ptr.cast(), std::alloc::Layout::new::<Self>());
        }
    }
}

impl Header {
    pub(crate) fn id(&self) -> Id {
        self.id
    }

    pub(super) fn counter(&self, kind: super::BindKind) -> &AtomicU32 {
        match kind {
            super::BindKind::Op => &self.inflight_ops,
            super::BindKind::Resource => &self.ring_resources,
        }
    }
}

// SAFETY: rule 3, 5, 6 and 7 in task/mod.rs — every field behind an UnsafeCell is reached only by
// the party the state word grants access to, and the rest are atomics or immutable.
unsafe impl Send for Header {}
// SAFETY: rule 4, as above.
unsafe impl Sync for Header {}

impl Trailer {
    /// # Safety
    /// The caller has exclusive access to the waker slot (rule 6).
    pub(super) unsafe fn set_waker(&self, waker: Option<Waker>) {
        // SAFETY: exclusive access per the caller's contract.
        self.waker.with_mut(|ptr| unsafe { *ptr = waker });
    }

    /// # Safety
    /// The caller has at least shared access to the waker slot (rule 6).
    pub(super) unsafe fn will_wake(&self, waker: &Waker) -> bool {
        // SAFETY: shared access per the caller's contract.
        self.waker
            .with(|ptr| unsafe { (*ptr).as_ref().is_some_and(|w| w.will_wake(waker)) })
    }

    /// # Safety
    /// The caller has at least shared access to the waker slot (rule 6).
    pub(super) unsafe fn wake_join(&self) {
        // SAFETY: shared access per the caller's contract.
        self.waker.with(|ptr| match unsafe { &*ptr } {
            Some(waker) => waker.wake_by_ref(),
            None => debug_assert!(false, "JOIN_WAKER set without a waker"),
        });
    }
}

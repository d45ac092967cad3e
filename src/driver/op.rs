//! Single-shot operations: one SQE, one final CQE, awaited as a future.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use io_uring::squeue::Entry;

use super::Driver;
use crate::runtime::context;
use crate::task::{BindKind, RingBinding};
use crate::util::genslab::Key;

/// The result of a CQE: the kernel's non-negative `res` and the CQE flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The non-negative result (bytes transferred, a new fd, ...).
    pub result: u32,
    /// The CQE flags (`IORING_CQE_F_*`).
    pub flags: u32,
}

impl Completion {
    pub(crate) fn from_raw(res: i32, flags: u32) -> io::Result<Completion> {
        if res < 0 {
            Err(io::Error::from_raw_os_error(-res))
        } else {
            Ok(Completion {
                result: res as u32,
                flags,
            })
        }
    }
}

/// What the driver must undo when an op succeeds but nobody is left to take its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reclaim {
    /// Nothing: the result is just a number.
    Nothing,
    /// The result is a new file descriptor (accept, openat, socket): close it.
    CloseFd,
    /// The completion may have taken a buffer from this provided-buffer group: return it.
    ProvidedBuffer(u16),
    /// The op must reach the kernel even when its future is dropped first (a close: dropping
    /// it unsubmitted would leak the descriptor it was given). It then runs detached and
    /// nobody sees its result.
    Detach,
    /// The last op of a chain working on a reserved registered-file slot (a socket made as a
    /// direct descriptor, then installed as a plain fd): its result, if any, is a new fd to
    /// close, and once it is final no op of the chain can touch the slot, which is then freed
    /// (direct rule 3). Only ringolo can make one.
    #[doc(hidden)]
    FreeSlot(ReservedSlot),
}

/// A registered-file slot reserved by ringolo itself (see [`Reclaim::FreeSlot`]); user code
/// cannot name one, so it cannot make the driver free a slot it does not own.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservedSlot(pub(crate) u32);

impl Reclaim {
    /// Undoes a result nobody took; true when that closed a descriptor (counted in
    /// `DriverStats::reclaimed_fds`).
    pub(crate) fn apply(
        self,
        res: i32,
        flags: u32,
        rings: &super::bufring::BufRings,
        free_slots: &mut Vec<u32>,
    ) -> bool {
        if let Reclaim::FreeSlot(ReservedSlot(slot)) = self {
            // Only single-shot ops carry it, so this is the op's final CQE.
            free_slots.push(slot);
        }
        if let Reclaim::ProvidedBuffer(bgid) = self {
            if let Some(bid) = io_uring::cqueue::buffer_select(flags) {
                // bufring rule 1: nobody took this buffer, so it goes straight back.
                if let Some(ring) = rings.get(&bgid).and_then(|w| w.upgrade()) {
                    ring.recycle(bid);
                }
            }
            return false;
        }
        if matches!(self, Reclaim::CloseFd | Reclaim::FreeSlot(_)) && res >= 0 {
            // SAFETY: rule 6 of driver/mod.rs — the fd was just created by the kernel for an op nobody awaits; no one else
            // can know its number, so closing it cannot close someone else's file.
            unsafe { libc::close(res) };
            return true;
        }
        false
    }
}

/// An operation the driver can submit: a plain struct that owns everything the kernel will
/// read or write, turned into an SQE by [`build`](Operation::build).
///
/// Implement it for your own payload to submit any opcode the `io-uring` crate can build; then
/// `Op::new(payload).await` is safe.
///
/// # Safety
///
/// Every pointer placed in the entry returned by `build` must point into memory owned by
/// `self` that stays valid and in place when `self` is moved (heap memory: a `Vec`, a `Box`,
/// a `CString`), and `self` must not touch that memory until `complete` is called or `self` is
/// dropped. The driver guarantees it keeps `self` alive, unmoved in that sense and untouched,
/// until the final CQE of the request has arrived, even when the `Op` future is dropped early.
///
/// The entry must not carry `IOSQE_IO_LINK`, `IOSQE_IO_HARDLINK` or `IOSQE_CQE_SKIP_SUCCESS`:
/// linking is done by [`OpList`](super::OpList), and an op whose success CQE is skipped would
/// never complete.
pub unsafe trait Operation: Send + 'static {
    /// What awaiting the op yields.
    type Output;

    /// Build the SQE. Its `user_data` is overwritten by the driver.
    fn build(&mut self) -> Entry;

    /// Turn the final CQE (an error when `res < 0`) into the output, giving back the payload.
    fn complete(self, result: io::Result<Completion>) -> Self::Output;

    /// What to undo when this op succeeds after its future was dropped.
    fn reclaim(&self) -> Reclaim {
        Reclaim::Nothing
    }
}

/// A single submitted operation, awaited as a future.
///
/// The SQE is pushed on the first poll and sent to the kernel with the rest of the scheduler
/// tick's batch. Dropping the future before completion cancels the request
/// (`IORING_OP_ASYNC_CANCEL`); the payload stays with the driver until the kernel is done with it.
#[must_use = "an Op does nothing until awaited"]
pub struct Op<T: Operation> {
    payload: Option<T>,
    in_flight: Option<(Key, u64)>,
    /// Keeps the submitting task on this ring's worker while in flight (task rule 10).
    binding: Option<RingBinding>,
}

/// A binding of the task being polled, when `driver` is a multi-thread worker's ring.
pub(crate) fn bind_current(driver: &Driver) -> Option<RingBinding> {
    if driver.multi_thread {
        RingBinding::current(BindKind::Op)
    } else {
        None
    }
}

/// An in-flight op polled on its own ring by a task other than the one it counts for (it was
/// handed over through a channel, say): move the binding to the task polling it now, so that
/// task stays on this worker while the op is in flight.
pub(crate) fn rebind(binding: &mut Option<RingBinding>, driver: &Driver) {
    if driver.multi_thread && !binding.as_ref().is_some_and(|b| b.is_current()) {
        if let Some(new) = RingBinding::current(BindKind::Op) {
            *binding = Some(new);
        }
    }
}

impl<T: Operation> Unpin for Op<T> {}

impl<T: Operation> Op<T> {
    /// Wrap an operation; nothing is submitted until the first poll.
    pub fn new(op: T) -> Op<T> {
        Op {
            payload: Some(op),
            in_flight: None,
            binding: None,
        }
    }

    /// Whether the op is in flight on a ring this thread does not drive (polling it here would
    /// panic: only its own ring can finish it).
    pub fn is_in_flight_elsewhere(&self) -> bool {
        match self.in_flight {
            None => false,
            Some((_, ring)) => context::with_driver(|d| d.id) != Some(ring),
        }
    }
}

pub(crate) fn outside_runtime() -> io::Error {
    io::Error::other("ringolo: an io_uring operation was polled outside a ringolo runtime")
}

/// An in-flight op can only be finished by the ring it was submitted to (rule 4). Its payload
/// cannot be handed back while the kernel may still write into it, so this is a panic, like
/// polling a future after completion.
#[track_caller]
pub(crate) fn polled_off_ring() -> ! {
    panic!(
        "ringolo: an in-flight io_uring operation was polled on a thread that does not drive its \
         ring; a future with an operation in flight must stay on its runtime"
    )
}

impl<T: Operation> Future for Op<T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let this = self.get_mut();
        let payload = this.payload.as_mut().expect("Op polled after completion");
        let result = match this.in_flight {
            None => {
                // `build` and the waker clone are user code: run them outside the driver borrow.
                let (entry, reclaim, waker) =
                    (payload.build(), payload.reclaim(), cx.waker().clone());
                let submitted = context::with_driver(|driver| {
                    let key = driver.submit(entry, Some(waker), reclaim);
                    this.in_flight = Some((key, driver.id));
                    this.binding = bind_current(driver);
                });
                match submitted {
                    Some(()) => return Poll::Pending,
                    None => Err(outside_runtime()),
                }
            }
            Some((key, ring)) => {
                let binding = &mut this.binding;
                let polled = context::with_driver(|driver| {
                    (driver.id == ring).then(|| {
                        rebind(binding, driver);
                        driver.poll_op(key, cx.waker())
                    })
                });
                match polled.flatten() {
                    None => polled_off_ring(),
                    Some(None) => return Poll::Pending,
                    Some(Some((res, flags))) => {
                        this.in_flight = None;
                        this.binding = None;
                        Completion::from_raw(res, flags)
                    }
                }
            }
        };
        Poll::Ready(this.payload.take().expect("checked above").complete(result))
    }
}

impl<T: Operation> Drop for Op<T> {
    fn drop(&mut self) {
        let Some((key, ring)) = self.in_flight.take() else {
            return;
        };
        let payload = self.payload.take();
        orphan(key, ring, payload);
    }
}

/// Hand an op's payload to its driver (rule 1 of driver/mod.rs): directly on the driver's
/// thread, else through its mailbox; leak it when the driver is gone (rule 4).
pub(crate) fn orphan<T: Operation>(key: Key, ring: u64, payload: Option<T>) {
    let reclaim = payload.as_ref().map_or(Reclaim::Nothing, |p| p.reclaim());
    orphan_boxed(
        key,
        ring,
        payload.map(|p| Box::new(p) as Box<dyn std::any::Any + Send>),
        reclaim,
    );
}

pub(crate) fn orphan_boxed(
    key: Key,
    ring: u64,
    mut payload: Option<Box<dyn std::any::Any + Send>>,
    reclaim: Reclaim,
) {
    let handled = context::with_driver(|driver| {
        if driver.id != ring {
            return false;
        }
        driver.orphan(key, payload.take(), reclaim);
        true
    });
    if handled == Some(true) {
        return;
    }
    // Rule 4: its ring's thread cancels it (mailbox.rs), unless that ring is gone.
    match super::Mailbox::post(ring, super::Mail::Op(key, payload, reclaim)) {
        super::Posted::Sent => {}
        // Mailbox rule 2: the ring finished every op before it went.
        super::Posted::RingFinished(mail) => drop(mail),
        super::Posted::RingLost(super::Mail::Op(_, Some(p), _)) => {
            tracing::warn!(
                "ringolo: an in-flight op was dropped after its ring was gone; its payload is leaked"
            );
            std::mem::forget(p);
        }
        super::Posted::RingLost(_) => {}
    }
}

/// Close a descriptor the caller owns: asynchronously on this thread's ring when there is one
/// (`IORING_OP_CLOSE`, nobody waits), otherwise with `close(2)` right away.
pub(crate) fn close_fd(fd: std::os::fd::RawFd) {
    if context::with_driver(|driver| driver.close_detached(fd)) != Some(true) {
        // SAFETY: rule 6 of driver/mod.rs — the caller owns `fd` and gives it up here.
        unsafe { libc::close(fd) };
    }
}

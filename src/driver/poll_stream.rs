//! A readiness poll that stays armed: one `IORING_OP_POLL_ADD` with `IORING_POLL_ADD_MULTI`
//! (edge-triggered, as epoll's `EPOLLET`), whose completions queue in its slot until the owner
//! drains them. It is what compat's readiness cache (compat/io/registration.rs) is fed by:
//! armed once per descriptor and direction, it costs a CQE per readiness edge and no SQE per
//! wait, where a one-shot poll costs both every time a task waits.
//!
//! Unlike [`Multishot`](super::Multishot) it binds no task to the ring: nothing the kernel
//! writes points into the owner's memory (the entry carries a descriptor and a mask), so the
//! task that waits may move to another worker while the poll stays where it was armed; its
//! completions wake a waker the owner gave, on the ring's thread, and the owner drains them
//! there. Dropping it cancels the poll, through the ring's mailbox from another thread.
//!
//! Where the kernel refuses the multishot flag (before 5.13) the first CQE says `EINVAL`; the
//! process then arms one-shot polls from there on, and an owner re-arms after each completion.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;

use io_uring::{opcode, types};

use super::op::{orphan_boxed, Completion, Reclaim};
use super::Driver;
use crate::runtime::context;
use crate::util::genslab::Key;

/// Cleared once a kernel refused a multishot poll.
static MULTISHOT_POLL: AtomicBool = AtomicBool::new(true);

/// A poll armed on one ring. See the module doc.
#[derive(Debug)]
pub(crate) struct PollStream {
    key: Key,
    ring: u64,
    multishot: bool,
    /// The final CQE was taken: the slot is gone and there is nothing to cancel.
    ended: bool,
}

/// What [`PollStream::drain`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Drained {
    /// Still armed; the waker will be woken at the next completion.
    Armed,
    /// The poll ended (cancelled, refused, or a one-shot poll that fired): arm a new one.
    Ended,
    /// The poll lives on another thread's ring; only that thread can drain it.
    Elsewhere,
}

impl PollStream {
    /// Arm a poll for `events` on `fd` on this thread's ring; `waker` is woken (on this
    /// thread) when completions wait to be drained. `None` when this thread drives no ring.
    pub(crate) fn arm(fd: RawFd, events: u32, waker: &Waker) -> Option<PollStream> {
        let multishot = MULTISHOT_POLL.load(Ordering::Relaxed);
        let entry = opcode::PollAdd::new(types::Fd(fd), events)
            .multi(multishot)
            .build();
        let waker = waker.clone();
        context::with_driver(|driver| PollStream {
            key: driver.submit_multishot(entry, Some(waker), Reclaim::Nothing),
            ring: driver.id,
            multishot,
            ended: false,
        })
    }

    /// The ring it was armed on.
    pub(crate) fn ring(&self) -> u64 {
        self.ring
    }

    /// Whether this thread drives the ring it was armed on.
    pub(crate) fn is_here(&self) -> bool {
        context::with_driver(|d| d.id) == Some(self.ring)
    }

    /// Hand each queued completion (the poll's event mask, or its error) to `each`, and leave
    /// `waker` to be woken at the next one. `driver` is this thread's; `each` runs inside its
    /// borrow and must not reach it.
    pub(crate) fn drain(
        &mut self,
        driver: &mut Driver,
        waker: &Waker,
        mut each: impl FnMut(io::Result<u32>),
    ) -> Drained {
        if self.ended {
            return Drained::Ended;
        }
        if driver.id != self.ring {
            return Drained::Elsewhere;
        }
        loop {
            match driver.poll_stream(self.key, waker) {
                Err(()) => return Drained::Armed,
                Ok(None) => {
                    self.ended = true;
                    return Drained::Ended;
                }
                Ok(Some((res, flags))) => {
                    if self.multishot && res == -libc::EINVAL {
                        // A kernel without multishot polls: its refusal is no event.
                        MULTISHOT_POLL.store(false, Ordering::Relaxed);
                        continue;
                    }
                    each(Completion::from_raw(res, flags).map(|c| c.result));
                }
            }
        }
    }
}

impl Drop for PollStream {
    fn drop(&mut self) {
        if !self.ended {
            // Cancelled on its ring (driver rule 4): the slot goes with the final CQE.
            orphan_boxed(self.key, self.ring, None, Reclaim::Nothing);
        }
    }
}

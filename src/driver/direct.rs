//! Direct descriptors: files and sockets installed in the ring's registered-file table, so ops
//! skip the per-op file lookup. A ring-bound resource: a slot means something only on the
//! io_uring that holds it.
//!
//! # Rules
//!
//! 1. **Ring-bound.** A `DirectFd` is used only by ops submitted on the ring it was registered
//!    with; on any other thread its ops fail with an error instead of naming someone else's slot.
//! 2. **No early reuse.** A slot is cleared only after every SQE queued ahead of it is
//!    submitted, and reused only once no op that could still name it is left: an op resolves
//!    its fixed file when it is *issued*, which for a linked op or one punted to a kernel
//!    worker is later than its submission, so a dropped descriptor's slot waits in quarantine
//!    until every op orphaned at the time of the drop has its final CQE. Freed slots are then
//!    reused in FIFO order across the whole table.
//! 3. **Reserved slots.** A chain that creates a direct descriptor in a slot (a socket built
//!    in one submission: `SOCKET` into the slot → options → `BIND` → `LISTEN` →
//!    `FIXED_FD_INSTALL`) reserves the slot empty first. The slot is freed only when no op of
//!    the chain can still run: by the caller once the chain's results are in, or, if its future
//!    was dropped, by the driver at the final CQE of the chain's last op (or at once if the
//!    chain never left userspace: chains are submitted whole).
//! 4. **Dropped anywhere, cleared on its ring.** A `DirectFd` dropped on another thread posts
//!    its slot to its ring's mailbox (mailbox.rs); the ring's thread clears it at its next
//!    turn, under rule 2. Until then the slot's file stays open in the kernel.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use super::ops::{Read, Target, Write};
use super::Op;
use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::runtime::context;

/// Slots in the registered-file table, allocated on first use.
pub(crate) const TABLE_SIZE: u32 = 1024;

pub(crate) struct FixedTable {
    free: VecDeque<u32>,
}

impl FixedTable {
    pub(crate) fn new() -> FixedTable {
        FixedTable {
            free: (0..TABLE_SIZE).collect(),
        }
    }

    pub(crate) fn take(&mut self) -> Option<u32> {
        self.free.pop_front()
    }

    pub(crate) fn give_back(&mut self, slot: u32) {
        self.free.push_back(slot);
    }

    /// Slots taken now.
    pub(crate) fn in_use(&self) -> usize {
        TABLE_SIZE as usize - self.free.len()
    }
}

/// A file or socket registered in this thread's ring ("direct descriptor"). The original
/// descriptor stays yours and may be closed; the registration keeps the file open until this
/// handle is dropped.
#[derive(Debug)]
pub struct DirectFd {
    slot: u32,
    ring: u64,
    binding: ResourceBinding,
}

/// Keeps the task that holds a ring-bound resource on the resource's worker (task rule 10):
/// bound to the task that creates the handle, and moved to whichever task uses it next.
#[derive(Debug, Default)]
pub(crate) struct ResourceBinding(crate::loom::sync::Mutex<Option<crate::task::RingBinding>>);

impl ResourceBinding {
    /// Bound to the task being polled, when `driver` is a multi-thread worker's ring.
    pub(crate) fn new(driver: &super::Driver) -> ResourceBinding {
        let b = ResourceBinding::default();
        b.use_on(driver);
        b
    }

    /// The resource is being used on `driver` by the task being polled: bind that task.
    pub(crate) fn use_on(&self, driver: &super::Driver) {
        if !driver.multi_thread {
            return;
        }
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !slot.as_ref().is_some_and(|b| b.is_current()) {
            let new = crate::task::RingBinding::current(crate::task::BindKind::Resource);
            if new.is_some() {
                // The old binding (another task's) is released as it is replaced.
                *slot = new;
            }
        }
    }
}

fn off_ring() -> io::Error {
    io::Error::other("ringolo: a direct descriptor was used off the ring it is registered with")
}

impl DirectFd {
    /// Register `fd` in the current runtime's ring.
    pub fn register(fd: &impl AsRawFd) -> io::Result<DirectFd> {
        let raw = fd.as_raw_fd();
        context::with_driver(|d| {
            d.register_fixed(raw).map(|slot| DirectFd {
                slot,
                ring: d.id,
                binding: ResourceBinding::new(d),
            })
        })
        .ok_or_else(|| io::Error::other("DirectFd::register called outside a ringolo runtime"))?
    }

    /// The slot in the ring's table.
    pub fn slot(&self) -> u32 {
        self.slot
    }

    fn target(&self) -> io::Result<Target> {
        let on_ring = context::with_driver(|d| {
            let mine = d.id == self.ring;
            if mine {
                self.binding.use_on(d);
            }
            mine
        });
        match on_ring {
            Some(true) => Ok(Target::Fixed(self.slot)),
            _ => Err(off_ring()),
        }
    }

    /// Read at `pos` (`u64::MAX`: the file position / a stream) into the spare capacity.
    pub async fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> BufResult<usize, B> {
        match self.target() {
            Ok(t) => Op::new(Read::new(t, buf, pos)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// `recv(2)` on a registered socket into the spare capacity, waiting for readiness first
    /// (`IORING_RECVSEND_POLL_FIRST`).
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        match self.target() {
            Ok(t) => Op::new(super::ops::Recv::new(t, buf, 0).poll_first()).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// `send(2)` (with `MSG_NOSIGNAL`) of the initialised bytes on a registered socket.
    pub async fn send<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        match self.target() {
            Ok(t) => Op::new(super::ops::Send::new(t, buf, 0)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Send all the initialised bytes on a registered socket.
    pub async fn send_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        crate::buf::write_all_with(buf, |rest, _| self.send(rest)).await
    }

    /// Write the initialised bytes at `pos` (`u64::MAX`: the file position / a stream).
    pub async fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> BufResult<usize, B> {
        match self.target() {
            Ok(t) => Op::new(Write::new(t, buf, pos)).await,
            Err(e) => (Err(e), buf),
        }
    }
}

impl Drop for DirectFd {
    fn drop(&mut self) {
        let (slot, ring) = (self.slot, self.ring);
        let here =
            context::with_driver(|d| (d.id == ring).then(|| d.unregister_fixed(slot))).flatten();
        match here {
            Some(_) => {}
            // Another thread's ring: its thread clears the slot (mailbox.rs). A ring that is
            // gone took its table, and the file references in it, with it.
            None => {
                let _ = super::Mailbox::post(ring, super::Mail::DirectSlot(slot));
            }
        }
    }
}

pub(crate) fn update_slot(
    submitter: &io_uring::Submitter<'_>,
    slot: u32,
    fd: RawFd,
) -> io::Result<()> {
    submitter.register_files_update(slot, &[fd]).map(|_| ())
}

//! The driver: one io_uring per runtime thread, the slab of ops in flight on it, and the
//! futures and streams that submit to it.
//!
//! # Rules
//!
//! Every `unsafe` block in the driver cites one of these.
//!
//! 1. **Kernel-visible memory is owned until the final CQE.** Every pointer in an SQE points
//!    into heap memory owned by the op's payload (an `Operation` value), and the payload is
//!    neither dropped nor mutated from the moment its SQE is pushed until the CQE without
//!    `IORING_CQE_F_MORE` for that `user_data` has been reaped. While the op's future is alive
//!    the future holds the payload; when it is dropped first, the payload moves into the
//!    op's slot (`Lifecycle::Orphaned`) and is freed by `reap` on the final CQE.
//! 2. **`user_data` is a generation-tagged slab key** (`Key::to_u64`, bit 63 clear). A CQE whose
//!    key does not name a live slot of the right generation is counted in
//!    `DriverStats::unknown_cqes` and ignored. Internal requests use values with bit 63 set and
//!    own no memory (the eventfd poll, cancellations).
//! 3. **A pushed SQE is never taken back.** When the SQ is full the driver enters the kernel to
//!    make room and retries; when the kernel answers EBUSY/EAGAIN it reaps completions and
//!    retries. Nothing an SQE points to is freed on any error path.
//! 4. **Only the thread that issues to a ring touches it.** A driver is reached only through
//!    the thread-local runtime context of the thread driving it. An op dropped anywhere else
//!    while in flight posts its key and payload to its ring's mailbox (mailbox.rs) and wakes
//!    that thread, which orphans it at its next turn; if the ring is gone, the payload is
//!    leaked rather than freeing memory the kernel may still write. A direct descriptor or a
//!    provided-buffer ring dropped elsewhere is posted the same way and undone there.
//! 5. **On shutdown** every in-flight op is cancelled and the driver waits, bounded, for the
//!    final CQEs; payloads still in flight at the deadline are leaked, never freed.
//! 6. **Plain syscalls** the driver makes beside the ring (entering it, reading the eventfd,
//!    closing a reclaimed fd) touch only descriptors the runtime owns or that the kernel just
//!    created for an op nobody awaits, and only stack buffers sized to what the call writes.
//!
//! An `Operation` must not set `IOSQE_IO_LINK`, `IOSQE_IO_HARDLINK` or
//! `IOSQE_CQE_SKIP_SUCCESS` itself: links are the driver's to place (an `OpList` chain), and a
//! skipped success CQE would leave its op waiting for ever.

pub mod bufring;
pub(crate) mod cleanup;
pub(crate) mod direct;
mod mailbox;
mod multishot;
mod op;
mod oplist;
pub mod ops;
mod poll_stream;
mod setup;

pub use self::cleanup::OnCleanupError;
pub use self::direct::DirectFd;
pub(crate) use self::mailbox::{Mail, Mailbox, Posted};
pub use self::multishot::{Multishot, MultishotOperation};
pub(crate) use self::op::close_fd;
pub use self::op::ReservedSlot;
pub use self::op::{Completion, Op, Operation, Reclaim};
pub use self::oplist::{OpList, OpListKind};
pub(crate) use self::poll_stream::{Drained, PollStream};
pub(crate) use self::setup::{OpcodeSet, RingConfig, RingFeatures};

use std::any::Any;
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::task::Waker;
use std::thread::ThreadId;
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use crate::util::genslab::{GenSlab, Key};

/// `IORING_ENTER_GETEVENTS`: also run deferred completion work and post CQEs.
const IORING_ENTER_GETEVENTS: u32 = 1;

const INTERNAL: u64 = 1 << 63;
/// The multishot poll on the runtime's eventfd (remote wakeups).
const EVENTFD_UD: u64 = INTERNAL | 1;
/// The CQE of an `IORING_OP_ASYNC_CANCEL` the driver submitted.
const CANCEL_UD: u64 = INTERNAL | 2;
/// A queued SQE whose op was dropped before submission, replaced by a NOP.
const DISCARDED_UD: u64 = INTERNAL | 3;
/// The close of a dropped file or socket (`close_detached`); owns no memory.
const CLOSE_UD: u64 = INTERNAL | 4;

/// An SQE waiting for the next submission; `linked` when it carries IOSQE_IO_LINK.
struct Pending {
    entry: squeue::Entry,
    linked: bool,
}

/// Counters a test or an operator can read.
#[derive(Clone, Copy, Debug, Default)]
pub struct DriverStats {
    /// SQEs pushed to the submission queue.
    pub sqes_pushed: u64,
    /// `io_uring_enter` calls.
    pub enters: u64,
    /// Times the SQ was full and had to be flushed before a push.
    pub sq_full_flushes: u64,
    /// Times the kernel reported CQ overflow and the driver flushed it.
    pub cq_overflow_flushes: u64,
    /// CQEs reaped.
    pub cqes: u64,
    /// CQEs that matched no live op (late, duplicate or foreign): counted and ignored.
    pub unknown_cqes: u64,
    /// Ops dropped before completion and cancelled.
    pub cancelled: u64,
    /// Payloads leaked at shutdown because their final CQE never came (rule 5).
    pub leaked: u64,
    /// Descriptors produced by ops nobody awaited any more (an accept or open that completed
    /// as it was cancelled), closed by the driver.
    pub reclaimed_fds: u64,
    /// Registered-file slots taken now (direct descriptors and socket chains in progress): a
    /// level, not a running count.
    pub direct_slots_in_use: u64,
    /// Provided-buffer rings registered now: a level.
    pub buf_rings_registered: u64,
    /// Parks that waited for a batch of completions (`Builder::coalesce_completions` on a
    /// kernel that has it): stays 0 where the setting is off or the kernel ignores it.
    pub coalesced_waits: u64,
    /// Cleanups on this ring that failed (a close, a cancel, a slot cleared, a buffer ring
    /// unregistered; cleanup.rs), whatever `OnCleanupError` then did.
    pub cleanup_failures: u64,
}

pub(crate) enum Lifecycle {
    /// In flight. `partial` holds the first CQE of an op that announced more (`F_MORE`).
    Waiting {
        waker: Option<Waker>,
        partial: Option<(i32, u32)>,
        reclaim: Reclaim,
    },
    /// The final CQE arrived; the future has not picked it up yet.
    Completed {
        res: i32,
        flags: u32,
        reclaim: Reclaim,
    },
    /// A multishot request: CQEs queue up until the stream takes them.
    Streaming {
        waker: Option<Waker>,
        queue: VecDeque<(i32, u32)>,
        finished: bool,
        reclaim: Reclaim,
    },
    /// The owner is gone; the payload waits here for the final CQE (rule 1).
    Orphaned {
        keep_alive: Option<Box<dyn Any + Send>>,
        reclaim: Reclaim,
    },
}

/// Run `f` on a thread's driver, then wake and drop what it released, outside the borrow (so
/// user code in a waker or a payload's drop may use the driver again).
#[inline]
pub(crate) fn drive<R>(
    driver: &std::cell::RefCell<Driver>,
    deferred: &std::cell::Cell<Deferred>,
    f: impl FnOnce(&mut Driver) -> R,
) -> R {
    let mut d = driver.borrow_mut();
    let out = f(&mut d);
    if d.has_deferred() {
        // The scratch lists are taken, not borrowed, so a waker that re-enters the driver
        // finds empty ones instead of a held borrow.
        let mut lists = deferred.take();
        d.take_deferred(&mut lists);
        drop(d);
        lists.wake.drain(..).for_each(Waker::wake);
        lists.stale.clear();
        lists.drops.clear();
        let failures = std::mem::take(&mut lists.failures);
        deferred.set(lists);
        // Last: `OnCleanupError::Panic` unwinds from here.
        failures.into_iter().for_each(cleanup::Failure::report);
    }
    out
}

/// What a driver call released, handled after the driver borrow ends.
#[derive(Default)]
pub(crate) struct Deferred {
    pub(crate) wake: Vec<Waker>,
    pub(crate) stale: Vec<Waker>,
    pub(crate) drops: Vec<Box<dyn Any + Send>>,
    pub(crate) failures: Vec<cleanup::Failure>,
}

pub(crate) struct Driver {
    ring: IoUring,
    /// SQEs queued since the last submission (see `push`).
    pending: Vec<Pending>,
    ops: GenSlab<Lifecycle>,
    /// Ops whose owner is gone and whose final CQE is still due.
    orphans: usize,
    features: RingFeatures,
    eventfd: RawFd,
    eventfd_armed: bool,
    /// Arm the eventfd poll as multishot (5.13+); false after the kernel refused it, then
    /// a one-shot poll is re-armed at every park.
    eventfd_multishot: bool,
    /// Wakers and payloads released while the driver is borrowed; handled after the borrow ends
    /// so user code never runs inside the driver.
    to_wake: Vec<Waker>,
    /// Wakers replaced or orphaned (dropping one can run user code).
    stale_wakers: Vec<Waker>,
    to_drop: Vec<Box<dyn Any + Send>>,
    /// Failed cleanups for the policy to report after the borrow (cleanup.rs).
    failures: Vec<cleanup::Failure>,
    /// Failed cleanups seen while reaping, counted once the CQ is let go.
    failed_cleanups: Vec<(&'static str, i32)>,
    issuer: Option<ThreadId>,
    config: RingConfig,
    /// Completions the current reap may still handle (see `RingConfig::events_per_tick`).
    reap_budget: u32,
    /// Set once shutdown gave up on in-flight ops (rule 5): from then on nothing is freed.
    abandoned: bool,
    /// Closes of dropped descriptors queued or in flight (`close_detached`).
    detached_closes: usize,
    /// Provided-buffer rings registered here, by group id.
    buf_rings: bufring::BufRings,
    next_bgid: u16,
    /// The registered-file table, created on the first `DirectFd`.
    fixed: Option<direct::FixedTable>,
    /// Reserved registered-file slots whose chains are over, to clear and reuse (direct rule 3).
    free_slots: Vec<u32>,
    /// Cleared slots of dropped direct descriptors, each with the ops that were orphaned when
    /// it was dropped: reused only once none of them is left (direct rule 2).
    quarantine: Vec<(u32, Vec<Key>)>,
    /// Process-unique id, so an op can tell its own driver from another thread's (rule 4).
    pub(crate) id: u64,
    /// Ops dropped on other threads, for this one to orphan (rule 4, mailbox.rs).
    mailbox: std::sync::Arc<Mailbox>,
    /// Set for a multi-thread worker's ring: ops and resources then bind the task being polled
    /// to this worker (task rule 10). A current-thread ring skips the accounting.
    pub(crate) multi_thread: bool,
    pub(crate) stats: DriverStats,
}

impl Driver {
    pub(crate) fn new(
        config: RingConfig,
        eventfd: RawFd,
    ) -> Result<Driver, crate::runtime::BuildError> {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let (ring, features) = setup::build_ring(&config)?;
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mailbox = Mailbox::open(id, eventfd).map_err(|e| {
            crate::runtime::BuildError::other("duplicating the wakeup eventfd failed".into(), e)
        })?;
        Ok(Driver {
            pending: Vec::with_capacity(64),
            abandoned: false,
            detached_closes: 0,
            buf_rings: bufring::BufRings::new(),
            next_bgid: 0,
            fixed: None,
            free_slots: Vec::new(),
            quarantine: Vec::new(),
            id,
            mailbox,
            multi_thread: false,
            ring,
            ops: GenSlab::new(),
            orphans: 0,
            features,
            eventfd,
            eventfd_armed: false,
            // Hiding POLL_ADD for testing stands for a kernel without multishot poll.
            eventfd_multishot: features.opcodes.contains(opcode::PollAdd::CODE),
            to_wake: Vec::new(),
            stale_wakers: Vec::new(),
            to_drop: Vec::new(),
            failures: Vec::new(),
            failed_cleanups: Vec::new(),
            issuer: None,
            config,
            reap_budget: u32::MAX,
            stats: DriverStats::default(),
        })
    }

    /// The counters, with the registered-file slots in use read from the table.
    pub(crate) fn stats(&self) -> DriverStats {
        DriverStats {
            direct_slots_in_use: self.fixed.as_ref().map_or(0, |t| t.in_use() as u64),
            buf_rings_registered: self.buf_rings.len() as u64,
            ..self.stats
        }
    }

    /// Whether this ring's kernel supports `opcode` (and it is not hidden for testing).
    pub(crate) fn supports(&self, opcode: u8) -> bool {
        self.features.opcodes.contains(opcode)
    }

    /// Make the current thread the ring's issuer. A ring created with SINGLE_ISSUER can only be
    /// entered by one thread; if the runtime moved threads while nothing was in flight the ring
    /// is replaced, otherwise the caller gets an error message to panic with.
    pub(crate) fn bind_to_current_thread(&mut self) -> Result<(), String> {
        let me = std::thread::current().id();
        match self.issuer {
            Some(t) if t == me => return Ok(()),
            None => {}
            Some(_) if !self.features.single_issuer => {}
            Some(_) => {
                self.buf_rings.retain(|_, w| w.strong_count() > 0);
                if self.ops.len() > 0
                    || self.detached_closes > 0
                    || !self.buf_rings.is_empty()
                    || self.fixed.is_some()
                {
                    return Err(format!(
                        "ringolo: this runtime's io_uring was created with SINGLE_ISSUER and has {} \
                         operation(s) in flight owned by another thread; drive a current-thread \
                         runtime from one thread at a time, or let its operations finish first",
                        self.ops.len()
                    ));
                }
                let (ring, features) =
                    setup::build_ring(&self.config).map_err(|e| e.to_string())?;
                // The old ring holds only the eventfd poll, which owns no memory (rule 2).
                self.ring = ring;
                self.features = features;
                self.eventfd_armed = false;
            }
        }
        if self.features.single_issuer {
            self.ring
                .submitter()
                .register_enable_rings()
                .map_err(|e| format!("ringolo: enabling the io_uring failed: {e}"))?;
        }
        self.issuer = Some(me);
        Ok(())
    }

    /// Whether the current thread may enter this ring (rule 4).
    pub(crate) fn is_issuer(&self) -> bool {
        self.issuer == Some(std::thread::current().id())
    }

    /// Queue one SQE. It reaches the SQ, and the kernel, at the next `submit_and_wait`; until
    /// then `orphan` can still take it back.
    #[inline]
    fn push(&mut self, entry: squeue::Entry, linked: bool) {
        self.stats.sqes_pushed += 1;
        self.pending.push(Pending { entry, linked });
    }

    /// Copy queued SQEs into the SQ while they fit, never splitting a linked chain across two
    /// submissions. Returns true when nothing is left queued.
    fn move_to_sq(&mut self) -> bool {
        let Driver { ring, pending, .. } = self;
        let mut sq = ring.submission();
        let mut free = sq.capacity() - sq.len();
        let mut moved = 0;
        while moved < pending.len() {
            let chain = pending[moved..].iter().take_while(|p| p.linked).count() + 1;
            let chain = chain.min(pending.len() - moved);
            if chain > free {
                break;
            }
            for p in &pending[moved..moved + chain] {
                // SAFETY: rule 1 — the owning payload keeps every pointer in the entry valid
                // until its final CQE; internal entries own no memory. Rule 3: once copied in,
                // the entry is submitted, never taken back.
                let pushed = unsafe { sq.push(&p.entry) };
                debug_assert!(pushed.is_ok(), "checked free space");
            }
            moved += chain;
            free -= chain;
        }
        drop(sq);
        pending.drain(..moved);
        pending.is_empty()
    }

    /// Submit everything queued and wait for `min_complete` completions (or `timeout`; with a
    /// non-zero `min_wait_usec`, any completion ends the wait once that many microseconds have
    /// passed). A full SQ is submitted and refilled until the queue is empty (rule 3).
    fn submit_and_wait(
        &mut self,
        min_complete: u32,
        timeout: Option<Duration>,
        min_wait_usec: u32,
    ) {
        loop {
            let all = self.move_to_sq();
            let to_submit = self.ring.submission().len() as u32;
            let (min, wait, min_wait) = if all {
                (min_complete, timeout, min_wait_usec)
            } else {
                (0, None, 0)
            };
            if let Err(e) = self.enter(to_submit, min, wait, min_wait) {
                // Nothing is dropped (rule 3): what is queued stays queued for the next turn.
                tracing::warn!("io_uring_enter failed: {e}");
                return;
            }
            if all {
                return;
            }
            self.stats.sq_full_flushes += 1;
            self.reap();
        }
    }

    /// One `io_uring_enter`. EINTR, ETIME, EBUSY and EAGAIN are not errors to the caller: each
    /// just means "look at the CQ again". `min_wait_usec` is only non-zero where the kernel has
    /// IORING_FEAT_MIN_TIMEOUT (older kernels reject the field).
    fn enter(
        &mut self,
        to_submit: u32,
        min_complete: u32,
        timeout: Option<Duration>,
        min_wait_usec: u32,
    ) -> io::Result<()> {
        self.stats.enters += 1;
        let flags = IORING_ENTER_GETEVENTS;
        let res = match timeout {
            Some(t) => {
                let ts = types::Timespec::from(t);
                let args = types::SubmitArgs::new()
                    .timespec(&ts)
                    .min_wait_usec(min_wait_usec);
                // The crate sets GETEVENTS itself when it waits.
                self.ring
                    .submitter()
                    .submit_with_args(min_complete.max(1) as usize, &args)
            }
            // SAFETY: rule 6 — a plain enter with no argument struct; no memory is handed over.
            None => unsafe {
                self.ring
                    .submitter()
                    .enter::<libc::sigset_t>(to_submit, min_complete, flags, None)
            },
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) => match e.raw_os_error() {
                Some(libc::EINTR | libc::ETIME | libc::EBUSY | libc::EAGAIN) => Ok(()),
                _ => Err(e),
            },
        }
    }

    /// Register a single-shot op and push its SQE.
    pub(crate) fn submit(
        &mut self,
        entry: squeue::Entry,
        waker: Option<Waker>,
        reclaim: Reclaim,
    ) -> Key {
        let key = self.ops.insert(Lifecycle::Waiting {
            waker,
            partial: None,
            reclaim,
        });
        self.push(entry.user_data(key.to_u64()), false);
        key
    }

    /// Submit one op and wait for it here, for a synchronous caller (an op the kernel finishes
    /// as it issues it, such as a socket option): its result, or `None` off the ring's thread.
    /// `payload` owns what the entry points at; should the op not finish within a second, it
    /// is orphaned with the payload (rule 1) and `None` is returned.
    pub(crate) fn complete_now(
        &mut self,
        entry: squeue::Entry,
        payload: Box<dyn Any + Send>,
    ) -> Option<i32> {
        if self.abandoned || !self.is_issuer() {
            return None;
        }
        let key = self.submit(entry, None, Reclaim::Nothing);
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        loop {
            // Returns as soon as a completion is there: at once for an op finished at issue.
            self.submit_and_wait(1, Some(Duration::from_millis(10)), 0);
            self.reap();
            if let Some(Lifecycle::Completed { res, .. }) = self.ops.get(key) {
                let res = *res;
                self.ops.remove(key);
                self.to_drop.push(payload);
                return Some(res);
            }
            if std::time::Instant::now() >= deadline {
                self.orphan(key, Some(payload), Reclaim::Nothing);
                return None;
            }
        }
    }

    /// Register a multishot request and push its SQE.
    pub(crate) fn submit_multishot(
        &mut self,
        entry: squeue::Entry,
        waker: Option<Waker>,
        reclaim: Reclaim,
    ) -> Key {
        let key = self.ops.insert(Lifecycle::Streaming {
            waker,
            queue: VecDeque::new(),
            finished: false,
            reclaim,
        });
        self.push(entry.user_data(key.to_u64()), false);
        key
    }

    /// The longest chain this ring can take in one submission.
    pub(crate) fn max_chain(&self) -> usize {
        self.ring.params().sq_entries() as usize
    }

    /// Register and push several SQEs back to back; `link` chains them with IOSQE_IO_LINK.
    /// Returns `None` (nothing pushed) when a chain is longer than the SQ.
    pub(crate) fn submit_list(
        &mut self,
        entries: Vec<(squeue::Entry, Reclaim)>,
        waker: &Waker,
        link: bool,
    ) -> Option<Vec<Key>> {
        let n = entries.len();
        if link && n > self.ring.params().sq_entries() as usize {
            return None;
        }
        let mut keys = Vec::with_capacity(n);
        for (i, (entry, reclaim)) in entries.into_iter().enumerate() {
            let key = self.ops.insert(Lifecycle::Waiting {
                waker: Some(waker.clone()),
                partial: None,
                reclaim,
            });
            let mut entry = entry.user_data(key.to_u64());
            let linked = link && i + 1 < n;
            if linked {
                entry = entry.flags(squeue::Flags::IO_LINK);
            }
            self.push(entry, linked);
            keys.push(key);
        }
        Some(keys)
    }

    /// Submit whatever is queued, without waiting.
    pub(crate) fn flush_pending(&mut self) {
        if !self.pending.is_empty() && self.is_issuer() {
            self.submit_and_wait(0, None, 0);
            self.reap();
        }
    }

    /// Register a provided-buffer ring here (bufring rule 2).
    pub(crate) fn register_buf_ring(
        &mut self,
        ring_layout: std::alloc::Layout,
        pool_layout: std::alloc::Layout,
        entries: u16,
        buf_size: usize,
    ) -> io::Result<std::sync::Arc<bufring::Shared>> {
        if !self.is_issuer() {
            return Err(io::Error::other(
                "a buffer ring can only be registered by the thread driving the ring",
            ));
        }
        self.buf_rings.retain(|_, w| w.strong_count() > 0);
        let mut bgid = self.next_bgid;
        while self.buf_rings.contains_key(&bgid) {
            bgid = bgid.wrapping_add(1);
        }
        self.next_bgid = bgid.wrapping_add(1);
        let shared = bufring::register(
            &self.ring.submitter(),
            ring_layout,
            pool_layout,
            entries,
            buf_size,
            bgid,
            self.id,
        )?;
        self.buf_rings
            .insert(bgid, std::sync::Arc::downgrade(&shared));
        Ok(shared)
    }

    /// Unregister a provided-buffer ring; false when the ring cannot be entered (the caller
    /// then leaks the memory, bufring rule 2).
    pub(crate) fn unregister_buf_ring(&mut self, bgid: u16) -> bool {
        if self.abandoned || !self.is_issuer() {
            return false;
        }
        self.buf_rings.remove(&bgid);
        self.registration_cleanup("unregistering a provided-buffer ring", |ring| {
            ring.submitter().unregister_buf_ring(bgid)
        })
    }

    /// Run a registration call that undoes something (cleanup.rs): tried again as
    /// `OnCleanupError::Retry` allows, then counted and reported if it still fails.
    fn registration_cleanup(
        &mut self,
        what: &'static str,
        call: impl Fn(&IoUring) -> io::Result<()>,
    ) -> bool {
        let mut tries = self.config.cleanup.retries();
        loop {
            match call(&self.ring) {
                Ok(()) => return true,
                Err(e) if tries > 0 && cleanup::retryable(&e) => tries -= 1,
                Err(e) => {
                    self.cleanup_failed(what, e.raw_os_error().unwrap_or(libc::EIO));
                    return false;
                }
            }
        }
    }

    /// Install `fd` in a free slot of the registered-file table (direct rule 2).
    pub(crate) fn register_fixed(&mut self, fd: RawFd) -> io::Result<u32> {
        let slot = self.reserve_fixed_slot()?;
        if let Err(e) = direct::update_slot(&self.ring.submitter(), slot, fd) {
            self.release_slot(slot);
            return Err(e);
        }
        Ok(slot)
    }

    /// Reserve an empty registered-file slot (the table is registered on first use). A chain
    /// that creates a direct descriptor in it releases it with `unregister_fixed` once the chain
    /// is over, or through its last op (`Reclaim::FreeSlot`) if its future is dropped first
    /// (direct rule 3).
    pub(crate) fn reserve_fixed_slot(&mut self) -> io::Result<u32> {
        if !self.is_issuer() {
            return Err(io::Error::other(
                "a registered-file slot can only be taken by the thread driving the ring",
            ));
        }
        if self.fixed.is_none() {
            self.ring
                .submitter()
                .register_files_sparse(direct::TABLE_SIZE)?;
            self.fixed = Some(direct::FixedTable::new());
        }
        let table = self.fixed.as_mut().expect("created above");
        let slot = table.take().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                "the ring's table of direct descriptors is full",
            )
        })?;
        Ok(slot)
    }

    fn release_slot(&mut self, slot: u32) {
        if let Some(t) = self.fixed.as_mut() {
            t.give_back(slot);
        }
    }

    /// Clear and reuse the slots of reserved chains that ended without their future; a slot
    /// that cannot be cleared now stays on the list for the next reap.
    fn clear_free_slots(&mut self) {
        if self.abandoned {
            return; // the table goes with the ring
        }
        for slot in std::mem::take(&mut self.free_slots) {
            self.free_reserved(slot);
        }
    }

    /// Clear and take back a reserved slot whose chain is over, or keep it for the next reap
    /// if it cannot be cleared now.
    fn free_reserved(&mut self, slot: u32) {
        if self.clear_slot(slot) {
            self.release_slot(slot);
        } else {
            self.free_slots.push(slot);
        }
    }

    /// A reserved slot whose chain is over (every op has its final result): clear it and take
    /// it back, or leave that to the next reap if it cannot be cleared now. False off the
    /// ring's thread or after shutdown.
    pub(crate) fn release_reserved_slot(&mut self, slot: u32) -> bool {
        if self.abandoned || !self.is_issuer() {
            return false;
        }
        self.free_reserved(slot);
        true
    }

    /// Empty a slot once everything queued ahead of it is submitted (direct rule 2).
    fn clear_slot(&mut self, slot: u32) -> bool {
        if !self.pending.is_empty() {
            self.submit_and_wait(0, None, 0);
        }
        self.registration_cleanup("clearing a direct descriptor's slot", |ring| {
            direct::update_slot(&ring.submitter(), slot, -1)
        })
    }

    /// Clear the slot of a dropped direct descriptor. Its ops cannot be live (they borrow the
    /// descriptor), but some may have been dropped while still in the kernel, where a linked or
    /// punted op resolves its slot only when it is issued: the slot is reused only once every
    /// op orphaned at this point has its final CQE (direct rule 2).
    pub(crate) fn unregister_fixed(&mut self, slot: u32) -> bool {
        if self.abandoned || !self.is_issuer() {
            return false;
        }
        if !self.clear_slot(slot) {
            return false;
        }
        let orphans: Vec<Key> = self
            .ops
            .iter_mut()
            .filter(|(_, op)| matches!(op, Lifecycle::Orphaned { .. }))
            .map(|(key, _)| key)
            .collect();
        if orphans.is_empty() {
            self.release_slot(slot);
        } else {
            self.quarantine.push((slot, orphans));
        }
        true
    }

    /// Reuse quarantined slots whose orphaned ops have all finished.
    fn end_quarantines(&mut self) {
        let ops = &self.ops;
        let mut done = Vec::new();
        self.quarantine.retain_mut(|(slot, keys)| {
            keys.retain(|k| matches!(ops.get(*k), Some(Lifecycle::Orphaned { .. })));
            if keys.is_empty() {
                done.push(*slot);
            }
            !keys.is_empty()
        });
        for slot in done {
            self.release_slot(slot);
        }
    }

    /// Close `fd` on this ring without anyone awaiting it (a dropped file or socket). Returns
    /// false when the ring cannot take it (given up at shutdown, or not this thread's), and
    /// the caller closes it directly.
    pub(crate) fn close_detached(&mut self, fd: RawFd) -> bool {
        if self.abandoned || !self.is_issuer() {
            return false;
        }
        self.detached_closes += 1;
        let close = opcode::Close::new(types::Fd(fd))
            .build()
            .user_data(CLOSE_UD);
        self.push(close, false);
        true
    }

    /// The final result of a single-shot op, or `None` after storing `waker`.
    pub(crate) fn poll_op(&mut self, key: Key, waker: &Waker) -> Option<(i32, u32)> {
        match self.ops.get_mut(key) {
            Some(Lifecycle::Completed { res, flags, .. }) => {
                let out = (*res, *flags);
                self.ops.remove(key);
                Some(out)
            }
            Some(Lifecycle::Waiting { waker: slot, .. }) => {
                if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    if let Some(old) = slot.replace(waker.clone()) {
                        self.defer_waker_drop(old);
                    }
                }
                None
            }
            _ => Some((-libc::ECANCELED, 0)),
        }
    }

    /// The next CQE of a multishot request; `Ok(None)` when it has ended (the slot is freed).
    pub(crate) fn poll_stream(
        &mut self,
        key: Key,
        waker: &Waker,
    ) -> Result<Option<(i32, u32)>, ()> {
        match self.ops.get_mut(key) {
            Some(Lifecycle::Streaming {
                waker: slot,
                queue,
                finished,
                ..
            }) => {
                if let Some(item) = queue.pop_front() {
                    return Ok(Some(item));
                }
                if *finished {
                    self.ops.remove(key);
                    return Ok(None);
                }
                if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    if let Some(old) = slot.replace(waker.clone()) {
                        self.defer_waker_drop(old);
                    }
                }
                Err(())
            }
            _ => Ok(None),
        }
    }

    /// The owner of `key` is gone. Cancel it if it is still in flight and keep `payload` until
    /// the final CQE (rule 1); otherwise undo what its unclaimed results hold.
    pub(crate) fn orphan(
        &mut self,
        key: Key,
        payload: Option<Box<dyn Any + Send>>,
        reclaim: Reclaim,
    ) {
        let Some(slot) = self.ops.get_mut(key) else {
            if self.abandoned {
                // Rule 5: the slab was given up with ops still in flight; this payload may be
                // one of them.
                std::mem::forget(payload);
                self.stats.leaked += 1;
            } else {
                // The final CQE came in after the slot was orphaned at shutdown (or the slot
                // was reused): the kernel is done with this payload.
                self.to_drop.extend(payload);
            }
            return;
        };
        match slot {
            Lifecycle::Completed { res, flags, .. } => {
                self.stats.reclaimed_fds +=
                    reclaim.apply(*res, *flags, &self.buf_rings, &mut self.free_slots) as u64;
                self.ops.remove(key);
                self.to_drop.extend(payload);
            }
            Lifecycle::Streaming {
                queue,
                finished: true,
                ..
            } => {
                for (res, flags) in queue.drain(..) {
                    self.stats.reclaimed_fds +=
                        reclaim.apply(res, flags, &self.buf_rings, &mut self.free_slots) as u64;
                }
                self.ops.remove(key);
                self.to_drop.extend(payload);
            }
            Lifecycle::Waiting { partial, .. } => {
                if let Some((res, flags)) = partial.take() {
                    self.stats.reclaimed_fds +=
                        reclaim.apply(res, flags, &self.buf_rings, &mut self.free_slots) as u64;
                }
                self.orphan_in_flight(key, payload, reclaim);
            }
            Lifecycle::Streaming { queue, .. } => {
                for (res, flags) in queue.drain(..) {
                    self.stats.reclaimed_fds +=
                        reclaim.apply(res, flags, &self.buf_rings, &mut self.free_slots) as u64;
                }
                self.orphan_in_flight(key, payload, reclaim);
            }
            Lifecycle::Orphaned { keep_alive, .. } => {
                // Orphaned at shutdown while its future still lived; the future's payload
                // is the one the kernel uses, so it joins the slot until the final CQE.
                if keep_alive.is_none() {
                    *keep_alive = payload;
                } else {
                    debug_assert!(payload.is_none(), "op orphaned twice");
                    std::mem::forget(payload);
                }
            }
        }
    }

    fn orphan_in_flight(
        &mut self,
        key: Key,
        payload: Option<Box<dyn Any + Send>>,
        reclaim: Reclaim,
    ) {
        self.stats.cancelled += 1;
        let ud = key.to_u64();
        if let Some(p) = self
            .pending
            .iter_mut()
            .rev()
            .find(|p| p.entry.get_user_data() == ud)
        {
            // The kernel has not seen this SQE: turn it into a NOP (keeping its place in a
            // chain) and free the op now. Rule 1 holds: nothing was ever handed to the kernel.
            // An op that must run anyway (a close) stays and completes as a detached close;
            // such ops carry no pointers, so freeing the payload is still sound.
            if reclaim == Reclaim::Detach {
                p.entry = p.entry.clone().user_data(CLOSE_UD);
                self.detached_closes += 1;
            } else {
                if let Reclaim::FreeSlot(op::ReservedSlot(slot)) = reclaim {
                    // The whole chain is unsubmitted (chains are never split), so the kernel
                    // never sees the slot: free it at the next reap.
                    self.free_slots.push(slot);
                }
                let mut nop = opcode::Nop::new().build().user_data(DISCARDED_UD);
                if p.linked {
                    nop = nop.flags(squeue::Flags::IO_LINK);
                }
                p.entry = nop;
            }
            if let Some(
                Lifecycle::Waiting { waker: Some(w), .. }
                | Lifecycle::Streaming { waker: Some(w), .. },
            ) = self.ops.remove(key)
            {
                self.defer_waker_drop(w);
            }
            self.to_drop.extend(payload);
            return;
        }
        let old = std::mem::replace(
            self.ops.get_mut(key).expect("checked by caller"),
            Lifecycle::Orphaned {
                keep_alive: payload,
                reclaim,
            },
        );
        if let Lifecycle::Waiting { waker: Some(w), .. }
        | Lifecycle::Streaming { waker: Some(w), .. } = old
        {
            // Dropping a waker can run user code; do it outside the borrow.
            self.defer_waker_drop(w);
        }
        self.orphans += 1;
        let cancel = opcode::AsyncCancel::new(ud).build().user_data(CANCEL_UD);
        self.push(cancel, false);
    }

    /// Orphan the ops other threads dropped (rule 4): cancels are queued for the next
    /// submission, and the payloads wait in their slots for the final CQEs.
    /// Returns whether there was any.
    fn take_mail(&mut self) -> bool {
        let mut mail = Vec::new();
        self.mailbox.take(&mut mail);
        let any = !mail.is_empty();
        for item in mail {
            match item {
                Mail::Op(key, payload, reclaim) => self.orphan(key, payload, reclaim),
                Mail::DirectSlot(slot) => {
                    self.unregister_fixed(slot);
                }
                Mail::BufRing(bgid, memory) => {
                    if self.unregister_buf_ring(bgid) {
                        self.to_drop.push(memory);
                    } else {
                        // Bufring rule 2: the kernel may still write into it.
                        std::mem::forget(memory);
                    }
                }
            }
        }
        any
    }

    fn defer_waker_drop(&mut self, waker: Waker) {
        self.stale_wakers.push(waker);
    }

    /// Process every CQE in the CQ, flushing a kernel-side overflow backlog too.
    pub(crate) fn reap(&mut self) {
        self.reap_cqes();
        if !self.failed_cleanups.is_empty() {
            for (what, errno) in std::mem::take(&mut self.failed_cleanups) {
                self.cleanup_failed(what, errno);
            }
        }
        if !self.free_slots.is_empty() {
            self.clear_free_slots();
        }
        if !self.quarantine.is_empty() {
            self.end_quarantines();
        }
    }

    fn reap_cqes(&mut self) {
        loop {
            let Driver {
                ring,
                ops,
                orphans,
                stats,
                to_wake,
                to_drop,
                eventfd,
                eventfd_armed,
                eventfd_multishot,
                detached_closes,
                buf_rings,
                free_slots,
                failed_cleanups: failed,
                ..
            } = self;
            let reap_budget = &mut self.reap_budget;
            let mut cq = ring.completion();
            cq.sync();
            loop {
                if *reap_budget == 0 {
                    // The rest waits in the CQ for the next look (checked before taking a CQE,
                    // so none is consumed unhandled; overflow is flushed then).
                    return;
                }
                let Some(cqe) = cq.next() else { break };
                *reap_budget -= 1;
                stats.cqes += 1;
                let (ud, res, flags) = (cqe.user_data(), cqe.result(), cqe.flags());
                if ud & INTERNAL != 0 {
                    match ud {
                        EVENTFD_UD => {
                            if res == -libc::EINVAL && *eventfd_multishot {
                                // A kernel without multishot poll (< 5.13): one-shot from now.
                                *eventfd_multishot = false;
                            } else {
                                drain_eventfd(*eventfd);
                            }
                            if !cqueue::more(flags) {
                                *eventfd_armed = false;
                            }
                        }
                        DISCARDED_UD => {}
                        // Not found (it completed first) and already running (it will
                        // complete) are a cancel's ordinary answers.
                        CANCEL_UD => {
                            if res < 0 && res != -libc::ENOENT && res != -libc::EALREADY {
                                failed.push(("cancelling a dropped operation", -res));
                            }
                        }
                        CLOSE_UD => {
                            *detached_closes -= 1;
                            if res < 0 {
                                failed.push(("closing a dropped file or socket", -res));
                            }
                        }
                        _ => stats.unknown_cqes += 1,
                    }
                    continue;
                }
                let key = Key::from_u64(ud);
                let more = cqueue::more(flags);
                let Some(slot) = ops.get_mut(key) else {
                    stats.unknown_cqes += 1;
                    continue;
                };
                match slot {
                    Lifecycle::Waiting {
                        waker,
                        partial,
                        reclaim,
                    } => {
                        if more {
                            partial.get_or_insert((res, flags));
                            continue;
                        }
                        let (res, flags) = partial.take().unwrap_or((res, flags));
                        to_wake.extend(waker.take());
                        *slot = Lifecycle::Completed {
                            res,
                            flags,
                            reclaim: *reclaim,
                        };
                    }
                    Lifecycle::Streaming {
                        waker,
                        queue,
                        finished,
                        ..
                    } => {
                        if *finished {
                            stats.unknown_cqes += 1;
                            continue;
                        }
                        queue.push_back((res, flags));
                        *finished = !more;
                        to_wake.extend(waker.take());
                    }
                    Lifecycle::Orphaned { reclaim, .. } => {
                        stats.reclaimed_fds +=
                            reclaim.apply(res, flags, buf_rings, free_slots) as u64;
                        if !more {
                            if let Some(Lifecycle::Orphaned { keep_alive, .. }) = ops.remove(key) {
                                // Rule 1: the final CQE is in; the payload may go.
                                to_drop.extend(keep_alive);
                            }
                            *orphans -= 1;
                        }
                    }
                    Lifecycle::Completed { .. } => stats.unknown_cqes += 1,
                }
            }
            drop(cq);
            if !self.ring.submission().cq_overflow() {
                return;
            }
            self.stats.cq_overflow_flushes += 1;
            if let Err(e) = self.enter(0, 0, None, 0) {
                tracing::warn!("io_uring_enter failed while flushing CQ overflow: {e}");
                return;
            }
        }
    }

    /// Whether nothing lives on this ring: no op in flight or queued, no registered buffer ring
    /// or file, no close pending (a spare worker may then retire).
    pub(crate) fn is_quiet(&self) -> bool {
        self.ops.len() == 0
            && self.pending.is_empty()
            && self.detached_closes == 0
            && self.buf_rings.is_empty()
            && self.fixed.is_none()
    }

    /// Submit what is queued and collect completions without blocking. Skips the syscall when
    /// there is nothing to submit and the kernel has flagged no pending completion work.
    pub(crate) fn poll_completions(&mut self) {
        let _ = self.take_mail();
        let must_enter = !self.pending.is_empty()
            || (self.ops.len() > 0
                && (!self.features.taskrun_flag || self.ring.submission().taskrun()))
            || self.ring.submission().cq_overflow();
        if must_enter {
            self.submit_and_wait(0, None, 0);
        }
        self.reap_budget = self.config.events_per_busy_tick;
        self.reap();
        self.reap_budget = u32::MAX;
    }

    /// Sleep in the kernel until a completion arrives, a remote wake writes the eventfd, or
    /// `timeout` passes.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        let _ = self.take_mail();
        if !self.eventfd_armed {
            let poll = opcode::PollAdd::new(types::Fd(self.eventfd), libc::POLLIN as u32)
                .multi(self.eventfd_multishot)
                .build()
                .user_data(EVENTFD_UD);
            self.push(poll, false);
            self.eventfd_armed = true;
        }
        // Anything already in the CQ counts as an event: do not sleep past it.
        if !self.ring.completion().is_empty() {
            self.poll_completions();
            return;
        }
        // A timeout is always given so a lost wakeup can never hang the thread for good. (It
        // also matters to coalescing: with no overall timeout the kernel would end the wait
        // when the window passes even with no completion at all.)
        let timeout = timeout.unwrap_or(Duration::from_secs(3600));
        // Coalescing (see `Builder::coalesce_completions`) waits for more completions than
        // one, but never for more than ops are in flight (a multishot op may post several,
        // but a lone ping-pong connection should not pay the window), and its window never
        // reaches past the timeout: the kernel ends a coalesced wait when the window passes,
        // not before, so a longer one would make timers late.
        let (count, window_usec) = match self.config.coalesce {
            Some((count, window)) if self.features.min_timeout => {
                let count = count.min(self.ops.len() as u32);
                let usec = window.min(timeout).as_micros().min(u32::MAX as u128) as u32;
                if count > 1 && usec > 0 {
                    self.stats.coalesced_waits += 1;
                    (count, usec)
                } else {
                    (1, 0)
                }
            }
            _ => (1, 0),
        };
        self.submit_and_wait(count, Some(timeout), window_usec);
        self.reap_budget = self.config.events_per_tick;
        self.reap();
        self.reap_budget = u32::MAX;
        // Mail that woke us: cancel its ops before the thread goes back to its tasks, which
        // may count on the dropped descriptors being closed (a listener refusing connects).
        if self.take_mail() {
            self.flush_pending();
        }
    }

    /// Swap the wakers and payloads released by the last driver calls into `out`, to be
    /// handled outside the borrow. Swapping (rather than taking) keeps both sides' capacity.
    pub(crate) fn take_deferred(&mut self, out: &mut Deferred) {
        std::mem::swap(&mut self.to_wake, &mut out.wake);
        std::mem::swap(&mut self.stale_wakers, &mut out.stale);
        std::mem::swap(&mut self.to_drop, &mut out.drops);
        std::mem::swap(&mut self.failures, &mut out.failures);
    }

    pub(crate) fn has_deferred(&self) -> bool {
        !self.to_wake.is_empty()
            || !self.stale_wakers.is_empty()
            || !self.to_drop.is_empty()
            || !self.failures.is_empty()
    }

    /// A cleanup failed (cleanup.rs): counted now, reported by the policy after the borrow.
    fn cleanup_failed(&mut self, what: &'static str, errno: i32) {
        self.stats.cleanup_failures += 1;
        let policy = &self.config.cleanup;
        policy
            .failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if policy.on_error != OnCleanupError::Ignore {
            self.failures.push(cleanup::Failure {
                what,
                errno,
                on_error: policy.on_error,
            });
        }
    }

    /// Rule 5: cancel everything in flight (futures are already gone, so everything left is an
    /// orphan or an unclaimed result) and wait up to `deadline` for the final CQEs.
    pub(crate) fn shutdown(&mut self, grace: Duration) {
        let _ = self.take_mail();
        // Ops whose futures still live (returned out of block_on, leaked): cancel them too,
        // undoing only what their own kind says their results hold.
        let keys: Vec<(Key, Reclaim)> = self
            .ops
            .iter_mut()
            .filter_map(|(k, l)| match l {
                Lifecycle::Waiting { reclaim, .. }
                | Lifecycle::Streaming { reclaim, .. }
                | Lifecycle::Completed { reclaim, .. } => Some((k, *reclaim)),
                Lifecycle::Orphaned { .. } => None,
            })
            .collect();
        for (key, reclaim) in keys {
            self.orphan(key, None, reclaim);
        }
        if self.features.single_issuer && self.issuer.is_some() && !self.is_issuer() {
            self.leak_all("the runtime was dropped on a thread that cannot enter its ring");
            return;
        }
        let start = std::time::Instant::now();
        while self.orphans > 0 || self.detached_closes > 0 || !self.pending.is_empty() {
            let elapsed = start.elapsed();
            if elapsed >= grace {
                self.leak_all(
                    "in-flight operations did not finish within the shutdown grace period",
                );
                return;
            }
            self.submit_and_wait(1, Some((grace - elapsed).min(Duration::from_millis(50))), 0);
            self.reap();
        }
    }

    fn leak_all(&mut self, why: &str) {
        let mut leaked = 0u64;
        for (_, life) in self.ops.iter_mut() {
            match life {
                Lifecycle::Orphaned { keep_alive, .. } => {
                    if let Some(p) = keep_alive.take() {
                        // Rule 5: the kernel may still write into it; leaking is the only safe
                        // choice.
                        std::mem::forget(p);
                        leaked += 1;
                    }
                }
                // A finished result nobody will take (an accepted or opened fd): undo it.
                Lifecycle::Completed {
                    res,
                    flags,
                    reclaim,
                } => {
                    self.stats.reclaimed_fds +=
                        reclaim.apply(*res, *flags, &self.buf_rings, &mut self.free_slots) as u64;
                }
                _ => {}
            }
        }
        if leaked > 0 {
            tracing::warn!("ringolo: leaked {leaked} in-flight operation payload(s): {why}");
        }
        self.stats.leaked += leaked;
        self.ops.drain();
        self.orphans = 0;
        self.abandoned = true;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Nothing left in the slab: every op this ring ever had is finished, so the payloads
        // of ops dropped elsewhere from now on are the kernel's no more (mailbox rule 2).
        let finished = self.ops.len() == 0 && !self.abandoned;
        let late = mailbox::Mailbox::close(self.id, finished);
        if !late.is_empty() && !finished {
            // Rule 4: the kernel may still use those payloads, and nothing will reap them.
            self.stats.leaked += late.len() as u64;
            late.into_iter().for_each(std::mem::forget);
        }
        if self.orphans > 0 {
            // Rule 5: dropped without a finished shutdown (a worker or block_on that unwound):
            // closing the ring does not stop the kernel at once, so what it may still write
            // into is leaked, never freed.
            self.leak_all("the ring was dropped without waiting for its in-flight operations");
        }
    }
}

fn drain_eventfd(fd: RawFd) {
    let mut buf = 0u64;
    // SAFETY: rule 6 — an 8-byte read into a local from the runtime's own non-blocking eventfd.
    unsafe { libc::read(fd, (&mut buf as *mut u64).cast(), 8) };
}

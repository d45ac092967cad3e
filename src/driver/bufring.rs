//! Provided-buffer rings (`IORING_REGISTER_PBUF_RING`): a pool of equal buffers the kernel
//! picks from when a multishot `recv` completes, so no buffer is tied up in waiting reads.
//!
//! # Rules
//!
//! 1. **One owner per buffer.** A buffer id is either in the ring (the kernel may write into
//!    it at any time) or owned by exactly one `RingBuf` (or by the driver while it recycles an
//!    unclaimed completion); it is written into the ring again only by `recycle`, when that
//!    owner lets go.
//! 2. **Memory outlives registration.** The ring memory is allocated page-aligned (the page
//!    size comes from `sysconf`, a query that takes no pointers), as registration requires.
//!    The ring and the pool are freed only after the ring
//!    is unregistered from its io_uring, which happens on the thread that drives that
//!    io_uring; everything that can still hand the kernel this group (an in-flight recv, an
//!    unreturned buffer) holds a reference. If the last reference goes on another thread, the
//!    memory (a `Memory`) goes to the ring's mailbox, whose thread unregisters the group and
//!    then frees it; if that ring is gone it is freed only if the ring finished every op
//!    (mailbox rule 2), and leaked otherwise.
//! 3. **Ring-bound.** A buffer group id means something only on the io_uring it was
//!    registered with; a `BufRing` is used only by ops submitted to that ring.

use std::alloc::{self, Layout};
use std::collections::HashMap;
use std::io;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU16;
use std::sync::{Arc, Weak};

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::Mutex;

use io_uring::types::BufRingEntry;

use crate::runtime::context;

pub(crate) type BufRings = HashMap<u16, Weak<Shared>>;

pub(crate) struct Shared {
    ring: NonNull<BufRingEntry>,
    ring_layout: Layout,
    pool: NonNull<u8>,
    pool_layout: Layout,
    entries: u16,
    buf_size: usize,
    bgid: u16,
    driver: u64,
    /// Our copy of the tail (the published one lives in the first entry, rule 1), and the
    /// recv streams waiting, after the ring ran dry, for a buffer to come back: one lock for
    /// both, taken once per returned buffer.
    tail: Mutex<Tail>,
    /// Buffers owned by userspace right now (`RingBuf`s alive).
    out: AtomicUsize,
}

struct Tail {
    next: u16,
    waiters: Vec<std::task::Waker>,
}

// SAFETY: rule 1 — the raw pointers are to memory this struct owns; the kernel-shared tail is
// written under the `tail` mutex, and a buffer's bytes are touched only by its single owner.
unsafe impl Send for Shared {}
// SAFETY: rule 1, as above: shared access writes the kernel-shared tail only under the
// `tail` mutex, and a buffer's bytes only through its single owner.
unsafe impl Sync for Shared {}

/// A ring of `entries` provided buffers of `buf_size` bytes each, registered with the current
/// thread's io_uring. Cheap to clone; bound to that ring (rule 3).
pub struct BufRing {
    shared: Arc<Shared>,
    /// Keeps the task holding this handle on the ring's worker (task rule 10).
    binding: super::direct::ResourceBinding,
}

impl Clone for BufRing {
    /// Another handle, bound to the task being polled (and re-bound to whichever task uses it).
    fn clone(&self) -> BufRing {
        let binding = context::with_driver(|d| super::direct::ResourceBinding::new(d));
        BufRing {
            shared: self.shared.clone(),
            binding: binding.unwrap_or_default(),
        }
    }
}

impl std::fmt::Debug for BufRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufRing")
            .field("bgid", &self.shared.bgid)
            .field("entries", &self.shared.entries)
            .field("buf_size", &self.shared.buf_size)
            .finish()
    }
}

impl BufRing {
    /// Register a ring of `entries` (a power of two, at most 32768) buffers of `buf_size`
    /// bytes with this thread's runtime.
    pub fn new(entries: u16, buf_size: usize) -> io::Result<BufRing> {
        if !entries.is_power_of_two()
            || entries > 32768
            || buf_size == 0
            || buf_size > u32::MAX as usize
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a buffer ring needs a power-of-two entry count up to 32768 and a non-zero buffer size",
            ));
        }
        let too_big = || io::Error::new(io::ErrorKind::InvalidInput, "buffer ring too large");
        // SAFETY: rule 2 — the page-size query it names; no pointers, no memory of ours.
        let page = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(4096) as usize;
        let ring_bytes = (entries as usize)
            .checked_mul(std::mem::size_of::<BufRingEntry>())
            .ok_or_else(too_big)?;
        let pool_bytes = (entries as usize)
            .checked_mul(buf_size)
            .ok_or_else(too_big)?;
        let ring_layout = Layout::from_size_align(ring_bytes, page).map_err(|_| too_big())?;
        let pool_layout = Layout::from_size_align(pool_bytes, 64).map_err(|_| too_big())?;
        let registered = context::with_driver(|driver| {
            driver
                .register_buf_ring(ring_layout, pool_layout, entries, buf_size)
                .map(|shared| (shared, super::direct::ResourceBinding::new(driver)))
        });
        let (shared, binding) = registered
            .ok_or_else(|| io::Error::other("BufRing::new called outside a ringolo runtime"))??;
        Ok(BufRing { shared, binding })
    }

    /// The buffer group id ops use to select from this ring.
    pub fn bgid(&self) -> u16 {
        self.shared.bgid
    }

    /// Buffers currently held by userspace (not available to the kernel).
    pub fn buffers_out(&self) -> usize {
        self.shared.out.load(Ordering::Acquire)
    }

    /// Number of buffers in the ring.
    pub fn entries(&self) -> u16 {
        self.shared.entries
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The ring is being used on `driver` by the task being polled (rule 3, task rule 10).
    pub(crate) fn use_on(&self, driver: &super::Driver) {
        if driver.id == self.shared.driver {
            self.binding.use_on(driver);
        }
    }
}

impl Shared {
    fn buf_ptr(&self, bid: u16) -> *mut u8 {
        // SAFETY: rule 1 — `bid < entries`, so the offset is inside the pool.
        unsafe { self.pool.as_ptr().add(bid as usize * self.buf_size) }
    }

    /// Put buffer `bid` back in the ring for the kernel (rule 1: its owner let go).
    pub(crate) fn recycle(&self, bid: u16) {
        let _ = self.put_back(bid);
    }

    /// `recycle`, handing back the recv streams that waited for a buffer (to wake outside the
    /// lock).
    fn put_back(&self, bid: u16) -> Vec<std::task::Waker> {
        if bid >= self.entries {
            return Vec::new();
        }
        let mut guard = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        let Tail {
            next: tail,
            waiters,
        } = &mut *guard;
        let idx = (*tail & (self.entries - 1)) as usize;
        // SAFETY: rule 1 — the slot at our tail is not visible to the kernel until the tail
        // is published below, and we hold the tail lock.
        unsafe {
            let entry = &mut *self.ring.as_ptr().add(idx);
            entry.set_addr(self.buf_ptr(bid) as u64);
            entry.set_len(self.buf_size as u32);
            entry.set_bid(bid);
        }
        *tail = tail.wrapping_add(1);
        // SAFETY: rule 1 — the tail field lives in the ring memory we own; the kernel reads it
        // with acquire semantics, so the entry written above is visible before the new tail.
        let shared_tail = unsafe { &*(BufRingEntry::tail(self.ring.as_ptr()) as *const AtomicU16) };
        shared_tail.store(*tail, Ordering::Release);
        std::mem::take(waiters)
    }

    /// A completion that selected buffer `bid` with `len` bytes, handed to userspace; `None`
    /// for an id this ring never handed out.
    pub(crate) fn take(self: &Arc<Self>, bid: u16, len: usize) -> Option<RingBuf> {
        if bid >= self.entries {
            return None;
        }
        self.out.fetch_add(1, Ordering::AcqRel);
        Some(RingBuf {
            shared: self.clone(),
            bid,
            len: len.min(self.buf_size),
        })
    }

    /// The id of the driver (ring) this buffer ring is registered with (rule 3).
    pub(crate) fn driver(&self) -> u64 {
        self.driver
    }

    pub(crate) fn bgid(&self) -> u16 {
        self.bgid
    }

    /// Whether some buffer is in the ring for the kernel to pick.
    pub(crate) fn has_free(&self) -> bool {
        self.out.load(Ordering::Acquire) < usize::from(self.entries)
    }

    /// Wake `waker` when a buffer next comes back; false if one is free already (checked
    /// under the same lock the returning side takes, so the wake cannot be missed).
    pub(crate) fn wait_for_free(&self, waker: &std::task::Waker) -> bool {
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        if self.has_free() {
            return false;
        }
        let waiters = &mut tail.waiters;
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push(waker.clone());
        }
        true
    }
}

/// A buffer ring's two blocks, freed when dropped (only once the kernel let go, rule 2).
struct Memory {
    ring: NonNull<BufRingEntry>,
    ring_layout: Layout,
    pool: NonNull<u8>,
    pool_layout: Layout,
}

// SAFETY: rule 2 — plain memory owned by this value alone; moving it to the ring's thread
// (the mailbox) moves that ownership.
unsafe impl Send for Memory {}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: rule 2 — dropped only after the kernel forgot this ring (unregistered, or its
        // io_uring finished); both blocks were allocated with these layouts.
        unsafe {
            alloc::dealloc(self.ring.as_ptr().cast(), self.ring_layout);
            alloc::dealloc(self.pool.as_ptr(), self.pool_layout);
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let (bgid, id) = (self.bgid, self.driver);
        let memory = Memory {
            ring: self.ring,
            ring_layout: self.ring_layout,
            pool: self.pool,
            pool_layout: self.pool_layout,
        };
        let here =
            context::with_driver(|d| (d.id == id).then(|| d.unregister_buf_ring(bgid))).flatten();
        match here {
            Some(true) => drop(memory),
            Some(false) => {
                tracing::warn!(
                    "ringolo: a buffer ring could not be unregistered; its memory is leaked"
                );
                std::mem::forget(memory);
            }
            // Another thread's ring: that thread unregisters it, then frees the memory.
            None => match super::Mailbox::post(id, super::Mail::BufRing(bgid, Box::new(memory))) {
                super::Posted::Sent => {}
                // Mailbox rule 2: that io_uring finished every op and is gone.
                super::Posted::RingFinished(mail) => drop(mail),
                super::Posted::RingLost(mail) => {
                    tracing::warn!(
                        "ringolo: a buffer ring outlived its ring, which did not finish; its memory is leaked"
                    );
                    std::mem::forget(mail);
                }
            },
        }
    }
}

/// One provided buffer holding received bytes; back in its ring when dropped.
pub struct RingBuf {
    shared: Arc<Shared>,
    bid: u16,
    len: usize,
}

impl RingBuf {
    /// The buffer id in its group.
    pub fn bid(&self) -> u16 {
        self.bid
    }
}

impl Deref for RingBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: rule 1 — we own buffer `bid` until drop, and the kernel wrote `len` bytes.
        unsafe { std::slice::from_raw_parts(self.shared.buf_ptr(self.bid), self.len) }
    }
}

// SAFETY: buf rule 1 (stable pointer) — the bytes live in the pool, which this RingBuf's
// `Arc<Shared>` keeps allocated (bufring rule 2) and which no one else writes while this
// RingBuf owns buffer `bid` (bufring rule 1); moving the RingBuf does not move them.
unsafe impl crate::buf::IoBuf for RingBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.shared.buf_ptr(self.bid)
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
    fn bytes_total(&self) -> usize {
        self.len
    }
}

impl std::fmt::Debug for RingBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBuf")
            .field("bid", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        self.shared.out.fetch_sub(1, Ordering::AcqRel);
        for w in self.shared.put_back(self.bid) {
            w.wake();
        }
    }
}

/// Allocate, fill and register a ring on `submitter`'s io_uring (rule 2).
pub(crate) fn register(
    submitter: &io_uring::Submitter<'_>,
    ring_layout: Layout,
    pool_layout: Layout,
    entries: u16,
    buf_size: usize,
    bgid: u16,
    driver: u64,
) -> io::Result<Arc<Shared>> {
    // SAFETY: rule 2 — both layouts have non-zero sizes (checked by `BufRing::new`); the
    // blocks are owned by the Shared built below.
    let (ring, pool) = unsafe { (alloc::alloc_zeroed(ring_layout), alloc::alloc(pool_layout)) };
    let (Some(ring), Some(pool)) = (
        NonNull::new(ring.cast::<BufRingEntry>()),
        NonNull::new(pool),
    ) else {
        alloc::handle_alloc_error(ring_layout);
    };
    // SAFETY: rule 2 — the ring memory stays allocated until unregistered (Shared::drop).
    let res =
        unsafe { submitter.register_buf_ring_with_flags(ring.as_ptr() as u64, entries, bgid, 0) };
    if let Err(e) = res {
        // SAFETY: rule 2 — never registered; freed with the layouts they were allocated with.
        unsafe {
            alloc::dealloc(ring.as_ptr().cast(), ring_layout);
            alloc::dealloc(pool.as_ptr(), pool_layout);
        }
        return Err(e);
    }
    let shared = Arc::new(Shared {
        ring,
        ring_layout,
        pool,
        pool_layout,
        entries,
        buf_size,
        bgid,
        driver,
        tail: Mutex::new(Tail {
            next: 0,
            waiters: Vec::new(),
        }),
        out: AtomicUsize::new(0),
    });
    for bid in 0..entries {
        shared.recycle(bid);
    }
    Ok(shared)
}

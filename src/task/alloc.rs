//! Task memory: per-thread free lists of task cells by size class, balanced through a global
//! depot of magazines.
//!
//! Spawning in bursts (a server accepting a wave of connections, a fan-out) allocates and frees
//! many same-sized cells. Through the system allocator each burst pays for malloc/free and,
//! once the freed heap top is trimmed, for faulting the pages in again; on a multi-thread
//! runtime a task is often freed on another thread than the one that allocated it, and the
//! system allocator then takes the allocating arena's lock. Cells of up to `MAX_SIZE` bytes are
//! instead recycled through a thread-local free list per 32-byte class. A list that grows past
//! `2 * MAGAZINE` blocks hands `MAGAZINE` of them to the global depot in one locked push, and a
//! thread whose list is empty takes a whole magazine back in one locked pop, so blocks freed on
//! one worker feed allocations on another at one lock per `MAGAZINE` cells. The depot holds at
//! most `DEPOT_BYTES`; beyond that blocks go back to the global allocator. Thread-local lists
//! are emptied when their thread exits. Everything is bypassed under
//! `--cfg ringolo_no_task_cache` (the AddressSanitizer run), so that a use-after-free of a task
//! is caught.
//!
//! # Rules
//!
//! 1. A block handed out by `allocate` for a cached class has that class's layout (size a
//!    multiple of 32 at least the request, alignment 16, at least the request's); any other
//!    request is passed to the global allocator unchanged.
//! 2. A block in a free list or a depot magazine was allocated with its class's layout, its
//!    contents were dropped, and that list or magazine is its only owner.

use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

const CLASS: usize = 32;
const MAX_SIZE: usize = 512;
const CLASSES: usize = MAX_SIZE / CLASS;
const ALIGN: usize = 16;
/// Blocks moved between a thread and the depot at a time.
const MAGAZINE: usize = 128;
/// At most this many bytes of freed cells wait in the depot.
const DEPOT_BYTES: usize = 64 << 20;

struct Cache {
    free: [Vec<NonNull<u8>>; CLASSES],
}

impl Drop for Cache {
    fn drop(&mut self) {
        for (class, list) in self.free.iter_mut().enumerate() {
            for ptr in list.drain(..) {
                // SAFETY: rule 2 — allocated with this class's layout, owned by the cache alone.
                unsafe { alloc::dealloc(ptr.as_ptr(), class_layout(class)) };
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache { free: [const { Vec::new() }; CLASSES] }) };
}

/// A batch of free blocks of one class, owned by whoever holds it (rule 2).
struct Magazine(Vec<NonNull<u8>>);

// SAFETY: rule 2 — the blocks are plain memory owned by the magazine alone; moving the
// magazine to another thread moves that ownership.
unsafe impl Send for Magazine {}

static DEPOT: [Mutex<Vec<Magazine>>; CLASSES] = [const { Mutex::new(Vec::new()) }; CLASSES];
static DEPOT_USED: AtomicUsize = AtomicUsize::new(0);

/// A magazine of `class` from the depot, if one is there.
fn take_magazine(class: usize) -> Option<Vec<NonNull<u8>>> {
    let mag = DEPOT[class]
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()?;
    DEPOT_USED.fetch_sub(mag.0.len() * (class + 1) * CLASS, Ordering::Relaxed);
    Some(mag.0)
}

/// Hand a magazine of `class` to the depot, or free its blocks when the depot is full.
fn give_magazine(class: usize, blocks: Vec<NonNull<u8>>) {
    let bytes = blocks.len() * (class + 1) * CLASS;
    if DEPOT_USED.fetch_add(bytes, Ordering::Relaxed) + bytes <= DEPOT_BYTES {
        DEPOT[class]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Magazine(blocks));
        return;
    }
    DEPOT_USED.fetch_sub(bytes, Ordering::Relaxed);
    for ptr in blocks {
        // SAFETY: rule 2 — allocated with this class's layout; the magazine was its only owner.
        unsafe { alloc::dealloc(ptr.as_ptr(), class_layout(class)) };
    }
}

fn class_of(layout: Layout) -> Option<usize> {
    // Sanitizer builds (`--cfg ringolo_no_task_cache`) bypass the cache so every freed cell
    // really is freed and a use-after-free is caught.
    if cfg!(ringolo_no_task_cache) {
        return None;
    }
    (layout.align() <= ALIGN && layout.size() <= MAX_SIZE && layout.size() > 0)
        .then(|| layout.size().div_ceil(CLASS) - 1)
}

fn class_layout(class: usize) -> Layout {
    Layout::from_size_align((class + 1) * CLASS, ALIGN).expect("valid class layout")
}

/// Memory for a task cell of `layout`.
pub(super) fn allocate(layout: Layout) -> NonNull<u8> {
    let real = match class_of(layout) {
        Some(class) => {
            let cached = CACHE
                .try_with(|c| {
                    let mut c = c.borrow_mut();
                    let list = &mut c.free[class];
                    if list.is_empty() {
                        if let Some(mag) = take_magazine(class) {
                            list.extend(mag);
                        }
                    }
                    list.pop()
                })
                .ok()
                .flatten();
            if let Some(ptr) = cached {
                return ptr;
            }
            class_layout(class)
        }
        None => layout,
    };
    // SAFETY: rule 1 — `real` is the class layout or the request itself, never zero-sized
    // (`class_of` excludes size 0 and task cells always hold a header).
    let ptr = unsafe { alloc::alloc(real) };
    NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(real))
}

/// Give back memory obtained from `allocate` with the same `layout`.
///
/// # Safety
/// `ptr` came from `allocate(layout)`, its contents are already dropped, and nobody uses it
/// any more.
pub(super) unsafe fn deallocate(ptr: NonNull<u8>, layout: Layout) {
    let Some(class) = class_of(layout) else {
        // SAFETY: rule 1 — uncached requests are allocated with exactly `layout`.
        unsafe { alloc::dealloc(ptr.as_ptr(), layout) };
        return;
    };
    let cached = CACHE.try_with(|c| {
        let mut c = c.borrow_mut();
        let list = &mut c.free[class];
        list.push(ptr);
        if list.len() >= 2 * MAGAZINE {
            let mag = list.split_off(list.len() - MAGAZINE);
            drop(c);
            give_magazine(class, mag);
        }
    });
    if cached.is_err() {
        // The thread is exiting and its cache is gone.
        // SAFETY: rule 1 — blocks of this class are allocated with `class_layout(class)`.
        unsafe { alloc::dealloc(ptr.as_ptr(), class_layout(class)) };
    }
}

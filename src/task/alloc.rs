//! Task memory: a bounded per-thread cache of freed task cells, by size class.
//!
//! Spawning in bursts (a server accepting a wave of connections, a fan-out) allocates and frees
//! many same-sized cells. Through the system allocator each burst pays for malloc/free and,
//! once the freed heap top is trimmed, for faulting the pages in again. Cells of up to
//! `MAX_SIZE` bytes are instead recycled through a thread-local free list per 32-byte class,
//! holding at most `CACHE_BYTES` per thread; everything else goes to the global allocator.
//! The cache is emptied when its thread exits, and bypassed under `--cfg ringolo_no_task_cache`
//! (the AddressSanitizer run), so that a use-after-free of a task is caught.
//!
//! # Rules
//!
//! 1. A block handed out by `allocate` for a cached class has that class's layout (size a
//!    multiple of 32 at least the request, alignment 16, at least the request's); any other
//!    request is passed to the global allocator unchanged.
//! 2. A block in a free list was allocated with its class's layout, its contents were dropped,
//!    and the list is its only owner.

use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::ptr::NonNull;

const CLASS: usize = 32;
const MAX_SIZE: usize = 512;
const CLASSES: usize = MAX_SIZE / CLASS;
const ALIGN: usize = 16;
/// At most this many bytes of freed cells are kept per thread.
const CACHE_BYTES: usize = 16 << 20;

struct Cache {
    free: [Vec<NonNull<u8>>; CLASSES],
    bytes: usize,
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
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache { free: [const { Vec::new() }; CLASSES], bytes: 0 }) };
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
                    let ptr = c.free[class].pop();
                    if ptr.is_some() {
                        c.bytes -= (class + 1) * CLASS;
                    }
                    ptr
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
    let size = (class + 1) * CLASS;
    let cached = CACHE
        .try_with(|c| {
            let mut c = c.borrow_mut();
            if c.bytes + size > CACHE_BYTES {
                return false;
            }
            c.bytes += size;
            c.free[class].push(ptr);
            true
        })
        .unwrap_or(false);
    if !cached {
        // SAFETY: rule 1 — blocks of this class are allocated with `class_layout(class)`.
        unsafe { alloc::dealloc(ptr.as_ptr(), class_layout(class)) };
    }
}

//! [`AlignedBuf`]: a heap buffer whose start and capacity are multiples of a power-of-two
//! alignment, for `O_DIRECT` I/O (the kernel refuses, with `EINVAL`, a direct read or write
//! whose buffer address, length or file offset is not a multiple of the device's logical block
//! size).
//!
//! # Rules (beside the module's rules 1 and 2)
//!
//! 3. `ptr` is the start of one live allocation of `layout` (size `layout.size()` ≥ the
//!    alignment, never zero), owned by this value alone, freed once, in `Drop`, with that
//!    layout; `len ≤ layout.size()` and the first `len` bytes are initialised.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

use super::{IoBuf, IoBufMut};

/// A heap buffer aligned for `O_DIRECT`: its address and its capacity are multiples of its
/// alignment. Reads fill it from its length up to its capacity, as a `Vec`'s spare capacity.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    layout: Layout,
    len: usize,
}

// SAFETY: rule 3 — the allocation is owned by this value alone; moving the value moves that
// ownership, and `&AlignedBuf` gives only reads.
unsafe impl Send for AlignedBuf {}
// SAFETY: as above: shared references only read.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// The alignment `O_DIRECT` needs on every device Linux has (a 4 KiB logical block is the
    /// largest in common use; 512 bytes is the smallest).
    pub const DIRECT_IO: usize = 4096;

    /// An empty buffer of at least `capacity` bytes (rounded up to a multiple of `align`, at
    /// least `align`), starting at a multiple of `align`.
    ///
    /// # Panics
    /// When `align` is not a power of two, or the size overflows.
    pub fn with_capacity(capacity: usize, align: usize) -> AlignedBuf {
        assert!(
            align.is_power_of_two(),
            "alignment {align} is not a power of two"
        );
        let size = capacity
            .max(1)
            .checked_next_multiple_of(align)
            .expect("AlignedBuf capacity overflows");
        let layout = Layout::from_size_align(size, align).expect("AlignedBuf layout");
        // SAFETY: rule 3 — `layout` has a non-zero size.
        let raw = unsafe { alloc::alloc(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        AlignedBuf {
            ptr,
            layout,
            len: 0,
        }
    }

    /// The alignment of its start and capacity.
    pub fn align(&self) -> usize {
        self.layout.align()
    }

    /// Bytes allocated.
    pub fn capacity(&self) -> usize {
        self.layout.size()
    }

    /// Initialised bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is initialised.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The initialised bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: rule 3 — the first `len` bytes of the live allocation are initialised.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// Forget the contents (the capacity stays).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Make room for `additional` more bytes, keeping the contents and the alignment.
    pub fn reserve(&mut self, additional: usize) {
        let need = self
            .len
            .checked_add(additional)
            .expect("AlignedBuf size overflows");
        if need <= self.capacity() {
            return;
        }
        let mut bigger = AlignedBuf::with_capacity(need.max(2 * self.capacity()), self.align());
        bigger.extend_from_slice(self.as_slice());
        *self = bigger;
    }

    /// Append `bytes`, growing as needed.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        // SAFETY: rule 3 — `reserve` made `len + bytes.len() ≤ capacity`; the source is a
        // distinct borrow (the buffer is `&mut`), so the ranges do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.ptr.as_ptr().add(self.len),
                bytes.len(),
            );
        }
        self.len += bytes.len();
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: rule 3 — allocated in `with_capacity` with `layout`, freed only here.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .field("align", &self.align())
            .finish()
    }
}

// SAFETY: rule 1 — heap memory that does not move while the value exists (it is reallocated
// only by `reserve`, which takes `&mut self`); rule 2 — rule 3 keeps the first `len` bytes
// initialised, and `capacity()` bytes are allocated.
unsafe impl IoBuf for AlignedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: as for `IoBuf`; `set_init` is called only with initialised bytes (its contract).
unsafe impl IoBufMut for AlignedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        if pos > self.len {
            debug_assert!(pos <= self.capacity());
            self.len = pos;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_start_and_capacity_and_growth_keeps_both() {
        let mut b = AlignedBuf::with_capacity(100, 4096);
        assert_eq!(b.stable_ptr() as usize % 4096, 0);
        assert_eq!(b.capacity(), 4096);
        b.extend_from_slice(&[7u8; 3000]);
        b.extend_from_slice(&[9u8; 3000]);
        assert_eq!(b.len(), 6000);
        assert_eq!(b.stable_ptr() as usize % 4096, 0);
        assert_eq!(b.capacity() % 4096, 0);
        assert!(b.as_slice()[..3000].iter().all(|&x| x == 7));
        assert!(b.as_slice()[3000..].iter().all(|&x| x == 9));
        b.clear();
        assert!(b.is_empty());
    }
}

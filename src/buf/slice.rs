use std::ops::Deref;

use super::{IoBuf, IoBufMut};

/// A range of a buffer, owning the buffer (see [`IoBuf::slice`]). There is no mutable access
/// to the inner buffer: resizing it would invalidate the range the kernel is given.
#[derive(Debug)]
pub struct Slice<T> {
    buf: T,
    begin: usize,
    end: usize,
}

impl<T> Slice<T> {
    pub(super) fn new(buf: T, begin: usize, end: usize) -> Slice<T> {
        Slice { buf, begin, end }
    }

    /// Offset of the view's start in the buffer.
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// Offset of the view's end in the buffer.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The whole buffer.
    pub fn get_ref(&self) -> &T {
        &self.buf
    }

    /// Give the buffer back.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

// SAFETY: rule 1 — the pointer is the owned buffer's, offset within its allocation; rule 2 —
// the initialised part of the view is the buffer's initialised part clipped to the range.
unsafe impl<T: IoBuf> IoBuf for Slice<T> {
    fn stable_ptr(&self) -> *const u8 {
        // SAFETY: rule 1 — `begin <= end <= bytes_total`, checked in `IoBuf::slice`.
        unsafe { self.buf.stable_ptr().add(self.begin) }
    }
    fn bytes_init(&self) -> usize {
        self.buf.bytes_init().clamp(self.begin, self.end) - self.begin
    }
    fn bytes_total(&self) -> usize {
        self.end - self.begin
    }
}

// SAFETY: rules 1 and 2, as above; `set_init` translates the view's offset to the buffer's.
unsafe impl<T: IoBufMut> IoBufMut for Slice<T> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        // SAFETY: rule 1 — within the allocation, as in `stable_ptr`.
        unsafe { self.buf.stable_mut_ptr().add(self.begin) }
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: rule 2 — the caller initialised the view's first `pos` bytes; the buffer's
        // bytes before `begin` are only counted if they already were.
        if self.buf.bytes_init() >= self.begin {
            unsafe { self.buf.set_init(self.begin + pos) };
        }
    }
}

impl<T: IoBuf> Deref for Slice<T> {
    type Target = [u8];
    /// The initialised part of the view.
    fn deref(&self) -> &[u8] {
        // SAFETY: rule 2 — `bytes_init` bytes at `stable_ptr` are initialised and owned by us.
        unsafe { std::slice::from_raw_parts(self.stable_ptr(), self.bytes_init()) }
    }
}

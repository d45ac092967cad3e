//! Buffers the kernel can read from or write into, independent of any ring.
//!
//! Completion-based I/O hands the buffer to the kernel and gets it back with the result: every
//! operation takes a buffer by value and returns a [`BufResult`], `(io::Result<T>, B)`, so the
//! buffer comes back on success and on error alike and the kernel never writes into memory the
//! caller could free meanwhile.
//!
//! # Rules
//!
//! 1. **Stable memory.** `stable_ptr` / `stable_mut_ptr` point to memory that stays valid and in
//!    place while the buffer value exists and is not otherwise used, even when the value is
//!    moved: heap memory or `'static` data, never bytes stored inline in the value.
//! 2. **Initialised prefix.** The first `bytes_init()` bytes at `stable_ptr()` are initialised;
//!    `bytes_total()` bytes are allocated. `set_init(n)` may only be called once the first `n`
//!    bytes are initialised.
//!
//! Reads fill a buffer from `bytes_init()` up to `bytes_total()` (its spare capacity): a
//! `Vec::with_capacity(n)` reads at most `n` bytes and its length becomes what was read.

mod aligned;
mod slice;

pub use self::aligned::AlignedBuf;
pub use self::slice::Slice;

use std::io;
use std::ops::{Bound, RangeBounds};

/// An I/O result together with the buffer that was lent to the kernel.
pub type BufResult<T, B> = (io::Result<T>, B);

/// Write all of `buf`'s initialised bytes with `write`, which is handed the part not yet
/// written and how far into the buffer it starts: short writes and `Interrupted` are retried, a
/// write of 0 is `WriteZero`, and the buffer comes back whole either way.
pub(crate) async fn write_all_with<B, F, Fut>(buf: B, mut write: F) -> BufResult<(), B>
where
    B: IoBuf,
    F: FnMut(Slice<B>, usize) -> Fut,
    Fut: std::future::Future<Output = BufResult<usize, Slice<B>>>,
{
    let total = buf.bytes_init();
    let mut buf = buf;
    let mut done = 0;
    while done < total {
        let (res, slice) = write(buf.slice(done..total), done).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (Err(e), buf),
        }
    }
    (Ok(()), buf)
}

/// A buffer the kernel may read from.
///
/// # Safety
/// Implementations uphold rules 1 and 2 of this module.
pub unsafe trait IoBuf: Send + 'static {
    /// Start of the buffer (rule 1).
    fn stable_ptr(&self) -> *const u8;

    /// Initialised bytes at the start (what a write sends).
    fn bytes_init(&self) -> usize;

    /// Allocated bytes (what a read may fill).
    fn bytes_total(&self) -> usize;

    /// A view of `range` of this buffer, which owns the buffer and gives it back with
    /// [`Slice::into_inner`].
    ///
    /// # Panics
    /// When the range reaches past `bytes_total()` or starts after it ends.
    #[track_caller]
    fn slice(self, range: impl RangeBounds<usize>) -> Slice<Self>
    where
        Self: Sized,
    {
        let begin = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.checked_add(1).expect("out of range"),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n.checked_add(1).expect("out of range"),
            Bound::Excluded(&n) => n,
            Bound::Unbounded => self.bytes_total(),
        };
        assert!(begin <= end, "slice starts at {begin} but ends at {end}");
        assert!(
            end <= self.bytes_total(),
            "slice ends at {end} past the buffer's {} bytes",
            self.bytes_total()
        );
        Slice::new(self, begin, end)
    }
}

/// A buffer the kernel may write into.
///
/// # Safety
/// Implementations uphold rules 1 and 2 of this module.
pub unsafe trait IoBufMut: IoBuf {
    /// Start of the buffer, for writing (rule 1).
    fn stable_mut_ptr(&mut self) -> *mut u8;

    /// Record that the first `pos` bytes are initialised (never shrinks what was).
    ///
    /// # Safety
    /// The first `pos` bytes are initialised (rule 2), and `pos <= bytes_total()`.
    unsafe fn set_init(&mut self, pos: usize);
}

/// `IoBuf` for byte containers with `as_ptr` and `len`: `bytes_total` is `len` for a type
/// whose whole length is initialised and which never grows, `capacity` for a heap buffer with
/// a length and a larger capacity.
macro_rules! io_buf {
    ($total:ident: $($ty:ty),*) => {$(
        // SAFETY: rule 1 — heap (`Box`, `Vec`, `Bytes`, ...) or `'static` memory that does not
        // move while the value exists (a growable buffer reallocates only when the value itself
        // is used, which nothing does while the kernel owns it); rule 2 — the first `len` bytes
        // are initialised.
        unsafe impl IoBuf for $ty {
            fn stable_ptr(&self) -> *const u8 {
                self.as_ptr()
            }
            fn bytes_init(&self) -> usize {
                self.len()
            }
            fn bytes_total(&self) -> usize {
                self.$total()
            }
        }
    )*};
}

// SAFETY: rule 1 — `'static` memory that never moves; rule 2 — every byte of an array is
// initialised. (So `b"literal"` can be written as it is.)
unsafe impl<const N: usize> IoBuf for &'static [u8; N] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        N
    }
    fn bytes_total(&self) -> usize {
        N
    }
}

/// `IoBufMut` for a growable byte buffer with `set_len`.
macro_rules! growable_buf_mut {
    ($($ty:ty),*) => {$(
        // SAFETY: rules 1 and 2, as for its `IoBuf`; `set_len` only under `set_init`'s contract.
        unsafe impl IoBufMut for $ty {
            fn stable_mut_ptr(&mut self) -> *mut u8 {
                self.as_mut_ptr()
            }
            unsafe fn set_init(&mut self, pos: usize) {
                if pos > self.len() {
                    // SAFETY: rule 2 — the caller vouches the first `pos` bytes are
                    // initialised, and `pos <= capacity`.
                    unsafe { self.set_len(pos) };
                }
            }
        }
    )*};
}

io_buf!(len: Box<[u8]>, &'static [u8], &'static str, bytes::Bytes);
io_buf!(capacity: Vec<u8>, String, bytes::BytesMut);
growable_buf_mut!(Vec<u8>, bytes::BytesMut);

// SAFETY: rules 1 and 2, as for its `IoBuf`; the whole box is always initialised, so
// `set_init` has nothing to do.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, _pos: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_reports_len_and_capacity() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"abc");
        assert_eq!(v.bytes_init(), 3);
        assert_eq!(v.bytes_total(), v.capacity());
        let p = v.stable_ptr();
        let moved = v;
        assert_eq!(moved.stable_ptr(), p, "moving the Vec keeps the pointer");
    }

    #[test]
    fn set_init_never_shrinks() {
        let mut v = b"hello".to_vec();
        // SAFETY: rule 2 — 2 <= len, already initialised.
        unsafe { v.set_init(2) };
        assert_eq!(v, b"hello");
    }

    #[test]
    fn slices_bound_and_give_back() {
        let v = b"0123456789".to_vec();
        let s = v.slice(2..5);
        assert_eq!((s.begin(), s.end()), (2, 5));
        assert_eq!(s.bytes_init(), 3);
        assert_eq!(s.bytes_total(), 3);
        assert_eq!(&s[..], b"234");
        let v = s.into_inner();
        assert_eq!(v, b"0123456789");
        let s = b"xy".to_vec().slice(..);
        assert_eq!(s.bytes_init(), 2);
        let s = Vec::<u8>::with_capacity(8).slice(4..);
        assert_eq!(
            s.bytes_init(),
            0,
            "nothing initialised past the Vec's length"
        );
        assert_eq!(s.bytes_total(), s.get_ref().capacity() - 4);
    }

    #[test]
    #[should_panic(expected = "past the buffer")]
    fn slice_past_the_end_panics() {
        let _ = b"abc".to_vec().slice(0..10);
    }

    #[test]
    fn static_and_bytes_buffers() {
        let s: &'static str = "static";
        assert_eq!(s.bytes_init(), 6);
        let b = bytes::Bytes::from_static(b"bytes");
        assert_eq!(b.bytes_total(), 5);
        let mut m = bytes::BytesMut::with_capacity(32);
        // SAFETY: rule 2 — writing then declaring 4 initialised bytes within capacity.
        unsafe {
            m.stable_mut_ptr()
                .copy_from_nonoverlapping(b"abcd".as_ptr(), 4);
            m.set_init(4);
        }
        assert_eq!(&m[..], b"abcd");
    }
}

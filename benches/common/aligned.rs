//! A 4096-aligned heap block for O_DIRECT reads, shared by the file benchmarks.

use std::alloc::Layout;

/// The block size (and alignment).
pub const BLOCK: usize = 4096;

/// A 4096-aligned heap block, for O_DIRECT.
pub struct Aligned {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the block is owned by this value alone.
unsafe impl Send for Aligned {}

impl Aligned {
    pub fn new() -> Aligned {
        let layout = Layout::from_size_align(BLOCK, BLOCK).unwrap();
        // SAFETY: non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        Aligned { ptr, len: 0 }
    }

    /// Forget the bytes read: the next read fills it from the start.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `len` ≤ BLOCK bytes at `ptr` are initialised (zeroed at allocation).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// `pread(2)` of one block at `off` into this one.
    pub fn pread(&mut self, fd: i32, off: u64) -> std::io::Result<usize> {
        // SAFETY: BLOCK writable bytes at `ptr`, ours alone.
        let n = unsafe { libc::pread(fd, self.ptr.cast(), BLOCK, off as i64) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        self.len = n as usize;
        Ok(self.len)
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr, Layout::from_size_align(BLOCK, BLOCK).unwrap()) };
    }
}

// SAFETY: buf rules 1 and 2 — heap memory that never moves; `len` bytes initialised of BLOCK.
unsafe impl ringolo::buf::IoBuf for Aligned {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
    fn bytes_total(&self) -> usize {
        BLOCK
    }
}

// SAFETY: as above.
unsafe impl ringolo::buf::IoBufMut for Aligned {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }
    unsafe fn set_init(&mut self, pos: usize) {
        self.len = self.len.max(pos);
    }
}

//! Ready-made operations. Each is a plain struct owning what the kernel touches; its
//! `Operation` impl is the only place that turns it into an SQE.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use io_uring::{opcode, squeue::Entry, types};

use super::{Completion, Operation};

/// `IORING_OP_NOP`: completes at once with 0. Useful to measure the ring.
#[derive(Debug, Default, Clone, Copy)]
pub struct Nop;

// SAFETY: rule 1 of driver/mod.rs holds trivially: the entry holds no pointers.
unsafe impl Operation for Nop {
    type Output = io::Result<()>;
    fn build(&mut self) -> Entry {
        opcode::Nop::new().build()
    }
    fn complete(self, result: io::Result<Completion>) -> io::Result<()> {
        result.map(|_| ())
    }
}

/// `IORING_OP_TIMEOUT` for a relative duration, as a kernel request (the runtime's timers use a
/// userspace store instead; this is for chains and tests of the ring itself).
#[derive(Debug)]
pub struct Timeout {
    ts: Box<types::Timespec>,
}

impl Timeout {
    /// Expires after `duration`.
    pub fn new(duration: Duration) -> Timeout {
        Timeout {
            ts: Box::new(types::Timespec::from(duration)),
        }
    }
}

// SAFETY: the entry points at `ts`, a Box owned by `self` (rule 1 of driver/mod.rs).
unsafe impl Operation for Timeout {
    type Output = io::Result<()>;
    fn build(&mut self) -> Entry {
        opcode::Timeout::new(&*self.ts).build()
    }
    fn complete(self, result: io::Result<Completion>) -> io::Result<()> {
        match result {
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

/// `IORING_OP_READ` into the spare capacity of a `Vec<u8>`; yields the byte count and the
/// buffer (with its length extended by what was read), on success and on error alike.
#[derive(Debug)]
pub struct Read {
    fd: RawFd,
    buf: Vec<u8>,
    offset: u64,
}

impl Read {
    /// Read up to `buf.capacity() - buf.len()` bytes from `fd` at `offset` (`u64::MAX` for the
    /// file position / a stream).
    pub fn new(fd: RawFd, buf: Vec<u8>, offset: u64) -> Read {
        Read { fd, buf, offset }
    }
}

// SAFETY: the entry points into the Vec's heap buffer, owned by `self` and not touched until
// `complete` (rule 1 of driver/mod.rs).
unsafe impl Operation for Read {
    type Output = (io::Result<usize>, Vec<u8>);
    fn build(&mut self) -> Entry {
        let spare = self.buf.spare_capacity_mut();
        let len = u32::try_from(spare.len()).unwrap_or(u32::MAX);
        opcode::Read::new(types::Fd(self.fd), spare.as_mut_ptr().cast(), len)
            .offset(self.offset)
            .build()
    }
    fn complete(mut self, result: io::Result<Completion>) -> Self::Output {
        match result {
            Ok(c) => {
                let n = c.result as usize;
                // SAFETY: rule 1 of driver/mod.rs — the final CQE says the kernel wrote `n` bytes into
                // the spare capacity it was given, which is now back in our hands.
                unsafe { self.buf.set_len(self.buf.len() + n) };
                (Ok(n), self.buf)
            }
            Err(e) => (Err(e), self.buf),
        }
    }
}

/// `IORING_OP_WRITE` of a `Vec<u8>`'s contents; yields the byte count and the buffer.
#[derive(Debug)]
pub struct Write {
    fd: RawFd,
    buf: Vec<u8>,
    offset: u64,
}

impl Write {
    /// Write `buf` to `fd` at `offset` (`u64::MAX` for the file position / a stream).
    pub fn new(fd: RawFd, buf: Vec<u8>, offset: u64) -> Write {
        Write { fd, buf, offset }
    }
}

// SAFETY: the entry points into the Vec's heap buffer, owned by `self` (rule 1).
unsafe impl Operation for Write {
    type Output = (io::Result<usize>, Vec<u8>);
    fn build(&mut self) -> Entry {
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        opcode::Write::new(types::Fd(self.fd), self.buf.as_ptr(), len)
            .offset(self.offset)
            .build()
    }
    fn complete(self, result: io::Result<Completion>) -> Self::Output {
        (result.map(|c| c.result as usize), self.buf)
    }
}

/// `IORING_OP_CLOSE` of a plain file descriptor.
#[derive(Debug)]
pub struct Close {
    fd: RawFd,
}

impl Close {
    /// Close `fd`. The caller gives up ownership of the descriptor.
    pub fn new(fd: RawFd) -> Close {
        Close { fd }
    }
}

// SAFETY: rule 1 of driver/mod.rs holds trivially: the entry holds no pointers.
unsafe impl Operation for Close {
    type Output = io::Result<()>;
    fn build(&mut self) -> Entry {
        opcode::Close::new(types::Fd(self.fd)).build()
    }
    fn complete(self, result: io::Result<Completion>) -> io::Result<()> {
        result.map(|_| ())
    }
}

//! Ready-made operations. Each is a plain struct owning what the kernel touches; its
//! `Operation` impl is the only place that turns it into an SQE.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use io_uring::{opcode, squeue::Entry, types};

use super::{Completion, Operation};
use crate::buf::{BufResult, IoBuf, IoBufMut};

/// What an op reads or writes: a plain descriptor, or a direct descriptor (a slot in the
/// ring's registered-file table, see [`DirectFd`](super::DirectFd)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A file descriptor.
    Fd(RawFd),
    /// A registered-file slot of the ring the op is submitted to.
    Fixed(u32),
}

impl From<RawFd> for Target {
    fn from(fd: RawFd) -> Target {
        Target::Fd(fd)
    }
}

/// Build an entry for either kind of target.
macro_rules! with_target {
    ($t:expr, |$f:ident| $body:expr) => {
        match $t {
            Target::Fd(fd) => {
                let $f = types::Fd(fd);
                $body
            }
            Target::Fixed(slot) => {
                let $f = types::Fixed(slot);
                $body
            }
        }
    };
}

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

/// `IORING_OP_POLL_ADD` (one shot): completes with the `poll(2)` events (`POLLIN`, `POLLOUT`,
/// `POLLERR`, `POLLHUP`, …) of `fd` once any of `events` is ready. A readiness wait: the
/// kernel touches no memory of ours, so dropping it early loses nothing.
#[derive(Debug, Clone, Copy)]
pub struct PollAdd {
    /// The descriptor to wait on.
    pub fd: RawFd,
    /// `poll(2)` event bits to wait for.
    pub events: u32,
}

// SAFETY: rule 1 of driver/mod.rs holds trivially: the entry holds no pointers.
unsafe impl Operation for PollAdd {
    type Output = io::Result<u32>;
    fn build(&mut self) -> Entry {
        opcode::PollAdd::new(types::Fd(self.fd), self.events).build()
    }
    fn complete(self, result: io::Result<Completion>) -> io::Result<u32> {
        result.map(|c| c.result)
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

/// `IORING_OP_READ` into a buffer's spare part (from `bytes_init()` to `bytes_total()`);
/// yields the byte count and the buffer, whose initialised length grows by what was read, on
/// success and on error alike.
#[derive(Debug)]
pub struct Read<B = Vec<u8>> {
    fd: Target,
    buf: B,
    offset: u64,
}

impl<B: IoBufMut> Read<B> {
    /// Read up to `bytes_total() - bytes_init()` bytes from `fd` at `offset` (`u64::MAX` for the
    /// file position / a stream).
    pub fn new(fd: impl Into<Target>, buf: B, offset: u64) -> Read<B> {
        Read {
            fd: fd.into(),
            buf,
            offset,
        }
    }
}

// SAFETY: rule 1 of driver/mod.rs — the entry points into the buffer's stable memory (buf
// rule 1), owned by `self` and not touched until `complete`.
unsafe impl<B: IoBufMut> Operation for Read<B> {
    type Output = BufResult<usize, B>;
    fn build(&mut self) -> Entry {
        let init = self.buf.bytes_init();
        let len = u32::try_from(self.buf.bytes_total() - init).unwrap_or(u32::MAX);
        // SAFETY: buf rule 2 — `init <= bytes_total`, so the offset stays in the allocation.
        let ptr = unsafe { self.buf.stable_mut_ptr().add(init) };
        with_target!(self.fd, |f| opcode::Read::new(f, ptr, len)
            .offset(self.offset)
            .build())
    }
    fn complete(mut self, result: io::Result<Completion>) -> Self::Output {
        match result {
            Ok(c) => {
                let n = c.result as usize;
                let init = self.buf.bytes_init();
                // SAFETY: rule 1 of driver/mod.rs and buf rule 2 — the final CQE says the kernel
                // wrote `n` bytes right after the initialised part, within `bytes_total`.
                unsafe { self.buf.set_init(init + n) };
                (Ok(n), self.buf)
            }
            Err(e) => (Err(e), self.buf),
        }
    }
}

/// `IORING_OP_WRITE` of a buffer's initialised bytes; yields the byte count and the buffer.
#[derive(Debug)]
pub struct Write<B = Vec<u8>> {
    fd: Target,
    buf: B,
    offset: u64,
}

impl<B: IoBuf> Write<B> {
    /// Write `buf`'s initialised bytes to `fd` at `offset` (`u64::MAX` for the file position /
    /// a stream).
    pub fn new(fd: impl Into<Target>, buf: B, offset: u64) -> Write<B> {
        Write {
            fd: fd.into(),
            buf,
            offset,
        }
    }
}

// SAFETY: rule 1 of driver/mod.rs — the entry points into the buffer's stable memory (buf
// rule 1), owned by `self`.
unsafe impl<B: IoBuf> Operation for Write<B> {
    type Output = BufResult<usize, B>;
    fn build(&mut self) -> Entry {
        let len = u32::try_from(self.buf.bytes_init()).unwrap_or(u32::MAX);
        with_target!(self.fd, |f| opcode::Write::new(
            f,
            self.buf.stable_ptr(),
            len
        )
        .offset(self.offset)
        .build())
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
    fn reclaim(&self) -> super::Reclaim {
        super::Reclaim::Detach
    }
}

/// `IORING_OP_RECV` into a buffer's spare part, with `MSG_*` flags (e.g. `MSG_PEEK`).
#[derive(Debug)]
pub struct Recv<B = Vec<u8>> {
    target: Target,
    buf: B,
    flags: i32,
    poll_first: bool,
}

impl<B: IoBufMut> Recv<B> {
    /// Receive into `buf`'s spare capacity from a descriptor or a direct descriptor.
    pub fn new(target: impl Into<Target>, buf: B, flags: i32) -> Recv<B> {
        Recv {
            target: target.into(),
            buf,
            flags,
            poll_first: false,
        }
    }

    /// Wait for readiness before the first attempt (`IORING_RECVSEND_POLL_FIRST`): cheaper
    /// when the data is probably not there yet, as for a reply just requested.
    pub fn poll_first(mut self) -> Recv<B> {
        self.poll_first = true;
        self
    }
}

// SAFETY: rule 1 of driver/mod.rs — the entry points into the buffer's stable memory (buf
// rule 1), owned by `self` until `complete`.
unsafe impl<B: IoBufMut> Operation for Recv<B> {
    type Output = BufResult<usize, B>;
    fn build(&mut self) -> Entry {
        let init = self.buf.bytes_init();
        let len = u32::try_from(self.buf.bytes_total() - init).unwrap_or(u32::MAX);
        // SAFETY: buf rule 2 — `init <= bytes_total`.
        let ptr = unsafe { self.buf.stable_mut_ptr().add(init) };
        with_target!(self.target, |f| opcode::Recv::new(f, ptr, len)
            .flags(self.flags)
            .ioprio(if self.poll_first { 1 } else { 0 })
            .build())
    }
    fn complete(mut self, result: io::Result<Completion>) -> Self::Output {
        match result {
            Ok(c) => {
                let init = self.buf.bytes_init();
                // SAFETY: rule 1 and buf rule 2 — the kernel wrote `result` bytes after `init`.
                unsafe { self.buf.set_init(init + c.result as usize) };
                (Ok(c.result as usize), self.buf)
            }
            Err(e) => (Err(e), self.buf),
        }
    }
}

/// `IORING_OP_SEND` of a buffer's initialised bytes, with `MSG_*` flags.
#[derive(Debug)]
pub struct Send<B = Vec<u8>> {
    target: Target,
    buf: B,
    flags: i32,
}

impl<B: IoBuf> Send<B> {
    /// Send `buf`'s initialised bytes on a descriptor or a direct descriptor.
    pub fn new(target: impl Into<Target>, buf: B, flags: i32) -> Send<B> {
        Send {
            target: target.into(),
            buf,
            flags,
        }
    }
}

// SAFETY: rule 1 of driver/mod.rs — the entry points into the buffer's stable memory.
unsafe impl<B: IoBuf> Operation for Send<B> {
    type Output = BufResult<usize, B>;
    fn build(&mut self) -> Entry {
        let len = u32::try_from(self.buf.bytes_init()).unwrap_or(u32::MAX);
        let ptr = self.buf.stable_ptr();
        with_target!(self.target, |f| opcode::Send::new(f, ptr, len)
            .flags(self.flags | libc::MSG_NOSIGNAL)
            .build())
    }
    fn complete(self, result: io::Result<Completion>) -> Self::Output {
        (result.map(|c| c.result as usize), self.buf)
    }
}

/// An iovec array pointing into buffers owned by the same op.
#[derive(Debug)]
struct IoVecs(Vec<libc::iovec>);

// SAFETY: rule 1 of driver/mod.rs — the pointers are into buffers (`IoBuf: Send`) owned by the
// op that owns this array;
// they are only handed to the kernel, never dereferenced here.
unsafe impl std::marker::Send for IoVecs {}

impl IoVecs {
    /// Point one iovec at the initialised bytes of each buffer, in order (what a write sends).
    fn fill_init<B: IoBuf>(&mut self, bufs: &[B]) {
        self.0 = bufs
            .iter()
            .map(|b| libc::iovec {
                iov_base: b.stable_ptr() as *mut _,
                iov_len: b.bytes_init(),
            })
            .collect();
    }
}

/// `IORING_OP_READV` into several buffers' spare parts, in order.
#[derive(Debug)]
pub struct Readv<B = Vec<u8>> {
    fd: RawFd,
    bufs: Vec<B>,
    iovecs: IoVecs,
    offset: u64,
}

impl<B: IoBufMut> Readv<B> {
    /// Read into `bufs` at `offset` (`u64::MAX`: the file position / a stream).
    pub fn new(fd: RawFd, bufs: Vec<B>, offset: u64) -> Readv<B> {
        Readv {
            fd,
            bufs,
            iovecs: IoVecs(Vec::new()),
            offset,
        }
    }
}

// SAFETY: rule 1 of driver/mod.rs — the entry points at `iovecs` (a Vec's heap array owned by
// `self`), whose entries point into the buffers' stable memory, all untouched until `complete`.
unsafe impl<B: IoBufMut> Operation for Readv<B> {
    type Output = BufResult<usize, Vec<B>>;
    fn build(&mut self) -> Entry {
        self.iovecs.0 = self
            .bufs
            .iter_mut()
            .map(|b| {
                let init = b.bytes_init();
                // SAFETY: buf rule 2 — `init <= bytes_total`.
                let base = unsafe { b.stable_mut_ptr().add(init) };
                libc::iovec {
                    iov_base: base.cast(),
                    iov_len: b.bytes_total() - init,
                }
            })
            .collect();
        opcode::Readv::new(
            types::Fd(self.fd),
            self.iovecs.0.as_ptr(),
            self.iovecs.0.len() as u32,
        )
        .offset(self.offset)
        .build()
    }
    fn complete(mut self, result: io::Result<Completion>) -> Self::Output {
        match result {
            Ok(c) => {
                let mut left = c.result as usize;
                for (b, iov) in self.bufs.iter_mut().zip(&self.iovecs.0) {
                    let n = left.min(iov.iov_len);
                    let init = b.bytes_init();
                    // SAFETY: rule 1 and buf rule 2 — the kernel filled the iovecs in order.
                    unsafe { b.set_init(init + n) };
                    left -= n;
                }
                (Ok(c.result as usize), self.bufs)
            }
            Err(e) => (Err(e), self.bufs),
        }
    }
}

/// `IORING_OP_WRITEV` of several buffers' initialised bytes, in order.
#[derive(Debug)]
pub struct Writev<B = Vec<u8>> {
    fd: RawFd,
    bufs: Vec<B>,
    iovecs: IoVecs,
    offset: u64,
}

impl<B: IoBuf> Writev<B> {
    /// Write `bufs` at `offset` (`u64::MAX`: the file position / a stream).
    pub fn new(fd: RawFd, bufs: Vec<B>, offset: u64) -> Writev<B> {
        Writev {
            fd,
            bufs,
            iovecs: IoVecs(Vec::new()),
            offset,
        }
    }
}

// SAFETY: rule 1 of driver/mod.rs, as for `Readv`: the iovec array and what it points to are
// owned by `self`.
unsafe impl<B: IoBuf> Operation for Writev<B> {
    type Output = BufResult<usize, Vec<B>>;
    fn build(&mut self) -> Entry {
        self.iovecs.fill_init(&self.bufs);
        opcode::Writev::new(
            types::Fd(self.fd),
            self.iovecs.0.as_ptr(),
            self.iovecs.0.len() as u32,
        )
        .offset(self.offset)
        .build()
    }
    fn complete(self, result: io::Result<Completion>) -> Self::Output {
        (result.map(|c| c.result as usize), self.bufs)
    }
}

/// A message header pointing at an iovec array owned by the same op.
struct MsgHdr(libc::msghdr);

// SAFETY: rule 1 of driver/mod.rs — as for `IoVecs`: the pointers inside are to memory owned by
// the op that owns this header, handed only to the kernel.
unsafe impl std::marker::Send for MsgHdr {}

/// `IORING_OP_SENDMSG` of several buffers' initialised bytes on a connected socket, in order,
/// with `MSG_NOSIGNAL` (unlike `writev`, a closed peer gives `EPIPE`, never `SIGPIPE`).
pub struct SendVectored<B = Vec<u8>> {
    fd: RawFd,
    bufs: Vec<B>,
    iovecs: IoVecs,
    hdr: Box<MsgHdr>,
}

impl<B: IoBuf> SendVectored<B> {
    /// Send `bufs` on the connected socket `fd`.
    pub fn new(fd: RawFd, bufs: Vec<B>) -> SendVectored<B> {
        SendVectored {
            fd,
            bufs,
            iovecs: IoVecs(Vec::new()),
            // SAFETY: rule 1 of driver/mod.rs does not apply yet (nothing handed over); an
            // all-zero msghdr is a valid empty header (no name, no iovecs, no control).
            hdr: Box::new(MsgHdr(unsafe { std::mem::zeroed() })),
        }
    }
}

impl<B> std::fmt::Debug for SendVectored<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendVectored")
            .field("fd", &self.fd)
            .field("bufs", &self.bufs.len())
            .finish()
    }
}

// SAFETY: rule 1 of driver/mod.rs — the entry points at the boxed header, which points at the
// iovec array, which points into the buffers' stable memory; all are owned by `self`, do not
// move with it, and are left alone until `complete`.
unsafe impl<B: IoBuf> Operation for SendVectored<B> {
    type Output = BufResult<usize, Vec<B>>;
    fn build(&mut self) -> Entry {
        self.iovecs.fill_init(&self.bufs);
        let hdr = &mut self.hdr.0;
        hdr.msg_iov = self.iovecs.0.as_mut_ptr();
        hdr.msg_iovlen = self.iovecs.0.len() as _;
        opcode::SendMsg::new(types::Fd(self.fd), hdr)
            .flags(libc::MSG_NOSIGNAL as u32)
            .build()
    }
    fn complete(self, result: io::Result<Completion>) -> Self::Output {
        (result.map(|c| c.result as usize), self.bufs)
    }
}

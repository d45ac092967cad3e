use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use io_uring::{opcode, squeue::Entry, types};

use crate::driver::{Completion, Multishot, MultishotOperation};

/// A periodic kernel timer: one multishot `IORING_OP_TIMEOUT` whose every expiry is one item.
///
/// Unlike [`Interval`](super::Interval), which lives in the userspace timer store, a `Tick` is a
/// request on the ring: it keeps firing without being re-armed, ends by itself after `count`
/// ticks, and is cancelled when dropped.
#[must_use = "streams do nothing unless polled"]
pub struct Tick {
    inner: Multishot<TickOp>,
}

struct TickOp {
    ts: Box<types::Timespec>,
    count: u32,
}

// SAFETY: the entry points at `ts`, a Box owned by the op and left untouched (driver rule 1).
unsafe impl MultishotOperation for TickOp {
    type Item = io::Result<()>;

    fn build(&mut self) -> Entry {
        opcode::Timeout::new(&*self.ts)
            .count(self.count)
            .flags(types::TimeoutFlags::MULTISHOT)
            .build()
    }

    fn next(&mut self, result: io::Result<Completion>) -> io::Result<()> {
        match result {
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Ok(()),
        }
    }
}

impl Tick {
    /// Tick every `period`, forever (until dropped).
    pub fn new(period: Duration) -> Tick {
        Tick::with_count(period, 0)
    }

    /// Tick every `period`, `count` times, then end (`count == 0`: forever).
    pub fn with_count(period: Duration, count: u32) -> Tick {
        let op = TickOp {
            ts: Box::new(types::Timespec::from(period)),
            count,
        };
        Tick {
            inner: Multishot::new(op),
        }
    }
}

impl Stream for Tick {
    type Item = io::Result<()>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<()>>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

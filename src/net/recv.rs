use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

use super::ops::RecvMultiOp;
use crate::driver::bufring::{BufRing, RingBuf};
use crate::driver::Multishot;

/// Received data as a stream of provided buffers (one multishot `recv`); see
/// `TcpStream::recv_multi`. Each [`RingBuf`] goes back to its ring when dropped. The stream
/// ends at end-of-stream or after another error. When the ring runs dry the kernel ends the
/// request: if buffers have come back meanwhile the stream re-arms it without a word;
/// otherwise it yields one error with raw OS error `ENOBUFS`, and the next poll waits until a
/// buffer comes back (or 100 ms, so a task holding every buffer does not hang) before
/// re-arming: a loop that logs the error and polls again does not spin.
pub struct RecvStream<'a> {
    inner: Multishot<RecvMultiOp>,
    fd: RawFd,
    done: bool,
    /// Set when the ring belongs to another io_uring (bufring rule 3): reported, then the end.
    misuse: Option<io::Error>,
    /// The io_uring the buffer ring is registered with.
    ring_id: u64,
    /// Keeps the task polling the stream on that ring's worker, also between a dry ring's end
    /// of the request and its re-arm (task rule 10); moves to whichever task polls it.
    _binding: crate::driver::direct::ResourceBinding,
    /// Set after an `ENOBUFS` error: wait for a buffer to come back, at most this long.
    dry: Option<Pin<Box<crate::time::Sleep>>>,
    _socket: PhantomData<&'a ()>,
}

/// The longest a recv stream waits for a buffer after its ring ran dry.
const DRY_RING_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

fn off_ring() -> io::Error {
    io::Error::other(
        "ringolo: a buffer ring was used on a ring other than the one it is registered with",
    )
}

impl RecvStream<'_> {
    pub(crate) fn new(fd: RawFd, ring: &BufRing) -> Self {
        let ring_id = ring.shared().driver();
        let here = crate::runtime::context::with_driver(|d| {
            ring.use_on(d);
            (d.id, crate::driver::direct::ResourceBinding::new(d))
        });
        let (misuse, binding) = match here {
            Some((id, binding)) if id == ring_id => (None, binding),
            _ => (Some(off_ring()), Default::default()),
        };
        RecvStream {
            inner: Multishot::new(RecvMultiOp {
                fd,
                ring: ring.shared().clone(),
            }),
            fd,
            done: false,
            misuse,
            ring_id,
            _binding: binding,
            dry: None,
            _socket: PhantomData,
        }
    }
}

impl Stream for RecvStream<'_> {
    type Item = io::Result<RingBuf>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(e) = self.misuse.take() {
            self.done = true;
            return Poll::Ready(Some(Err(e)));
        }
        // Every submission (the first and each re-arm) must go to the buffer ring's own
        // io_uring (bufring rule 3): group ids are per ring.
        let ring_id = self.ring_id;
        let binding = &self._binding;
        let on_ring = crate::runtime::context::with_driver(|d| {
            let mine = d.id == ring_id;
            if mine {
                // Whoever polls the stream now is the task to keep on this worker.
                binding.use_on(d);
            }
            mine
        });
        if on_ring != Some(true) {
            self.done = true;
            return Poll::Ready(Some(Err(off_ring())));
        }
        if self.dry.is_some() {
            let ring = &self
                .inner
                .get_ref()
                .expect("payload present until done")
                .ring;
            let still_dry = ring.wait_for_free(cx.waker());
            let pause = self.dry.as_mut().expect("checked");
            if still_dry && pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.dry = None;
        }
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(Some(buf)))) => return Poll::Ready(Some(Ok(buf))),
                Poll::Ready(Some(Ok(None))) | Poll::Ready(None) => {
                    self.done = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // The kernel ended the request (no F_MORE on an error); start a new one.
                    let ring = self
                        .inner
                        .get_ref()
                        .expect("payload present until done")
                        .ring
                        .clone();
                    let room = ring.has_free();
                    let fd = self.fd;
                    self.inner = Multishot::new(RecvMultiOp { fd, ring });
                    if !room {
                        self.dry = Some(Box::pin(crate::time::sleep(DRY_RING_WAIT)));
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

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
/// ends at end-of-stream; when the ring runs dry the kernel ends the request and the stream
/// yields `ENOBUFS` (return buffers, then start a new stream).
pub struct RecvStream<'a> {
    inner: Multishot<RecvMultiOp>,
    done: bool,
    /// Set when the ring belongs to another io_uring (bufring rule 3): reported, then the end.
    misuse: Option<io::Error>,
    _socket: PhantomData<&'a ()>,
}

impl RecvStream<'_> {
    pub(crate) fn new(fd: RawFd, ring: &BufRing) -> Self {
        let here = crate::runtime::context::with_driver(|d| d.id);
        let misuse = (here != Some(ring.shared().driver())).then(|| {
            io::Error::other("ringolo: a buffer ring was used on a ring other than the one it is registered with")
        });
        RecvStream {
            inner: Multishot::new(RecvMultiOp {
                fd,
                ring: ring.shared().clone(),
            }),
            done: false,
            misuse,
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
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(Some(buf)))) => Poll::Ready(Some(Ok(buf))),
            Poll::Ready(Some(Ok(None))) | Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
        }
    }
}

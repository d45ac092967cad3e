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
    _socket: PhantomData<&'a ()>,
}

impl RecvStream<'_> {
    pub(crate) fn new(fd: RawFd, ring: &BufRing) -> Self {
        RecvStream {
            inner: Multishot::new(RecvMultiOp {
                fd,
                ring: ring.shared().clone(),
            }),
            done: false,
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

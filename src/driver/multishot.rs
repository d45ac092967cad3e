//! Multishot requests: one SQE, a stream of CQEs until one arrives without `IORING_CQE_F_MORE`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use io_uring::squeue::Entry;

use super::op::{self, outside_runtime, polled_off_ring, Completion, Reclaim};
use crate::runtime::context;
use crate::util::genslab::Key;

/// A request that completes many times (multishot accept, recv, timeout, poll).
///
/// # Safety
///
/// The contract of [`Operation`](super::Operation): every pointer in the built entry points
/// into memory owned by `self` that does not move with `self` and is left untouched until the
/// stream has ended or been dropped; the driver keeps `self` alive until the final CQE.
pub unsafe trait MultishotOperation: Send + 'static {
    /// What the stream yields per CQE.
    type Item;

    /// Build the SQE (with its multishot flag set). Its `user_data` is overwritten.
    fn build(&mut self) -> Entry;

    /// Turn one CQE into an item. The last CQE (without `F_MORE`) also goes through here.
    fn next(&mut self, result: io::Result<Completion>) -> Self::Item;

    /// What to undo for results nobody will take (e.g. accepted fds after the stream is dropped).
    fn reclaim(&self) -> Reclaim {
        Reclaim::Nothing
    }
}

enum State {
    Idle,
    InFlight(Key, u64),
    Done,
}

/// A multishot request as a `futures::Stream`. Ends cleanly after the CQE without `F_MORE`;
/// dropping it early cancels the request.
#[must_use = "a Multishot does nothing until polled"]
pub struct Multishot<T: MultishotOperation> {
    payload: Option<T>,
    state: State,
    /// Keeps the polling task on this ring's worker while armed (task rule 10).
    binding: Option<crate::task::RingBinding>,
}

impl<T: MultishotOperation> Unpin for Multishot<T> {}

impl<T: MultishotOperation> Multishot<T> {
    /// Wrap a multishot operation; it is submitted on the first poll.
    pub fn new(op: T) -> Self {
        Multishot {
            payload: Some(op),
            state: State::Idle,
            binding: None,
        }
    }

    /// The operation, for inspection.
    pub fn get_ref(&self) -> Option<&T> {
        self.payload.as_ref()
    }
}

impl<T: MultishotOperation> Stream for Multishot<T> {
    type Item = T::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        let this = self.get_mut();
        match this.state {
            State::Done => Poll::Ready(None),
            State::Idle => {
                let payload = this.payload.as_mut().expect("payload present until done");
                let (entry, reclaim, waker) =
                    (payload.build(), payload.reclaim(), cx.waker().clone());
                let binding = &mut this.binding;
                let submitted = context::with_driver(|driver| {
                    *binding = op::bind_current(driver);
                    (
                        driver.submit_multishot(entry, Some(waker), reclaim),
                        driver.id,
                    )
                });
                match submitted {
                    Some((key, ring)) => {
                        this.state = State::InFlight(key, ring);
                        Poll::Pending
                    }
                    None => {
                        this.state = State::Done;
                        Poll::Ready(Some(payload.next(Err(outside_runtime()))))
                    }
                }
            }
            State::InFlight(key, ring) => {
                let binding = &mut this.binding;
                let polled = context::with_driver(|driver| {
                    (driver.id == ring).then(|| {
                        op::rebind(binding, driver);
                        driver.poll_stream(key, cx.waker())
                    })
                });
                match polled.flatten() {
                    None => polled_off_ring(),
                    Some(Err(())) => Poll::Pending,
                    Some(Ok(None)) => {
                        this.state = State::Done;
                        this.binding = None;
                        Poll::Ready(None)
                    }
                    Some(Ok(Some((res, flags)))) => {
                        let payload = this.payload.as_mut().expect("payload present until done");
                        Poll::Ready(Some(payload.next(Completion::from_raw(res, flags))))
                    }
                }
            }
        }
    }
}

impl<T: MultishotOperation> Drop for Multishot<T> {
    fn drop(&mut self) {
        if let State::InFlight(key, ring) = self.state {
            self.state = State::Done;
            let payload = self.payload.take();
            let reclaim = payload.as_ref().map_or(Reclaim::Nothing, |p| p.reclaim());
            op::orphan_boxed(key, ring, payload.map(|p| Box::new(p) as _), reclaim);
        }
    }
}

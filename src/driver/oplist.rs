//! Several operations submitted together: a kernel-ordered chain or an unordered batch.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::op::{self, outside_runtime, polled_off_ring, Completion, Operation};
use crate::runtime::context;
use crate::util::genslab::Key;

/// How the ops of an [`OpList`] relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpListKind {
    /// Linked with `IOSQE_IO_LINK`: each starts only after the previous one succeeded; when one
    /// fails (or completes short), every later op completes with `ECANCELED`.
    Chain,
    /// Submitted together, executed and completed in any order.
    Batch,
}

/// A list of operations awaited as a whole; yields every op's output, in list order.
///
/// Ops of different kinds can share a list through an enum that implements [`Operation`].
#[must_use = "an OpList does nothing until awaited"]
pub struct OpList<T: Operation> {
    kind: OpListKind,
    payloads: Vec<Option<T>>,
    keys: Vec<Option<Key>>,
    outputs: Vec<Option<T::Output>>,
    ring: Option<u64>,
    /// Keeps the submitting task on this ring's worker while in flight (task rule 10).
    binding: Option<crate::task::RingBinding>,
}

impl<T: Operation> Unpin for OpList<T> {}

impl<T: Operation> OpList<T> {
    /// An empty list of the given kind.
    pub fn new(kind: OpListKind) -> Self {
        OpList {
            kind,
            payloads: Vec::new(),
            keys: Vec::new(),
            outputs: Vec::new(),
            ring: None,
            binding: None,
        }
    }

    /// A chain (`IOSQE_IO_LINK`) of `ops`, in order. A chain must fit in the submission queue;
    /// a longer one completes every op with `InvalidInput`.
    pub fn chain(ops: impl IntoIterator<Item = T>) -> Self {
        let mut list = Self::new(OpListKind::Chain);
        list.extend(ops);
        list
    }

    /// A batch of `ops` that complete in any order.
    pub fn batch(ops: impl IntoIterator<Item = T>) -> Self {
        let mut list = Self::new(OpListKind::Batch);
        list.extend(ops);
        list
    }

    /// Append an op. Panics once the list has been polled.
    pub fn push(&mut self, op: T) {
        assert!(
            self.ring.is_none(),
            "OpList::push after the list was submitted"
        );
        self.payloads.push(Some(op));
        self.keys.push(None);
        self.outputs.push(None);
    }

    /// The number of ops in the list.
    pub fn len(&self) -> usize {
        self.payloads.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.payloads.is_empty()
    }

    /// The kind of the list.
    pub fn kind(&self) -> OpListKind {
        self.kind
    }

    fn fail_all(&mut self, err: impl Fn() -> io::Error) {
        for (payload, out) in self.payloads.iter_mut().zip(self.outputs.iter_mut()) {
            if let Some(p) = payload.take() {
                *out = Some(p.complete(Err(err())));
            }
        }
    }
}

impl<T: Operation> Extend<T> for OpList<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for op in iter {
            self.push(op);
        }
    }
}

impl<T: Operation> Future for OpList<T> {
    type Output = Vec<T::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T::Output>> {
        let this = self.get_mut();
        match this.ring {
            None if this.payloads.is_empty() => return Poll::Ready(Vec::new()),
            None => {
                let link = this.kind == OpListKind::Chain;
                let payloads = &mut this.payloads;
                // `build` is user code: run it outside the driver borrow.
                let entries: Vec<_> = payloads
                    .iter_mut()
                    .map(|p| p.as_mut().expect("unsubmitted"))
                    .map(|p| (p.build(), p.reclaim()))
                    .collect();
                let binding = &mut this.binding;
                let submitted = context::with_driver(|driver| {
                    let keys = driver.submit_list(entries, cx.waker(), link)?;
                    *binding = op::bind_current(driver);
                    Some((keys, driver.id))
                });
                match submitted {
                    None => this.fail_all(outside_runtime),
                    Some(None) => {
                        let n = this.payloads.len();
                        this.fail_all(|| {
                            io::Error::new(
                                io::ErrorKind::InvalidInput,
                                format!("ringolo: a chain of {n} ops does not fit in the submission queue"),
                            )
                        });
                    }
                    Some(Some((keys, ring))) => {
                        this.ring = Some(ring);
                        this.keys = keys.into_iter().map(Some).collect();
                        return Poll::Pending;
                    }
                }
            }
            Some(ring) => {
                let keys = &mut this.keys;
                let binding = &mut this.binding;
                let finished = context::with_driver(|driver| {
                    if driver.id != ring {
                        return None;
                    }
                    op::rebind(binding, driver);
                    let mut finished = Vec::new();
                    for (i, slot) in keys.iter_mut().enumerate() {
                        if let Some(key) = *slot {
                            if let Some((res, flags)) = driver.poll_op(key, cx.waker()) {
                                *slot = None;
                                finished.push((i, Completion::from_raw(res, flags)));
                            }
                        }
                    }
                    Some(finished)
                });
                let Some(finished) = finished.flatten() else {
                    polled_off_ring()
                };
                // Payloads complete outside the driver borrow: `complete` is user code.
                for (i, result) in finished {
                    let payload = this.payloads[i].take().expect("completed once");
                    this.outputs[i] = Some(payload.complete(result));
                }
            }
        }
        if this.outputs.iter().all(Option::is_some) {
            this.binding = None;
            Poll::Ready(
                this.outputs
                    .drain(..)
                    .map(|o| o.expect("checked"))
                    .collect(),
            )
        } else {
            Poll::Pending
        }
    }
}

impl<T: Operation> Drop for OpList<T> {
    fn drop(&mut self) {
        let Some(ring) = self.ring else { return };
        for (key, payload) in self.keys.iter_mut().zip(self.payloads.iter_mut()) {
            if let Some(key) = key.take() {
                op::orphan(key, ring, payload.take());
            }
        }
    }
}

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{JoinHandle, LocalEnterGuard};
use crate::compat::runtime::Runtime;

/// Stands for `tokio::task::LocalSet`: tasks that need not be `Send`, run on the thread that
/// drives the set (ringolo's `LocalSet`, with Tokio's `block_on(&Runtime, ..)`).
#[derive(Default)]
pub struct LocalSet {
    inner: crate::task::LocalSet,
}

impl LocalSet {
    /// Stands for `LocalSet::new`.
    pub fn new() -> LocalSet {
        LocalSet::default()
    }

    pub(crate) fn native(&self) -> &crate::task::LocalSet {
        &self.inner
    }

    /// Stands for `LocalSet::spawn_local`.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.inner.spawn_local(future)
    }

    /// Stands for `LocalSet::run_until`.
    pub fn run_until<F: Future>(&self, future: F) -> crate::task::RunUntil<'_, F> {
        self.inner.run_until(future)
    }

    /// Stands for `LocalSet::block_on`: `rt.block_on(self.run_until(future))`.
    ///
    /// # Panics
    /// Inside a runtime, with Tokio's message.
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &Runtime, future: F) -> F::Output {
        self.inner.block_on(rt.native(), future)
    }

    /// Stands for `LocalSet::enter`.
    pub fn enter(&self) -> LocalEnterGuard {
        self.inner.enter()
    }
}

impl Future for LocalSet {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

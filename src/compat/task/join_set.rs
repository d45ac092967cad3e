//! `tokio::task::JoinSet`: a set of tasks joined in the order they finish.
//!
//! The set is a `futures` `FuturesUnordered` of the tasks' `JoinHandle`s (each paired with
//! its task id): every handle is polled with a waker of its own, so joining polls only the
//! tasks that woke. Dropping the set aborts every task still in it.

use std::fmt;
use std::future::{poll_fn, Future};
use std::panic;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures::stream::{FuturesUnordered, Stream};

use super::{AbortHandle, Id, JoinError, JoinHandle, LocalSet};
use crate::compat::runtime::Handle;

/// A member of the set: the handle, answering with its task's id.
struct Entry<T> {
    handle: JoinHandle<T>,
}

impl<T> Future for Entry<T> {
    type Output = Result<(Id, T), JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.handle.id();
        Pin::new(&mut self.handle)
            .poll(cx)
            .map(|res| res.map(|out| (id, out)))
    }
}

/// Stands for `tokio::task::JoinSet`. Dropping it aborts every task still in it.
pub struct JoinSet<T> {
    entries: FuturesUnordered<Entry<T>>,
}

impl<T> JoinSet<T> {
    /// Stands for `JoinSet::new`.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: FuturesUnordered::new(),
        }
    }

    /// Stands for `JoinSet::len`: tasks spawned and not yet joined (finished ones included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Stands for `JoinSet::is_empty`.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn push(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        self.entries.push(Entry { handle });
        abort
    }

    /// Stands for `JoinSet::spawn`: spawn onto the current runtime.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.push(crate::compat::task::spawn(task))
    }

    /// Stands for `JoinSet::spawn_on`.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, task: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.push(handle.spawn(task))
    }

    /// Stands for `JoinSet::spawn_local`: onto the current `LocalSet` or `LocalRuntime`.
    ///
    /// # Panics
    /// Elsewhere, with Tokio's message.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.push(crate::task::spawn_local(task))
    }

    /// Stands for `JoinSet::spawn_local_on`.
    #[track_caller]
    pub fn spawn_local_on<F>(&mut self, task: F, local_set: &LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.push(local_set.native().spawn_local(task))
    }

    /// Stands for `JoinSet::spawn_blocking`.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.push(crate::compat::task::spawn_blocking(f))
    }

    /// Stands for `JoinSet::spawn_blocking_on`.
    #[track_caller]
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.push(handle.spawn_blocking(f))
    }

    /// Stands for `JoinSet::join_next`: the output of the next task to finish, `None` when
    /// the set is empty. Cancel-safe.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Stands for `JoinSet::join_next_with_id`.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// Stands for `JoinSet::try_join_next`: a finished task's output, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id()
            .map(|res| res.map(|(_, out)| out))
    }

    /// Stands for `JoinSet::try_join_next_with_id`.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut self.entries).poll_next(&mut cx) {
            Poll::Ready(out) => out,
            Poll::Pending => None,
        }
    }

    /// Stands for `JoinSet::poll_join_next`.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|res| res.map(|res| res.map(|(_, out)| out)))
    }

    /// Stands for `JoinSet::poll_join_next_with_id`.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        // Each task joined spends a unit of the task's budget, as Tokio's JoinSet does: a set
        // of finished tasks cannot keep its joiner from yielding for ever.
        let restore = std::task::ready!(super::coop::poll_proceed(cx));
        let out = Pin::new(&mut self.entries).poll_next(cx);
        if out.is_ready() {
            restore.made_progress();
        }
        out
    }

    /// Stands for `JoinSet::join_all`: every output, in the order the tasks finish.
    ///
    /// # Panics
    /// Resumes the panic of a task that panicked (the other tasks are aborted with the set);
    /// panics when a task was cancelled.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut output = Vec::with_capacity(self.len());
        while let Some(res) = self.join_next().await {
            match res {
                Ok(t) => output.push(t),
                Err(err) if err.is_panic() => panic::resume_unwind(err.into_panic()),
                Err(err) => panic!("{err}"),
            }
        }
        output
    }

    /// Stands for `JoinSet::abort_all`: abort every task; they stay in the set until joined.
    pub fn abort_all(&mut self) {
        for entry in self.entries.iter() {
            entry.handle.abort();
        }
    }

    /// Stands for `JoinSet::detach_all`: remove every task, letting them run on.
    pub fn detach_all(&mut self) {
        // Dropping a handle detaches its task.
        self.entries.clear();
    }

    /// Stands for `JoinSet::shutdown`: abort every task and wait for all of them to finish.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

/// Stands for Tokio's `impl FromIterator for JoinSet`: spawns every future.
impl<T, F> std::iter::FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

/// Stands for Tokio's `impl Extend for JoinSet`: spawns every future.
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for task in iter {
            self.spawn(task);
        }
    }
}

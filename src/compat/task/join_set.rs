//! `tokio::task::JoinSet`: a set of tasks joined in the order they finish.
//!
//! Each task's `JoinHandle` is polled with a waker of its own entry, which queues the entry on
//! the set's ready queue (lock-free) and wakes whoever waits in `join_next` if it sleeps;
//! `join_next` polls only queued entries, so a set of a million tasks costs nothing per
//! wake-up beyond the task that woke. A new entry starts queued, so its first poll registers
//! its waker.

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic;
use std::pin::Pin;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures::task::{waker_ref, ArcWake};

use super::{AbortHandle, Id, JoinError, JoinHandle, LocalSet};
use crate::compat::runtime::Handle;

/// Stands for `tokio::task::JoinSet`. Dropping it aborts every task still in it.
pub struct JoinSet<T> {
    entries: slab::Slab<Entry<T>>,
    ready: Arc<Ready>,
    /// Keys to poll next, owned by the set: new entries, and keys taken off the ready queue.
    batch: VecDeque<usize>,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    waker: Arc<EntryWaker>,
}

/// Where woken entries go (a lock-free queue: tasks finishing on several workers at once do
/// not meet on a lock), and the waker of the set's waiter, touched only when it waits.
struct Ready {
    keys: crossbeam_deque::Injector<usize>,
    /// The waiter has gone to sleep with its waker in `parent` (the Dekker pair with a push).
    parked: AtomicBool,
    parent: Mutex<Option<Waker>>,
}

struct EntryWaker {
    key: usize,
    /// Set while the entry is queued (so it is queued once).
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl ArcWake for EntryWaker {
    fn wake_by_ref(this: &Arc<Self>) {
        if this.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        this.ready.keys.push(this.key);
        // Ordered against the waiter's `parked` store and queue check (see `poll_next_entry`).
        fence(Ordering::SeqCst);
        if this.ready.parked.swap(false, Ordering::SeqCst) {
            let parent = this
                .ready
                .parent
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            // User code: outside the lock.
            if let Some(w) = parent {
                w.wake();
            }
        }
    }
}

impl<T> JoinSet<T> {
    /// Stands for `JoinSet::new`.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: slab::Slab::new(),
            ready: Arc::new(Ready {
                keys: crossbeam_deque::Injector::new(),
                parked: AtomicBool::new(false),
                parent: Mutex::new(None),
            }),
            batch: VecDeque::new(),
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
        let entry = self.entries.vacant_entry();
        let key = entry.key();
        entry.insert(Entry {
            handle,
            waker: Arc::new(EntryWaker {
                key,
                queued: AtomicBool::new(true),
                ready: self.ready.clone(),
            }),
        });
        // New: polled once so it registers its waker.
        self.batch.push_back(key);
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
        let noop = Waker::noop();
        let mut cx = Context::from_waker(noop);
        match self.poll_next_entry(&mut cx, false) {
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
        let out = self.poll_next_entry(cx, true);
        if out.is_ready() {
            restore.made_progress();
        }
        out
    }

    /// Poll queued entries until one is done. With `register`, wait for the next wake-up with
    /// `cx`'s waker when none is. A waker this replaces is dropped only after the decision (its
    /// drop is user code, which may even complete a task: that wake-up is for the next poll).
    fn poll_next_entry(
        &mut self,
        cx: &mut Context<'_>,
        register: bool,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        use crossbeam_deque::Steal;
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        let mut replaced = None;
        let out = loop {
            if let Some(key) = self.batch.pop_front() {
                if let Some(out) = self.poll_entry(key) {
                    break Poll::Ready(Some(out));
                }
                continue;
            }
            match self.ready.keys.steal() {
                Steal::Success(key) => {
                    self.batch.push_back(key);
                    continue;
                }
                Steal::Retry => continue,
                Steal::Empty => {}
            }
            if !register {
                break Poll::Pending;
            }
            if replaced.is_none() {
                let mut parent = self.ready.parent.lock().unwrap_or_else(|e| e.into_inner());
                if !parent.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    replaced = Some(parent.replace(cx.waker().clone()));
                }
            }
            self.ready.parked.store(true, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if self.ready.keys.is_empty() {
                break Poll::Pending;
            }
            // A wake-up raced with going to sleep: take it here.
            self.ready.parked.store(false, Ordering::SeqCst);
        };
        drop(replaced);
        out
    }

    /// Poll one queued entry; its output when its task is done.
    fn poll_entry(&mut self, key: usize) -> Option<Result<(Id, T), JoinError>> {
        let entry = self.entries.get_mut(key)?;
        entry.waker.queued.store(false, Ordering::Release);
        // Borrowed, not cloned: polling an entry costs no reference count on a waker the
        // task's worker may be waking at the same moment.
        let waker = waker_ref(&entry.waker);
        let mut entry_cx = Context::from_waker(&waker);
        match Pin::new(&mut entry.handle).poll(&mut entry_cx) {
            Poll::Ready(res) => {
                let entry = self.entries.remove(key);
                let id = entry.handle.id();
                Some(res.map(|out| (id, out)))
            }
            Poll::Pending => None,
        }
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
        for (_, entry) in self.entries.iter() {
            entry.handle.abort();
        }
    }

    /// Stands for `JoinSet::detach_all`: remove every task, letting them run on.
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.batch.clear();
        while !matches!(self.ready.keys.steal(), crossbeam_deque::Steal::Empty) {}
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

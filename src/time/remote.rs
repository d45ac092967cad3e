//! Timers registered from a thread that does not drive the runtime (a `Sleep` polled by a
//! blocking-pool thread, or on a runtime other than the one it belongs to). The timer lives in
//! the runtime's store like any other; what the polling thread holds is this shared entry,
//! which the store's waker marks fired.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use crate::util::genslab::Key;

pub(crate) struct RemoteTimer {
    pub(crate) deadline: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    waker: Option<Waker>,
    fired: bool,
    cancelled: bool,
    /// The store entry, once the driving thread inserted it (current-thread runtimes insert
    /// it on their next turn).
    key: Option<Key>,
}

impl std::fmt::Debug for RemoteTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteTimer")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl RemoteTimer {
    pub(crate) fn new(deadline: Instant) -> Arc<RemoteTimer> {
        Arc::new(RemoteTimer {
            deadline,
            state: Mutex::new(State::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.fired {
            return Poll::Ready(());
        }
        if !state
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            // The replaced waker is user code: dropped outside the lock.
            let old = state.waker.replace(cx.waker().clone());
            drop(state);
            drop(old);
        }
        Poll::Pending
    }

    /// The store's side: whether to insert it (not cancelled meanwhile); records the key.
    pub(crate) fn inserted(&self, key: Key) {
        self.lock().key = Some(key);
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.lock().cancelled
    }

    /// The entry's owner gave up: the store entry to remove, if there is one already.
    pub(crate) fn cancel(&self) -> Option<Key> {
        let mut state = self.lock();
        state.cancelled = true;
        state.waker = None;
        state.key.take()
    }

    pub(crate) fn is_fired(&self) -> bool {
        self.lock().fired
    }
}

impl Wake for RemoteTimer {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waker = {
            let mut state = self.lock();
            state.fired = true;
            state.key = None;
            state.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

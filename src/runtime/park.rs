//! A thread parker: what a thread blocks on when it waits for a future without driving a
//! ring (a `block_on` while another thread holds the runtime's core), woken by the future's
//! waker or by the core coming back. Independent of the thread's own park token, so user code
//! calling `thread::park` / `unpark` cannot confuse it.

use std::sync::{Arc, Condvar, Mutex};
use std::task::{Wake, Waker};

pub(crate) struct Parker {
    notified: Mutex<bool>,
    cond: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            notified: Mutex::new(false),
            cond: Condvar::new(),
        }
    }

    /// Block until `unpark` was called (since the last `park` returned).
    pub(crate) fn park(&self) {
        let mut notified = self.notified.lock().unwrap_or_else(|e| e.into_inner());
        while !*notified {
            notified = self.cond.wait(notified).unwrap_or_else(|e| e.into_inner());
        }
        *notified = false;
    }

    pub(crate) fn unpark(&self) {
        *self.notified.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_one();
    }

    pub(crate) fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
    }
}

impl Wake for Parker {
    fn wake(self: Arc<Self>) {
        self.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.unpark();
    }
}

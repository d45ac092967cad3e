use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::store::{TimerPoll, TimerStore};
use crate::runtime::context;
use crate::util::genslab::Key;

/// Wait until `duration` has passed.
///
/// # Panics
/// When polled outside a ringolo runtime.
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = super::now()
        .checked_add(duration)
        .unwrap_or_else(super::far_future);
    Sleep::new(deadline)
}

/// Wait until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "a Sleep does nothing unless awaited"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    /// The timer-store entry and the id of the store it lives in.
    entry: Option<(Key, u64)>,
    elapsed: bool,
}

impl Sleep {
    pub(crate) fn new(deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            entry: None,
            elapsed: false,
        }
    }

    /// When this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached (as observed by the last poll).
    pub fn is_elapsed(&self) -> bool {
        self.elapsed
    }

    /// Move the deadline; the sleep can be polled again afterwards.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deregister();
        this.deadline = deadline;
        this.elapsed = false;
    }

    fn deregister(&mut self) {
        if let Some((key, store)) = self.entry.take() {
            let waker =
                context::with_timers(|t| if t.id() == store { t.remove(key) } else { None });
            drop(waker);
        }
    }
}

impl Sleep {
    /// Poll through `timers`: `None` when they cannot be reached from this thread.
    #[inline]
    pub(crate) fn poll_with(
        &mut self,
        cx: &mut Context<'_>,
        timers: &impl Timers,
    ) -> Option<Poll<()>> {
        let this = self;
        if this.elapsed {
            return Some(Poll::Ready(()));
        }
        enum Step {
            Done,
            Waiting,
            NewWaker(Key),
            Register,
            Registered((Key, u64)),
        }
        let deadline = this.deadline;
        let entry = this.entry;
        // Waker clones and drops are user code: they happen outside the store's borrow. A first
        // poll clones up front, so registering takes one borrow.
        let mut fresh = if entry.is_none() {
            Some(cx.waker().clone())
        } else {
            None
        };
        let step = timers.with(|t| match entry {
            Some((key, store)) if store == t.id() => match t.poll(key, cx.waker()) {
                Some(TimerPoll::Fired) | None => Step::Done,
                Some(TimerPoll::Pending) => Step::Waiting,
                Some(TimerPoll::StaleWaker) => Step::NewWaker(key),
            },
            _ => {
                // A deadline the clock has already reached is ready without reading the clock;
                // any other is registered and fires on the next turn if it is due already.
                if deadline <= t.reached() {
                    Step::Done
                } else if let Some(waker) = fresh.take() {
                    Step::Registered((t.insert(deadline, waker), t.id()))
                } else {
                    Step::Register
                }
            }
        });
        let step = step?;
        Some(match step {
            Step::Waiting => Poll::Pending,
            Step::NewWaker(key) => {
                let waker = cx.waker().clone();
                let old = timers.with(|t| t.set_waker(key, waker));
                drop(old);
                Poll::Pending
            }
            Step::Register => {
                // Registered with another runtime's store before: register here.
                let waker = cx.waker().clone();
                this.entry = timers.with(|t| (t.insert(deadline, waker), t.id()));
                Poll::Pending
            }
            Step::Registered(new_entry) => {
                this.entry = Some(new_entry);
                Poll::Pending
            }
            Step::Done => {
                drop(fresh);
                this.entry = None;
                this.elapsed = true;
                Poll::Ready(())
            }
        })
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.get_mut().poll_with(cx, &Driven) {
            Some(ready) => ready,
            None => panic!(
                "ringolo: a timer was polled outside a ringolo runtime; sleep, timeout and interval \
                 must run inside Runtime::block_on or a spawned task"
            ),
        }
    }
}

/// Where a sleep reaches its timer store from.
pub(crate) trait Timers {
    /// Run `f` on the store; `None` when there is none to reach.
    fn with<R>(&self, f: impl FnOnce(&mut TimerStore) -> R) -> Option<R>;
}

/// The store of whatever this thread drives.
pub(crate) struct Driven;

impl Timers for Driven {
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut TimerStore) -> R) -> Option<R> {
        context::with_timers(f)
    }
}

/// The store of one runtime, reached only from a thread that drives it; notes whether that
/// runtime was found shutting down (the store is then not reached).
pub(crate) struct OfRuntime {
    pub(crate) id: crate::runtime::Id,
    pub(crate) shut_down: std::cell::Cell<bool>,
}

impl Timers for OfRuntime {
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut TimerStore) -> R) -> Option<R> {
        match context::with_timers_of(self.id, f) {
            Some(Some(out)) => Some(out),
            Some(None) => {
                self.shut_down.set(true);
                None
            }
            None => None,
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

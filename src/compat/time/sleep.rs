use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project::pin_project;

use super::Instant;
use crate::runtime::{self as native, context};
use crate::time::remote::RemoteTimer;
use crate::time::sleep::OfRuntime;

/// The runtime a timer made now belongs to (its id), and its clock's now.
///
/// # Panics
/// Outside a runtime, or on one built without timers — Tokio's texts, at the caller.
#[track_caller]
#[inline]
pub(crate) fn timer_context() -> (native::Id, Instant) {
    let Some((id, time_enabled, now)) = context::timer_context() else {
        panic!("{}", crate::compat::CONTEXT_MISSING);
    };
    if !time_enabled {
        panic!(
            "A Tokio 1.x context was found, but timers are disabled. Call `enable_time` on the \
             runtime builder to enable timers."
        );
    }
    (id, Instant::from_std(now))
}

/// Stands for `tokio::time::sleep`: wait until `duration` has passed (capped at 30 years).
///
/// # Panics
/// Outside a runtime, or on one built without timers — Tokio's texts.
#[track_caller]
#[inline]
pub fn sleep(duration: Duration) -> Sleep {
    let (runtime, now) = timer_context();
    Sleep::new(runtime, now + duration.min(super::MAX_DELAY))
}

/// Stands for `tokio::time::sleep_until`.
///
/// # Panics
/// Outside a runtime, or on one built without timers — Tokio's texts.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(timer_context().0, deadline)
}

/// Stands for `tokio::time::Sleep`: the future of [`sleep`] and [`sleep_until`] (`!Unpin`,
/// `Send + Sync`).
#[pin_project]
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Sleep {
    /// Registered in the store of the thread that drives the runtime.
    local: crate::time::Sleep,
    /// Registered from a thread that does not drive it (boxed: rare, and it keeps the
    /// common `Sleep` small).
    remote: Option<Box<Remote>>,
    /// The runtime it belongs to; its handle is looked up only to register from elsewhere.
    runtime: native::Id,
    elapsed: bool,
    #[pin]
    _pin: PhantomPinned,
}

/// A registration with the runtime from elsewhere; given up on drop.
#[derive(Debug)]
struct Remote {
    timer: Arc<RemoteTimer>,
    handle: native::Handle,
}

impl Drop for Remote {
    fn drop(&mut self) {
        if !self.timer.is_fired() {
            self.handle.cancel_timer(&self.timer);
        }
    }
}

impl Sleep {
    pub(crate) fn new(runtime: native::Id, deadline: Instant) -> Sleep {
        Sleep {
            local: crate::time::Sleep::new(deadline.into_std()),
            remote: None,
            runtime,
            elapsed: false,
            _pin: PhantomPinned,
        }
    }

    /// Stands for `Sleep::deadline`.
    pub fn deadline(&self) -> Instant {
        Instant::from_std(self.local.deadline())
    }

    /// Stands for `Sleep::is_elapsed`: whether a poll has seen the deadline pass.
    pub fn is_elapsed(&self) -> bool {
        self.elapsed
    }

    /// Stands for `Sleep::reset`: move the deadline; the sleep can be awaited again.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        Pin::new(&mut *this.local).reset(deadline.into_std());
        // A remote registration is given up (on drop); the next poll registers anew.
        *this.remote = None;
        *this.elapsed = false;
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if *this.elapsed {
            return Poll::Ready(());
        }
        // On a thread driving its runtime: its timer store (one context lookup finds the
        // runtime, its state and the store).
        let here = OfRuntime {
            id: *this.runtime,
            shut_down: std::cell::Cell::new(false),
        };
        let ready = if let Some(ready) = this.local.poll_with(cx, &here) {
            if this.remote.is_some() {
                *this.remote = None;
            }
            ready
        } else {
            if here.shut_down.get() {
                panic!("{}", crate::compat::SHUTTING_DOWN);
            }
            if this.remote.is_none() {
                let handle = native::handle_by_id(*this.runtime)
                    .filter(|h| !h.is_shut_down())
                    .unwrap_or_else(|| panic!("{}", crate::compat::SHUTTING_DOWN));
                *this.remote = Some(Box::new(Remote {
                    timer: handle.register_timer(this.local.deadline()),
                    handle,
                }));
            }
            let remote = this.remote.as_mut().expect("set above");
            if remote.handle.is_shut_down() {
                panic!("{}", crate::compat::SHUTTING_DOWN);
            }
            remote.timer.poll(cx)
        };
        if ready.is_ready() {
            *this.elapsed = true;
        }
        ready
    }
}

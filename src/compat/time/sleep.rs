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

/// The runtime a timer made now belongs to.
///
/// # Panics
/// Outside a runtime, or on one built without timers — Tokio's texts, at the caller.
#[track_caller]
pub(crate) fn timer_handle() -> native::Handle {
    timer_handle_and_now().0
}

/// `timer_handle`, with the runtime clock's now.
#[track_caller]
pub(crate) fn timer_handle_and_now() -> (native::Handle, Instant) {
    let Some((handle, now)) = context::handle_and_now() else {
        panic!("{}", crate::compat::CONTEXT_MISSING);
    };
    if !handle.config().time_enabled {
        panic!(
            "A Tokio 1.x context was found, but timers are disabled. Call `enable_time` on the \
             runtime builder to enable timers."
        );
    }
    (handle, Instant::from_std(now))
}

/// Stands for `tokio::time::sleep`: wait until `duration` has passed (capped at 30 years).
///
/// # Panics
/// Outside a runtime, or on one built without timers — Tokio's texts.
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let (handle, now) = timer_handle_and_now();
    Sleep::new(handle, now + duration.min(super::MAX_DELAY))
}

/// Stands for `tokio::time::sleep_until`.
///
/// # Panics
/// Outside a runtime, or on one built without timers — Tokio's texts.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(timer_handle(), deadline)
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
    handle: native::Handle,
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

impl std::fmt::Debug for RemoteTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteTimer")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Sleep {
    pub(crate) fn new(handle: native::Handle, deadline: Instant) -> Sleep {
        Sleep {
            local: crate::time::Sleep::new(deadline.into_std()),
            remote: None,
            handle,
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
        if this.handle.is_shut_down() {
            panic!("{}", crate::compat::SHUTTING_DOWN);
        }
        let ready = if context::driving_runtime_id() == Some(this.handle.id()) {
            *this.remote = None;
            Pin::new(&mut *this.local).poll(cx)
        } else {
            let deadline = this.local.deadline();
            let handle = &*this.handle;
            let remote = this.remote.get_or_insert_with(|| {
                Box::new(Remote {
                    timer: handle.register_timer(deadline),
                    handle: handle.clone(),
                })
            });
            remote.timer.poll(cx)
        };
        if ready.is_ready() {
            *this.elapsed = true;
        }
        ready
    }
}

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project::pin_project;

use super::{Instant, Sleep};
use crate::time::Elapsed;

/// Stands for `tokio::time::timeout`: run `future`, giving up once `duration` has passed.
/// The future is polled first, so one that is ready wins even past the deadline. A duration
/// that overflows the clock never elapses.
///
/// # Panics
/// Outside a runtime, or on one built without timers — Tokio's texts (unless the duration
/// overflows: then there is no timer).
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    // A match, not `map`: closures do not carry `#[track_caller]`, and the panic for a missing
    // runtime must point at the caller.
    #[allow(clippy::manual_map)]
    let delay = match Instant::now().checked_add(duration) {
        Some(deadline) => Some(Sleep::new(super::sleep::timer_context().0, deadline)),
        None => None,
    };
    Timeout {
        value: future.into_future(),
        delay,
    }
}

/// Stands for `tokio::time::timeout_at`.
///
/// # Panics
/// Outside a runtime, or on one built without timers — Tokio's texts.
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        delay: Some(Sleep::new(super::sleep::timer_context().0, deadline)),
    }
}

/// Stands for `tokio::time::Timeout`.
#[pin_project]
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Timeout<T> {
    #[pin]
    value: T,
    #[pin]
    delay: Option<Sleep>,
}

impl<T> Timeout<T> {
    /// Stands for `Timeout::get_ref`.
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// Stands for `Timeout::get_mut`.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// Stands for `Timeout::into_inner`.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Future> Future for Timeout<T> {
    type Output = Result<T::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match this.delay.as_pin_mut() {
            Some(delay) => delay.poll(cx).map(|()| Err(Elapsed::new())),
            None => Poll::Pending,
        }
    }
}

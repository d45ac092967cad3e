use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Instant, Sleep};

/// Stands for `tokio::time::MissedTickBehavior` (ringolo's, with the same variants and
/// arithmetic).
pub use crate::time::MissedTickBehavior;

/// A tick later than this counts as missed (Tokio's threshold).
const LATE: Duration = Duration::from_millis(5);

/// Stands for `tokio::time::interval`: ticks `period` apart, the first at once.
///
/// # Panics
/// When `period` is zero; outside a runtime or on one without timers — Tokio's texts.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    make(Instant::now(), period)
}

/// Stands for `tokio::time::interval_at`: ticks `period` apart, the first at `start`.
///
/// # Panics
/// As [`interval`].
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    make(start, period)
}

#[track_caller]
fn make(start: Instant, period: Duration) -> Interval {
    Interval {
        delay: Box::pin(super::sleep_until(start)),
        period: period.min(super::MAX_DELAY),
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// Stands for `tokio::time::Interval`.
#[derive(Debug)]
pub struct Interval {
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Stands for `Interval::tick`: wait for the next tick; its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Stands for `Interval::poll_tick`. A `Ready` does not register for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        std::task::ready!(self.delay.as_mut().poll(cx));
        let timeout = self.delay.deadline();
        let now = Instant::now();
        let next = if now > timeout + LATE {
            Instant::from_std(self.missed_tick_behavior.next_timeout(
                timeout.into_std(),
                now.into_std(),
                self.period,
            ))
        } else {
            timeout
                .checked_add(self.period)
                .unwrap_or_else(Instant::far_future)
        };
        self.delay.as_mut().reset(next);
        Poll::Ready(timeout)
    }

    /// Stands for `Interval::reset`: the next tick is one period from now.
    pub fn reset(&mut self) {
        let next = Instant::now() + self.period;
        self.delay.as_mut().reset(next);
    }

    /// Stands for `Interval::reset_immediately`: the next tick is now.
    pub fn reset_immediately(&mut self) {
        self.delay.as_mut().reset(Instant::now());
    }

    /// Stands for `Interval::reset_after`: the next tick is `after` from now (capped).
    pub fn reset_after(&mut self, after: Duration) {
        let next = Instant::now() + after.min(super::MAX_DELAY);
        self.delay.as_mut().reset(next);
    }

    /// Stands for `Interval::reset_at`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.as_mut().reset(deadline);
    }

    /// Stands for `Interval::period`.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Stands for `Interval::missed_tick_behavior`.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Stands for `Interval::set_missed_tick_behavior`.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{sleep_until, Sleep};

/// What an [`Interval`] does when ticks were missed (the task was busy past a deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up, keeping the original schedule.
    #[default]
    Burst,
    /// Restart the schedule one period after the late tick.
    Delay,
    /// Skip the missed ticks and fire at the next multiple of the period on the original grid.
    Skip,
}

impl MissedTickBehavior {
    pub(crate) fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => timeout + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let behind = (now - timeout).as_nanos();
                let period_ns = period.as_nanos();
                now + period - Duration::from_nanos((behind % period_ns) as u64)
            }
        }
    }
}

/// Ticks are late by more than this before they count as missed (as Tokio does).
const LATE: Duration = Duration::from_millis(5);

/// A stream of instants `period` apart; the first tick completes at once.
///
/// # Panics
/// When `period` is zero.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    interval_at(super::now(), period)
}

/// Like [`interval`], with the first tick at `start`.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval {
        delay: Box::pin(sleep_until(start)),
        period,
        missed_tick_behavior: MissedTickBehavior::Burst,
    }
}

/// Yields an instant every period; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Wait for the next tick; returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Poll for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.delay.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let timeout = self.delay.deadline();
        let now = super::now();
        let next = if now > timeout + LATE {
            self.missed_tick_behavior
                .next_timeout(timeout, now, self.period)
        } else {
            timeout + self.period
        };
        self.delay.as_mut().reset(next);
        Poll::Ready(timeout)
    }

    /// Restart the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let next = super::now() + self.period;
        self.delay.as_mut().reset(next);
    }

    /// The next tick completes at once.
    pub fn reset_immediately(&mut self) {
        let now = super::now();
        self.delay.as_mut().reset(now);
    }

    /// The next tick is `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        let next = super::now() + after;
        self.delay.as_mut().reset(next);
    }

    /// The next tick is at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.as_mut().reset(deadline);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The missed-tick policy.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Change the missed-tick policy.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

impl futures::Stream for Interval {
    type Item = Instant;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.poll_tick(cx).map(Some)
    }
}

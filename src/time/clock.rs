//! The runtime's clock: real time, or a paused virtual clock that only `advance` (or the
//! scheduler's auto-advance when idle) moves forward.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Clock {
    /// Plain `Instant::now()`.
    Real,
    /// Paused at this instant.
    Frozen(Instant),
    /// Running again after a pause: `base` plus the real time elapsed since `since`.
    Shifted { base: Instant, since: Instant },
}

impl Clock {
    pub(crate) fn now(&self) -> Instant {
        match *self {
            Clock::Real => Instant::now(),
            Clock::Frozen(t) => t,
            Clock::Shifted { base, since } => base + since.elapsed(),
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        matches!(self, Clock::Frozen(_))
    }

    /// Returns false when the clock was not paused.
    pub(crate) fn resume(&mut self) -> bool {
        match *self {
            Clock::Frozen(t) => {
                *self = Clock::Shifted {
                    base: t,
                    since: Instant::now(),
                };
                true
            }
            _ => false,
        }
    }

    /// Returns false when the clock is not paused.
    pub(crate) fn advance(&mut self, by: Duration) -> bool {
        match self {
            Clock::Frozen(t) => {
                *t += by;
                true
            }
            _ => false,
        }
    }

    /// Move a paused clock forward to `to` (never backwards).
    pub(crate) fn advance_to(&mut self, to: Instant) {
        if let Clock::Frozen(t) = self {
            if to > *t {
                *t = to;
            }
        }
    }
}

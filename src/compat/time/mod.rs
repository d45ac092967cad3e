//! `tokio::time` on ringolo's timer store: `sleep`, `timeout`, `interval` and a runtime clock
//! that can be paused (`pause`, `resume`, `advance`, `start_paused`), with Tokio's semantics —
//! 1 ms resolution rounding deadlines up, the first interval tick at once, missed-tick
//! behaviours, deadlines capped 30 years out — and Tokio's panic texts.
//!
//! A timer belongs to the runtime current where it was made (made outside any runtime, it
//! panics at once, as in Tokio). Polled on a thread that drives that runtime it lives in the
//! thread's store; polled anywhere else (a blocking-pool thread, say) it is registered with
//! its runtime from there and fires on that runtime's clock.

mod instant;
mod interval;
mod sleep;
mod timeout;

pub use self::instant::Instant;
pub use self::interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use self::sleep::{sleep, sleep_until, Sleep};
pub use self::timeout::{timeout, timeout_at, Timeout};

/// Stands for `tokio::time::Duration`: the standard one.
pub use std::time::Duration;

/// Stands for `tokio::time::error`.
pub mod error {
    /// Stands for `tokio::time::error::Elapsed`: a timeout's deadline passed first.
    pub use crate::time::Elapsed;
    /// Stands for `tokio::time::error::Error`, re-exported: what a Tokio timer fails with.
    /// ringolo's timers do not fail, so nothing here returns it.
    pub use tokio::time::error::Error;
}

use crate::runtime::context;

/// Deadlines further out than this are capped to it (Tokio's `safe_delay`).
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(86400 * 365 * 30);

const OUTSIDE: &str = "time cannot be frozen from outside the Tokio runtime";

/// Stands for `tokio::time::pause`: freeze the current runtime's clock. While paused, time
/// moves only through `advance` or, when every task is waiting, by jumping to the next timer
/// (not while blocking-pool work runs).
///
/// # Panics
/// Outside a runtime, on a multi-thread runtime, or when already paused — Tokio's texts.
#[track_caller]
pub fn pause() {
    if !context::is_inside_runtime() {
        panic!("{}", OUTSIDE);
    }
    if context::is_multi_thread() {
        panic!(
            "`time::pause()` requires the `current_thread` Tokio runtime. This is the default \
             Runtime used by `#[tokio::test]."
        );
    }
    match context::with_timers(|t| {
        let already = t.is_paused();
        if !already {
            t.pause();
        }
        already
    }) {
        Some(false) => {}
        Some(true) => panic!("time is already frozen"),
        None => panic!("{}", OUTSIDE),
    }
}

/// Stands for `tokio::time::resume`: the clock runs again from where it stood.
///
/// # Panics
/// Outside a runtime, or when the clock is not paused — Tokio's texts.
#[track_caller]
pub fn resume() {
    match context::with_timers(|t| t.resume()) {
        Some(true) => {}
        Some(false) => panic!("time is not frozen"),
        None => panic!("{}", OUTSIDE),
    }
}

/// Stands for `tokio::time::advance`: move a paused clock forward by `duration` at once,
/// firing every timer that falls due, then yield once so their tasks run.
///
/// # Panics
/// Outside a runtime, or when the clock is not paused — Tokio's texts.
pub async fn advance(duration: Duration) {
    match crate::time::advance_clock(duration) {
        Some(true) => {}
        Some(false) => panic!("time is not frozen"),
        None => panic!("{}", OUTSIDE),
    }
    crate::task::yield_now().await;
}

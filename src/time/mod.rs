//! Time: `sleep`, `timeout`, `interval` on a userspace timer store, and a kernel-side
//! multishot [`Tick`].
//!
//! All userspace timers of a runtime live in one store; the scheduler sleeps in
//! `io_uring_enter` with the nearest deadline as the timeout, so 100k sleeps cost one kernel
//! wait, and the clock can be paused (`pause`, `advance`, `resume`) for tests.

pub(crate) mod clock;
mod interval;
pub(crate) mod remote;
pub(crate) mod sleep;
mod store;
mod tick;
mod timeout;

pub use self::interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use self::sleep::{sleep, sleep_until, Sleep};
pub use self::tick::Tick;
pub use self::timeout::{timeout, timeout_at, Elapsed, Timeout};
pub use std::time::{Duration, Instant};

pub(crate) use self::store::TimerStore;

use crate::runtime::context;

/// The runtime clock's current instant: real time, or the virtual time while paused. Outside a
/// runtime, real time.
pub fn now() -> Instant {
    context::clock_now()
}

/// About 30 years from now: what an overflowing deadline saturates to.
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

/// Pause the runtime's clock. While paused, time moves only through [`advance`] or, when every
/// task is waiting, by jumping straight to the next timer's deadline.
///
/// # Panics
/// Outside a runtime.
#[track_caller]
pub fn pause() {
    assert!(
        !context::is_multi_thread(),
        "`time::pause()` requires the current-thread runtime"
    );
    context::with_timers(|t| t.pause())
        .expect("ringolo::time::pause called outside a ringolo runtime");
}

/// Resume a paused clock; time continues from where it stood.
///
/// # Panics
/// Outside a runtime, or if the clock is not paused.
#[track_caller]
pub fn resume() {
    let resumed = context::with_timers(|t| t.resume())
        .expect("ringolo::time::resume called outside a ringolo runtime");
    assert!(resumed, "time is not frozen");
}

/// Move a paused clock forward by `duration`, firing the timers that fall due, then yield so
/// their tasks can run.
///
/// # Panics
/// Outside a runtime, or if the clock is not paused.
pub async fn advance(duration: Duration) {
    let advanced =
        advance_clock(duration).expect("ringolo::time::advance called outside a ringolo runtime");
    assert!(advanced, "time is not frozen");
    crate::task::yield_now().await;
}

/// Move this thread's paused clock forward by `duration` and wake the timers that fell due.
/// `None` outside a runtime; `Some(false)`, with nothing woken, when the clock is not paused.
/// (`advance` here and in compat, each with its own panic texts.)
pub(crate) fn advance_clock(duration: Duration) -> Option<bool> {
    let mut due = Vec::new();
    let advanced = context::with_timers(|t| {
        let advanced = t.advance(duration);
        let now = t.now();
        t.fire(now, &mut due);
        advanced
    })?;
    if advanced {
        due.into_iter().for_each(std::task::Waker::wake);
    }
    Some(advanced)
}

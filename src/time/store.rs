//! The timer store: millisecond buckets in a B-tree over a generation-tagged slab.
//!
//! One store per runtime, reached only from the thread driving it. The scheduler asks for the
//! nearest deadline and sleeps in `io_uring_enter` with that timeout, so any number of sleeps
//! costs one kernel wait. Deadlines round up to the millisecond, so timers due in the same
//! millisecond share a bucket: inserting is a B-tree lookup among the distinct deadlines plus a
//! push, and firing takes whole buckets.
//!
//! Cancelling a sleep frees its slab entry at once and leaves its key in the bucket, to be
//! skipped when the bucket comes due; when such stale keys outnumber the live timers, the
//! buckets are rebuilt, so churn (timeouts that never fire) cannot grow them without bound.

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::clock::Clock;
use crate::util::genslab::{GenSlab, Key};

struct Entry {
    tick: u64,
    waker: Option<Waker>,
    fired: bool,
}

pub(crate) struct TimerStore {
    origin: Instant,
    entries: GenSlab<Entry>,
    buckets: BTreeMap<u64, Vec<u64>>,
    /// Keys in all buckets, live or stale.
    queued: usize,
    /// A lower bound of the clock: the last instant read.
    last_now: Instant,
    clock: Clock,
    /// A copy of `clock` for threads that have the runtime entered but do not drive it
    /// (`Instant::now()` there reads this runtime's clock, paused or not); written on every
    /// change of the clock, which is rare (pause, resume, advance).
    mirror: std::sync::Arc<std::sync::Mutex<Clock>>,
    id: u64,
}

impl TimerStore {
    pub(crate) fn new() -> TimerStore {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let origin = Instant::now();
        TimerStore {
            origin,
            entries: GenSlab::new(),
            buckets: BTreeMap::new(),
            queued: 0,
            last_now: origin,
            clock: Clock::Real,
            mirror: std::sync::Arc::new(std::sync::Mutex::new(Clock::Real)),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn now(&mut self) -> Instant {
        let now = self.clock.now();
        self.last_now = now;
        now
    }

    /// An instant the clock has certainly reached (no clock read).
    pub(crate) fn reached(&self) -> Instant {
        self.last_now
    }

    /// Pause the clock on a millisecond boundary of the store (moving it forward by less than
    /// a millisecond), so `advance(d)` fires a `sleep(d)` registered while paused: deadlines
    /// round up to the millisecond and `now` rounds down.
    pub(crate) fn pause(&mut self) {
        if self.clock.is_paused() {
            return;
        }
        let now = self.clock.now();
        let aligned = self.origin + Duration::from_millis(self.tick_of(now));
        self.clock = Clock::Frozen(aligned);
        self.last_now = aligned;
        self.publish();
    }

    /// The clock's copy for threads that do not drive this store.
    pub(crate) fn clock_mirror(&self) -> std::sync::Arc<std::sync::Mutex<Clock>> {
        self.mirror.clone()
    }

    fn publish(&self) {
        *self.mirror.lock().unwrap_or_else(|e| e.into_inner()) = self.clock;
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.clock.is_paused()
    }

    /// Resume a paused clock; false when it was not paused.
    pub(crate) fn resume(&mut self) -> bool {
        let done = self.clock.resume();
        self.publish();
        done
    }

    /// Move a paused clock forward; false when it is not paused.
    pub(crate) fn advance(&mut self, by: Duration) -> bool {
        let done = self.clock.advance(by);
        self.publish();
        done
    }

    /// Move a paused clock forward to `to` (never backwards).
    pub(crate) fn advance_to(&mut self, to: Instant) {
        self.clock.advance_to(to);
        self.publish();
    }

    /// Deadlines round up to the next millisecond, so a timer never fires early.
    fn tick_of(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.origin);
        let ms = d.as_millis() as u64;
        if d > Duration::from_millis(ms) {
            ms + 1
        } else {
            ms
        }
    }

    fn is_live(&self, tick: u64, key: u64) -> bool {
        self.entries
            .get(Key::from_u64(key))
            .is_some_and(|e| !e.fired && e.tick == tick)
    }

    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> Key {
        let tick = self.tick_of(deadline);
        let key = self.entries.insert(Entry {
            tick,
            waker: Some(waker),
            fired: false,
        });
        self.buckets.entry(tick).or_default().push(key.to_u64());
        self.queued += 1;
        key
    }

    /// Whether the timer fired (its entry is then freed); otherwise stores `waker` and hands
    /// back the one it replaced, for the caller to drop outside the store's borrow. `None` when
    /// the key is unknown.
    /// Where timer `key` stands for a poll with `waker`; `None` if it is gone. Never clones or
    /// drops a waker (user code): on `StaleWaker` the caller clones outside and calls
    /// `set_waker`.
    pub(crate) fn poll(&mut self, key: Key, waker: &Waker) -> Option<TimerPoll> {
        let entry = self.entries.get_mut(key)?;
        if entry.fired {
            self.entries.remove(key);
            return Some(TimerPoll::Fired);
        }
        if entry.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return Some(TimerPoll::Pending);
        }
        Some(TimerPoll::StaleWaker)
    }

    /// Replace timer `key`'s waker, handing back the old one to drop outside the borrow.
    pub(crate) fn set_waker(&mut self, key: Key, waker: Waker) -> Option<Waker> {
        self.entries.get_mut(key)?.waker.replace(waker)
    }

    /// Forget timer `key`; hands back its waker, for the caller to drop outside the store's
    /// borrow (a waker's drop is user code, which may drop another timer).
    #[must_use = "drop the waker outside the store's borrow"]
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        let waker = self.entries.remove(key).and_then(|e| e.waker);
        if self.queued > 1024 && self.queued > 2 * self.entries.len() {
            self.compact();
        }
        waker
    }

    fn compact(&mut self) {
        let mut buckets = std::mem::take(&mut self.buckets);
        for (tick, keys) in buckets.iter_mut() {
            keys.retain(|&k| self.is_live(*tick, k));
        }
        buckets.retain(|_, keys| !keys.is_empty());
        self.queued = buckets.values().map(Vec::len).sum();
        self.buckets = buckets;
    }

    /// The earliest pending deadline, dropping buckets with nothing live on the way.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        loop {
            let (&tick, keys) = self.buckets.iter_mut().next()?;
            // Trim stale keys from the end until a live one shows up.
            while let Some(&k) = keys.last() {
                if self
                    .entries
                    .get(Key::from_u64(k))
                    .is_some_and(|e| !e.fired && e.tick == tick)
                {
                    return Some(self.origin + Duration::from_millis(tick));
                }
                keys.pop();
                self.queued -= 1;
            }
            self.buckets.remove(&tick);
        }
    }

    /// Fire every timer due at `now`, collecting their wakers.
    pub(crate) fn fire(&mut self, now: Instant, wakers: &mut Vec<Waker>) {
        let now_tick = now.saturating_duration_since(self.origin).as_millis() as u64;
        while let Some(entry) = self.buckets.first_entry() {
            if *entry.key() > now_tick {
                break;
            }
            let (tick, keys) = entry.remove_entry();
            self.queued -= keys.len();
            for k in keys {
                if let Some(e) = self.entries.get_mut(Key::from_u64(k)) {
                    if !e.fired && e.tick == tick {
                        e.fired = true;
                        wakers.extend(e.waker.take());
                    }
                }
            }
        }
    }
}

/// What polling a registered timer found.
pub(crate) enum TimerPoll {
    /// Its deadline passed: the entry is gone.
    Fired,
    /// Still waiting, with the poller's waker.
    Pending,
    /// Still waiting, with another waker: the caller must `set_waker`.
    StaleWaker,
}

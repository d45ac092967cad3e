//! The timer store: a min-heap of millisecond deadlines over a generation-tagged slab.
//!
//! One store per runtime, reached only from the thread driving it. The scheduler asks for the
//! nearest deadline and sleeps in `io_uring_enter` with that timeout, so any number of sleeps
//! costs one kernel wait. Cancelling a sleep removes its slab entry at once and leaves its heap
//! entry to be skipped when it surfaces; the heap is rebuilt when such stale entries outnumber
//! the live ones, so churn (timeouts that never fire) cannot grow it without bound.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
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
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    clock: Clock,
    id: u64,
}

impl TimerStore {
    pub(crate) fn new() -> TimerStore {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        TimerStore {
            origin: Instant::now(),
            entries: GenSlab::new(),
            heap: BinaryHeap::new(),
            clock: Clock::Real,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    pub(crate) fn clock_mut(&mut self) -> &mut Clock {
        &mut self.clock
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

    fn instant_of(&self, tick: u64) -> Instant {
        self.origin + Duration::from_millis(tick)
    }

    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> Key {
        let tick = self.tick_of(deadline);
        let key = self.entries.insert(Entry {
            tick,
            waker: Some(waker),
            fired: false,
        });
        self.heap.push(Reverse((tick, key.to_u64())));
        key
    }

    /// Whether the timer fired (its entry is then freed); otherwise refreshes the waker.
    pub(crate) fn poll(&mut self, key: Key, waker: &Waker) -> Option<bool> {
        let entry = self.entries.get_mut(key)?;
        if entry.fired {
            self.entries.remove(key);
            return Some(true);
        }
        if !entry.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            entry.waker = Some(waker.clone());
        }
        Some(false)
    }

    pub(crate) fn remove(&mut self, key: Key) {
        self.entries.remove(key);
        if self.heap.len() > 1024 && self.heap.len() > 2 * self.entries.len() {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let entries = &self.entries;
        let live: Vec<_> = self
            .heap
            .drain()
            .filter(|Reverse((tick, k))| {
                entries
                    .get(Key::from_u64(*k))
                    .is_some_and(|e| !e.fired && e.tick == *tick)
            })
            .collect();
        self.heap = BinaryHeap::from(live);
    }

    /// The earliest pending deadline, dropping stale heap entries on the way.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((tick, k))) = self.heap.peek() {
            match self.entries.get(Key::from_u64(k)) {
                Some(e) if !e.fired && e.tick == tick => return Some(self.instant_of(tick)),
                _ => {
                    self.heap.pop();
                }
            }
        }
        None
    }

    /// Fire every timer due at `now`, collecting their wakers.
    pub(crate) fn fire(&mut self, now: Instant, wakers: &mut Vec<Waker>) {
        let now_tick = now.saturating_duration_since(self.origin).as_millis() as u64;
        while let Some(&Reverse((tick, k))) = self.heap.peek() {
            if tick > now_tick {
                break;
            }
            self.heap.pop();
            if let Some(e) = self.entries.get_mut(Key::from_u64(k)) {
                if !e.fired && e.tick == tick {
                    e.fired = true;
                    wakers.extend(e.waker.take());
                }
            }
        }
    }
}

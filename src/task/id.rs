use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

// Id allocation is not part of any loom model, so it uses std directly.
use std::sync::atomic::{AtomicU64, Ordering};

/// An opaque identifier of a spawned task, unique for the life of the process.
#[derive(Clone, Copy, Debug, Hash, Eq, PartialEq, Ord, PartialOrd)]
pub struct Id(NonZeroU64);

/// Ids are handed out to each thread in blocks, so spawning does not touch a shared counter.
const BLOCK: u64 = 1024;

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        RANGE.with(|range| {
            let (mut next, mut end) = range.get();
            if next == end {
                next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                end = next + BLOCK;
            }
            range.set((next + 1, end));
            Id(NonZeroU64::new(next).expect("task ids start at 1"))
        })
    }

    /// The id as a plain number.
    pub fn as_u64(&self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

//! The one switch between `std` synchronisation and `loom`'s model-checked copies.
//!
//! Every atomic, mutex, condvar and shared cell the task system, both schedulers, their queues
//! and parkers, the blocking pool and the driver's resource bookkeeping use is imported from
//! here, so `RUSTFLAGS="--cfg ringolo_loom" cargo test --lib loom_` model-checks the real code
//! rather than a copy of it (a cfg of our own: `--cfg loom` would also switch Tokio, which the
//! tests' dependencies build on, to its loom build without `tokio::net`). Left on `std` on purpose: `static` counters and the task-memory depot
//! (loom's types cannot be built in a `static`), and the atomic view of the tail a
//! provided-buffer ring shares with the kernel (memory the kernel reads, not ours to model).

#![allow(unused_imports, dead_code)]

#[cfg(not(ringolo_loom))]
mod imp {
    pub(crate) mod sync {
        pub(crate) use std::sync::{Arc, Barrier, Condvar, Mutex, MutexGuard, OnceLock};
        pub(crate) mod atomic {
            pub(crate) use std::sync::atomic::{
                fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
            };
        }
    }

    pub(crate) mod cell {
        /// `std::cell::UnsafeCell` behind loom's closure-based API, so both builds share code.
        #[derive(Debug)]
        pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

        impl<T> UnsafeCell<T> {
            pub(crate) const fn new(data: T) -> UnsafeCell<T> {
                UnsafeCell(std::cell::UnsafeCell::new(data))
            }

            #[inline(always)]
            pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
                f(self.0.get())
            }

            #[inline(always)]
            pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
                f(self.0.get())
            }
        }
    }

    pub(crate) fn thread_yield() {
        std::thread::yield_now();
    }
}

#[cfg(ringolo_loom)]
mod imp {
    pub(crate) mod sync {
        pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
        // loom has no barrier or once-cell; the multi-thread runtime uses them only to start
        // and stop its worker threads, outside anything a model runs.
        pub(crate) use std::sync::{Barrier, OnceLock};
        pub(crate) mod atomic {
            pub(crate) use loom::sync::atomic::{
                fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
            };
        }
    }

    pub(crate) mod cell {
        pub(crate) use loom::cell::UnsafeCell;
    }

    pub(crate) fn thread_yield() {
        loom::thread::yield_now();
    }
}

#[allow(unused_imports)]
pub(crate) use imp::*;

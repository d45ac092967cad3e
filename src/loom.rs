//! The one switch between `std` synchronisation and `loom`'s model-checked copies.
//!
//! Every atomic, mutex and shared cell the task system, the queues and the parker use is
//! imported from here, so `RUSTFLAGS="--cfg loom" cargo test --lib loom_` model-checks the real
//! code rather than a copy of it.

#![allow(unused_imports, dead_code)]

#[cfg(not(loom))]
mod imp {
    pub(crate) mod sync {
        pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
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

#[cfg(loom)]
mod imp {
    pub(crate) mod sync {
        pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
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

//! Schedulers. `current_thread` drives one ring and one run queue on the thread that calls
//! `block_on`.

pub(crate) mod current_thread;
#[cfg(all(test, loom))]
mod loom_tests;
pub(crate) mod multi_thread;
pub(crate) mod queue;

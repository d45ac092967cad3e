//! Schedulers. `current_thread` drives one ring and one run queue on the thread that calls
//! `block_on`.

pub(crate) mod current_thread;

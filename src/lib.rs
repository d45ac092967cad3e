//! # ringolo
//!
//! A completion-driven async runtime for Linux, built on io_uring.
//!
//! ## A tour of the architecture
//!
//! - [`driver`] — one io_uring per runtime thread. Ops in flight live in a generation-tagged
//!   slab; `user_data` carries slot and generation, so a late CQE never completes the wrong
//!   op. Whatever the kernel reads or writes is owned by the op's slot until the final CQE,
//!   even when the future awaiting it is dropped (the op is then cancelled). Four submission
//!   strategies are public: [`Op`] (one SQE), [`OpList`] chains (`IOSQE_IO_LINK`) and batches,
//!   and [`Multishot`] streams.
//! - [`task`] — Tokio's task design: one allocation per task with a header (atomic state word,
//!   vtable), the future or its output, and the join waker. [`spawn`] returns a
//!   [`JoinHandle`](task::JoinHandle) that can abort; panics are caught per task.
//! - `scheduler` — two flavors. Current-thread: a local run queue, an inject queue for other
//!   threads, and parking inside `io_uring_enter` with the next timer deadline as timeout; a
//!   remote wake writes an eventfd that a multishot poll on the ring turns into a completion.
//!   Multi-thread (the default of `#[ringolo::main]`): one ring per worker, work stealing that
//!   moves a task only when it has no op in flight and holds no ring-bound resource (counted
//!   against the task being polled, never read from a waker), `TaskOpts::STICKY`, at most one
//!   searching worker, loom-checked queues and park/unpark. See `docs/design/scheduler.md`.
//! - [`net`], [`fs`], [`buf`] — completion-style I/O: buffers are lent to the kernel by value
//!   and come back with the result.
//! - [`time`] — a userspace timer store (one kernel wait for any number of sleeps, pausable
//!   clock), `sleep`, `timeout`, `interval`, and a kernel-side multishot [`time::Tick`].
//! - [`runtime`] — `Builder`, `Runtime`, `Handle`, `LocalRuntime`; typed
//!   [`BuildError`](runtime::BuildError) when io_uring cannot be set up. A runtime can be
//!   entered without being driven (`Handle::enter`), and `Handle::block_on` drives it from any
//!   thread; `task::LocalSet` runs tasks that are not `Send`; `task::block_in_place` keeps a
//!   multi-thread runtime going, with spare workers when every worker blocks.
//! - [`compat`] — Tokio's API on ringolo, with Tokio's paths, types and semantics, and no
//!   `unsafe`: Tokio's runtime-agnostic items re-exported, the runtime-bound ones implemented
//!   here. See `docs/design/compat.md`.
//!
//! ```no_run
//! #[ringolo::main]
//! async fn main() {
//!     let handle = ringolo::spawn(async { 1 + 1 });
//!     ringolo::time::sleep(std::time::Duration::from_millis(10)).await;
//!     assert_eq!(handle.await.unwrap(), 2);
//! }
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(rust_2018_idioms)]

mod blocking;
mod compat_contracts;
mod loom;
mod scheduler;
mod util;

pub mod buf;
pub mod compat;
pub mod driver;
pub mod fs;
pub mod net;
mod process;
pub mod runtime;
mod signal;
pub mod task;
pub mod time;

pub use driver::{Multishot, Op, OpList};
pub use ringolo_macros::{main, test};
pub use task::spawn;

#[doc(hidden)]
pub mod __private {
    use std::borrow::BorrowMut;
    use std::future::Future;

    use crate::runtime::Builder;

    /// What `#[ringolo::main]` expands to: a build failure is printed (cause and fix) and the
    /// process exits with status 1, without a panic backtrace.
    /// The builder comes by value or as the `&mut Builder` a chain of setters returns.
    pub fn block_on_main<F: Future>(mut builder: impl BorrowMut<Builder>, future: F) -> F::Output {
        match builder.borrow_mut().build() {
            Ok(rt) => rt.block_on(future),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }

    /// What `#[ringolo::test]` expands to: a build failure fails the test with the message.
    #[track_caller]
    pub fn block_on_test<F: Future>(mut builder: impl BorrowMut<Builder>, future: F) -> F::Output {
        match builder.borrow_mut().build() {
            Ok(rt) => rt.block_on(future),
            Err(e) => panic!("{e}"),
        }
    }
}

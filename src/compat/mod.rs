//! `ringolo::compat`: Tokio's API on ringolo.
//!
//! The module tree mirrors `tokio`'s paths, types and semantics, so a Tokio program switches
//! by replacing `tokio::` with `ringolo::compat::` (or `use ringolo::compat as tokio;`):
//!
//! ```no_run
//! use ringolo::compat as tokio;
//!
//! #[ringolo::compat::main]
//! async fn main() {
//!     let handle = tokio::spawn(async { 40 + 2 });
//!     tokio::time::sleep(std::time::Duration::from_millis(10)).await;
//!     assert_eq!(handle.await.unwrap(), 42);
//! }
//! ```
//!
//! What Tokio's runtime does not own — `sync`, the `io` traits and utilities, `select!`,
//! `join!`, `try_join!`, `pin!`, `task_local!` — is re-exported from the real `tokio` crate,
//! item by item, so its types are the very types tokio-util, tokio-stream, hyper-util and tower
//! name. What the runtime owns — `runtime`, `task`, `time`, `spawn`, the `#[main]` / `#[test]`
//! attributes — is implemented here over ringolo's native runtime, with Tokio's signatures,
//! semantics and panic messages. Tokio's semantics are the default: dropping a `JoinHandle`
//! detaches its task, and a task outlives the task that spawned it.
//!
//! With the `hyper` and `axum` features of this crate, `compat::hyper` and
//! `compat::axum` stand in for hyper-util's `TokioExecutor` / `TokioTimer` and for
//! `axum::serve`, which call Tokio's runtime from inside.
//!
//! docs/design/compat.md maps each Tokio concept onto ringolo and lists every difference.

#![forbid(unsafe_code)]

#[cfg(feature = "tokio-bridge")]
mod bridge;
pub mod fs;
pub mod io;
pub mod net;
pub mod process;
pub mod runtime;
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;

#[cfg(feature = "hyper")]
pub mod hyper;

#[cfg(feature = "axum")]
pub mod axum;

#[doc(hidden)]
pub mod macros;

/// Stands for `tokio::spawn`: spawn a task onto the current runtime.
#[doc(inline)]
pub use self::task::spawn;

/// Stands for `#[tokio::main]`: run `async fn main` on a compat runtime (multi-thread by
/// default; `flavor`, `worker_threads`, `start_paused`, `name`, `unhandled_panic` and `crate`
/// as in Tokio).
#[doc(inline)]
pub use ringolo_macros::compat_main as main;

/// Stands for `#[tokio::test]`: run an async test on a compat runtime (current-thread by
/// default; the same arguments as [`main`](macro@main)).
#[doc(inline)]
pub use ringolo_macros::compat_test as test;

/// Stands for `tokio::select!` (re-exported).
#[doc(inline)]
pub use tokio::select;

/// Stands for `tokio::join!` (re-exported).
#[doc(inline)]
pub use tokio::join;

/// Stands for `tokio::try_join!` (re-exported).
#[doc(inline)]
pub use tokio::try_join;

/// Stands for `tokio::pin!` (re-exported).
#[doc(inline)]
pub use tokio::pin;

/// Stands for `tokio::task_local!` (re-exported).
#[doc(inline)]
pub use tokio::task_local;

/// Tokio's panic text for a runtime function called outside a runtime, with what to do about
/// it on ringolo (Tokio's tests match the first sentence).
pub(crate) const CONTEXT_MISSING: &str = "there is no reactor running, must be called from the \
    context of a Tokio 1.x runtime (ringolo::compat: no ringolo runtime is current on this \
    thread; call this inside `Runtime::block_on`, a spawned task, or while a `Runtime::enter()` \
    guard is held)";

/// Tokio's text for a runtime that is shutting down.
pub(crate) const SHUTTING_DOWN: &str = "A Tokio 1.x context was found, but it is being shutdown.";

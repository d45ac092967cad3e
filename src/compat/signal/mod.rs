//! `tokio::signal`: Unix signals as futures, on ringolo's process-wide signal delivery
//! (`src/signal.rs`): several listeners per signal, on several runtimes, each woken by every
//! delivery after it was made.

pub mod unix;

use std::io;

/// Stands for `tokio::signal::ctrl_c`: completes on the next `SIGINT` after its first poll
/// (when the listener is made).
///
/// # Panics
/// Polled outside a runtime, or on one without I/O, with Tokio's messages.
pub async fn ctrl_c() -> io::Result<()> {
    unix::signal(unix::SignalKind::interrupt())?.recv().await;
    Ok(())
}

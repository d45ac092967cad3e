//! The Tokio bridge: one real Tokio runtime beside compat's, for library code that calls
//! Tokio's own runtime.
//!
//! A dependency that links the real `tokio` (hyper-util's `TokioExecutor` and `TokioTimer`,
//! `axum::serve`, tower's `timeout`, tokio-util's `DelayQueue`, reqwest, tonic) looks for
//! Tokio's thread-local context and panics with "there is no reactor running" when a ringolo
//! thread runs it. The bridge gives every thread of a compat runtime that context:
//!
//! - One multi-thread Tokio runtime per process, with one worker thread
//!   (`ringolo-tokio-bridge`), started by the first compat runtime that is built with the
//!   bridge on and never stopped. Work that library code hands to Tokio — `tokio::spawn`,
//!   `tokio::time`, a socket of `tokio::net` — runs there, on epoll, not on io_uring.
//! - Compat's workers and `block_on` calls run inside that runtime's `Handle::block_on`, so
//!   they are *in* a Tokio runtime as Tokio's own workers are: `Handle::current()`,
//!   `tokio::spawn` and Tokio's timers work, and the sync primitives' `blocking_*` methods
//!   panic there as they do under Tokio. Tokio's cooperative budget is switched off for the
//!   whole run (`unconstrained`); compat keeps its own.
//! - Compat's blocking-pool threads only enter the handle (Tokio's blocking threads are not in
//!   the runtime either), and a `block_in_place` closure leaves the runtime through Tokio's
//!   own `block_in_place`.
//!
//! It is compiled with the `tokio-bridge` feature (which the drop-in crate turns on) and then
//! on by default for every compat runtime: a program moved from Tokio keeps working whatever
//! its dependencies call. `Builder::tokio_bridge(false)` or `RINGOLO_TOKIO_BRIDGE=0` turns it
//! off; Tokio-bound library calls then panic with Tokio's message. docs/design/compat.md
//! ("The Tokio bridge") has the costs.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::runtime::threads::{RunWrapper, ThreadRole};

static BRIDGE: Mutex<Option<&'static tokio::runtime::Runtime>> = Mutex::new(None);

/// Whether compat runtimes use the bridge unless their builder says otherwise: yes, unless
/// `RINGOLO_TOKIO_BRIDGE=0` is set.
pub(crate) fn on_by_default() -> bool {
    std::env::var_os("RINGOLO_TOKIO_BRIDGE").is_none_or(|v| v != "0")
}

/// The bridge runtime, started on first use; later calls get the same one.
fn runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    let mut slot = BRIDGE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = *slot {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("ringolo-tokio-bridge")
        .enable_all()
        .build()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "ringolo::compat: the Tokio bridge runtime could not start: {e} (turn the \
                     bridge off with Builder::tokio_bridge(false) or RINGOLO_TOKIO_BRIDGE=0)"
                ),
            )
        })?;
    // Lives as long as the process: tasks and sockets of library code may stay on it past
    // any one compat runtime.
    let rt: &'static tokio::runtime::Runtime = Box::leak(Box::new(rt));
    *slot = Some(rt);
    Ok(rt)
}

/// The bridge's handle, if it has started.
pub(crate) fn started() -> Option<&'static tokio::runtime::Handle> {
    BRIDGE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .map(|rt| rt.handle())
}

/// Runs the body once, when first polled.
struct RunOnce<'a>(Option<&'a mut dyn FnMut()>);

impl Future for RunOnce<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if let Some(body) = self.0.take() {
            body();
        }
        Poll::Ready(())
    }
}

/// The wrapper a compat runtime's threads run in (starting the bridge if it has not yet).
pub(crate) fn wrapper() -> io::Result<RunWrapper> {
    let handle = runtime()?.handle();
    Ok(Arc::new(move |role, body: &mut dyn FnMut()| match role {
        ThreadRole::Worker | ThreadRole::BlockOn => {
            handle.block_on(tokio::task::unconstrained(RunOnce(Some(body))))
        }
        ThreadRole::Blocking => {
            let _entered = handle.enter();
            body()
        }
        ThreadRole::BlockInPlace => tokio::task::block_in_place(body),
    }))
}

/// What ran on the Tokio bridge (process-wide: one bridge serves every compat runtime).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct BridgeMetrics {
    /// Whether the bridge has started in this process.
    pub started: bool,
    /// Tasks alive on the bridge now (library code's `tokio::spawn`s not yet finished).
    pub alive_tasks: usize,
    /// Time the bridge's worker spent running tasks and its drivers.
    pub busy: Duration,
    /// Times the bridge's worker was woken from sleep: each is a hand-off between a compat
    /// thread and the bridge.
    pub unparks: u64,
    /// Tasks ever spawned onto the bridge. Tokio counts them only in a build with
    /// `--cfg tokio_unstable`; `None` otherwise.
    pub spawned: Option<u64>,
}

/// The bridge's counters now.
pub(crate) fn metrics() -> BridgeMetrics {
    let Some(handle) = started() else {
        return BridgeMetrics::default();
    };
    let m = handle.metrics();
    #[cfg(tokio_unstable)]
    let spawned = Some(m.spawned_tasks_count());
    #[cfg(not(tokio_unstable))]
    let spawned = None;
    BridgeMetrics {
        started: true,
        alive_tasks: m.num_alive_tasks(),
        busy: m.worker_total_busy_duration(0),
        unparks: m.worker_park_unpark_count(0),
        spawned,
    }
}

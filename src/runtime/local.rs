//! `LocalRuntime`: a current-thread runtime whose `spawn_local` needs no `LocalSet` — one is
//! built in, run by every `block_on`. The runtime stays on the thread that built it (`!Send`).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::{BuildError, Builder, EnterGuard, Handle, Id, Runtime, RuntimeMetrics};
use crate::task::local::LocalContext;
use crate::task::{JoinHandle, LocalSet};

thread_local! {
    /// The local runtimes built on this thread, for `spawn_local` under `enter`.
    static LOCAL_RUNTIMES: RefCell<Vec<(Id, Weak<LocalContext>)>> = const { RefCell::new(Vec::new()) };
}

/// A current-thread runtime that can run tasks that are not `Send` (Tokio's `LocalRuntime`).
pub struct LocalRuntime {
    // Declared first: its tasks are dropped before the runtime (see `Drop`).
    local: Option<LocalSet>,
    rt: Option<Runtime>,
}

impl LocalRuntime {
    pub(crate) fn build(builder: &mut Builder) -> Result<LocalRuntime, BuildError> {
        let rt = builder.build_with_local_owner(std::thread::current().id())?;
        let local = LocalSet::new();
        let id = rt.handle().id();
        LOCAL_RUNTIMES.with(|r| r.borrow_mut().push((id, Rc::downgrade(local.context()))));
        Ok(LocalRuntime {
            local: Some(local),
            rt: Some(rt),
        })
    }

    fn rt(&self) -> &Runtime {
        self.rt.as_ref().expect("present until drop")
    }

    fn local(&self) -> &LocalSet {
        self.local.as_ref().expect("present until drop")
    }

    /// A handle to the runtime (it spawns `Send` tasks; `spawn_local` under `enter` works on
    /// this thread only).
    pub fn handle(&self) -> Handle {
        self.rt().handle()
    }

    /// Spawn a task that need not be `Send`; it runs during `block_on`.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.local().spawn_local(future)
    }

    /// Run a blocking closure on the runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.rt().spawn_blocking(f)
    }

    /// Run `future` to completion, with the runtime's tasks, local and not.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt().block_on(self.local().run_until(future))
    }

    /// Enter the runtime on this thread (spawn and `spawn_local` reach it).
    pub fn enter(&self) -> EnterGuard<'_> {
        self.rt().enter()
    }

    /// The runtime's metrics.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.rt().metrics()
    }

    /// Shut down, waiting at most `timeout` (see `Runtime::shutdown_timeout`).
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.drop_local();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(timeout);
        }
    }

    /// Shut down without waiting (see `Runtime::shutdown_background`).
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    /// Drop the local tasks inside the runtime, so what they own on its ring is handed back
    /// there.
    fn drop_local(&mut self) {
        let Some(local) = self.local.take() else {
            return;
        };
        let id = self.rt.as_ref().map(|rt| rt.handle().id());
        let _ = LOCAL_RUNTIMES.try_with(|r| r.borrow_mut().retain(|(i, _)| Some(*i) != id));
        match &self.rt {
            Some(rt) if !super::context::is_inside_runtime() && !std::thread::panicking() => {
                rt.block_on(async move { drop(local) })
            }
            _ => drop(local),
        }
    }
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        self.drop_local();
    }
}

impl fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRuntime").finish_non_exhaustive()
    }
}

/// The `LocalRuntime` the current handle names, if it is one: `Ok(Some)` on its own thread,
/// `Err` on another, `Ok(None)` when the current runtime is not local (or there is none).
pub(crate) fn current_local_context() -> Result<Option<Rc<LocalContext>>, ()> {
    let Some(handle) = Handle::try_current() else {
        return Ok(None);
    };
    let Some(owner) = handle.config().local_owner else {
        return Ok(None);
    };
    if owner != std::thread::current().id() {
        return Err(());
    }
    let id = handle.id();
    Ok(LOCAL_RUNTIMES
        .try_with(|r| {
            r.borrow()
                .iter()
                .find(|(i, _)| *i == id)
                .and_then(|(_, w)| w.upgrade())
        })
        .ok()
        .flatten())
}

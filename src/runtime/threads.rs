//! What a runtime does with the threads it starts (workers and blocking-pool threads): their
//! names and stack size, and the user's hooks run on them (`on_thread_start` / `_stop` on
//! every such thread, `on_thread_park` / `_unpark` around a worker's — or the current-thread
//! runtime's `block_on` thread's — sleeps).

use std::fmt;
use std::io;
use std::sync::Arc;

/// A user hook.
pub(crate) type Callback = Arc<dyn Fn() + Send + Sync>;

/// Names for the threads a runtime starts.
pub(crate) type NameFn = Arc<dyn Fn() -> String + Send + Sync>;

/// What a thread does for the runtime while a [`RunWrapper`] wraps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadRole {
    /// A worker (or spare worker) running tasks, for the thread's whole life.
    Worker,
    /// A `block_on` call, on whatever thread made it.
    BlockOn,
    /// A blocking-pool thread, for its whole life.
    Blocking,
    /// A `block_in_place` closure, on the worker that blocks.
    BlockInPlace,
}

/// Runs a thread's work for the runtime inside a context of the embedder's (compat's Tokio
/// bridge): called with the body, which it must call exactly once, on the same thread.
pub(crate) type RunWrapper = Arc<dyn Fn(ThreadRole, &mut dyn FnMut()) + Send + Sync>;

#[derive(Clone, Default)]
pub(crate) struct ThreadConfig {
    pub(crate) name: Option<NameFn>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_start: Option<Callback>,
    pub(crate) on_stop: Option<Callback>,
    pub(crate) on_park: Option<Callback>,
    pub(crate) on_unpark: Option<Callback>,
    pub(crate) wrap: Option<RunWrapper>,
}

impl ThreadConfig {
    /// Start a thread named by the user's setting (or `default_name`) that runs the start
    /// hook, `f`, then the stop hook — the stop hook also when `f` unwinds.
    pub(crate) fn spawn<F, T>(
        self: &Arc<Self>,
        role: ThreadRole,
        default_name: impl FnOnce() -> String,
        f: F,
    ) -> io::Result<std::thread::JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let name = match &self.name {
            Some(name) => name(),
            None => default_name(),
        };
        let mut builder = std::thread::Builder::new().name(name);
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        let config = self.clone();
        builder.spawn(move || {
            struct Stop(Arc<ThreadConfig>);
            impl Drop for Stop {
                fn drop(&mut self) {
                    if let Some(stop) = &self.0.on_stop {
                        stop();
                    }
                }
            }
            if let Some(start) = &config.on_start {
                start();
            }
            let wrapped = config.clone();
            let _stop = Stop(config);
            wrapped.run(role, f)
        })
    }

    /// Run `f` in `role`, inside the embedder's wrapper if there is one.
    pub(crate) fn run<T>(&self, role: ThreadRole, f: impl FnOnce() -> T) -> T {
        let Some(wrap) = &self.wrap else {
            return f();
        };
        let mut f = Some(f);
        let mut out = None;
        wrap(role, &mut || {
            if let Some(f) = f.take() {
                out = Some(f());
            }
        });
        out.expect("a runtime thread's wrapper must run its body")
    }

    pub(crate) fn before_park(&self) {
        if let Some(f) = &self.on_park {
            f();
        }
    }

    pub(crate) fn after_unpark(&self) {
        if let Some(f) = &self.on_unpark {
            f();
        }
    }
}

impl fmt::Debug for ThreadConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadConfig")
            .field("named", &self.name.is_some())
            .field("stack_size", &self.stack_size)
            .field("on_thread_start", &self.on_start.is_some())
            .field("on_thread_stop", &self.on_stop.is_some())
            .field("on_thread_park", &self.on_park.is_some())
            .field("on_thread_unpark", &self.on_unpark.is_some())
            .field("wrapped", &self.wrap.is_some())
            .finish()
    }
}

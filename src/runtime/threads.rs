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

#[derive(Clone, Default)]
pub(crate) struct ThreadConfig {
    pub(crate) name: Option<NameFn>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_start: Option<Callback>,
    pub(crate) on_stop: Option<Callback>,
    pub(crate) on_park: Option<Callback>,
    pub(crate) on_unpark: Option<Callback>,
}

impl ThreadConfig {
    /// Start a thread named by the user's setting (or `default_name`) that runs the start
    /// hook, `f`, then the stop hook — the stop hook also when `f` unwinds.
    pub(crate) fn spawn<F, T>(
        self: &Arc<Self>,
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
            let _stop = Stop(config);
            f()
        })
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
            .finish()
    }
}

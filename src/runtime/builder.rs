use std::sync::Arc;
use std::time::Duration;

use super::threads::{RunWrapper, ThreadConfig, ThreadRole};
use super::{BuildError, Runtime};
use crate::driver::{OpcodeSet, RingConfig};
use crate::scheduler::current_thread::{self, Config};
use crate::scheduler::multi_thread;

/// What happens when a spawned task panics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnhandledPanic {
    /// Report it through the task's `JoinHandle`; the runtime keeps running (the default).
    #[default]
    Ignore,
    /// Stop the runtime: `block_on` panics after the current batch of tasks.
    ShutdownRuntime,
}

/// Configures and builds a [`Runtime`].
#[derive(Clone, Debug)]
pub struct Builder {
    /// `None`: current-thread; `Some(n)`: multi-thread with `n` workers (0: one per CPU).
    workers: Option<usize>,
    entries: u32,
    cq_entries: Option<u32>,
    event_interval: u32,
    unhandled_panic: UnhandledPanic,
    shutdown_timeout: Duration,
    start_paused: bool,
    max_blocking_threads: usize,
    thread_keep_alive: Duration,
    hidden_opcodes: OpcodeSet,
    coalesce: Option<(u32, Duration)>,
    on_cleanup_error: crate::driver::OnCleanupError,
    global_queue_interval: Option<u32>,
    name: Option<Arc<str>>,
    threads: ThreadConfig,
    time_enabled: bool,
    io_enabled: bool,
    local_owner: Option<std::thread::ThreadId>,
    events_per_tick: u32,
    events_per_busy_tick: Option<u32>,
}

impl Builder {
    /// A runtime that runs everything on the thread calling `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder {
            workers: None,
            entries: 256,
            cq_entries: None,
            event_interval: 61,
            unhandled_panic: UnhandledPanic::Ignore,
            shutdown_timeout: Duration::from_secs(1),
            start_paused: false,
            max_blocking_threads: 512,
            thread_keep_alive: Duration::from_secs(10),
            hidden_opcodes: OpcodeSet::default(),
            coalesce: None,
            on_cleanup_error: crate::driver::OnCleanupError::Log,
            global_queue_interval: None,
            name: None,
            threads: ThreadConfig::default(),
            time_enabled: true,
            io_enabled: true,
            local_owner: None,
            events_per_tick: 1024,
            events_per_busy_tick: None,
        }
    }

    /// A runtime with worker threads (default: one per CPU), each with its own ring, that
    /// steal work from each other. `block_on` polls its future on the calling thread.
    pub fn new_multi_thread() -> Builder {
        Builder {
            workers: Some(0),
            ..Builder::new_current_thread()
        }
    }

    /// Worker threads of a multi-thread runtime (at least 1). Ignored by a current-thread one.
    ///
    /// # Panics
    /// When `n` is 0, as Tokio's does.
    #[track_caller]
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "Worker threads cannot be set to 0");
        if self.workers.is_some() {
            self.workers = Some(n);
        }
        self
    }

    /// Submission queue size (a power of two up to 32768; default 256). The number of ops in
    /// flight is not limited by it: a full queue is flushed to the kernel and refilled.
    pub fn entries(&mut self, entries: u32) -> &mut Self {
        self.entries = entries;
        self
    }

    /// Completion queue size (default: twice `entries`). Overflow is handled without loss.
    pub fn cq_entries(&mut self, entries: u32) -> &mut Self {
        self.cq_entries = Some(entries);
        self
    }

    /// Coalesce completions, as a network card coalesces interrupts: a thread with nothing to
    /// run sleeps until `count` completions are ready, or until `window` has passed since it
    /// went to sleep, after which any one completion wakes it. A server under load then
    /// wakes once per batch of requests instead of once per request, which saves CPU; the
    /// price is up to `window` of added latency for a completion that arrives while the
    /// thread is waiting for the rest of its batch. That includes wakes from other threads
    /// (a spawn from outside, a blocking-pool result), which also arrive as completions.
    /// A completion arriving after `window` is not held back, and timers are never late.
    ///
    /// Off by default (`count` 1: every completion wakes the thread). Needs Linux 6.12
    /// (`IORING_FEAT_MIN_TIMEOUT`); on an older kernel the setting is ignored. A `count` of 0
    /// or 1, or a zero `window`, switches it off; the window is counted in whole
    /// microseconds. See `docs/design/driver.md` ("Coalesced waits").
    pub fn coalesce_completions(&mut self, count: u32, window: Duration) -> &mut Self {
        self.coalesce =
            (count > 1 && window >= Duration::from_micros(1)).then_some((count, window));
        self
    }

    /// What a failed cleanup does — a close of a dropped file or socket, a cancel of a dropped
    /// operation, a direct descriptor's slot cleared, a buffer ring unregistered, on the ring
    /// that owns it (dropped elsewhere, it is undone there). Every failure is counted in
    /// [`RuntimeMetrics::cleanup_failures`](super::RuntimeMetrics::cleanup_failures) first.
    /// Default: [`OnCleanupError::Log`](super::OnCleanupError::Log), a `tracing` warning.
    pub fn on_cleanup_error(&mut self, policy: super::OnCleanupError) -> &mut Self {
        self.on_cleanup_error = policy;
        self
    }

    /// Most completions handled each time a thread looks at its ring after sleeping (default
    /// 1024, as Tokio's); the rest wait in the completion queue for the next look.
    ///
    /// # Panics
    /// When `n` is 0, as Tokio's does.
    #[track_caller]
    pub fn max_io_events_per_tick(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "max_io_events_per_tick must be non-zero");
        self.events_per_tick = u32::try_from(n).unwrap_or(u32::MAX);
        self
    }

    /// Most completions handled each time a thread looks at its ring without sleeping (tasks
    /// are waiting to run); default: `max_io_events_per_tick`.
    ///
    /// # Panics
    /// When `n` is 0, as Tokio's does.
    #[track_caller]
    pub fn max_io_events_per_busy_tick(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "max_io_events_per_busy_tick must be non-zero");
        self.events_per_busy_tick = Some(u32::try_from(n).unwrap_or(u32::MAX));
        self
    }

    /// How many tasks run between two looks at the ring and the timers (default 61).
    ///
    /// # Panics
    /// When `n` is 0, as Tokio's does.
    #[track_caller]
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "event_interval must be greater than 0");
        self.event_interval = n;
        self
    }

    /// How many tasks run between two looks at the queue of tasks spawned or woken from other
    /// threads, when local work keeps coming (default: 31 on a current-thread runtime, the
    /// event interval on a multi-thread one).
    ///
    /// # Panics
    /// When `n` is 0, as Tokio's does.
    #[track_caller]
    pub fn global_queue_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "global_queue_interval must be greater than 0");
        self.global_queue_interval = Some(n);
        self
    }

    /// A name for the runtime, reported by `Handle::name`.
    ///
    /// # Panics
    /// When the name is empty or only whitespace, as Tokio's does.
    #[track_caller]
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        let name = name.into();
        assert!(!name.trim().is_empty(), "runtime name shouldn't be empty");
        self.name = Some(name.into());
        self
    }

    /// The name of every thread the runtime starts (workers and blocking-pool threads).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name: String = name.into();
        self.threads.name = Some(Arc::new(move || name.clone()));
        self
    }

    /// Names the threads the runtime starts, one call per thread.
    pub fn thread_name_fn<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.threads.name = Some(Arc::new(f));
        self
    }

    /// The stack size of the threads the runtime starts.
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.threads.stack_size = Some(bytes);
        self
    }

    /// Run `f` on every thread the runtime starts (workers and blocking-pool threads), first.
    pub fn on_thread_start<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.threads.on_start = Some(Arc::new(f));
        self
    }

    /// Run `f` on every thread the runtime starts, last, before it exits.
    pub fn on_thread_stop<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.threads.on_stop = Some(Arc::new(f));
        self
    }

    /// Run `f` each time a worker (or a current-thread runtime's `block_on` thread) is about
    /// to sleep for lack of work. It runs inside the runtime: it may spawn or wake tasks, and
    /// the thread then does not sleep.
    pub fn on_thread_park<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.threads.on_park = Some(Arc::new(f));
        self
    }

    /// Run `f` each time a worker (or a `block_on` thread) is back from a sleep, or gave one up.
    pub fn on_thread_unpark<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.threads.on_unpark = Some(Arc::new(f));
        self
    }

    /// For `ringolo::compat`'s Tokio bridge: run every thread's work for this runtime (its
    /// workers, blocking threads, `block_on` calls and `block_in_place` closures) inside
    /// `wrap`.
    #[cfg_attr(not(feature = "tokio-bridge"), allow(dead_code))]
    pub(crate) fn run_wrapper(&mut self, wrap: RunWrapper) -> &mut Self {
        self.threads.wrap = Some(wrap);
        self
    }

    /// For `ringolo::compat`: whether timers and I/O count as enabled (Tokio's `enable_time`
    /// / `enable_io`). ringolo always runs both; compat reports a disabled one as Tokio does.
    pub(crate) fn set_enabled(&mut self, time: bool, io: bool) -> &mut Self {
        self.time_enabled = time;
        self.io_enabled = io;
        self
    }

    /// What a task panic does to the runtime (default: nothing beyond its `JoinHandle`).
    pub fn unhandled_panic(&mut self, behavior: UnhandledPanic) -> &mut Self {
        self.unhandled_panic = behavior;
        self
    }

    /// How long dropping the runtime waits for the kernel to finish cancelled ops (default 1 s).
    /// Buffers of ops still in flight after that are leaked, never freed.
    pub fn shutdown_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Most threads the blocking pool may run at once (default 512).
    ///
    /// # Panics
    /// When `n` is 0, as Tokio's does.
    #[track_caller]
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "Max blocking threads cannot be set to 0");
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for work before exiting (default 10 s).
    pub fn thread_keep_alive(&mut self, d: Duration) -> &mut Self {
        self.thread_keep_alive = d;
        self
    }

    /// Start with the clock paused (see `ringolo::time::pause`).
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        self
    }

    /// Treat these io_uring opcodes (`io_uring::opcode::X::CODE`) as missing from the kernel,
    /// so the syscall fallbacks ringolo uses on older kernels run on this one. For testing
    /// those paths; a runtime built this way is slower, not different. Hiding `POLL_ADD`
    /// stands for a kernel without multishot poll (the wakeup poll is re-armed at each park).
    #[doc(hidden)]
    pub fn hide_opcodes_for_testing(&mut self, opcodes: &[u8]) -> &mut Self {
        for &code in opcodes {
            self.hidden_opcodes.insert(code);
        }
        self
    }

    /// Accepted for Tokio compatibility: I/O and time are always enabled.
    pub fn enable_all(&mut self) -> &mut Self {
        self
    }

    /// A current-thread runtime that also runs tasks that are not `Send` (`spawn_local` works
    /// in its `block_on` without a `LocalSet`). It stays on this thread.
    ///
    /// # Panics
    /// On a multi-thread builder, as Tokio's does.
    #[track_caller]
    pub fn build_local(&mut self) -> Result<super::LocalRuntime, BuildError> {
        assert!(
            self.workers.is_none(),
            "Building a LocalRuntime requires the current-thread scheduler"
        );
        super::LocalRuntime::build(self)
    }

    pub(crate) fn build_with_local_owner(
        &mut self,
        owner: std::thread::ThreadId,
    ) -> Result<Runtime, BuildError> {
        self.local_owner = Some(owner);
        let rt = self.build();
        self.local_owner = None;
        rt
    }

    /// Create the ring and the runtime. Fails with a [`BuildError`] that names the cause and
    /// the fix when io_uring cannot be set up.
    pub fn build(&mut self) -> Result<Runtime, BuildError> {
        if self.entries == 0 {
            return Err(BuildError::invalid(
                "Builder::entries must be at least 1".into(),
            ));
        }
        let ring = RingConfig {
            entries: self.entries,
            cq_entries: self.cq_entries,
            hidden_opcodes: self.hidden_opcodes,
            coalesce: self.coalesce,
            events_per_tick: self.events_per_tick,
            events_per_busy_tick: self.events_per_busy_tick.unwrap_or(self.events_per_tick),
            cleanup: crate::driver::cleanup::CleanupPolicy::new(self.on_cleanup_error),
        };
        let multi = self.workers.is_some();
        let config = Config {
            max_blocking_threads: self.max_blocking_threads,
            thread_keep_alive: self.thread_keep_alive,
            event_interval: self.event_interval,
            global_queue_interval: self.global_queue_interval.unwrap_or(if multi {
                self.event_interval
            } else {
                31
            }),
            unhandled_panic: self.unhandled_panic,
            shutdown_timeout: std::sync::Arc::new(crate::loom::sync::atomic::AtomicU64::new(
                u64::try_from(self.shutdown_timeout.as_nanos()).unwrap_or(u64::MAX),
            )),
            id: super::Id::next(),
            name: self.name.clone(),
            threads: Arc::new(self.threads.clone()),
            ring: ring.clone(),
            time_enabled: self.time_enabled,
            io_enabled: self.io_enabled,
            local_owner: self.local_owner,
        };
        if self.workers.is_some() && self.start_paused {
            return Err(BuildError::invalid(
                "start_paused requires the current-thread runtime (as in Tokio): a paused clock \
                 cannot be shared by worker threads"
                    .into(),
            ));
        }
        let (shared, mut core) = current_thread::new(ring.clone(), config.clone())?;
        if self.start_paused {
            core.timers.borrow_mut().pause();
        }
        let mt = match self.workers {
            None => None,
            Some(n) => {
                let n = if n == 0 {
                    std::thread::available_parallelism().map_or(1, |n| n.get())
                } else {
                    n
                };
                let (mt_shared, workers) =
                    multi_thread::new(n, ring, config, shared.blocking.clone())?;
                mt_shared.set_block_on(shared.clone());
                core.set_multi_thread(mt_shared.clone());
                let mut threads = Vec::with_capacity(n);
                for (i, w) in workers.into_iter().enumerate() {
                    let spawned = mt_shared.config.threads.spawn(
                        ThreadRole::Worker,
                        || format!("ringolo-worker-{i}"),
                        move || w.run(),
                    );
                    match spawned {
                        Ok(t) => threads.push(t),
                        Err(e) => {
                            // The started workers leave without running (the shutdown barrier
                            // counts every worker, so they could never pass it).
                            mt_shared.start(false);
                            for t in threads {
                                let _ = t.join();
                            }
                            return Err(BuildError::other(
                                "spawning a worker thread failed".into(),
                                e,
                            ));
                        }
                    }
                }
                mt_shared.start(true);
                Some(super::MultiThread {
                    shared: mt_shared,
                    threads,
                })
            }
        };
        let weak = match &mt {
            Some(mt) => super::WeakHandle::MultiThread(Arc::downgrade(&mt.shared)),
            None => super::WeakHandle::CurrentThread(Arc::downgrade(&shared)),
        };
        shared.blocking.set_handle(weak.clone());
        super::register_runtime(shared.config.id, weak);
        shared.put_core(core);
        Ok(Runtime {
            shared,
            mt,
            blocking_wait_ns: std::sync::atomic::AtomicU64::new(u64::MAX),
        })
    }
}

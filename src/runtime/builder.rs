use std::time::Duration;

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

    /// How many tasks run between two looks at the ring and the timers (default 61).
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        self.event_interval = n;
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
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
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
        };
        let config = Config {
            max_blocking_threads: self.max_blocking_threads,
            thread_keep_alive: self.thread_keep_alive,
            event_interval: self.event_interval,
            unhandled_panic: self.unhandled_panic,
            shutdown_timeout: std::sync::Arc::new(crate::loom::sync::atomic::AtomicU64::new(
                u64::try_from(self.shutdown_timeout.as_nanos()).unwrap_or(u64::MAX),
            )),
        };
        if self.workers.is_some() && self.start_paused {
            return Err(BuildError::invalid(
                "start_paused requires the current-thread runtime (as in Tokio): a paused clock \
                 cannot be shared by worker threads"
                    .into(),
            ));
        }
        let (shared, mut core) = current_thread::new(ring, config.clone())?;
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
                    let spawned = std::thread::Builder::new()
                        .name(format!("ringolo-worker-{i}"))
                        .spawn(move || w.run());
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
                    ring,
                })
            }
        };
        Ok(Runtime {
            shared,
            core: std::sync::Mutex::new(Some(core)),
            core_returned: std::sync::Condvar::new(),
            mt,
        })
    }
}

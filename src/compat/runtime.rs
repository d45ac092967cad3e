//! `tokio::runtime` on ringolo: `Builder`, `Runtime`, `Handle`, `LocalRuntime` with Tokio's
//! signatures (`build` returns `io::Result`, `Runtime::handle` a reference, ...), defaults
//! (threads named `tokio-runtime-worker`) and panic messages (the native setters already
//! refuse what Tokio's refuse, with Tokio's texts; `#[track_caller]` carries the caller's
//! location through both layers).

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::time::Duration;

use crate::runtime as native;
use crate::task::JoinHandle;

/// Stands for `tokio::runtime::EnterGuard`: the runtime stays entered on this thread until it
/// drops (`!Send`).
pub use crate::runtime::EnterGuard;
/// Stands for `tokio::runtime::Id`.
pub use crate::runtime::Id;
/// Stands for `tokio::runtime::RuntimeFlavor`.
pub use crate::runtime::RuntimeFlavor;
/// Stands for `tokio::runtime::RuntimeMetrics` (the stable set: workers, alive tasks, global
/// queue depth, per-worker busy time and park counts).
pub use crate::runtime::RuntimeMetrics;
/// Stands for `tokio::runtime::UnhandledPanic` (unstable in Tokio, supported here).
pub use crate::runtime::UnhandledPanic;

/// Stands for `tokio::runtime::worker_index`: the worker running this code, `Some(0)` on a
/// current-thread runtime's `block_on` thread, `None` elsewhere.
pub fn worker_index() -> Option<usize> {
    native::worker_index()
}

/// Stands for `tokio::runtime::is_rt_shutdown_err`: whether `err` is the error an I/O
/// resource returns once its runtime has shut down.
pub fn is_rt_shutdown_err(err: &io::Error) -> bool {
    match err.get_ref() {
        Some(inner) => {
            err.kind() == io::ErrorKind::Other
                && inner.source().is_none()
                && inner.to_string() == super::SHUTTING_DOWN
        }
        None => false,
    }
}

#[cfg(feature = "tokio-bridge")]
use super::bridge::on_by_default as bridge_on_by_default;

#[cfg(not(feature = "tokio-bridge"))]
fn bridge_on_by_default() -> bool {
    false
}

#[cfg(feature = "tokio-bridge")]
pub use super::bridge::BridgeMetrics;

/// ringolo's extension: what ran on the Tokio bridge in this process (see
/// [`Builder::tokio_bridge`]); all zero when it never started.
#[cfg(feature = "tokio-bridge")]
pub fn tokio_bridge_metrics() -> BridgeMetrics {
    super::bridge::metrics()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    CurrentThread,
    MultiThread,
}

/// Stands for `tokio::runtime::Builder`.
pub struct Builder {
    inner: native::Builder,
    kind: Kind,
    enable_time: bool,
    enable_io: bool,
    start_paused: bool,
    tokio_bridge: bool,
}

impl Builder {
    /// Stands for `Builder::new_current_thread`.
    pub fn new_current_thread() -> Builder {
        Builder::with(native::Builder::new_current_thread(), Kind::CurrentThread)
    }

    /// Stands for `Builder::new_multi_thread`.
    pub fn new_multi_thread() -> Builder {
        Builder::with(native::Builder::new_multi_thread(), Kind::MultiThread)
    }

    fn with(mut inner: native::Builder, kind: Kind) -> Builder {
        inner.thread_name("tokio-runtime-worker");
        Builder {
            inner,
            kind,
            enable_time: false,
            enable_io: false,
            start_paused: false,
            tokio_bridge: cfg!(feature = "tokio-bridge") && bridge_on_by_default(),
        }
    }

    /// ringolo's extension: whether this runtime's threads run inside the Tokio bridge (one
    /// real Tokio runtime per process, beside compat's), so that library code calling Tokio's
    /// own runtime — `tokio::spawn`, `tokio::time`, `Handle::current()` — works instead of
    /// panicking. That work then runs on the bridge's thread, on epoll, not on io_uring.
    ///
    /// On by default in a build with the `tokio-bridge` feature (the drop-in crate has it),
    /// unless `RINGOLO_TOKIO_BRIDGE=0` is set; `build` fails when it is asked for in a build
    /// without the feature. See `compat/MIGRATION.md`.
    pub fn tokio_bridge(&mut self, enabled: bool) -> &mut Self {
        self.tokio_bridge = enabled;
        self
    }

    /// Stands for `Builder::enable_all`: timers and I/O.
    pub fn enable_all(&mut self) -> &mut Self {
        self.enable_time = true;
        self.enable_io = true;
        self
    }

    /// Stands for `Builder::enable_io`.
    pub fn enable_io(&mut self) -> &mut Self {
        self.enable_io = true;
        self
    }

    /// Stands for `Builder::enable_time`.
    pub fn enable_time(&mut self) -> &mut Self {
        self.enable_time = true;
        self
    }

    /// Stands for `Builder::worker_threads`.
    ///
    /// # Panics
    /// When `n` is 0.
    #[track_caller]
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        self.inner.worker_threads(n);
        self
    }

    /// Stands for `Builder::max_blocking_threads`.
    ///
    /// # Panics
    /// When `n` is 0.
    #[track_caller]
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        self.inner.max_blocking_threads(n);
        self
    }

    /// Stands for `Builder::thread_name`.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.inner.thread_name(name);
        self
    }

    /// Stands for `Builder::thread_name_fn`.
    pub fn thread_name_fn<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.inner.thread_name_fn(f);
        self
    }

    /// Stands for `Builder::thread_stack_size`.
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.inner.thread_stack_size(bytes);
        self
    }

    /// Stands for `Builder::on_thread_start`.
    pub fn on_thread_start<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.inner.on_thread_start(f);
        self
    }

    /// Stands for `Builder::on_thread_stop`.
    pub fn on_thread_stop<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.inner.on_thread_stop(f);
        self
    }

    /// Stands for `Builder::on_thread_park`.
    pub fn on_thread_park<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.inner.on_thread_park(f);
        self
    }

    /// Stands for `Builder::on_thread_unpark`.
    pub fn on_thread_unpark<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.inner.on_thread_unpark(f);
        self
    }

    /// Stands for `Builder::event_interval`.
    ///
    /// # Panics
    /// When `n` is 0.
    #[track_caller]
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        self.inner.event_interval(n);
        self
    }

    /// Stands for `Builder::global_queue_interval`.
    ///
    /// # Panics
    /// When `n` is 0.
    #[track_caller]
    pub fn global_queue_interval(&mut self, n: u32) -> &mut Self {
        self.inner.global_queue_interval(n);
        self
    }

    /// Stands for `Builder::max_io_events_per_tick`: most completions handled per look at a
    /// ring after a sleep.
    ///
    /// # Panics
    /// When `n` is 0.
    #[track_caller]
    pub fn max_io_events_per_tick(&mut self, n: usize) -> &mut Self {
        self.inner.max_io_events_per_tick(n);
        self
    }

    /// Stands for `Builder::max_io_events_per_busy_tick`: most completions handled per look at
    /// a ring while tasks wait to run.
    ///
    /// # Panics
    /// When `n` is 0.
    #[track_caller]
    pub fn max_io_events_per_busy_tick(&mut self, n: usize) -> &mut Self {
        self.inner.max_io_events_per_busy_tick(n);
        self
    }

    /// Stands for `Builder::thread_keep_alive`.
    pub fn thread_keep_alive(&mut self, d: Duration) -> &mut Self {
        self.inner.thread_keep_alive(d);
        self
    }

    /// Stands for `Builder::start_paused` (Tokio's `test-util`): the clock starts paused.
    /// `build` panics with Tokio's message on a multi-thread builder.
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        if self.kind == Kind::CurrentThread {
            self.inner.start_paused(paused);
        }
        self
    }

    /// Stands for `Builder::name`.
    ///
    /// # Panics
    /// When the name is empty or whitespace.
    #[track_caller]
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        self.inner.name(name);
        self
    }

    /// Stands for `Builder::unhandled_panic` (unstable in Tokio): what a task panic does to
    /// the runtime.
    pub fn unhandled_panic(&mut self, behavior: UnhandledPanic) -> &mut Self {
        self.inner.unhandled_panic(behavior);
        self
    }

    #[track_caller]
    fn prepare(&mut self) {
        if self.kind == Kind::MultiThread && self.start_paused {
            panic!(
                "`time::pause()` requires the `current_thread` Tokio runtime. This is the \
                 default Runtime used by `#[tokio::test]."
            );
        }
        self.inner.set_enabled(self.enable_time, self.enable_io);
    }

    /// Put this runtime's threads inside the Tokio bridge, when asked for.
    fn join_bridge(&mut self) -> io::Result<()> {
        if !self.tokio_bridge {
            return Ok(());
        }
        #[cfg(feature = "tokio-bridge")]
        {
            self.inner.run_wrapper(super::bridge::wrapper()?);
            Ok(())
        }
        #[cfg(not(feature = "tokio-bridge"))]
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "ringolo::compat: the Tokio bridge was asked for, but ringolo was built without its              `tokio-bridge` feature",
        ))
    }

    /// Stands for `Builder::build`. Fails when io_uring cannot be set up; the error's message
    /// names the cause and the fix.
    #[track_caller]
    pub fn build(&mut self) -> io::Result<Runtime> {
        self.prepare();
        self.join_bridge()?;
        let rt = self.inner.build().map_err(build_error)?;
        Ok(Runtime {
            handle: Handle { inner: rt.handle() },
            inner: Some(rt),
        })
    }

    /// Stands for `Builder::build_local`: a current-thread runtime that also runs tasks that
    /// are not `Send`.
    ///
    /// # Panics
    /// On a multi-thread builder.
    #[track_caller]
    pub fn build_local(&mut self, options: LocalOptions) -> io::Result<LocalRuntime> {
        let _ = options;
        assert!(
            self.kind == Kind::CurrentThread,
            "Building a LocalRuntime requires the current_thread scheduler"
        );
        self.prepare();
        self.join_bridge()?;
        let rt = self.inner.build_local().map_err(build_error)?;
        Ok(LocalRuntime {
            handle: Handle { inner: rt.handle() },
            inner: rt,
        })
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("enable_time", &self.enable_time)
            .field("enable_io", &self.enable_io)
            .finish_non_exhaustive()
    }
}

/// A `BuildError` as the `io::Error` Tokio's `build` returns, of the matching kind.
fn build_error(e: native::BuildError) -> io::Error {
    use native::BuildErrorKind as K;
    let kind = match e.kind() {
        K::Unsupported => io::ErrorKind::Unsupported,
        K::PermissionDenied => io::ErrorKind::PermissionDenied,
        K::OutOfMemory => io::ErrorKind::OutOfMemory,
        K::InvalidConfig => io::ErrorKind::InvalidInput,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

/// Stands for `tokio::runtime::Runtime`.
pub struct Runtime {
    inner: Option<native::Runtime>,
    handle: Handle,
}

impl Runtime {
    /// Stands for `Runtime::new`: a multi-thread runtime with timers and I/O.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().enable_all().build()
    }

    pub(crate) fn native(&self) -> &native::Runtime {
        self.inner.as_ref().expect("present until drop")
    }

    /// Stands for `Runtime::handle`.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Stands for `Runtime::spawn`.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.native().spawn(future)
    }

    /// Stands for `Runtime::spawn_blocking`.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.native().spawn_blocking(f)
    }

    /// Stands for `Runtime::block_on`.
    ///
    /// # Panics
    /// Inside a runtime, with Tokio's message.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.native().block_on(future)
    }

    /// Stands for `Runtime::enter`.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.native().enter()
    }

    /// Stands for `Runtime::shutdown_timeout`: cancel every task and wait at most `duration`
    /// for blocking-pool work and in-flight I/O.
    pub fn shutdown_timeout(mut self, duration: Duration) {
        if let Some(rt) = self.inner.take() {
            rt.shutdown_timeout(duration);
        }
    }

    /// Stands for `Runtime::shutdown_background`.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    /// Stands for `Runtime::metrics`.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.native().metrics()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let Some(rt) = self.inner.take() else { return };
        if crate::runtime::context::is_inside_runtime() && !std::thread::panicking() {
            // Tokio refuses to wait for a runtime's threads from inside a runtime: shut down
            // without waiting, then say so.
            rt.shutdown_timeout(Duration::ZERO);
            panic!(
                "Cannot drop a runtime in a context where blocking is not allowed. This happens \
                 when a runtime is dropped from within an asynchronous context."
            );
        }
        drop(rt);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Some(rt) => rt.fmt(f),
            None => f.write_str("Runtime(shut down)"),
        }
    }
}

impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

/// Stands for `tokio::runtime::Handle`.
#[derive(Clone)]
pub struct Handle {
    inner: native::Handle,
}

impl Handle {
    /// Stands for `Handle::current`.
    ///
    /// # Panics
    /// Outside a runtime, with Tokio's message.
    #[track_caller]
    pub fn current() -> Handle {
        match native::Handle::try_current() {
            Some(inner) => Handle { inner },
            None => panic!("{}", super::CONTEXT_MISSING),
        }
    }

    /// Stands for `Handle::try_current`.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        native::Handle::try_current()
            .map(|inner| Handle { inner })
            .ok_or(TryCurrentError { _p: () })
    }

    /// Stands for `Handle::enter`.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.inner.enter()
    }

    /// Stands for `Handle::spawn`.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future)
    }

    /// Stands for `Handle::spawn_blocking`.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(f)
    }

    /// Stands for `Handle::block_on`. On a current-thread runtime this drives the runtime
    /// when no other thread does.
    ///
    /// # Panics
    /// Inside a runtime, with Tokio's message.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
    }

    /// Stands for `Handle::runtime_flavor`.
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        self.inner.runtime_flavor()
    }

    /// Stands for `Handle::id`.
    pub fn id(&self) -> Id {
        self.inner.id()
    }

    /// Stands for `Handle::name`.
    pub fn name(&self) -> Option<&str> {
        self.inner.name()
    }

    /// Stands for `Handle::metrics`.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.inner.metrics()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}

/// Stands for `tokio::runtime::TryCurrentError`.
pub struct TryCurrentError {
    _p: (),
}

impl TryCurrentError {
    /// Stands for `TryCurrentError::is_missing_context`: there is no runtime.
    pub fn is_missing_context(&self) -> bool {
        true
    }

    /// Stands for `TryCurrentError::is_thread_local_destroyed`. ringolo's context survives
    /// thread-local destruction, so this is never the reason.
    pub fn is_thread_local_destroyed(&self) -> bool {
        false
    }
}

impl fmt::Debug for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryCurrentError(NoContext)")
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(super::CONTEXT_MISSING)
    }
}

impl std::error::Error for TryCurrentError {}

/// Stands for `tokio::runtime::LocalOptions`.
#[derive(Default, Debug)]
#[non_exhaustive]
pub struct LocalOptions {
    _not_send: PhantomData<*mut u8>,
}

/// Stands for `tokio::runtime::LocalRuntime`: a current-thread runtime on which
/// `spawn_local` works without a `LocalSet`.
pub struct LocalRuntime {
    inner: native::LocalRuntime,
    handle: Handle,
}

impl LocalRuntime {
    /// Stands for `LocalRuntime::new`.
    pub fn new() -> io::Result<LocalRuntime> {
        Builder::new_current_thread()
            .enable_all()
            .build_local(LocalOptions::default())
    }

    /// Stands for `LocalRuntime::handle`.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Stands for `LocalRuntime::spawn_local`.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.inner.spawn_local(future)
    }

    /// Stands for `LocalRuntime::spawn_blocking`.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(f)
    }

    /// Stands for `LocalRuntime::block_on`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
    }

    /// Stands for `LocalRuntime::enter`.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.inner.enter()
    }

    /// Stands for `LocalRuntime::shutdown_timeout`.
    pub fn shutdown_timeout(self, duration: Duration) {
        self.inner.shutdown_timeout(duration);
    }

    /// Stands for `LocalRuntime::shutdown_background`.
    pub fn shutdown_background(self) {
        self.inner.shutdown_background();
    }

    /// Stands for `LocalRuntime::metrics`.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.inner.metrics()
    }
}

impl fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRuntime").finish_non_exhaustive()
    }
}

//! `tokio::io::unix`: [`AsyncFd`], readiness for any pollable descriptor, with Tokio's ready
//! guards, cached readiness and `try_io`. Its constructors (`register`, which are `unsafe`
//! in Tokio) live in `src/compat_contracts.rs`, since compat holds no `unsafe`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{Interest, Ready};

use crate::compat::io::registration::{Dir, Event, Registration};

/// Stands for `tokio::io::unix::AsyncFd`: a descriptor (owned through `T`) whose readiness
/// is awaited on the ring. The descriptor must be non-blocking for `try_io` to make sense.
pub struct AsyncFd<T: AsRawFd> {
    reg: Arc<Registration>,
    inner: Option<T>,
}

/// Stands for `tokio::io::unix::AsyncFdRegisterError`: a failed registration, with the value
/// given back.
pub struct AsyncFdRegisterError<T> {
    inner: T,
    cause: io::Error,
}

/// Stands for Tokio's deprecated alias of [`AsyncFdRegisterError`].
#[doc(hidden)]
#[deprecated(note = "use `AsyncFdRegisterError` instead")]
pub type AsyncFdTryNewError<T> = AsyncFdRegisterError<T>;

impl<T> AsyncFdRegisterError<T> {
    /// Stands for `AsyncFdRegisterError::into_parts`.
    pub fn into_parts(self) -> (T, io::Error) {
        (self.inner, self.cause)
    }
}

impl<T> fmt::Display for AsyncFdRegisterError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.cause, f)
    }
}

impl<T> fmt::Debug for AsyncFdRegisterError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.cause, f)
    }
}

impl<T> std::error::Error for AsyncFdRegisterError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

impl<T> From<AsyncFdRegisterError<T>> for io::Error {
    fn from(e: AsyncFdRegisterError<T>) -> io::Error {
        e.cause
    }
}

/// Stands for `tokio::io::unix::TryIoError`: the guard's operation would block (its
/// readiness was cleared).
#[derive(Debug)]
pub struct TryIoError(());

impl<T: AsRawFd> AsyncFd<T> {
    /// Register `inner` on the current runtime once its descriptor has been checked (the
    /// caller, `register_with_interest`, checked it is open and pollable).
    #[track_caller]
    pub(crate) fn checked(
        inner: T,
        interest: Interest,
        check: io::Result<()>,
    ) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        let handle = crate::compat::net::ready::io_handle();
        let res = check.and(handle);
        match res {
            Ok(handle) => Ok(AsyncFd {
                reg: Registration::new(inner.as_raw_fd(), interest, handle),
                inner: Some(inner),
            }),
            Err(cause) => Err(AsyncFdRegisterError { inner, cause }),
        }
    }

    /// Stands for `AsyncFd::get_ref`.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("present until dropped")
    }

    /// Stands for `AsyncFd::get_mut`.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("present until dropped")
    }

    /// Stands for `AsyncFd::into_inner`: deregister and give the value back (not closed).
    pub fn into_inner(mut self) -> T {
        self.reg.deregister();
        self.inner.take().expect("present until dropped")
    }

    /// Stands for `AsyncFd::poll_read_ready` (one waiting task, as Tokio's).
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.reg
            .poll_dir(Dir::Read, cx)
            .map_ok(|event| AsyncFdReadyGuard::new(self, event))
    }

    /// Stands for `AsyncFd::poll_read_ready_mut`.
    pub fn poll_read_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        match self.reg.poll_dir(Dir::Read, cx) {
            Poll::Ready(Ok(event)) => Poll::Ready(Ok(AsyncFdReadyMutGuard::new(self, event))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Stands for `AsyncFd::poll_write_ready` (one waiting task, as Tokio's).
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.reg
            .poll_dir(Dir::Write, cx)
            .map_ok(|event| AsyncFdReadyGuard::new(self, event))
    }

    /// Stands for `AsyncFd::poll_write_ready_mut`.
    pub fn poll_write_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        match self.reg.poll_dir(Dir::Write, cx) {
            Poll::Ready(Ok(event)) => Poll::Ready(Ok(AsyncFdReadyMutGuard::new(self, event))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    async fn event(&self, interest: Interest) -> io::Result<Event> {
        wait_event(&self.reg, interest).await
    }

    /// Stands for `AsyncFd::ready`: wait for any of `interest`; the guard says which.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = self.event(interest).await?;
        Ok(AsyncFdReadyGuard::new(self, event))
    }

    /// Stands for `AsyncFd::ready_mut`.
    pub async fn ready_mut(
        &mut self,
        interest: Interest,
    ) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        // Holds only the registration across the wait, so the future is `Send` for a `T`
        // that is `Send` but not `Sync` (as Tokio's).
        let event = wait_event(&self.reg, interest).await?;
        Ok(AsyncFdReadyMutGuard::new(self, event))
    }

    /// Stands for `AsyncFd::readable`.
    pub async fn readable<'a>(&'a self) -> io::Result<AsyncFdReadyGuard<'a, T>> {
        self.ready(Interest::READABLE).await
    }

    /// Stands for `AsyncFd::readable_mut`.
    pub async fn readable_mut<'a>(&'a mut self) -> io::Result<AsyncFdReadyMutGuard<'a, T>> {
        self.ready_mut(Interest::READABLE).await
    }

    /// Stands for `AsyncFd::writable`.
    pub async fn writable<'a>(&'a self) -> io::Result<AsyncFdReadyGuard<'a, T>> {
        self.ready(Interest::WRITABLE).await
    }

    /// Stands for `AsyncFd::writable_mut`.
    pub async fn writable_mut<'a>(&'a mut self) -> io::Result<AsyncFdReadyMutGuard<'a, T>> {
        self.ready_mut(Interest::WRITABLE).await
    }

    /// Stands for `AsyncFd::async_io`: run `f` until it stops blocking, waiting for
    /// `interest` in between.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let event = self.event(interest).await?;
            match f(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reg.clear(event, event.ready)
                }
                other => return other,
            }
        }
    }

    /// Stands for `AsyncFd::async_io_mut`.
    pub async fn async_io_mut<R>(
        &mut self,
        interest: Interest,
        mut f: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let event = wait_event(&self.reg, interest).await?;
            match f(self.inner.as_mut().expect("present until dropped")) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reg.clear(event, event.ready)
                }
                other => return other,
            }
        }
    }

    /// Stands for `AsyncFd::try_io`: run `f` if the cache says `interest` (one direction) is
    /// ready, else `WouldBlock` without calling it; a `WouldBlock` from `f` clears the cache.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let event = self.reg.try_bits(interest);
        if event.ready.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match f(self.get_ref()) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.reg.clear(event, event.ready);
                Err(io::ErrorKind::WouldBlock.into())
            }
            other => other,
        }
    }

    /// Stands for `AsyncFd::try_io_mut`.
    pub fn try_io_mut<R>(
        &mut self,
        interest: Interest,
        f: impl FnOnce(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let event = self.reg.try_bits(interest);
        if event.ready.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match f(self.inner.as_mut().expect("present until dropped")) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.reg.clear(event, event.ready);
                Err(io::ErrorKind::WouldBlock.into())
            }
            other => other,
        }
    }
}

/// Wait for `interest` on `reg`.
async fn wait_event(reg: &Registration, interest: Interest) -> io::Result<Event> {
    std::future::poll_fn(|cx| reg.poll_ready(interest, cx)).await
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + AsFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: fmt::Debug + AsRawFd> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        self.reg.deregister();
    }
}

/// What both guards share: the bits a wait saw, cleared at most once.
#[derive(Debug)]
struct GuardEvent(Option<Event>);

impl GuardEvent {
    fn ready(&self) -> Ready {
        self.0.map_or(Ready::EMPTY, |e| e.ready)
    }

    fn clear(&mut self, reg: &Registration) {
        if let Some(event) = self.0.take() {
            reg.clear(event, event.ready);
        }
    }

    fn clear_matching(&mut self, reg: &Registration, ready: Ready) {
        if let Some(mut event) = self.0.take() {
            reg.clear(event, ready);
            event.ready = event.ready - ready;
            if !event.ready.is_empty() {
                self.0 = Some(event);
            }
        }
    }
}

/// Stands for `tokio::io::unix::AsyncFdReadyGuard`: the descriptor was ready; dropping the
/// guard keeps the readiness, [`clear_ready`](Self::clear_ready) forgets it.
#[must_use = "You must explicitly choose whether to clear the readiness state by calling a method on ReadyGuard"]
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    async_fd: &'a AsyncFd<T>,
    event: GuardEvent,
}

/// Stands for `tokio::io::unix::AsyncFdReadyMutGuard`.
#[must_use = "You must explicitly choose whether to clear the readiness state by calling a method on ReadyGuard"]
pub struct AsyncFdReadyMutGuard<'a, T: AsRawFd> {
    async_fd: &'a mut AsyncFd<T>,
    event: GuardEvent,
}

impl<'a, Inner: AsRawFd> AsyncFdReadyGuard<'a, Inner> {
    fn new(async_fd: &'a AsyncFd<Inner>, event: Event) -> Self {
        AsyncFdReadyGuard {
            async_fd,
            event: GuardEvent(Some(event)),
        }
    }

    /// Stands for `AsyncFdReadyGuard::clear_ready`: forget the readiness (unless newer
    /// readiness arrived since the guard was made).
    pub fn clear_ready(&mut self) {
        self.event.clear(&self.async_fd.reg);
    }

    /// Stands for `AsyncFdReadyGuard::clear_ready_matching`.
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        self.event.clear_matching(&self.async_fd.reg, ready);
    }

    /// Stands for `AsyncFdReadyGuard::retain_ready`: keep the readiness (what dropping does).
    pub fn retain_ready(&mut self) {}

    /// Stands for `AsyncFdReadyGuard::ready`: the bits the wait saw (empty once cleared).
    pub fn ready(&self) -> Ready {
        self.event.ready()
    }

    /// Stands for `AsyncFdReadyGuard::try_io`: run `f`; if it would block, clear the
    /// readiness and say so.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<Inner>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.async_fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            other => Ok(other),
        }
    }

    /// Stands for `AsyncFdReadyGuard::get_ref`.
    pub fn get_ref(&self) -> &'a AsyncFd<Inner> {
        self.async_fd
    }

    /// Stands for `AsyncFdReadyGuard::get_inner`.
    pub fn get_inner(&self) -> &'a Inner {
        self.async_fd.get_ref()
    }
}

impl<'a, Inner: AsRawFd> AsyncFdReadyMutGuard<'a, Inner> {
    fn new(async_fd: &'a mut AsyncFd<Inner>, event: Event) -> Self {
        AsyncFdReadyMutGuard {
            async_fd,
            event: GuardEvent(Some(event)),
        }
    }

    /// Stands for `AsyncFdReadyMutGuard::clear_ready`.
    pub fn clear_ready(&mut self) {
        self.event.clear(&self.async_fd.reg);
    }

    /// Stands for `AsyncFdReadyMutGuard::clear_ready_matching`.
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        self.event.clear_matching(&self.async_fd.reg, ready);
    }

    /// Stands for `AsyncFdReadyMutGuard::retain_ready`.
    pub fn retain_ready(&mut self) {}

    /// Stands for `AsyncFdReadyMutGuard::ready`.
    pub fn ready(&self) -> Ready {
        self.event.ready()
    }

    /// Stands for `AsyncFdReadyMutGuard::try_io`.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<Inner>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.async_fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            other => Ok(other),
        }
    }

    /// Stands for `AsyncFdReadyMutGuard::get_ref`.
    pub fn get_ref(&self) -> &AsyncFd<Inner> {
        self.async_fd
    }

    /// Stands for `AsyncFdReadyMutGuard::get_mut`.
    pub fn get_mut(&mut self) -> &mut AsyncFd<Inner> {
        self.async_fd
    }

    /// Stands for `AsyncFdReadyMutGuard::get_inner`.
    pub fn get_inner(&self) -> &Inner {
        self.async_fd.get_ref()
    }

    /// Stands for `AsyncFdReadyMutGuard::get_inner_mut`.
    pub fn get_inner_mut(&mut self) -> &mut Inner {
        self.async_fd.get_mut()
    }
}

impl<T: fmt::Debug + AsRawFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadyGuard")
            .field("async_fd", &self.async_fd)
            .finish()
    }
}

impl<T: fmt::Debug + AsRawFd> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutReadyGuard")
            .field("async_fd", &self.async_fd)
            .finish()
    }
}

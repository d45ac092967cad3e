//! hyper's runtime hooks on ringolo (feature `hyper`): the stand-ins for hyper-util's
//! `TokioExecutor` and `TokioTimer`, which call Tokio's runtime from inside and so panic on a
//! ringolo runtime ("there is no reactor running").
//!
//! ```no_run
//! # async fn demo(io: ringolo::compat::net::TcpStream) -> Result<(), hyper::Error> {
//! // was: hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
//! let io = hyper_util::rt::TokioIo::new(io);
//! let (sender, conn) =
//!     hyper::client::conn::http2::handshake::<_, _, String>(ringolo::compat::hyper::Executor::new(), io)
//!         .await?;
//! # drop((sender, conn)); Ok(()) }
//! ```
//!
//! hyper-util's `TokioIo` needs no stand-in: it only adapts Tokio's `AsyncRead`/`AsyncWrite`
//! traits, which compat's sockets implement (compat re-exports Tokio's own traits).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use crate::compat::time::{self, Sleep};

/// Stands for `hyper_util::rt::TokioExecutor`: runs the futures hyper hands it (HTTP/2
/// streams and connection drivers, the auto builder's connections) as tasks on the current
/// runtime, with [`compat::spawn`](crate::compat::spawn).
///
/// # Panics
/// `execute` panics outside a runtime, with Tokio's message (as `TokioExecutor` does).
#[non_exhaustive]
#[derive(Default, Debug, Clone)]
pub struct Executor {}

impl Executor {
    /// Stands for `TokioExecutor::new`.
    pub fn new() -> Executor {
        Executor {}
    }
}

impl<Fut> ::hyper::rt::Executor<Fut> for Executor
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn execute(&self, fut: Fut) {
        // Detached, as Tokio's: the JoinHandle is dropped.
        drop(crate::compat::spawn(fut));
    }
}

/// Stands for `hyper_util::rt::TokioTimer`: hyper's timeouts (HTTP/1 header read timeout,
/// HTTP/2 keep-alive, the client pool's idle timer) on compat's timers. Its sleeps are
/// [`compat::time::Sleep`](crate::compat::time::Sleep)s, `reset` moves one in place, and
/// `now` reads the current runtime's clock, so a paused clock (`time::pause`,
/// `start_paused`) drives hyper's timeouts too.
///
/// # Panics
/// `sleep` and `sleep_until` panic outside a runtime, with Tokio's message (as
/// `TokioTimer`'s do).
#[non_exhaustive]
#[derive(Default, Debug, Clone)]
pub struct Timer {}

impl Timer {
    /// Stands for `TokioTimer::new`.
    pub fn new() -> Timer {
        Timer {}
    }
}

impl ::hyper::rt::Timer for Timer {
    #[track_caller]
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(time::sleep(duration))
    }

    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(time::sleep_until(deadline.into()))
    }

    fn now(&self) -> Instant {
        time::Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            Some(ours) => ours.reset(new_deadline.into()),
            // Another timer's sleep (TokioTimer ignores those): replace it with one of ours,
            // hyper's default.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// compat's `Sleep` is what [`Timer`] hands hyper (`Send + Sync`, as hyper requires).
impl ::hyper::rt::Sleep for Sleep {}

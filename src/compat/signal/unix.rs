//! `tokio::signal::unix`.

use std::io;
use std::os::raw::c_int;
use std::task::{Context, Poll};

/// Stands for `tokio::signal::unix::SignalKind`: a signal number.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub struct SignalKind(c_int);

impl SignalKind {
    /// Stands for `tokio::signal::unix::SignalKind::from_raw`: any signal number (checked
    /// when a listener is made).
    pub const fn from_raw(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// Stands for `tokio::signal::unix::SignalKind::as_raw_value`.
    pub const fn as_raw_value(&self) -> c_int {
        self.0
    }

    /// Stands for `tokio::signal::unix::SignalKind::alarm`: `SIGALRM`.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// Stands for `tokio::signal::unix::SignalKind::child`: `SIGCHLD`.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// Stands for `tokio::signal::unix::SignalKind::hangup`: `SIGHUP`.
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// Stands for `tokio::signal::unix::SignalKind::interrupt`: `SIGINT`.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// Stands for `tokio::signal::unix::SignalKind::io`: `SIGIO`.
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }

    /// Stands for `tokio::signal::unix::SignalKind::pipe`: `SIGPIPE`.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// Stands for `tokio::signal::unix::SignalKind::quit`: `SIGQUIT`.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// Stands for `tokio::signal::unix::SignalKind::terminate`: `SIGTERM`.
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// Stands for `tokio::signal::unix::SignalKind::user_defined1`: `SIGUSR1`.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// Stands for `tokio::signal::unix::SignalKind::user_defined2`: `SIGUSR2`.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// Stands for `tokio::signal::unix::SignalKind::window_change`: `SIGWINCH`.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<c_int> for SignalKind {
    fn from(signum: c_int) -> SignalKind {
        SignalKind::from_raw(signum)
    }
}

impl From<SignalKind> for c_int {
    fn from(kind: SignalKind) -> c_int {
        kind.as_raw_value()
    }
}

/// Stands for `tokio::signal::unix::Signal`: a listener for one signal. Every delivery
/// after the listener was made is seen (deliveries between two receives coalesce).
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct Signal {
    signum: c_int,
    seen: u64,
}

/// Stands for `tokio::signal::unix::signal`: listen for `kind`. The handler stays installed
/// for the life of the process (deliveries with no listener are ignored, not fatal).
///
/// # Errors
/// Tokio's: "Refusing to register signal N" for a number no handler may be installed for
/// (`SIGKILL`, `SIGSTOP`, `SIGILL`, `SIGFPE`, `SIGSEGV`, 0 or less), "signal too large" past
/// `SIGRTMAX`, and the OS error of a failed installation.
///
/// # Panics
/// Outside a runtime, or on one without I/O, with Tokio's messages.
#[track_caller]
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    crate::compat::net::ready::io_handle()?;
    let signum = kind.as_raw_value();
    crate::signal::register(signum)?;
    Ok(Signal {
        signum,
        seen: crate::signal::generation(signum),
    })
}

impl Signal {
    /// Stands for `tokio::signal::unix::Signal::recv`: the next delivery (never `None`).
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Stands for `tokio::signal::unix::Signal::poll_recv`.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        crate::signal::poll(self.signum, &mut self.seen, cx).map(Some)
    }
}

//! `tokio::io::{stdin, stdout, stderr}`: the process's standard streams through the blocking
//! pool, as Tokio does it. A write copies the caller's bytes into the stream's buffer and
//! returns at once while a blocking-pool thread writes them out; the next write, a flush or a
//! shutdown waits for that to finish first. A read runs on the pool into the buffer and is
//! handed out from there.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::task::JoinHandle;

/// Most bytes one blocking write or read moves (Tokio's limit).
const MAX_BUF: usize = 2 * 1024 * 1024;

enum State<T> {
    /// The stream and the buffer (for a reader, with bytes left from the last read).
    Idle(Option<T>, Vec<u8>, usize),
    Busy(JoinHandle<(io::Result<usize>, T, Vec<u8>)>),
}

/// A blocking std stream driven from the blocking pool.
struct Blocking<T> {
    state: State<T>,
    /// A write is in flight or done without a flush since.
    need_flush: bool,
}

impl<T> Blocking<T> {
    fn new(inner: T) -> Blocking<T> {
        Blocking {
            state: State::Idle(Some(inner), Vec::new(), 0),
            need_flush: false,
        }
    }
}

/// Start `f` on the blocking pool, or fail with Tokio's shutdown error when the pool no longer
/// takes work (Tokio's `spawn_mandatory_blocking` refusing).
///
/// # Panics
/// Outside a runtime, with Tokio's message.
fn spawn<F, R>(f: F) -> io::Result<JoinHandle<R>>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let Some(handle) = crate::runtime::Handle::try_current() else {
        panic!("{}", crate::compat::CONTEXT_MISSING);
    };
    if !handle.blocking_pool_open() {
        return Err(crate::compat::net::shutting_down());
    }
    Ok(handle.spawn_blocking(f))
}

/// The result of a blocking call, or the shutdown error when the runtime refused or dropped it.
fn finished<T>(
    res: Result<(io::Result<usize>, T, Vec<u8>), crate::task::JoinError>,
) -> io::Result<(io::Result<usize>, T, Vec<u8>)> {
    res.map_err(|_| crate::compat::net::shutting_down())
}

impl<T: Write + Send + 'static> Blocking<T> {
    /// Wait for the write in flight; `Ok(())` with the stream back in place.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let State::Busy(join) = &mut self.state {
            let (res, inner, buf) = finished(std::task::ready!(Pin::new(join).poll(cx)))?;
            self.state = State::Idle(Some(inner), buf, 0);
            res?;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        std::task::ready!(self.poll_idle(cx))?;
        let State::Idle(inner, buf, _) = &mut self.state else {
            unreachable!("idle after poll_idle")
        };
        let Some(mut inner) = inner.take() else {
            return Poll::Ready(Err(crate::compat::net::shutting_down()));
        };
        let n = src.len().min(MAX_BUF);
        let mut buf = std::mem::take(buf);
        buf.clear();
        buf.extend_from_slice(&src[..n]);
        self.state = State::Busy(spawn(move || {
            let res = inner.write_all(&buf).map(|()| buf.len());
            (res, inner, buf)
        })?);
        self.need_flush = true;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            std::task::ready!(self.poll_idle(cx))?;
            if !self.need_flush {
                return Poll::Ready(Ok(()));
            }
            let State::Idle(inner, buf, _) = &mut self.state else {
                unreachable!("idle after poll_idle")
            };
            let Some(mut inner) = inner.take() else {
                return Poll::Ready(Err(crate::compat::net::shutting_down()));
            };
            let buf = std::mem::take(buf);
            self.need_flush = false;
            self.state = State::Busy(spawn(move || {
                let res = inner.flush().map(|()| 0);
                (res, inner, buf)
            })?);
        }
    }
}

impl<T: Read + Send + 'static> Blocking<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, dst: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            match &mut self.state {
                State::Idle(inner, buf, pos) => {
                    if *pos < buf.len() {
                        let n = (buf.len() - *pos).min(dst.remaining());
                        dst.put_slice(&buf[*pos..*pos + n]);
                        *pos += n;
                        return Poll::Ready(Ok(()));
                    }
                    let Some(mut inner) = inner.take() else {
                        return Poll::Ready(Err(crate::compat::net::shutting_down()));
                    };
                    let mut buf = std::mem::take(buf);
                    let want = dst.remaining().min(MAX_BUF);
                    self.state = State::Busy(spawn(move || {
                        buf.resize(want, 0);
                        let res = inner.read(&mut buf);
                        buf.truncate(*res.as_ref().unwrap_or(&0));
                        (res, inner, buf)
                    })?);
                }
                State::Busy(join) => {
                    let (res, inner, buf) = finished(std::task::ready!(Pin::new(join).poll(cx)))?;
                    self.state = State::Idle(Some(inner), buf, 0);
                    res?;
                }
            }
        }
    }
}

macro_rules! writer {
    ($(#[$doc:meta])* $ty:ident, $make:ident, $std:path, $ctor:path) => {
        $(#[$doc])*
        pub struct $ty(Blocking<$std>);

        /// Stands for `tokio::io::
        #[doc = stringify!($make)]
        /// `. Creating it needs no runtime; writing does.
        pub fn $make() -> $ty {
            $ty(Blocking::new($ctor()))
        }

        impl AsyncWrite for $ty {
            fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                self.0.poll_write(cx, buf)
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.0.poll_flush(cx)
            }

            fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.0.poll_flush(cx)
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty)).finish_non_exhaustive()
            }
        }
    };
}

writer!(
    /// Stands for `tokio::io::Stdout`.
    Stdout, stdout, std::io::Stdout, std::io::stdout
);
writer!(
    /// Stands for `tokio::io::Stderr`.
    Stderr, stderr, std::io::Stderr, std::io::stderr
);

/// Stands for `tokio::io::Stdin`.
pub struct Stdin(Blocking<std::io::Stdin>);

/// Stands for `tokio::io::stdin`. Creating it needs no runtime; reading does.
pub fn stdin() -> Stdin {
    Stdin(Blocking::new(std::io::stdin()))
}

impl AsyncRead for Stdin {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.0.poll_read(cx, buf)
    }
}

impl std::fmt::Debug for Stdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stdin").finish_non_exhaustive()
    }
}

use std::future::Future;

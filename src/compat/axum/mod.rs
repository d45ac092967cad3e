//! `axum::serve` on ringolo (feature `axum`): axum 0.8's server loop over compat's
//! listeners, with hyper-util's auto builder (HTTP/1 and HTTP/2) driven by
//! [`compat::hyper`](crate::compat::hyper)'s executor and timer. axum's own `serve` spawns
//! with `tokio::spawn` and sleeps with `tokio::time::sleep`, which panic on a ringolo runtime.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//!
//! #[ringolo::compat::main]
//! async fn main() -> std::io::Result<()> {
//!     let app = Router::new().route("/", get(|| async { "hello" }));
//!     let listener = ringolo::compat::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     // was: axum::serve(listener, app).await
//!     ringolo::compat::axum::serve(listener, app).await
//! }
//! ```
//!
//! What axum's `serve` accepts, this one does: a `Router`, a `MethodRouter`, a
//! `HandlerService`, their `into_make_service()` and their
//! `into_make_service_with_connect_info::<SocketAddr>()` (TCP) or
//! `::<compat::net::unix::SocketAddr>()` (Unix sockets). The make service is called with this
//! module's [`IncomingStream`], for which those types implement tower's `Service` (here, as
//! axum does for its own).

mod serve;

pub use self::serve::{serve, Serve, WithGracefulShutdown};

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

use ::axum::extract::connect_info::Connected;
use ::axum::handler::HandlerService;
use ::axum::routing::MethodRouter;
use ::axum::Router;
use hyper_util::rt::TokioIo;
use tower::Service;

use crate::compat::io::{AsyncRead, AsyncWrite};
use crate::compat::net::{unix, TcpListener, TcpStream, UnixListener, UnixStream};

/// Stands for `axum::serve::Listener`: what [`serve`] accepts connections from.
pub trait Listener: Send + 'static {
    /// The connection type.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The peer's address type.
    type Addr: Send;

    /// Accept the next connection. As axum's: errors are handled here — a connection error
    /// (refused, aborted, reset) is skipped, any other is logged and retried after 1 s
    /// (running out of descriptors, say, when waiting lets other connections close).
    fn accept(&mut self) -> impl Future<Output = (Self::Io, Self::Addr)> + Send;

    /// The address this listener is bound to.
    fn local_addr(&self) -> io::Result<Self::Addr>;
}

impl Listener for TcpListener {
    type Io = TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (TcpStream, std::net::SocketAddr) {
        loop {
            match TcpListener::accept(self).await {
                Ok(conn) => return conn,
                Err(e) => accept_failed(e).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        TcpListener::local_addr(self)
    }
}

impl Listener for UnixListener {
    type Io = UnixStream;
    type Addr = unix::SocketAddr;

    async fn accept(&mut self) -> (UnixStream, unix::SocketAddr) {
        loop {
            match UnixListener::accept(self).await {
                Ok(conn) => return conn,
                Err(e) => accept_failed(e).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<unix::SocketAddr> {
        UnixListener::local_addr(self)
    }
}

/// Stands for `axum::serve::ListenerExt`: adapters on every [`Listener`].
pub trait ListenerExt: Listener + Sized {
    /// Stands for `ListenerExt::tap_io`: run `tap_fn` on each connection as it is accepted,
    /// before it is served (to set `TCP_NODELAY`, say).
    fn tap_io<F>(self, tap_fn: F) -> TapIo<Self, F>
    where
        F: FnMut(&mut Self::Io) + Send + 'static,
    {
        TapIo {
            listener: self,
            tap_fn,
        }
    }
}

impl<L: Listener> ListenerExt for L {}

/// Stands for `axum::serve::TapIo`: what [`ListenerExt::tap_io`] returns.
pub struct TapIo<L, F> {
    listener: L,
    tap_fn: F,
}

impl<L: Listener + std::fmt::Debug, F> std::fmt::Debug for TapIo<L, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapIo")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

impl<L, F> Listener for TapIo<L, F>
where
    L: Listener,
    F: FnMut(&mut L::Io) + Send + 'static,
{
    type Io = L::Io;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (L::Io, L::Addr) {
        let (mut io, addr) = self.listener.accept().await;
        (self.tap_fn)(&mut io);
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<L::Addr> {
        self.listener.local_addr()
    }
}

/// axum's handling of an accept error: the peer's own failure is skipped; anything else
/// (`EMFILE`, `ENFILE`, `ENOBUFS`, ...) is logged and waited out for a second.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept error: {e}");
    crate::compat::time::sleep(Duration::from_secs(1)).await;
}

/// Stands for `axum::serve::IncomingStream`: a connection just accepted, handed to the make
/// service (and to `Connected::connect_info`).
#[derive(Debug)]
pub struct IncomingStream<'a, L = TcpListener>
where
    L: Listener,
{
    io: &'a TokioIo<L::Io>,
    remote_addr: L::Addr,
}

impl<L: Listener> IncomingStream<'_, L> {
    /// The connection.
    pub fn io(&self) -> &L::Io {
        self.io.inner()
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> &L::Addr {
        &self.remote_addr
    }
}

/// `ConnectInfo<SocketAddr>` for TCP: the peer's address (axum's impl for its own stream).
impl Connected<IncomingStream<'_, TcpListener>> for std::net::SocketAddr {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        stream.remote_addr
    }
}

/// `ConnectInfo<compat::net::unix::SocketAddr>` for Unix sockets: the peer's address.
impl Connected<IncomingStream<'_, UnixListener>> for unix::SocketAddr {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        stream.remote_addr
    }
}

/// `ConnectInfo<SocketAddr>` through [`ListenerExt::tap_io`].
impl<F> Connected<IncomingStream<'_, TapIo<TcpListener, F>>> for std::net::SocketAddr
where
    F: FnMut(&mut TcpStream) + Send + 'static,
{
    fn connect_info(stream: IncomingStream<'_, TapIo<TcpListener, F>>) -> Self {
        stream.remote_addr
    }
}

/// `ConnectInfo<compat::net::unix::SocketAddr>` through [`ListenerExt::tap_io`].
impl<F> Connected<IncomingStream<'_, TapIo<UnixListener, F>>> for unix::SocketAddr
where
    F: FnMut(&mut UnixStream) + Send + 'static,
{
    fn connect_info(stream: IncomingStream<'_, TapIo<UnixListener, F>>) -> Self {
        stream.remote_addr
    }
}

/// `serve(listener, router)`: each connection gets the router, its state applied once.
impl<L: Listener> Service<IncomingStream<'_, L>> for Router<()> {
    type Response = Router<()>;
    type Error = Infallible;
    type Future = Ready<Result<Router<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: IncomingStream<'_, L>) -> Self::Future {
        // As axum: `with_state` turns every route into a `Route` once, not per request.
        ready(Ok(self.clone().with_state(())))
    }
}

/// `serve(listener, get(handler))`.
impl<L: Listener> Service<IncomingStream<'_, L>> for MethodRouter<()> {
    type Response = MethodRouter<()>;
    type Error = Infallible;
    type Future = Ready<Result<MethodRouter<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: IncomingStream<'_, L>) -> Self::Future {
        ready(Ok(self.clone().with_state(())))
    }
}

/// `serve(listener, handler.with_state(state))` / `handler.into_service()`.
impl<H: Clone, T, S: Clone, L: Listener> Service<IncomingStream<'_, L>>
    for HandlerService<H, T, S>
{
    type Response = HandlerService<H, T, S>;
    type Error = Infallible;
    type Future = Ready<Result<HandlerService<H, T, S>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: IncomingStream<'_, L>) -> Self::Future {
        ready(Ok(self.clone()))
    }
}

//! The server loop: accept, make the connection's service, serve the connection as a task of
//! its own; with a shutdown signal, stop accepting when it fires and wait for the open
//! connections to finish what they are doing.

use std::convert::Infallible;
use std::fmt;
use std::future::{pending, Future, IntoFuture};
use std::io;
use std::marker::PhantomData;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use ::axum::body::Body;
use ::axum::extract::Request;
use ::axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::{Service, ServiceExt};

use super::{IncomingStream, Listener};
use crate::compat::hyper::{Executor, Timer};

/// Stands for `axum::serve`: serve `make_service` on `listener`, HTTP/1 and HTTP/2, each
/// connection a task of its own (spawned with [`compat::spawn`](crate::compat::spawn)).
///
/// As axum's, the returned [`Serve`] never completes (accept errors are skipped or waited
/// out, see [`Listener::accept`]); [`Serve::with_graceful_shutdown`] makes one that does.
///
/// One difference: connections get hyper's HTTP/1 header read timeout (30 s by default),
/// because hyper is given a timer ([`compat::hyper::Timer`](crate::compat::hyper::Timer));
/// `axum::serve` gives it none, so there hyper skips that timeout.
pub fn serve<L, M, S>(listener: L, make_service: M) -> Serve<L, M, S>
where
    L: Listener,
    M: for<'a> Service<IncomingStream<'a, L>, Error = Infallible, Response = S>,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    Serve {
        listener,
        make_service,
        _service: PhantomData,
    }
}

/// Stands for `axum::serve::Serve`: await it (`IntoFuture`) to run the server.
#[must_use = "a server does nothing unless `.await`ed"]
pub struct Serve<L, M, S> {
    listener: L,
    make_service: M,
    _service: PhantomData<fn() -> S>,
}

/// Stands for `axum::serve::WithGracefulShutdown`: a server that stops once its signal
/// completes. Awaiting it returns `Ok(())` after the signal fired, the listener was closed
/// and every open connection finished: an HTTP/1 connection completes the request it is
/// serving and closes (an idle one closes at once), an HTTP/2 connection sends `GOAWAY` and
/// completes its open streams.
#[must_use = "a server does nothing unless `.await`ed"]
pub struct WithGracefulShutdown<L, M, S, F> {
    listener: L,
    make_service: M,
    signal: F,
    _service: PhantomData<fn() -> S>,
}

impl<L: Listener, M, S> Serve<L, M, S> {
    /// Stands for `Serve::with_graceful_shutdown`.
    pub fn with_graceful_shutdown<F>(self, signal: F) -> WithGracefulShutdown<L, M, S, F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        WithGracefulShutdown {
            listener: self.listener,
            make_service: self.make_service,
            signal,
            _service: PhantomData,
        }
    }

    /// Stands for `Serve::local_addr`.
    pub fn local_addr(&self) -> io::Result<L::Addr> {
        self.listener.local_addr()
    }
}

impl<L: Listener, M, S, F> WithGracefulShutdown<L, M, S, F> {
    /// Stands for `WithGracefulShutdown::local_addr`.
    pub fn local_addr(&self) -> io::Result<L::Addr> {
        self.listener.local_addr()
    }
}

impl<L, M, S> IntoFuture for Serve<L, M, S>
where
    L: Listener,
    M: for<'a> Service<IncomingStream<'a, L>, Error = Infallible, Response = S> + Send + 'static,
    for<'a> <M as Service<IncomingStream<'a, L>>>::Future: Send,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Output = io::Result<()>;
    type IntoFuture = ServeFuture;

    fn into_future(self) -> ServeFuture {
        ServeFuture(Box::pin(async move {
            run(self.listener, self.make_service, pending()).await;
            Ok(())
        }))
    }
}

impl<L, M, S, F> IntoFuture for WithGracefulShutdown<L, M, S, F>
where
    L: Listener,
    M: for<'a> Service<IncomingStream<'a, L>, Error = Infallible, Response = S> + Send + 'static,
    for<'a> <M as Service<IncomingStream<'a, L>>>::Future: Send,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    F: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = ServeFuture;

    fn into_future(self) -> ServeFuture {
        ServeFuture(Box::pin(async move {
            run(self.listener, self.make_service, self.signal).await;
            Ok(())
        }))
    }
}

/// The future of a [`Serve`] or [`WithGracefulShutdown`] (axum's is unnameable).
pub struct ServeFuture(Pin<Box<dyn Future<Output = io::Result<()>> + Send>>);

impl Future for ServeFuture {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for ServeFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeFuture").finish_non_exhaustive()
    }
}

impl<L: fmt::Debug, M: fmt::Debug, S> fmt::Debug for Serve<L, M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("make_service", &self.make_service)
            .finish()
    }
}

impl<L: fmt::Debug, M: fmt::Debug, S, F: fmt::Debug> fmt::Debug
    for WithGracefulShutdown<L, M, S, F>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithGracefulShutdown")
            .field("listener", &self.listener)
            .field("make_service", &self.make_service)
            .field("signal", &self.signal)
            .finish()
    }
}

/// Accept until `signal` completes (a plain `serve` passes one that never does), then close
/// the listener, tell every connection to shut down gracefully and wait for them all.
async fn run<L, M, S>(mut listener: L, mut make_service: M, signal: impl Future<Output = ()>)
where
    L: Listener,
    M: for<'a> Service<IncomingStream<'a, L>, Error = Infallible, Response = S>,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let connections = GracefulShutdown::new();
    let mut signal = pin!(signal);
    loop {
        let (io, remote_addr) = crate::compat::select! {
            biased;
            () = &mut signal => break,
            conn = listener.accept() => conn,
        };
        serve_connection(&mut make_service, io, remote_addr, &connections).await;
    }
    // No new connection from here on: a client connecting now is refused, not left queued.
    drop(listener);
    connections.shutdown().await;
}

/// Make the connection's service and serve the connection on a task of its own, watched by
/// `connections` for a graceful shutdown.
async fn serve_connection<L, M, S>(
    make_service: &mut M,
    io: L::Io,
    remote_addr: L::Addr,
    connections: &GracefulShutdown,
) where
    L: Listener,
    M: for<'a> Service<IncomingStream<'a, L>, Error = Infallible, Response = S>,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let io = TokioIo::new(io);
    let Ok(make_service) = make_service.ready().await;
    let Ok(service) = make_service
        .call(IncomingStream {
            io: &io,
            remote_addr,
        })
        .await;
    let service =
        TowerToHyperService::new(service.map_request(|req: Request<Incoming>| req.map(Body::new)));
    let watcher = connections.watcher();
    drop(crate::compat::spawn(async move {
        let mut builder = Builder::new(Executor::new());
        builder.http1().timer(Timer::new());
        // As axum: the CONNECT protocol, for WebSockets over HTTP/2.
        builder
            .http2()
            .timer(Timer::new())
            .enable_connect_protocol();
        let conn = builder.serve_connection_with_upgrades(io, service);
        if let Err(e) = watcher.watch(conn).await {
            tracing::trace!("failed to serve connection: {e:#}");
        }
    }));
}

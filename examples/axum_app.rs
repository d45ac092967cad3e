//! An axum 0.8 app on compat: routes, JSON in and out (serde), shared `State`, the peer's
//! address through `ConnectInfo`, and graceful shutdown, served by
//! `ringolo::compat::axum::serve` (axum's own `serve` calls Tokio's runtime from inside).
//!
//! Its Tokio twin differs in two lines: `use ringolo::compat as tokio;` is not there, and
//! `use ringolo::compat::axum::serve;` reads `use axum::serve;`.
//!
//! `cargo run --example axum_app --features axum -- 127.0.0.1:3000` serves until Ctrl-C, then
//! shuts down gracefully; `-- --demo` serves on a free port, calls every route with hyper's
//! client, shuts down while a slow request is in flight and exits.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use ringolo::compat as tokio;
use ringolo::compat::axum::serve;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Default)]
struct AppState {
    count: AtomicU64,
    /// Told when a slow request has started (the demo shuts down while one is in flight).
    slow_started: tokio::sync::Notify,
}

#[derive(Deserialize)]
struct Add {
    by: u64,
}

#[derive(Serialize)]
struct Count {
    count: u64,
}

#[derive(Serialize)]
struct Whoami {
    addr: SocketAddr,
}

fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(|| async { "hello from axum" }))
        .route("/count", post(add))
        .route("/whoami", get(whoami))
        .route("/slow", get(slow))
        .with_state(state)
}

async fn add(State(state): State<Arc<AppState>>, Json(add): Json<Add>) -> Json<Count> {
    let count = state.count.fetch_add(add.by, Ordering::Relaxed) + add.by;
    Json(Count { count })
}

async fn whoami(ConnectInfo(addr): ConnectInfo<SocketAddr>) -> Json<Whoami> {
    Json(Whoami { addr })
}

async fn slow(State(state): State<Arc<AppState>>) -> &'static str {
    state.slow_started.notify_one();
    tokio::time::sleep(Duration::from_millis(300)).await;
    "slow done"
}

/// One HTTP/1.1 request on a connection of its own; returns the status, the body and the
/// client's own address.
async fn call(
    addr: SocketAddr,
    method: Method,
    path: &str,
    json: Option<&str>,
) -> Result<(StatusCode, String, SocketAddr), BoxError> {
    let stream = TcpStream::connect(addr).await?;
    let local = stream.local_addr()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if json.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(Full::new(Bytes::from(json.unwrap_or("").to_owned())))?;
    let res = sender.send_request(req).await?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8(body.to_vec())?, local))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let state = Arc::new(AppState::default());
    let make_service = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    if arg != "--demo" {
        let listener = TcpListener::bind(&arg).await?;
        println!("serving on {}", listener.local_addr()?);
        serve(listener, make_service)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        println!("shut down");
        return Ok(());
    }

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve(listener, make_service)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let (status, body, _) = call(addr, Method::GET, "/", None).await?;
    println!("GET / -> {status} {body:?}");
    for by in [2, 3] {
        let json = format!(r#"{{"by":{by}}}"#);
        let (status, body, _) = call(addr, Method::POST, "/count", Some(&json)).await?;
        println!("POST /count {json} -> {status} {body}");
    }
    let (status, body, local) = call(addr, Method::GET, "/whoami", None).await?;
    let seen: serde_json::Value = serde_json::from_str(&body)?;
    println!(
        "GET /whoami -> {status} {body}; the client's address is {local}; same: {}",
        seen["addr"] == local.to_string()
    );

    let in_flight = tokio::spawn(call(addr, Method::GET, "/slow", None));
    state.slow_started.notified().await;
    let _ = stop.send(());
    tokio::time::sleep(Duration::from_millis(50)).await;
    println!(
        "shutdown signalled; server still running while /slow is in flight: {}",
        !server.is_finished()
    );
    let (status, body, _) = in_flight.await??;
    println!("in-flight GET /slow -> {status} {body:?}");
    let result = tokio::time::timeout(Duration::from_secs(5), server).await??;
    println!("server returned {result:?}");
    match TcpStream::connect(addr).await {
        Ok(_) => println!("a new connection after shutdown was accepted"),
        Err(e) => println!("a new connection after shutdown: {:?}", e.kind()),
    }
    Ok(())
}

//! hyper 1.x on compat: a server that speaks HTTP/1 and HTTP/2 on one port (hyper-util's auto
//! builder), and clients that talk to it over each (`hyper::client::conn::http1` and
//! `http2`), all over hyper-util's `TokioIo` around compat's `TcpStream`.
//!
//! Its Tokio twin differs in two lines: `use ringolo::compat as tokio;` is not there, and
//! `use ringolo::compat::hyper::{Executor, Timer};` reads
//! `use hyper_util::rt::{TokioExecutor as Executor, TokioTimer as Timer};`.
//!
//! `cargo run --example hyper_server_client --features hyper -- 127.0.0.1:3000` serves until
//! killed (`curl --http2-prior-knowledge http://127.0.0.1:3000/`); `-- --demo` serves on a
//! free port, makes one request over each protocol version and exits.

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use ringolo::compat as tokio;
use ringolo::compat::hyper::{Executor, Timer};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn Error + Send + Sync>;

/// Says which protocol version the request came over and how much body it had.
async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let version = req.version();
    let body = req.into_body().collect().await?.to_bytes();
    let text = format!("hello over {version:?}, {} bytes received", body.len());
    Ok(Response::new(Full::new(Bytes::from(text))))
}

async fn serve(listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        tokio::spawn(async move {
            let mut builder = auto::Builder::new(Executor::new());
            builder
                .http1()
                .timer(Timer::new())
                .header_read_timeout(Duration::from_secs(5));
            let service = hyper::service::service_fn(hello);
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// One POST over HTTP/1.1; returns the response's version, status and body.
async fn http1_request(addr: SocketAddr) -> Result<String, BoxError> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::post("/")
        .header(hyper::header::HOST, addr.to_string())
        .body(Full::new(Bytes::from("ping")))?;
    describe(sender.send_request(req).await?).await
}

/// One POST over HTTP/2 (prior knowledge): the connection's streams run on `Executor`.
async fn http2_request(addr: SocketAddr) -> Result<String, BoxError> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(Executor::new(), TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req =
        Request::post(format!("http://{addr}/")).body(Full::new(Bytes::from("ping, twice")))?;
    describe(sender.send_request(req).await?).await
}

async fn describe(res: Response<Incoming>) -> Result<String, BoxError> {
    let (version, status) = (res.version(), res.status());
    let body = res.into_body().collect().await?.to_bytes();
    Ok(format!(
        "{version:?} {status}: {:?}",
        String::from_utf8_lossy(&body)
    ))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    if arg != "--demo" {
        let listener = TcpListener::bind(&arg).await?;
        println!("serving HTTP/1 and HTTP/2 on {}", listener.local_addr()?);
        serve(listener).await;
        return Ok(());
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener));
    let one = tokio::time::timeout(Duration::from_secs(5), http1_request(addr)).await??;
    println!("http1 client got {one}");
    let two = tokio::time::timeout(Duration::from_secs(5), http2_request(addr)).await??;
    println!("http2 client got {two}");
    Ok(())
}

//! A TCP proxy: each client connection is joined to a new connection to the server with
//! `io::copy_bidirectional`.
//!
//! Its Tokio twin differs in one line: `use ringolo::compat as tokio;` is not there (the
//! program names `tokio::` and gets the real crate).
//!
//! `cargo run --example proxy -- 127.0.0.1:8081 127.0.0.1:8080` proxies until killed;
//! `cargo run --example proxy -- --demo` starts an echo server and the proxy on free ports,
//! sends 1 MiB through the proxy, checks the echo and exits.

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use ringolo::compat as tokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn Error + Send + Sync>;

/// Proxy every connection to `server`; each finished one reports its byte counts.
async fn proxy(
    listener: TcpListener,
    server: SocketAddr,
    done: tokio::sync::mpsc::UnboundedSender<(u64, u64)>,
) {
    loop {
        let (mut inbound, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let done = done.clone();
        tokio::spawn(async move {
            let mut outbound = match TcpStream::connect(server).await {
                Ok(s) => s,
                Err(e) => return eprintln!("connect to {server} failed: {e}"),
            };
            match tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await {
                Ok(counts) => {
                    let _ = done.send(counts);
                }
                Err(e) => eprintln!("proxying failed: {e}"),
            }
        });
    }
}

/// The demo's server: echoes each connection until the client stops writing.
async fn echo(listener: TcpListener) {
    while let Ok((mut stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let (mut r, mut w) = stream.split();
            if tokio::io::copy(&mut r, &mut w).await.is_ok() {
                let _ = w.shutdown().await;
            }
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    if args.first().map(String::as_str) != Some("--demo") {
        let listen = args.first().map_or("127.0.0.1:8081", String::as_str);
        let server = args.get(1).map_or("127.0.0.1:8080", String::as_str);
        let server = tokio::net::lookup_host(server)
            .await?
            .next()
            .ok_or("no server address")?;
        let listener = TcpListener::bind(listen).await?;
        println!("proxying {} to {server}", listener.local_addr()?);
        tokio::spawn(async move {
            while let Some((up, down)) = done_rx.recv().await {
                println!("connection closed: {up} bytes up, {down} bytes down");
            }
        });
        proxy(listener, server, done_tx).await;
        return Ok(());
    }

    let echo_listener = TcpListener::bind("127.0.0.1:0").await?;
    let server = echo_listener.local_addr()?;
    tokio::spawn(echo(echo_listener));
    let proxy_listener = TcpListener::bind("127.0.0.1:0").await?;
    let proxy_addr = proxy_listener.local_addr()?;
    tokio::spawn(proxy(proxy_listener, server, done_tx));

    // More than the sockets buffer, so the copies in both directions interleave.
    let sent: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let client = TcpStream::connect(proxy_addr).await?;
    let (mut r, mut w) = client.into_split();
    let writer = {
        let sent = sent.clone();
        tokio::spawn(async move {
            w.write_all(&sent).await?;
            w.shutdown().await
        })
    };
    let mut got = Vec::with_capacity(sent.len());
    tokio::time::timeout(Duration::from_secs(10), r.read_to_end(&mut got)).await??;
    writer.await??;
    println!(
        "round trip through the proxy: sent {} bytes, got {} bytes back, equal: {}",
        sent.len(),
        got.len(),
        got == sent
    );
    let (up, down) = tokio::time::timeout(Duration::from_secs(5), done_rx.recv())
        .await?
        .ok_or("the proxy stopped")?;
    println!("proxy copied {up} bytes up, {down} bytes down");
    if got != sent {
        return Err("the echo differs from what was sent".into());
    }
    Ok(())
}

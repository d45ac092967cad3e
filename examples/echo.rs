//! A TCP echo server on ringolo.
//!
//! `cargo run --example echo -- 127.0.0.1:7000` serves until killed;
//! `cargo run --example echo -- --demo` serves on a free port, sends a few lines through it
//! and exits.

use futures::StreamExt;
use ringolo::net::{TcpListener, TcpStream};

async fn serve(listener: TcpListener) {
    let mut incoming = listener.incoming();
    while let Some(conn) = incoming.next().await {
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        ringolo::spawn(async move {
            let mut buf = Vec::with_capacity(16 * 1024);
            loop {
                buf.clear();
                let (n, b) = conn.read(buf).await;
                match n {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("read failed: {e}");
                        return;
                    }
                }
                let (res, b) = conn.write_all(b).await;
                if let Err(e) = res {
                    eprintln!("write failed: {e}");
                    return;
                }
                buf = b;
            }
        });
    }
}

#[ringolo::main]
async fn main() -> std::io::Result<()> {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    if arg != "--demo" {
        let listener = TcpListener::bind(arg.as_str()).await?;
        println!("echoing on {}", listener.local_addr()?);
        serve(listener).await;
        return Ok(());
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = ringolo::spawn(serve(listener));
    let client = TcpStream::connect(addr).await?;
    for line in ["hello", "from", "ringolo"] {
        client.write_all(line).await.0?;
        let (res, echoed) = client.read_exact(Vec::with_capacity(line.len())).await;
        res?;
        println!("sent {line:?}, got {:?}", String::from_utf8_lossy(&echoed));
    }
    server.abort();
    Ok(())
}

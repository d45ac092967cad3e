//! A line-based chat server: tokio-util's `LinesCodec` over compat's `TcpStream`, a
//! `broadcast` channel for the room and `select!` between the client's lines and the room's.
//!
//! Its Tokio twin differs in one line: `use ringolo::compat as tokio;` is not there (the
//! program names `tokio::` and gets the real crate).
//!
//! `cargo run --example chat -- 127.0.0.1:6142` serves until killed (talk to it with
//! `nc 127.0.0.1 6142`: the first line is your name); `cargo run --example chat -- --demo`
//! serves on a free port, has two clients talk through it and exits.

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ringolo::compat as tokio;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_util::codec::{Framed, LinesCodec};

type BoxError = Box<dyn Error + Send + Sync>;

/// A line said in the room, and who said it (not echoed back to them).
#[derive(Clone, Debug)]
struct Said {
    from: SocketAddr,
    line: String,
}

async fn serve(listener: TcpListener) {
    let (room, _) = broadcast::channel::<Said>(64);
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let room = room.clone();
        tokio::spawn(async move {
            if let Err(e) = client(stream, addr, room).await {
                eprintln!("{addr}: {e}");
            }
        });
    }
}

async fn client(
    stream: TcpStream,
    addr: SocketAddr,
    room: broadcast::Sender<Said>,
) -> Result<(), BoxError> {
    let mut lines = Framed::new(stream, LinesCodec::new_with_max_length(1024));
    lines.send("Please enter your username:").await?;
    let Some(name) = lines.next().await.transpose()? else {
        return Ok(());
    };
    // Subscribe before announcing, so whoever hears the join can be heard back.
    let mut heard = room.subscribe();
    let _ = room.send(Said {
        from: addr,
        line: format!("{name} has joined the chat"),
    });
    loop {
        tokio::select! {
            line = lines.next() => match line {
                Some(Ok(line)) => {
                    let _ = room.send(Said { from: addr, line: format!("{name}: {line}") });
                }
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            said = heard.recv() => match said {
                Ok(said) if said.from != addr => lines.send(said.line).await?,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    lines.send(format!("({n} lines missed)")).await?;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    let _ = room.send(Said {
        from: addr,
        line: format!("{name} has left the chat"),
    });
    Ok(())
}

/// A chat client for the demo: connects, answers the name prompt.
async fn join(addr: SocketAddr, name: &str) -> Result<Framed<TcpStream, LinesCodec>, BoxError> {
    let mut lines = Framed::new(TcpStream::connect(addr).await?, LinesCodec::new());
    let prompt = next_line(&mut lines).await?;
    assert_eq!(prompt, "Please enter your username:");
    lines.send(name).await?;
    Ok(lines)
}

async fn next_line(lines: &mut Framed<TcpStream, LinesCodec>) -> Result<String, BoxError> {
    match tokio::time::timeout(Duration::from_secs(5), lines.next()).await? {
        Some(line) => Ok(line?),
        None => Err("the server closed the connection".into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6142".into());
    if arg != "--demo" {
        let listener = TcpListener::bind(&arg).await?;
        println!("chat server on {}", listener.local_addr()?);
        serve(listener).await;
        return Ok(());
    }

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener));

    let mut alice = join(addr, "alice").await?;
    let mut bob = join(addr, "bob").await?;
    // Bob is in the room once Alice hears him join.
    println!("alice saw: {}", next_line(&mut alice).await?);
    alice.send("hello bob").await?;
    println!("bob saw: {}", next_line(&mut bob).await?);
    bob.send("hi alice").await?;
    println!("alice saw: {}", next_line(&mut alice).await?);
    drop(bob);
    println!("alice saw: {}", next_line(&mut alice).await?);
    Ok(())
}

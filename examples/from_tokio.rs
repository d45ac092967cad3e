//! A Tokio program moved to ringolo with the import swap: `use ringolo::compat as tokio;`
//! (the README's "From Tokio" example). An echo over TCP, a timeout, a JoinSet.

use ringolo::compat as tokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(&buf).await.unwrap();
    });
    let mut c = tokio::net::TcpStream::connect(addr).await?;
    c.write_all(b"hello").await?;
    let mut back = [0u8; 5];
    tokio::time::timeout(std::time::Duration::from_secs(1), c.read_exact(&mut back)).await??;
    assert_eq!(&back, b"hello");

    let mut set = tokio::task::JoinSet::new();
    for i in 0..10u64 {
        set.spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(10 - i)).await;
            i
        });
    }
    let mut order = Vec::new();
    while let Some(done) = set.join_next().await {
        order.push(done?);
    }
    println!(
        "echoed {:?}; tasks finished in order {order:?}",
        std::str::from_utf8(&back).unwrap()
    );
    Ok(())
}

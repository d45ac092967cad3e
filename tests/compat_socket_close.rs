//! A dropped compat socket closes as Tokio's does, though an io_uring poll on it holds its
//! file in the kernel: a listener stops accepting, a stream sends its FIN. Regression tests
//! for sockets dropped on another thread than the ring holding their poll (whose cancel used
//! to be dropped, leaving the socket open until the poll fired) and for the cancel of a poll
//! on the dropping thread's own ring (which waited for the ring's next turn).

use std::io::{ErrorKind, Read};
use std::net::SocketAddr;
use std::time::Duration;

use ringolo::compat as tokio;
use tokio::net::TcpListener;

/// A listener whose accept poll was armed on this thread's ring, then given up.
async fn polled_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::time::timeout(Duration::from_millis(20), listener.accept()).await;
    assert!(accept.is_err(), "nobody connected");
    (listener, addr)
}

/// Have a read poll in flight on this thread's ring (an accepted stream is assumed readable
/// until a read finds otherwise).
async fn arm_read_poll(stream: &tokio::net::TcpStream) {
    let err = stream.try_read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "the client sent nothing");
    let readable = tokio::time::timeout(Duration::from_millis(20), stream.readable()).await;
    assert!(readable.is_err(), "the client sent nothing");
}

#[tokio::test]
async fn a_listener_dropped_on_its_ring_s_thread_refuses_the_next_connect() {
    let (listener, addr) = polled_listener().await;
    drop(listener);
    // No await in between: the poll's cancel went to the kernel within the drop.
    let err = std::net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_dropped_on_another_thread_stops_accepting() {
    // Bound and polled on a worker's ring, dropped on the thread running the test.
    let (listener, addr) = tokio::spawn(polled_listener()).await.unwrap();
    drop(listener);
    // The worker cancels the poll at its next turn, woken by the drop: well within this.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = std::net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_dropped_on_another_thread_sends_its_fin() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    // Accepted and polled for reading on a worker's ring, dropped on this thread.
    let server_side = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        arm_read_poll(&stream).await;
        stream
    })
    .await
    .unwrap();
    drop(server_side);
    let eof = tokio::task::spawn_blocking(move || {
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        client.read(&mut [0u8; 8]).map_err(|e| e.kind())
    })
    .await
    .unwrap();
    assert_eq!(eof, Ok(0), "the client must see the server's FIN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_dropped_by_a_task_on_another_worker_sends_its_fin() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    // Accepted (its polls armed) on this thread's ring, dropped by a task on a worker.
    let (stream, _) = listener.accept().await.unwrap();
    arm_read_poll(&stream).await;
    tokio::spawn(async move { drop(stream) }).await.unwrap();
    let eof = tokio::task::spawn_blocking(move || {
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        client.read(&mut [0u8; 8]).map_err(|e| e.kind())
    })
    .await
    .unwrap();
    assert_eq!(eof, Ok(0), "the client must see the server's FIN");
}

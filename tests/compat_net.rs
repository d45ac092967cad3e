//! compat's sockets: Tokio's poll semantics over io_uring readiness. A read cancelled while it
//! waits loses no byte, written bytes arrive in order also when the stream is dropped at once,
//! the readiness methods mean what Tokio's do, and a dead runtime's sockets fail with Tokio's
//! shutdown error.

use std::time::Duration;

use ringolo::compat as tokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream, UdpSocket, UnixStream};

async fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    (c, s)
}

#[tokio::test]
async fn a_read_cancelled_by_select_loses_no_byte() {
    let (mut c, mut s) = pair().await;
    let writer = tokio::spawn(async move {
        for i in 0..200u32 {
            s.write_all(&i.to_le_bytes()).await.unwrap();
            if i % 7 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 3]; // smaller than a message: reads split them
    while got.len() < 800 {
        tokio::select! {
            biased;
            // Fires often: the read future is dropped while it waits, many times.
            _ = tokio::time::sleep(Duration::from_micros(300)) => {}
            n = c.read(&mut buf) => {
                let n = n.unwrap();
                assert!(n > 0, "early EOF");
                got.extend_from_slice(&buf[..n]);
            }
        }
    }
    writer.await.unwrap();
    let expect: Vec<u8> = (0..200u32).flat_map(|i| i.to_le_bytes()).collect();
    assert_eq!(got, expect);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn written_bytes_arrive_when_the_stream_is_dropped_right_after() {
    let (mut c, mut s) = pair().await;
    let data: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
    let expect = data.clone();
    let w = tokio::spawn(async move {
        s.write_all(&data).await.unwrap();
        drop(s); // never blocks; what write_all reported is in the kernel
    });
    let mut got = Vec::new();
    c.read_to_end(&mut got).await.unwrap();
    w.await.unwrap();
    assert_eq!(got, expect);
}

#[tokio::test]
async fn try_read_after_readable_gets_data_or_would_block() {
    let (c, mut s) = pair().await;
    let mut buf = [0u8; 16];
    assert_eq!(
        c.try_read(&mut buf).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    s.write_all(b"abc").await.unwrap();
    c.readable().await.unwrap();
    assert_eq!(c.try_read(&mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"abc");
    let ready = c.ready(Interest::WRITABLE).await.unwrap();
    assert!(ready.is_writable());
    // try_write fills the socket until it would block.
    let chunk = [0u8; 65536];
    let mut total = 0;
    loop {
        match c.try_write(&chunk) {
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(total > 0);
}

#[tokio::test]
async fn udp_and_unix_round_trip() {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    a.send_to(b"dgram", b.local_addr().unwrap()).await.unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = b.recv_from(&mut buf).await.unwrap();
    assert_eq!((&buf[..n], from), (&b"dgram"[..], a.local_addr().unwrap()));

    let (mut x, mut y) = UnixStream::pair().unwrap();
    x.write_all(b"unix").await.unwrap();
    let mut back = [0u8; 4];
    y.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"unix");
}

#[test]
fn a_dead_runtime_s_socket_fails_with_the_shutdown_error() {
    let rt1 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt1.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    drop(rt1);
    let rt2 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt2.block_on(listener.accept()).unwrap_err();
    assert!(tokio::runtime::is_rt_shutdown_err(&err), "{err:?}");
}

#[test]
#[should_panic(expected = "there is no reactor running")]
fn from_std_outside_a_runtime_panics_with_tokio_s_message() {
    let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let _ = TcpListener::from_std(std);
}

#[test]
fn a_socket_polled_on_a_thread_without_a_ring_still_completes() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            s.write_all(b"hi").await.unwrap();
        });
        // A blocking-pool thread drives no ring: its waits are submitted by the runtime.
        let got = tokio::task::spawn_blocking(move || {
            futures::executor::block_on(async {
                let mut c = TcpStream::connect(addr).await.unwrap();
                let mut b = [0u8; 2];
                c.read_exact(&mut b).await.unwrap();
                b
            })
        })
        .await
        .unwrap();
        assert_eq!(&got, b"hi");
        server.await.unwrap();
    });
}

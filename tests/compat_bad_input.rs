//! Bad input on compat's sockets: every failing call returns the `io::Error` Tokio returns
//! for the same call (checked by running it on real Tokio too, `common/like_tokio.rs`),
//! never panics, leaves the runtime running tasks and leaks no descriptor. File-system bad
//! input is in `compat_bad_input_fs.rs`, running out of descriptors in `compat_fd_exhaustion.rs`.

mod common;
#[path = "common/like_tokio.rs"]
mod like_tokio;

use std::io::ErrorKind;
use std::time::Duration;

use like_tokio::{failure, fd_lock, kind_of, like_tokio, os, tmp, user};

/// A loopback port nobody listens on: bound by the kernel, then let go.
fn closed_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn connect_to_nothing_and_to_bad_addresses() {
    let _lock = fd_lock();
    let refused = closed_port();
    // A socket file whose listener has gone: the path is there, nobody accepts.
    let dead_socket = tmp("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&dead_socket).unwrap());
    let missing_socket = tmp("missing.sock");
    let got = like_tokio!(|tokio| {
        use tokio::net::{TcpStream, UnixStream};
        let no_addrs: &[std::net::SocketAddr] = &[];
        vec![
            ("refused", failure(&TcpStream::connect(refused).await)),
            (
                "no port",
                failure(&TcpStream::connect("not an address").await),
            ),
            (
                "bad port",
                failure(&TcpStream::connect("127.0.0.1:99999").await),
            ),
            ("no addresses", failure(&TcpStream::connect(no_addrs).await)),
            (
                "unix, nobody",
                failure(&UnixStream::connect(&dead_socket).await),
            ),
            (
                "unix, no file",
                failure(&UnixStream::connect(&missing_socket).await),
            ),
        ]
    });
    assert_eq!(
        got,
        vec![
            ("refused", os(libc::ECONNREFUSED)),
            ("no port", user(ErrorKind::InvalidInput)),
            ("bad port", user(ErrorKind::InvalidInput)),
            ("no addresses", user(ErrorKind::InvalidInput)),
            ("unix, nobody", os(libc::ECONNREFUSED)),
            ("unix, no file", os(libc::ENOENT)),
        ]
    );
    assert_eq!(kind_of(&got, "refused"), ErrorKind::ConnectionRefused);
    std::fs::remove_file(&dead_socket).unwrap();
}

#[test]
fn bind_to_an_address_in_use_or_not_ours() {
    let _lock = fd_lock();
    let tcp_taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_taken = tcp_taken.local_addr().map(|a| (tcp_taken, a)).unwrap();
    let udp_taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_addr = udp_taken.local_addr().unwrap();
    let unix_taken = tmp("taken.sock");
    let _unix_listener = std::os::unix::net::UnixListener::bind(&unix_taken).unwrap();
    // TEST-NET-1 (RFC 5737): no interface of ours has it.
    let foreign = "192.0.2.1:0";
    let got = like_tokio!(|tokio| {
        use tokio::net::{TcpListener, TcpSocket, UdpSocket, UnixListener};
        let socket_bind = |addr: &str| {
            let s = TcpSocket::new_v4()?;
            s.bind(addr.parse().unwrap())?;
            s.listen(8).map(drop)
        };
        vec![
            ("tcp in use", failure(&TcpListener::bind(tcp_taken.1).await)),
            ("udp in use", failure(&UdpSocket::bind(udp_addr).await)),
            ("unix in use", failure(&UnixListener::bind(&unix_taken))),
            (
                "unix in missing dir",
                failure(&UnixListener::bind(tmp("no-such-dir/x.sock"))),
            ),
            (
                "socket in use",
                failure(&socket_bind(&tcp_taken.1.to_string())),
            ),
            ("tcp foreign", failure(&TcpListener::bind(foreign).await)),
            ("udp foreign", failure(&UdpSocket::bind(foreign).await)),
            ("socket foreign", failure(&socket_bind(foreign))),
            (
                "tcp bad address",
                failure(&TcpListener::bind("nowhere").await),
            ),
        ]
    });
    assert_eq!(
        got,
        vec![
            ("tcp in use", os(libc::EADDRINUSE)),
            ("udp in use", os(libc::EADDRINUSE)),
            ("unix in use", os(libc::EADDRINUSE)),
            ("unix in missing dir", os(libc::ENOENT)),
            ("socket in use", os(libc::EADDRINUSE)),
            ("tcp foreign", os(libc::EADDRNOTAVAIL)),
            ("udp foreign", os(libc::EADDRNOTAVAIL)),
            ("socket foreign", os(libc::EADDRNOTAVAIL)),
            ("tcp bad address", user(ErrorKind::InvalidInput)),
        ]
    );
    assert_eq!(kind_of(&got, "tcp in use"), ErrorKind::AddrInUse);
    assert_eq!(kind_of(&got, "tcp foreign"), ErrorKind::AddrNotAvailable);
    std::fs::remove_file(&unix_taken).unwrap();
}

/// A peer that aborts (`SO_LINGER` 0, then close) while we are blocked in a large `write_all`:
/// the write fails with the reset, the next write with a broken pipe, and a read then sees
/// the end of the stream. Run with `SIGPIPE` at its default action by the test below, so a
/// write that raised it would kill the process.
fn peer_resets_mid_write() {
    let got = like_tokio!(|tokio| {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut ours = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (theirs, _) = listener.accept().await.unwrap();
        let reset = tokio::spawn(async move {
            // Long enough for our write to fill both socket buffers and wait.
            tokio::time::sleep(Duration::from_millis(200)).await;
            theirs.set_zero_linger().unwrap();
            drop(theirs);
        });
        // Far more than loopback's send and receive buffers hold.
        let big = vec![0x5a_u8; 32 << 20];
        let during = tokio::time::timeout(Duration::from_secs(10), ours.write_all(&big))
            .await
            .expect("write_all hung after the reset");
        reset.await.unwrap();
        let after = ours.write_all(b"more").await;
        let mut buf = [0u8; 16];
        let read = ours.read(&mut buf).await;
        (failure(&during), failure(&after), read.ok())
    });
    assert_eq!(
        got,
        (os(libc::ECONNRESET), os(libc::EPIPE), Some(0)),
        "reset during the write, broken pipe after, then end of stream"
    );
    assert_eq!(got.0.unwrap().0, ErrorKind::ConnectionReset);
    assert_eq!(got.1.unwrap().0, ErrorKind::BrokenPipe);
}

#[test]
fn a_peer_reset_mid_write_is_an_error_not_a_signal() {
    if std::env::var_os("RINGOLO_CHILD_SIGPIPE").is_some() {
        let _lock = fd_lock();
        // SAFETY: signal(2) with a valid signal and disposition, before any thread of ours
        // could be writing to a socket.
        let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        assert_ne!(old, libc::SIG_ERR);
        peer_resets_mid_write();
        return;
    }
    like_tokio::passes_in_child(
        "a_peer_reset_mid_write_is_an_error_not_a_signal",
        "RINGOLO_CHILD_SIGPIPE",
    );
}

#[test]
fn a_read_after_the_peer_reset_is_connection_reset() {
    let _lock = fd_lock();
    let got = like_tokio!(|tokio| {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut ours = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (theirs, _) = listener.accept().await.unwrap();
        // The peer resets while our read waits.
        let reset = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            theirs.set_zero_linger().unwrap();
            drop(theirs);
        });
        let mut buf = [0u8; 16];
        let first = tokio::time::timeout(Duration::from_secs(10), ours.read(&mut buf))
            .await
            .expect("read hung after the reset");
        reset.await.unwrap();
        // The reset is reported once; the stream has ended after it.
        let second = ours.read(&mut buf).await;
        let shutdown = ours.shutdown().await;

        // The same, with the reset already there when we read.
        let mut ours = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (theirs, _) = listener.accept().await.unwrap();
        theirs.set_zero_linger().unwrap();
        drop(theirs);
        let early = ours.read(&mut buf).await;
        (
            failure(&first),
            second.ok(),
            failure(&shutdown),
            failure(&early),
        )
    });
    assert_eq!(
        got,
        (os(libc::ECONNRESET), Some(0), None, os(libc::ECONNRESET))
    );
    assert_eq!(got.0.unwrap().0, ErrorKind::ConnectionReset);
}

#[test]
fn writes_with_no_reader_are_broken_pipe() {
    let _lock = fd_lock();
    let got = like_tokio!(|tokio| {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut tx, rx) = tokio::net::unix::pipe::pipe().unwrap();
        drop(rx);
        let pipe = tx.write_all(b"nobody reads this").await;
        let try_pipe = tx.try_write(b"x");

        let (mut a, b) = tokio::net::UnixStream::pair().unwrap();
        drop(b);
        let unix = a.write_all(b"nobody reads this").await;
        let mut buf = [0u8; 4];
        let unix_read = a.read(&mut buf).await;

        let (tx, mut rx) = tokio::net::unix::pipe::pipe().unwrap();
        drop(tx);
        let pipe_read = rx.read(&mut buf).await;
        (
            failure(&pipe),
            failure(&try_pipe),
            failure(&unix),
            unix_read.ok(),
            pipe_read.ok(),
        )
    });
    assert_eq!(
        got,
        (
            os(libc::EPIPE),
            os(libc::EPIPE),
            os(libc::EPIPE),
            Some(0),
            Some(0)
        ),
        "writes fail, reads see the end"
    );
    assert_eq!(got.0.unwrap().0, ErrorKind::BrokenPipe);
}

#[test]
fn datagram_errors_are_tokio_s() {
    let _lock = fd_lock();
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let missing = tmp("missing-dgram.sock");
    let long = tmp(&"s".repeat(120));
    let got = like_tokio!(|tokio| {
        use tokio::net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let unconnected_send = udp.send(b"x").await;
        let no_addrs: &[std::net::SocketAddr] = &[];
        let bad_target = udp.send_to(b"x", "not an address").await;
        let no_target = udp.send_to(b"x", no_addrs).await;
        let too_big = udp.send_to(&[0u8; 70_000], "127.0.0.1:9").await;
        // The peer's port is closed: its ICMP error reaches the receive that waits for it
        // (Tokio's async receives wait for readable or error).
        udp.connect(closed).await.unwrap();
        let mut refusals = Vec::new();
        for receive in ["recv", "recv_from", "peek"] {
            let mut buf = [0u8; 8];
            let waiting = async {
                match receive {
                    "recv" => udp.recv(&mut buf).await.map(drop),
                    "recv_from" => udp.recv_from(&mut buf).await.map(drop),
                    _ => udp.peek(&mut buf).await.map(drop),
                }
            };
            let (refused, sent) = tokio::join!(
                tokio::time::timeout(Duration::from_secs(10), waiting),
                async {
                    tokio::task::yield_now().await;
                    udp.send(b"anyone?").await
                }
            );
            let refused = refused.unwrap_or_else(|_| panic!("{receive} hung after the ICMP error"));
            refusals.push((receive, failure(&sent), failure(&refused)));
        }

        let dgram = UnixDatagram::unbound().unwrap();
        let to_missing = dgram.send_to(b"x", &missing).await;
        let errors = vec![
            ("udp send unconnected", failure(&unconnected_send)),
            ("udp send_to bad address", failure(&bad_target)),
            ("udp send_to no address", failure(&no_target)),
            ("udp datagram too big", failure(&too_big)),
            ("unix dgram to missing", failure(&to_missing)),
            ("unix bind long path", failure(&UnixListener::bind(&long))),
            (
                "unix connect long path",
                failure(&UnixStream::connect(&long).await),
            ),
        ];
        (errors, refusals)
    });
    assert_eq!(
        got.0,
        vec![
            ("udp send unconnected", os(libc::EDESTADDRREQ)),
            ("udp send_to bad address", user(ErrorKind::InvalidInput)),
            ("udp send_to no address", user(ErrorKind::InvalidInput)),
            ("udp datagram too big", os(libc::EMSGSIZE)),
            ("unix dgram to missing", os(libc::ENOENT)),
            ("unix bind long path", user(ErrorKind::InvalidInput)),
            ("unix connect long path", user(ErrorKind::InvalidInput)),
        ]
    );
    // Each send succeeds; the refusal it earns is what the waiting receive returns.
    let refused = os(libc::ECONNREFUSED);
    assert_eq!(
        got.1,
        ["recv", "recv_from", "peek"].map(|r| (r, None, refused))
    );
    assert_eq!(refused.unwrap().0, ErrorKind::ConnectionRefused);
}

#[test]
fn opening_a_fifo_end_wrongly_is_tokio_s_error() {
    let _lock = fd_lock();
    let fifo = tmp("fifo");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let regular = tmp("not-a-fifo");
    std::fs::write(&regular, b"").unwrap();
    let missing = tmp("missing-fifo");
    let got = like_tokio!(|tokio| {
        use tokio::net::unix::pipe;
        let opts = pipe::OpenOptions::new();
        let (tx, rx) = pipe::pipe().unwrap();
        let (tx_file, rx_file) = (
            tx.into_blocking_fd().map(std::fs::File::from).unwrap(),
            rx.into_blocking_fd().map(std::fs::File::from).unwrap(),
        );
        vec![
            ("sender, no reader", failure(&opts.open_sender(&fifo))),
            (
                "receiver, regular file",
                failure(&opts.open_receiver(&regular)),
            ),
            ("sender, regular file", failure(&opts.open_sender(&regular))),
            ("receiver, missing", failure(&opts.open_receiver(&missing))),
            (
                "sender from read end",
                failure(&pipe::Sender::from_file(rx_file)),
            ),
            (
                "receiver from write end",
                failure(&pipe::Receiver::from_file(tx_file)),
            ),
        ]
    });
    let invalid = user(ErrorKind::InvalidInput);
    assert_eq!(
        got,
        vec![
            ("sender, no reader", os(libc::ENXIO)),
            ("receiver, regular file", invalid),
            ("sender, regular file", invalid),
            ("receiver, missing", os(libc::ENOENT)),
            ("sender from read end", invalid),
            ("receiver from write end", invalid),
        ]
    );
    std::fs::remove_file(&fifo).unwrap();
    std::fs::remove_file(&regular).unwrap();
}

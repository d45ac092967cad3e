//! TCP over loopback: echo, bulk transfer through split halves, many connections, errors.

mod common;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use ringolo::net::{TcpListener, TcpStream};

async fn echo_server() -> (SocketAddr, ringolo::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = ringolo::spawn(async move {
        let mut incoming = listener.incoming();
        while let Some(conn) = incoming.next().await {
            let conn = conn.unwrap();
            ringolo::spawn(async move {
                let mut buf = Vec::with_capacity(64 * 1024);
                loop {
                    buf.clear();
                    let (n, b) = conn.read(buf).await;
                    match n {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let (res, b) = conn.write_all(b).await;
                    if res.is_err() {
                        return;
                    }
                    buf = b;
                }
            });
        }
    });
    (addr, server)
}

#[test]
fn echo_round_trip_and_socket_options() {
    common::rt().block_on(async {
        let (addr, server) = echo_server().await;
        let client = TcpStream::connect(addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), addr);
        assert!(client.local_addr().unwrap().ip().is_loopback());
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_ttl(42).unwrap();
        assert_eq!(client.ttl().unwrap(), 42);
        assert_eq!(client.linger().unwrap(), None);
        client.set_linger(Some(Duration::from_secs(1))).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(1)));
        for msg in ["hello", "ring", "olo"] {
            client.write_all(msg).await.0.unwrap();
            let (res, buf) = client.read_exact(Vec::with_capacity(msg.len())).await;
            res.unwrap();
            assert_eq!(buf, msg.as_bytes());
        }
        client.shutdown(std::net::Shutdown::Write).await.unwrap();
        let (n, _) = client.read(Vec::with_capacity(8)).await;
        assert_eq!(n.unwrap(), 0, "the server closes after our FIN");
        server.abort();
    });
}

#[test]
fn sixty_four_mib_through_split_halves_from_two_tasks() {
    common::rt().block_on(async {
        let (addr, server) = echo_server().await;
        let (rd, wr) = TcpStream::connect(addr).await.unwrap().into_split();
        const TOTAL: usize = 64 << 20;
        let writer = ringolo::spawn(async move {
            let mut sum = 0u64;
            let mut sent = 0usize;
            let mut seed = 1u32;
            while sent < TOTAL {
                let chunk: Vec<u8> = (0..(256 * 1024).min(TOTAL - sent))
                    .map(|_| {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (seed >> 24) as u8
                    })
                    .collect();
                sum = chunk
                    .iter()
                    .fold(sum, |s, &b| s.wrapping_mul(31).wrapping_add(b as u64));
                sent += chunk.len();
                wr.write_all(chunk).await.0.unwrap();
            }
            wr.shutdown().await.unwrap();
            sum
        });
        let reader = ringolo::spawn(async move {
            let mut sum = 0u64;
            let mut got = 0usize;
            let mut buf = Vec::with_capacity(256 * 1024);
            loop {
                buf.clear();
                let (n, b) = rd.read(buf).await;
                let n = n.unwrap();
                if n == 0 {
                    break;
                }
                sum = b
                    .iter()
                    .fold(sum, |s, &x| s.wrapping_mul(31).wrapping_add(x as u64));
                got += n;
                buf = b;
            }
            (got, sum)
        });
        let sent_sum = writer.await.unwrap();
        let (got, recv_sum) = reader.await.unwrap();
        assert_eq!(got, TOTAL);
        assert_eq!(recv_sum, sent_sum, "checksums differ");
        server.abort();
    });
}

#[test]
fn a_thousand_concurrent_connections_echo() {
    common::rt().block_on(async {
        let (addr, server) = echo_server().await;
        let clients: Vec<_> = (0..1000u32)
            .map(|i| {
                ringolo::spawn(async move {
                    let c = TcpStream::connect(addr).await.unwrap();
                    let msg = format!("client {i} says hi").into_bytes();
                    let len = msg.len();
                    c.write_all(msg).await.0.unwrap();
                    let (res, back) = c.read_exact(Vec::with_capacity(len)).await;
                    res.unwrap();
                    assert_eq!(back, format!("client {i} says hi").into_bytes());
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.abort();
    });
}

#[test]
fn refused_reset_and_address_in_use() {
    common::rt().block_on(async {
        // Refused: nobody listens on a port we just released.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        ringolo::time::sleep(Duration::from_millis(5)).await;
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");

        // Reset: the server aborts the connection with linger 0.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = ringolo::spawn(async move {
            let (conn, _) = l.accept().await.unwrap();
            conn.set_linger(Some(Duration::ZERO)).unwrap();
            let (n, _) = conn.read(Vec::with_capacity(4)).await;
            n.unwrap();
            drop(conn);
        });
        let c = TcpStream::connect(addr).await.unwrap();
        c.write_all("ping").await.0.unwrap();
        server.await.unwrap();
        ringolo::time::sleep(Duration::from_millis(5)).await;
        let (res, _) = c.read(Vec::with_capacity(4)).await;
        assert_eq!(res.unwrap_err().kind(), ErrorKind::ConnectionReset);

        // In use: a second listener on the same port.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = TcpListener::bind(l.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);

        // Names resolve on the blocking pool.
        let l = TcpListener::bind(("localhost", 0)).await.unwrap();
        assert!(l.local_addr().unwrap().ip().is_loopback());
        let err = TcpStream::connect("no-such-host.invalid:80")
            .await
            .unwrap_err();
        assert_ne!(err.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn vectored_peek_send_recv_and_close() {
    common::rt().block_on(async {
        let (addr, server) = echo_server().await;
        let c = TcpStream::connect(addr).await.unwrap();
        let (n, _) = c.writev(vec![b"abc".to_vec(), b"defg".to_vec()]).await;
        assert_eq!(n.unwrap(), 7);
        // Wait until all 7 echoed bytes are queued, by peeking (which consumes nothing).
        let mut seen = 0;
        while seen < 7 {
            let (n, _) = c.peek(Vec::with_capacity(16)).await;
            seen = n.unwrap();
        }
        let (n, bufs) = c
            .readv(vec![Vec::with_capacity(2), Vec::with_capacity(10)])
            .await;
        assert_eq!(n.unwrap(), 7);
        assert_eq!(bufs[0], b"ab");
        assert_eq!(bufs[1], b"cdefg");
        let (n, _) = c.send("xyz", 0).await;
        assert_eq!(n.unwrap(), 3);
        let (res, got) = c.read_exact(Vec::with_capacity(3)).await;
        res.unwrap();
        assert_eq!(got, b"xyz");
        let (n, got) = c.recv(Vec::with_capacity(4), libc::MSG_DONTWAIT).await;
        assert_eq!(n.unwrap_err().kind(), ErrorKind::WouldBlock);
        assert!(got.is_empty());
        c.close().await.unwrap();
        server.abort();
    });
}

#[test]
fn every_socket_type_closes_explicitly_converts_and_reports_close_errors() {
    use ringolo::net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};
    use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd};
    let sock_path = std::env::temp_dir().join(format!("ringolo-close-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock_path);
    common::rt().block_on(async {
        // Explicit closes of every kind succeed.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        s.close().await.unwrap();
        c.close().await.unwrap();
        l.close().await.unwrap();
        UdpSocket::bind("127.0.0.1:0")
            .await
            .unwrap()
            .close()
            .await
            .unwrap();
        UnixListener::bind(&sock_path)
            .await
            .unwrap()
            .close()
            .await
            .unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        a.close().await.unwrap();
        b.close().await.unwrap();
        let (a, b) = UnixDatagram::pair().unwrap();
        a.close().await.unwrap();
        b.close().await.unwrap();

        // std conversions both ways keep the descriptor and the connection.
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_l.local_addr().unwrap();
        let l = TcpListener::from_std(std_l);
        let c = TcpStream::from_std(std::net::TcpStream::connect(addr).unwrap());
        let (s, _) = l.accept().await.unwrap();
        let fd = s.as_raw_fd();
        assert_eq!(s.as_fd().as_raw_fd(), fd);
        let mut std_s = s.into_std();
        assert_eq!(std_s.as_raw_fd(), fd);
        let (res, _) = c.write_all(b"via std".to_vec()).await;
        res.unwrap();
        let mut got = [0u8; 7];
        std::io::Read::read_exact(&mut std_s, &mut got).unwrap();
        assert_eq!(&got, b"via std");
        // SAFETY: the descriptor comes straight from into_raw_fd, owned by nobody else.
        let s = unsafe { TcpStream::from_raw_fd(std_s.into_raw_fd()) };
        let (res, _) = s.write_all(b"back".to_vec()).await;
        res.unwrap();
        let (res, back) = c.read_exact(Vec::with_capacity(4)).await;
        res.unwrap();
        assert_eq!(back, b"back");

        // close() reports close(2)'s error: a number far above any open descriptor.
        // SAFETY: nothing owns descriptor 1,000,000 (above this process's limit); closing it
        // only fails.
        let bogus = unsafe { TcpStream::from_raw_fd(1_000_000) };
        let err = bogus.close().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
        // SAFETY: as above.
        let bogus = unsafe { ringolo::fs::File::from_raw_fd(1_000_000) };
        let err = bogus.close().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
    });
    let _ = std::fs::remove_file(&sock_path);
}

#[test]
fn incoming_pauses_while_out_of_descriptors_then_carries_on() {
    // In a child process, so the lowered descriptor limit touches no other test.
    if std::env::var_os("RINGOLO_CHILD_ACCEPT_EMFILE").is_some() {
        common::rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = match listener.local_addr().unwrap() {
                SocketAddr::V4(a) => a,
                _ => unreachable!(),
            };
            // Client sockets made now, connected once no descriptor is left.
            let clients: Vec<i32> = (0..20)
                // SAFETY: a plain socket(2).
                .map(|_| unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) })
                .collect();
            assert!(clients.iter().all(|&fd| fd >= 0));
            let mut orig = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit into a valid struct.
            assert_eq!(
                unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut orig) },
                0
            );
            let lim = libc::rlimit {
                rlim_cur: (common::open_fds() + 8) as _,
                rlim_max: orig.rlim_max,
            };
            // SAFETY: setrlimit with a valid struct.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
            let mut filler = Vec::new();
            while let Ok(f) = std::fs::File::open("/dev/null") {
                filler.push(f);
            }
            for &fd in &clients {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as _,
                    sin_port: addr.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(*addr.ip()).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: a valid sockaddr_in and its size, on our socket.
                let r = unsafe {
                    libc::connect(
                        fd,
                        &sin as *const _ as *const libc::sockaddr,
                        std::mem::size_of::<libc::sockaddr_in>() as _,
                    )
                };
                assert_eq!(r, 0);
            }
            // Connections are waiting and no descriptor is free: every accept fails with
            // EMFILE. The stream must pause between failures, not spin.
            let mut incoming = listener.incoming();
            let cpu0 = common::cpu_time();
            let mut errors = 0;
            let end = std::time::Instant::now() + Duration::from_millis(300);
            while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
                let Ok(c) = ringolo::time::timeout(left, incoming.next()).await else {
                    break;
                };
                let err = c.unwrap().map(drop).unwrap_err();
                assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
                errors += 1;
            }
            let cpu = common::cpu_time() - cpu0;
            assert!(
                (1..=10).contains(&errors),
                "{errors} EMFILE errors in 300 ms"
            );
            assert!(cpu < Duration::from_millis(100), "{cpu:?} CPU in 300 ms");
            // Descriptors back: every waiting connection is accepted (after at most one
            // failure the kernel reported before the descriptors came back).
            // The limit goes back up too: each accepted stream below is dropped, and its
            // asynchronous close can land after the kernel has already taken the next few
            // connections, so the handful of freed descriptors alone could run out again.
            drop(filler);
            // SAFETY: setrlimit with a valid struct.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &orig) }, 0);
            let (mut accepted, mut stale) = (0, 0);
            while accepted < clients.len() {
                let c = ringolo::time::timeout(Duration::from_secs(2), incoming.next())
                    .await
                    .expect("accepts resumed");
                match c.unwrap() {
                    Ok(_) => accepted += 1,
                    Err(e) if e.raw_os_error() == Some(libc::EMFILE) && stale == 0 => stale += 1,
                    Err(e) => panic!("{e}"),
                }
            }
        });
        return;
    }
    common::assert_passes_in_child(
        "incoming_pauses_while_out_of_descriptors_then_carries_on",
        "RINGOLO_CHILD_ACCEPT_EMFILE",
    );
}

#[test]
fn split_halves_have_the_stream_methods_and_reunite() {
    use std::net::{Ipv4Addr, SocketAddrV4};
    common::rt().block_on(async {
        let l = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let addr = l.local_addr().unwrap();
        l.set_ttl(33).unwrap();
        assert_eq!(l.ttl().unwrap(), 33);
        let client = TcpStream::connect(&addr).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        let (rd, wr) = server.into_split();
        assert_eq!(rd.local_addr().unwrap(), addr);
        assert_eq!(wr.peer_addr().unwrap(), client.local_addr().unwrap());

        // Write half: writev and send.
        let (res, _) = wr.writev(vec![b"ab".to_vec(), b"cd".to_vec()]).await;
        assert_eq!(res.unwrap(), 4);
        wr.send(b"ef".to_vec(), 0).await.0.unwrap();
        let (res, got) = client.read_exact(Vec::with_capacity(6)).await;
        res.unwrap();
        assert_eq!(got, b"abcdef");

        // Read half: peek, recv, readv.
        client.write_all(b"0123456789".to_vec()).await.0.unwrap();
        let (res, peeked) = rd.peek(Vec::with_capacity(4)).await;
        assert_eq!(res.unwrap(), 4);
        assert_eq!(peeked, b"0123");
        let (res, got) = rd.recv(Vec::with_capacity(4), 0).await;
        assert_eq!(res.unwrap(), 4);
        assert_eq!(got, b"0123");
        let (res, bufs) = rd
            .readv(vec![Vec::with_capacity(3), Vec::with_capacity(3)])
            .await;
        assert_eq!(res.unwrap(), 6);
        assert_eq!(bufs, vec![b"456".to_vec(), b"789".to_vec()]);

        // A multishot recv over a buffer ring on a TCP read half.
        let ring = ringolo::net::BufRing::new(8, 64).unwrap();
        {
            let mut rx = rd.recv_multi(&ring);
            for msg in [&b"first"[..], b"second"] {
                client.write_all(msg).await.0.unwrap();
                let got = rx.next().await.unwrap().unwrap();
                assert_eq!(&got[..], msg);
            }
        }

        // Halves of different streams do not reunite, and come back whole.
        let other = TcpStream::connect(addr).await.unwrap();
        let (_s2, _) = l.accept().await.unwrap();
        let (ord, owr) = other.into_split();
        let ringolo::net::ReuniteError(rd, owr) = rd.reunite(owr).unwrap_err();
        drop((ord, owr));
        let server = wr.reunite(rd).unwrap();
        server.write_all(b"whole").await.0.unwrap();
        let (res, got) = client.read_exact(Vec::with_capacity(5)).await;
        res.unwrap();
        assert_eq!(got, b"whole");
    });
}

#[test]
fn a_read_dropped_in_flight_loses_no_data_and_frees_nothing_early() {
    // 200 times: a read waits in the kernel, its future is dropped, then the peer sends. The
    // cancelled read never takes the bytes (the cancel reaches the kernel before the recv
    // can run: task work runs only after submission), and its buffer is neither freed nor
    // reused while the kernel may write into it: fresh allocations made right after the drop,
    // filled with a pattern, stay intact (and ASan, which runs this file, sees the rest).
    common::rt().block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        for i in 0..200u32 {
            let mut read = Box::pin(server.read(Vec::with_capacity(64)));
            assert!(futures::poll!(read.as_mut()).is_pending());
            ringolo::task::yield_now().await; // the RECV is in the kernel
            drop(read);
            let decoys: Vec<Vec<u8>> = (0..4).map(|_| vec![0xA5u8; 64]).collect();
            let msg = i.to_le_bytes().to_vec();
            client.write_all(msg.clone()).await.0.unwrap();
            let (res, got) = server.read_exact(Vec::with_capacity(4)).await;
            res.unwrap();
            assert_eq!(got, msg, "round {i}: the dropped read took the bytes");
            assert!(
                decoys.iter().all(|d| d.iter().all(|&b| b == 0xA5)),
                "round {i}: the kernel wrote into reused memory"
            );
        }
    });
}

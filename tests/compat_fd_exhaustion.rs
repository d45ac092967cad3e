//! Running out of descriptors (`EMFILE`) under compat: `accept`, `connect`, `open`, `pair`
//! and the rest return the error Tokio returns for the same call (run on real Tokio too,
//! `common/like_tokio.rs`) — no panic, no hang — and once descriptors are back the same
//! listeners accept the connections that waited, the runtime runs tasks, nothing leaked.
//!
//! Each test lowers `RLIMIT_NOFILE`, so it runs in a child process of its own.

mod common;
#[path = "common/like_tokio.rs"]
mod like_tokio;

use std::io::Read;
use std::time::Duration;

use like_tokio::{failure, fd_lock, like_tokio, os, tmp};

/// While it lives, the process has no free descriptor: the limit is lowered to a few above
/// what is open and the rest filled with `/dev/null`. Dropping it gives both back.
struct Exhausted {
    filler: Vec<std::fs::File>,
    limit: libc::rlimit,
}

impl Exhausted {
    fn now() -> Exhausted {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit into a valid struct.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        let lowered = libc::rlimit {
            rlim_cur: (common::open_fds() + 16) as _,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit with a valid struct.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0);
        let mut filler = Vec::new();
        let err = loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => filler.push(f),
                Err(e) => break e,
            }
        };
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
        Exhausted { filler, limit }
    }
}

impl Drop for Exhausted {
    fn drop(&mut self) {
        self.filler.clear();
        // SAFETY: setrlimit with a valid struct.
        assert_eq!(
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.limit) },
            0
        );
    }
}

/// Long enough for any call here; a call still pending after it hangs.
const PATIENCE: Duration = Duration::from_secs(5);

/// Connections that wait in each listener's backlog while descriptors are out.
const WAITING: usize = 4;

#[test]
fn accept_out_of_descriptors_fails_then_the_listener_carries_on() {
    if std::env::var_os("RINGOLO_CHILD_ACCEPT").is_none() {
        return like_tokio::passes_in_child(
            "accept_out_of_descriptors_fails_then_the_listener_carries_on",
            "RINGOLO_CHILD_ACCEPT",
        );
    }
    let _lock = fd_lock();
    let sock = tmp("emfile-accept.sock");
    let got = like_tokio!(|tokio| {
        use tokio::io::AsyncWriteExt;
        use tokio::time::timeout;
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let _ = std::fs::remove_file(&sock);
        let unix = tokio::net::UnixListener::bind(&sock).unwrap();
        // Connected (queued in the backlogs) before the descriptors run out.
        let mut tcp_clients: Vec<_> = (0..WAITING)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let mut unix_clients: Vec<_> = (0..WAITING)
            .map(|_| std::os::unix::net::UnixStream::connect(&sock).unwrap())
            .collect();

        let exhausted = Exhausted::now();
        let hung = "accept hung without descriptors";
        let tcp_out = timeout(PATIENCE, tcp.accept()).await.expect(hung);
        let unix_out = timeout(PATIENCE, unix.accept()).await.expect(hung);
        // Nothing was taken from the backlog: the next try fails the same way.
        let tcp_again = timeout(PATIENCE, tcp.accept()).await.expect(hung);
        drop(exhausted);

        // Every connection that waited is accepted, and the streams carry bytes.
        let hung = "accept hung once descriptors were back";
        for client in &mut tcp_clients {
            let (mut s, _) = timeout(PATIENCE, tcp.accept()).await.expect(hung).unwrap();
            s.write_all(b"tcp").await.unwrap();
            let mut got = [0u8; 3];
            client.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"tcp");
        }
        for client in &mut unix_clients {
            let (mut s, _) = timeout(PATIENCE, unix.accept()).await.expect(hung).unwrap();
            s.write_all(b"uds").await.unwrap();
            let mut got = [0u8; 3];
            client.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"uds");
        }

        // Accepts already waiting on empty backlogs when the descriptors run out: the
        // connections that arrive then wake them, and they fail the same way.
        use socket2::{Domain, SockAddr, Socket, Type};
        let late_tcp = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let late_unix = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        let (tcp_woken, unix_woken, exhausted) = tokio::join!(
            timeout(PATIENCE, tcp.accept()),
            timeout(PATIENCE, unix.accept()),
            async {
                tokio::task::yield_now().await;
                let exhausted = Exhausted::now();
                late_tcp.connect(&SockAddr::from(addr)).unwrap();
                late_unix.connect(&SockAddr::unix(&sock).unwrap()).unwrap();
                exhausted
            }
        );
        let hung = "a waiting accept hung when its connection came without descriptors";
        let (tcp_woken, unix_woken) = (tcp_woken.expect(hung), unix_woken.expect(hung));
        drop(exhausted);
        let hung = "the late connection was not accepted once descriptors were back";
        timeout(PATIENCE, tcp.accept()).await.expect(hung).unwrap();
        timeout(PATIENCE, unix.accept()).await.expect(hung).unwrap();

        std::fs::remove_file(&sock).unwrap();
        [
            tcp_out.map(drop),
            unix_out.map(drop),
            tcp_again.map(drop),
            tcp_woken.map(drop),
            unix_woken.map(drop),
        ]
        .map(|r| failure(&r))
    });
    assert_eq!(got, [os(libc::EMFILE); 5]);
}

#[test]
fn setup_calls_out_of_descriptors_fail_with_emfile() {
    if std::env::var_os("RINGOLO_CHILD_SETUP").is_none() {
        return like_tokio::passes_in_child(
            "setup_calls_out_of_descriptors_fail_with_emfile",
            "RINGOLO_CHILD_SETUP",
        );
    }
    let _lock = fd_lock();
    let sock = tmp("emfile-setup.sock");
    let unbound = tmp("emfile-unbound.sock");
    let got = like_tokio!(|tokio| {
        use tokio::fs::{self, File};
        use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
        use tokio::net::{UnixListener, UnixStream};
        use tokio::time::timeout;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _ = std::fs::remove_file(&sock);
        let unix = UnixListener::bind(&sock).unwrap();
        let file = File::open("/dev/null").await.unwrap();

        let exhausted = Exhausted::now();
        let hung = "hung without descriptors";
        let got = vec![
            (
                "tcp connect",
                failure(
                    &timeout(PATIENCE, TcpStream::connect(addr))
                        .await
                        .expect(hung),
                ),
            ),
            ("tcp bind", failure(&TcpListener::bind("127.0.0.1:0").await)),
            ("tcp socket", failure(&TcpSocket::new_v4())),
            ("udp bind", failure(&UdpSocket::bind("127.0.0.1:0").await)),
            ("file open", failure(&File::open("/dev/null").await)),
            ("file try_clone", failure(&file.try_clone().await)),
            ("read_dir", failure(&fs::read_dir("/").await)),
            ("read", failure(&fs::read("/dev/null").await)),
            ("unix pair", failure(&UnixStream::pair())),
            ("unix connect", failure(&UnixStream::connect(&sock).await)),
            ("unix bind", failure(&UnixListener::bind(&unbound))),
            ("pipe", failure(&tokio::net::unix::pipe::pipe())),
        ];
        drop(exhausted);

        // Descriptors back: the same calls work.
        let (_c, (_s, _)) = tokio::try_join!(TcpStream::connect(addr), listener.accept()).unwrap();
        let (_c, (_s, _)) = tokio::try_join!(UnixStream::connect(&sock), unix.accept()).unwrap();
        File::open("/dev/null").await.unwrap();
        file.try_clone().await.unwrap();
        UnixStream::pair().unwrap();
        tokio::net::unix::pipe::pipe().unwrap();
        std::fs::remove_file(&sock).unwrap();
        got
    });
    let emfile = os(libc::EMFILE);
    assert_eq!(
        got,
        [
            "tcp connect",
            "tcp bind",
            "tcp socket",
            "udp bind",
            "file open",
            "file try_clone",
            "read_dir",
            "read",
            "unix pair",
            "unix connect",
            "unix bind",
            "pipe",
        ]
        .map(|call| (call, emfile))
    );
    assert!(!unbound.exists(), "a failed bind left its socket file");
}

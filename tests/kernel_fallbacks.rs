//! The paths ringolo takes on kernels older than this one, run here by hiding opcodes from the
//! runtime (`Builder::hide_opcodes_for_testing`): sockets, bind/listen, one-at-a-time accepts,
//! mkdir/link/symlink and ftruncate through syscalls instead of io_uring ops.

mod common;

use std::io::ErrorKind;
use std::time::Duration;

use futures::StreamExt;
use io_uring::opcode;
use ringolo::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};

/// Every opcode newer than Linux 5.11 that ringolo uses with a fallback.
const NEWER: [u8; 8] = [
    opcode::Socket::CODE,
    opcode::SetSockOpt::CODE,
    opcode::Bind::CODE,
    opcode::Listen::CODE,
    opcode::MkDirAt::CODE,
    opcode::LinkAt::CODE,
    opcode::SymlinkAt::CODE,
    opcode::Ftruncate::CODE,
];

fn old_kernel_rt(hidden: &[u8]) -> ringolo::runtime::Runtime {
    ringolo::runtime::Builder::new_current_thread()
        .hide_opcodes_for_testing(hidden)
        .build()
        .unwrap()
}

fn sqes() -> u64 {
    ringolo::runtime::driver_stats().unwrap().sqes_pushed
}

/// Park once, so the runtime's own wakeup poll is armed before SQEs are counted.
async fn settle() {
    ringolo::time::sleep(Duration::from_millis(1)).await;
}

#[test]
fn sockets_work_without_socket_bind_listen_and_multishot_accept() {
    let path = std::env::temp_dir().join(format!("ringolo-fallback-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    old_kernel_rt(&NEWER).block_on(async {
        // Socket, SO_REUSEADDR, bind and listen: all syscalls, no SQE.
        settle().await;
        let before = sqes();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(sqes(), before, "bind used the ring on an 'old kernel'");
        let addr = listener.local_addr().unwrap();
        // The real errors still come through the syscalls.
        let err = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");

        // incoming(): one accept at a time, several connections in a row.
        let server = ringolo::spawn(async move {
            let mut incoming = listener.incoming();
            for _ in 0..3 {
                let c = incoming.next().await.unwrap().unwrap();
                let (n, buf) = c.read(Vec::with_capacity(16)).await;
                n.unwrap();
                let (res, _) = c.write_all(buf).await;
                res.unwrap();
            }
        });
        for i in 0..3u8 {
            let c = TcpStream::connect(addr).await.unwrap();
            let (res, _) = c.write_all(vec![i; 4]).await;
            res.unwrap();
            let (res, back) = c.read_exact(Vec::with_capacity(4)).await;
            res.unwrap();
            assert_eq!(back, vec![i; 4]);
        }
        server.await.unwrap();

        // UDP and Unix sockets bind through the syscalls too.
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (res, _) = a.send_to(b"dgram".to_vec(), b.local_addr().unwrap()).await;
        res.unwrap();
        let (res, got) = b.recv_from(Vec::with_capacity(16)).await;
        assert_eq!(res.unwrap().1, a.local_addr().unwrap());
        assert_eq!(got, b"dgram");

        let ul = UnixListener::bind(&path).await.unwrap();
        let client = UnixStream::connect(&path).await.unwrap();
        let (server_side, _) = ul.accept().await.unwrap();
        let (res, _) = client.write_all(b"unix".to_vec()).await;
        res.unwrap();
        let (res, got) = server_side.read_exact(Vec::with_capacity(4)).await;
        res.unwrap();
        assert_eq!(got, b"unix");
        let d = UnixDatagram::bind("\0ringolo-fallback-dgram")
            .await
            .unwrap();
        assert!(d.local_addr().is_ok());
    });
    let _ = std::fs::remove_file(&path);
}

#[test]
fn only_bind_and_listen_missing_mixes_ring_and_syscalls() {
    // A 6.7–6.10 kernel: the socket and SO_REUSEADDR go through the ring, bind and listen
    // through syscalls.
    old_kernel_rt(&[opcode::Bind::CODE, opcode::Listen::CODE]).block_on(async {
        settle().await;
        let before = sqes();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(sqes() - before, 2, "socket and setsockopt on the ring");
        let addr = listener.local_addr().unwrap();
        let c = TcpStream::connect(addr).await.unwrap();
        let (s, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        drop(s);
    });
}

#[test]
fn files_and_directories_work_without_mkdirat_linkat_symlinkat_ftruncate() {
    let dir = std::env::temp_dir().join(format!("ringolo-fallback-fs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    old_kernel_rt(&NEWER).block_on(async {
        settle().await;
        let before = sqes();
        ringolo::fs::create_dir(&dir).await.unwrap();
        let err = ringolo::fs::create_dir(&dir).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        assert_eq!(sqes(), before, "mkdir used the ring on an 'old kernel'");
        ringolo::fs::create_dir_all(dir.join("a/b/c"))
            .await
            .unwrap();

        let file = dir.join("f");
        ringolo::fs::write(&file, b"hello").await.unwrap();
        ringolo::fs::hard_link(&file, dir.join("hard"))
            .await
            .unwrap();
        ringolo::fs::symlink(&file, dir.join("soft")).await.unwrap();
        assert_eq!(ringolo::fs::read(dir.join("hard")).await.unwrap(), b"hello");
        assert_eq!(
            ringolo::fs::read_link(dir.join("soft")).await.unwrap(),
            file
        );
        let err = ringolo::fs::hard_link(dir.join("missing"), dir.join("x"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

        let f = ringolo::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .await
            .unwrap();
        f.set_len(2).await.unwrap();
        f.set_len(10).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 10);
        let mut expect = b"he".to_vec();
        expect.resize(10, 0);
        assert_eq!(ringolo::fs::read(&file).await.unwrap(), expect);
        ringolo::fs::remove_dir_all(&dir).await.unwrap();
    });
    // Give the runtime a moment to have closed everything (not needed for correctness).
    std::thread::sleep(Duration::from_millis(1));
}

#[test]
fn a_genuine_einval_from_accept_still_reaches_the_caller() {
    use std::os::fd::FromRawFd;
    // A socket that is not listening: the multishot accept fails with EINVAL, which the stream
    // first takes for a kernel without multishot accept; the single accept it falls back to
    // must report the same EINVAL, not swallow it or loop.
    common::rt().block_on(async {
        // SAFETY: a plain socket(2); the descriptor goes to the TcpListener below.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0);
        // SAFETY: fd is a fresh TCP socket owned by nothing else.
        let not_listening = unsafe { TcpListener::from_raw_fd(fd) };
        let mut incoming = not_listening.incoming();
        for _ in 0..2 {
            let r = ringolo::time::timeout(Duration::from_secs(1), incoming.next())
                .await
                .expect("an error, not a hang");
            let err = r.unwrap().map(drop).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
        }
    });
}

#[test]
fn remote_wakes_work_with_one_shot_polls() {
    // A kernel without multishot poll (< 5.13): the eventfd poll is re-armed at every park.
    let rt = old_kernel_rt(&[opcode::PollAdd::CODE]);
    rt.block_on(async {
        for i in 0..5 {
            let (tx, rx) = futures::channel::oneshot::channel();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                tx.send(i).unwrap();
            });
            let got = ringolo::time::timeout(Duration::from_secs(2), rx)
                .await
                .expect("the remote wake arrived");
            assert_eq!(got.unwrap(), i);
        }
        // Parked with nothing to do: no spinning on a poll that completes at once.
        let cpu0 = common::cpu_time();
        ringolo::time::sleep(Duration::from_millis(200)).await;
        let cpu = common::cpu_time() - cpu0;
        assert!(cpu < Duration::from_millis(30), "{cpu:?} CPU while idle");
    });
    assert!(rt.remote_unparks() >= 5, "{}", rt.remote_unparks());
}

#[test]
fn a_ring_too_small_for_a_socket_chain_takes_the_two_step_path() {
    // Two SQ entries: no 3-to-5-op socket chain fits, so sockets are made first and the rest
    // is done by syscalls (bind, listen) or a single op (connect).
    let rt = ringolo::runtime::Builder::new_current_thread()
        .entries(2)
        .build()
        .unwrap();
    let path = std::env::temp_dir().join(format!("ringolo-tiny-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        s.write_all(&b"tiny"[..]).await.0.unwrap();
        let (res, got) = c.read_exact(Vec::with_capacity(4)).await;
        res.unwrap();
        assert_eq!(got, b"tiny");
        let u = UnixListener::bind(&path).await.unwrap();
        let _uc = UnixStream::connect(&path).await.unwrap();
        u.accept().await.unwrap();
        UdpSocket::bind("127.0.0.1:0").await.unwrap();
    });
    let _ = std::fs::remove_file(&path);
}

#[test]
fn socket_options_go_through_the_ring_where_the_kernel_takes_them() {
    // On this kernel a setter is one IORING_OP_URING_CMD setsockopt, completed at once; with
    // the opcode hidden it is setsockopt(2). Either way the option reads back, and a refused
    // option is the kernel's error.
    for hidden in [&[][..], &[opcode::SetSockOpt::CODE][..]] {
        old_kernel_rt(hidden).block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            settle().await;
            let before = sqes();
            c.set_nodelay(true).unwrap();
            c.set_ttl(17).unwrap();
            c.set_linger(Some(Duration::from_secs(3))).unwrap();
            let via_ring = sqes() - before;
            assert_eq!(via_ring, if hidden.is_empty() { 3 } else { 0 });
            assert!(c.nodelay().unwrap());
            assert_eq!(c.ttl().unwrap(), 17);
            assert_eq!(c.linger().unwrap(), Some(Duration::from_secs(3)));
            let err = c.set_ttl(100_000).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
            // Off the runtime's threads the syscall does it.
            let c = std::sync::Arc::new(c);
            let c2 = c.clone();
            std::thread::spawn(move || c2.set_ttl(9).unwrap())
                .join()
                .unwrap();
            assert_eq!(c.ttl().unwrap(), 9);
        });
    }
}

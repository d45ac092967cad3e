//! Unix-domain sockets: streams, datagrams, pairs, abstract names, bad paths.

mod common;

use std::io::ErrorKind;
use std::path::PathBuf;

use futures::StreamExt;
use ringolo::net::{UnixAddr, UnixDatagram, UnixListener, UnixStream};

fn sock_path(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("ringolo-{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn stream_listener_accept_and_incoming() {
    let path = sock_path("stream");
    common::rt().block_on(async {
        let listener = UnixListener::bind(&path).await.unwrap();
        assert_eq!(
            listener.local_addr().unwrap(),
            UnixAddr::Pathname(path.clone())
        );
        let p = path.clone();
        let client = ringolo::spawn(async move {
            let c = UnixStream::connect(&p).await.unwrap();
            c.write_all("over unix").await.0.unwrap();
            let (res, back) = c.read_exact(Vec::with_capacity(4)).await;
            res.unwrap();
            back
        });
        let (conn, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, UnixAddr::Unnamed);
        let (res, got) = conn.read_exact(Vec::with_capacity(9)).await;
        res.unwrap();
        assert_eq!(got, b"over unix");
        conn.write_all("pong").await.0.unwrap();
        assert_eq!(client.await.unwrap(), b"pong");

        // Multishot accept for several clients.
        let p = path.clone();
        let clients = ringolo::spawn(async move {
            for i in 0..5u8 {
                let c = UnixStream::connect(&p).await.unwrap();
                c.write_all(vec![i]).await.0.unwrap();
            }
        });
        let mut incoming = listener.incoming();
        let mut seen = Vec::new();
        for _ in 0..5 {
            let c = incoming.next().await.unwrap().unwrap();
            let (res, b) = c.read_exact(Vec::with_capacity(1)).await;
            res.unwrap();
            seen.push(b[0]);
        }
        seen.sort();
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        clients.await.unwrap();
    });
    let _ = std::fs::remove_file(&path);
}

#[test]
fn pairs_and_abstract_names() {
    common::rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        a.write_all("paired").await.0.unwrap();
        let (res, got) = b.read_exact(Vec::with_capacity(6)).await;
        res.unwrap();
        assert_eq!(got, b"paired");

        let name = format!("\0ringolo-abstract-{}", std::process::id());
        let listener = UnixListener::bind(&name).await.unwrap();
        let expected = UnixAddr::Abstract(name.as_bytes()[1..].to_vec());
        assert_eq!(listener.local_addr().unwrap(), expected);
        let c = UnixStream::connect(&name).await.unwrap();
        assert_eq!(c.peer_addr().unwrap(), expected);
        let (conn, _) = listener.accept().await.unwrap();
        c.write_all("abstract").await.0.unwrap();
        let (res, got) = conn.read_exact(Vec::with_capacity(8)).await;
        res.unwrap();
        assert_eq!(got, b"abstract");
    });
}

#[test]
fn datagrams() {
    let pa = sock_path("dgram-a");
    let pb = sock_path("dgram-b");
    common::rt().block_on(async {
        let a = UnixDatagram::bind(&pa).await.unwrap();
        let b = UnixDatagram::bind(&pb).await.unwrap();
        a.send_to("to b", &pb).await.0.unwrap();
        let (res, buf) = b.recv_from(Vec::with_capacity(16)).await;
        let (n, from) = res.unwrap();
        assert_eq!((n, from), (4, UnixAddr::Pathname(pa.clone())));
        assert_eq!(buf, b"to b");

        let (x, y) = UnixDatagram::pair().unwrap();
        x.send("pair dgram").await.0.unwrap();
        let (n, buf) = y.recv(Vec::with_capacity(16)).await;
        assert_eq!(n.unwrap(), 10);
        assert_eq!(buf, b"pair dgram");

        let u = UnixDatagram::unbound().await.unwrap();
        u.connect(&pb).await.unwrap();
        u.send("unbound").await.0.unwrap();
        let (res, _) = b.recv_from(Vec::with_capacity(16)).await;
        assert_eq!(res.unwrap().1, UnixAddr::Unnamed);

        // Abstract names: bound, addressed, and reported without the leading NUL.
        let name = format!("ringolo-dgram-{}", std::process::id());
        let abs = UnixDatagram::bind(format!("\0{name}")).await.unwrap();
        assert_eq!(
            abs.local_addr().unwrap(),
            UnixAddr::Abstract(name.clone().into_bytes())
        );
        a.send_to("to abstract", format!("\0{name}"))
            .await
            .0
            .unwrap();
        let (res, buf) = abs.recv_from(Vec::with_capacity(16)).await;
        assert_eq!(res.unwrap().1, UnixAddr::Pathname(pa.clone()));
        assert_eq!(buf, b"to abstract");
        abs.send_to("back", &pa).await.0.unwrap();
        let (res, _) = a.recv_from(Vec::with_capacity(16)).await;
        assert_eq!(res.unwrap().1, UnixAddr::Abstract(name.into_bytes()));
    });
    let _ = std::fs::remove_file(&pa);
    let _ = std::fs::remove_file(&pb);
}

#[test]
fn bad_paths_and_missing_sockets() {
    common::rt().block_on(async {
        let long = "x".repeat(200);
        assert_eq!(
            UnixListener::bind(&long).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            UnixStream::connect("a\0b").await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            UnixStream::connect("").await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let missing = sock_path("missing");
        assert_eq!(
            UnixStream::connect(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        let d = UnixDatagram::unbound().await.unwrap();
        let (res, _) = d.send_to("x", &long).await;
        assert_eq!(res.unwrap_err().kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn writes_to_a_closed_peer_give_broken_pipe_not_sigpipe() {
    // In a child process with SIGPIPE restored to its default (kill), as in a non-Rust host.
    if std::env::var_os("RINGOLO_CHILD_SIGPIPE").is_some() {
        // SAFETY: resetting a signal disposition to its default in this single-test child.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        common::rt().block_on(async {
            let (a, b) = ringolo::net::UnixStream::pair().unwrap();
            drop(b);
            ringolo::time::sleep(std::time::Duration::from_millis(5)).await;
            let (res, _) = a.write(b"x".to_vec()).await;
            assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
            let (res, _) = a.writev(vec![b"x".to_vec(), b"y".to_vec()]).await;
            assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
            let (res, _) = a.write_all(b"z".to_vec()).await;
            assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
        });
        return;
    }
    common::assert_passes_in_child(
        "writes_to_a_closed_peer_give_broken_pipe_not_sigpipe",
        "RINGOLO_CHILD_SIGPIPE",
    );
}

#[test]
fn immediate_writes_still_let_other_tasks_run() {
    // Writes that the socket takes at once complete without the ring, but a task gets only a
    // bounded number of those per poll before it must yield.
    common::rt().block_on(async {
        let (a, b) = ringolo::net::UnixStream::pair().unwrap();
        let other_ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = other_ran.clone();
        let writer = ringolo::spawn(async move {
            // More writes than the budget, fewer than fill the socket (each small write of a
            // Unix stream costs about 1 KiB of send buffer).
            for _ in 0..150 {
                a.write_all(b"x".to_vec()).await.0.unwrap();
            }
            flag.load(std::sync::atomic::Ordering::SeqCst)
        });
        let flag = other_ran.clone();
        ringolo::spawn(async move { flag.store(true, std::sync::atomic::Ordering::SeqCst) });
        assert!(
            writer.await.unwrap(),
            "the writer never yielded to the other task"
        );
        let (res, buf) = b.read_exact(Vec::with_capacity(150)).await;
        res.unwrap();
        assert!(buf.iter().all(|&c| c == b'x'));
    });
}

//! compat's readiness polls stay armed (one multishot `POLL_ADD` per descriptor and direction,
//! not one poll per wait), bind no task, and follow the waiting task to its ring when the ring
//! they were armed on is no longer driven.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

use ringolo::compat as tokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (a.unwrap(), b.unwrap().0)
}

/// A two-worker compat runtime.
fn mt2() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A connected std pair: the peer, and the accepted end made non-blocking for `from_std`.
fn std_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    accepted.set_nonblocking(true).unwrap();
    (peer, accepted)
}

/// SQEs this thread's ring has taken so far.
fn sqes() -> u64 {
    ringolo::runtime::driver_stats().unwrap().sqes_pushed
}

#[tokio::test]
async fn a_stream_waiting_again_and_again_submits_no_poll_per_wait() {
    let (mut a, mut b) = pair().await;
    const ROUNDS: usize = 300;
    let before = sqes();
    let echo = async {
        let mut buf = [0u8; 64];
        for _ in 0..ROUNDS {
            // Asks for more than comes: the short read clears readiness, so the next read
            // waits for the poll.
            let n = b.read(&mut buf).await.unwrap();
            b.write_all(&buf[..n]).await.unwrap();
        }
    };
    let ping = async {
        let mut buf = [0u8; 64];
        for i in 0..ROUNDS {
            a.write_all(&[i as u8; 3]).await.unwrap();
            let mut got = 0;
            while got < 3 {
                got += a.read(&mut buf[got..]).await.unwrap();
            }
            assert_eq!(&buf[..3], &[i as u8; 3]);
        }
    };
    tokio::join!(echo, ping);
    let pushed = sqes() - before;
    // 600 reads waited; a one-shot poll per wait would have pushed at least that many.
    assert!(
        pushed < 60,
        "{pushed} SQEs for {} waits: the polls were not kept armed",
        2 * ROUNDS
    );
}

#[test]
fn a_poll_armed_on_a_ring_nobody_drives_moves_to_the_waiting_task_s_worker() {
    let rt = mt2();
    let (mut peer, accepted) = std_pair();
    // Registered inside `block_on`: its polls are armed on the ring of the `block_on` core,
    // which nobody drives once `block_on` has returned.
    let mut stream = rt.block_on(async {
        let s = TcpStream::from_std(accepted).unwrap();
        let idle = tokio::time::timeout(Duration::from_millis(20), s.readable()).await;
        assert!(idle.is_err(), "nothing was sent yet");
        s
    });
    let (tx, rx) = mpsc::channel();
    rt.spawn(async move {
        let mut buf = [0u8; 5];
        let res = stream.read_exact(&mut buf).await.map(|_| buf);
        let _ = stream.write_all(b"back").await;
        tx.send(res).unwrap();
    });
    std::thread::sleep(Duration::from_millis(50));
    peer.write_all(b"hello").unwrap();
    let got = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the read never saw the data: its poll stayed on a ring nobody drives");
    assert_eq!(&got.unwrap(), b"hello");
    let mut back = [0u8; 4];
    peer.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"back");
}

#[test]
fn halves_on_two_workers_move_data_both_ways_while_tasks_are_stolen() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conns = Vec::new();
        for _ in 0..8 {
            let (a, b) = pair().await;
            let (mut ar, mut aw) = a.into_split();
            let (mut br, mut bw) = b.into_split();
            // b echoes through its own two halves, each in its own task.
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
            let reader = tokio::spawn(async move {
                let mut buf = vec![0u8; 1000];
                loop {
                    let n = br.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    tx.send(buf[..n].to_vec()).await.unwrap();
                }
            });
            let writer = tokio::spawn(async move {
                while let Some(chunk) = rx.recv().await {
                    bw.write_all(&chunk).await.unwrap();
                }
                bw.shutdown().await.unwrap();
            });
            let check = tokio::spawn(async move {
                let sent: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
                let expect = sent.clone();
                let send = tokio::spawn(async move {
                    for chunk in sent.chunks(777) {
                        aw.write_all(chunk).await.unwrap();
                        tokio::task::yield_now().await;
                    }
                    aw.shutdown().await.unwrap();
                });
                let mut got = Vec::new();
                ar.read_to_end(&mut got).await.unwrap();
                send.await.unwrap();
                assert!(got == expect, "bytes lost, duplicated or reordered");
            });
            conns.push((reader, writer, check));
        }
        for (r, w, c) in conns {
            tokio::time::timeout(Duration::from_secs(30), async {
                c.await.unwrap();
                r.await.unwrap();
                w.await.unwrap();
            })
            .await
            .expect("an echo stalled");
        }
    });
}

#[test]
fn a_poll_left_on_a_finished_block_on_ring_is_no_event_and_is_armed_again_where_waited() {
    let rt = mt2();
    let (mut peer, accepted) = std_pair();
    let (release, held) = tokio::sync::oneshot::channel::<()>();
    std::thread::scope(|s| {
        // Holds the runtime's own `block_on` core, so the calls below get extra cores whose
        // rings end with their call (the polls armed on them are cancelled and orphaned).
        let holder = s.spawn(|| rt.block_on(async { held.await.unwrap() }));
        std::thread::sleep(Duration::from_millis(30));
        let stream = rt.block_on(async {
            let s = TcpStream::from_std(accepted).unwrap();
            let idle = tokio::time::timeout(Duration::from_millis(20), s.readable()).await;
            assert!(idle.is_err(), "nothing was sent yet");
            s
        });
        let interest = tokio::io::Interest::ERROR | tokio::io::Interest::READABLE;
        let spurious = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(50), stream.ready(interest)).await
        });
        assert!(
            spurious.is_err(),
            "the dead ring's poll was taken for readiness: {spurious:?}"
        );
        peer.write_all(b"x").unwrap();
        let ready = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), stream.ready(interest)).await
        });
        let ready = ready.expect("data arrived but no poll saw it").unwrap();
        assert!(ready.is_readable() && !ready.is_error(), "{ready:?}");
        release.send(()).unwrap();
        holder.join().unwrap();
    });
}

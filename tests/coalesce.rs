//! `Builder::coalesce_completions`: a parked runtime waits for a batch of completions, holds a
//! lone completion for at most the window, wakes at once for one that comes after the window,
//! never makes a timer late, and loses nothing.

mod common;

use std::os::unix::net::UnixStream as StdUnixStream;
use std::time::{Duration, Instant};

use std::io::Write;

use ringolo::net::UnixStream;
use ringolo::runtime::{Builder, Runtime};

/// Linux 6.12 added IORING_FEAT_MIN_TIMEOUT; older kernels ignore the setting.
fn kernel_coalesces() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (6, 12)
}

fn coalescing(flavor_mt: bool, count: u32, window: Duration) -> Runtime {
    let mut b = if flavor_mt {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        Builder::new_current_thread()
    };
    b.coalesce_completions(count, window).build().unwrap()
}

/// A pair whose ringolo side a task reads and whose std side a plain thread writes.
fn pair() -> (UnixStream, StdUnixStream) {
    let (a, b) = StdUnixStream::pair().unwrap();
    (UnixStream::from_std(a), b)
}

/// `n` tasks each waiting on a read that never completes: ops in flight, so a park could wait
/// for a batch of up to `n` completions.
fn idle_readers(n: usize) -> Vec<ringolo::task::JoinHandle<()>> {
    (0..n)
        .map(|_| {
            let (s, tx) = pair();
            ringolo::spawn(async move {
                let _tx = tx;
                let _ = s.read(Vec::with_capacity(8)).await;
            })
        })
        .collect()
}

/// Two reads in flight, a window of 60 ms: a message at 10 ms is one completion of the two the
/// runtime waits for, so it is held until the window has passed; a message at 150 ms comes
/// after the window and wakes the runtime at once. Without coalescing (the control) the first
/// message is read at once.
fn lone_completion_wake_times(rt: Runtime) -> (Duration, Duration, u64) {
    let (a, mut a_tx) = pair();
    let (b, mut b_tx) = pair();
    let t0 = Instant::now();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        a_tx.write_all(b"a").unwrap();
        std::thread::sleep(Duration::from_millis(140));
        b_tx.write_all(b"b").unwrap();
        (a_tx, b_tx)
    });
    let (ta, tb) = rt.block_on(async move {
        let read_at = |s: UnixStream| async move {
            let (n, _) = s.read(Vec::with_capacity(8)).await;
            assert_eq!(n.unwrap(), 1);
            // Kept open until both reads are done: a close would be one more op in flight.
            (t0.elapsed(), s)
        };
        let ja = ringolo::spawn(read_at(a));
        let jb = ringolo::spawn(read_at(b));
        let (ta, sa) = ja.await.unwrap();
        let (tb, sb) = jb.await.unwrap();
        drop((sa, sb));
        (ta, tb)
    });
    let _senders = writer.join().unwrap();
    (ta, tb, rt.driver_stats().coalesced_waits)
}

#[test]
fn a_lone_completion_waits_out_the_window_and_a_late_one_wakes_at_once() {
    let (ta, tb, waits) =
        lone_completion_wake_times(coalescing(false, 2, Duration::from_millis(60)));
    if kernel_coalesces() {
        assert!(waits > 0, "no coalesced wait was made");
        assert!(
            ta >= Duration::from_millis(50) && ta < Duration::from_millis(150),
            "first read done after {ta:?}: not held for the 60 ms window"
        );
    } else {
        assert_eq!(waits, 0);
        assert!(ta < Duration::from_millis(50), "{ta:?}");
    }
    assert!(
        tb >= Duration::from_millis(150) && tb < Duration::from_millis(200),
        "second read done after {tb:?}: a completion after the window must wake at once"
    );

    // The control: the same without coalescing reads the first message at once.
    let plain = Builder::new_current_thread().build().unwrap();
    let (ta, tb, waits) = lone_completion_wake_times(plain);
    assert_eq!(waits, 0);
    assert!(ta < Duration::from_millis(50), "{ta:?}");
    assert!(tb >= Duration::from_millis(150), "{tb:?}");
}

/// With a single op in flight there is no batch to wait for: its completion wakes the
/// runtime at once (a lone ping-pong connection does not pay the window).
#[test]
fn a_single_op_in_flight_is_never_held() {
    let rt = coalescing(false, 8, Duration::from_millis(200));
    let (s, mut tx) = pair();
    let t0 = Instant::now();
    let writer = std::thread::spawn(move || {
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(10));
            tx.write_all(b"x").unwrap();
        }
        tx
    });
    let done = rt.block_on(async move {
        for _ in 0..3 {
            let (n, _) = s.read(Vec::with_capacity(1)).await;
            assert_eq!(n.unwrap(), 1);
        }
        t0.elapsed()
    });
    drop(writer.join().unwrap());
    assert!(
        done < Duration::from_millis(150),
        "three reads took {done:?}"
    );
}

/// Idle reads in flight (so a batch could be waited for) and a window far longer than the
/// sleeps: each sleep still ends on time, on both runtime flavors.
#[test]
fn coalescing_never_makes_a_timer_late() {
    for mt in [false, true] {
        let rt = coalescing(mt, 64, Duration::from_millis(300));
        let late = rt.block_on(async {
            let readers = idle_readers(8);
            // Let the readers submit.
            ringolo::time::sleep(Duration::from_millis(5)).await;
            let mut worst = Duration::ZERO;
            for _ in 0..5 {
                let t = Instant::now();
                ringolo::time::sleep(Duration::from_millis(20)).await;
                worst = worst.max(t.elapsed());
            }
            readers.iter().for_each(|r| r.abort());
            worst
        });
        assert!(
            late < Duration::from_millis(120),
            "a 20 ms sleep took {late:?} (multi-thread: {mt})"
        );
        if kernel_coalesces() && !mt {
            assert!(rt.driver_stats().coalesced_waits > 0);
        }
    }
}

/// A wake from another thread arrives as a completion too: it is held for at most the window.
#[test]
fn a_spawn_from_another_thread_waits_at_most_the_window() {
    let rt = coalescing(false, 64, Duration::from_millis(40));
    let handle = rt.handle();
    let (tx, rx) = std::sync::mpsc::channel();
    let remote = std::thread::spawn(move || {
        let mut worst = Duration::ZERO;
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(60));
            let t = Instant::now();
            let tx = tx.clone();
            handle.spawn(async move { tx.send(t.elapsed()).unwrap() });
            worst = worst.max(rx_wait(&rx));
        }
        worst
    });
    fn rx_wait(rx: &std::sync::mpsc::Receiver<Duration>) -> Duration {
        rx.recv_timeout(Duration::from_secs(5))
            .expect("spawned task ran")
    }
    rt.block_on(async {
        let _readers = idle_readers(8);
        while !remote.is_finished() {
            ringolo::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let worst = remote.join().unwrap();
    assert!(
        worst < Duration::from_millis(100),
        "a remote spawn ran after {worst:?}"
    );
}

/// Under load nothing is lost or reordered: 16 connections × 200 messages echoed, on both
/// flavors, with a window that is often cut short by full batches.
#[test]
fn sixteen_connections_echo_every_message_while_coalescing() {
    for mt in [false, true] {
        let rt = coalescing(mt, 8, Duration::from_micros(200));
        rt.block_on(async {
            let mut clients = Vec::new();
            for c in 0..16u8 {
                let (srv, cli) = UnixStream::pair().unwrap();
                ringolo::spawn(async move {
                    let mut buf = Vec::with_capacity(64);
                    loop {
                        buf.clear();
                        let (n, b) = srv.read(buf).await;
                        if !matches!(n, Ok(n) if n > 0) {
                            return;
                        }
                        let (res, b) = srv.write_all(b).await;
                        res.unwrap();
                        buf = b;
                    }
                });
                clients.push(ringolo::spawn(async move {
                    for i in 0..200u32 {
                        let msg = [c, (i % 251) as u8, (i / 251) as u8];
                        let (res, _) = cli.write_all(msg.to_vec()).await;
                        res.unwrap();
                        let (res, back) = cli.read_exact(Vec::with_capacity(3)).await;
                        res.unwrap();
                        assert_eq!(back, msg);
                    }
                }));
            }
            for c in clients {
                c.await.unwrap();
            }
        });
    }
}

//! The multi-thread runtime: work stealing, stealability accounting, wakeups, shutdown.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use ringolo::driver::ops::{Nop, Read, Timeout};
use ringolo::runtime::{worker_index, Builder, Runtime};
use ringolo::task::{ring_bindings, TaskOpts};
use ringolo::Op;

fn mt(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[test]
fn spawn_and_join_on_workers() {
    let rt = mt(2);
    assert_eq!(rt.workers(), 2);
    let out = rt.block_on(async {
        let hs: Vec<_> = (0..100)
            .map(|i| ringolo::spawn(async move { i * 2 }))
            .collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(out, 9900);
    // Spawning from outside the runtime goes through the injection queue.
    let h = rt.spawn(async { worker_index().is_some() });
    assert!(rt.block_on(h).unwrap(), "a spawned task runs on a worker");
    let h = rt.handle().spawn(async { 7 });
    assert_eq!(rt.block_on(h).unwrap(), 7);
}

#[test]
fn skewed_load_is_shared_by_both_workers() {
    let rt = mt(2);
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    rt.block_on(async move {
        ringolo::spawn(async move {
            let hs: Vec<_> = (0..10_000)
                .map(|_| {
                    let d = d.clone();
                    ringolo::spawn(async move {
                        spin(Duration::from_micros(5));
                        d.fetch_add(1, Ordering::Relaxed);
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    assert_eq!(done.load(Ordering::Relaxed), 10_000);
    let m = rt.worker_metrics();
    assert_eq!(m.polls.len(), 2);
    assert!(
        m.polls.iter().all(|&p| p > 0),
        "both workers polled tasks: {m:?}"
    );
    assert!(m.steals > 0, "the idle worker stole: {m:?}");
}

#[test]
fn futures_unordered_of_ops_under_load_keeps_accounting_right() {
    // The earlier prototype read the task from the waker; FuturesUnordered's own wakers then
    // corrupted the op slab and underflowed a counter (DESIGN-NOTES 2.1).
    let rt = mt(2);
    rt.block_on(async {
        let hs: Vec<_> = (0..64)
            .map(|t| {
                ringolo::spawn(async move {
                    for round in 0..20 {
                        let mut set = FuturesUnordered::new();
                        for i in 0..16u64 {
                            set.push(async move {
                                if i % 2 == 0 {
                                    Op::new(Nop).await.unwrap();
                                } else {
                                    Op::new(Timeout::new(Duration::from_micros(50 * i)))
                                        .await
                                        .unwrap();
                                }
                                i
                            });
                        }
                        // Every op was submitted while this task was polled.
                        assert!(futures::poll!(set.next()).is_pending());
                        assert_eq!(ring_bindings(), Some((16, 0)), "task {t} round {round}");
                        let mut sum = 0;
                        while let Some(i) = set.next().await {
                            sum += i;
                        }
                        assert_eq!(sum, (0..16).sum::<u64>());
                        assert_eq!(ring_bindings(), Some((0, 0)));
                        if round % 3 == 0 {
                            ringolo::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
}

#[test]
fn select_join_and_nested_executors_release_their_bindings() {
    let rt = mt(2);
    rt.block_on(async {
        ringolo::spawn(async {
            // select!: the loser is dropped, and with it its binding.
            {
                let slow = futures::FutureExt::fuse(Op::new(Timeout::new(Duration::from_secs(10))));
                let fast =
                    futures::FutureExt::fuse(Op::new(Timeout::new(Duration::from_millis(1))));
                futures::pin_mut!(slow, fast);
                futures::select_biased! {
                    _ = slow => panic!("slow won"),
                    _ = fast => {}
                }
                assert_eq!(
                    ring_bindings(),
                    Some((1, 0)),
                    "the loser is still in flight"
                );
            }
            // The loser was dropped at the end of the block, and its binding with it.
            assert_eq!(ring_bindings(), Some((0, 0)));

            // join!
            let (a, b) = futures::join!(Op::new(Nop), Op::new(Nop));
            a.unwrap();
            b.unwrap();
            assert_eq!(ring_bindings(), Some((0, 0)));

            // A foreign executor nested inside the task polls the op first: the op still
            // counts for this task (the one being polled), not for anything the waker says.
            let mut op = Op::new(Timeout::new(Duration::from_millis(2)));
            let first = futures::executor::block_on(futures::future::poll_fn(|cx| {
                std::task::Poll::Ready(std::pin::Pin::new(&mut op).poll(cx))
            }));
            assert!(first.is_pending());
            assert_eq!(ring_bindings(), Some((1, 0)));
            let worker = worker_index();
            op.await.unwrap();
            assert_eq!(worker_index(), worker, "in flight: no move");
            assert_eq!(ring_bindings(), Some((0, 0)));
        })
        .await
        .unwrap();
    });
}

#[test]
fn a_task_with_an_op_in_flight_stays_on_its_worker_even_when_woken_elsewhere() {
    let rt = mt(2);
    rt.block_on(async {
        let hs: Vec<_> = (0..32)
            .map(|_| {
                ringolo::spawn(async {
                    for _ in 0..20 {
                        let (r, w) = common::pipe();
                        let op = Op::new(Read::new(r, Vec::with_capacity(8), u64::MAX));
                        futures::pin_mut!(op);
                        assert!(futures::poll!(op.as_mut()).is_pending());
                        let home = worker_index();
                        // A waker cloned to a plain thread wakes the task while the read is
                        // in flight; the task must come back to the same worker.
                        let me = futures::future::poll_fn(|cx| {
                            std::task::Poll::Ready(cx.waker().clone())
                        })
                        .await;
                        let writer = std::thread::spawn(move || {
                            me.wake_by_ref();
                            std::thread::sleep(Duration::from_millis(1));
                            me.wake();
                            common::write_all(w, b"hi");
                            common::close(w);
                        });
                        ringolo::task::yield_now().await;
                        assert_eq!(worker_index(), home, "bound task moved");
                        let (n, buf) = op.await;
                        assert_eq!(n.unwrap(), 2);
                        assert_eq!(&buf[..], b"hi");
                        writer.join().unwrap();
                        common::close(r);
                    }
                })
            })
            .collect();
        // Load on both workers so stealing happens meanwhile.
        let busy: Vec<_> = (0..2000)
            .map(|_| ringolo::spawn(async { spin(Duration::from_micros(20)) }))
            .collect();
        for h in hs.into_iter().chain(busy) {
            h.await.unwrap();
        }
    });
}

static STOP_PROBES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs probes (made by `make`) in 16 tasks under steal pressure until `enough` says the
/// probes have run long enough, and returns how many distinct workers each was polled on.
fn workers_seen(
    rt: &Runtime,
    make: fn() -> ringolo::task::JoinHandle<HashSet<usize>>,
) -> Vec<usize> {
    let _serial = PROBE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    STOP_PROBES.store(false, Ordering::SeqCst);
    // Everything is spawned from one task, onto one worker's queue, in waves: the other
    // worker must steal to get work, and probes that may move get taken along.
    rt.block_on(rt.spawn(async move {
        let probes: Vec<_> = (0..16).map(|_| make()).collect();
        for _wave in 0..40 {
            let busy: Vec<_> = (0..200)
                .map(|_| {
                    ringolo::spawn(async {
                        spin(Duration::from_micros(20));
                        ringolo::task::yield_now().await;
                    })
                })
                .collect();
            for b in busy {
                b.await.unwrap();
            }
        }
        STOP_PROBES.store(true, Ordering::SeqCst);
        let mut out = Vec::new();
        for p in probes {
            out.push(p.await.unwrap().len());
        }
        out
    }))
    .unwrap()
}

static PROBE_LOCK: Mutex<()> = Mutex::new(());

/// Polled again and again: after yields (the task goes back to its worker's queue, where the
/// other worker may steal it) and after short sleeps (the timer may fire on either worker,
/// whose wake then schedules the task there unless it is bound elsewhere).
async fn hop_and_record() -> HashSet<usize> {
    let mut seen = HashSet::new();
    let mut i = 0u32;
    while !STOP_PROBES.load(Ordering::SeqCst) {
        seen.insert(worker_index().unwrap());
        if i % 4 == 0 {
            ringolo::time::sleep(Duration::from_micros(300)).await;
        } else {
            spin(Duration::from_micros(2));
            ringolo::task::yield_now().await;
        }
        i += 1;
    }
    seen
}

#[test]
fn ring_bound_resources_and_sticky_keep_a_task_on_its_worker() {
    let rt = mt(2);
    // Control: plain tasks do move under this load (otherwise the test proves nothing).
    let plain = workers_seen(&rt, || ringolo::spawn(hop_and_record()));
    assert!(
        plain.iter().any(|&n| n > 1),
        "no plain task ever moved: {plain:?}"
    );
    let with_ring = workers_seen(&rt, || {
        ringolo::spawn(async {
            let ring = ringolo::net::BufRing::new(8, 64).unwrap();
            assert_eq!(ring_bindings(), Some((0, 1)));
            let seen = hop_and_record().await;
            drop(ring);
            assert_eq!(ring_bindings(), Some((0, 0)));
            seen
        })
    });
    assert!(with_ring.iter().all(|&n| n == 1), "{with_ring:?}");
    let with_direct = workers_seen(&rt, || {
        ringolo::spawn(async {
            let f = std::fs::File::open("/dev/null").unwrap();
            let d = ringolo::driver::DirectFd::register(&f).unwrap();
            assert_eq!(ring_bindings(), Some((0, 1)));
            let seen = hop_and_record().await;
            drop(d);
            seen
        })
    });
    assert!(with_direct.iter().all(|&n| n == 1), "{with_direct:?}");
    let sticky = workers_seen(&rt, || {
        ringolo::task::spawn_with(TaskOpts::STICKY, hop_and_record())
    });
    assert!(sticky.iter().all(|&n| n == 1), "{sticky:?}");
}

#[test]
fn a_buffer_ring_shared_by_tasks_binds_whoever_uses_it() {
    let rt = mt(2);
    rt.block_on(async {
        ringolo::spawn(async {
            let ring = ringolo::net::BufRing::new(8, 64).unwrap();
            let (a, b) = ringolo::net::UnixStream::pair().unwrap();
            let r2 = ring.clone();
            assert_eq!(
                ring_bindings(),
                Some((0, 2)),
                "both handles bind their creator"
            );
            // STICKY: spawned here, the task stays on this worker, whose ring `r2` belongs to.
            let home = worker_index();
            let user = ringolo::task::spawn_with(TaskOpts::STICKY, async move {
                assert_eq!(worker_index(), home);
                let mut rx = b.recv_multi(&r2);
                assert_eq!(
                    ring_bindings(),
                    Some((0, 2)),
                    "using the clone moved its binding, and the stream binds its user"
                );
                let first = rx.next().await.unwrap().unwrap();
                first.to_vec()
            });
            a.write_all(b"ping".to_vec()).await.0.unwrap();
            let got = user.await.unwrap();
            assert_eq!(got, b"ping");
            assert_eq!(ring_bindings(), Some((0, 1)));
            drop(ring);
        })
        .await
        .unwrap();
    });
}

#[test]
fn a_plain_thread_wakes_a_task_on_a_parked_worker() {
    let rt = mt(2);
    let before = rt.remote_unparks();
    let (tx, rx) = futures::channel::oneshot::channel::<u32>();
    let h = rt.spawn(async move { rx.await.unwrap() + 1 });
    std::thread::sleep(Duration::from_millis(50));
    let t0 = Instant::now();
    let thread = std::thread::spawn(move || tx.send(41).unwrap());
    assert_eq!(rt.block_on(h).unwrap(), 42);
    assert!(t0.elapsed() < Duration::from_secs(1));
    thread.join().unwrap();
    assert!(
        rt.remote_unparks() > before,
        "the parked worker was unparked"
    );
}

#[test]
fn timers_and_sleeps_work_across_workers() {
    let rt = mt(2);
    rt.block_on(async {
        let t0 = Instant::now();
        let hs: Vec<_> = (0..200u64)
            .map(|i| {
                ringolo::spawn(async move {
                    ringolo::time::sleep(Duration::from_millis(10 + i % 20)).await;
                    ringolo::task::yield_now().await;
                    ringolo::time::timeout(
                        Duration::from_millis(5),
                        futures::future::pending::<()>(),
                    )
                    .await
                    .unwrap_err();
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        let e = t0.elapsed();
        assert!(e >= Duration::from_millis(34), "{e:?}");
        assert!(e < Duration::from_secs(2), "{e:?}");
    });
}

#[test]
fn idle_workers_use_no_cpu() {
    // In a child process, so only this runtime's threads count.
    if std::env::var_os("RINGOLO_CHILD_IDLE").is_some() {
        let rt = mt(2);
        rt.block_on(async {
            // Let the workers settle, then measure one idle second.
            ringolo::time::sleep(Duration::from_millis(50)).await;
        });
        let c0 = common::process_cpu_time();
        std::thread::sleep(Duration::from_secs(1));
        let used = common::process_cpu_time() - c0;
        assert!(
            used < Duration::from_millis(30),
            "idle runtime burnt {used:?}"
        );
        return;
    }
    common::assert_passes_in_child("idle_workers_use_no_cpu", "RINGOLO_CHILD_IDLE");
}

#[test]
fn dropping_the_runtime_cancels_tasks_on_every_worker() {
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let rt = mt(2);
    let pipes = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..64 {
        let c = Count(dropped.clone());
        let pipes = pipes.clone();
        rt.spawn(async move {
            let _c = c;
            let (r, w) = common::pipe();
            pipes.lock().unwrap().push((r, w));
            // Never completes: cancelled at shutdown on this worker's ring.
            let _ = Op::new(Read::new(r, Vec::with_capacity(8), u64::MAX)).await;
        });
    }
    rt.block_on(async {
        while pipes.lock().unwrap().len() < 64 {
            ringolo::time::sleep(Duration::from_millis(1)).await;
        }
        ringolo::time::sleep(Duration::from_millis(10)).await;
    });
    let t0 = Instant::now();
    drop(rt);
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "shutdown waited for the grace period"
    );
    assert_eq!(dropped.load(Ordering::SeqCst), 64, "every future dropped");
    for (r, w) in pipes.lock().unwrap().drain(..) {
        common::close(r);
        common::close(w);
    }
}

#[ringolo::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_macro_builds_a_multi_thread_runtime() {
    let on_worker = ringolo::spawn(async { worker_index() }).await.unwrap();
    assert!(on_worker.is_some_and(|i| i < 2));
    assert_eq!(
        worker_index(),
        None,
        "the test body runs on the block_on thread"
    );
}

#[test]
#[should_panic(expected = "requires the current-thread runtime")]
fn pausing_the_clock_of_a_multi_thread_runtime_panics() {
    mt(1).block_on(async { ringolo::time::pause() });
}

#[test]
fn start_paused_is_refused_for_multi_thread() {
    let err = Builder::new_multi_thread()
        .start_paused(true)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ringolo::runtime::BuildErrorKind::InvalidConfig);
}

fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}

#[test]
fn two_thousand_echo_connections_with_random_yields_across_workers() {
    raise_fd_limit();
    const CONNS: usize = 2000;
    const MSGS: usize = 8;
    let rt = mt(2);
    rt.block_on(async {
        let listener = ringolo::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let server = ringolo::spawn(async move {
            let mut incoming = listener.incoming();
            let mut n = 0;
            while let Some(conn) = incoming.next().await {
                let conn = conn.unwrap();
                n += 1;
                ringolo::spawn(async move {
                    let mut buf = Vec::with_capacity(4096);
                    let mut seed = n as u64;
                    loop {
                        buf.clear();
                        let (res, b) = conn.read(buf).await;
                        match res {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        // Random yields let the task move between workers between ops.
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        for _ in 0..(seed >> 61) {
                            ringolo::task::yield_now().await;
                        }
                        let (res, b) = conn.write_all(b).await;
                        res.unwrap();
                        buf = b;
                    }
                });
                if n == CONNS {
                    break;
                }
            }
        });
        let clients: Vec<_> = (0..CONNS)
            .map(|c| {
                ringolo::spawn(async move {
                    let s = ringolo::net::TcpStream::connect(addr).await.unwrap();
                    let mut seed = c as u64 + 1;
                    let mut sum_out = 0u64;
                    let mut sum_in = 0u64;
                    for m in 0..MSGS {
                        let len = 1 + (c * 31 + m * 17) % 1500;
                        let msg: Vec<u8> = (0..len).map(|i| (i * 7 + c + m) as u8).collect();
                        sum_out += msg.iter().map(|&b| b as u64).sum::<u64>();
                        let (res, _) = s.write_all(msg).await;
                        res.unwrap();
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        if seed >> 62 == 0 {
                            ringolo::task::yield_now().await;
                        }
                        let (res, back) = s.read_exact(Vec::with_capacity(len)).await;
                        res.unwrap();
                        sum_in += back.iter().map(|&b| b as u64).sum::<u64>();
                    }
                    assert_eq!(sum_in, sum_out, "connection {c}");
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
    let m = rt.worker_metrics();
    assert!(m.polls.iter().all(|&p| p > 0), "{m:?}");
}

#[test]
fn several_threads_block_on_one_multi_thread_runtime_at_once() {
    let rt = Arc::new(mt(2));
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let a = {
        let rt = rt.clone();
        std::thread::spawn(move || {
            rt.block_on(async move {
                // Holds its block_on until the other thread's block_on has run I/O.
                let (r, w) = common::pipe();
                common::write_all(w, b"x");
                let (n, _) = Op::new(Read::new(r, Vec::with_capacity(1), u64::MAX)).await;
                assert_eq!(n.unwrap(), 1);
                common::close(r);
                common::close(w);
                ringolo::task::spawn_blocking(move || rx.recv().unwrap())
                    .await
                    .unwrap();
            })
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    rt.block_on(async move {
        ringolo::time::sleep(Duration::from_millis(5)).await;
        let n = ringolo::spawn(async { 5 }).await.unwrap();
        assert_eq!(n, 5);
        tx.send(()).unwrap();
    });
    a.join().unwrap();
}

#[test]
fn plain_fd_io_objects_keep_working_after_their_task_moves() {
    let rt = mt(2);
    let dir = std::env::temp_dir().join(format!("ringolo-mt-move-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("f");
    std::fs::write(&path, b"0123456789").unwrap();
    let moved = rt
        .block_on(rt.spawn(async move {
            let file = ringolo::fs::File::open(&path).await.unwrap();
            let (a, b) = ringolo::net::UnixStream::pair().unwrap();
            let first = worker_index().unwrap();
            // A sticky hog keeps this worker busy without yielding; this task, yielding, waits in
            // the stealable run queue, and the idle worker takes it.
            let hog = ringolo::task::spawn_with(TaskOpts::STICKY, async {
                spin(Duration::from_millis(50));
            });
            let mut moved = false;
            for _ in 0..100 {
                ringolo::task::yield_now().await;
                if worker_index().unwrap() != first {
                    moved = true;
                    break;
                }
            }
            hog.await.unwrap();
            // Objects created on the first worker, used from whichever worker polls now.
            let (res, buf) = file.read_at(Vec::with_capacity(4), 3).await;
            assert_eq!(res.unwrap(), 4);
            assert_eq!(&buf[..], b"3456");
            a.write_all(b"hey".to_vec()).await.0.unwrap();
            let (res, buf) = b.read_exact(Vec::with_capacity(3)).await;
            res.unwrap();
            assert_eq!(&buf[..], b"hey");
            file.close().await.unwrap();
            moved
        }))
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(moved, "the task was never stolen while its worker was busy");
}

#[test]
fn an_in_flight_op_handed_to_another_task_binds_that_task() {
    let rt = mt(2);
    rt.block_on(rt.spawn(async {
        let (r, w) = common::pipe();
        let mut op = Op::new(Read::new(r, Vec::with_capacity(4), u64::MAX));
        assert!(futures::poll!(&mut op).is_pending());
        assert_eq!(ring_bindings(), Some((1, 0)));
        // The receiver is spawned sticky on this worker, as the hand-over rule asks.
        let receiver = ringolo::task::spawn_with(TaskOpts::STICKY, async move {
            futures::pin_mut!(op);
            assert!(futures::poll!(op.as_mut()).is_pending());
            assert_eq!(ring_bindings(), Some((1, 0)), "the binding moved here");
            common::write_all(w, b"data");
            let (n, buf) = op.await;
            assert_eq!(n.unwrap(), 4);
            common::close(w);
            buf
        });
        // Give the receiver its first poll, then check the binding left this task.
        while ring_bindings() != Some((0, 0)) {
            ringolo::task::yield_now().await;
        }
        assert_eq!(&receiver.await.unwrap()[..], b"data");
        common::close(r);
    }))
    .unwrap();
}

#[test]
fn a_timer_wakes_one_idle_worker_not_all() {
    let rt = mt(2);
    // Let both workers go to sleep first.
    rt.block_on(async { ringolo::time::sleep(Duration::from_millis(20)).await });
    let before = rt.driver_stats().enters;
    const TICKS: u64 = 100;
    let ticker = rt.spawn(async {
        let mut iv = ringolo::time::interval(Duration::from_millis(2));
        for _ in 0..TICKS {
            iv.tick().await;
        }
    });
    rt.block_on(async {
        // Now and then a short task wakes the idle worker, which then goes back to sleep
        // while the ticker's timer exists: it must not take the timer's deadline too.
        for _ in 0..8 {
            ringolo::time::sleep(Duration::from_millis(20)).await;
            rt.spawn(async {}).await.unwrap();
        }
        ticker.await.unwrap();
    });
    // Counters are published when a worker looks at its ring; give both a moment.
    rt.block_on(async { ringolo::time::sleep(Duration::from_millis(20)).await });
    let enters = rt.driver_stats().enters - before;
    // One worker sleeps with the deadline: about one enter per tick (plus a few for the
    // spawn and the join), not one per worker per tick.
    assert!(
        enters < TICKS * 3 / 2,
        "{enters} ring enters for {TICKS} timer ticks on 2 workers"
    );
}

/// A timeout op whose payload panics when the driver drops it: user code that runs on a
/// worker outside any task.
struct PanickyDrop(ringolo::driver::ops::Timeout);

// SAFETY: the entry is the inner Timeout's, which owns everything it points to.
unsafe impl ringolo::driver::Operation for PanickyDrop {
    type Output = std::io::Result<()>;
    fn build(&mut self) -> io_uring::squeue::Entry {
        self.0.build()
    }
    fn complete(self, _result: std::io::Result<ringolo::driver::Completion>) -> Self::Output {
        std::mem::forget(self);
        Ok(())
    }
}

impl Drop for PanickyDrop {
    fn drop(&mut self) {
        panic!("payload drop panicked");
    }
}

#[test]
fn a_panic_on_a_worker_outside_any_task_shuts_the_runtime_down_without_hanging() {
    let rt = mt(2);
    let long = rt.spawn(async {
        ringolo::time::sleep(Duration::from_secs(30)).await;
    });
    rt.block_on(rt.spawn(async {
        // Submitted, then dropped: the driver keeps the payload until the final CQE and
        // drops it on the worker, where the panic escapes every task.
        let mut op = Op::new(PanickyDrop(Timeout::new(Duration::from_secs(30))));
        assert!(futures::poll!(&mut op).is_pending());
        // Sticky: stays on this worker, so the op reaches the kernel before it is dropped.
        ringolo::time::sleep(Duration::from_millis(5)).await;
        drop(op);
    }))
    .unwrap();
    let t0 = Instant::now();
    // The runtime shut down: the long task was cancelled rather than left to run (block_on
    // may see the cancellation or the dead runtime first).
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(long)));
    if let Ok(res) = joined {
        assert!(res.unwrap_err().is_cancelled());
    }
    // A block_on that would wait for ever says the runtime is gone instead.
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(std::future::pending::<()>())
    }))
    .unwrap_err();
    assert!(
        common::panic_message(err).contains("the multi-thread runtime shut down"),
        "block_on on a dead runtime"
    );
    drop(rt);
    assert!(t0.elapsed() < Duration::from_secs(5), "shutdown hung");
}

#[test]
fn shutdown_timeout_and_background_cancel_tasks_on_both_flavors() {
    for (i, multi) in [false, true, false, true].into_iter().enumerate() {
        let rt = if multi {
            mt(2)
        } else {
            Builder::new_current_thread().build().unwrap()
        };
        let dropped = Arc::new(AtomicUsize::new(0));
        struct Count(Arc<AtomicUsize>);
        impl Drop for Count {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        for _ in 0..8 {
            let c = Count(dropped.clone());
            rt.spawn(async move {
                let _c = c;
                ringolo::time::sleep(Duration::from_secs(30)).await;
            });
        }
        // Let the tasks start (a current-thread runtime runs them only inside block_on).
        rt.block_on(async { ringolo::time::sleep(Duration::from_millis(5)).await });
        let t0 = Instant::now();
        if i < 2 {
            rt.shutdown_timeout(Duration::from_millis(100));
        } else {
            rt.shutdown_background();
        }
        assert!(t0.elapsed() < Duration::from_secs(1));
        assert_eq!(dropped.load(Ordering::SeqCst), 8, "multi={multi}");
    }
}

//! Descriptor accounting: these tests count `/proc/self/fd`, so they live in their own test
//! binary and take a lock so no other test opens descriptors meanwhile.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use ringolo::driver::{Completion, Operation, Reclaim};
use ringolo::Op;

static FD_LOCK: Mutex<()> = Mutex::new(());

fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &std::task::Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// An op whose result is a new fd (as accept's or socket's would be): an openat of /dev/null.
struct OpenDevNull {
    path: std::ffi::CString,
}

// SAFETY: the entry points at the CString's heap buffer, owned by self.
unsafe impl Operation for OpenDevNull {
    type Output = std::io::Result<i32>;
    fn build(&mut self) -> io_uring::squeue::Entry {
        io_uring::opcode::OpenAt::new(io_uring::types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(libc::O_RDONLY | libc::O_CLOEXEC)
            .build()
    }
    fn complete(self, result: std::io::Result<Completion>) -> Self::Output {
        result.map(|c| c.result as i32)
    }
    fn reclaim(&self) -> Reclaim {
        Reclaim::CloseFd
    }
}

#[test]
fn fd_of_an_abandoned_op_is_closed() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let rt = common::rt();
    rt.block_on(async {
        let before = common::open_fds();
        for _ in 0..100 {
            let mut op = Op::new(OpenDevNull {
                path: std::ffi::CString::new("/dev/null").unwrap(),
            });
            let (_c, waker) = common::counting_waker();
            assert!(poll_once(&mut op, &waker).is_pending());
            // Let the open complete in the kernel, then drop the op without taking the fd.
            ringolo::time::sleep(Duration::from_millis(1)).await;
            drop(op);
        }
        ringolo::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(common::open_fds(), before, "abandoned fds leaked");
        let fd = Op::new(OpenDevNull {
            path: std::ffi::CString::new("/dev/null").unwrap(),
        })
        .await
        .unwrap();
        common::close(fd);
    });
}

#[test]
fn runtimes_built_and_dropped_leak_no_fds() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    for _ in 0..20 {
        let rt = common::rt();
        let r = rt.block_on(async {
            // Leave an op in flight at drop: a read on a pipe nobody writes to.
            let (r, w) = common::pipe();
            let h = ringolo::spawn(async move {
                let _ = Op::new(ringolo::driver::ops::Read::new(
                    r,
                    Vec::with_capacity(8),
                    u64::MAX,
                ))
                .await;
            });
            ringolo::time::sleep(Duration::from_millis(2)).await;
            assert!(!h.is_finished());
            common::close(w);
            // `r` is closed below once the runtime has cancelled the read.
            drop(h);
            r
        });
        drop(rt);
        common::close(r);
    }
    // Ring fds and eventfds are closed with their runtimes.
    assert_eq!(common::open_fds(), before);
}

#[test]
fn dropped_files_are_closed_on_the_ring() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    let rt = common::rt();
    rt.block_on(async {
        let mut files = Vec::new();
        for _ in 0..200 {
            files.push(ringolo::fs::File::open("/dev/null").await.unwrap());
        }
        assert_eq!(
            common::open_fds(),
            before + 200 + 3,
            "200 files plus the ring, its eventfd and the mailbox's duplicate of it"
        );
        let pushed = ringolo::runtime::driver_stats().unwrap().sqes_pushed;
        drop(files);
        ringolo::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(common::open_fds(), before + 3);
        assert!(
            ringolo::runtime::driver_stats().unwrap().sqes_pushed >= pushed + 200,
            "closed with IORING_OP_CLOSE"
        );
        // Files dropped right before the runtime: the pending closes still go through.
        for _ in 0..50 {
            std::mem::forget(ringolo::fs::File::open("/dev/null").await.unwrap());
        }
    });
    drop(rt);
    // The 50 forgotten files are the only ones left.
    assert_eq!(common::open_fds(), before + 50);
    for fd in 0..4096 {
        // Close the forgotten ones: every fd above the initial set that points at /dev/null.
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}"));
        if link
            .map(|l| l == std::path::Path::new("/dev/null"))
            .unwrap_or(false)
            && fd > 2
        {
            common::close(fd);
        }
    }
}

#[test]
fn files_dropped_at_runtime_shutdown_are_closed() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    let rt = common::rt();
    let files = rt.block_on(async {
        let mut files = Vec::new();
        for _ in 0..20 {
            files.push(ringolo::fs::File::open("/dev/null").await.unwrap());
        }
        files
    });
    // Dropped outside block_on: closed directly, not through the ring.
    drop(files);
    let rt2 = common::rt();
    rt2.block_on(async {
        let keep: Vec<_> = {
            let mut v = Vec::new();
            for _ in 0..20 {
                v.push(ringolo::fs::File::open("/dev/null").await.unwrap());
            }
            v
        };
        // Dropped inside the task that is still running when the runtime shuts down.
        ringolo::spawn(async move {
            let _keep = keep;
            std::future::pending::<()>().await;
        });
        ringolo::task::yield_now().await;
    });
    drop(rt2);
    drop(rt);
    assert_eq!(common::open_fds(), before);
}

#[test]
fn a_thousand_cancelled_accepts_leak_no_fds() {
    use ringolo::net::TcpListener;
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    let rt = common::rt();
    let (cancelled, reclaimed) = rt.block_on(async {
        let inside = common::open_fds();
        let reclaimed0 = ringolo::runtime::driver_stats().unwrap().reclaimed_fds;
        let mut cancelled = 0;
        let mut clients = Vec::new();
        let mut round = 0;
        while cancelled < 1000 {
            round += 1;
            assert!(
                round < 40,
                "only {cancelled} accepts cancelled in 40 rounds"
            );
            // A fresh listener per round, so an accept never finds a connection left over
            // from an earlier round.
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = listener.local_addr().unwrap();
            let connect = move || {
                (0..100)
                    .map(|_| std::net::TcpStream::connect(addr).unwrap())
                    .collect::<Vec<_>>()
            };
            if round % 2 == 0 {
                // Accepts in tasks, aborted while connections arrive from a plain thread: some
                // before an accept's cancel reaches the kernel, some as it does, some after.
                let accepts: Vec<_> = (0..100)
                    .map(|_| {
                        let l = listener.clone();
                        ringolo::spawn(async move { l.accept().await })
                    })
                    .collect();
                for _ in 0..3 {
                    ringolo::task::yield_now().await; // every accept waits in the kernel
                }
                let connector = std::thread::spawn(connect);
                for (i, a) in accepts.iter().enumerate() {
                    a.abort();
                    if i % 10 == 9 {
                        ringolo::task::yield_now().await;
                    }
                }
                for a in accepts {
                    match a.await {
                        Err(e) if e.is_cancelled() => cancelled += 1,
                        // Its connection came before the abort: a real accept, closed here.
                        Ok(Ok(conn)) => drop(conn),
                        other => panic!("accept failed: {other:?}"),
                    }
                }
                let conns = ringolo::task::spawn_blocking(move || connector.join().unwrap());
                clients.push(conns.await.unwrap());
            } else {
                // Accept futures submitted, then every connection arrives and the accepts
                // complete in the kernel, and only then are the futures dropped unread: the
                // driver holds a finished accept nobody will take and must close its socket.
                let mut accepts: Vec<_> = (0..100).map(|_| Box::pin(listener.accept())).collect();
                for a in &mut accepts {
                    assert!(futures::poll!(a.as_mut()).is_pending());
                }
                ringolo::task::yield_now().await; // submitted
                clients.push(connect());
                ringolo::time::sleep(Duration::from_millis(10)).await; // completions reaped
                cancelled += accepts.len();
                drop(accepts);
            }
            // Cancelled accepts leave their connections in the backlog; they go with it.
            drop(listener);
        }
        drop(clients);
        ringolo::time::sleep(Duration::from_millis(20)).await;
        // Counted while the runtime lives: a descriptor the driver still held would show.
        assert_eq!(
            common::open_fds(),
            inside,
            "descriptors leaked inside the runtime"
        );
        let reclaimed = ringolo::runtime::driver_stats().unwrap().reclaimed_fds - reclaimed0;
        (cancelled, reclaimed)
    });
    drop(rt);
    assert!(cancelled >= 1000);
    // The dropped-after-completion rounds alone produce up to 500 such sockets.
    assert!(
        reclaimed > 0,
        "no accept completed unread: the test proves less"
    );
    assert_eq!(common::open_fds(), before);
}

#[test]
fn a_close_dropped_before_it_reached_the_kernel_still_closes() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let rt = common::rt();
    rt.block_on(async {
        let before = common::open_fds();
        for i in 0..50 {
            let (a, b) = ringolo::net::UnixStream::pair().unwrap();
            let file = ringolo::fs::File::open("/dev/null").await.unwrap();
            let (_c, waker) = common::counting_waker();
            // Polled once: the close SQE is queued in userspace, not yet submitted; then the
            // futures are dropped before the driver's next turn.
            let mut close_a = Box::pin(a.close());
            let mut close_f = Box::pin(file.close());
            assert!(close_a
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            assert!(close_f
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            drop((close_a, close_f));
            if i % 2 == 0 {
                // And the other end is closed by a close() that is never polled at all.
                drop(b.close());
            } else {
                b.close().await.unwrap();
            }
        }
        ringolo::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            common::open_fds(),
            before,
            "dropped closes leaked their fds"
        );
    });
}

#[test]
fn multi_thread_runtimes_dropped_with_io_in_flight_leak_no_fds() {
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    for _ in 0..10 {
        let rt = ringolo::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let listening = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for _ in 0..8 {
            let listening = listening.clone();
            rt.spawn(async move {
                let l = ringolo::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap();
                let f = ringolo::fs::File::open("/dev/null").await.unwrap();
                listening.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // Blocks in an accept on this worker's ring until the runtime is dropped.
                let _ = (l.accept().await, f);
            });
        }
        rt.block_on(async {
            while listening.load(std::sync::atomic::Ordering::SeqCst) < 8 {
                ringolo::time::sleep(Duration::from_millis(1)).await;
            }
        });
        drop(rt);
    }
    assert_eq!(
        common::open_fds(),
        before,
        "fds leaked by multi-thread runtimes"
    );
}

#[test]
fn socket_chains_free_their_slots_and_descriptors_however_they_end() {
    use ringolo::net::{TcpListener, UdpSocket, UnixListener};
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let sqes = || ringolo::runtime::driver_stats().unwrap().sqes_pushed;
    let path = std::env::temp_dir().join(format!("ringolo-chain-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    common::rt().block_on(async {
        ringolo::time::sleep(Duration::from_millis(1)).await; // wakeup poll armed
        let inside = common::open_fds();
        // On this kernel a listener is one chain: SOCKET into a slot, SO_REUSEADDR, BIND,
        // LISTEN, FIXED_FD_INSTALL.
        let before = sqes();
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(sqes() - before, 5);
        drop(l);
        let before = sqes();
        let u = UnixListener::bind(&path).await.unwrap();
        assert_eq!(sqes() - before, 4);
        drop(u);
        let _ = std::fs::remove_file(&path);
        let before = sqes();
        let d = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(sqes() - before, 3);
        drop(d);
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let before = sqes();
        let c = ringolo::net::TcpStream::connect(l.local_addr().unwrap())
            .await
            .unwrap();
        assert_eq!(sqes() - before, 3, "socket, connect, install");
        drop((c, l));

        // Connects dropped while their CONNECT waits in the kernel (a listener whose accept
        // queue is full drops their SYNs): the chain is cancelled there, and its last op
        // frees the slot.
        let full = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let full_addr = full.local_addr().unwrap();
        // SAFETY: listen(2) again on our listening socket, to shrink its backlog.
        assert_eq!(
            unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&full), 0) },
            0
        );
        let mut queued = Vec::new();
        let mut timed_out = 0;
        for _ in 0..50 {
            let connect = ringolo::net::TcpStream::connect(full_addr);
            match ringolo::time::timeout(Duration::from_millis(3), connect).await {
                Ok(c) => queued.push(c.unwrap()), // the first ones fit in the queue
                Err(_) => timed_out += 1,
            }
        }
        assert!(
            timed_out >= 40,
            "only {timed_out} connects were still waiting"
        );
        drop((queued, full));

        // Futures dropped before their chain left userspace, and after it completed but
        // before its result was taken: 1,100 of each, more than the slot table holds.
        for i in 0..2200 {
            let mut bind = Box::pin(TcpListener::bind("127.0.0.1:0"));
            assert!(futures::poll!(bind.as_mut()).is_pending());
            if i % 2 == 1 {
                ringolo::task::yield_now().await; // submitted and completed, result untaken
                ringolo::task::yield_now().await;
            }
            drop(bind);
        }
        // And 1,100 that finish normally.
        for _ in 0..1100 {
            drop(TcpListener::bind("127.0.0.1:0").await.unwrap());
        }
        // Still the one-chain path: no slot was lost along the way.
        let before = sqes();
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(sqes() - before, 5, "the slot table ran out: slots leaked");
        drop(l);
        ringolo::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(common::open_fds(), inside, "descriptors leaked");
        let stats = ringolo::runtime::driver_stats().unwrap();
        assert_eq!(stats.direct_slots_in_use, 0, "registered-file slots leaked");
    });
}

#[test]
fn socket_setups_dropped_at_random_points_leak_nothing_on_either_flavor() {
    // Binds and connects of every kind, each polled a random number of times (with a random
    // number of scheduler turns in between) and then dropped or finished: afterwards no
    // descriptor and no registered-file slot may be left, on a current-thread runtime and on
    // every worker of a multi-thread one.
    use ringolo::net::{TcpListener, TcpStream, UdpSocket, UnixListener};
    let _lock = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = common::open_fds();
    for multi in [false, true] {
        let rt = if multi {
            ringolo::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap()
        } else {
            common::rt()
        };
        rt.block_on(async move {
            let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let target_addr = target.local_addr().unwrap();
            // Accepted and closed at once, so the finished connects never fill the backlog
            // (a full one leaves later connects waiting for SYN retransmissions).
            target.set_nonblocking(true).unwrap();
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let acceptor = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        match target.accept() {
                            Ok(conn) => drop(conn),
                            Err(_) => std::thread::sleep(Duration::from_millis(1)),
                        }
                    }
                })
            };
            let tasks: Vec<_> = (0..4u64)
                .map(|t| {
                    ringolo::spawn(async move {
                        let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (t + 1);
                        let mut rand = move |n: u64| {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            seed % n
                        };
                        let path = std::env::temp_dir().join(format!(
                            "ringolo-rand-{}-{multi}-{t}.sock",
                            std::process::id()
                        ));
                        for _ in 0..150 {
                            let _ = std::fs::remove_file(&path);
                            let fut: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> =
                                match rand(4) {
                                    0 => Box::pin(async {
                                        drop(TcpListener::bind("127.0.0.1:0").await);
                                    }),
                                    1 => Box::pin(async move {
                                        drop(TcpStream::connect(target_addr).await);
                                    }),
                                    2 => Box::pin(async {
                                        drop(UdpSocket::bind("127.0.0.1:0").await);
                                    }),
                                    _ => {
                                        let p = path.clone();
                                        Box::pin(async move {
                                            drop(UnixListener::bind(&p).await);
                                        })
                                    }
                                };
                            let mut fut = fut;
                            let polls = rand(4);
                            let mut finished = false;
                            for _ in 0..polls {
                                if futures::poll!(fut.as_mut()).is_ready() {
                                    finished = true;
                                    break;
                                }
                                for _ in 0..rand(3) {
                                    ringolo::task::yield_now().await;
                                }
                            }
                            if !finished && rand(2) == 0 {
                                fut.await; // run it to the end
                            } else {
                                drop(fut);
                            }
                        }
                        let _ = std::fs::remove_file(&path);
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            acceptor.join().unwrap();
            // Let the last cancelled chains' final completions come in.
            ringolo::time::sleep(Duration::from_millis(20)).await;
        });
        // Every ring's slots are back once its runtime has settled.
        let stats = rt.driver_stats();
        assert_eq!(stats.direct_slots_in_use, 0, "multi={multi}: slots leaked");
        drop(rt);
        assert_eq!(
            common::open_fds(),
            before,
            "multi={multi}: descriptors leaked"
        );
    }
}

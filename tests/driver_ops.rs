//! The four submission strategies and the driver's hard paths, on the real kernel.

mod common;

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use ringolo::driver::ops::{Nop, Read, Timeout, Write};
use ringolo::driver::{Completion, Operation};
use ringolo::runtime::Builder;
use ringolo::time::Tick;
use ringolo::{Op, OpList};

/// Poll `fut` once with `waker`.
fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &std::task::Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

#[test]
fn dropped_read_on_empty_pipe_consumes_nothing_and_wakes_no_one() {
    let rt = common::rt();
    rt.block_on(async {
        let (r1, w1) = common::pipe();
        let (r2, w2) = common::pipe();

        // A read that is submitted, then dropped while the pipe is empty.
        let (count_a, waker_a) = common::counting_waker();
        let mut a = Op::new(Read::new(r1, Vec::with_capacity(4096), u64::MAX));
        assert!(poll_once(&mut a, &waker_a).is_pending());
        ringolo::task::yield_now().await; // let the SQE reach the kernel
        drop(a);

        // A new op likely reuses the freed slot (new generation).
        let (count_b, waker_b) = common::counting_waker();
        let mut b = Op::new(Read::new(r2, Vec::with_capacity(16), u64::MAX));
        assert!(poll_once(&mut b, &waker_b).is_pending());

        // Data arriving on the first pipe must not go into the dropped read's buffer.
        common::write_all(w1, b"survives");
        ringolo::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(
            count_a.0.load(Ordering::SeqCst),
            0,
            "the dropped op's waker was woken"
        );
        assert_eq!(
            count_b.0.load(Ordering::SeqCst),
            0,
            "an unrelated op was woken"
        );

        let (n, buf) = Op::new(Read::new(r1, Vec::with_capacity(64), u64::MAX)).await;
        assert_eq!(n.unwrap(), 8);
        assert_eq!(buf, b"survives", "the cancelled read consumed the data");

        common::write_all(w2, b"xyz");
        let (n, buf) = b.await;
        assert_eq!(n.unwrap(), 3);
        assert_eq!(buf, b"xyz");
        assert_eq!(count_b.0.load(Ordering::SeqCst), 0);
        for fd in [r1, w1, r2, w2] {
            common::close(fd);
        }
    });
}

#[test]
fn many_dropped_reads_then_writes() {
    // Repeats the drop-then-write pattern across slot reuse; run under ASan in CI.
    let rt = common::rt();
    rt.block_on(async {
        let (r, w) = common::pipe();
        for i in 0..200u32 {
            let mut op = Op::new(Read::new(r, Vec::with_capacity(1 << (i % 12)), u64::MAX));
            let (_c, waker) = common::counting_waker();
            assert!(poll_once(&mut op, &waker).is_pending());
            if i % 2 == 0 {
                ringolo::task::yield_now().await;
            }
            drop(op);
        }
        common::write_all(w, b"0123456789");
        let (n, buf) = Op::new(Read::new(r, Vec::with_capacity(64), u64::MAX)).await;
        assert_eq!(n.unwrap(), 10);
        assert_eq!(buf, b"0123456789");
        common::close(r);
        common::close(w);
    });
}

/// Chain members: a NOP, a read of a closed fd, a NOP.
enum Member {
    Nop(Nop),
    Read(Read),
}

// SAFETY: forwards to ops whose impls uphold the contract.
unsafe impl Operation for Member {
    type Output = std::io::Result<usize>;
    fn build(&mut self) -> io_uring::squeue::Entry {
        match self {
            Member::Nop(n) => n.build(),
            Member::Read(r) => r.build(),
        }
    }
    fn complete(self, result: std::io::Result<Completion>) -> Self::Output {
        match self {
            Member::Nop(n) => n.complete(result).map(|_| 0),
            Member::Read(r) => r.complete(result).0,
        }
    }
}

#[test]
fn chain_with_failing_middle_cancels_the_rest() {
    let rt = common::rt();
    rt.block_on(async {
        let chain = OpList::chain([
            Member::Nop(Nop),
            Member::Nop(Nop),
            Member::Read(Read::new(-1, Vec::with_capacity(8), 0)),
            Member::Nop(Nop),
            Member::Nop(Nop),
        ]);
        let results = chain.await;
        assert_eq!(results.len(), 5);
        assert_eq!(results[0].as_ref().unwrap(), &0);
        assert_eq!(results[1].as_ref().unwrap(), &0);
        assert_eq!(
            results[2].as_ref().unwrap_err().raw_os_error(),
            Some(libc::EBADF)
        );
        assert_eq!(
            results[3].as_ref().unwrap_err().raw_os_error(),
            Some(libc::ECANCELED)
        );
        assert_eq!(
            results[4].as_ref().unwrap_err().raw_os_error(),
            Some(libc::ECANCELED)
        );
    });
}

#[test]
fn chain_is_kernel_ordered() {
    let rt = common::rt();
    rt.block_on(async {
        let (r, w) = common::pipe();
        // Read first in list order would block forever if the kernel did not order the chain:
        // write then read.
        let chain = OpList::chain([
            Member::Nop(Nop),
            Member::Read(Read::new(r, Vec::with_capacity(4), u64::MAX)),
        ]);
        common::write_all(w, b"abcd");
        let res = chain.await;
        assert_eq!(res[1].as_ref().unwrap(), &4);
        common::close(r);
        common::close(w);
    });
}

#[test]
fn chain_longer_than_sq_is_an_error_not_a_hang() {
    let rt = Builder::new_current_thread().entries(4).build().unwrap();
    rt.block_on(async {
        let res = OpList::chain((0..8).map(|_| Nop)).await;
        assert_eq!(res.len(), 8);
        for r in res {
            assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        }
        // A chain that fits still works on the same small ring.
        assert!(OpList::chain((0..4).map(|_| Nop))
            .await
            .iter()
            .all(|r| r.is_ok()));
    });
}

#[test]
fn batch_of_64_ops() {
    let rt = common::rt();
    rt.block_on(async {
        // Mixed durations so completions arrive out of order.
        let ops = (0..64u64).map(|i| Timeout::new(Duration::from_micros((64 - i) * 100)));
        let start = Instant::now();
        let res = OpList::batch(ops).await;
        assert_eq!(res.len(), 64);
        assert!(res.iter().all(|r| r.is_ok()));
        // Concurrent, not sequential: ~6.4 ms, far below the 208 ms sum.
        assert!(
            start.elapsed() < Duration::from_millis(150),
            "{:?}",
            start.elapsed()
        );
    });
}

#[test]
fn dropped_batch_and_chain_cancel_cleanly() {
    let rt = common::rt();
    rt.block_on(async {
        let (r, w) = common::pipe();
        let mut batch =
            OpList::batch((0..8).map(|_| Read::new(r, Vec::with_capacity(32), u64::MAX)));
        let (_c, waker) = common::counting_waker();
        assert!(poll_once(&mut batch, &waker).is_pending());
        ringolo::task::yield_now().await;
        drop(batch);
        let stats = ringolo::runtime::driver_stats().unwrap();
        assert!(stats.cancelled >= 8);
        common::write_all(w, b"kept");
        let (n, buf) = Op::new(Read::new(r, Vec::with_capacity(8), u64::MAX)).await;
        assert_eq!((n.unwrap(), buf.as_slice()), (4, &b"kept"[..]));
        common::close(r);
        common::close(w);
    });
}

#[test]
fn multishot_tick_yields_n_then_ends() {
    let rt = common::rt();
    rt.block_on(async {
        let start = Instant::now();
        let ticks: Vec<_> = Tick::with_count(Duration::from_millis(10), 7)
            .collect()
            .await;
        assert_eq!(ticks.len(), 7);
        assert!(ticks.iter().all(|t| t.is_ok()));
        assert!(start.elapsed() >= Duration::from_millis(70));
    });
}

#[test]
fn multishot_tick_dropped_midway_is_cancelled() {
    let rt = common::rt();
    rt.block_on(async {
        let mut tick = Tick::new(Duration::from_millis(5));
        for _ in 0..3 {
            tick.next().await.unwrap().unwrap();
        }
        drop(tick);
        // The cancellation's final CQE arrives and frees the slot; nothing else fires.
        ringolo::time::sleep(Duration::from_millis(30)).await;
        let stats = ringolo::runtime::driver_stats().unwrap();
        assert_eq!(stats.cancelled, 1);
        assert_eq!(stats.unknown_cqes, 0);
    });
}

#[test]
fn tiny_ring_with_10k_concurrent_ops() {
    // SQ of 4 entries and CQ of 8: pushes flush a full SQ, and 10,000 timeouts expiring together
    // overflow the CQ, which must be flushed without losing a completion.
    let rt = Builder::new_current_thread()
        .entries(4)
        .cq_entries(8)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut ops: FuturesUnordered<_> = (0..10_000)
            .map(|_| Op::new(Timeout::new(Duration::from_millis(20))))
            .collect();
        let mut done = 0;
        while let Some(res) = ops.next().await {
            res.unwrap();
            done += 1;
        }
        assert_eq!(done, 10_000);
        let stats = ringolo::runtime::driver_stats().unwrap();
        assert!(stats.sq_full_flushes > 1000, "{stats:?}");
        assert!(stats.cq_overflow_flushes > 0, "{stats:?}");
        assert_eq!(stats.unknown_cqes, 0);
    });
}

#[test]
fn tiny_ring_with_10k_tasks_each_doing_io() {
    let rt = Builder::new_current_thread()
        .entries(4)
        .cq_entries(8)
        .build()
        .unwrap();
    rt.block_on(async {
        let handles: Vec<_> = (0..10_000)
            .map(|_| ringolo::spawn(async { Op::new(Nop).await.unwrap() }))
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    });
}

#[test]
fn op_outside_runtime_returns_an_error() {
    let res = futures::executor::block_on(Op::new(Nop));
    let err = res.unwrap_err();
    assert!(
        err.to_string().contains("outside a ringolo runtime"),
        "{err}"
    );
}

#[test]
fn io_outside_a_runtime_is_an_error_not_a_panic() {
    use futures::executor::block_on;
    // Ring ops and blocking-pool work (directory listing, canonicalize, name lookup) alike.
    let errs = [
        block_on(ringolo::fs::read("Cargo.toml")).unwrap_err(),
        block_on(ringolo::fs::read_dir(".")).unwrap_err(),
        block_on(ringolo::fs::canonicalize(".")).unwrap_err(),
        block_on(ringolo::fs::read_link("/proc/self/exe")).unwrap_err(),
        block_on(ringolo::fs::remove_dir_all("/nonexistent-ringolo")).unwrap_err(),
        block_on(ringolo::net::TcpStream::connect("localhost:1")).unwrap_err(),
        block_on(ringolo::net::TcpListener::bind("127.0.0.1:0")).unwrap_err(),
    ];
    for err in errs {
        assert!(
            err.to_string().contains("outside a ringolo runtime"),
            "{err}"
        );
    }
}

#[test]
fn write_then_read_roundtrip() {
    let rt = common::rt();
    rt.block_on(async {
        let (r, w) = common::pipe();
        let (n, _buf) = Op::new(Write::new(w, vec![7u8; 1000], u64::MAX)).await;
        assert_eq!(n.unwrap(), 1000);
        let mut got = Vec::with_capacity(1000);
        while got.len() < 1000 {
            let (n, buf) = Op::new(Read::new(r, got, u64::MAX)).await;
            n.unwrap();
            got = buf;
        }
        assert!(got.iter().all(|&b| b == 7));
        let _ = poll_fn(|_| Poll::Ready(())).await;
        common::close(r);
        common::close(w);
    });
}

//! Sleeps, timeouts, intervals, the paused clock, and kernel timeouts.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringolo::driver::ops::Timeout as KernelTimeout;
use ringolo::time::{self, sleep, timeout, Elapsed, MissedTickBehavior};
use ringolo::Op;

#[test]
fn aborted_sleep_does_not_shorten_a_fresh_one() {
    let rt = common::rt();
    rt.block_on(async {
        let h = ringolo::spawn(async { sleep(Duration::from_millis(100)).await });
        sleep(Duration::from_millis(10)).await;
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
        let start = Instant::now();
        sleep(Duration::from_millis(300)).await;
        assert!(
            start.elapsed() >= Duration::from_millis(300),
            "{:?}",
            start.elapsed()
        );
    });
}

#[test]
fn aborted_kernel_timeout_does_not_complete_a_fresh_one() {
    // The same scenario on the ring: the aborted op's slot is reused by the fresh op, and the
    // old op's late CQE must not complete it (generation-tagged user_data).
    let rt = common::rt();
    rt.block_on(async {
        let h =
            ringolo::spawn(async { Op::new(KernelTimeout::new(Duration::from_millis(100))).await });
        sleep(Duration::from_millis(10)).await;
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
        let start = Instant::now();
        Op::new(KernelTimeout::new(Duration::from_millis(300)))
            .await
            .unwrap();
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_millis(1000), "{took:?}");
    });
}

#[test]
fn many_concurrent_sleeps_complete_in_order_of_deadline() {
    let rt = common::rt();
    rt.block_on(async {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for i in (0..50u64).rev() {
            let order = order.clone();
            handles.push(ringolo::spawn(async move {
                sleep(Duration::from_millis(i * 2)).await;
                order.lock().unwrap().push(i);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let order = order.lock().unwrap();
        assert_eq!(order.len(), 50);
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    });
}

#[test]
fn sleep_zero_and_past_deadline_are_ready() {
    let rt = common::rt();
    rt.block_on(async {
        sleep(Duration::ZERO).await;
        time::sleep_until(Instant::now() - Duration::from_millis(5)).await;
        // A huge duration saturates instead of overflowing.
        assert!(
            sleep(Duration::MAX).deadline() > Instant::now() + Duration::from_secs(86400 * 365)
        );
    });
}

#[test]
fn timeout_elapses_and_passes_through() {
    let rt = common::rt();
    rt.block_on(async {
        let start = Instant::now();
        let r = timeout(Duration::from_millis(30), std::future::pending::<()>()).await;
        let err: Elapsed = r.unwrap_err();
        assert_eq!(err.to_string(), "deadline has elapsed");
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(timeout(Duration::from_secs(5), async { 5 }).await, Ok(5));
        assert_eq!(
            timeout(Duration::ZERO, async { 6 }).await,
            Ok(6),
            "a ready future wins"
        );
    });
}

#[test]
fn many_cancelled_timeouts_do_not_pile_up() {
    let rt = common::rt();
    rt.block_on(async {
        for _ in 0..50_000 {
            assert_eq!(timeout(Duration::from_secs(60), async { 1 }).await, Ok(1));
        }
        // Still accurate afterwards.
        let start = Instant::now();
        sleep(Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
    });
}

#[test]
fn interval_ticks_and_missed_tick_behaviors() {
    let rt = common::rt();
    rt.block_on(async {
        let mut iv = time::interval(Duration::from_millis(20));
        let start = Instant::now();
        let first = iv.tick().await;
        assert!(
            first.elapsed() < Duration::from_millis(15),
            "first tick is immediate"
        );
        iv.tick().await;
        iv.tick().await;
        assert!(start.elapsed() >= Duration::from_millis(40));

        // Burst: after a long stall, missed ticks fire back to back.
        let mut iv = time::interval(Duration::from_millis(10));
        iv.tick().await;
        std::thread::sleep(Duration::from_millis(35));
        let t = Instant::now();
        iv.tick().await;
        iv.tick().await;
        assert!(
            t.elapsed() < Duration::from_millis(8),
            "burst ticks are immediate"
        );

        // Delay: the schedule restarts a period after the late tick.
        let mut iv = time::interval(Duration::from_millis(10));
        iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
        iv.tick().await;
        std::thread::sleep(Duration::from_millis(35));
        iv.tick().await; // late tick, immediate
        let t = Instant::now();
        iv.tick().await;
        assert!(t.elapsed() >= Duration::from_millis(9), "{:?}", t.elapsed());

        // Skip: the next tick lands back on the original grid.
        let mut iv = time::interval(Duration::from_millis(10));
        iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let t0 = iv.tick().await;
        std::thread::sleep(Duration::from_millis(35));
        iv.tick().await;
        let next = iv.tick().await;
        let offset = (next - t0).as_millis();
        assert_eq!(offset % 10, 0, "on the grid: {offset}");
        assert!(offset >= 40, "{offset}");
    });
}

#[test]
fn paused_clock_auto_advances_and_advance_moves_time() {
    let rt = ringolo::runtime::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let wall = Instant::now();
        let virt = time::now();
        sleep(Duration::from_secs(3600)).await;
        assert!(time::now() - virt >= Duration::from_secs(3600));
        assert!(
            wall.elapsed() < Duration::from_secs(1),
            "an hour of virtual time passed at once"
        );

        let fired = Arc::new(AtomicUsize::new(0));
        let f = fired.clone();
        let h = ringolo::spawn(async move {
            sleep(Duration::from_secs(10)).await;
            f.fetch_add(1, Ordering::SeqCst);
        });
        ringolo::task::yield_now().await;
        time::advance(Duration::from_secs(5)).await;
        assert_eq!(fired.load(Ordering::SeqCst), 0);
        time::advance(Duration::from_secs(5)).await;
        h.await.unwrap();
        assert_eq!(fired.load(Ordering::SeqCst), 1);

        time::resume();
        let t = Instant::now();
        sleep(Duration::from_millis(20)).await;
        assert!(
            t.elapsed() >= Duration::from_millis(20),
            "real time again after resume"
        );
    });
}

#[test]
fn hundred_thousand_sleeps() {
    let rt = common::rt();
    rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..100_000u64)
            .map(|i| ringolo::spawn(async move { sleep(Duration::from_millis(1 + i % 10)).await }))
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        assert!(start.elapsed() < Duration::from_secs(10));
    });
}

#[test]
#[should_panic(expected = "outside a ringolo runtime")]
fn sleep_outside_runtime_panics_clearly() {
    futures::executor::block_on(sleep(Duration::from_millis(1)));
}

#[ringolo::test(start_paused = true)]
async fn test_macro_start_paused() {
    let virt = time::now();
    let wall = Instant::now();
    sleep(Duration::from_secs(600)).await;
    assert!(time::now() - virt >= Duration::from_secs(600));
    assert!(wall.elapsed() < Duration::from_secs(1));
}

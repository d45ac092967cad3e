//! Building, running, nesting, dropping and waking runtimes.

mod common;

use std::time::{Duration, Instant};

use ringolo::runtime::{BuildErrorKind, Builder};

#[test]
fn plain_thread_wakes_a_task_promptly() {
    let rt = common::rt();
    rt.block_on(async {
        let (tx, rx) = futures::channel::oneshot::channel::<u32>();
        let start = Instant::now();
        let waiter = ringolo::spawn(async move { rx.await.unwrap() });
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            tx.send(42).unwrap();
        });
        assert_eq!(waiter.await.unwrap(), 42);
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(50), "{waited:?}");
        assert!(
            waited < Duration::from_millis(500),
            "remote wake was slow: {waited:?}"
        );
        t.join().unwrap();
    });
    assert!(
        rt.remote_unparks() >= 1,
        "the parked runtime was woken through its eventfd"
    );
}

#[test]
fn root_future_woken_from_plain_thread() {
    let rt = common::rt();
    let (tx, rx) = futures::channel::oneshot::channel::<&'static str>();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        tx.send("hi").unwrap();
    });
    assert_eq!(rt.block_on(rx).unwrap(), "hi");
    t.join().unwrap();
}

#[test]
fn idle_sleep_uses_almost_no_cpu() {
    let rt = common::rt();
    rt.block_on(async {
        let cpu0 = common::cpu_time();
        let wall = Instant::now();
        ringolo::time::sleep(Duration::from_secs(1)).await;
        let cpu = common::cpu_time() - cpu0;
        assert!(wall.elapsed() >= Duration::from_secs(1));
        // The runtime's thread must stay well under 50 ms, which rules out any busy loop.
        assert!(
            cpu < Duration::from_millis(50),
            "idle 1 s sleep burnt {cpu:?} of CPU"
        );
    });
}

#[test]
fn two_runtimes_one_after_another_on_one_thread() {
    for i in 0..3 {
        let rt = common::rt();
        let v = rt.block_on(async move {
            ringolo::time::sleep(Duration::from_millis(5)).await;
            ringolo::spawn(async move { i * 10 }).await.unwrap()
        });
        assert_eq!(v, i * 10);
        // block_on twice on the same runtime works too.
        assert_eq!(rt.block_on(async { 1 }), 1);
        drop(rt);
    }
}

#[test]
fn two_live_runtimes_interleaved() {
    let a = common::rt();
    let b = common::rt();
    let ha = a.spawn(async { "a" });
    let hb = b.spawn(async { "b" });
    assert_eq!(b.block_on(hb).unwrap(), "b");
    assert_eq!(a.block_on(ha).unwrap(), "a");
}

#[test]
fn nested_block_on_panics_with_a_clear_message() {
    let rt = common::rt();
    let inner = common::rt();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { inner.block_on(async {}) })
    }));
    let msg = common::panic_message(res.unwrap_err());
    assert!(
        msg.contains("Cannot start a runtime from within a runtime"),
        "{msg}"
    );
    // Both runtimes still work afterwards.
    assert_eq!(rt.block_on(async { 2 }), 2);
    assert_eq!(inner.block_on(async { 3 }), 3);
}

#[test]
fn runtime_moves_to_another_thread_between_block_ons() {
    let rt = common::rt();
    rt.block_on(async {
        ringolo::driver::Op::new(ringolo::driver::ops::Nop)
            .await
            .unwrap()
    });
    let rt = std::thread::spawn(move || {
        rt.block_on(async {
            ringolo::time::sleep(Duration::from_millis(2)).await;
            ringolo::driver::Op::new(ringolo::driver::ops::Nop)
                .await
                .unwrap();
        });
        rt
    })
    .join()
    .unwrap();
    rt.block_on(async {
        ringolo::driver::Op::new(ringolo::driver::ops::Nop)
            .await
            .unwrap()
    });
}

#[test]
fn impossible_setup_returns_typed_error() {
    let err = Builder::new_current_thread()
        .entries(1 << 20)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::InvalidConfig);
    let msg = err.to_string();
    assert!(msg.contains("EINVAL") && msg.contains("entries"), "{msg}");
    assert_eq!(
        err.os_error().and_then(|e| e.raw_os_error()),
        Some(libc::EINVAL)
    );

    let err = Builder::new_current_thread()
        .entries(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::InvalidConfig);

    let err = Builder::new_current_thread()
        .entries(8)
        .cq_entries(1 << 30)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::InvalidConfig);
}

#[test]
fn main_macro_prints_setup_error_and_exits_nonzero() {
    // Re-run this test binary as a child that enters `block_on_main` with an impossible ring.
    if std::env::var_os("RINGOLO_CHILD_MAIN").is_some() {
        let mut b = Builder::new_current_thread();
        b.entries(1 << 20);
        ringolo::__private::block_on_main(b, async { unreachable!("must not run") });
        unreachable!("block_on_main returns only by exiting");
    }
    let out = common::run_in_child(
        "main_macro_prints_setup_error_and_exits_nonzero",
        "RINGOLO_CHILD_MAIN",
        &["--nocapture"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("cannot start the runtime") && stderr.contains("EINVAL"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "no panic backtrace expected: {stderr}"
    );
}

#[test]
fn drop_waits_for_cancelled_ops_without_hanging() {
    let rt = Builder::new_current_thread()
        .shutdown_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (r, w) = common::pipe();
    rt.block_on(async move {
        for _ in 0..50 {
            ringolo::spawn(async move {
                let _ = ringolo::driver::Op::new(ringolo::driver::ops::Read::new(
                    r,
                    Vec::with_capacity(64),
                    u64::MAX,
                ))
                .await;
            });
        }
        ringolo::time::sleep(Duration::from_millis(5)).await;
    });
    let start = Instant::now();
    let before = rt.driver_stats();
    drop(rt);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "drop took {:?}",
        start.elapsed()
    );
    assert_eq!(before.leaked, 0);
    // The reads were cancelled, so the pipe still holds what we write now.
    common::write_all(w, b"ok");
    let mut buf = [0u8; 2];
    // SAFETY: reading into a local array.
    assert_eq!(unsafe { libc::read(r, buf.as_mut_ptr().cast(), 2) }, 2);
    assert_eq!(&buf, b"ok");
    common::close(r);
    common::close(w);
}

#[test]
fn driver_stats_from_inside_block_on_does_not_deadlock() {
    let rt = common::rt();
    let inside = rt.block_on(async {
        ringolo::driver::Op::new(ringolo::driver::ops::Nop)
            .await
            .unwrap();
        rt.driver_stats()
    });
    assert!(inside.sqes_pushed >= 1);
    assert!(rt.driver_stats().cqes >= 1);
}

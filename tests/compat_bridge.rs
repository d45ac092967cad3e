//! compat's Tokio bridge: library code that calls the real Tokio's runtime (`::tokio::spawn`,
//! `::tokio::time`, `Handle::current()`) works on compat's threads, Tokio's blocking-region
//! panics hold there, and with the bridge off those calls panic as they would without Tokio.
#![cfg(feature = "tokio-bridge")]

use std::time::Duration;

use ringolo::compat as rt;

/// A panic payload's message.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn runtimes() -> Vec<rt::runtime::Runtime> {
    vec![
        rt::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        rt::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    ]
}

#[test]
fn real_tokio_spawn_time_and_handle_work_inside_compat_tasks() {
    for runtime in runtimes() {
        let out = runtime.block_on(async {
            // From a compat task: spawn onto Tokio, sleep on Tokio's timer, and await the
            // join from compat.
            let task = rt::spawn(async {
                let handle = ::tokio::runtime::Handle::current();
                let joined = handle
                    .spawn(async {
                        ::tokio::time::sleep(Duration::from_millis(20)).await;
                        7u32
                    })
                    .await
                    .unwrap();
                let started = std::time::Instant::now();
                ::tokio::time::sleep(Duration::from_millis(30)).await;
                assert!(started.elapsed() >= Duration::from_millis(30));
                joined + ::tokio::spawn(async { 1u32 }).await.unwrap()
            });
            // From the block_on future itself, and from the blocking pool.
            let from_block_on = ::tokio::spawn(async { 10u32 }).await.unwrap();
            let from_pool = rt::task::spawn_blocking(|| {
                ::tokio::runtime::Handle::current().block_on(async { 100u32 })
            })
            .await
            .unwrap();
            task.await.unwrap() + from_block_on + from_pool
        });
        assert_eq!(out, 118);
    }
    let m = rt::runtime::tokio_bridge_metrics();
    assert!(m.started);
    assert!(m.unparks > 0, "work crossed to the bridge: {m:?}");
}

#[test]
fn blocking_calls_of_tokio_sync_panic_inside_compat_tasks_as_under_tokio() {
    for runtime in runtimes() {
        runtime.block_on(async {
            let (tx, mut rx) = ::tokio::sync::mpsc::channel::<u32>(1);
            // Inside a task: Tokio's "Cannot block the current thread" panic.
            let res = rt::spawn(async move { rx.blocking_recv() }).await;
            let err = res.unwrap_err();
            assert!(err.is_panic());
            let msg = panic_text(err.into_panic());
            assert!(
                msg.contains("Cannot block the current thread from within a runtime"),
                "{msg}"
            );
            // On the blocking pool it blocks and works.
            let (tx2, mut rx2) = ::tokio::sync::mpsc::channel::<u32>(1);
            let got = rt::task::spawn_blocking(move || rx2.blocking_recv());
            tx2.send(5).await.unwrap();
            assert_eq!(got.await.unwrap(), Some(5));
            drop(tx);
        });
    }
}

#[test]
fn block_in_place_leaves_the_tokio_runtime_too() {
    let runtime = rt::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let got = runtime.block_on(async {
        rt::spawn(async {
            let (tx, rx) = ::tokio::sync::oneshot::channel::<u32>();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                tx.send(9).unwrap();
            });
            // Tokio allows blocking calls inside block_in_place; so must compat's.
            rt::task::block_in_place(move || rx.blocking_recv().unwrap())
        })
        .await
        .unwrap()
    });
    assert_eq!(got, 9);
}

#[test]
fn with_the_bridge_off_tokio_calls_panic_with_tokios_message() {
    let runtime = rt::runtime::Builder::new_current_thread()
        .tokio_bridge(false)
        .enable_all()
        .build()
        .unwrap();
    let err = runtime.block_on(async {
        rt::spawn(async {
            ::tokio::spawn(async {});
        })
        .await
        .unwrap_err()
    });
    let msg = panic_text(err.into_panic());
    assert!(msg.contains("there is no reactor running"), "{msg}");
    // And compat itself is unaffected.
    assert_eq!(
        runtime.block_on(async { rt::spawn(async { 3 }).await.unwrap() }),
        3
    );
}

#[test]
fn nested_block_on_still_gets_compats_panic() {
    let runtime = rt::runtime::Builder::new_current_thread().build().unwrap();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            let inner = rt::runtime::Builder::new_current_thread().build().unwrap();
            inner.block_on(async {});
        })
    }));
    let msg = panic_text(res.unwrap_err());
    assert!(
        msg.contains("Cannot start a runtime from within a runtime"),
        "{msg}"
    );
}

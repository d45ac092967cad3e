//! `task::Builder` (name, tags, options) and `task::current()`.

use std::time::Duration;

use ringolo::runtime::Builder as RtBuilder;
use ringolo::task::{self, TaskOpts};

#[test]
fn name_and_tags_are_seen_from_inside_the_task_on_both_flavors() {
    for rt in [
        RtBuilder::new_current_thread().build().unwrap(),
        RtBuilder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ] {
        rt.block_on(async {
            assert_eq!(task::current(), None, "block_on's future is not a task");
            let handles: Vec<_> = (0..64)
                .map(|i| {
                    task::Builder::new()
                        .name(format!("conn-{i}"))
                        .tag("db")
                        .tag("primary")
                        .spawn(async move {
                            // Across yields (and, multi-thread, steals) the task keeps them.
                            for _ in 0..3 {
                                task::yield_now().await;
                                ringolo::time::sleep(Duration::from_micros(100)).await;
                            }
                            task::current().unwrap()
                        })
                })
                .collect();
            for (i, h) in handles.into_iter().enumerate() {
                let id = h.id();
                let info = h.await.unwrap();
                assert_eq!(info.id, id);
                assert_eq!(info.name, Some(format!("conn-{i}")));
                assert_eq!(info.tags, ["db", "primary"]);
            }
        });
    }
}

#[test]
fn a_plain_spawn_after_a_named_one_gets_no_name() {
    let rt = RtBuilder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let named = task::Builder::new()
            .name("a")
            .spawn(async { task::current().unwrap() });
        let plain = ringolo::spawn(async { task::current().unwrap() });
        let tags_only = task::Builder::new()
            .tag("t")
            .spawn(async { task::current().unwrap() });
        let bare = task::Builder::new().spawn(async { task::current().unwrap() });
        assert_eq!(named.await.unwrap().name.as_deref(), Some("a"));
        let plain = plain.await.unwrap();
        assert_eq!((plain.name, plain.tags.len()), (None, 0));
        let tags_only = tags_only.await.unwrap();
        assert_eq!((tags_only.name, tags_only.tags), (None, vec!["t"]));
        let bare = bare.await.unwrap();
        assert_eq!((bare.name, bare.tags.len()), (None, 0));
    });
    assert_eq!(task::current(), None, "outside the runtime");
}

#[test]
fn a_builder_spawn_that_panics_outside_a_runtime_leaves_nothing_behind() {
    let refused = std::panic::catch_unwind(|| {
        task::Builder::new().name("orphan").spawn(async {});
    });
    assert!(refused.is_err(), "spawning outside a runtime panics");
    // The next task allocated on this thread must not inherit the name.
    let rt = RtBuilder::new_current_thread().build().unwrap();
    let info = rt.block_on(async { ringolo::spawn(async { task::current().unwrap() }).await });
    assert_eq!(info.unwrap().name, None);
}

#[test]
fn builder_options_apply() {
    let rt = RtBuilder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let pinned = task::Builder::new()
            .name("pinned")
            .opts(TaskOpts::STICKY)
            .spawn(async {
                let first = ringolo::runtime::worker_index();
                for _ in 0..200 {
                    task::yield_now().await;
                    assert_eq!(
                        ringolo::runtime::worker_index(),
                        first,
                        "a sticky task moved"
                    );
                }
            });
        // Load on both workers, so a task that could move would.
        let busy: Vec<_> = (0..400)
            .map(|_| {
                ringolo::spawn(async {
                    let t0 = std::time::Instant::now();
                    while t0.elapsed() < Duration::from_micros(50) {}
                    task::yield_now().await;
                })
            })
            .collect();
        pinned.await.unwrap();
        for b in busy {
            b.await.unwrap();
        }
    });
}

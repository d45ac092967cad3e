//! `LocalSet`, `LocalRuntime` and `block_in_place`: tasks that are not `Send` stay on their
//! set's thread (also when aborted or dropped from elsewhere), and a multi-thread runtime keeps
//! running while its workers block — with spare workers when all of them do.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use ringolo::runtime::Builder;
use ringolo::task::{self, LocalSet};

/// Panics when dropped on another thread than the one that made it; not `Send` (an `Rc`).
struct ThreadBound(std::thread::ThreadId, std::marker::PhantomData<Rc<()>>);

impl ThreadBound {
    fn new() -> ThreadBound {
        ThreadBound(std::thread::current().id(), std::marker::PhantomData)
    }
}

impl Drop for ThreadBound {
    fn drop(&mut self) {
        assert_eq!(
            self.0,
            std::thread::current().id(),
            "dropped on another thread"
        );
    }
}

#[test]
fn local_tasks_run_on_the_set_thread_and_share_rc() {
    for rt in [
        Builder::new_current_thread().build().unwrap(),
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ] {
        let local = LocalSet::new();
        let me = std::thread::current().id();
        let n = local.block_on(&rt, async move {
            let shared = Rc::new(Cell::new(0));
            let mut joins = Vec::new();
            for i in 0..100 {
                let s = shared.clone();
                joins.push(task::spawn_local(async move {
                    assert_eq!(std::thread::current().id(), me);
                    task::yield_now().await;
                    s.set(s.get() + i);
                }));
            }
            for j in joins {
                j.await.unwrap();
            }
            shared.get()
        });
        assert_eq!(n, (0..100).sum::<i32>());
    }
}

#[test]
fn aborting_a_local_task_from_another_thread_drops_it_on_its_own() {
    let rt = Builder::new_current_thread().build().unwrap();
    let local = LocalSet::new();
    local.block_on(&rt, async {
        let bound = ThreadBound::new();
        let join = task::spawn_local(async move {
            let _keep = bound;
            std::future::pending::<()>().await;
        });
        task::yield_now().await;
        let abort = join.abort_handle();
        std::thread::spawn(move || abort.abort()).join().unwrap();
        assert!(join.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn dropping_the_set_drops_its_tasks_there() {
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let local = LocalSet::new();
    for _ in 0..10 {
        // Moved into the future: dropped with it, even though it never runs.
        let count = Count(drops.clone());
        let bound = ThreadBound::new();
        drop(local.spawn_local(async move {
            let _keep = (bound, count);
            std::future::pending::<()>().await;
        }));
    }
    drop(local);
    assert_eq!(drops.load(SeqCst), 10);
}

#[test]
fn awaiting_the_set_runs_everything_spawned_into_it() {
    let rt = Builder::new_current_thread().build().unwrap();
    let local = LocalSet::new();
    let count = Rc::new(Cell::new(0));
    for _ in 0..5 {
        let c = count.clone();
        local.spawn_local(async move {
            let c2 = c.clone();
            task::spawn_local(async move { c2.set(c2.get() + 1) });
            c.set(c.get() + 1);
        });
    }
    rt.block_on(local);
    assert_eq!(count.get(), 10);
}

#[test]
#[should_panic(expected = "`spawn_local` called from outside of a `task::LocalSet`")]
fn spawn_local_outside_a_set_panics() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        task::spawn_local(async {});
    });
}

#[test]
fn local_runtime_spawns_local_tasks_in_and_out_of_block_on() {
    let rt = Builder::new_current_thread().build_local().unwrap();
    let early = rt.spawn_local(async { Rc::new(1) });
    let out = rt.block_on(async {
        let inner = task::spawn_local(async { Rc::new(2) }).await.unwrap();
        *inner + *early.await.unwrap()
    });
    assert_eq!(out, 3);
    let _g = rt.enter();
    let later = task::spawn_local(async { 4 });
    assert_eq!(rt.block_on(later).unwrap(), 4);
}

#[test]
#[should_panic(expected = "can call blocking only when running on the multi-threaded runtime")]
fn block_in_place_on_a_current_thread_runtime_panics() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async { task::block_in_place(|| ()) });
}

#[test]
fn block_in_place_lets_the_other_workers_run_the_rest() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    rt.block_on(async move {
        let blocker = ringolo::spawn(async move {
            task::block_in_place(|| rx.recv().unwrap());
        });
        let mut others = Vec::new();
        for i in 0..100 {
            others.push(ringolo::spawn(async move {
                ringolo::time::sleep(Duration::from_millis(1)).await;
                i
            }));
        }
        let mut sum = 0;
        for o in others {
            sum += o.await.unwrap();
        }
        assert_eq!(sum, (0..100).sum::<i32>());
        tx.send(()).unwrap();
        blocker.await.unwrap();
    });
}

/// Every worker blocked at once (four blocked tasks on two workers): spare workers keep the
/// runtime going, and retire afterwards.
#[test]
fn spares_take_over_when_every_worker_blocks() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(5));
    for _ in 0..4 {
        let b = barrier.clone();
        rt.spawn(async move {
            task::block_in_place(move || {
                b.wait();
                b.wait();
            })
        });
    }
    // All four blocked at once: two of them on spares (waited for off this thread, so a
    // runtime without spares fails here instead of hanging).
    let (met_tx, met_rx) = std::sync::mpsc::channel();
    let b = barrier.clone();
    std::thread::spawn(move || {
        b.wait();
        let _ = met_tx.send(());
    });
    met_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("four tasks were inside block_in_place at once on two workers");
    let counter = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..1000 {
        let c = counter.clone();
        let tx = tx.clone();
        rt.spawn(async move {
            if c.fetch_add(1, SeqCst) + 1 == 1000 {
                tx.send(()).unwrap();
            }
        });
    }
    rx.recv_timeout(Duration::from_secs(20))
        .expect("tasks ran while every worker was blocked");
    barrier.wait();
    // The runtime still works once they are back, and drops cleanly.
    assert_eq!(
        rt.block_on(async { ringolo::spawn(async { 9 }).await })
            .unwrap(),
        9
    );
}

#[test]
fn shutdown_does_not_wait_for_a_worker_stuck_in_block_in_place() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    rt.spawn(async move {
        // Unblocked only when the task holding the sender is cancelled by shutdown.
        task::block_in_place(|| {
            let _ = rx.recv();
        });
    });
    rt.spawn(async move {
        let _tx = tx;
        std::future::pending::<()>().await;
    });
    std::thread::sleep(Duration::from_millis(50));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(rt);
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the runtime shut down");
}

/// Regression: a spare started and retired over and over (one worker, one spare slot) must
/// leave the idle bookkeeping as it found it — a spare that retired while searching once kept
/// every parked worker from being woken again.
#[test]
fn spares_come_and_go_without_stranding_work() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = rt.handle();
    let rt = Arc::new(rt);
    let rt2 = rt.clone();
    std::thread::spawn(move || {
        for _ in 0..200 {
            let h = h.clone();
            rt2.block_on(async move {
                ringolo::spawn(async move {
                    task::block_in_place(|| h.block_on(async { task::block_in_place(|| {}) }));
                })
                .await
                .unwrap()
            });
        }
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("200 rounds of nested block_in_place finished");
}

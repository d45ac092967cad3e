//! Loom models of the task state machine: poll, wake, abort, join and drop racing on two
//! threads. Run with `RUSTFLAGS="--cfg ringolo_loom" cargo test --lib --release loom_`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use loom::sync::Mutex;

use super::{new_task, Id, Notified, Schedule, Task};

/// A scheduler that only queues: the model's main thread runs what it queued.
#[derive(Default)]
struct Queue {
    queue: Mutex<VecDeque<Notified<Arc<Queue>>>>,
    owned: Mutex<Option<Task<Arc<Queue>>>>,
}

impl Schedule for Arc<Queue> {
    fn schedule(&self, task: Notified<Self>) {
        self.queue.lock().unwrap().push_back(task);
    }
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.lock().unwrap().take()
    }
}

fn spawn<F>(sched: &Arc<Queue>, f: F) -> (Notified<Arc<Queue>>, super::JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (task, notified, join) = new_task(f, sched.clone(), Id::next());
    *sched.owned.lock().unwrap() = Some(task);
    (notified, join)
}

fn run_all(sched: &Arc<Queue>) {
    loop {
        let next = sched.queue.lock().unwrap().pop_front();
        match next {
            Some(task) => task.run(),
            None => return,
        }
    }
}

/// Pending on its first poll, handing its waker out; ready on the second.
struct OnceThenReady {
    waker_slot: Arc<Mutex<Option<Waker>>>,
    polled: bool,
}

impl Future for OnceThenReady {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.polled {
            return Poll::Ready(7);
        }
        self.polled = true;
        *self.waker_slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn loom_join_races_completion() {
    loom::model(|| {
        let sched = Arc::new(Queue::default());
        let (notified, join) = spawn(&sched, async { 5u32 });
        let t = loom::thread::spawn(move || loom::future::block_on(join).unwrap());
        notified.run();
        run_all(&sched);
        assert_eq!(t.join().unwrap(), 5);
    });
}

#[test]
fn loom_remote_wake_races_poll() {
    loom::model(|| {
        let sched = Arc::new(Queue::default());
        let slot = Arc::new(Mutex::new(None::<Waker>));
        let fut = OnceThenReady {
            waker_slot: slot.clone(),
            polled: false,
        };
        let (notified, join) = spawn(&sched, fut);
        let waker_thread = loom::thread::spawn(move || loop {
            if let Some(w) = slot.lock().unwrap().take() {
                w.wake();
                return;
            }
            loom::thread::yield_now();
        });
        notified.run();
        waker_thread.join().unwrap();
        run_all(&sched);
        assert!(join.is_finished());
        assert_eq!(loom::future::block_on(join).unwrap(), 7);
    });
}

#[test]
fn loom_abort_races_poll_and_join_drop() {
    loom::model(|| {
        let sched = Arc::new(Queue::default());
        let slot = Arc::new(Mutex::new(None::<Waker>));
        let fut = OnceThenReady {
            waker_slot: slot.clone(),
            polled: false,
        };
        let (notified, join) = spawn(&sched, fut);
        let abort = join.abort_handle();
        let t = loom::thread::spawn(move || {
            abort.abort();
            drop(join);
        });
        notified.run();
        t.join().unwrap();
        run_all(&sched);
        // Whether the abort came before or after the first poll, the task is finished and every
        // reference released (loom checks the cell is freed and nothing leaks).
        drop(slot.lock().unwrap().take());
    });
}

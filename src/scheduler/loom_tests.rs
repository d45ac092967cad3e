//! Loom models of the multi-thread scheduler's synchronisation (queue.rs): push/pop racing a
//! steal of half the queue, the park/unpark handshake, and the sleeper registry racing a
//! producer. Run with `RUSTFLAGS="--cfg ringolo_loom" cargo test --lib --release loom_`.
//!
//! The eventfd of a real worker is modelled by a flag behind a mutex and condvar; a lost
//! wakeup leaves the sleeper blocked for good, which loom reports as a deadlock.

use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use super::queue::{Idle, ParkState, RunQueue};

/// The modelled eventfd: readable once written, until read; a reader blocks until then.
struct EventFd {
    readable: Mutex<bool>,
    cv: Condvar,
}

impl EventFd {
    fn new() -> EventFd {
        EventFd {
            readable: Mutex::new(false),
            cv: Condvar::new(),
        }
    }
    fn write(&self) {
        *self.readable.lock().unwrap() = true;
        self.cv.notify_one();
    }
    fn wait(&self) {
        let mut r = self.readable.lock().unwrap();
        while !*r {
            r = self.cv.wait(r).unwrap();
        }
        *r = false;
    }
}

#[test]
fn loom_push_pop_and_steal_half_lose_and_duplicate_nothing() {
    loom::model(|| {
        let owner = Arc::new(RunQueue::new());
        let thief_q = Arc::new(RunQueue::new());
        owner.push_back(1u32);
        owner.push_back(2);
        let thief = {
            let (owner, thief_q) = (owner.clone(), thief_q.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                got.extend(owner.steal_half_into(&thief_q, usize::MAX));
                while let Some(x) = thief_q.pop_front() {
                    got.push(x);
                }
                got
            })
        };
        owner.push_back(3);
        let mut mine = Vec::new();
        while let Some(x) = owner.pop_front() {
            mine.push(x);
        }
        let mut all = thief.join().unwrap();
        // Whatever the thief moved but did not pop yet is still in its queue.
        all.extend(thief_q.drain());
        all.extend(mine);
        all.extend(owner.drain());
        all.sort_unstable();
        assert_eq!(all, vec![1, 2, 3]);
    });
}

#[test]
fn loom_steal_takes_the_older_half_in_order() {
    loom::model(|| {
        let owner = Arc::new(RunQueue::new());
        for i in 0..4u32 {
            owner.push_back(i);
        }
        let thief_q = Arc::new(RunQueue::new());
        let t = {
            let (owner, thief_q) = (owner.clone(), thief_q.clone());
            thread::spawn(move || owner.steal_half_into(&thief_q, usize::MAX))
        };
        let popped = owner.pop_front();
        let stolen = t.join().unwrap();
        let mut rest = thief_q.drain();
        // Each side's view stays FIFO.
        if let Some(s) = stolen {
            rest.insert(0, s);
        }
        assert!(rest.windows(2).all(|w| w[0] < w[1]), "{rest:?}");
        let mut all: Vec<u32> = rest
            .into_iter()
            .chain(popped)
            .chain(owner.drain())
            .collect();
        all.sort_unstable();
        assert_eq!(all, vec![0, 1, 2, 3]);
    });
}

#[test]
fn loom_unpark_is_never_lost() {
    loom::model(|| {
        let park = Arc::new(ParkState::new());
        let inbox = Arc::new(RunQueue::new());
        let efd = Arc::new(EventFd::new());
        let waker = {
            let (park, inbox, efd) = (park.clone(), inbox.clone(), efd.clone());
            thread::spawn(move || {
                inbox.push_back(7u32);
                if park.unpark() {
                    efd.write();
                }
            })
        };
        // The worker: look, announce sleep, look again, sleep (queue rule 4).
        let got = loop {
            if let Some(x) = inbox.pop_front() {
                break x;
            }
            if park.try_park() {
                if inbox.is_empty() {
                    efd.wait();
                }
                park.unparked();
            }
        };
        assert_eq!(got, 7);
        waker.join().unwrap();
    });
}

#[test]
fn loom_new_work_reaches_a_worker_going_to_sleep() {
    loom::model(|| {
        let idle = Arc::new(Idle::new());
        let queue = Arc::new(RunQueue::new());
        let park = Arc::new(ParkState::new());
        let efd = Arc::new(EventFd::new());
        let producer = {
            let (idle, queue, park, efd) = (idle.clone(), queue.clone(), park.clone(), efd.clone());
            thread::spawn(move || {
                queue.push_back(1u32);
                if let Some(w) = idle.worker_to_notify() {
                    assert_eq!(w, 0);
                    if park.unpark() {
                        efd.write();
                    }
                }
            })
        };
        // Worker 0 found nothing and goes to sleep (queue rule 3), then looks for work when
        // it wakes up.
        let got = loop {
            if let Some(x) = queue.pop_front() {
                break x;
            }
            // As `Worker::park`: register, look at the stealable queues once more, announce
            // sleep, sleep.
            idle.sleep(0);
            if queue.is_empty() && park.try_park() {
                efd.wait();
                park.unparked();
            }
            if !idle.wake(0) {
                // Woken as a searcher: stop searching once work is found (or not).
                idle.stop_searching();
            }
        };
        assert_eq!(got, 1);
        producer.join().unwrap();
    });
}

//! Every combination of task outcome × JoinHandle handling × abort timing: the output or error
//! seen, and that the future and the output are each dropped exactly once.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Outcome {
    Ready,
    ReadyAfterSleep,
    Panic,
    PanicAfterSleep,
    Forever,
}

#[derive(Clone, Copy, Debug)]
enum Join {
    Await,
    DropEarly,
    DropLate,
}

#[derive(Clone, Copy, Debug)]
enum Abort {
    Never,
    BeforeFirstPoll,
    WhilePending,
    AfterFinish,
    FromOtherThread,
}

/// Counts its drops.
struct Tracked(Arc<AtomicUsize>);
impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn run_case(outcome: Outcome, join: Join, abort: Abort) {
    let future_drops = Arc::new(AtomicUsize::new(0));
    let output_drops = Arc::new(AtomicUsize::new(0));
    let rt = common::rt();
    let (fd, od) = (future_drops.clone(), output_drops.clone());
    let result = rt.block_on(async move {
        let guard = Tracked(fd);
        let out = Tracked(od);
        let h = ringolo::spawn(async move {
            let _guard = guard;
            match outcome {
                Outcome::Ready => {}
                Outcome::ReadyAfterSleep => ringolo::time::sleep(Duration::from_millis(2)).await,
                Outcome::Panic => panic!("case panic"),
                Outcome::PanicAfterSleep => {
                    ringolo::time::sleep(Duration::from_millis(2)).await;
                    panic!("case panic")
                }
                Outcome::Forever => std::future::pending::<()>().await,
            }
            out
        });
        match abort {
            Abort::BeforeFirstPoll => h.abort(),
            Abort::WhilePending => {
                ringolo::task::yield_now().await;
                h.abort();
            }
            Abort::AfterFinish => {
                ringolo::time::sleep(Duration::from_millis(10)).await;
                h.abort();
            }
            Abort::FromOtherThread => {
                let ah = h.abort_handle();
                std::thread::spawn(move || ah.abort()).join().unwrap();
            }
            Abort::Never => {}
        }
        let res = match join {
            Join::Await => Some(ringolo::time::timeout(Duration::from_millis(200), h).await),
            Join::DropEarly => {
                drop(h);
                None
            }
            Join::DropLate => {
                ringolo::time::sleep(Duration::from_millis(10)).await;
                drop(h);
                None
            }
        };
        // Let a detached task finish.
        ringolo::time::sleep(Duration::from_millis(5)).await;
        res.map(|r| {
            r.map(|r| {
                r.map(|_out| ())
                    .map_err(|e| (e.is_cancelled(), e.is_panic()))
            })
        })
    });
    drop(rt);

    let case = format!("{outcome:?} {join:?} {abort:?}");
    let aborted_early = matches!(abort, Abort::BeforeFirstPoll | Abort::FromOtherThread);
    let finishes_unaborted = matches!(outcome, Outcome::Ready | Outcome::ReadyAfterSleep)
        && (matches!(abort, Abort::Never | Abort::AfterFinish)
            || (matches!(abort, Abort::WhilePending) && matches!(outcome, Outcome::Ready)));
    if let Some(res) = result {
        match res {
            Err(_elapsed) => assert!(
                matches!(outcome, Outcome::Forever) && matches!(abort, Abort::Never),
                "{case}: timed out"
            ),
            Ok(Ok(())) => assert!(
                finishes_unaborted && !aborted_early,
                "{case}: unexpected success"
            ),
            Ok(Err((cancelled, panicked))) => {
                assert!(cancelled != panicked, "{case}");
                if panicked {
                    assert!(
                        matches!(outcome, Outcome::Panic | Outcome::PanicAfterSleep),
                        "{case}"
                    );
                }
                if cancelled {
                    assert!(
                        !matches!(abort, Abort::Never),
                        "{case}: cancelled without abort"
                    );
                }
            }
        }
    }
    // Whatever happened, by the time the runtime is gone the future was dropped exactly once,
    // and the output (if produced) exactly once.
    assert_eq!(future_drops.load(SeqCst), 1, "{case}: future drops");
    assert!(output_drops.load(SeqCst) <= 1, "{case}: output drops");
    if finishes_unaborted && !aborted_early {
        assert_eq!(output_drops.load(SeqCst), 1, "{case}: output never dropped");
    }
}

#[test]
fn all_combinations() {
    use Abort::*;
    use Join::*;
    use Outcome::*;
    for outcome in [Ready, ReadyAfterSleep, Panic, PanicAfterSleep, Forever] {
        for join in [Await, DropEarly, DropLate] {
            for abort in [
                Never,
                BeforeFirstPoll,
                WhilePending,
                AfterFinish,
                FromOtherThread,
            ] {
                run_case(outcome, join, abort);
            }
        }
    }
}

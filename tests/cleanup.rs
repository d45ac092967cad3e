//! Cleanup on the ring that owns it: a direct descriptor and a provided-buffer ring dropped on
//! another thread are undone by their ring's thread (its mailbox), and a cleanup that fails is
//! counted and then handled as `Builder::on_cleanup_error` says, for each policy. The failure
//! forced here is a real one: the close of a dropped file whose descriptor was never open
//! (`EBADF` from `IORING_OP_CLOSE`).

use std::io::Read;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ringolo::driver::DirectFd;
use ringolo::net::BufRing;
use ringolo::runtime::{Builder, OnCleanupError, Runtime};

fn ct(policy: OnCleanupError) -> Runtime {
    Builder::new_current_thread()
        .on_cleanup_error(policy)
        .build()
        .unwrap()
}

/// Let the ring's thread take its mail and finish what it submitted.
async fn turns() {
    for _ in 0..5 {
        ringolo::time::sleep(Duration::from_millis(2)).await;
    }
}

#[test]
fn a_direct_descriptor_dropped_on_a_plain_thread_is_released_by_its_ring() {
    let rt = ct(OnCleanupError::Panic);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (ours, _) = listener.accept().unwrap();
    let direct = rt.block_on(async {
        let direct = DirectFd::register(&ours).unwrap();
        drop(ours); // the ring's table now holds the socket's only reference
        direct
    });
    assert_eq!(rt.driver_stats().direct_slots_in_use, 1);
    std::thread::spawn(move || drop(direct)).join().unwrap();
    rt.block_on(turns());
    assert_eq!(
        rt.driver_stats().direct_slots_in_use,
        0,
        "the slot was not released on its ring"
    );
    // The kernel let go of the socket: the peer sees the end of the stream.
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(peer.read(&mut buf).unwrap(), 0, "the socket stayed open");
    assert_eq!(rt.metrics().cleanup_failures(), 0);
}

#[test]
fn a_direct_descriptor_dropped_on_another_worker_is_released_by_its_own() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (ours, _) = listener.accept().unwrap();
    rt.block_on(async move {
        // Registered on one worker's ring; that worker is then kept busy by a pinned task,
        // so the task that drops the descriptor runs on the other one.
        let (tx, rx) = std::sync::mpsc::channel();
        let home = ringolo::task::spawn_with(ringolo::task::TaskOpts::STICKY, async move {
            let direct = DirectFd::register(&ours).unwrap();
            drop(ours);
            let me = ringolo::runtime::worker_index().unwrap();
            tx.send((direct, me)).unwrap();
            // Pinned here with nothing to wait for: this worker is busy for 200 ms.
            let t0 = std::time::Instant::now();
            while t0.elapsed() < Duration::from_millis(200) {
                std::hint::spin_loop();
            }
        });
        let (direct, registered_on) = rx.recv().unwrap();
        let direct = Arc::new(Mutex::new(Some(direct)));
        for _ in 0..100 {
            let d = direct.clone();
            ringolo::spawn(async move {
                if ringolo::runtime::worker_index() != Some(registered_on) {
                    drop(d.lock().unwrap().take());
                }
            })
            .await
            .unwrap();
            if direct.lock().unwrap().is_none() {
                break;
            }
        }
        home.await.unwrap();
        assert!(
            direct.lock().unwrap().is_none(),
            "never ran on the other worker"
        );
    });
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(peer.read(&mut buf).unwrap(), 0, "the socket stayed open");
    assert_eq!(rt.metrics().cleanup_failures(), 0);
}

#[test]
fn a_buffer_ring_dropped_on_a_plain_thread_is_unregistered_by_its_ring() {
    let rt = ct(OnCleanupError::Panic);
    let ring = rt.block_on(async { BufRing::new(8, 256).unwrap() });
    assert_eq!(rt.driver_stats().buf_rings_registered, 1);
    std::thread::spawn(move || drop(ring)).join().unwrap();
    rt.block_on(turns());
    // Unregistered there, and its memory freed (the AddressSanitizer run checks the latter).
    assert_eq!(rt.driver_stats().buf_rings_registered, 0);
    assert_eq!(rt.metrics().cleanup_failures(), 0);
}

#[test]
fn a_multishot_accept_dropped_on_a_plain_thread_is_cancelled_by_its_ring() {
    use futures::StreamExt;
    let rt = ct(OnCleanupError::Panic);
    rt.block_on(async {
        let listener = ringolo::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = listener.incoming();
        assert!(
            futures::poll!(incoming.next()).is_pending(),
            "nobody connected yet"
        );
        std::thread::scope(|s| s.spawn(move || drop(incoming)).join().unwrap());
        turns().await;
        let before = ringolo::runtime::driver_stats().unwrap();
        let _client = std::net::TcpStream::connect(addr).unwrap();
        // Had the multishot accept stayed armed, it would take this connection during these
        // turns (and hold it for nobody): the accept below would never see it.
        turns().await;
        let accepted = ringolo::time::timeout(Duration::from_secs(2), listener.accept()).await;
        assert!(
            accepted.is_ok(),
            "the dropped multishot accept was still armed"
        );
        accepted.unwrap().unwrap();
        assert_eq!(
            ringolo::runtime::driver_stats().unwrap().reclaimed_fds,
            before.reclaimed_fds
        );
    });
    assert_eq!(rt.metrics().cleanup_failures(), 0);
}

/// A descriptor number far above any open-file limit: never open, so its close fails.
const NEVER_OPEN: i32 = i32::MAX - 7;

/// Drop a file whose close fails, on the ring (as a detached `IORING_OP_CLOSE`).
fn drop_a_file_whose_close_fails(rt: &Runtime) {
    rt.block_on(async {
        // SAFETY (of the test's contract with `from_raw_fd`): the number is never open, so
        // no one else's descriptor is closed; the close fails with EBADF, which is the point.
        let file = unsafe { ringolo::fs::File::from_raw_fd(NEVER_OPEN) };
        drop(file);
        turns().await;
    });
}

/// `tracing` warnings about failed cleanups, counted process-wide by a minimal subscriber.
static WARNINGS: AtomicUsize = AtomicUsize::new(0);

struct CountCleanupWarnings;

impl tracing::Subscriber for CountCleanupWarnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(bool);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, _: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0 |= format!("{v:?}").contains("cleanup failed");
            }
        }
        let mut m = Message(false);
        event.record(&mut m);
        if m.0 && *event.metadata().level() == tracing::Level::WARN {
            WARNINGS.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// One test for the four policies, one after another, so the process-wide warning count is
/// read with nothing else logging.
#[test]
fn each_policy_handles_a_forced_close_failure_as_it_says() {
    let _ = tracing::subscriber::set_global_default(CountCleanupWarnings);

    let rt = ct(OnCleanupError::Ignore);
    let before = WARNINGS.load(Ordering::SeqCst);
    drop_a_file_whose_close_fails(&rt);
    assert_eq!(rt.metrics().cleanup_failures(), 1, "Ignore still counts");
    assert_eq!(rt.driver_stats().cleanup_failures, 1);
    assert_eq!(
        WARNINGS.load(Ordering::SeqCst),
        before,
        "Ignore logs nothing"
    );
    drop(rt);

    let rt = ct(OnCleanupError::Log);
    let before = WARNINGS.load(Ordering::SeqCst);
    drop_a_file_whose_close_fails(&rt);
    assert_eq!(rt.metrics().cleanup_failures(), 1);
    assert_eq!(
        WARNINGS.load(Ordering::SeqCst),
        before + 1,
        "Log logs it once"
    );
    drop(rt);

    // A close is never tried again (the descriptor is released whatever close returns):
    // one failure, then logged as Log would.
    let rt = ct(OnCleanupError::Retry(3));
    let before = WARNINGS.load(Ordering::SeqCst);
    drop_a_file_whose_close_fails(&rt);
    assert_eq!(rt.metrics().cleanup_failures(), 1, "a close is not retried");
    assert_eq!(WARNINGS.load(Ordering::SeqCst), before + 1);
    drop(rt);

    let rt = ct(OnCleanupError::Panic);
    let metrics = rt.metrics();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop_a_file_whose_close_fails(&rt)
    }));
    let payload = panicked.expect_err("Panic did not panic");
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        msg.contains("cleanup failed") && msg.contains("closing a dropped file"),
        "{msg}"
    );
    assert_eq!(metrics.cleanup_failures(), 1);
    drop(rt);

    // The default is Log.
    let rt = Builder::new_current_thread().build().unwrap();
    let before = WARNINGS.load(Ordering::SeqCst);
    drop_a_file_whose_close_fails(&rt);
    assert_eq!(WARNINGS.load(Ordering::SeqCst), before + 1);
}

//! `ringolo::compat::hyper`: hyper's executor and timer on compat (feature `hyper`). The timer's
//! sleeps fire in deadline order on the runtime's clock (paused too), move in place on reset,
//! are `Send + Sync`; hyper's own HTTP/1 header timeout runs on them over a real socket.
#![cfg(feature = "hyper")]

use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Executor as _, Timer as _};
use ringolo::compat as tokio;
use ringolo::compat::hyper::{Executor, Timer};

fn assert_send_sync<T: Send + Sync>(_: &T) {}

#[tokio::test(start_paused = true)]
async fn timer_sleeps_fire_in_deadline_order_on_the_runtime_clock() {
    let timer = Timer::new();
    let start = timer.now();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for (name, sleep) in [
        ("30ms", timer.sleep(Duration::from_millis(30))),
        ("10ms", timer.sleep(Duration::from_millis(10))),
        (
            "until+20ms",
            timer.sleep_until(start + Duration::from_millis(20)),
        ),
        (
            "until+5ms",
            timer.sleep_until(start + Duration::from_millis(5)),
        ),
    ] {
        let order = order.clone();
        tasks.push(tokio::spawn(async move {
            sleep.await;
            order.lock().unwrap().push(name);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        *order.lock().unwrap(),
        ["until+5ms", "10ms", "until+20ms", "30ms"]
    );
    // `now` is the runtime's clock: paused, it moved only by what the sleeps needed.
    let waited = timer.now() - start;
    assert!(waited >= Duration::from_millis(30) && waited < Duration::from_millis(35));
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert!(timer.now() - start >= Duration::from_secs(3600));
}

#[tokio::test(start_paused = true)]
async fn timer_reset_moves_a_sleep_in_place_both_ways() {
    let timer = Timer::new();
    let start = timer.now();
    let mut sleep = timer.sleep(Duration::from_millis(10));
    // Later: not due at the old deadline.
    timer.reset(&mut sleep, start + Duration::from_millis(50));
    tokio::time::advance(Duration::from_millis(20)).await;
    assert!(futures::poll!(sleep.as_mut()).is_pending());
    tokio::time::advance(Duration::from_millis(30)).await;
    assert!(futures::poll!(sleep.as_mut()).is_ready());
    // Earlier, after it fired: it can be awaited again and is still compat's own sleep.
    let mut sleep = timer.sleep(Duration::from_secs(3600));
    let soon = timer.now() + Duration::from_millis(5);
    timer.reset(&mut sleep, soon);
    let ours = sleep
        .as_mut()
        .downcast_mut_pin::<tokio::time::Sleep>()
        .expect("reset keeps the same sleep");
    assert_eq!(ours.deadline().into_std(), soon);
    sleep.as_mut().await;
    assert!(timer.now() >= soon && timer.now() - start < Duration::from_secs(1));
}

/// A sleep some other timer made (never fires).
struct Foreign;

impl Future for Foreign {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl hyper::rt::Sleep for Foreign {}

#[tokio::test(start_paused = true)]
async fn timer_reset_replaces_another_timer_s_sleep() {
    let timer = Timer::new();
    let mut sleep: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Foreign);
    timer.reset(&mut sleep, timer.now() + Duration::from_millis(5));
    assert!(sleep.is::<tokio::time::Sleep>());
    sleep.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_sleeps_are_send_and_sync() {
    let sleep = tokio::time::sleep(Duration::from_millis(1));
    assert_send_sync(&sleep);
    let boxed = Timer::new().sleep(Duration::from_millis(1));
    assert_send_sync(&boxed);
    // Made on the test's thread, awaited on a worker.
    tokio::spawn(boxed).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executor_spawns_on_the_current_runtime() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    Executor::new().execute(async move {
        let name = std::thread::current().name().map(str::to_owned);
        tx.send(name).unwrap();
    });
    let name = rx.await.unwrap();
    assert_eq!(name.as_deref(), Some("tokio-runtime-worker"));
}

#[test]
#[should_panic(expected = "there is no reactor running")]
fn executor_outside_a_runtime_panics_with_tokio_s_message() {
    Executor::new().execute(async {});
}

/// hyper's HTTP/1 header read timeout needs a timer: ours closes a connection whose request
/// head does not arrive in time, and leaves a prompt one alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_s_header_read_timeout_runs_on_our_timer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(hyper::body::Bytes::from("ok")),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(Timer::new())
                    .header_read_timeout(Duration::from_millis(200))
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let (slow, prompt) = tokio::task::spawn_blocking(move || {
        let mut slow = std::net::TcpStream::connect(addr).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let start = Instant::now();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap(); // no blank line: head unfinished
        let mut got = Vec::new();
        let _ = slow.read_to_end(&mut got);
        let slow = (start.elapsed(), got);

        let mut prompt = std::net::TcpStream::connect(addr).unwrap();
        prompt
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        prompt
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut got = String::new();
        prompt.read_to_string(&mut got).unwrap();
        (slow, got)
    })
    .await
    .unwrap();
    let (took, body) = slow;
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );
    assert!(!String::from_utf8_lossy(&body).contains("200 OK"));
    assert!(prompt.starts_with("HTTP/1.1 200 OK"), "{prompt}");
    assert!(prompt.ends_with("ok"), "{prompt}");
}

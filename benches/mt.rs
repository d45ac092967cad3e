//! Multi-thread scheduler benchmarks: ringolo's work-stealing runtime against tokio's
//! multi-thread runtime, both with 2 workers, interleaved in one run. Tokio's own benchmark
//! shapes (benches/rt_multi_threaded.rs in tokio): spawn_many from inside a task and from
//! outside the runtime, yield_many, ping_pong, chained_spawn; plus an in-process TCP echo with
//! 64 connections. Wall time per op is the headline; process CPU per op beside it; ringolo's
//! unparks (eventfd writes that woke a parked worker) per 1,000 ops last.
//!
//! `cargo bench --bench mt` (add `quick` for fewer repetitions, or workload names to filter).

mod common;
use common::{median, process_cpu};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::oneshot;

const NUM_SPAWN: usize = 10_000;
const NUM_YIELD: usize = 1_000;
const YIELD_TASKS: usize = 200;
const NUM_PINGS: usize = 1_000;
const CHAIN: usize = 1_000;
const ECHO_CONNS: usize = 64;
const ECHO_RTS: usize = 32_000;

/// The sending side of a one-shot "all done" signal, shared by the tasks.
type Done = Arc<Mutex<Option<oneshot::Sender<()>>>>;

/// A one-shot "all done" signal, runtime-agnostic.
fn done_pair() -> (Done, oneshot::Receiver<()>) {
    let (tx, rx) = oneshot::channel();
    (Arc::new(Mutex::new(Some(tx))), rx)
}

fn fire(tx: &Mutex<Option<oneshot::Sender<()>>>) {
    if let Some(tx) = tx.lock().unwrap().take() {
        let _ = tx.send(());
    }
}

macro_rules! workloads {
    ($name:ident, $rt:ty, $spawn:path, $yield_now:path) => {
        mod $name {
            use super::*;

            pub fn spawn_many_local(rt: &$rt) {
                let (tx, rx) = done_pair();
                let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
                rt.block_on(async move {
                    $spawn(async move {
                        for _ in 0..NUM_SPAWN {
                            let (tx, rem) = (tx.clone(), rem.clone());
                            $spawn(async move {
                                if rem.fetch_sub(1, Ordering::Relaxed) == 1 {
                                    fire(&tx);
                                }
                            });
                        }
                    });
                    rx.await.unwrap();
                });
            }

            pub fn spawn_many_remote(rt: &$rt) {
                let (tx, rx) = done_pair();
                let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
                for _ in 0..NUM_SPAWN {
                    let (tx, rem) = (tx.clone(), rem.clone());
                    rt.spawn(async move {
                        if rem.fetch_sub(1, Ordering::Relaxed) == 1 {
                            fire(&tx);
                        }
                    });
                }
                rt.block_on(async move { rx.await.unwrap() });
            }

            pub fn yield_many(rt: &$rt) {
                let (tx, rx) = done_pair();
                let rem = Arc::new(AtomicUsize::new(YIELD_TASKS));
                for _ in 0..YIELD_TASKS {
                    let (tx, rem) = (tx.clone(), rem.clone());
                    rt.spawn(async move {
                        for _ in 0..NUM_YIELD {
                            $yield_now().await;
                        }
                        if rem.fetch_sub(1, Ordering::Relaxed) == 1 {
                            fire(&tx);
                        }
                    });
                }
                rt.block_on(async move { rx.await.unwrap() });
            }

            pub fn ping_pong(rt: &$rt) {
                let (tx, rx) = done_pair();
                let rem = Arc::new(AtomicUsize::new(NUM_PINGS));
                rt.block_on(async move {
                    $spawn(async move {
                        for _ in 0..NUM_PINGS {
                            let (tx, rem) = (tx.clone(), rem.clone());
                            $spawn(async move {
                                let (tx1, rx1) = oneshot::channel::<()>();
                                let (tx2, rx2) = oneshot::channel::<()>();
                                $spawn(async move {
                                    rx1.await.unwrap();
                                    tx2.send(()).unwrap();
                                });
                                tx1.send(()).unwrap();
                                rx2.await.unwrap();
                                if rem.fetch_sub(1, Ordering::Relaxed) == 1 {
                                    fire(&tx);
                                }
                            });
                        }
                    });
                    rx.await.unwrap();
                });
            }

            fn chain(n: usize, tx: Done) {
                if n == 0 {
                    fire(&tx);
                } else {
                    $spawn(async move { chain(n - 1, tx) });
                }
            }

            pub fn chained_spawn(rt: &$rt) {
                let (tx, rx) = done_pair();
                rt.block_on(async move {
                    $spawn(async move { chain(CHAIN, tx) });
                    rx.await.unwrap();
                });
            }
        }
    };
}

workloads!(
    ringolo_side,
    ringolo::runtime::Runtime,
    ringolo::spawn,
    ringolo::task::yield_now
);
workloads!(
    tokio_side,
    tokio::runtime::Runtime,
    tokio::spawn,
    tokio::task::yield_now
);

fn ringolo_echo(rt: &ringolo::runtime::Runtime) {
    use futures::StreamExt;
    use ringolo::net::{TcpListener, TcpStream};
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = rt.spawn(async move {
            let mut incoming = listener.incoming();
            while let Some(conn) = incoming.next().await {
                let conn = conn.unwrap();
                conn.set_nodelay(true).unwrap();
                ringolo::spawn(common::ringolo_echo_conn(conn, 128));
            }
        });
        let clients: Vec<_> = (0..ECHO_CONNS)
            .map(|_| {
                rt.spawn(async move {
                    let s = TcpStream::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    common::ringolo_echo_client(s, 128, ECHO_RTS / ECHO_CONNS).await
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.abort();
    });
}

fn tokio_echo(rt: &tokio::runtime::Runtime) {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            loop {
                let (c, _) = listener.accept().await.unwrap();
                c.set_nodelay(true).unwrap();
                tokio::spawn(common::tokio_echo_conn(c, 128));
            }
        });
        let clients: Vec<_> = (0..ECHO_CONNS)
            .map(|_| {
                tokio::spawn(async move {
                    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    common::tokio_echo_client(s, 128, ECHO_RTS / ECHO_CONNS).await
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.abort();
    });
}

struct Row {
    name: &'static str,
    ops: usize,
    /// Target: ringolo's time per op at most this fraction of tokio's (`None`: no target).
    target_ratio: Option<f64>,
    cpu_target: bool,
    r: fn(&ringolo::runtime::Runtime),
    t: fn(&tokio::runtime::Runtime),
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "quick");
    let filter: Vec<&String> = args
        .iter()
        .filter(|a| *a != "quick" && *a != "--bench")
        .collect();
    let reps = if quick { 3 } else { 7 };
    let ring = ringolo::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tok = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rows = [
        Row {
            name: "spawn_many_local (ns/task)",
            ops: NUM_SPAWN,
            target_ratio: Some(0.5),
            cpu_target: false,
            r: ringolo_side::spawn_many_local,
            t: tokio_side::spawn_many_local,
        },
        Row {
            name: "spawn_many_remote (ns/task)",
            ops: NUM_SPAWN,
            target_ratio: Some(0.5),
            cpu_target: false,
            r: ringolo_side::spawn_many_remote,
            t: tokio_side::spawn_many_remote,
        },
        Row {
            name: "yield_many 200x1000 (ns/yield)",
            ops: YIELD_TASKS * NUM_YIELD,
            target_ratio: None,
            cpu_target: false,
            r: ringolo_side::yield_many,
            t: tokio_side::yield_many,
        },
        Row {
            name: "ping_pong 1000 (ns/ping)",
            ops: NUM_PINGS,
            target_ratio: None,
            cpu_target: false,
            r: ringolo_side::ping_pong,
            t: tokio_side::ping_pong,
        },
        Row {
            name: "chained_spawn 1000 (ns/spawn)",
            ops: CHAIN,
            target_ratio: None,
            cpu_target: false,
            r: ringolo_side::chained_spawn,
            t: tokio_side::chained_spawn,
        },
        Row {
            name: "TCP echo 64 conns x 128 B (ns/rt, CPU)",
            ops: ECHO_RTS,
            target_ratio: Some(1.0),
            cpu_target: true,
            r: ringolo_echo,
            t: tokio_echo,
        },
    ];
    println!(
        "ringolo vs tokio multi-thread, 2 workers each, {reps} interleaved repetitions, medians"
    );
    println!(
        "{:<40} {:>10} {:>10} {:>6} {:>12} {:>11} {:>11} {:>6} {:>14} {:>8}",
        "workload",
        "ringolo",
        "tokio",
        "ratio",
        "min-max",
        "ringolo cpu",
        "tokio cpu",
        "cpu r",
        "unparks/1k ops",
        "target"
    );
    for row in rows {
        if !filter.is_empty() && !filter.iter().any(|f| row.name.contains(f.as_str())) {
            continue;
        }
        (row.r)(&ring);
        (row.t)(&tok);
        let (mut rw, mut tw, mut rc, mut tc, mut ratios, mut cratios, mut unparks) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        let per = |d: Duration| d.as_nanos() as f64 / row.ops as f64;
        for _ in 0..reps {
            let u0 = ring.remote_unparks();
            let (c0, t0) = (process_cpu(), Instant::now());
            (row.r)(&ring);
            let (a_wall, a_cpu) = (t0.elapsed(), process_cpu() - c0);
            unparks.push((ring.remote_unparks() - u0) as f64 * 1000.0 / row.ops as f64);
            let (c0, t0) = (process_cpu(), Instant::now());
            (row.t)(&tok);
            let (b_wall, b_cpu) = (t0.elapsed(), process_cpu() - c0);
            rw.push(per(a_wall));
            tw.push(per(b_wall));
            rc.push(per(a_cpu));
            tc.push(per(b_cpu));
            ratios.push(per(a_wall) / per(b_wall));
            cratios.push(per(a_cpu) / per(b_cpu));
        }
        let (lo, hi) = common::min_max(&ratios);
        let ratio = median(&mut ratios);
        let cratio = median(&mut cratios);
        let verdict = match row.target_ratio {
            None => "-".to_string(),
            Some(t) => {
                let r = if row.cpu_target { cratio } else { ratio };
                format!("{t:.2} {}", if r <= t { "met" } else { "MISSED" })
            }
        };
        println!(
            "{:<40} {:>10.1} {:>10.1} {:>6.2} {:>5.2}-{:<6.2} {:>11.1} {:>11.1} {:>6.2} {:>14.2} {:>8}",
            row.name,
            median(&mut rw),
            median(&mut tw),
            ratio,
            lo,
            hi,
            median(&mut rc),
            median(&mut tc),
            cratio,
            median(&mut unparks),
            verdict
        );
    }
}

//! In-process TCP echo over loopback: ringolo against tokio's current-thread runtime, both
//! ends in the same runtime, interleaved in one run. Reports wall and CPU time per round trip.
//!
//! `cargo bench --bench net` (add `quick` for fewer repetitions).

mod common;
use common::{median, thread_cpu};

use std::time::{Duration, Instant};

const ROUND_TRIPS: usize = 40_000;

fn ringolo_echo(rt: &ringolo::runtime::Runtime, conns: usize, size: usize) -> (Duration, Duration) {
    use futures::StreamExt;
    use ringolo::net::{TcpListener, TcpStream};
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = ringolo::spawn(async move {
            let mut incoming = listener.incoming();
            while let Some(conn) = incoming.next().await {
                let conn = conn.unwrap();
                conn.set_nodelay(true).unwrap();
                ringolo::spawn(common::ringolo_echo_conn(conn, size));
            }
        });
        let mut streams = Vec::new();
        for _ in 0..conns {
            let s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            streams.push(s);
        }
        let per_conn = ROUND_TRIPS / conns;
        let c0 = thread_cpu();
        let t0 = Instant::now();
        let clients: Vec<_> = streams
            .into_iter()
            .map(|s| ringolo::spawn(common::ringolo_echo_client(s, size, per_conn)))
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        let out = (t0.elapsed(), thread_cpu() - c0);
        server.abort();
        out
    })
}

fn tokio_echo(rt: &tokio::runtime::Runtime, conns: usize, size: usize) -> (Duration, Duration) {
    use tokio::net::{TcpListener, TcpStream};
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            loop {
                let (conn, _) = listener.accept().await.unwrap();
                conn.set_nodelay(true).unwrap();
                tokio::spawn(common::tokio_echo_conn(conn, size));
            }
        });
        let mut streams = Vec::new();
        for _ in 0..conns {
            let s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            streams.push(s);
        }
        let per_conn = ROUND_TRIPS / conns;
        let c0 = thread_cpu();
        let t0 = Instant::now();
        let clients: Vec<_> = streams
            .into_iter()
            .map(|s| tokio::spawn(common::tokio_echo_client(s, size, per_conn)))
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        let out = (t0.elapsed(), thread_cpu() - c0);
        server.abort();
        out
    })
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let reps = if quick { 3 } else { 5 };
    let (ring, tok) = common::current_thread_pair();
    println!("in-process TCP echo, {ROUND_TRIPS} round trips per run, {reps} interleaved repetitions, medians (µs per round trip)");
    println!(
        "{:<22} {:>9} {:>9} {:>7} {:>13} {:>11} {:>9} {:>9}",
        "config",
        "ringolo",
        "tokio",
        "ratio",
        "ratio min-max",
        "ringolo cpu",
        "tokio cpu",
        "cpu ratio"
    );
    for (conns, size) in [(1, 128), (1, 4096), (64, 128), (64, 4096)] {
        ringolo_echo(&ring, conns, size);
        tokio_echo(&tok, conns, size);
        let (mut rw, mut tw, mut rc, mut tc, mut ratios, mut cpu_ratios) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let rt_count = (ROUND_TRIPS / conns * conns) as f64;
        for _ in 0..reps {
            let (a, ac) = ringolo_echo(&ring, conns, size);
            let (b, bc) = tokio_echo(&tok, conns, size);
            let us = |d: Duration| d.as_secs_f64() * 1e6 / rt_count;
            rw.push(us(a));
            tw.push(us(b));
            rc.push(us(ac));
            tc.push(us(bc));
            ratios.push(us(a) / us(b));
            cpu_ratios.push(us(ac) / us(bc).max(1e-9));
        }
        let (lo, hi) = common::min_max(&ratios);
        println!(
            "{:<22} {:>9.2} {:>9.2} {:>7.2} {:>6.2}-{:<6.2} {:>11.2} {:>9.2} {:>9.2}",
            format!("{conns} conn x {size} B"),
            median(&mut rw),
            median(&mut tw),
            median(&mut ratios),
            lo,
            hi,
            median(&mut rc),
            median(&mut tc),
            median(&mut cpu_ratios)
        );
    }
}

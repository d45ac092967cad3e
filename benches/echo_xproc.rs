//! Cross-process TCP echo: the server runs in its own process pinned to cpu0 (ringolo's or
//! tokio's current-thread runtime, alternately), a closed-loop client with 64 connections runs
//! here pinned to cpu1. The metric is the server's CPU time (from /proc/PID/task/*/schedstat,
//! nanosecond resolution) per round trip, the number a server operator pays.
//!
//! `cargo bench --bench echo_xproc` (add `quick` for fewer repetitions).

mod common;
use common::median;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONNS: usize = 64;
const ROUND_TRIPS: usize = 64_000;

fn pin_to(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t with one bit set, passed with its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu % num_cpus(), &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A ringolo current-thread server: `setup` runs once inside the runtime, then every accepted
/// connection (with `TCP_NODELAY`) is served by its own task made by `serve`.
fn ringolo_serve<S, Fut>(addr: &str, setup: impl FnOnce() -> S, serve: impl Fn(TcpConn, S) -> Fut)
where
    S: Clone,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use futures::StreamExt;
    let rt = ringolo::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let state = setup();
        let l = ringolo::net::TcpListener::bind(addr).await.unwrap();
        println!("{}", l.local_addr().unwrap());
        let mut incoming = l.incoming();
        while let Some(c) = incoming.next().await {
            let c = c.unwrap();
            c.set_nodelay(true).unwrap();
            ringolo::spawn(serve(c, state.clone()));
        }
    });
}

type TcpConn = ringolo::net::TcpStream;

fn ringolo_server(addr: &str) {
    ringolo_serve(addr, || (), |c, ()| common::ringolo_echo_conn(c, 4096));
}

/// The same server built on a multishot `recv` over a provided-buffer ring: the socket's poll
/// stays armed across messages and each received buffer is written back as it is.
fn ringolo_multishot_server(addr: &str) {
    use futures::StreamExt;
    let ring = || ringolo::net::BufRing::new(1024, 4096).unwrap();
    ringolo_serve(addr, ring, |c, ring| async move {
        let mut rx = c.recv_multi(&ring);
        while let Some(Ok(buf)) = rx.next().await {
            if c.write_all(buf).await.0.is_err() {
                return;
            }
        }
    });
}

/// The read/write server over direct descriptors: each accepted socket is registered in the
/// ring's file table, so ops skip the per-op file reference count.
fn ringolo_direct_server(addr: &str) {
    ringolo_serve(
        addr,
        || (),
        |c, ()| async move {
            let d = ringolo::driver::DirectFd::register(&c).unwrap();
            let mut buf = Vec::with_capacity(4096);
            loop {
                buf.clear();
                let (n, b) = d.recv(buf).await;
                if !matches!(n, Ok(n) if n > 0) {
                    return;
                }
                let (res, b) = d.send_all(b).await;
                if res.is_err() {
                    return;
                }
                buf = b;
            }
        },
    );
}

fn tokio_server(addr: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind(addr).await.unwrap();
        println!("{}", l.local_addr().unwrap());
        loop {
            let (c, _) = l.accept().await.unwrap();
            c.set_nodelay(true).unwrap();
            tokio::spawn(common::tokio_echo_conn(c, 4096));
        }
    });
}

fn start_server(kind: &str) -> (Child, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["serve", kind])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    (
        child,
        String::from_utf8(line).unwrap().trim().parse().unwrap(),
    )
}

/// CPU time of every thread of the server, in nanoseconds (`/proc/PID/task/*/schedstat`,
/// first field), which is far finer than utime + stime's clock ticks.
fn server_cpu(pid: u32) -> Duration {
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = task.unwrap().path().join("schedstat");
        if let Ok(stat) = std::fs::read_to_string(path) {
            ns += stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(ns)
}

/// The closed-loop client: one tokio current-thread runtime keeps all connections in flight,
/// each sending a message and waiting for its echo before the next. Returns the wall time.
fn run_client(addr: SocketAddr, size: usize) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut conns = Vec::new();
        for _ in 0..CONNS {
            let c = tokio::net::TcpStream::connect(addr).await.unwrap();
            c.set_nodelay(true).unwrap();
            conns.push(c);
        }
        let t0 = Instant::now();
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|mut c| {
                tokio::spawn(async move {
                    let msg = vec![1u8; size];
                    let mut back = vec![0u8; size];
                    for _ in 0..ROUND_TRIPS / CONNS {
                        c.write_all(&msg).await.unwrap();
                        c.read_exact(&mut back).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        t0.elapsed()
    })
}

fn measure(kind: &str, size: usize) -> (f64, f64) {
    let (mut child, addr) = start_server(kind);
    // Warm up: connections and a few round trips.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"warm").unwrap();
    let mut b = [0u8; 4];
    s.read_exact(&mut b).unwrap();
    drop(s);
    let cpu0 = server_cpu(child.id());
    let wall = run_client(addr, size);
    let cpu = server_cpu(child.id()) - cpu0;
    let _ = child.kill();
    let _ = child.wait();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / ROUND_TRIPS as f64;
    (per(cpu), per(wall))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        pin_to(0);
        match args[2].as_str() {
            "ringolo" => ringolo_server("127.0.0.1:0"),
            "ringolo-ms" => ringolo_multishot_server("127.0.0.1:0"),
            "ringolo-direct" => ringolo_direct_server("127.0.0.1:0"),
            _ => tokio_server("127.0.0.1:0"),
        }
        return;
    }
    pin_to(1);
    if args.get(1).map(String::as_str) == Some("client") {
        // `client ADDR SIZE`: drive a server started by hand (for profiling it).
        let wall = run_client(args[2].parse().unwrap(), args[3].parse().unwrap());
        println!(
            "{:.2} µs per round trip",
            wall.as_secs_f64() * 1e6 / ROUND_TRIPS as f64
        );
        return;
    }
    let reps = if args.iter().any(|a| a == "quick") {
        3
    } else {
        5
    };
    println!("cross-process echo, server on cpu0, client on cpu1, {CONNS} connections, {ROUND_TRIPS} round trips, {reps} interleaved reps");
    println!("servers: ringolo read/write_all, ringolo multishot recv + provided buffers, tokio; server CPU µs per round trip (ratio to tokio)");
    println!(
        "{:<8} {:>18} {:>18} {:>8} {:>24}",
        "size", "ringolo", "ringolo multishot", "tokio", "wall µs (r / ms / t)"
    );
    for size in [128usize, 4096] {
        let mut cpu: [Vec<f64>; 3] = Default::default();
        let mut wall: [Vec<f64>; 3] = Default::default();
        let mut ratio: [Vec<f64>; 2] = Default::default();
        for _ in 0..reps {
            for (i, kind) in ["ringolo", "ringolo-ms", "tokio"].iter().enumerate() {
                let (c, w) = measure(kind, size);
                cpu[i].push(c);
                wall[i].push(w);
            }
            for i in 0..2 {
                let r = cpu[i].last().unwrap() / cpu[2].last().unwrap();
                ratio[i].push(r);
            }
        }
        let [r0, r1] = ratio.each_mut().map(|r| median(r));
        let [c0, c1, c2] = cpu.each_mut().map(|c| median(c));
        let [w0, w1, w2] = wall.each_mut().map(|w| median(w));
        println!(
            "{:<8} {:>10.2} ({:.2}) {:>10.2} ({:.2}) {:>8.2} {:>8.2} / {:.2} / {:.2}",
            format!("{size} B"),
            c0,
            r0,
            c1,
            r1,
            c2,
            w0,
            w1,
            w2
        );
    }
}

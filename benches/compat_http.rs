//! hyper 1.x HTTP/1 "hello world" with keep-alive: the same program on real Tokio and on
//! `ringolo::compat` (one module body compiled twice, `use ::tokio as rt` / `use
//! ringolo::compat as rt`), measured side by side, interleaved.
//!
//! - **In-process**: server and 32 keep-alive client connections in one runtime, a closed loop
//!   of requests; process CPU (getrusage) per request. Current-thread and multi-thread
//!   (2 workers) flavors. The "bridge" row is compat with its connection tasks spawned through
//!   the real `tokio::spawn` — what a library using hyper-util's `TokioExecutor` does — so they
//!   run on the Tokio bridge's thread, not on io_uring: the bridge's cost.
//! - **Cross-process** (`xproc`): this binary runs itself as the server, pinned to CPU 0
//!   (`taskset`), and `wrk` (Debian's package) loads it from CPU 1 with 32 connections; server
//!   CPU per request (utime + stime from `/proc/PID/stat`) and requests/s.
//!
//! Target (issue 10): compat's server CPU per request ≤ 0.95 of Tokio's.
//!
//! `cargo bench --bench compat_http --features tokio-bridge [quick] [inproc|xproc]`

mod common;
use common::{compat_rt, tokio_rt};
use common::{median, min_max, process_cpu};

use std::convert::Infallible;
use std::time::{Duration, Instant};

const CONNS: usize = 32;

macro_rules! hello_program {
    ($name:ident, $rt:path) => {
        mod $name {
            use super::*;
            use $rt as rt;

            use bytes::Bytes;
            use http_body_util::{BodyExt, Empty, Full};
            use hyper::{Request, Response};
            use hyper_util::rt::TokioIo;

            async fn hello(
                _: Request<hyper::body::Incoming>,
            ) -> Result<Response<Full<Bytes>>, Infallible> {
                Ok(Response::new(Full::new(Bytes::from_static(
                    b"Hello, World!",
                ))))
            }

            /// Serve HTTP/1 on `listener` until the runtime stops; each connection is a task
            /// made by `spawn`.
            pub async fn serve<S>(listener: rt::net::TcpListener, spawn: S)
            where
                S: Fn(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>),
            {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    stream.set_nodelay(true).unwrap();
                    spawn(Box::pin(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(
                                TokioIo::new(stream),
                                hyper::service::service_fn(hello),
                            )
                            .await;
                    }));
                }
            }

            /// `CONNS` keep-alive clients, `per_conn` requests each, against `addr`.
            pub async fn load(addr: std::net::SocketAddr, per_conn: usize) {
                let mut clients = Vec::new();
                for _ in 0..CONNS {
                    clients.push(rt::spawn(async move {
                        let stream = rt::net::TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let (mut send, conn) =
                            hyper::client::conn::http1::handshake(TokioIo::new(stream))
                                .await
                                .unwrap();
                        rt::spawn(async move {
                            let _ = conn.await;
                        });
                        for _ in 0..per_conn {
                            let req = Request::get("/").body(Empty::<Bytes>::new()).unwrap();
                            let res = send.send_request(req).await.unwrap();
                            let body = res.into_body().collect().await.unwrap().to_bytes();
                            assert_eq!(&body[..], b"Hello, World!");
                        }
                    }));
                }
                for c in clients {
                    c.await.unwrap();
                }
            }

            /// In-process: server and clients on `runtime`; CPU and wall time for the load.
            pub fn inproc(
                runtime: &rt::runtime::Runtime,
                per_conn: usize,
                bridged: bool,
            ) -> (Duration, Duration) {
                runtime.block_on(async {
                    let listener = rt::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let addr = listener.local_addr().unwrap();
                    let server = rt::spawn(async move {
                        if bridged {
                            serve(listener, |f| {
                                ::tokio::spawn(f);
                            })
                            .await
                        } else {
                            serve(listener, |f| {
                                rt::spawn(f);
                            })
                            .await
                        }
                    });
                    load(addr, per_conn / 8).await; // warm-up
                    let (c0, t0) = (process_cpu(), Instant::now());
                    load(addr, per_conn).await;
                    let out = (process_cpu() - c0, t0.elapsed());
                    server.abort();
                    out
                })
            }

            /// The cross-process server: bind, print the port, serve for ever.
            pub fn server(multi: bool) {
                let mut b = if multi {
                    let mut b = rt::runtime::Builder::new_multi_thread();
                    b.worker_threads(1);
                    b
                } else {
                    rt::runtime::Builder::new_current_thread()
                };
                let runtime = b.enable_all().build().unwrap();
                runtime.block_on(async {
                    let listener = rt::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    println!("{}", listener.local_addr().unwrap().port());
                    use std::io::Write;
                    std::io::stdout().flush().unwrap();
                    serve(listener, |f| {
                        rt::spawn(f);
                    })
                    .await;
                });
            }
        }
    };
}

hello_program!(on_tokio, ::tokio);
hello_program!(on_compat, ringolo::compat);

fn report(name: &str, ops: usize, c: &mut [f64], t: &mut [f64], ratios: &mut [f64], extra: &str) {
    let (lo, hi) = min_max(ratios);
    let r = median(ratios);
    println!(
        "{name:<40} compat {:>8.2} µs  tokio {:>8.2} µs  compat/tokio {r:.2} ({lo:.2}-{hi:.2}){extra}",
        median(c) / ops as f64 * 1e6,
        median(t) / ops as f64 * 1e6,
    );
}

fn inproc(reps: usize, per_conn: usize) {
    let ops = CONNS * per_conn;
    println!("in-process: {CONNS} keep-alive connections × {per_conn} requests, {reps} interleaved repetitions, process CPU per request");
    for multi in [false, true] {
        let flavor = if multi { "mt" } else { "ct" };
        let (mut c, mut t, mut b, mut ct, mut bt) = (vec![], vec![], vec![], vec![], vec![]);
        let (mut cw, mut tw) = (vec![], vec![]);
        for rep in 0..reps {
            let run_c = || on_compat::inproc(&compat_rt(multi), per_conn, false);
            let run_t = || on_tokio::inproc(&tokio_rt(multi), per_conn, false);
            let ((cc, cwall), (tc, twall)) = if rep % 2 == 0 {
                let a = run_c();
                (a, run_t())
            } else {
                let b = run_t();
                (run_c(), b)
            };
            let (bc, _) = on_compat::inproc(&compat_rt(multi), per_conn, true);
            c.push(cc.as_secs_f64());
            t.push(tc.as_secs_f64());
            b.push(bc.as_secs_f64());
            ct.push(cc.as_secs_f64() / tc.as_secs_f64());
            bt.push(bc.as_secs_f64() / tc.as_secs_f64());
            cw.push(cwall.as_secs_f64() / ops as f64 * 1e6);
            tw.push(twall.as_secs_f64() / ops as f64 * 1e6);
        }
        let extra = format!(
            "   wall compat {:.2} / tokio {:.2} µs   target ≤ 0.95",
            median(&mut cw),
            median(&mut tw)
        );
        report(
            &format!("HTTP/1 hello, in-process, {flavor}"),
            ops,
            &mut c,
            &mut t,
            &mut ct,
            &extra,
        );
        let mut t2 = t.clone();
        report(
            &format!("  same, compat's connections on the bridge, {flavor}"),
            ops,
            &mut b,
            &mut t2,
            &mut bt,
            "",
        );
    }
}

/// utime + stime of `pid`, in clock ticks.
fn proc_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn xproc_one(kind: &str, multi: bool, secs: u64) -> (f64, f64) {
    use std::io::BufRead;
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new("taskset")
        .args(["-c", "0"])
        .arg(&exe)
        .args(["server", kind, if multi { "mt" } else { "ct" }])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("taskset");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().unwrap();
    let pid = child.id();
    let url = format!("http://127.0.0.1:{port}/");
    // Warm-up, then the measured run.
    let wrk = |d: u64| {
        std::process::Command::new("taskset")
            .args([
                "-c",
                "1",
                "wrk",
                "-t1",
                &format!("-c{CONNS}"),
                &format!("-d{d}s"),
                &url,
            ])
            .output()
            .expect("wrk (apt-get install wrk)")
    };
    wrk(1);
    let t0 = proc_ticks(pid);
    let out = wrk(secs);
    let ticks = proc_ticks(pid) - t0;
    child.kill().ok();
    child.wait().ok();
    let text = String::from_utf8_lossy(&out.stdout);
    let requests: f64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("wrk said:\n{text}"));
    let tick = 1.0 / 100.0; // USER_HZ
    let cpu_per_req_us = ticks as f64 * tick / requests * 1e6;
    (cpu_per_req_us, requests / secs as f64)
}

fn xproc(reps: usize, secs: u64) {
    println!("cross-process: server pinned to CPU 0, wrk -t1 -c{CONNS} on CPU 1, {secs} s each, {reps} interleaved repetitions");
    for multi in [false, true] {
        let flavor = if multi { "mt (1 worker)" } else { "ct" };
        let (mut c, mut t, mut r, mut cq, mut tq) = (vec![], vec![], vec![], vec![], vec![]);
        for rep in 0..reps {
            let (a, b) = if rep % 2 == 0 {
                let a = xproc_one("compat", multi, secs);
                (a, xproc_one("tokio", multi, secs))
            } else {
                let b = xproc_one("tokio", multi, secs);
                (xproc_one("compat", multi, secs), b)
            };
            c.push(a.0);
            t.push(b.0);
            r.push(a.0 / b.0);
            cq.push(a.1);
            tq.push(b.1);
        }
        let (lo, hi) = min_max(&r);
        println!(
            "HTTP/1 hello, wrk, {flavor:<14} server CPU/request compat {:.2} µs  tokio {:.2} µs  compat/tokio {:.2} ({lo:.2}-{hi:.2})   req/s compat {:.0} tokio {:.0}   target ≤ 0.95",
            median(&mut c),
            median(&mut t),
            median(&mut r),
            median(&mut cq),
            median(&mut tq)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("server") {
        let multi = args.get(3).map(String::as_str) == Some("mt");
        match args.get(2).map(String::as_str) {
            Some("compat") => on_compat::server(multi),
            _ => on_tokio::server(multi),
        }
        return;
    }
    if args.get(1).map(String::as_str) == Some("solo") {
        // One side alone, for a profiler: `solo compat|tokio ct|mt`.
        let multi = args.get(3).map(String::as_str) == Some("mt");
        let (cpu, _) = match args.get(2).map(String::as_str) {
            Some("compat") => on_compat::inproc(&compat_rt(multi), 2000, false),
            _ => on_tokio::inproc(&tokio_rt(multi), 2000, false),
        };
        println!(
            "{:.2} µs CPU per request",
            cpu.as_secs_f64() / (CONNS * 2000) as f64 * 1e6
        );
        return;
    }
    let quick = args.iter().any(|a| a == "quick");
    let only = |w: &str| {
        !args.iter().any(|a| a == "inproc" || a == "xproc") || args.iter().any(|a| a == w)
    };
    println!(
        "{} — {}",
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(
                |s| s.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_string())
            )
            .unwrap_or_default(),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    if only("inproc") {
        inproc(if quick { 3 } else { 9 }, if quick { 200 } else { 1000 });
    }
    if only("xproc") {
        xproc(if quick { 2 } else { 7 }, if quick { 2 } else { 5 });
    }
}

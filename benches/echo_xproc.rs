//! Cross-process TCP echo: the server runs in its own process pinned to cpu0 (ringolo's or
//! tokio's current-thread runtime, alternately), a closed-loop client with 64 connections runs
//! here pinned to cpu1. The metric is the server's CPU time (from /proc/PID/task/*/schedstat,
//! nanosecond resolution) per round trip, the number a server operator pays.
//!
//! `cargo bench --bench echo_xproc` (add `quick` for 3 repetitions or `reps=N`, `sizes=128,4096`,
//! `servers=ringolo,raw-uring,...`). Besides ringolo's servers (`ringolo`, `ringolo-ms`,
//! `ringolo-direct`, each optionally with `-coN-U`: `Builder::coalesce_completions(N, U µs)`) it
//! runs floors with no runtime at all: raw io_uring loops (`raw-uring`, `-nopf`, `-link`, `-ms`,
//! and `-waitN-U` for coalesced waits) and a raw epoll loop.

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
fn ringolo_serve<S, Fut>(
    addr: &str,
    setup: impl FnOnce() -> S,
    serve: impl Fn(TcpConn, S) -> Fut,
    coalesce: Option<(u32, Duration)>,
) where
    S: Clone,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use futures::StreamExt;
    let mut builder = ringolo::runtime::Builder::new_current_thread();
    if let Some((count, window)) = coalesce {
        builder.coalesce_completions(count, window);
    }
    let rt = builder.build().unwrap();
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

/// `coalesce`: `Builder::coalesce_completions` (count, window), for the `ringolo-coN-U` servers.
fn ringolo_server(addr: &str, coalesce: Option<(u32, Duration)>) {
    ringolo_serve(
        addr,
        || (),
        |c, ()| common::ringolo_echo_conn(c, 4096),
        coalesce,
    );
}

/// The same server built on a multishot `recv` over a provided-buffer ring: the socket's poll
/// stays armed across messages and each received buffer is written back as it is.
fn ringolo_multishot_server(addr: &str, coalesce: Option<(u32, Duration)>) {
    use futures::StreamExt;
    let ring = || ringolo::net::BufRing::new(1024, 4096).unwrap();
    ringolo_serve(
        addr,
        ring,
        |c, ring| async move {
            let mut rx = c.recv_multi(&ring);
            while let Some(Ok(buf)) = rx.next().await {
                if c.write_all(buf).await.0.is_err() {
                    return;
                }
            }
        },
        coalesce,
    );
}

/// The read/write server over direct descriptors: each accepted socket is registered in the
/// ring's file table, so ops skip the per-op file reference count.
fn ringolo_direct_server(addr: &str, coalesce: Option<(u32, Duration)>) {
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
        coalesce,
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

/// How a raw io_uring floor server receives and sends.
#[derive(Clone, Copy)]
struct RawUring {
    /// `IORING_RECVSEND_POLL_FIRST` on each RECV.
    poll_first: bool,
    /// Echo with a SEND SQE linked ahead of the next RECV (success CQE skipped) instead of a
    /// plain `send`.
    linked_send: bool,
    /// One multishot RECV per connection over a provided-buffer ring instead of a RECV per
    /// message into the connection's own buffer.
    multishot: bool,
    /// Batched waits (Linux 6.12+): wait for `wait_nr` completions, but no longer than
    /// `min_wait_usec` once one has arrived (0: wait for one completion, as usual).
    wait_nr: u32,
    min_wait_usec: u32,
}

/// The floor for a completion-based server, with no runtime at all: one io_uring (single issuer,
/// deferred task work), a multishot accept, receives as `how` says, and one `io_uring_enter` per
/// batch of completions. ringolo's read/write server does the `poll_first` variant's kernel work
/// plus its task system.
fn raw_uring_server(addr: &str, how: RawUring) {
    use io_uring::{opcode, squeue, types, IoUring};
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind(addr).unwrap();
    println!("{}", listener.local_addr().unwrap());
    let mut ring: IoUring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(512)
        .unwrap();
    const ACCEPT: u64 = u64::MAX;
    const BUFS: usize = 1024;
    const SIZE: usize = 4096;
    // The provided-buffer ring (multishot only): BUFS entries of 16 bytes, page aligned, and the
    // buffers themselves. Entry i hands out buffer i; the tail lives in entry 0's last 2 bytes.
    let ring_layout = std::alloc::Layout::from_size_align(BUFS * 16, 4096).unwrap();
    // SAFETY: non-zero size; zeroed, freed never (the server runs until killed).
    let br = unsafe { std::alloc::alloc_zeroed(ring_layout) };
    let pool = vec![0u8; BUFS * SIZE].into_boxed_slice();
    let tail = br.wrapping_add(14) as *const std::sync::atomic::AtomicU16;
    let mut next_tail: u16 = 0;
    let mut give_back = |bid: u16| {
        let slot = br.wrapping_add((next_tail as usize % BUFS) * 16);
        // SAFETY: slot is inside the ring allocation; the kernel reads it only after the tail
        // store below publishes it.
        unsafe {
            (slot as *mut u64).write(pool.as_ptr().add(bid as usize * SIZE) as u64);
            (slot.add(8) as *mut u32).write(SIZE as u32);
            (slot.add(12) as *mut u16).write(bid);
        }
        next_tail = next_tail.wrapping_add(1);
        // SAFETY: the tail field of the ring, 2-aligned, shared with the kernel.
        unsafe { &*tail }.store(next_tail, std::sync::atomic::Ordering::Release);
    };
    if how.multishot {
        for b in 0..BUFS as u16 {
            give_back(b);
        }
        // SAFETY: the ring memory outlives the io_uring.
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(br as u64, BUFS as u16, 0, 0)
                .unwrap()
        };
    }
    let mut bufs: Vec<Option<Box<[u8; SIZE]>>> = (0..4096).map(|_| None).collect();
    let recv = |fd: i32, buf: &mut [u8; SIZE]| {
        opcode::Recv::new(types::Fd(fd), buf.as_mut_ptr(), buf.len() as u32)
            .ioprio(if how.poll_first { 1 } else { 0 }) // IORING_RECVSEND_POLL_FIRST
            .build()
            .user_data(fd as u64)
    };
    let recv_multi = |fd: i32| {
        opcode::RecvMulti::new(types::Fd(fd), 0)
            .build()
            .user_data(fd as u64)
    };
    let send_all = |fd: i32, data: &[u8]| {
        let mut off = 0;
        while off < data.len() {
            // SAFETY: sends initialised bytes of a live buffer.
            let n = unsafe {
                libc::send(
                    fd,
                    data[off..].as_ptr() as *const libc::c_void,
                    data.len() - off,
                    libc::MSG_NOSIGNAL,
                )
            };
            if n <= 0 {
                break;
            }
            off += n as usize;
        }
    };
    let accept = opcode::AcceptMulti::new(types::Fd(listener.as_raw_fd()))
        .build()
        .user_data(ACCEPT);
    let mut pending: Vec<squeue::Entry> = vec![accept];
    loop {
        {
            let mut sq = ring.submission();
            for e in pending.drain(..) {
                // SAFETY: every buffer a RECV or SEND names lives in `bufs` (or the pool) until
                // its completion.
                unsafe { sq.push(&e).unwrap() };
            }
        }
        if how.wait_nr > 1 {
            let ts = types::Timespec::new().sec(1);
            let args = types::SubmitArgs::new()
                .timespec(&ts)
                .min_wait_usec(how.min_wait_usec);
            match ring
                .submitter()
                .submit_with_args(how.wait_nr as usize, &args)
            {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ETIME) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) => panic!("{e}"),
            }
        } else {
            ring.submit_and_wait(1).unwrap();
        }
        let cqes: Vec<_> = ring.completion().collect();
        for cqe in cqes {
            let res = cqe.result();
            if cqe.user_data() == ACCEPT {
                if res >= 0 {
                    let one: libc::c_int = 1;
                    // SAFETY: setsockopt on a socket we own, with a c_int option value.
                    unsafe {
                        libc::setsockopt(
                            res,
                            libc::IPPROTO_TCP,
                            libc::TCP_NODELAY,
                            &one as *const _ as *const libc::c_void,
                            4,
                        )
                    };
                    if how.multishot {
                        pending.push(recv_multi(res));
                    } else {
                        let b = bufs[res as usize].insert(Box::new([0u8; SIZE]));
                        pending.push(recv(res, b));
                    }
                }
                continue;
            }
            if cqe.user_data() >> 32 == 1 {
                // A failed linked SEND: its RECV is cancelled and closes the connection.
                continue;
            }
            let fd = cqe.user_data() as i32;
            if res <= 0 {
                bufs[fd as usize] = None;
                // SAFETY: the connection's fd, closed once.
                unsafe { libc::close(fd) };
                continue;
            }
            if how.multishot {
                let bid = (cqe.flags() >> 16) as u16;
                send_all(fd, &pool[bid as usize * SIZE..][..res as usize]);
                give_back(bid);
                if !io_uring::cqueue::more(cqe.flags()) {
                    pending.push(recv_multi(fd));
                }
                continue;
            }
            let b = bufs[fd as usize].as_mut().unwrap();
            if how.linked_send {
                let send = opcode::Send::new(types::Fd(fd), b.as_ptr(), res as u32)
                    .flags(libc::MSG_NOSIGNAL)
                    .build()
                    .flags(squeue::Flags::IO_LINK | squeue::Flags::SKIP_SUCCESS)
                    .user_data(fd as u64 | 1 << 32);
                pending.push(send);
            } else {
                send_all(fd, &b[..res as usize]);
            }
            pending.push(recv(fd, b));
        }
    }
}

/// The floor for a readiness-based server: edge-triggered epoll, non-blocking sockets, one read
/// per readiness event (a short read means the socket is drained, as tokio assumes) and the echo
/// written back at once.
fn raw_epoll_server(addr: &str) {
    use std::os::fd::{AsRawFd, IntoRawFd};
    let listener = std::net::TcpListener::bind(addr).unwrap();
    listener.set_nonblocking(true).unwrap();
    println!("{}", listener.local_addr().unwrap());
    let lfd = listener.as_raw_fd();
    // SAFETY: plain epoll syscalls on fds this function owns; event structs are initialised.
    unsafe {
        let ep = libc::epoll_create1(0);
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: lfd as u64,
        };
        libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, lfd, &mut ev);
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::epoll_wait(ep, events.as_mut_ptr(), 1024, -1);
            for e in &events[..n.max(0) as usize] {
                let fd = e.u64 as i32;
                if fd == lfd {
                    while let Ok((c, _)) = listener.accept() {
                        c.set_nodelay(true).unwrap();
                        c.set_nonblocking(true).unwrap();
                        let cfd = c.into_raw_fd();
                        let mut ev = libc::epoll_event {
                            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET) as u32,
                            u64: cfd as u64,
                        };
                        libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, cfd, &mut ev);
                    }
                    continue;
                }
                if e.events & libc::EPOLLIN as u32 == 0 {
                    continue;
                }
                loop {
                    let r = libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0);
                    if r == 0 {
                        libc::close(fd);
                        break;
                    }
                    if r < 0 {
                        break;
                    }
                    let mut off = 0;
                    while off < r as usize {
                        let w = libc::send(
                            fd,
                            buf[off..].as_ptr() as *const libc::c_void,
                            r as usize - off,
                            libc::MSG_NOSIGNAL,
                        );
                        if w <= 0 {
                            break;
                        }
                        off += w as usize;
                    }
                    if (r as usize) < buf.len() {
                        break;
                    }
                }
            }
        }
    }
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
            // `ringolo[-ms|-direct][-coN-U]`: ringolo's servers, with `-coN-U` coalescing N
            // completions within U µs (`Builder::coalesce_completions`).
            k if k.starts_with("ringolo") => {
                let (base, co) = match k.split_once("-co") {
                    Some((base, nums)) => {
                        let mut nums = nums.split('-').map(|n| n.parse::<u32>().unwrap());
                        let (count, usec) = (nums.next().unwrap(), nums.next().unwrap());
                        (base, Some((count, Duration::from_micros(usec as u64))))
                    }
                    None => (k, None),
                };
                match base {
                    "ringolo-ms" => ringolo_multishot_server("127.0.0.1:0", co),
                    "ringolo-direct" => ringolo_direct_server("127.0.0.1:0", co),
                    _ => ringolo_server("127.0.0.1:0", co),
                }
            }
            raw if raw.starts_with("raw-uring") => raw_uring_server(
                "127.0.0.1:0",
                RawUring {
                    poll_first: !raw.contains("-nopf"),
                    linked_send: raw.contains("-link"),
                    multishot: raw.contains("-ms"),
                    // `-waitN-U`: wait for N completions, at most U µs after the first.
                    wait_nr: raw
                        .split_once("-wait")
                        .and_then(|(_, w)| w.split('-').next()?.parse().ok())
                        .unwrap_or(1),
                    min_wait_usec: raw
                        .split_once("-wait")
                        .and_then(|(_, w)| w.split('-').nth(1)?.parse().ok())
                        .unwrap_or(0),
                },
            ),
            "raw-epoll" => raw_epoll_server("127.0.0.1:0"),
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
        args.iter()
            .find_map(|a| a.strip_prefix("reps=")?.parse().ok())
            .unwrap_or(5)
    };
    // `servers=a,b,...` picks the servers (tokio is always added last, as the reference);
    // `sizes=128,...` the message sizes.
    let pick = |key: &str, default: &str| -> String {
        args.iter()
            .find_map(|a| a.strip_prefix(key).map(str::to_owned))
            .unwrap_or_else(|| default.to_owned())
    };
    let mut kinds: Vec<String> = pick("servers=", "ringolo,ringolo-ms,raw-uring,raw-epoll")
        .split(',')
        .filter(|k| *k != "tokio")
        .map(str::to_owned)
        .collect();
    kinds.push("tokio".to_owned());
    let sizes: Vec<usize> = pick("sizes=", "128,4096")
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    println!("cross-process echo, server on cpu0, client on cpu1, {CONNS} connections, {ROUND_TRIPS} round trips, {reps} interleaved reps");
    println!("server CPU µs per round trip (median), its median ratio to tokio's in the same repetition [min-max], wall µs per round trip");
    for size in sizes {
        let n = kinds.len();
        let mut cpu = vec![Vec::new(); n];
        let mut wall = vec![Vec::new(); n];
        let mut ratio = vec![Vec::new(); n];
        for _ in 0..reps {
            for (i, kind) in kinds.iter().enumerate() {
                let (c, w) = measure(kind, size);
                cpu[i].push(c);
                wall[i].push(w);
            }
            for i in 0..n {
                let r = cpu[i].last().unwrap() / cpu[n - 1].last().unwrap();
                ratio[i].push(r);
            }
        }
        for i in 0..n {
            let (lo, hi) = common::min_max(&ratio[i]);
            println!(
                "{:>6} B  {:<15} cpu {:>6.2}  ratio {:.2} [{:.2}-{:.2}]  wall {:>6.2}",
                size,
                kinds[i],
                median(&mut cpu[i]),
                median(&mut ratio[i]),
                lo,
                hi,
                median(&mut wall[i]),
            );
        }
    }
}

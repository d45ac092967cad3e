//! In-process TCP echo through Tokio's `AsyncReadExt::read_exact` / `AsyncWriteExt::write_all`:
//! what `ringolo::compat`'s readiness-based `TcpStream` costs against real Tokio, against native
//! ringolo's completion-based stream, and against an owned-buffer adapter prototype.
//!
//! Workload: 64 connections over loopback, client and server in one current-thread runtime,
//! closed loop — each client sends a message of 128 B (or 4 KiB), waits for the whole echo,
//! checks it byte for byte (the first 16 bytes carry the round and the connection, so a stale,
//! lost or reordered byte fails the run), and sends the next; the server reads exactly one
//! message and writes it back. Connections are set up before the clock starts; `TCP_NODELAY`
//! on both ends.
//!
//! Sides, each a fresh set of connections per run:
//! - **compat**: `ringolo::compat::net::TcpStream` (readiness: cached ready bits fed by one-shot
//!   `POLL_ADD`s, then `read(2)` / `write(2)`) on a compat current-thread runtime;
//! - **tokio**: `tokio::net::TcpStream` on Tokio's current-thread runtime (epoll);
//! - **native**: `ringolo::net::TcpStream`'s completion-based `read_exact` / `write_all` with
//!   owned buffers on a native current-thread runtime (no Tokio traits);
//! - **owned**: the same Tokio-style code as compat's and Tokio's, over [`owned::OwnedBufStream`]
//!   — a native stream behind Tokio's `AsyncRead` / `AsyncWrite` with owned buffers (one `RECV`
//!   in flight into the adapter's buffer, one `SEND` from its write buffer), on the compat
//!   runtime. It is a prototype of the alternative to readiness that docs/design/compat.md
//!   names, kept here and not in `src/`.
//!
//! Method (/work/shared/PERF.md): the four sides run interleaved in one process (A B C D,
//! B C D A, …: the order rotates so each side takes each place), at least 7 repetitions after a
//! warm-up. The primary metric is the process's CPU time (`getrusage(RUSAGE_SELF)`, user +
//! system) per round trip; wall time is printed beside it. The table shows medians per side and
//! the medians of the per-repetition ratios compat/tokio, compat/native and owned/compat with
//! their min–max. Targets (issue 10): compat ≤ 0.95 of Tokio's CPU and within 5 % of native's.
//!
//! `cargo bench --bench compat_io` (add `quick` for a few-second smoke run, or side names —
//! `compat`, `tokio`, `native`, `owned` — to run only those, e.g. under a profiler).

mod common;
use common::{machine, median, min_max, process_cpu};

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const CONNS: usize = 64;
const SIZES: [usize; 2] = [128, 4096];

/// The side names, in table order.
const SIDES: [&str; 4] = ["compat", "tokio", "native", "owned"];

/// One run of one side.
struct Run {
    cpu: Duration,
    wall: Duration,
    /// Echoed bytes compared equal to what was sent.
    verified: usize,
}

/// Message of connection `id` for round `round`: a per-connection pattern (set once, `round`
/// 0) with the round and the connection in the first 16 bytes.
fn fill(msg: &mut [u8], id: usize, round: usize) {
    if round == 0 {
        for (i, b) in msg.iter_mut().enumerate() {
            *b = (i.wrapping_mul(31) ^ id) as u8;
        }
    }
    msg[..8].copy_from_slice(&(round as u64).to_le_bytes());
    msg[8..16].copy_from_slice(&(id as u64).to_le_bytes());
}

fn check(back: &[u8], msg: &[u8], id: usize, round: usize) {
    assert!(
        back == msg,
        "connection {id}, round {round}: the echo differs from the message"
    );
}

/// The server's connection loop, Tokio-style (compat, tokio and owned run this same code).
async fn serve_conn<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, size: usize) {
    let mut buf = vec![0u8; size];
    // Ends at the client's close (UnexpectedEof).
    while s.read_exact(&mut buf).await.is_ok() {
        if s.write_all(&buf).await.is_err() {
            return;
        }
    }
}

/// The client's loop, Tokio-style: the bytes it verified.
async fn client<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    id: usize,
    size: usize,
    rounds: usize,
) -> usize {
    let mut msg = vec![0u8; size];
    let mut back = vec![0u8; size];
    for round in 0..rounds {
        fill(&mut msg, id, round);
        s.write_all(&msg).await.unwrap();
        s.read_exact(&mut back).await.unwrap();
        check(&back, &msg, id, round);
    }
    rounds * size
}

/// A side running the Tokio-style code: `$wrap` turns an accepted or connected stream into
/// what the code reads and writes.
macro_rules! tokio_style_side {
    ($name:ident, $rt:ty, $spawn:path, $listener:ty, $stream:ty, $wrap:expr) => {
        fn $name(rt: &$rt, size: usize, rounds: usize) -> Run {
            rt.block_on(async move {
                let listener = <$listener>::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = $spawn(async move {
                    let mut conns = Vec::with_capacity(CONNS);
                    for _ in 0..CONNS {
                        let (s, _) = listener.accept().await.unwrap();
                        s.set_nodelay(true).unwrap();
                        conns.push($spawn(serve_conn(($wrap)(s), size)));
                    }
                    for c in conns {
                        c.await.unwrap();
                    }
                });
                let mut streams = Vec::with_capacity(CONNS);
                for _ in 0..CONNS {
                    let s = <$stream>::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    streams.push(($wrap)(s));
                }
                let (c0, t0) = (process_cpu(), Instant::now());
                let clients: Vec<_> = streams
                    .into_iter()
                    .enumerate()
                    .map(|(id, s)| $spawn(client(s, id, size, rounds)))
                    .collect();
                let mut verified = 0;
                for c in clients {
                    verified += c.await.unwrap();
                }
                let run = Run {
                    cpu: process_cpu() - c0,
                    wall: t0.elapsed(),
                    verified,
                };
                // The clients dropped their streams: the server's connections end.
                server.await.unwrap();
                run
            })
        }
    };
}

tokio_style_side!(
    compat_echo,
    ringolo::compat::runtime::Runtime,
    ringolo::compat::spawn,
    ringolo::compat::net::TcpListener,
    ringolo::compat::net::TcpStream,
    |s| s
);

tokio_style_side!(
    tokio_echo,
    tokio::runtime::Runtime,
    tokio::spawn,
    tokio::net::TcpListener,
    tokio::net::TcpStream,
    |s| s
);

tokio_style_side!(
    owned_echo,
    ringolo::compat::runtime::Runtime,
    ringolo::compat::spawn,
    ringolo::net::TcpListener,
    ringolo::net::TcpStream,
    owned::wrap
);

/// Native ringolo: the same loops with owned buffers and the native stream's own methods.
fn native_echo(rt: &ringolo::runtime::Runtime, size: usize, rounds: usize) -> Run {
    use ringolo::net::{TcpListener, TcpStream};

    async fn serve(s: TcpStream, size: usize) {
        let mut buf = Vec::with_capacity(size);
        loop {
            buf.clear();
            let (res, b) = s.read_exact(buf).await;
            if res.is_err() {
                return;
            }
            let (res, b) = s.write_all(b).await;
            if res.is_err() {
                return;
            }
            buf = b;
        }
    }

    async fn client(s: TcpStream, id: usize, size: usize, rounds: usize) -> usize {
        let mut msg = vec![0u8; size];
        // read_exact fills the spare capacity, exactly `size` (Vec::with_capacity's promise).
        let mut back = Vec::with_capacity(size);
        for round in 0..rounds {
            fill(&mut msg, id, round);
            let (res, m) = s.write_all(msg).await;
            res.unwrap();
            msg = m;
            back.clear();
            let (res, b) = s.read_exact(back).await;
            res.unwrap();
            back = b;
            check(&back, &msg, id, round);
        }
        rounds * size
    }

    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = ringolo::spawn(async move {
            let mut conns = Vec::with_capacity(CONNS);
            for _ in 0..CONNS {
                let (s, _) = listener.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                conns.push(ringolo::spawn(serve(s, size)));
            }
            for c in conns {
                c.await.unwrap();
            }
        });
        let mut streams = Vec::with_capacity(CONNS);
        for _ in 0..CONNS {
            let s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            streams.push(s);
        }
        let (c0, t0) = (process_cpu(), Instant::now());
        let clients: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(id, s)| ringolo::spawn(client(s, id, size, rounds)))
            .collect();
        let mut verified = 0;
        for c in clients {
            verified += c.await.unwrap();
        }
        let run = Run {
            cpu: process_cpu() - c0,
            wall: t0.elapsed(),
            verified,
        };
        server.await.unwrap();
        run
    })
}

/// The owned-buffer adapter prototype: Tokio's `AsyncRead` / `AsyncWrite` over a native,
/// completion-based ringolo stream, in safe code over ringolo's public ops.
///
/// Reads: bytes left in the adapter's buffer are copied out first; when it is empty, one `RECV`
/// into the buffer (`IORING_OP_RECV` with `POLL_FIRST`, as the native `read`) is put in flight
/// and stays the adapter's, so a caller's future dropped while it waits loses nothing — the
/// bytes land in the buffer and the next read gets them (cancel-safe, as compat's readiness
/// is). Writes: the caller's bytes are copied into the write buffer and reported written at
/// once; the buffer goes out as the native `write` sends — at once with a non-blocking
/// `send(2)` when the socket has room, else through one `IORING_OP_SEND` in flight — and bytes
/// written meanwhile wait in a second buffer for the next send. `flush` waits until both are
/// out; a failed send is reported by the next write or flush. Dropped with bytes still to
/// send, the adapter finishes sending them on a task (Tokio's bytes are in the kernel by then).
///
/// Left out, unlike the native stream: the task's immediate-completion budget for the
/// non-blocking sends (fairness, not cost).
mod owned {
    use std::future::Future;
    use std::io;
    use std::os::fd::{AsRawFd, RawFd};
    use std::pin::Pin;
    use std::task::{ready, Context, Poll};

    use ringolo::buf::{IoBuf, Slice};
    use ringolo::driver::ops::{Recv, Send};
    use ringolo::net::TcpStream;
    use ringolo::Op;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    /// The read buffer: what one `RECV` may bring.
    const READ_CAP: usize = 64 * 1024;
    /// Bytes `poll_write` accepts while a send is in flight.
    const WRITE_CAP: usize = 64 * 1024;

    pub struct OwnedBufStream {
        /// `None` only once dropped (a pending send took it).
        stream: Option<TcpStream>,
        /// Received bytes, `rbuf[rpos..]` not yet handed out (empty while a `RECV` owns it).
        rbuf: Vec<u8>,
        rpos: usize,
        reading: Option<Op<Recv<Vec<u8>>>>,
        writer: Writer,
    }

    /// The write side's buffers and its send in flight.
    #[derive(Default)]
    struct Writer {
        /// The buffer being sent: `out[sent..]` is still to go (the send owns it meanwhile).
        out: Vec<u8>,
        sent: usize,
        sending: Option<Op<Send<Slice<Vec<u8>>>>>,
        /// Bytes reported written while `out` was going out.
        next: Vec<u8>,
        /// A failed send whose bytes were already reported written.
        err: Option<io::Error>,
    }

    impl Writer {
        fn is_idle(&self) -> bool {
            self.sending.is_none() && self.sent == self.out.len() && self.next.is_empty()
        }

        /// Send what waits, one send at a time; `Ready` once everything is out.
        fn poll_send(&mut self, stream: &TcpStream, cx: &mut Context<'_>) -> Poll<()> {
            loop {
                if let Some(op) = &mut self.sending {
                    let (res, slice) = ready!(Pin::new(op).poll(cx));
                    self.sending = None;
                    self.out = slice.into_inner();
                    self.sent_or_failed(res);
                }
                if self.sent == self.out.len() {
                    if self.next.is_empty() {
                        return Poll::Ready(());
                    }
                    self.out.clear();
                    std::mem::swap(&mut self.out, &mut self.next);
                    self.sent = 0;
                }
                // Room in the socket: send now (no SQE); else a SEND waits for room.
                let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
                match socket2::SockRef::from(stream).send_with_flags(&self.out[self.sent..], flags)
                {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        let buf = std::mem::take(&mut self.out);
                        let end = buf.len();
                        let slice = buf.slice(self.sent..end);
                        self.sending = Some(Op::new(Send::new(stream.as_raw_fd(), slice, 0)));
                    }
                    res => self.sent_or_failed(res),
                }
            }
        }

        fn sent_or_failed(&mut self, res: io::Result<usize>) {
            match res {
                Ok(0) => self.failed(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.failed(e),
            }
        }

        /// The rest of `out` and `next` are dropped; the error waits for the next write.
        fn failed(&mut self, e: io::Error) {
            self.err.get_or_insert(e);
            self.sent = self.out.len();
            self.next.clear();
        }
    }

    /// `stream` behind Tokio's traits.
    pub fn wrap(stream: TcpStream) -> OwnedBufStream {
        OwnedBufStream {
            stream: Some(stream),
            rbuf: Vec::with_capacity(READ_CAP),
            rpos: 0,
            reading: None,
            writer: Writer::default(),
        }
    }

    impl OwnedBufStream {
        fn parts(&mut self) -> (&TcpStream, &mut Writer) {
            (self.stream.as_ref().expect("not dropped"), &mut self.writer)
        }

        fn fd(&self) -> RawFd {
            self.stream.as_ref().expect("not dropped").as_raw_fd()
        }
    }

    impl AsyncRead for OwnedBufStream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            dst: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let me = self.get_mut();
            if me.writer.sending.is_some() {
                // A send that waited for room goes on while the task reads.
                let (stream, writer) = me.parts();
                let _ = writer.poll_send(stream, cx);
            }
            if dst.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if me.rpos == me.rbuf.len() {
                if me.reading.is_none() {
                    let mut buf = std::mem::take(&mut me.rbuf);
                    buf.clear();
                    me.rpos = 0;
                    me.reading = Some(Op::new(Recv::new(me.fd(), buf, 0).poll_first()));
                }
                let recv = me.reading.as_mut().expect("a recv in flight");
                let (res, buf) = ready!(Pin::new(recv).poll(cx));
                me.reading = None;
                me.rbuf = buf;
                me.rpos = 0;
                // Ok(0), the peer's close, leaves the buffer empty: nothing is filled.
                res?;
            }
            let n = (me.rbuf.len() - me.rpos).min(dst.remaining());
            dst.put_slice(&me.rbuf[me.rpos..me.rpos + n]);
            me.rpos += n;
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for OwnedBufStream {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            src: &[u8],
        ) -> Poll<io::Result<usize>> {
            let (stream, w) = self.get_mut().parts();
            if let Some(e) = w.err.take() {
                return Poll::Ready(Err(e));
            }
            if w.next.len() >= WRITE_CAP {
                // Full: only a finished send makes room (it wakes us).
                let _ = w.poll_send(stream, cx);
                if let Some(e) = w.err.take() {
                    return Poll::Ready(Err(e));
                }
                if w.next.len() >= WRITE_CAP {
                    return Poll::Pending;
                }
            }
            let n = src.len().min(WRITE_CAP - w.next.len());
            w.next.extend_from_slice(&src[..n]);
            let _ = w.poll_send(stream, cx);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let (stream, w) = self.get_mut().parts();
            ready!(w.poll_send(stream, cx));
            Poll::Ready(w.err.take().map_or(Ok(()), Err))
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            ready!(self.as_mut().poll_flush(cx))?;
            let (stream, _) = self.get_mut().parts();
            let res = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write);
            Poll::Ready(match res {
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
                other => other,
            })
        }
    }

    impl Drop for OwnedBufStream {
        fn drop(&mut self) {
            if self.writer.is_idle() {
                return;
            }
            let Some(handle) = ringolo::runtime::Handle::try_current() else {
                return;
            };
            let (Some(stream), mut writer) = (self.stream.take(), std::mem::take(&mut self.writer))
            else {
                return;
            };
            handle.spawn(std::future::poll_fn(move |cx| {
                writer.poll_send(&stream, cx)
            }));
        }
    }
}

type Side<'a> = Box<dyn Fn(usize, usize) -> Run + 'a>;

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let (reps, rounds) = if quick { (3, 100) } else { (11, 1500) };
    // Side names among the arguments run only those sides (for profiling one of them).
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| SIDES.contains(&a.as_str()))
        .collect();
    let runs = |i: usize| only.is_empty() || only.iter().any(|o| o == SIDES[i]);
    let compat = ringolo::compat::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tok = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let native = ringolo::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let sides: [Side; 4] = [
        Box::new(|size, rounds| compat_echo(&compat, size, rounds)),
        Box::new(|size, rounds| tokio_echo(&tok, size, rounds)),
        Box::new(|size, rounds| native_echo(&native, size, rounds)),
        Box::new(|size, rounds| owned_echo(&compat, size, rounds)),
    ];

    println!("compat_io: {}", machine());
    println!(
        "in-process TCP echo, {CONNS} connections x {rounds} round trips per run \
         (read_exact/write_all; native: owned buffers), one current-thread runtime per side, \
         {reps} interleaved repetitions (order rotates){}",
        if quick {
            " — QUICK: smoke run, numbers are noise"
        } else {
            ""
        }
    );
    println!(
        "µs per round trip, medians; ratios = median of per-repetition ratios (min-max). \
         Targets: compat/tokio CPU <= 0.95, compat/native CPU <= 1.05"
    );
    println!(
        "{:<6} {:<4} {:>7} {:>7} {:>7} {:>7} {:>18} {:>18} {:>18}  verdict",
        "size",
        "",
        SIDES[0],
        SIDES[1],
        SIDES[2],
        SIDES[3],
        "compat/tokio",
        "compat/native",
        "owned/compat"
    );
    let total = CONNS * rounds;
    let mut verified = [0usize; 4];
    for size in SIZES {
        // Warm-up: connections, buffers, the runtimes' caches.
        for (i, side) in sides.iter().enumerate() {
            if runs(i) {
                side(size, rounds / 4);
            }
        }
        let mut cpu: [Vec<f64>; 4] = Default::default();
        let mut wall: [Vec<f64>; 4] = Default::default();
        for rep in 0..reps {
            for k in 0..4 {
                let i = (rep + k) % 4;
                if !runs(i) {
                    continue;
                }
                let run = sides[i](size, rounds);
                assert_eq!(run.verified, total * size);
                verified[i] += run.verified;
                let us = |d: Duration| d.as_secs_f64() * 1e6 / total as f64;
                cpu[i].push(us(run.cpu));
                wall[i].push(us(run.wall));
            }
        }
        for (metric, v) in [("cpu", &cpu), ("wall", &wall)] {
            // (median, min, max) of the per-repetition ratios a/b; NaN if a side did not run.
            let ratio = |a: usize, b: usize| -> (f64, f64, f64) {
                let mut r: Vec<f64> = v[a].iter().zip(&v[b]).map(|(x, y)| x / y).collect();
                if r.is_empty() {
                    return (f64::NAN, f64::NAN, f64::NAN);
                }
                let (lo, hi) = min_max(&r);
                (median(&mut r), lo, hi)
            };
            let (ct, cn, oc) = (ratio(0, 1), ratio(0, 2), ratio(3, 0));
            let fmt = |(m, lo, hi): (f64, f64, f64)| {
                if m.is_nan() {
                    "-".to_string()
                } else {
                    format!("{m:.2} ({lo:.2}-{hi:.2})")
                }
            };
            let met = |m: f64, target: f64| match m {
                m if m.is_nan() => "-",
                m if m <= target => "met",
                _ => "MISSED",
            };
            let verdict = if metric == "cpu" {
                format!("c/t {}  c/n {}", met(ct.0, 0.95), met(cn.0, 1.05))
            } else {
                String::new()
            };
            let med = |i: usize| {
                if v[i].is_empty() {
                    f64::NAN
                } else {
                    median(&mut v[i].clone())
                }
            };
            println!(
                "{:<6} {:<4} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>18} {:>18} {:>18}  {}",
                if size >= 1024 {
                    format!("{} KiB", size / 1024)
                } else {
                    format!("{size} B")
                },
                metric,
                med(0),
                med(1),
                med(2),
                med(3),
                fmt(ct),
                fmt(cn),
                fmt(oc),
                verdict
            );
        }
    }
    println!(
        "echo verified byte for byte (bytes, timed runs): compat {}, tokio {}, native {}, owned {}",
        verified[0], verified[1], verified[2], verified[3]
    );
}

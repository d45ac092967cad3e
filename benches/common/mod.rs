//! Helpers shared by the benchmark binaries.
#![allow(dead_code)]

pub mod aligned;

use std::time::Duration;

/// CPU time (user + system) of the calling thread.
pub fn thread_cpu() -> Duration {
    // SAFETY: getrusage fills the struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The smallest and largest value.
pub fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &x| (l.min(x), h.max(x)))
}

/// A ringolo and a tokio current-thread runtime, for side-by-side runs.
pub fn current_thread_pair() -> (ringolo::runtime::Runtime, tokio::runtime::Runtime) {
    let ring = ringolo::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let tok = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (ring, tok)
}

/// The median (sorts `v`).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// CPU time (user + system) of the whole process (every thread).
pub fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// One echo connection on ringolo: read up to `cap` bytes, write them back, until EOF or error.
pub async fn ringolo_echo_conn(conn: ringolo::net::TcpStream, cap: usize) {
    let mut buf = Vec::with_capacity(cap);
    loop {
        buf.clear();
        let (n, b) = conn.read(buf).await;
        if !matches!(n, Ok(n) if n > 0) {
            return;
        }
        let (res, b) = conn.write_all(b).await;
        if res.is_err() {
            return;
        }
        buf = b;
    }
}

/// The same connection loop on tokio.
pub async fn tokio_echo_conn(mut conn: tokio::net::TcpStream, cap: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; cap];
    loop {
        let n = match conn.read(&mut buf).await {
            Ok(n) if n > 0 => n,
            _ => return,
        };
        if conn.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A closed-loop echo client on ringolo: `rounds` times, send `size` bytes and read them back.
pub async fn ringolo_echo_client(s: ringolo::net::TcpStream, size: usize, rounds: usize) {
    let mut msg = vec![7u8; size];
    let mut back = Vec::with_capacity(size);
    for _ in 0..rounds {
        let (res, m) = s.write_all(msg).await;
        res.unwrap();
        msg = m;
        back.clear();
        let (res, b) = s.read_exact(back).await;
        res.unwrap();
        back = b;
    }
}

/// The same client on tokio.
pub async fn tokio_echo_client(mut s: tokio::net::TcpStream, size: usize, rounds: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let msg = vec![7u8; size];
    let mut back = vec![0u8; size];
    for _ in 0..rounds {
        s.write_all(&msg).await.unwrap();
        s.read_exact(&mut back).await.unwrap();
    }
}

/// The machine and the date, for a bench's header: CPU model and count (/proc/cpuinfo), kernel
/// release, and the UTC time now.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU", str::trim)
        .to_string();
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{model}, {cpus} CPUs, Linux {}, {year}-{month:02}-{day:02} {:02}:{:02} UTC",
        kernel.trim(),
        rem / 3600,
        rem % 3600 / 60
    )
}

/// A compat runtime for the side-by-side benches: current-thread, or multi-thread with 2 workers.
pub fn compat_rt(multi: bool) -> ringolo::compat::runtime::Runtime {
    let mut b = if multi {
        let mut b = ringolo::compat::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        ringolo::compat::runtime::Builder::new_current_thread()
    };
    b.enable_all().build().unwrap()
}

/// Tokio's runtime of the same shape as [`compat_rt`].
pub fn tokio_rt(multi: bool) -> tokio::runtime::Runtime {
    let mut b = if multi {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    b.enable_all().build().unwrap()
}

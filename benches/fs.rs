//! 4 KiB random reads of a 1 GiB file with 32 reads in flight: ringolo (io_uring) against a
//! tokio-style `spawn_blocking(pread)` per read and a plain single-threaded `pread` loop, page
//! cache hot and with O_DIRECT. Reports IOPS (reads per second) per configuration.
//!
//! `cargo bench --bench fs` (add `quick` for fewer repetitions). The file is created once under
//! target/bench-data (1 GiB of disk).

mod common;
use common::median;

use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const FILE_SIZE: u64 = 1 << 30;
use common::aligned::{Aligned, BLOCK};
const DEPTH: usize = 32;

fn data_file() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("random-reads-1g");
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(FILE_SIZE) {
        let f = std::fs::File::create(&path).unwrap();
        let chunk: Vec<u8> = (0..(1 << 20))
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        for i in 0..(FILE_SIZE >> 20) {
            f.write_all_at(&chunk, i << 20).unwrap();
        }
        f.sync_all().unwrap();
    }
    path
}

/// The offsets worker `w` of `DEPTH` reads: a per-worker LCG over 4 KiB blocks.
fn offsets(w: usize, n: usize) -> impl Iterator<Item = u64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (w as u64 + 1);
    (0..n).map(move |_| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((x >> 33) % (FILE_SIZE / BLOCK as u64)) * BLOCK as u64
    })
}

fn open_std(path: &PathBuf, direct: bool) -> std::fs::File {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    if direct {
        o.custom_flags(libc::O_DIRECT);
    }
    o.open(path).unwrap()
}

fn ringolo_reads(
    rt: &ringolo::runtime::Runtime,
    path: &PathBuf,
    direct: bool,
    total: usize,
) -> Duration {
    rt.block_on(async {
        let mut opts = ringolo::fs::OpenOptions::new();
        opts.read(true);
        if direct {
            opts.custom_flags(libc::O_DIRECT);
        }
        let file = std::sync::Arc::new(opts.open(path).await.unwrap());
        let t0 = Instant::now();
        let workers: Vec<_> = (0..DEPTH)
            .map(|w| {
                let file = file.clone();
                ringolo::spawn(async move {
                    let mut buf = Aligned::new();
                    for off in offsets(w, total / DEPTH) {
                        buf.clear();
                        let (n, b) = file.read_at(buf, off).await;
                        assert_eq!(n.unwrap(), BLOCK);
                        buf = b;
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        t0.elapsed()
    })
}

fn tokio_reads(
    rt: &tokio::runtime::Runtime,
    path: &PathBuf,
    direct: bool,
    total: usize,
) -> Duration {
    let file = std::sync::Arc::new(open_std(path, direct));
    rt.block_on(async {
        let t0 = Instant::now();
        let workers: Vec<_> = (0..DEPTH)
            .map(|w| {
                let file = file.clone();
                tokio::spawn(async move {
                    let mut buf = Aligned::new();
                    for off in offsets(w, total / DEPTH) {
                        let f = file.clone();
                        // What tokio::fs does for every call: one blocking-pool round trip.
                        buf = tokio::task::spawn_blocking(move || {
                            assert_eq!(buf.pread(f.as_raw_fd(), off).unwrap(), BLOCK);
                            buf
                        })
                        .await
                        .unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        t0.elapsed()
    })
}

fn pread_loop(path: &PathBuf, direct: bool, total: usize) -> Duration {
    let file = open_std(path, direct);
    let mut buf = Aligned::new();
    let t0 = Instant::now();
    for w in 0..DEPTH {
        for off in offsets(w, total / DEPTH) {
            assert_eq!(buf.pread(file.as_raw_fd(), off).unwrap(), BLOCK);
        }
    }
    t0.elapsed()
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let reps = if quick { 3 } else { 5 };
    let path = data_file();
    // Warm the page cache for the hot runs.
    let _ = std::process::Command::new("cat")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .status();
    let (ring, tok) = common::current_thread_pair();
    println!("4 KiB random reads of a 1 GiB file, {DEPTH} in flight, {reps} interleaved repetitions, median IOPS");
    println!(
        "{:<12} {:>12} {:>16} {:>12} {:>16}",
        "mode", "ringolo", "tokio (blocking)", "pread loop", "ringolo/tokio"
    );
    for (name, direct, total) in [("page cache", false, 64_000), ("O_DIRECT", true, 32_000)] {
        let (mut r, mut t, mut p) = (vec![], vec![], vec![]);
        ringolo_reads(&ring, &path, direct, total / 4);
        for _ in 0..reps {
            let iops = |d: Duration| total as f64 / d.as_secs_f64();
            r.push(iops(ringolo_reads(&ring, &path, direct, total)));
            t.push(iops(tokio_reads(&tok, &path, direct, total)));
            p.push(iops(pread_loop(&path, direct, total)));
        }
        let (r, t, p) = (median(&mut r), median(&mut t), median(&mut p));
        println!(
            "{:<12} {:>12.0} {:>16.0} {:>12.0} {:>16.2}",
            name,
            r,
            t,
            p,
            r / t
        );
    }
}

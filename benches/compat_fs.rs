//! `ringolo::compat::fs::File` against `tokio::fs::File`, both on current-thread runtimes, the
//! same Tokio-style code on each (`AsyncReadExt::read`, `AsyncSeekExt::seek` + `read_exact`).
//!
//! Workloads, over one 1 GiB file under target/bench-data (a real disk filesystem: checked with
//! `statfs`, tmpfs is refused — io_uring punts tmpfs reads to kernel workers, PERF.md):
//! - **sequential read** of the whole file with `read` into a 64 KiB and a 1 MiB buffer, page
//!   cache warm (the file is read once before);
//! - **4 KiB random reads, page cache hot**: 32 tasks, each with its own `File`, each read a
//!   `seek(Start)` + `read_exact` at a 4 KiB-aligned offset;
//! - **4 KiB random reads with `O_DIRECT`** (`custom_flags(libc::O_DIRECT)`, the disk): first
//!   through each `File` as above — compat's `File` aligns its buffer for an `O_DIRECT` file;
//!   Tokio's reads into a plain `Vec` whose address `O_DIRECT` (512-byte DMA alignment on
//!   virtio-blk) usually refuses with `EINVAL` (the bench reports how many of the 32 files
//!   failed), so compat's is compared with the Tokio-idiomatic workaround,
//!   `spawn_blocking(pread)` into a 4 KiB-aligned buffer — then that workaround on both
//!   runtimes, and native ringolo's `fs::File::read_at` into an aligned buffer on the compat
//!   runtime.
//!
//! Files are opened before the clock starts. Each read's bytes are spot-checked against the
//! file's known pattern (the first 16 bytes and the last byte of each read), and byte counts
//! are asserted.
//!
//! Method (/work/shared/PERF.md): the sides of a workload run interleaved in one process,
//! alternating which goes first, 9 repetitions after a warm-up. The table shows medians of
//! throughput (MB/s = 10^6 bytes per second of wall time, and reads per second) and of the
//! process's CPU time (`getrusage(RUSAGE_SELF)`, every thread: Tokio's blocking pool included)
//! per read, and each side's per-repetition ratios against the Tokio side with min–max.
//! Target (issue 10): compat ≥ 2× Tokio's throughput on random reads.
//!
//! `cargo bench --bench compat_fs` (add `quick` for a smoke run: a quarter of the file, fewer
//! reads and repetitions).

mod common;
use common::{machine, median, min_max, process_cpu};

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncSeekExt};

const FILE_SIZE: u64 = 1 << 30;
use common::aligned::{Aligned, BLOCK};
const TASKS: usize = 32;
/// The file repeats this 1 MiB pattern (the same file as benches/fs.rs).
const PATTERN_LEN: usize = 1 << 20;

fn pattern() -> Vec<u8> {
    (0..PATTERN_LEN as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// Spot-check `got`, read at file offset `off`: its first 16 bytes and its last byte.
fn check(pattern: &[u8], off: u64, got: &[u8]) {
    let at = |i: usize| pattern[((off + i as u64) % PATTERN_LEN as u64) as usize];
    let ok = got.iter().take(16).enumerate().all(|(i, &b)| b == at(i))
        && got.last().is_none_or(|&b| b == at(got.len() - 1));
    assert!(ok, "wrong bytes read at offset {off}");
}

/// Outcome of one run of one side.
#[derive(Default)]
struct Run {
    wall: Duration,
    cpu: Duration,
    reads: usize,
    bytes: u64,
    /// Files whose reads failed, and the first error.
    failed: usize,
    error: Option<String>,
}

fn data_file() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("random-reads-1g");
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(FILE_SIZE) {
        let f = std::fs::File::create(&path).unwrap();
        let chunk = pattern();
        for i in 0..(FILE_SIZE >> 20) {
            f.write_all_at(&chunk, i << 20).unwrap();
        }
        f.sync_all().unwrap();
    }
    path
}

/// The filesystem `path` lives on, as statfs's magic (tmpfs refused).
fn filesystem(path: &Path) -> String {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: statfs fills the struct (all-zero is a valid value of it).
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path, `st` a struct statfs.
    assert_eq!(unsafe { libc::statfs(c.as_ptr(), &mut st) }, 0);
    let magic = st.f_type as u64;
    assert_ne!(
        magic, 0x0102_1994,
        "the data file is on tmpfs: io_uring punts tmpfs reads to kernel workers (PERF.md)"
    );
    let name = match magic {
        0xEF53 => "ext2/3/4",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        _ => "other",
    };
    format!("{name} (statfs magic {magic:#x})")
}

/// Read the whole file once, so the page cache holds it.
fn warm(path: &Path) {
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf).unwrap() > 0 {}
}

/// The offsets task `w` reads: a per-task LCG over the file's 4 KiB blocks.
fn offsets(w: usize, n: usize) -> impl Iterator<Item = u64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (w as u64 + 1);
    (0..n).map(move |_| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((x >> 33) % (FILE_SIZE / BLOCK as u64)) * BLOCK as u64
    })
}

/// The Tokio-style workloads, written once for a runtime and its `fs`.
macro_rules! file_side {
    ($name:ident, $rt:ty, $spawn:path, $spawn_blocking:path, $fs:path) => {
        mod $name {
            use super::*;
            use $fs as fs;

            /// `len` bytes from the start, `read` into a `buf_size` buffer until they are in.
            pub fn seq(rt: &$rt, path: &Path, buf_size: usize, len: u64) -> Run {
                let pattern = pattern();
                rt.block_on(async {
                    let mut f = fs::File::open(path).await.unwrap();
                    let mut buf = vec![0u8; buf_size];
                    let (c0, t0) = (process_cpu(), Instant::now());
                    let (mut off, mut reads) = (0u64, 0usize);
                    while off < len {
                        let n = f.read(&mut buf).await.unwrap();
                        assert!(n > 0, "EOF at {off}");
                        check(&pattern, off, &buf[..n]);
                        off += n as u64;
                        reads += 1;
                    }
                    Run {
                        wall: t0.elapsed(),
                        cpu: process_cpu() - c0,
                        reads,
                        bytes: off,
                        ..Run::default()
                    }
                })
            }

            /// `total` 4 KiB reads, `seek` + `read_exact`, by TASKS tasks with a `File` each.
            pub fn random(rt: &$rt, path: &Path, direct: bool, total: usize) -> Run {
                let pattern = Arc::new(pattern());
                rt.block_on(async {
                    let mut files = Vec::with_capacity(TASKS);
                    for _ in 0..TASKS {
                        let mut opts = fs::OpenOptions::new();
                        opts.read(true);
                        if direct {
                            opts.custom_flags(libc::O_DIRECT);
                        }
                        files.push(opts.open(path).await.unwrap());
                    }
                    let (c0, t0) = (process_cpu(), Instant::now());
                    let tasks: Vec<_> = files
                        .into_iter()
                        .enumerate()
                        .map(|(w, mut f)| {
                            let pattern = pattern.clone();
                            $spawn(async move {
                                let mut buf = vec![0u8; BLOCK];
                                let mut reads = 0;
                                for off in offsets(w, total / TASKS) {
                                    f.seek(std::io::SeekFrom::Start(off)).await?;
                                    f.read_exact(&mut buf).await?;
                                    check(&pattern, off, &buf);
                                    reads += 1;
                                }
                                std::io::Result::Ok(reads)
                            })
                        })
                        .collect();
                    let mut run = Run::default();
                    for t in tasks {
                        match t.await.unwrap() {
                            Ok(n) => run.reads += n,
                            Err(e) => {
                                run.failed += 1;
                                run.error.get_or_insert(e.to_string());
                            }
                        }
                    }
                    run.wall = t0.elapsed();
                    run.cpu = process_cpu() - c0;
                    run.bytes = (run.reads * BLOCK) as u64;
                    run
                })
            }

            /// `random` the Tokio-idiomatic way for O_DIRECT: `spawn_blocking(pread)` into an
            /// aligned block, TASKS tasks sharing one std file.
            pub fn blocking_pread(rt: &$rt, path: &Path, total: usize) -> Run {
                let pattern = Arc::new(pattern());
                let file = Arc::new(
                    std::fs::OpenOptions::new()
                        .read(true)
                        .custom_flags(libc::O_DIRECT)
                        .open(path)
                        .unwrap(),
                );
                rt.block_on(async {
                    let (c0, t0) = (process_cpu(), Instant::now());
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|w| {
                            let (file, pattern) = (file.clone(), pattern.clone());
                            $spawn(async move {
                                let mut buf = Aligned::new();
                                for off in offsets(w, total / TASKS) {
                                    let f = file.clone();
                                    buf = $spawn_blocking(move || {
                                        assert_eq!(buf.pread(f.as_raw_fd(), off).unwrap(), BLOCK);
                                        buf
                                    })
                                    .await
                                    .unwrap();
                                    check(&pattern, off, buf.bytes());
                                }
                                total / TASKS
                            })
                        })
                        .collect();
                    let mut run = Run::default();
                    for t in tasks {
                        run.reads += t.await.unwrap();
                    }
                    run.wall = t0.elapsed();
                    run.cpu = process_cpu() - c0;
                    run.bytes = (run.reads * BLOCK) as u64;
                    run
                })
            }
        }
    };
}

file_side!(
    compat,
    ringolo::compat::runtime::Runtime,
    ringolo::compat::spawn,
    ringolo::compat::task::spawn_blocking,
    ringolo::compat::fs
);

file_side!(
    tokio_side,
    tokio::runtime::Runtime,
    tokio::spawn,
    tokio::task::spawn_blocking,
    tokio::fs
);

/// Native ringolo's `read_at` into aligned blocks, O_DIRECT, TASKS tasks sharing one file, on
/// the compat runtime (what a compat program can call for O_DIRECT).
fn native_read_at(rt: &ringolo::compat::runtime::Runtime, path: &Path, total: usize) -> Run {
    let pattern = Arc::new(pattern());
    rt.block_on(async {
        let mut opts = ringolo::fs::OpenOptions::new();
        opts.read(true).custom_flags(libc::O_DIRECT);
        let file = Arc::new(opts.open(path).await.unwrap());
        let (c0, t0) = (process_cpu(), Instant::now());
        let tasks: Vec<_> = (0..TASKS)
            .map(|w| {
                let (file, pattern) = (file.clone(), pattern.clone());
                ringolo::compat::spawn(async move {
                    let mut buf = Aligned::new();
                    for off in offsets(w, total / TASKS) {
                        buf.clear();
                        let (n, b) = file.read_at(buf, off).await;
                        assert_eq!(n.unwrap(), BLOCK);
                        buf = b;
                        check(&pattern, off, buf.bytes());
                    }
                    total / TASKS
                })
            })
            .collect();
        let mut run = Run::default();
        for t in tasks {
            run.reads += t.await.unwrap();
        }
        run.wall = t0.elapsed();
        run.cpu = process_cpu() - c0;
        run.bytes = (run.reads * BLOCK) as u64;
        run
    })
}

type Side<'a> = (&'static str, Box<dyn Fn() -> Run + 'a>);

struct Workload<'a> {
    name: String,
    /// The sides; the last is the Tokio reference the ratios divide by.
    sides: Vec<Side<'a>>,
    /// The throughput target for the first side over the reference.
    target: Option<f64>,
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let reps = if quick { 3 } else { 9 };
    let seq_len = if quick { FILE_SIZE / 4 } else { FILE_SIZE };
    let (hot_reads, direct_reads) = if quick {
        (4_096, 2_048)
    } else {
        (131_072, 65_536)
    };
    let path = data_file();
    let fs_name = filesystem(&path);
    warm(&path);

    let compat_rt = ringolo::compat::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (c, t, p) = (&compat_rt, &tokio_rt, path.as_path());

    let mut workloads: Vec<Workload> = Vec::new();
    for buf in [64 << 10, 1 << 20] {
        workloads.push(Workload {
            name: format!("seq read {} MiB, {} KiB buf", seq_len >> 20, buf >> 10),
            sides: vec![
                (
                    "compat File",
                    Box::new(move || compat::seq(c, p, buf, seq_len)),
                ),
                (
                    "tokio File",
                    Box::new(move || tokio_side::seq(t, p, buf, seq_len)),
                ),
            ],
            target: None,
        });
    }
    workloads.push(Workload {
        name: format!("rand 4K hot, {TASKS} files"),
        sides: vec![
            (
                "compat File",
                Box::new(move || compat::random(c, p, false, hot_reads)),
            ),
            (
                "tokio File",
                Box::new(move || tokio_side::random(t, p, false, hot_reads)),
            ),
        ],
        target: Some(2.0),
    });
    workloads.push(Workload {
        name: format!("rand 4K O_DIRECT, {TASKS} files"),
        sides: vec![
            (
                "compat File",
                Box::new(move || compat::random(c, p, true, direct_reads)),
            ),
            (
                "tokio File",
                Box::new(move || tokio_side::random(t, p, true, direct_reads)),
            ),
            // Tokio's own File fails here (its buffer is not aligned): the ratio is taken
            // against what a Tokio program does instead.
            (
                "tokio spawn_blocking(pread)",
                Box::new(move || tokio_side::blocking_pread(t, p, direct_reads)),
            ),
        ],
        target: Some(2.0),
    });
    workloads.push(Workload {
        name: format!("rand 4K O_DIRECT, aligned, {TASKS} tasks"),
        sides: vec![
            (
                "native read_at (compat rt)",
                Box::new(move || native_read_at(c, p, direct_reads)),
            ),
            (
                "compat spawn_blocking(pread)",
                Box::new(move || compat::blocking_pread(c, p, direct_reads)),
            ),
            (
                "tokio spawn_blocking(pread)",
                Box::new(move || tokio_side::blocking_pread(t, p, direct_reads)),
            ),
        ],
        target: None,
    });

    println!("compat_fs: {}", machine());
    println!(
        "data: {} (1 GiB, page cache warmed), on {fs_name}; current-thread runtimes; {reps} \
         interleaved repetitions{}",
        path.display(),
        if quick {
            " — QUICK: smoke run, numbers are noise"
        } else {
            ""
        }
    );
    println!(
        "medians; MB/s = 10^6 B/s wall; cpu = process CPU µs per read; ratios vs the tokio side: \
         median of per-repetition ratios (min-max). Target: compat >= 2x tokio on random reads"
    );
    println!(
        "{:<36} {:<29} {:>8} {:>9} {:>8} {:>19} {:>19}  verdict",
        "workload", "side", "MB/s", "reads/s", "cpu µs", "thrpt / tokio", "cpu / tokio"
    );
    for w in &workloads {
        let n = w.sides.len();
        // Warm-up, and which sides fail (O_DIRECT through an unaligned buffer).
        let mut failed: Vec<Option<String>> = w
            .sides
            .iter()
            .map(|(_, f)| {
                let r = f();
                r.error
                    .map(|e| format!("{} of {TASKS} files failed: {e}", r.failed))
            })
            .collect();
        let mut thrpt: Vec<Vec<f64>> = vec![Vec::new(); n];
        let mut iops: Vec<Vec<f64>> = vec![Vec::new(); n];
        let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); n];
        for rep in 0..reps {
            for k in 0..n {
                // Alternate the order: forwards on even repetitions, backwards on odd ones.
                let i = if rep % 2 == 0 { k } else { n - 1 - k };
                if failed[i].is_some() {
                    continue;
                }
                let r = (w.sides[i].1)();
                if let Some(e) = r.error {
                    // Failed in a repetition though not in the warm-up (an unaligned buffer's
                    // luck changed): the side is reported as failing.
                    failed[i] = Some(format!("{} of {TASKS} files failed: {e}", r.failed));
                    continue;
                }
                let secs = r.wall.as_secs_f64();
                thrpt[i].push(r.bytes as f64 / secs / 1e6);
                iops[i].push(r.reads as f64 / secs);
                cpu[i].push(r.cpu.as_secs_f64() * 1e6 / r.reads as f64);
            }
        }
        let reference = n - 1;
        for i in 0..n {
            let name = if i == 0 { w.name.as_str() } else { "" };
            if let Some(e) = &failed[i] {
                println!("{name:<36} {:<29} FAILS: {e}", w.sides[i].0);
                continue;
            }
            let ratio = |v: &[Vec<f64>]| -> String {
                if i == reference || failed[reference].is_some() {
                    return "-".into();
                }
                let mut r: Vec<f64> = v[i].iter().zip(&v[reference]).map(|(a, b)| a / b).collect();
                let (lo, hi) = min_max(&r);
                format!("{:.2} ({lo:.2}-{hi:.2})", median(&mut r))
            };
            let verdict = match w.target {
                Some(t) if i == 0 && failed[reference].is_none() => {
                    let mut r: Vec<f64> = thrpt[0]
                        .iter()
                        .zip(&thrpt[reference])
                        .map(|(a, b)| a / b)
                        .collect();
                    if median(&mut r) >= t {
                        format!(">= {t} met")
                    } else {
                        format!(">= {t} MISSED")
                    }
                }
                _ => String::new(),
            };
            println!(
                "{name:<36} {:<29} {:>8.0} {:>9.0} {:>8.2} {:>19} {:>19}  {verdict}",
                w.sides[i].0,
                median(&mut thrpt[i].clone()),
                median(&mut iops[i].clone()),
                median(&mut cpu[i].clone()),
                ratio(&thrpt),
                ratio(&cpu),
            );
        }
    }
    println!("every read's bytes spot-checked against the file's pattern; byte counts asserted");
}

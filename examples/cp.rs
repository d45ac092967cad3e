//! Copy a file with batches of io_uring reads and writes.
//!
//! `cargo run --release --example cp -- SRC DST`
//!
//! Each round submits up to 8 positional reads of 1 MiB as one batch (`OpList::batch`), then
//! the matching writes as another batch: 8 requests in flight per round trip to the kernel.

use std::os::fd::AsRawFd;

use ringolo::buf::IoBuf;
use ringolo::driver::ops::{Read, Write};
use ringolo::fs::{File, OpenOptions};
use ringolo::OpList;

const CHUNK: usize = 1 << 20;
const DEPTH: u64 = 8;

#[ringolo::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(src), Some(dst)) = (args.next(), args.next()) else {
        eprintln!("usage: cp SRC DST");
        std::process::exit(2);
    };
    let from = File::open(&src).await?;
    let meta = from.metadata().await?;
    let (len, perm) = (meta.len(), meta.permissions());
    let to = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&dst)
        .await?;
    let start = std::time::Instant::now();

    let mut pos = 0u64;
    while pos < len {
        let offsets: Vec<u64> = (0..DEPTH)
            .map(|i| pos + i * CHUNK as u64)
            .filter(|&o| o < len)
            .collect();
        let reads = OpList::batch(
            offsets
                .iter()
                .map(|&o| Read::new(from.as_raw_fd(), Vec::with_capacity(CHUNK), o)),
        );
        let mut writes = Vec::new();
        for (&off, (res, mut buf)) in offsets.iter().zip(reads.await) {
            res?;
            // A read may come back short (a signal, a file being written to): read the rest of
            // its chunk before writing it. A read of 0 is the end of a file that shrank.
            let want = CHUNK.min((len - off) as usize);
            while buf.len() < want {
                let have = buf.len();
                let (res, b) = from.read_at(buf, off + have as u64).await;
                buf = b;
                if res? == 0 {
                    break;
                }
            }
            writes.push(Write::new(to.as_raw_fd(), buf, off));
        }
        for (&off, (res, buf)) in offsets.iter().zip(OpList::batch(writes).await) {
            let written = res?;
            if written < buf.len() {
                // A short write (a full disk reports itself on the retry): finish the chunk.
                let (res, _) = to
                    .write_all_at(buf.slice(written..), off + written as u64)
                    .await;
                res?;
            }
        }
        pos += DEPTH * CHUNK as u64;
    }
    to.set_permissions(perm).await?;
    to.sync_all().await?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "copied {len} bytes in {secs:.3} s ({:.1} MiB/s)",
        len as f64 / secs / (1 << 20) as f64
    );
    Ok(())
}

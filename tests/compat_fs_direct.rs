//! `compat::fs::File` opened with `O_DIRECT`: an aligned buffer and whole-block reads make
//! aligned reads and writes work (the real `tokio::fs::File`, with its unaligned buffer, fails
//! them with `EINVAL`, which the last test checks so the difference stays documented).

use std::io::{ErrorKind, SeekFrom};
use std::path::PathBuf;

use ringolo::compat as tokio;
use tokio::fs::OpenOptions;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

const BLOCK: usize = 4096;
const BLOCKS: usize = 16;

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(131) ^ (i >> 12)) as u8
}

/// A 64 KiB file with a known pattern, on the disk file system the temp dir is on (tmpfs has
/// no `O_DIRECT`).
fn data_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ringolo-direct-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data");
    let bytes: Vec<u8> = (0..BLOCK * BLOCKS).map(pattern).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn direct_open() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true).custom_flags(libc::O_DIRECT);
    o
}

#[tokio::test]
async fn aligned_random_reads_and_short_reads_through_an_o_direct_file() {
    let path = data_file("read");
    let mut file = direct_open()
        .open(&path)
        .await
        .expect("O_DIRECT open (the temp dir must be on a disk file system)");
    for &block in &[7usize, 0, 15, 3, 3, 12] {
        file.seek(SeekFrom::Start((block * BLOCK) as u64))
            .await
            .unwrap();
        let mut buf = vec![0u8; BLOCK];
        file.read_exact(&mut buf).await.unwrap();
        let want: Vec<u8> = (block * BLOCK..(block + 1) * BLOCK).map(pattern).collect();
        assert!(buf == want, "block {block} read wrong bytes");
    }
    // A read shorter than a block reads the whole block; the rest comes from the read-ahead.
    file.seek(SeekFrom::Start((2 * BLOCK) as u64))
        .await
        .unwrap();
    let mut head = [0u8; 100];
    file.read_exact(&mut head).await.unwrap();
    let mut rest = vec![0u8; BLOCK - 100 + BLOCK];
    file.read_exact(&mut rest).await.unwrap();
    let got: Vec<u8> = head.iter().chain(rest.iter()).copied().collect();
    let want: Vec<u8> = (2 * BLOCK..4 * BLOCK).map(pattern).collect();
    let first_bad = got.iter().zip(&want).position(|(a, b)| a != b);
    if let Some(i) = first_bad {
        let all: Vec<u8> = (0..BLOCK * BLOCKS).map(pattern).collect();
        let probe = &got[i..i + 64];
        let from = all.windows(64).position(|w| w == probe);
        eprintln!(
            "bytes at {i} are the file's at {from:?}; got {} bytes",
            got.len()
        );
    }
    assert!(
        got == want,
        "short reads lost or repeated bytes (first at {first_bad:?})"
    );
    // And the position is where the reader is, not where the read-ahead went.
    assert_eq!(file.stream_position().await.unwrap(), (4 * BLOCK) as u64);
    // To the end: the last read comes back short at end of file.
    file.seek(SeekFrom::Start(((BLOCKS - 1) * BLOCK) as u64))
        .await
        .unwrap();
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).await.unwrap();
    assert_eq!(tail.len(), BLOCK);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn aligned_writes_through_an_o_direct_file_reach_the_disk() {
    let path = data_file("write");
    let mut file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(&path)
        .await
        .unwrap();
    let new: Vec<u8> = (0..2 * BLOCK).map(|i| !pattern(i)).collect();
    file.seek(SeekFrom::Start((5 * BLOCK) as u64))
        .await
        .unwrap();
    // Two writes in a row, no seek between: the second lands after the first.
    file.write_all(&new[..BLOCK]).await.unwrap();
    file.flush().await.unwrap();
    file.write_all(&new[BLOCK..]).await.unwrap();
    file.flush().await.unwrap();
    assert_eq!(file.stream_position().await.unwrap(), (7 * BLOCK) as u64);
    file.sync_all().await.unwrap();
    drop(file);
    let all = std::fs::read(&path).unwrap();
    assert!(all[5 * BLOCK..7 * BLOCK] == new[..], "the written blocks");
    assert!(
        (0..5 * BLOCK).all(|i| all[i] == pattern(i)),
        "the blocks before are untouched"
    );
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn tokio_s_own_file_fails_the_same_o_direct_read() {
    let path = data_file("tokio");
    let rt = ::tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = rt.block_on(async {
        let mut file = ::tokio::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(&path)
            .await
            .unwrap();
        let mut buf = vec![0u8; BLOCK];
        ::tokio::io::AsyncReadExt::read_exact(&mut file, &mut buf)
            .await
            .unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

//! `tokio::fs::{read_dir, ReadDir, DirEntry}`: std's directory iterator on the blocking pool,
//! 32 entries per call, as Tokio's.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{FileType, Metadata};
use std::future::Future;
use std::io;
use std::os::unix::fs::DirEntryExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::asyncify;
use crate::task::JoinHandle;

/// Entries fetched per blocking call.
const CHUNK_SIZE: usize = 32;

/// Stands for `tokio::fs::read_dir`: the entries of a directory.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    asyncify(move || {
        let mut std = std::fs::read_dir(path)?;
        let mut buf = VecDeque::with_capacity(CHUNK_SIZE);
        let remain = next_chunk(&mut buf, &mut std);
        Ok(ReadDir(State::Idle(Some(Chunk { buf, std, remain }))))
    })
    .await
}

/// Stands for `tokio::fs::ReadDir`: entries come from [`next_entry`](ReadDir::next_entry).
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct ReadDir(State);

#[derive(Debug)]
struct Chunk {
    buf: VecDeque<io::Result<DirEntry>>,
    std: std::fs::ReadDir,
    /// Whether std's iterator may have more.
    remain: bool,
}

#[derive(Debug)]
enum State {
    Idle(Option<Chunk>),
    Pending(JoinHandle<Chunk>),
}

/// Up to a chunk of entries (stopping after an error); whether more may follow.
fn next_chunk(buf: &mut VecDeque<io::Result<DirEntry>>, std: &mut std::fs::ReadDir) -> bool {
    for _ in 0..CHUNK_SIZE {
        let Some(entry) = std.next() else {
            return false;
        };
        let ok = entry.is_ok();
        buf.push_back(entry.map(|std| DirEntry {
            file_type: std.file_type().ok(),
            std: Arc::new(std),
        }));
        if !ok {
            break;
        }
    }
    true
}

impl ReadDir {
    /// Stands for `tokio::fs::ReadDir::next_entry`: the next entry, `None` at the end.
    /// Cancel-safe.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        std::future::poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Stands for `tokio::fs::ReadDir::poll_next_entry`.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.0 {
                State::Idle(chunk) => {
                    let Some(mut c) = chunk.take() else {
                        return Poll::Ready(Ok(None));
                    };
                    if let Some(entry) = c.buf.pop_front() {
                        *chunk = Some(c);
                        return Poll::Ready(entry.map(Some));
                    }
                    if !c.remain {
                        *chunk = Some(c);
                        return Poll::Ready(Ok(None));
                    }
                    self.0 = State::Pending(crate::compat::task::spawn_blocking(move || {
                        c.remain = next_chunk(&mut c.buf, &mut c.std);
                        c
                    }));
                }
                State::Pending(join) => {
                    let chunk = ready!(Pin::new(join).poll(cx))?;
                    self.0 = State::Idle(Some(chunk));
                }
            }
        }
    }
}

/// Stands for `tokio::fs::DirEntry`.
#[derive(Debug)]
pub struct DirEntry {
    file_type: Option<FileType>,
    std: Arc<std::fs::DirEntry>,
}

impl DirEntry {
    /// Stands for `tokio::fs::DirEntry::path`.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// Stands for `tokio::fs::DirEntry::file_name`.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// Stands for `tokio::fs::DirEntry::ino`.
    pub fn ino(&self) -> u64 {
        self.std.ino()
    }

    /// Stands for `tokio::fs::DirEntry::metadata` (of the entry itself, not following a
    /// symbolic link).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// Stands for `tokio::fs::DirEntry::file_type`: from the directory listing when it said.
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(t) = self.file_type {
            return Ok(t);
        }
        let std = self.std.clone();
        asyncify(move || std.file_type()).await
    }
}

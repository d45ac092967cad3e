//! `tokio::fs::File` on io_uring.
//!
//! Tokio's file is a state machine over blocking-pool calls: one operation in flight at a
//! time, owning the file's buffer; reads fill the buffer (at most `max_buf_size` bytes) and
//! hand out what was asked, writes copy into it and report success before the write ran
//! (write-behind: a failure surfaces on the next write, flush or shutdown). This is the same
//! machine, with the same observable rules, but its reads and writes are io_uring
//! `IORING_OP_READ` / `IORING_OP_WRITE` at the file position, run by a small task on the
//! runtime instead of a blocking-pool thread, and seeks are a direct `lseek` (which never
//! waits for a device). Everything that has no opcode (metadata, permissions, times, cloning)
//! runs on the blocking pool exactly as Tokio runs it.
//!
//! The operation's task holds the file open, so a `File` dropped with a write in flight still
//! delivers the write (Tokio's "mandatory" blocking task), and dropping never blocks.
//!
//! A file opened with `O_DIRECT` (`custom_flags`) gets a buffer aligned for it
//! ([`AlignedBuf`]), and its reads ask for whole 4 KiB blocks (the rest of the last block is
//! read-ahead, handed out by the next read as Tokio's read-ahead is), so aligned reads and
//! writes at aligned positions work. Tokio's `File` has an unaligned buffer and fails every
//! such read with `EINVAL`.

use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::Future;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};
use tokio::sync::Mutex;

use super::{asyncify, FileTimes, OpenOptions};
use crate::buf::{AlignedBuf, IoBufMut};
use crate::driver::ops::{Read, Write};
use crate::task::{JoinError, JoinHandle};
use crate::Op;

type StdFile = std::fs::File;

/// Tokio's default cap on the bytes one read or write moves (2 MiB).
pub(crate) const DEFAULT_MAX_BUF_SIZE: usize = 2 * 1024 * 1024;

/// The file position, for ops on a file's cursor.
const CURSOR: u64 = u64::MAX;

/// Stands for `tokio::fs::File`: an open file with Tokio's `AsyncRead`, `AsyncWrite` and
/// `AsyncSeek`, read and written through io_uring.
///
/// As with Tokio's, a write is reported done once its bytes are in the file's buffer; call
/// [`flush`](tokio::io::AsyncWriteExt::flush) (or `sync_all`) to learn whether it reached the
/// file. Dropping a `File` with a write pending lets the write finish in the background.
pub struct File {
    std: Arc<StdFile>,
    inner: Mutex<Inner>,
    max_buf_size: usize,
    /// Opened with `O_DIRECT`: the buffer is aligned and reads are whole blocks.
    direct: bool,
}

struct Inner {
    state: State,
    /// A failed write seen by an operation that could not report it.
    last_write_err: Option<io::ErrorKind>,
    /// Where the last seek landed (what `poll_complete` reports when idle).
    pos: u64,
}

enum State {
    /// No operation: the buffer (read-ahead not yet handed out, or empty).
    Idle(Option<Buf>),
    Busy(Pending),
}

/// An operation in flight, or one that finished at once (a seek).
enum Pending {
    Task(JoinHandle<(Operation, Buf)>),
    Done(Option<(Operation, Buf)>),
}

impl Pending {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(Operation, Buf), JoinError>> {
        match self {
            Pending::Task(join) => Pin::new(join).poll(cx),
            Pending::Done(done) => Poll::Ready(Ok(done
                .take()
                .expect("a finished file operation polled twice"))),
        }
    }
}

enum Operation {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
}

/// The file's buffer: `buf[pos..]` is read-ahead not yet handed out, or the bytes of a write.
#[derive(Default)]
struct Buf {
    buf: Bytes,
    pos: usize,
}

/// The buffer's memory: a `Vec`, or an aligned block for an `O_DIRECT` file.
enum Bytes {
    Plain(Vec<u8>),
    Aligned(AlignedBuf),
}

impl Default for Bytes {
    fn default() -> Bytes {
        Bytes::Plain(Vec::new())
    }
}

impl Bytes {
    fn len(&self) -> usize {
        match self {
            Bytes::Plain(v) => v.len(),
            Bytes::Aligned(a) => a.len(),
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Plain(v) => v,
            Bytes::Aligned(a) => a.as_slice(),
        }
    }

    fn clear(&mut self) {
        match self {
            Bytes::Plain(v) => v.clear(),
            Bytes::Aligned(a) => a.clear(),
        }
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) {
        match self {
            Bytes::Plain(v) => v.extend_from_slice(bytes),
            Bytes::Aligned(a) => a.extend_from_slice(bytes),
        }
    }

    /// Aligned memory with the same contents (for an `O_DIRECT` file whose buffer was lost
    /// and made anew, or handed in plain).
    fn into_aligned(self) -> AlignedBuf {
        match self {
            Bytes::Aligned(a) => a,
            Bytes::Plain(v) => {
                let mut a = AlignedBuf::with_capacity(v.len(), AlignedBuf::DIRECT_IO);
                a.extend_from_slice(&v);
                a
            }
        }
    }
}

impl Buf {
    /// An empty buffer, aligned for an `O_DIRECT` file.
    fn new(direct: bool) -> Buf {
        Buf {
            buf: if direct {
                Bytes::Aligned(AlignedBuf::with_capacity(0, AlignedBuf::DIRECT_IO))
            } else {
                Bytes::Plain(Vec::new())
            },
            pos: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn len(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn copy_to(&mut self, dst: &mut ReadBuf<'_>) -> usize {
        let n = self.len().min(dst.remaining());
        dst.put_slice(&self.buf.as_slice()[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.buf.len() {
            self.discard();
        }
        n
    }

    fn copy_from(&mut self, src: &[u8], max: usize) -> usize {
        debug_assert!(self.is_empty());
        let n = src.len().min(max);
        self.buf.extend_from_slice(&src[..n]);
        n
    }

    fn copy_from_bufs(&mut self, bufs: &[io::IoSlice<'_>], max: usize) -> usize {
        debug_assert!(self.is_empty());
        let mut left = max;
        for b in bufs {
            if left == 0 {
                break;
            }
            let n = b.len().min(left);
            self.buf.extend_from_slice(&b[..n]);
            left -= n;
        }
        max - left
    }

    /// Drop the read-ahead; how far the file position is ahead of the reader (negative).
    fn discard_read(&mut self) -> i64 {
        let back = -(self.len() as i64);
        self.discard();
        back
    }

    fn discard(&mut self) {
        self.buf.clear();
        self.pos = 0;
    }
}

/// Run `op` as a task on the current runtime.
///
/// # Panics
/// Outside a runtime, with Tokio's message (Tokio's `spawn_blocking` panics there too).
fn spawn_op<F>(op: F) -> JoinHandle<(Operation, Buf)>
where
    F: Future<Output = (Operation, Buf)> + Send + 'static,
{
    match crate::runtime::Handle::try_current() {
        Some(handle) => handle.spawn(op),
        None => panic!("{}", crate::compat::CONTEXT_MISSING),
    }
}

/// One read of at most `len` bytes at the file position into `buf` (empty); on an `O_DIRECT`
/// file (`direct`), of `len` rounded up to whole blocks, into aligned memory.
async fn read_op(std: Arc<StdFile>, mut buf: Buf, len: usize, direct: bool) -> (Operation, Buf) {
    buf.discard();
    let fd = std.as_raw_fd();
    let res = match std::mem::take(&mut buf.buf) {
        Bytes::Plain(mut vec) if !direct => {
            vec.reserve_exact(len);
            let (res, vec) = read_retrying(fd, vec, len, CURSOR).await;
            buf.buf = Bytes::Plain(vec);
            res
        }
        bytes => {
            let mut block = bytes.into_aligned();
            let len = len.max(1).next_multiple_of(block.align());
            block.reserve(len);
            // At an explicit offset, the position moved by hand: a read at the file position
            // that completes asynchronously (as direct reads do) leaves the position where it
            // was (seen on Linux 6.18).
            let res = match (&*std).stream_position() {
                Err(e) => Err(e),
                Ok(at) => {
                    let (res, read) = read_retrying(fd, block, len, at).await;
                    block = read;
                    res.and_then(|n| (&*std).seek(SeekFrom::Start(at + n as u64)).map(|_| n))
                }
            };
            buf.buf = Bytes::Aligned(block);
            res
        }
    };
    drop(std);
    (Operation::Read(res), buf)
}

/// One read of `len` bytes into `buf` (from its start) at `at` (`CURSOR`: the file position),
/// tried again when interrupted.
async fn read_retrying<B: IoBufMut>(
    fd: RawFd,
    mut buf: B,
    len: usize,
    at: u64,
) -> (io::Result<usize>, B) {
    loop {
        let (res, slice) = Op::new(Read::new(fd, buf.slice(0..len), at)).await;
        buf = slice.into_inner();
        match res {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return (other, buf),
        }
    }
}

/// Seek back over `seek` (discarded read-ahead), then write all of `buf` at the file position
/// (from aligned memory on an `O_DIRECT` file).
async fn write_op(
    std: Arc<StdFile>,
    mut buf: Buf,
    seek: Option<SeekFrom>,
    direct: bool,
) -> (Operation, Buf) {
    let res = match seek.map(|s| (&*std).seek(s)) {
        Some(Err(e)) => Err(e),
        _ => {
            let fd = std.as_raw_fd();
            match std::mem::take(&mut buf.buf) {
                Bytes::Plain(vec) if !direct => {
                    let (res, vec) = crate::buf::write_all_with(vec, |rest, _| {
                        Op::new(Write::new(fd, rest, CURSOR))
                    })
                    .await;
                    buf.buf = Bytes::Plain(vec);
                    res
                }
                bytes => {
                    // At explicit offsets, as direct reads are (see `read_op`).
                    let block = bytes.into_aligned();
                    let len = block.len() as u64;
                    match (&*std).stream_position() {
                        Err(e) => {
                            buf.buf = Bytes::Aligned(block);
                            Err(e)
                        }
                        Ok(at) => {
                            let (res, block) = crate::buf::write_all_with(block, |rest, done| {
                                Op::new(Write::new(fd, rest, at + done as u64))
                            })
                            .await;
                            buf.buf = Bytes::Aligned(block);
                            // The position moves past what was written, as a cursor write's
                            // (after a failure it stays where the write began).
                            let written = if res.is_ok() { len } else { 0 };
                            res.and_then(|()| (&*std).seek(SeekFrom::Start(at + written)))
                                .map(|_| ())
                        }
                    }
                }
            }
        }
    };
    drop(std);
    buf.discard();
    (Operation::Write(res), buf)
}

impl File {
    /// Stands for `tokio::fs::File::open`: open a file read-only.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Stands for `tokio::fs::File::create`: create or truncate a file, write-only.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Stands for `tokio::fs::File::create_new`: create a file that must not exist, read-write.
    pub async fn create_new<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// Stands for `tokio::fs::File::options`.
    #[must_use]
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Stands for `tokio::fs::File::from_std`.
    pub fn from_std(std: StdFile) -> File {
        let direct = crate::fs::direct_and_append(std.as_fd()).0;
        File {
            std: Arc::new(std),
            inner: Mutex::new(Inner {
                state: State::Idle(Some(Buf::new(direct))),
                last_write_err: None,
                pos: 0,
            }),
            max_buf_size: DEFAULT_MAX_BUF_SIZE,
            direct,
        }
    }

    /// Stands for `tokio::fs::File::sync_all`: wait for a pending write, then `fsync`.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.inner.lock().await.complete_inflight().await;
        let std = self.std.clone();
        crate::fs::sync_fd(std.as_raw_fd(), false).await
    }

    /// Stands for `tokio::fs::File::sync_data`: wait for a pending write, then `fdatasync`.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.inner.lock().await.complete_inflight().await;
        let std = self.std.clone();
        crate::fs::sync_fd(std.as_raw_fd(), true).await
    }

    /// Stands for `tokio::fs::File::set_len`: wait for a pending write, then truncate or
    /// extend the file.
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        let mut inner = self.inner.lock().await;
        inner.complete_inflight().await;
        let mut buf = match &mut inner.state {
            State::Idle(buf) => buf.take().unwrap_or_default(),
            State::Busy(_) => unreachable!("complete_inflight leaves the file idle"),
        };
        let seek = (!buf.is_empty()).then(|| SeekFrom::Current(buf.discard_read()));
        let std = self.std.clone();
        let res = asyncify(move || {
            if let Some(seek) = seek {
                (&*std).seek(seek)?;
            }
            std.set_len(size)
        })
        .await;
        inner.state = State::Idle(Some(buf));
        if res.is_ok() {
            // Tokio's: the position it reports when idle restarts.
            inner.pos = 0;
        }
        res
    }

    /// Stands for `tokio::fs::File::metadata`.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// Stands for `tokio::fs::File::try_clone`: a second handle on the same open file (same
    /// position), after any pending write.
    pub async fn try_clone(&self) -> io::Result<File> {
        self.inner.lock().await.complete_inflight().await;
        let std = self.std.clone();
        let dup = asyncify(move || std.try_clone()).await?;
        let mut file = File::from_std(dup);
        file.max_buf_size = self.max_buf_size;
        Ok(file)
    }

    /// Stands for `tokio::fs::File::into_std`: wait for a pending operation, then hand the
    /// std file over (read-ahead is dropped, as Tokio drops it).
    pub async fn into_std(mut self) -> StdFile {
        self.inner.get_mut().complete_inflight().await;
        Arc::try_unwrap(self.std).expect("Arc::try_unwrap failed")
    }

    /// Stands for `tokio::fs::File::try_into_std`: the std file, unless an operation still
    /// holds it.
    #[allow(clippy::result_large_err)]
    pub fn try_into_std(mut self) -> Result<StdFile, File> {
        match Arc::try_unwrap(self.std) {
            Ok(std) => Ok(std),
            Err(std) => {
                self.std = std;
                Err(self)
            }
        }
    }

    /// Stands for `tokio::fs::File::set_permissions`.
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let std = self.std.clone();
        asyncify(move || std.set_permissions(perm)).await
    }

    /// Stands for `tokio::fs::File::set_times`: after any pending write.
    pub async fn set_times(&self, times: FileTimes) -> io::Result<()> {
        self.inner.lock().await.complete_inflight().await;
        let std = self.std.clone();
        asyncify(move || std.set_times(times.into_std())).await
    }

    /// Stands for `tokio::fs::File::set_modified`.
    pub async fn set_modified(&self, time: std::time::SystemTime) -> io::Result<()> {
        self.set_times(FileTimes::new().set_modified(time)).await
    }

    /// Stands for `tokio::fs::File::set_max_buf_size`: the most one read or write moves.
    ///
    /// # Panics
    /// When `max_buf_size` is 0, with Tokio's message.
    #[track_caller]
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        assert!(max_buf_size > 0, "`max_buf_size` must be greater than 0");
        self.max_buf_size = max_buf_size;
    }

    /// Stands for `tokio::fs::File::max_buf_size`.
    pub fn max_buf_size(&self) -> usize {
        self.max_buf_size
    }
}

impl Inner {
    /// Wait for the operation in flight; a failed write is kept for the next write or flush.
    async fn complete_inflight(&mut self) {
        if let Err(e) = std::future::poll_fn(|cx| self.poll_flush(cx)).await {
            self.last_write_err = Some(e.kind());
        }
    }

    /// Wait for the operation in flight; a failed write is its error.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(kind) = self.last_write_err.take() {
            return Poll::Ready(Err(kind.into()));
        }
        let State::Busy(pending) = &mut self.state else {
            return Poll::Ready(Ok(()));
        };
        let (op, buf) = match ready!(pending.poll(cx)) {
            Ok(done) => done,
            Err(e) => {
                self.state = State::Idle(Some(Buf::default()));
                return Poll::Ready(Err(e.into()));
            }
        };
        self.state = State::Idle(Some(buf));
        Poll::Ready(match op {
            Operation::Write(res) => res,
            Operation::Read(_) | Operation::Seek(_) => Ok(()),
        })
    }

    /// Wait for the operation in flight and take the buffer back, or the join error.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Option<Operation>, Buf)>> {
        match &mut self.state {
            State::Idle(buf) => Poll::Ready(Ok((None, buf.take().unwrap_or_default()))),
            State::Busy(pending) => match ready!(pending.poll(cx)) {
                Ok((op, buf)) => Poll::Ready(Ok((Some(op), buf))),
                Err(e) => {
                    self.state = State::Idle(Some(Buf::default()));
                    Poll::Ready(Err(e.into()))
                }
            },
        }
    }

    /// Note a write failure that the current operation cannot report.
    fn defer_write_err(&mut self, e: io::Error) {
        debug_assert!(self.last_write_err.is_none());
        self.last_write_err = Some(e.kind());
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let max = me.max_buf_size;
        let inner = me.inner.get_mut();
        loop {
            if let State::Idle(Some(buf)) = &mut inner.state {
                if !buf.is_empty() || dst.remaining() == 0 {
                    buf.copy_to(dst);
                    return Poll::Ready(Ok(()));
                }
            }
            let (op, mut buf) = ready!(inner.poll_idle(cx))?;
            match op {
                None => {
                    let len = dst.remaining().min(max);
                    inner.state = State::Busy(Pending::Task(spawn_op(read_op(
                        me.std.clone(),
                        buf,
                        len,
                        me.direct,
                    ))));
                }
                Some(Operation::Read(Ok(_))) => {
                    buf.copy_to(dst);
                    inner.state = State::Idle(Some(buf));
                    return Poll::Ready(Ok(()));
                }
                Some(Operation::Read(Err(e))) => {
                    buf.discard();
                    inner.state = State::Idle(Some(buf));
                    return Poll::Ready(Err(e));
                }
                Some(Operation::Write(res)) => {
                    inner.state = State::Idle(Some(buf));
                    if let Err(e) = res {
                        inner.defer_write_err(e);
                    }
                }
                Some(Operation::Seek(res)) => {
                    inner.state = State::Idle(Some(buf));
                    if let Ok(pos) = res {
                        inner.pos = pos;
                    }
                }
            }
        }
    }
}

impl AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, mut pos: SeekFrom) -> io::Result<()> {
        let me = self.get_mut();
        let inner = me.inner.get_mut();
        let buf = match &mut inner.state {
            State::Busy(_) => {
                return Err(io::Error::other(
                    "other file operation is pending, call poll_complete before start_seek",
                ))
            }
            State::Idle(buf) => buf.take().unwrap_or_default(),
        };
        let mut buf = buf;
        // The file position is ahead of the reader by the read-ahead, which is dropped.
        let mut first = None;
        if !buf.is_empty() {
            let back = buf.discard_read();
            if let SeekFrom::Current(off) = &mut pos {
                match off.checked_add(back) {
                    Some(sum) => *off = sum,
                    None => first = Some(SeekFrom::Current(back)),
                }
            }
        }
        let std = &*me.std;
        let res = match first.map(|s| { std }.seek(s)) {
            Some(Err(e)) => Err(e),
            _ => { std }.seek(pos),
        };
        inner.state = State::Busy(Pending::Done(Some((Operation::Seek(res), buf))));
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let inner = self.get_mut().inner.get_mut();
        loop {
            let (op, buf) = ready!(inner.poll_idle(cx))?;
            inner.state = State::Idle(Some(buf));
            match op {
                None => return Poll::Ready(Ok(inner.pos)),
                Some(Operation::Read(_)) | Some(Operation::Write(Ok(()))) => {}
                Some(Operation::Write(Err(e))) => inner.defer_write_err(e),
                Some(Operation::Seek(res)) => {
                    if let Ok(pos) = res {
                        inner.pos = pos;
                    }
                    return Poll::Ready(res);
                }
            }
        }
    }
}

impl File {
    /// `poll_write` and `poll_write_vectored`: `fill` copies the caller's bytes into the
    /// buffer (at most `max` of them) and says how many.
    fn poll_write_with(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        fill: impl FnOnce(&mut Buf, usize) -> usize,
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let max = me.max_buf_size;
        let inner = me.inner.get_mut();
        if let Some(kind) = inner.last_write_err.take() {
            return Poll::Ready(Err(kind.into()));
        }
        loop {
            let (op, mut buf) = ready!(inner.poll_idle(cx))?;
            match op {
                None => {
                    let seek = (!buf.is_empty()).then(|| SeekFrom::Current(buf.discard_read()));
                    let n = fill(&mut buf, max);
                    inner.state = State::Busy(Pending::Task(spawn_op(write_op(
                        me.std.clone(),
                        buf,
                        seek,
                        me.direct,
                    ))));
                    return Poll::Ready(Ok(n));
                }
                Some(op) => {
                    inner.state = State::Idle(Some(buf));
                    if let Operation::Write(Err(e)) = op {
                        return Poll::Ready(Err(e));
                    }
                }
            }
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |buf, max| buf.copy_from(src, max))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |buf, max| buf.copy_from_bufs(bufs, max))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.get_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl From<StdFile> for File {
    fn from(std: StdFile) -> File {
        File::from_std(std)
    }
}

impl From<OwnedFd> for File {
    fn from(fd: OwnedFd) -> File {
        File::from_std(StdFile::from(fd))
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("tokio::fs::File")
            .field("std", &self.std)
            .finish()
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.std.as_raw_fd()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.std.as_fd()
    }
}

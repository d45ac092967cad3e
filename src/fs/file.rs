use std::ffi::CString;
use std::fs::Permissions;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::ops::{cstr, run, statx, FsOp};
use super::Metadata;
use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::driver::ops::{Close, Read, Write};
use crate::driver::Op;

/// The file position, for ops on a file's cursor.
const CURSOR: u64 = u64::MAX;

/// An open file. Reads and writes take the buffer by value and give it back with the result.
///
/// Dropping a `File` closes it asynchronously on the ring of the thread that drops it
/// (`IORING_OP_CLOSE`); [`close`](File::close) closes it and reports the error.
#[derive(Debug)]
pub struct File {
    fd: RawFd,
    /// Opened with `O_DIRECT`: reads and writes "at the file position" go at an explicit
    /// offset and move the position by hand (see [`File::read`]).
    direct: bool,
    /// Opened with `O_APPEND` as well: writes go to the end as they are.
    append: bool,
}

/// Options for opening a file: every flag `std::fs::OpenOptions` has, plus `custom_flags`
/// (for `O_DIRECT` and friends) and `mode`.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    custom_flags: i32,
    mode: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// All options off; `mode` 0o666 (before the umask).
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            custom_flags: 0,
            mode: 0o666,
        }
    }

    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }
    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }
    /// Every write goes to the end (implies write).
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }
    /// Cut the file to length 0 on open (needs write).
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }
    /// Create the file if it does not exist (needs write or append).
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }
    /// Create the file, failing if it exists (needs write or append).
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }
    /// Extra `open(2)` flags such as `libc::O_DIRECT`; the access mode bits are ignored.
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.custom_flags = flags;
        self
    }
    /// Permission bits for a created file.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// The same checks and flags as std's, so the same options fail the same way.
    fn flags(&self) -> io::Result<i32> {
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg.to_string()));
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) => {
                return invalid("open options: none of read, write or append set")
            }
        };
        if !self.write && !self.append && (self.truncate || self.create || self.create_new) {
            return invalid("open options: create or truncate without write access");
        }
        if self.append && self.truncate && !self.create_new {
            return invalid("open options: append and truncate together");
        }
        let creation = match (self.create, self.truncate, self.create_new) {
            (false, false, false) => 0,
            (true, false, false) => libc::O_CREAT,
            (false, true, false) => libc::O_TRUNC,
            (true, true, false) => libc::O_CREAT | libc::O_TRUNC,
            (_, _, true) => libc::O_CREAT | libc::O_EXCL,
        };
        Ok(access | creation | (self.custom_flags & !libc::O_ACCMODE))
    }

    /// Open `path` with these options.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let flags = self.flags()?;
        let path = cstr(path.as_ref())?;
        let fd = run(FsOp::Open {
            path,
            flags,
            mode: self.mode,
        })
        .await?;
        Ok(File {
            fd: fd as RawFd,
            direct: flags & libc::O_DIRECT != 0,
            append: flags & libc::O_APPEND != 0,
        })
    }
}

impl File {
    /// Open a file read-only.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Create (or truncate) a file, write-only.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Options to open a file with.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Read into `buf`'s spare capacity at byte `pos`.
    pub async fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> BufResult<usize, B> {
        Op::new(Read::new(self.fd, buf, pos)).await
    }

    /// Write `buf`'s initialised bytes at byte `pos`.
    pub async fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> BufResult<usize, B> {
        Op::new(Write::new(self.fd, buf, pos)).await
    }

    /// Read at the file position, advancing it.
    ///
    /// On an `O_DIRECT` file the read goes at the position's explicit offset and the position
    /// is moved after it: a read at the file position that completes asynchronously, as
    /// direct reads do, leaves the kernel's position unmoved (seen on Linux 6.18; liburing
    /// issue 1115 reports the same for writes).
    pub async fn read<B: IoBufMut>(&mut self, buf: B) -> BufResult<usize, B> {
        if !self.direct {
            return Op::new(Read::new(self.fd, buf, CURSOR)).await;
        }
        let at = match self.position() {
            Ok(at) => at,
            Err(e) => return (Err(e), buf),
        };
        let (res, buf) = Op::new(Read::new(self.fd, buf, at)).await;
        (self.advance(at, res), buf)
    }

    /// Write at the file position (the end, in append mode), advancing it. On an `O_DIRECT`
    /// file, as [`read`](File::read) does.
    pub async fn write<B: IoBuf>(&mut self, buf: B) -> BufResult<usize, B> {
        if !self.direct || self.append {
            return Op::new(Write::new(self.fd, buf, CURSOR)).await;
        }
        let at = match self.position() {
            Ok(at) => at,
            Err(e) => return (Err(e), buf),
        };
        let (res, buf) = Op::new(Write::new(self.fd, buf, at)).await;
        (self.advance(at, res), buf)
    }

    /// The file position (`lseek(SEEK_CUR)`).
    fn position(&self) -> io::Result<u64> {
        // SAFETY: fs rule 4 — lseek on this File's own open descriptor (rule 2).
        let at = unsafe { libc::lseek(self.fd, 0, libc::SEEK_CUR) };
        if at < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(at as u64)
    }

    /// After a transfer of `res` bytes at `at`: the position set past them.
    fn advance(&self, at: u64, res: io::Result<usize>) -> io::Result<usize> {
        let n = res?;
        // SAFETY: fs rule 4 — lseek on this File's own open descriptor (rule 2).
        let to = unsafe { libc::lseek(self.fd, (at + n as u64) as libc::off_t, libc::SEEK_SET) };
        if to < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n)
    }

    /// Write all of `buf` starting at `pos`, retrying short writes.
    pub async fn write_all_at<B: IoBuf>(&self, buf: B, pos: u64) -> BufResult<(), B> {
        crate::buf::write_all_with(buf, |rest, done| self.write_at(rest, pos + done as u64)).await
    }

    /// Write all of `buf` at the file position (on an `O_DIRECT` file, as
    /// [`read`](File::read) does).
    pub async fn write_all<B: IoBuf>(&mut self, buf: B) -> BufResult<(), B> {
        let fd = self.fd;
        if !self.direct || self.append {
            return crate::buf::write_all_with(buf, |rest, _| {
                Op::new(Write::new(fd, rest, CURSOR))
            })
            .await;
        }
        let at = match self.position() {
            Ok(at) => at,
            Err(e) => return (Err(e), buf),
        };
        let len = buf.bytes_init();
        let (res, buf) = crate::buf::write_all_with(buf, |rest, done| {
            Op::new(Write::new(fd, rest, at + done as u64))
        })
        .await;
        let res = res.and_then(|()| self.advance(at, Ok(len)).map(|_| ()));
        (res, buf)
    }

    /// Read from the file position to the end, appending to `buf`; returns the bytes read.
    pub async fn read_to_end(&mut self, mut buf: Vec<u8>) -> BufResult<usize, Vec<u8>> {
        let start = buf.len();
        loop {
            if buf.capacity() - buf.len() < 32 {
                // Nearly full (often exactly sized from the metadata): probe with a small
                // buffer before doubling, so a file that ends here costs no extra copy.
                let (res, probe) = self.read(Vec::with_capacity(32)).await;
                match res {
                    Ok(0) => return (Ok(buf.len() - start), buf),
                    Ok(_) => {
                        buf.reserve(buf.capacity().max(8192));
                        buf.extend_from_slice(&probe);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return (Err(e), buf),
                }
            }
            let (res, b) = self.read(buf).await;
            buf = b;
            match res {
                Ok(0) => return (Ok(buf.len() - start), buf),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
    }

    /// Flush data and metadata to the device (`fsync`).
    pub async fn sync_all(&self) -> io::Result<()> {
        run(FsOp::Fsync {
            fd: self.fd,
            datasync: false,
        })
        .await
        .map(|_| ())
    }

    /// Flush data, and the metadata needed to read it back (`fdatasync`).
    pub async fn sync_data(&self) -> io::Result<()> {
        run(FsOp::Fsync {
            fd: self.fd,
            datasync: true,
        })
        .await
        .map(|_| ())
    }

    /// Truncate or extend the file to `len` bytes. Uses `IORING_OP_FTRUNCATE` (Linux 6.9+),
    /// else `ftruncate(2)` on the blocking pool.
    pub async fn set_len(&self, len: u64) -> io::Result<()> {
        let op = if crate::runtime::context::supports(io_uring::opcode::Ftruncate::CODE) {
            run(FsOp::Ftruncate { fd: self.fd, len }).await
        } else {
            Err(io::Error::from_raw_os_error(libc::EINVAL))
        };
        match op {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && len <= i64::MAX as u64 => {
                // The kernel lacks the opcode (or rejects the call: the syscall then says why).
                let fd = self.try_clone_fd()?;
                blocking_io(move || {
                    // SAFETY: fs rule 1 — `fd` is our own duplicate, open for the whole call.
                    cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), len as i64) })
                })
                .await
            }
            other => other.map(|_| ()),
        }
    }

    /// Preallocate (or, with `mode`, punch or zero) a range (`fallocate(2)`).
    pub async fn allocate(&self, offset: u64, len: u64, mode: i32) -> io::Result<()> {
        run(FsOp::Fallocate {
            fd: self.fd,
            offset,
            len,
            mode,
        })
        .await
        .map(|_| ())
    }

    /// The file's metadata (`statx` on the descriptor).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        statx(self.fd, CString::default(), libc::AT_EMPTY_PATH).await
    }

    /// Change the permission bits (`fchmod`, on the blocking pool: there is no opcode for it).
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let fd = self.try_clone_fd()?;
        blocking_io(move || {
            // SAFETY: fs rule 1 — `fd` is our own duplicate, open for the whole call.
            cvt(unsafe { libc::fchmod(fd.as_raw_fd(), perm.mode() as libc::mode_t) })
        })
        .await
    }

    /// Close the file, reporting the error `close(2)` gives.
    pub async fn close(self) -> io::Result<()> {
        let fd = self.into_raw_fd();
        Op::new(Close::new(fd)).await
    }

    /// A duplicate of the descriptor for work on the blocking pool: if the caller stops
    /// waiting and drops the `File`, the pool thread still acts on the same open file, never
    /// on whatever reuses the number (fs rule 1).
    fn try_clone_fd(&self) -> io::Result<std::os::fd::OwnedFd> {
        // SAFETY: fs rule 2 — our descriptor is open while `self` is; it is borrowed just long
        // enough to duplicate it.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) }.try_clone_to_owned()
    }

    /// Hand the descriptor over to a std file (which then owns and closes it).
    pub fn into_std(self) -> std::fs::File {
        let fd = self.into_raw_fd();
        // SAFETY: fs rule 2 — `into_raw_fd` released our exclusive ownership of the open
        // descriptor, which passes to the std file alone.
        unsafe { std::fs::File::from_raw_fd(fd) }
    }

    /// Wrap a std file.
    pub fn from_std(file: std::fs::File) -> File {
        let (direct, append) = super::direct_and_append(std::os::fd::AsFd::as_fd(&file));
        File {
            fd: file.into_raw_fd(),
            direct,
            append,
        }
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl IntoRawFd for File {
    fn into_raw_fd(self) -> RawFd {
        std::mem::ManuallyDrop::new(self).fd
    }
}

impl FromRawFd for File {
    unsafe fn from_raw_fd(fd: RawFd) -> File {
        // SAFETY: fs rule 3 — the caller promises an open descriptor it owns (from_raw_fd's
        // contract), so it is open for the flags query (rule 4).
        let fd_ref = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let (direct, append) = super::direct_and_append(fd_ref);
        File { fd, direct, append }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        crate::driver::close_fd(self.fd);
    }
}

pub(crate) fn cvt(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Run `f` on the blocking pool and flatten the join error into an io::Error. Outside a
/// runtime this is an error, as an io_uring op is, not spawn_blocking's panic.
pub(crate) async fn blocking_io<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let pool = crate::runtime::context::blocking_pool().ok_or_else(|| {
        io::Error::other("ringolo: file or name work was started outside a ringolo runtime")
    })?;
    pool.spawn(f).await.map_err(io::Error::from)?
}

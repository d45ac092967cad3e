//! Files and directories on io_uring.
//!
//! Everything with an opcode is one (`openat`, `statx`, `mkdirat`, `unlinkat`, `renameat`,
//! `linkat`, `symlinkat`, `fsync`, `fallocate`, `ftruncate`, `read`, `write`, `close`); what
//! has none (`read_dir`, `canonicalize`, `read_link`, `remove_dir_all`, `fchmod`) runs on the
//! blocking pool. A path with an interior NUL byte is refused with `InvalidInput` before any
//! syscall.
//!
//! # Rules
//!
//! 1. Work handed to the blocking pool owns what it touches: a path by value, or a duplicate
//!    of the descriptor, never a borrowed fd number that the caller could close (and the
//!    process reuse) while the pool thread still works.
//! 2. A `File` owns its descriptor exclusively: it is closed once, by the drop or by
//!    `close()`, unless `into_raw_fd` hands it over first, so a descriptor borrowed from it is
//!    open while the `File` is. A statx buffer is read only after a successful CQE, which
//!    means the kernel filled it.
//! 3. A descriptor handed in by number (`FromRawFd`, for compat's types too, which may hold
//!    no `unsafe` themselves) is owned from then on by exactly one std or ringolo value that
//!    closes it; the caller's promise that it was open and theirs is what `from_raw_fd`'s
//!    contract asks.
//! 4. `fcntl(F_GETFL)` and `lseek` on a descriptor open for the call's length (a borrowed one,
//!    or a `File`'s own, rule 2) read or move only the kernel's state of that file and touch
//!    no memory of ours.

mod file;
mod metadata;
mod ops;

pub use self::file::{File, OpenOptions};
pub use self::metadata::{FileType, Metadata};

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

pub(crate) use self::file::{blocking_io, cvt};

/// `fsync` (or, with `datasync`, `fdatasync`) on the ring, for a descriptor the caller keeps
/// open until this finishes.
pub(crate) async fn sync_fd(fd: std::os::fd::RawFd, datasync: bool) -> io::Result<()> {
    run(FsOp::Fsync { fd, datasync }).await.map(|_| ())
}

/// Whether `fd` was opened with `O_DIRECT` (its reads and writes then need buffers, lengths
/// and offsets aligned to the device's logical block) and with `O_APPEND`.
pub(crate) fn direct_and_append(fd: std::os::fd::BorrowedFd<'_>) -> (bool, bool) {
    use std::os::fd::AsRawFd;
    // SAFETY: fs rule 4 — F_GETFL on a descriptor the borrow keeps open; no memory is passed.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return (false, false);
    }
    (flags & libc::O_DIRECT != 0, flags & libc::O_APPEND != 0)
}

// SAFETY: fs rule 3 — `from_raw_fd`'s caller promises an open descriptor it owns; ownership
// passes to the std file inside the compat file, which alone closes it.
impl std::os::fd::FromRawFd for crate::compat::fs::File {
    unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> Self {
        // SAFETY: fs rule 3, as above.
        Self::from_std(unsafe { std::fs::File::from_raw_fd(fd) })
    }
}
use self::ops::{cstr, run, statx, FsOp};
use crate::buf::IoBuf;

/// The whole contents of a file.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let mut file = File::open(path).await?;
    let hint = file.metadata().await.map(|m| m.len() as usize).unwrap_or(0);
    // A hint too large to allocate (a lying size, a huge file) just starts small.
    let mut buf = Vec::new();
    if buf.try_reserve_exact(hint).is_err() {
        buf = Vec::with_capacity(8192);
    }
    let (res, buf) = file.read_to_end(buf).await;
    res.map(|_| buf)
}

/// The whole contents of a file as UTF-8.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let bytes = read(path).await?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Create or truncate a file and write `contents` to it.
pub async fn write<B: IoBuf>(path: impl AsRef<Path>, contents: B) -> io::Result<()> {
    let file = File::create(path).await?;
    file.write_all_at(contents, 0).await.0
}

/// Copy a file's contents and permission bits; returns the bytes copied.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    // Both paths are checked before anything is opened.
    ops::cstr(to.as_ref())?;
    let src = File::open(from).await?;
    let perm = src.metadata().await?.permissions();
    let dst = File::create(to).await?;
    let mut buf = Vec::with_capacity(256 * 1024);
    let mut pos = 0u64;
    loop {
        buf.clear();
        let (res, b) = src.read_at(buf, pos).await;
        let n = res?;
        if n == 0 {
            break;
        }
        let (res, b) = dst.write_all_at(b, pos).await;
        res?;
        buf = b;
        pos += n as u64;
    }
    dst.set_permissions(perm).await?;
    Ok(pos)
}

/// Whether this thread's ring has `opcode`; when it does not (an older kernel), the call runs
/// as a syscall on the blocking pool instead.
fn has(opcode: u8) -> bool {
    crate::runtime::context::supports(opcode)
}

/// Create a directory (mode 0o777 before the umask). `IORING_OP_MKDIRAT` (Linux 5.15).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = cstr(path.as_ref())?;
    if !has(io_uring::opcode::MkDirAt::CODE) {
        // SAFETY: fs rule 1 — the closure owns the NUL-terminated path for the whole call.
        return blocking_io(move || cvt(unsafe { libc::mkdir(path.as_ptr(), 0o777) })).await;
    }
    run(FsOp::MkDir { path, mode: 0o777 }).await.map(|_| ())
}

/// Create a directory and every missing parent.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    // Walk up until a directory can be made (or exists), then come back down.
    let mut missing = Vec::new();
    let mut cur = Some(path);
    while let Some(p) = cur {
        match create_dir(p).await {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(p);
                cur = p.parent().filter(|p| !p.as_os_str().is_empty());
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && is_dir(p).await => break,
            Err(e) => return Err(e),
        }
    }
    for p in missing.into_iter().rev() {
        match create_dir(p).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && is_dir(p).await => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn is_dir(path: &Path) -> bool {
    metadata(path).await.map(|m| m.is_dir()).unwrap_or(false)
}

/// Remove a file (or symlink).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    run(FsOp::Unlink {
        path: cstr(path.as_ref())?,
        flags: 0,
    })
    .await
    .map(|_| ())
}

/// Remove an empty directory.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    run(FsOp::Unlink {
        path: cstr(path.as_ref())?,
        flags: libc::AT_REMOVEDIR,
    })
    .await
    .map(|_| ())
}

/// Remove a directory and everything below it (on the blocking pool).
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = owned(path.as_ref())?;
    blocking_io(move || std::fs::remove_dir_all(path)).await
}

/// Rename a file or directory, replacing `to` if it exists.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    run(FsOp::Rename {
        from: cstr(from.as_ref())?,
        to: cstr(to.as_ref())?,
    })
    .await
    .map(|_| ())
}

/// Make `link` a new hard link to `original`. `IORING_OP_LINKAT` (Linux 5.15).
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (cstr(original.as_ref())?, cstr(link.as_ref())?);
    if !has(io_uring::opcode::LinkAt::CODE) {
        // SAFETY: fs rule 1 — the closure owns both NUL-terminated paths for the whole call.
        return blocking_io(move || cvt(unsafe { libc::link(from.as_ptr(), to.as_ptr()) })).await;
    }
    run(FsOp::Link { from, to }).await.map(|_| ())
}

/// Make `link` a symbolic link pointing at `target`. `IORING_OP_SYMLINKAT` (Linux 5.15).
pub async fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (target, link) = (cstr(target.as_ref())?, cstr(link.as_ref())?);
    if !has(io_uring::opcode::SymlinkAt::CODE) {
        // SAFETY: fs rule 1 — the closure owns both NUL-terminated paths for the whole call.
        return blocking_io(move || cvt(unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) }))
            .await;
    }
    run(FsOp::Symlink { target, link }).await.map(|_| ())
}

/// Where a symbolic link points (on the blocking pool).
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = owned(path.as_ref())?;
    blocking_io(move || std::fs::read_link(path)).await
}

/// The absolute path with every link resolved (on the blocking pool).
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = owned(path.as_ref())?;
    blocking_io(move || std::fs::canonicalize(path)).await
}

/// Metadata, following symbolic links.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    statx(libc::AT_FDCWD, cstr(path.as_ref())?, 0).await
}

/// Metadata of the link itself when `path` is a symbolic link.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    statx(
        libc::AT_FDCWD,
        cstr(path.as_ref())?,
        libc::AT_SYMLINK_NOFOLLOW,
    )
    .await
}

/// Whether `path` exists: `Ok(false)` when it does not, an error when that cannot be told.
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    match metadata(path).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// A checked, owned copy of a path for the blocking pool.
fn owned(path: &Path) -> io::Result<PathBuf> {
    cstr(path)?;
    Ok(path.to_path_buf())
}

/// The entries of a directory, read on the blocking pool.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = owned(path.as_ref())?;
    let entries = blocking_io(move || {
        std::fs::read_dir(path)?
            .map(|e| {
                let e = e?;
                let kind = e.file_type().ok().map(|t| {
                    use std::os::unix::fs::FileTypeExt;
                    let mode = if t.is_dir() {
                        libc::S_IFDIR
                    } else if t.is_symlink() {
                        libc::S_IFLNK
                    } else if t.is_file() {
                        libc::S_IFREG
                    } else if t.is_fifo() {
                        libc::S_IFIFO
                    } else if t.is_socket() {
                        libc::S_IFSOCK
                    } else if t.is_block_device() {
                        libc::S_IFBLK
                    } else {
                        libc::S_IFCHR
                    };
                    FileType::from_mode(mode)
                });
                Ok(DirEntry {
                    path: e.path(),
                    name: e.file_name(),
                    kind,
                })
            })
            .collect::<io::Result<Vec<_>>>()
    })
    .await?;
    Ok(ReadDir {
        entries: entries.into_iter(),
    })
}

/// The entries of a directory; see [`read_dir`].
#[derive(Debug)]
pub struct ReadDir {
    entries: std::vec::IntoIter<DirEntry>,
}

impl ReadDir {
    /// The next entry, or `None` at the end.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        Ok(self.entries.next())
    }
}

/// One directory entry.
#[derive(Debug, Clone)]
pub struct DirEntry {
    path: PathBuf,
    name: OsString,
    kind: Option<FileType>,
}

impl DirEntry {
    /// The full path.
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The bare file name.
    pub fn file_name(&self) -> OsString {
        self.name.clone()
    }

    /// The entry's type, from the directory listing when it says, else `lstat`.
    pub async fn file_type(&self) -> io::Result<FileType> {
        match self.kind {
            Some(k) => Ok(k),
            None => Ok(symlink_metadata(&self.path).await?.file_type()),
        }
    }

    /// Metadata of the entry (not following a symbolic link), like std's.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        symlink_metadata(&self.path).await
    }
}

use std::fs::Permissions;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

/// What kind of file an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileType {
    mode: u32,
}

impl FileType {
    pub(crate) fn from_mode(mode: u32) -> FileType {
        FileType {
            mode: mode & libc::S_IFMT,
        }
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.mode == libc::S_IFDIR
    }

    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.mode == libc::S_IFREG
    }

    /// A symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.mode == libc::S_IFLNK
    }
}

/// A file's metadata, from `statx(2)`.
#[derive(Clone, Debug)]
pub struct Metadata {
    st: libc::statx,
}

fn time(ts: libc::statx_timestamp, have: bool) -> io::Result<SystemTime> {
    if !have {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this timestamp is not available on this file system",
        ));
    }
    let overflow = || io::Error::new(io::ErrorKind::InvalidData, "timestamp out of range");
    let secs = Duration::from_secs(ts.tv_sec.unsigned_abs());
    let base = if ts.tv_sec >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(secs)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(secs)
    };
    // tv_nsec always counts forward from tv_sec, also before the epoch.
    base.and_then(|t| t.checked_add(Duration::from_nanos(ts.tv_nsec as u64)))
        .ok_or_else(overflow)
}

impl Metadata {
    pub(crate) fn from_statx(st: libc::statx) -> Metadata {
        Metadata { st }
    }

    /// The file type.
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.st.stx_mode as u32)
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.file_type().is_dir()
    }

    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.file_type().is_file()
    }

    /// A symbolic link (only from `symlink_metadata`).
    pub fn is_symlink(&self) -> bool {
        self.file_type().is_symlink()
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.st.stx_size
    }

    /// Whether the size is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Permission bits.
    pub fn permissions(&self) -> Permissions {
        Permissions::from_mode(self.st.stx_mode as u32 & 0o7777)
    }

    /// Last modification time.
    pub fn modified(&self) -> io::Result<SystemTime> {
        time(self.st.stx_mtime, self.st.stx_mask & libc::STATX_MTIME != 0)
    }

    /// Last access time.
    pub fn accessed(&self) -> io::Result<SystemTime> {
        time(self.st.stx_atime, self.st.stx_mask & libc::STATX_ATIME != 0)
    }

    /// Creation time, where the file system records it.
    pub fn created(&self) -> io::Result<SystemTime> {
        time(self.st.stx_btime, self.st.stx_mask & libc::STATX_BTIME != 0)
    }

    /// Inode number.
    pub fn ino(&self) -> u64 {
        self.st.stx_ino
    }

    /// Number of hard links.
    pub fn nlink(&self) -> u64 {
        self.st.stx_nlink as u64
    }

    /// The raw mode (type and permission bits).
    pub fn mode(&self) -> u32 {
        self.st.stx_mode as u32
    }
}

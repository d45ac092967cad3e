//! `tokio::fs`: Tokio's file system API. [`File`] reads and writes through io_uring (see
//! `file.rs`) and opens with `IORING_OP_OPENAT`; the free functions, directory listing and
//! everything else with no opcode worth the difference run on the blocking pool exactly as
//! Tokio runs them (`asyncify`).

mod dir;
mod file;
mod options;

pub use self::dir::{read_dir, DirEntry, ReadDir};
pub use self::file::File;
pub use self::options::{DirBuilder, FileTimes, OpenOptions};

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

/// Run a blocking file-system call on the blocking pool; Tokio's error when the pool is gone.
///
/// # Panics
/// Outside a runtime, with Tokio's message.
pub(crate) async fn asyncify<F, T>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match crate::compat::task::spawn_blocking(f).await {
        Ok(res) => res,
        Err(_) => Err(io::Error::other("background task failed")),
    }
}

macro_rules! path_fn {
    ($(#[$doc:meta])* $name:ident($($arg:ident),*) -> $ret:ty = $std:path) => {
        $(#[$doc])*
        pub async fn $name($($arg: impl AsRef<Path>),*) -> io::Result<$ret> {
            $(let $arg = $arg.as_ref().to_owned();)*
            asyncify(move || $std($($arg),*)).await
        }
    };
}

path_fn!(
    /// Stands for `tokio::fs::read`.
    read(path) -> Vec<u8> = std::fs::read
);
path_fn!(
    /// Stands for `tokio::fs::read_to_string`.
    read_to_string(path) -> String = std::fs::read_to_string
);
path_fn!(
    /// Stands for `tokio::fs::metadata`.
    metadata(path) -> Metadata = std::fs::metadata
);
path_fn!(
    /// Stands for `tokio::fs::symlink_metadata`.
    symlink_metadata(path) -> Metadata = std::fs::symlink_metadata
);
path_fn!(
    /// Stands for `tokio::fs::canonicalize`.
    canonicalize(path) -> PathBuf = std::fs::canonicalize
);
path_fn!(
    /// Stands for `tokio::fs::read_link`.
    read_link(path) -> PathBuf = std::fs::read_link
);
path_fn!(
    /// Stands for `tokio::fs::create_dir`.
    create_dir(path) -> () = std::fs::create_dir
);
path_fn!(
    /// Stands for `tokio::fs::create_dir_all`.
    create_dir_all(path) -> () = std::fs::create_dir_all
);
path_fn!(
    /// Stands for `tokio::fs::remove_dir`.
    remove_dir(path) -> () = std::fs::remove_dir
);
path_fn!(
    /// Stands for `tokio::fs::remove_dir_all`.
    remove_dir_all(path) -> () = std::fs::remove_dir_all
);
path_fn!(
    /// Stands for `tokio::fs::remove_file`.
    remove_file(path) -> () = std::fs::remove_file
);
path_fn!(
    /// Stands for `tokio::fs::rename`.
    rename(from, to) -> () = std::fs::rename
);
path_fn!(
    /// Stands for `tokio::fs::copy`.
    copy(from, to) -> u64 = std::fs::copy
);
path_fn!(
    /// Stands for `tokio::fs::hard_link`.
    hard_link(original, link) -> () = std::fs::hard_link
);
path_fn!(
    /// Stands for `tokio::fs::symlink`.
    symlink(original, link) -> () = std::os::unix::fs::symlink
);
path_fn!(
    /// Stands for `tokio::fs::try_exists`.
    try_exists(path) -> bool = std::fs::exists
);

/// Stands for `tokio::fs::write`.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}

/// Stands for `tokio::fs::set_permissions`.
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::set_permissions(path, perm)).await
}

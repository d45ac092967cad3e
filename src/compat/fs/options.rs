//! `tokio::fs::{OpenOptions, DirBuilder, FileTimes}`.

use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::time::SystemTime;

use super::{asyncify, File};

/// Stands for `tokio::fs::OpenOptions`: std's options (so its `Debug` is Tokio's), opened
/// with io_uring's `openat`.
#[derive(Clone)]
pub struct OpenOptions {
    inner: Kind,
    /// The same options as ringolo's own, for the open itself (std's cannot be read back):
    /// `None` for options made from std's, which open on the blocking pool.
    native: Option<crate::fs::OpenOptions>,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("inner", &self.inner)
            .finish()
    }
}

// The shape of Tokio's, so `Debug` prints what Tokio's does.
#[derive(Clone, Debug)]
enum Kind {
    Std(std::fs::OpenOptions),
}

macro_rules! flag {
    ($($(#[$doc:meta])* $name:ident),*) => {$(
        $(#[$doc])*
        pub fn $name(&mut self, on: bool) -> &mut OpenOptions {
            self.std().$name(on);
            if let Some(n) = &mut self.native {
                n.$name(on);
            }
            self
        }
    )*};
}

impl OpenOptions {
    /// Stands for `tokio::fs::OpenOptions::new`: every option off.
    pub fn new() -> OpenOptions {
        OpenOptions {
            inner: Kind::Std(std::fs::OpenOptions::new()),
            native: Some(crate::fs::OpenOptions::new()),
        }
    }

    fn std(&mut self) -> &mut std::fs::OpenOptions {
        let Kind::Std(std) = &mut self.inner;
        std
    }

    flag!(
        /// Stands for `tokio::fs::OpenOptions::read`.
        read,
        /// Stands for `tokio::fs::OpenOptions::write`.
        write,
        /// Stands for `tokio::fs::OpenOptions::append`.
        append,
        /// Stands for `tokio::fs::OpenOptions::truncate`.
        truncate,
        /// Stands for `tokio::fs::OpenOptions::create`.
        create,
        /// Stands for `tokio::fs::OpenOptions::create_new`.
        create_new
    );

    /// Stands for `tokio::fs::OpenOptions::mode`: permission bits for a created file.
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.std().mode(mode);
        if let Some(n) = &mut self.native {
            n.mode(mode);
        }
        self
    }

    /// Stands for `tokio::fs::OpenOptions::custom_flags`: extra `open(2)` flags.
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.std().custom_flags(flags);
        if let Some(n) = &mut self.native {
            n.custom_flags(flags);
        }
        self
    }

    /// Stands for `tokio::fs::OpenOptions::open`: `IORING_OP_OPENAT`.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        match &self.native {
            Some(native) => Ok(File::from_std(native.open(path.as_ref()).await?.into_std())),
            None => {
                let Kind::Std(std) = self.inner.clone();
                let path = path.as_ref().to_owned();
                Ok(File::from_std(asyncify(move || std.open(path)).await?))
            }
        }
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(std: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions {
            inner: Kind::Std(std),
            native: None,
        }
    }
}

/// Stands for `tokio::fs::DirBuilder`.
#[derive(Debug, Default)]
pub struct DirBuilder {
    recursive: bool,
    mode: Option<u32>,
}

impl DirBuilder {
    /// Stands for `tokio::fs::DirBuilder::new`.
    pub fn new() -> DirBuilder {
        DirBuilder::default()
    }

    /// Stands for `tokio::fs::DirBuilder::recursive`: create missing parents too.
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.recursive = recursive;
        self
    }

    /// Stands for `tokio::fs::DirBuilder::mode`: permission bits of created directories.
    pub fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.mode = Some(mode);
        self
    }

    /// Stands for `tokio::fs::DirBuilder::create`.
    pub async fn create(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let mut std = std::fs::DirBuilder::new();
        std.recursive(self.recursive);
        if let Some(mode) = self.mode {
            std.mode(mode);
        }
        let path = path.as_ref().to_owned();
        asyncify(move || std.create(path)).await
    }
}

/// Stands for `tokio::fs::FileTimes`: the times [`File::set_times`] sets.
#[derive(Clone, Debug, Default)]
#[must_use = "must be applied to a file via `File::set_times` to have any effect"]
pub struct FileTimes {
    std: std::fs::FileTimes,
}

impl FileTimes {
    /// Stands for `tokio::fs::FileTimes::new`: no time set.
    pub fn new() -> FileTimes {
        FileTimes::default()
    }

    /// Stands for `tokio::fs::FileTimes::set_accessed`.
    pub fn set_accessed(self, t: SystemTime) -> FileTimes {
        FileTimes {
            std: self.std.set_accessed(t),
        }
    }

    /// Stands for `tokio::fs::FileTimes::set_modified`.
    pub fn set_modified(self, t: SystemTime) -> FileTimes {
        FileTimes {
            std: self.std.set_modified(t),
        }
    }

    pub(crate) fn into_std(self) -> std::fs::FileTimes {
        self.std
    }
}

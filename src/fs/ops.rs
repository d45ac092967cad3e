//! The file-system operations, one plain enum turned into SQEs in one place.

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use io_uring::{opcode, squeue::Entry, types};

use crate::driver::{Completion, Op, Operation, Reclaim};

/// A path as the kernel wants it; an interior NUL is refused before any syscall.
pub(crate) fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {:?} contains an interior NUL byte", path.display()),
        )
    })
}

pub(crate) enum FsOp {
    Open {
        path: CString,
        flags: i32,
        mode: u32,
    },
    Statx {
        fd: RawFd,
        path: CString,
        flags: i32,
        buf: Box<MaybeUninit<libc::statx>>,
    },
    MkDir {
        path: CString,
        mode: u32,
    },
    Unlink {
        path: CString,
        flags: i32,
    },
    Rename {
        from: CString,
        to: CString,
    },
    Link {
        from: CString,
        to: CString,
    },
    Symlink {
        target: CString,
        link: CString,
    },
    Fsync {
        fd: RawFd,
        datasync: bool,
    },
    Ftruncate {
        fd: RawFd,
        len: u64,
    },
    Fallocate {
        fd: RawFd,
        offset: u64,
        len: u64,
        mode: i32,
    },
}

pub(crate) enum FsOutput {
    /// A result count or a new fd (`Open`).
    Value(u32),
    Stat(Box<libc::statx>),
}

const CWD: types::Fd = types::Fd(libc::AT_FDCWD);

// SAFETY: rule 1 of driver/mod.rs — every pointer in an entry points into a CString's or the
// statx Box's heap memory, owned by the op and untouched until `complete`.
unsafe impl Operation for FsOp {
    type Output = io::Result<FsOutput>;

    fn build(&mut self) -> Entry {
        match self {
            FsOp::Open { path, flags, mode } => opcode::OpenAt::new(CWD, path.as_ptr())
                .flags(*flags | libc::O_CLOEXEC)
                .mode(*mode)
                .build(),
            FsOp::Statx {
                fd,
                path,
                flags,
                buf,
            } => opcode::Statx::new(types::Fd(*fd), path.as_ptr(), buf.as_mut_ptr().cast())
                .flags(*flags)
                .mask(libc::STATX_ALL)
                .build(),
            FsOp::MkDir { path, mode } => {
                opcode::MkDirAt::new(CWD, path.as_ptr()).mode(*mode).build()
            }
            FsOp::Unlink { path, flags } => opcode::UnlinkAt::new(CWD, path.as_ptr())
                .flags(*flags)
                .build(),
            FsOp::Rename { from, to } => {
                opcode::RenameAt::new(CWD, from.as_ptr(), CWD, to.as_ptr()).build()
            }
            FsOp::Link { from, to } => {
                opcode::LinkAt::new(CWD, from.as_ptr(), CWD, to.as_ptr()).build()
            }
            FsOp::Symlink { target, link } => {
                opcode::SymlinkAt::new(CWD, target.as_ptr(), link.as_ptr()).build()
            }
            FsOp::Fsync { fd, datasync } => {
                let flags = if *datasync {
                    types::FsyncFlags::DATASYNC
                } else {
                    types::FsyncFlags::empty()
                };
                opcode::Fsync::new(types::Fd(*fd)).flags(flags).build()
            }
            FsOp::Ftruncate { fd, len } => opcode::Ftruncate::new(types::Fd(*fd), *len).build(),
            FsOp::Fallocate {
                fd,
                offset,
                len,
                mode,
            } => opcode::Fallocate::new(types::Fd(*fd), *len)
                .offset(*offset)
                .mode(*mode)
                .build(),
        }
    }

    fn complete(self, result: io::Result<Completion>) -> io::Result<FsOutput> {
        let c = result?;
        Ok(match self {
            FsOp::Statx { buf, .. } => {
                // SAFETY: fs rule 2 — a successful statx CQE means the kernel filled the
                // buffer it was given.
                FsOutput::Stat(unsafe { buf.assume_init() })
            }
            _ => FsOutput::Value(c.result),
        })
    }

    fn reclaim(&self) -> Reclaim {
        match self {
            FsOp::Open { .. } => Reclaim::CloseFd,
            _ => Reclaim::Nothing,
        }
    }
}

pub(crate) async fn run(op: FsOp) -> io::Result<u32> {
    match Op::new(op).await? {
        FsOutput::Value(v) => Ok(v),
        FsOutput::Stat(_) => unreachable!("only statx yields a stat buffer"),
    }
}

/// `statx` through the ring, as the crate's `Metadata`.
pub(crate) async fn statx(fd: RawFd, path: CString, flags: i32) -> io::Result<super::Metadata> {
    let op = FsOp::Statx {
        fd,
        path,
        flags,
        buf: Box::new(MaybeUninit::uninit()),
    };
    match Op::new(op).await? {
        FsOutput::Stat(st) => Ok(super::Metadata::from_statx(*st)),
        FsOutput::Value(_) => unreachable!("statx yields a stat buffer"),
    }
}

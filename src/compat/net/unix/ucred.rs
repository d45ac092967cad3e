//! `tokio::net::unix::UCred`: a Unix socket peer's credentials (`SO_PEERCRED`).

use std::io;
use std::os::fd::RawFd;

use super::{gid_t, pid_t, uid_t};

/// Stands for `tokio::net::unix::UCred`: the credentials of a process.
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
pub struct UCred {
    pid: Option<pid_t>,
    uid: uid_t,
    gid: gid_t,
}

impl UCred {
    /// Stands for `UCred::uid`.
    pub fn uid(&self) -> uid_t {
        self.uid
    }

    /// Stands for `UCred::gid`.
    pub fn gid(&self) -> gid_t {
        self.gid
    }

    /// Stands for `UCred::pid` (always known on Linux).
    pub fn pid(&self) -> Option<pid_t> {
        self.pid
    }
}

/// The credentials of the peer of a connected Unix socket, as of its `connect` (or
/// `socketpair`).
pub(super) fn peer_cred(fd: RawFd) -> io::Result<UCred> {
    let cred: libc::ucred = crate::net::tcp::getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED)?;
    Ok(UCred {
        pid: Some(cred.pid),
        uid: cred.uid,
        gid: cred.gid,
    })
}

//! `tokio::net::unix::SocketAddr`: std's Unix socket address in Tokio's wrapper.

use std::fmt;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Stands for `tokio::net::unix::SocketAddr`: a Unix socket's address (a path, an abstract
/// name, or unnamed).
#[derive(Clone)]
pub struct SocketAddr(pub(super) std::os::unix::net::SocketAddr);

impl SocketAddr {
    /// Stands for `SocketAddr::is_unnamed`.
    pub fn is_unnamed(&self) -> bool {
        self.0.is_unnamed()
    }

    /// Stands for `SocketAddr::as_pathname`.
    pub fn as_pathname(&self) -> Option<&Path> {
        self.0.as_pathname()
    }

    /// Stands for `SocketAddr::as_abstract_name`: the name in Linux's abstract namespace,
    /// without its leading NUL.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        self.0.as_abstract_name()
    }

    /// The address as `socket2`'s, for a `connect`: a path, a NUL and the abstract name, or
    /// nothing (which the kernel refuses).
    pub(super) fn to_sock_addr(&self) -> std::io::Result<socket2::SockAddr> {
        if let Some(path) = self.0.as_pathname() {
            return socket2::SockAddr::unix(path);
        }
        let mut bytes = Vec::new();
        if let Some(name) = self.0.as_abstract_name() {
            bytes.push(0);
            bytes.extend_from_slice(name);
        }
        socket2::SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))
    }
}

/// A path as a std address: NUL-prefixed, a name in the abstract namespace (as Tokio reads
/// it on Linux).
pub(super) fn from_path(path: &Path) -> std::io::Result<std::os::unix::net::SocketAddr> {
    let bytes = path.as_os_str().as_bytes();
    match bytes.strip_prefix(b"\0") {
        Some(name) => std::os::unix::net::SocketAddr::from_abstract_name(name),
        None => std::os::unix::net::SocketAddr::from_pathname(path),
    }
}

impl fmt::Debug for SocketAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<std::os::unix::net::SocketAddr> for SocketAddr {
    fn from(value: std::os::unix::net::SocketAddr) -> SocketAddr {
        SocketAddr(value)
    }
}

impl From<SocketAddr> for std::os::unix::net::SocketAddr {
    fn from(value: SocketAddr) -> std::os::unix::net::SocketAddr {
        value.0
    }
}

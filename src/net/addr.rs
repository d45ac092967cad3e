//! Socket addresses as the kernel wants them, and name resolution.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A socket address in kernel layout, on the heap so an SQE may point at it (driver rule 1).
#[derive(Clone)]
pub(crate) struct SockAddr {
    pub(crate) storage: Box<libc::sockaddr_storage>,
    pub(crate) len: libc::socklen_t,
}

impl SockAddr {
    pub(crate) fn new(addr: SocketAddr) -> SockAddr {
        // SAFETY: net rule 2 — all-zero is a valid sockaddr_storage.
        let mut storage: Box<libc::sockaddr_storage> = Box::new(unsafe { mem::zeroed() });
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: net rule 2 — sockaddr_storage is large and aligned enough for any sockaddr.
                unsafe {
                    (&mut *storage as *mut libc::sockaddr_storage)
                        .cast::<libc::sockaddr_in>()
                        .write(sin)
                };
                mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: net rule 2, as above.
                unsafe {
                    (&mut *storage as *mut libc::sockaddr_storage)
                        .cast::<libc::sockaddr_in6>()
                        .write(sin6)
                };
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        SockAddr {
            storage,
            len: len as libc::socklen_t,
        }
    }

    /// A Unix-domain address. A path starting with a NUL byte names the abstract namespace
    /// (Linux); a path that does not fit `sun_path` is refused with `InvalidInput`.
    pub(crate) fn unix(path: &std::path::Path) -> io::Result<SockAddr> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        // SAFETY: net rule 2 — all-zero is a valid sockaddr_storage.
        let mut storage: Box<libc::sockaddr_storage> = Box::new(unsafe { mem::zeroed() });
        // SAFETY: net rule 2 — sockaddr_storage is large and aligned enough for sockaddr_un.
        let sun = unsafe {
            &mut *(&mut *storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_un>()
        };
        let abstract_name = bytes.first() == Some(&0);
        // A pathname needs room for its terminating NUL; an abstract name does not.
        if bytes.is_empty() || bytes.len() + (!abstract_name) as usize > sun.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unix socket path {:?} is empty or longer than {} bytes",
                    path,
                    sun.sun_path.len() - 1
                ),
            ));
        }
        if !abstract_name && bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "unix socket path contains an interior NUL byte",
            ));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (d, s) in sun.sun_path.iter_mut().zip(bytes) {
            *d = *s as libc::c_char;
        }
        let base = mem::size_of::<libc::sa_family_t>();
        let len = base + bytes.len() + (!abstract_name) as usize;
        Ok(SockAddr {
            storage,
            len: len as libc::socklen_t,
        })
    }

    pub(crate) fn empty() -> SockAddr {
        // SAFETY: net rule 2 — all-zero is a valid sockaddr_storage.
        SockAddr {
            storage: Box::new(unsafe { mem::zeroed() }),
            len: mem::size_of::<libc::sockaddr_storage>() as _,
        }
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&*self.storage as *const libc::sockaddr_storage).cast()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&mut *self.storage as *mut libc::sockaddr_storage).cast()
    }

    pub(crate) fn to_std(&self) -> io::Result<SocketAddr> {
        storage_to_std(&self.storage)
    }
}

pub(crate) fn storage_to_std(storage: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    match storage.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: net rule 2 — the family says the storage holds a sockaddr_in.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Ok(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: net rule 2 — the family says the storage holds a sockaddr_in6.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Ok(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        f => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unsupported address family {f}"),
        )),
    }
}

/// `getsockname` / `getpeername` (plain syscalls: there is no opcode for them, and they do not
/// block): the raw address and its length.
fn raw_socket_name(fd: i32, peer: bool) -> io::Result<(SockAddr, libc::socklen_t)> {
    let mut addr = SockAddr::empty();
    let mut len = addr.len;
    // SAFETY: net rule 1 — the kernel writes at most `len` bytes into our storage.
    crate::fs::cvt(unsafe {
        if peer {
            libc::getpeername(fd, addr.as_mut_ptr(), &mut len)
        } else {
            libc::getsockname(fd, addr.as_mut_ptr(), &mut len)
        }
    })?;
    Ok((addr, len))
}

/// The local or peer address of an IP socket.
pub(crate) fn socket_name(fd: i32, peer: bool) -> io::Result<SocketAddr> {
    raw_socket_name(fd, peer)?.0.to_std()
}

/// Something that names one or more socket addresses, as `std::net::ToSocketAddrs` (the same
/// types implement it). Literal addresses resolve at once; host names are looked up on the
/// blocking pool.
pub trait ToSocketAddrs {
    #[doc(hidden)]
    fn to_lookup(&self) -> Lookup;
}

#[doc(hidden)]
pub enum Lookup {
    Ready(io::Result<Vec<SocketAddr>>),
    Host(String),
}

impl Lookup {
    pub(crate) async fn resolve(self) -> io::Result<Vec<SocketAddr>> {
        match self {
            Lookup::Ready(r) => r,
            Lookup::Host(h) => {
                crate::fs::blocking_io(move || {
                    std::net::ToSocketAddrs::to_socket_addrs(h.as_str()).map(Iterator::collect)
                })
                .await
            }
        }
    }
}

/// `ToSocketAddrs` for types naming exactly one address without a lookup.
macro_rules! one_addr {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {
            fn to_lookup(&self) -> Lookup {
                Lookup::Ready(Ok(vec![SocketAddr::from(*self)]))
            }
        }
    )*};
}

one_addr!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (std::net::IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for [SocketAddr] {
    fn to_lookup(&self) -> Lookup {
        Lookup::Ready(Ok(self.to_vec()))
    }
}

impl ToSocketAddrs for str {
    fn to_lookup(&self) -> Lookup {
        match self.parse::<SocketAddr>() {
            Ok(a) => Lookup::Ready(Ok(vec![a])),
            Err(_) => Lookup::Host(self.to_string()),
        }
    }
}

impl ToSocketAddrs for String {
    fn to_lookup(&self) -> Lookup {
        self.as_str().to_lookup()
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_lookup(&self) -> Lookup {
        match self.0.parse::<std::net::IpAddr>() {
            Ok(ip) => Lookup::Ready(Ok(vec![SocketAddr::new(ip, self.1)])),
            Err(_) => Lookup::Host(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_lookup(&self) -> Lookup {
        (self.0.as_str(), self.1).to_lookup()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_lookup(&self) -> Lookup {
        (**self).to_lookup()
    }
}

/// The address of a Unix-domain socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixAddr {
    /// A file-system path.
    Pathname(std::path::PathBuf),
    /// A name in Linux's abstract namespace (without the leading NUL).
    Abstract(Vec<u8>),
    /// No name (an unbound socket, or one end of a pair).
    Unnamed,
}

impl UnixAddr {
    pub(crate) fn from_raw(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> UnixAddr {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: net rule 2 — the caller got this storage for an AF_UNIX socket.
        let sun =
            unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_un>() };
        let base = mem::size_of::<libc::sa_family_t>();
        let n = (len as usize).saturating_sub(base).min(sun.sun_path.len());
        let bytes: Vec<u8> = sun.sun_path[..n].iter().map(|&c| c as u8).collect();
        match bytes.first() {
            None => UnixAddr::Unnamed,
            Some(0) => UnixAddr::Abstract(bytes[1..].to_vec()),
            Some(_) => {
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                UnixAddr::Pathname(std::ffi::OsStr::from_bytes(&bytes[..end]).into())
            }
        }
    }
}

/// The local or peer address of a Unix-domain socket.
pub(crate) fn unix_socket_name(fd: i32, peer: bool) -> io::Result<UnixAddr> {
    let (addr, len) = raw_socket_name(fd, peer)?;
    Ok(UnixAddr::from_raw(&addr.storage, len))
}

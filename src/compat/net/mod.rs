//! `tokio::net` on ringolo (the first part of compat's I/O half): TCP, UDP and Unix sockets
//! with Tokio's types and poll semantics, over io_uring readiness (ready.rs), and Tokio's
//! `ToSocketAddrs` (Tokio's own trait is sealed, so compat has its own with the same impls).

mod halves;
mod methods;
pub(crate) mod ready;
mod socket;
pub mod tcp;
mod udp;
pub mod unix;

pub use self::socket::TcpSocket;
pub use self::tcp::{TcpListener, TcpStream};
pub use self::udp::UdpSocket;
pub use self::unix::{UnixDatagram, UnixListener, UnixSocket, UnixStream};

pub(crate) use self::ready::shutting_down;

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

mod sealed {
    use std::future::Future;
    use std::io;
    use std::net::SocketAddr;
    use std::pin::Pin;

    /// What a `ToSocketAddrs` resolves to: at once, or through the blocking pool.
    pub enum Addrs {
        Ready(io::Result<Vec<SocketAddr>>),
        Lookup(Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + Sync>>),
    }

    pub trait ToSocketAddrsPriv {
        fn to_socket_addrs(&self) -> Addrs;
    }
}

use sealed::Addrs;

/// Stands for `tokio::net::ToSocketAddrs` (sealed, as Tokio's): socket addresses, IP and
/// port pairs, and host names, which are looked up on the blocking pool.
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

macro_rules! ready_addrs {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}
        impl sealed::ToSocketAddrsPriv for $ty {
            fn to_socket_addrs(&self) -> Addrs {
                Addrs::Ready(std::net::ToSocketAddrs::to_socket_addrs(self).map(Iterator::collect))
            }
        }
    )*};
}

ready_addrs!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for &[SocketAddr] {}
impl sealed::ToSocketAddrsPriv for &[SocketAddr] {
    fn to_socket_addrs(&self) -> Addrs {
        Addrs::Ready(Ok(self.to_vec()))
    }
}

/// A host name: parsed at once when it is an address, else looked up on the blocking pool.
fn lookup(host: String, port: Option<u16>) -> Addrs {
    let parsed = match port {
        None => host.parse::<SocketAddr>().ok(),
        Some(p) => host.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, p)),
    };
    if let Some(a) = parsed {
        return Addrs::Ready(Ok(vec![a]));
    }
    Addrs::Lookup(Box::pin(async move {
        let join = crate::compat::task::spawn_blocking(move || match port {
            None => std::net::ToSocketAddrs::to_socket_addrs(&host).map(Iterator::collect),
            Some(p) => {
                std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), p)).map(Iterator::collect)
            }
        });
        join.await.map_err(io::Error::from)?
    }))
}

impl ToSocketAddrs for str {}
impl sealed::ToSocketAddrsPriv for str {
    fn to_socket_addrs(&self) -> Addrs {
        lookup(self.to_string(), None)
    }
}

impl ToSocketAddrs for String {}
impl sealed::ToSocketAddrsPriv for String {
    fn to_socket_addrs(&self) -> Addrs {
        lookup(self.clone(), None)
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::ToSocketAddrsPriv for (&str, u16) {
    fn to_socket_addrs(&self) -> Addrs {
        lookup(self.0.to_string(), Some(self.1))
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::ToSocketAddrsPriv for (String, u16) {
    fn to_socket_addrs(&self) -> Addrs {
        lookup(self.0.clone(), Some(self.1))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::ToSocketAddrsPriv for &T {
    fn to_socket_addrs(&self) -> Addrs {
        (**self).to_socket_addrs()
    }
}

/// Resolve `addr` to its addresses.
pub(crate) async fn to_socket_addrs<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    match sealed::ToSocketAddrsPriv::to_socket_addrs(&addr) {
        Addrs::Ready(r) => r,
        Addrs::Lookup(f) => f.await,
    }
}

/// Stands for `tokio::net::lookup_host`.
pub async fn lookup_host<T: ToSocketAddrs>(
    host: T,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(to_socket_addrs(host).await?.into_iter())
}

pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}

/// Run a native socket setup (an io_uring chain) on a ring: this thread's if it drives one,
/// else as a task on the current runtime. Fails with Tokio's shutdown error once the runtime
/// is gone.
///
/// # Panics
/// Outside a runtime, with Tokio's message.
pub(crate) async fn on_runtime<F, T>(f: F) -> io::Result<T>
where
    F: Future<Output = io::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let Some(handle) = crate::runtime::Handle::try_current() else {
        panic!("{}", crate::compat::CONTEXT_MISSING);
    };
    if handle.is_shut_down() {
        return Err(shutting_down());
    }
    if crate::runtime::context::with_driver(|_| ()).is_some() {
        return f.await;
    }
    match handle.spawn(f).await {
        Ok(res) => res,
        Err(_) => Err(shutting_down()),
    }
}

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use super::addr::{socket_name, SockAddr, ToSocketAddrs};
use super::ops::{NetOp, NetOutput};
use crate::buf::{BufResult, IoBuf, IoBufMut};

use crate::driver::ops::Target;
use crate::driver::{Op, OpList};
use crate::fs::cvt;
use io_uring::opcode;

/// An owned socket descriptor, closed on the ring when dropped.
#[derive(Debug)]
pub(crate) struct Socket(pub(crate) RawFd, pub(crate) SendsInFlight);

/// `IORING_OP_SEND`s of a stream socket not yet finished: while there are any, a new write
/// must not go out with an immediate `send(2)`, or its bytes could overtake theirs.
#[derive(Debug, Default)]
pub(crate) struct SendsInFlight(std::sync::atomic::AtomicU32);

impl SendsInFlight {
    pub(crate) fn is_zero(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire) == 0
    }

    /// Count one send until the returned guard drops.
    pub(crate) fn enter(&self) -> SendGuard<'_> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        SendGuard(self)
    }
}

pub(crate) struct SendGuard<'a>(&'a SendsInFlight);

impl Drop for SendGuard<'_> {
    fn drop(&mut self) {
        (self.0).0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Socket {
    pub(crate) fn new(fd: RawFd) -> Socket {
        Socket(fd, SendsInFlight::default())
    }

    /// Give up the descriptor without closing it.
    pub(crate) fn into_raw(self) -> RawFd {
        let fd = self.0;
        std::mem::forget(self);
        fd
    }

    /// Close with `IORING_OP_CLOSE`, reporting the error `close(2)` gives.
    pub(crate) async fn close(self) -> io::Result<()> {
        Op::new(crate::driver::ops::Close::new(self.into_raw())).await
    }
}

/// The descriptor plumbing every socket type shares: `close().await`, `from_std`, `into_std`
/// and the std fd traits.
macro_rules! socket_common {
    ($ty:ident, $std:ty) => {
        impl $ty {
            /// Close the socket, reporting the error `close(2)` gives (dropping it closes it
            /// too, in the background).
            pub async fn close(self) -> std::io::Result<()> {
                self.sock.close().await
            }

            /// Adopt a std socket (blocking or not: ringolo never blocks on it).
            pub fn from_std(socket: $std) -> $ty {
                $ty {
                    sock: $crate::net::tcp::Socket::new(std::os::fd::IntoRawFd::into_raw_fd(
                        socket,
                    )),
                }
            }

            /// The std socket on the same descriptor.
            pub fn into_std(self) -> $std {
                let fd = self.sock.into_raw();
                // SAFETY: net rule 4 — the descriptor was ours and is handed over whole.
                unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) }
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.sock.0
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                // SAFETY: net rule 4 — the descriptor stays open while `self` is borrowed.
                unsafe { std::os::fd::BorrowedFd::borrow_raw(self.sock.0) }
            }
        }

        impl std::os::fd::IntoRawFd for $ty {
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                self.sock.into_raw()
            }
        }

        impl std::os::fd::FromRawFd for $ty {
            /// # Safety
            ///
            /// `fd` must be an open socket of the right kind that nothing else owns.
            unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> $ty {
                $ty {
                    sock: $crate::net::tcp::Socket::new(fd),
                }
            }
        }

        impl From<$ty> for std::os::fd::OwnedFd {
            fn from(s: $ty) -> std::os::fd::OwnedFd {
                // SAFETY: net rule 4 — the descriptor was ours and is handed over whole.
                unsafe { std::os::fd::FromRawFd::from_raw_fd(s.sock.into_raw()) }
            }
        }
    };
}
pub(crate) use socket_common;

impl Drop for Socket {
    fn drop(&mut self) {
        crate::driver::close_fd(self.0);
    }
}

pub(crate) async fn run(op: NetOp) -> io::Result<u32> {
    match Op::new(op).await? {
        NetOutput::Value(v) => Ok(v),
        NetOutput::Accepted(..) => unreachable!("only accept yields a connection"),
    }
}

/// A new close-on-exec socket: `IORING_OP_SOCKET` (Linux 5.19), else `socket(2)`.
pub(crate) async fn new_socket(domain: i32, ty: i32) -> io::Result<Socket> {
    if !crate::runtime::context::supports(opcode::Socket::CODE) {
        // SAFETY: net rule 1 — socket(2) takes no pointers; the new descriptor is owned by the
        // returned Socket (net rule 4).
        let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        return Ok(Socket::new(fd));
    }
    run(NetOp::Socket { domain, ty })
        .await
        .map(|fd| Socket::new(fd as RawFd))
}

/// One step of setting up a socket, done by an op where the kernel has it, else by syscall.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Setup {
    ReuseAddr,
    Bind,
    Listen,
    Connect,
}

const BACKLOG: i32 = 1024;

impl Setup {
    fn op(self, fd: Target, addr: &SockAddr) -> NetOp {
        match self {
            Setup::ReuseAddr => NetOp::SetSockOpt {
                fd,
                level: libc::SOL_SOCKET,
                name: libc::SO_REUSEADDR,
                value: Box::new(1),
            },
            Setup::Bind => NetOp::Bind {
                fd,
                addr: addr.clone(),
            },
            Setup::Listen => NetOp::Listen {
                fd,
                backlog: BACKLOG,
            },
            Setup::Connect => NetOp::Connect {
                fd,
                addr: addr.clone(),
            },
        }
    }

    fn opcode(self) -> u8 {
        match self {
            Setup::ReuseAddr => opcode::SetSockOpt::CODE,
            Setup::Bind => opcode::Bind::CODE,
            Setup::Listen => opcode::Listen::CODE,
            Setup::Connect => opcode::Connect::CODE,
        }
    }
}

/// A new socket, set up by `steps` (a bind, a listen, options): one linked chain from the
/// socket itself to a plain descriptor when the kernel has every opcode (`SOCKET` made into a
/// reserved registered-file slot, the steps on that slot, then `FIXED_FD_INSTALL`: Linux
/// 6.11), else the socket first and the steps after it, as ops or syscalls.
pub(crate) async fn socket_set_up(ty: i32, addr: &SockAddr, steps: &[Setup]) -> io::Result<Socket> {
    // The address says which family the socket is of.
    let domain = i32::from(addr.storage.ss_family);
    if let Some(sock) = one_chain(domain, ty, addr, steps).await? {
        return Ok(sock);
    }
    let sock = new_socket(domain, ty).await?;
    set_up(sock.0, addr, steps).await?;
    Ok(sock)
}

/// The single-submission path; `Ok(None)` when it is not available here (an older kernel, a
/// full slot table, or an op the probe cannot vouch for refused), so the caller takes the
/// two-step path, whose syscalls report any real error.
async fn one_chain(
    domain: i32,
    ty: i32,
    addr: &SockAddr,
    steps: &[Setup],
) -> io::Result<Option<Socket>> {
    use crate::runtime::context::{supports, with_driver};
    let needed = [opcode::Socket::CODE, opcode::FixedFdInstall::CODE];
    if !needed
        .into_iter()
        .chain(steps.iter().map(|s| s.opcode()))
        .all(supports)
    {
        return Ok(None);
    }
    let chain_len = steps.len() + 2;
    let reserved = with_driver(|d| {
        // A ring too small for the whole chain takes the two-step path.
        (chain_len <= d.max_chain())
            .then(|| d.reserve_fixed_slot().map(|s| (s, d.id)))
            .and_then(Result::ok)
    });
    let Some(Some((slot, ring))) = reserved else {
        return Ok(None);
    };
    let mut ops = vec![NetOp::SocketInSlot { domain, ty, slot }];
    ops.extend(steps.iter().map(|s| s.op(Target::Fixed(slot), addr)));
    ops.push(NetOp::InstallSlot { slot });
    let results = OpList::chain(ops).await;
    // Every op of the chain has its final result: nothing can touch the slot any more, so it
    // is cleared now, which drops the slot's reference to the socket (direct rule 3). Same
    // thread and ring: the chain kept the task bound until it was ready, in this very poll.
    if with_driver(|d| d.id == ring && d.release_reserved_slot(slot)) != Some(true) {
        tracing::warn!("ringolo: the registered-file slot of a socket chain was not cleared");
    }
    let last = results.len() - 1;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(NetOutput::Value(fd)) if i == last => return Ok(Some(Socket::new(fd as RawFd))),
            Ok(_) => continue,
            // Take the two-step path only when nothing outside the slot happened yet: the
            // socket op itself, or the option the probe cannot vouch for (sockets accept the
            // setsockopt command from 6.7 on). A later failure is the real answer (a retry
            // could find the Unix path it already bound, or connect twice).
            Err(e)
                if unsupported(&e)
                    && (i == 0
                        || i.checked_sub(1).and_then(|k| steps.get(k))
                            == Some(&Setup::ReuseAddr)) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn setup_syscall(fd: RawFd, step: Setup, addr: &SockAddr) -> io::Result<()> {
    let ret = match step {
        Setup::ReuseAddr => {
            return setsockopt_syscall(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, &1i32)
        }
        // SAFETY: net rule 1 — a valid address and its length, on the socket we own.
        Setup::Bind => unsafe { libc::bind(fd, addr.as_ptr(), addr.len) },
        // SAFETY: net rule 1 — a plain syscall on the socket we own.
        Setup::Listen => unsafe { libc::listen(fd, BACKLOG) },
        Setup::Connect => unreachable!("a connect always goes through the ring (see set_up)"),
    };
    cvt(ret)
}

/// Run `steps` on a fresh socket as one linked chain when the kernel has every opcode
/// (`IORING_OP_URING_CMD` setsockopt: 6.7, `BIND`/`LISTEN`: 6.11), else with syscalls. If a
/// step's op fails with EINVAL/EOPNOTSUPP (an opcode the probe cannot vouch for, such as the
/// socket setsockopt command), that step and the rest run as syscalls, which report the real
/// error if there is one.
async fn set_up(fd: RawFd, addr: &SockAddr, steps: &[Setup]) -> io::Result<()> {
    use crate::runtime::context::supports;
    // CONNECT is older than the driver's floor, and its syscall would block the thread.
    let has = |step: &Setup| *step == Setup::Connect || supports(step.opcode());
    // The ring does the longest prefix the kernel has (and the ring can take in one chain);
    // syscalls do the rest.
    let room = crate::runtime::context::with_driver(|d| d.max_chain()).unwrap_or(usize::MAX);
    let ring_steps = steps.iter().take_while(|s| has(s)).count().min(room);
    let mut from = ring_steps;
    if ring_steps > 0 {
        let ops = steps[..ring_steps]
            .iter()
            .map(|step| step.op(Target::Fd(fd), addr));
        for (i, r) in OpList::chain(ops).await.into_iter().enumerate() {
            match r {
                Ok(_) => continue,
                Err(e) if unsupported(&e) && steps[i] != Setup::Connect => {
                    from = i;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    for &step in &steps[from..] {
        setup_syscall(fd, step, addr)?;
    }
    Ok(())
}

/// The one socket-option helper every setter goes through. On a ring whose kernel has the
/// io_uring setsockopt (`IORING_OP_URING_CMD` with `SOCKET_URING_OP_SETSOCKOPT`, Linux 6.7) it
/// submits that op and takes its completion at once (the kernel sets the option as it issues
/// the op, so nothing waits on the network); off the ring's thread, outside a runtime, or where
/// the kernel's sockets do not take the command (`EOPNOTSUPP`/`EINVAL`), `setsockopt(2)`,
/// which also gives the real error if the option itself is refused.
pub(crate) fn setsockopt<T: Copy + Send + 'static>(
    fd: RawFd,
    level: i32,
    name: i32,
    value: &T,
) -> io::Result<()> {
    use crate::runtime::context::{supports, with_driver};
    if supports(opcode::SetSockOpt::CODE) {
        let boxed = Box::new(*value);
        let entry = opcode::SetSockOpt::new(
            io_uring::types::Fd(fd),
            level as u32,
            name as u32,
            (&*boxed as *const T).cast(),
            std::mem::size_of::<T>() as u32,
        )
        .build();
        // Driver rule 1: the box the entry points at goes with the op until it completes.
        match with_driver(|d| d.complete_now(entry, boxed)).flatten() {
            Some(res) if res >= 0 => return Ok(()),
            Some(res) => {
                let e = io::Error::from_raw_os_error(-res);
                if !unsupported(&e) {
                    return Err(e);
                }
            }
            None => {}
        }
    }
    setsockopt_syscall(fd, level, name, value)
}

fn setsockopt_syscall<T: Copy>(fd: RawFd, level: i32, name: i32, value: &T) -> io::Result<()> {
    // SAFETY: net rule 1 — a pointer to a live plain-data value and its exact size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
}

pub(crate) fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    setsockopt(fd, level, name, &value)
}

pub(crate) fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> io::Result<i32> {
    getsockopt(fd, level, name)
}

/// `SO_LINGER` of any socket.
pub(crate) fn set_linger_fd(fd: RawFd, linger: Option<Duration>) -> io::Result<()> {
    let l = libc::linger {
        l_onoff: linger.is_some() as i32,
        l_linger: linger.map_or(0, |d| d.as_secs().min(i32::MAX as u64) as i32),
    };
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_LINGER, &l)
}

/// The `SO_LINGER` setting of any socket (`None`: off).
pub(crate) fn linger_fd(fd: RawFd) -> io::Result<Option<Duration>> {
    let l: libc::linger = getsockopt(fd, libc::SOL_SOCKET, libc::SO_LINGER)?;
    Ok((l.l_onoff != 0).then(|| Duration::from_secs(l.l_linger.max(0) as u64)))
}

/// `getsockopt(2)` into a plain-data value (an int, a `linger`).
pub(crate) fn getsockopt<T: Copy>(fd: RawFd, level: i32, name: i32) -> io::Result<T> {
    let mut value = std::mem::MaybeUninit::<T>::zeroed();
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: net rule 1 — the kernel writes at most `len` bytes into a local value.
    cvt(unsafe { libc::getsockopt(fd, level, name, value.as_mut_ptr().cast(), &mut len) })?;
    // SAFETY: net rule 2 — the value started all-zero, valid for these C option types, and
    // the kernel wrote at most its size.
    Ok(unsafe { value.assume_init() })
}

/// Whether an error says the kernel lacks the opcode rather than refusing the request.
pub(crate) fn unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EOPNOTSUPP))
}

pub(crate) async fn first_ok<T, F, Fut>(addr: impl ToSocketAddrs, f: F) -> io::Result<T>
where
    F: Fn(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let addrs = addr.to_lookup().resolve().await?;
    let mut last = None;
    for a in addrs {
        match f(a).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(no_address))
}

pub(crate) fn no_address() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}

/// A TCP socket listening for connections.
#[derive(Debug)]
pub struct TcpListener {
    sock: Socket,
}

impl TcpListener {
    /// Bind and listen, as one linked chain: socket → `SO_REUSEADDR` → bind → listen → install
    /// as a plain descriptor (syscalls where the kernel lacks an opcode).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        first_ok(addr, Self::bind_one).await
    }

    async fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
        let steps = [Setup::ReuseAddr, Setup::Bind, Setup::Listen];
        let sock = socket_set_up(libc::SOCK_STREAM, &SockAddr::new(addr), &steps).await?;
        Ok(TcpListener { sock })
    }

    /// Accept one connection.
    ///
    /// Out of descriptors (`EMFILE`), each call fails at once while connections wait: pause
    /// before calling again, as [`incoming`](Self::incoming) does by itself.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, addr, _) = Op::new(NetOp::accept(self.sock.0)).await?.accepted();
        let stream = TcpStream {
            sock: Socket::new(fd),
        };
        Ok((stream, addr.to_std()?))
    }

    /// Every incoming connection, from one multishot accept. Dropping the stream cancels it
    /// and closes connections accepted but not taken.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming::new(self.sock.0, |fd| TcpStream {
            sock: Socket::new(fd),
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket_name(self.sock.0, false)
    }

    /// `IP_TTL` of accepted connections' packets and the listener's own.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        setsockopt_int(self.sock.0, libc::IPPROTO_IP, libc::IP_TTL, ttl as i32)
    }

    /// The `IP_TTL` value.
    pub fn ttl(&self) -> io::Result<u32> {
        getsockopt_int(self.sock.0, libc::IPPROTO_IP, libc::IP_TTL).map(|v| v as u32)
    }
}

socket_common!(TcpListener, std::net::TcpListener);
socket_common!(TcpStream, std::net::TcpStream);

/// Connections from [`TcpListener::incoming`].
pub type Incoming<'a> = super::ops::AcceptStream<'a, TcpStream>;

/// A TCP connection.
#[derive(Debug)]
pub struct TcpStream {
    sock: Socket,
}

impl TcpStream {
    /// Connect to the first address that accepts.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        first_ok(addr, |a| async move {
            let addr = SockAddr::new(a);
            let steps = [Setup::Connect];
            let sock = socket_set_up(libc::SOCK_STREAM, &addr, &steps).await?;
            Ok(TcpStream { sock })
        })
        .await
    }

    fn fd(&self) -> RawFd {
        self.sock.0
    }

    fn sends(&self) -> &SendsInFlight {
        &self.sock.1
    }

    crate::net::stream::stream_io_methods!();

    /// `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        setsockopt_int(self.fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY, on as i32)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        getsockopt_int(self.fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY).map(|v| v != 0)
    }

    /// `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        setsockopt_int(self.fd(), libc::IPPROTO_IP, libc::IP_TTL, ttl as i32)
    }

    /// The `IP_TTL` value.
    pub fn ttl(&self) -> io::Result<u32> {
        getsockopt_int(self.fd(), libc::IPPROTO_IP, libc::IP_TTL).map(|v| v as u32)
    }

    /// `SO_LINGER` (`None` turns it off).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        set_linger_fd(self.fd(), linger)
    }

    /// The `SO_LINGER` setting (`None`: off).
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        linger_fd(self.fd())
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket_name(self.fd(), false)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket_name(self.fd(), true)
    }

    /// Split into a read half and a write half, usable from two tasks at once; the socket
    /// closes when both are dropped.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let shared = Arc::new(self);
        (
            OwnedReadHalf {
                stream: shared.clone(),
            },
            OwnedWriteHalf { stream: shared },
        )
    }
}

/// The reading half of a [`TcpStream`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Arc<TcpStream>,
}

/// The writing half of a [`TcpStream`].
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Arc<TcpStream>,
}

/// The two halves given to [`OwnedReadHalf::reunite`] came from different streams; here they
/// are back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl std::fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl std::error::Error for ReuniteError {}

impl OwnedReadHalf {
    /// Put the stream back together from its two halves.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.stream, &other.stream) {
            return Err(ReuniteError(self, other));
        }
        drop(other);
        // The two halves held the only references.
        Ok(Arc::try_unwrap(self.stream).expect("both halves were given back"))
    }

    /// See [`TcpStream::read`].
    pub async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        self.stream.read(buf).await
    }

    /// See [`TcpStream::read_exact`].
    pub async fn read_exact<B: IoBufMut>(&self, buf: B) -> BufResult<(), B> {
        self.stream.read_exact(buf).await
    }

    /// See [`TcpStream::readv`].
    pub async fn readv<B: IoBufMut>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        self.stream.readv(bufs).await
    }

    /// See [`TcpStream::recv`].
    pub async fn recv<B: IoBufMut>(&self, buf: B, flags: i32) -> BufResult<usize, B> {
        self.stream.recv(buf, flags).await
    }

    /// See [`TcpStream::peek`].
    pub async fn peek<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        self.stream.peek(buf).await
    }

    /// See [`TcpStream::recv_multi`].
    pub fn recv_multi<'a>(&'a self, ring: &super::BufRing) -> super::RecvStream<'a> {
        self.stream.recv_multi(ring)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }
}

impl OwnedWriteHalf {
    /// Put the stream back together from its two halves.
    pub fn reunite(self, other: OwnedReadHalf) -> Result<TcpStream, ReuniteError> {
        other.reunite(self)
    }

    /// See [`TcpStream::write`].
    pub async fn write<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        self.stream.write(buf).await
    }

    /// See [`TcpStream::write_all`].
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        self.stream.write_all(buf).await
    }

    /// See [`TcpStream::writev`].
    pub async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        self.stream.writev(bufs).await
    }

    /// See [`TcpStream::send`].
    pub async fn send<B: IoBuf>(&self, buf: B, flags: i32) -> BufResult<usize, B> {
        self.stream.send(buf, flags).await
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Shut down the write side: the peer reads end-of-stream.
    pub async fn shutdown(&self) -> io::Result<()> {
        self.stream.shutdown(std::net::Shutdown::Write).await
    }
}

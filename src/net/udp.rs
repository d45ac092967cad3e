use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::RawFd;

use io_uring::{opcode, squeue::Entry, types};

use super::addr::{socket_name, SockAddr, ToSocketAddrs};
use super::ops::NetOp;
use super::tcp::{
    first_ok, getsockopt_int, run, setsockopt, setsockopt_int, socket_set_up, Setup, Socket,
};
use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::driver::ops::Target;
use crate::driver::ops::{Recv, Send as SendOp};
use crate::driver::{Completion, Op, Operation};

/// A message header and its one iovec, pointing into the buffer and address of the op that
/// owns them.
struct MsgParts {
    hdr: libc::msghdr,
    iov: libc::iovec,
}

// SAFETY: rule 1 of driver/mod.rs — the pointers inside are to memory owned by the same op
// (a `Send` buffer and a boxed address), handed only to the kernel.
unsafe impl Send for MsgParts {}

/// A buffer, an address and the message header that points at both.
pub(crate) struct MsgOp<B> {
    fd: RawFd,
    buf: B,
    addr: SockAddr,
    parts: Box<MsgParts>,
}

impl<B> MsgOp<B> {
    pub(crate) fn new(fd: RawFd, buf: B, addr: SockAddr) -> Self {
        // SAFETY: net rule 2 — all-zero is a valid (empty) msghdr and iovec.
        let parts = Box::new(unsafe { std::mem::zeroed::<MsgParts>() });
        MsgOp {
            fd,
            buf,
            addr,
            parts,
        }
    }
}

impl<B> MsgOp<B> {
    /// Point the header at the address and at `len` bytes at `base`; returns the header.
    fn header(&mut self, base: *mut u8, len: usize, namelen: libc::socklen_t) -> &mut libc::msghdr {
        let parts = &mut *self.parts;
        parts.iov.iov_base = base.cast();
        parts.iov.iov_len = len;
        parts.hdr.msg_name = self.addr.as_mut_ptr().cast();
        parts.hdr.msg_namelen = namelen;
        parts.hdr.msg_iov = &mut parts.iov;
        parts.hdr.msg_iovlen = 1;
        &mut parts.hdr
    }
}

/// `sendmsg` of a buffer's initialised bytes to an address.
pub(crate) struct SendMsg<B>(pub(crate) MsgOp<B>);

/// `recvmsg` into a buffer's spare part, recording the source address.
pub(crate) struct RecvMsg<B, A> {
    pub(crate) op: MsgOp<B>,
    /// Turns the kernel's source address (storage and length) into the caller's type.
    pub(crate) decode: fn(&libc::sockaddr_storage, libc::socklen_t) -> io::Result<A>,
    /// `recvmsg` flags (`MSG_PEEK`).
    pub(crate) flags: u32,
}

// SAFETY: rule 1 of driver/mod.rs — the entry points at the boxed msghdr, whose name points at
// the boxed address and whose iovec (in the same box) points into the buffer's stable memory;
// all are owned by `self` and untouched until `complete`.
unsafe impl<B: IoBuf> Operation for SendMsg<B> {
    type Output = BufResult<usize, B>;

    fn build(&mut self) -> Entry {
        let (ptr, len, namelen) = (
            self.0.buf.stable_ptr() as *mut u8,
            self.0.buf.bytes_init(),
            self.0.addr.len,
        );
        let fd = self.0.fd;
        let hdr = self.0.header(ptr, len, namelen);
        opcode::SendMsg::new(types::Fd(fd), hdr)
            .flags(libc::MSG_NOSIGNAL as u32)
            .build()
    }

    fn complete(self, result: io::Result<Completion>) -> Self::Output {
        (result.map(|c| c.result as usize), self.0.buf)
    }
}

// SAFETY: rule 1 of driver/mod.rs, as for `SendMsg`.
unsafe impl<B: IoBufMut, A: Send + 'static> Operation for RecvMsg<B, A> {
    type Output = BufResult<(usize, A), B>;

    fn build(&mut self) -> Entry {
        let init = self.op.buf.bytes_init();
        let len = self.op.buf.bytes_total() - init;
        // SAFETY: buf rule 2 — `init <= bytes_total`.
        let ptr = unsafe { self.op.buf.stable_mut_ptr().add(init) };
        let fd = self.op.fd;
        let hdr = self.op.header(
            ptr,
            len,
            std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        );
        opcode::RecvMsg::new(types::Fd(fd), hdr)
            .flags(self.flags)
            .build()
    }

    fn complete(self, result: io::Result<Completion>) -> Self::Output {
        let (mut op, decode) = (self.op, self.decode);
        match result {
            Ok(c) => {
                let n = c.result as usize;
                let init = op.buf.bytes_init();
                // SAFETY: rule 1 and buf rule 2 — the kernel wrote `n` bytes after `init`.
                unsafe { op.buf.set_init(init + n) };
                let namelen = op.parts.hdr.msg_namelen;
                (decode(&op.addr.storage, namelen).map(|a| (n, a)), op.buf)
            }
            Err(e) => (Err(e), op.buf),
        }
    }
}

/// A UDP socket.
#[derive(Debug)]
pub struct UdpSocket {
    sock: Socket,
}

impl UdpSocket {
    /// Bind to the first address that works.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        first_ok(addr, |a| async move {
            let sock = socket_set_up(libc::SOCK_DGRAM, &SockAddr::new(a), &[Setup::Bind]).await?;
            Ok(UdpSocket { sock })
        })
        .await
    }

    /// Set the default peer for `send`/`recv` (and filter what `recv` accepts).
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let fd = self.sock.0;
        first_ok(addr, |a| async move {
            run(NetOp::Connect {
                fd: Target::Fd(fd),
                addr: SockAddr::new(a),
            })
            .await
            .map(|_| ())
        })
        .await
    }

    /// Send a datagram to `target` (the first address it names).
    pub async fn send_to<B: IoBuf>(
        &self,
        buf: B,
        target: impl ToSocketAddrs,
    ) -> BufResult<usize, B> {
        let target = match target.to_lookup().resolve().await {
            Ok(addrs) => match addrs.into_iter().next() {
                Some(a) => a,
                None => return (Err(super::tcp::no_address()), buf),
            },
            Err(e) => return (Err(e), buf),
        };
        Op::new(SendMsg(MsgOp::new(self.sock.0, buf, SockAddr::new(target)))).await
    }

    /// Receive a datagram and its source address.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, SocketAddr), B> {
        self.recv_msg(buf, 0).await
    }

    /// Receive the next datagram and its source address, leaving it queued.
    pub async fn peek_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, SocketAddr), B> {
        self.recv_msg(buf, libc::MSG_PEEK as u32).await
    }

    async fn recv_msg<B: IoBufMut>(&self, buf: B, flags: u32) -> BufResult<(usize, SocketAddr), B> {
        let decode = |s: &libc::sockaddr_storage, _len| super::addr::storage_to_std(s);
        Op::new(RecvMsg {
            op: MsgOp::new(self.sock.0, buf, SockAddr::empty()),
            decode,
            flags,
        })
        .await
    }

    /// Send a datagram to the connected peer.
    pub async fn send<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        Op::new(SendOp::new(self.sock.0, buf, 0)).await
    }

    /// Receive a datagram from the connected peer.
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        Op::new(Recv::new(self.sock.0, buf, 0)).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket_name(self.sock.0, false)
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket_name(self.sock.0, true)
    }

    /// `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        setsockopt_int(self.sock.0, libc::SOL_SOCKET, libc::SO_BROADCAST, on as i32)
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        getsockopt_int(self.sock.0, libc::SOL_SOCKET, libc::SO_BROADCAST).map(|v| v != 0)
    }

    /// `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        setsockopt_int(self.sock.0, libc::IPPROTO_IP, libc::IP_TTL, ttl as i32)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        getsockopt_int(self.sock.0, libc::IPPROTO_IP, libc::IP_TTL).map(|v| v as u32)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        getsockopt_int(self.sock.0, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP).map(|v| v != 0)
    }

    /// `IP_MULTICAST_TTL`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        getsockopt_int(self.sock.0, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL).map(|v| v as u32)
    }

    /// `IPV6_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        setsockopt_int(
            self.sock.0,
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_LOOP,
            on as i32,
        )
    }

    /// Whether `IPV6_MULTICAST_LOOP` is set.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        getsockopt_int(self.sock.0, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP).map(|v| v != 0)
    }

    /// `IP_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        setsockopt_int(
            self.sock.0,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_LOOP,
            on as i32,
        )
    }

    /// `IP_MULTICAST_TTL`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        setsockopt_int(
            self.sock.0,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_TTL,
            ttl as i32,
        )
    }

    /// Join an IPv4 multicast group on `interface` (`0.0.0.0`: any).
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.mreq_v4(libc::IP_ADD_MEMBERSHIP, group, interface)
    }

    /// Leave an IPv4 multicast group.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.mreq_v4(libc::IP_DROP_MEMBERSHIP, group, interface)
    }

    fn mreq_v4(&self, name: i32, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        let mreq = libc::ip_mreq {
            imr_multiaddr: libc::in_addr {
                s_addr: u32::from_ne_bytes(group.octets()),
            },
            imr_interface: libc::in_addr {
                s_addr: u32::from_ne_bytes(interface.octets()),
            },
        };
        setsockopt(self.sock.0, libc::IPPROTO_IP, name, &mreq)
    }

    /// Join an IPv6 multicast group on interface index `interface` (0: any).
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.mreq_v6(libc::IPV6_ADD_MEMBERSHIP, group, interface)
    }

    /// Leave an IPv6 multicast group.
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.mreq_v6(libc::IPV6_DROP_MEMBERSHIP, group, interface)
    }

    fn mreq_v6(&self, name: i32, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        let mreq = libc::ipv6_mreq {
            ipv6mr_multiaddr: libc::in6_addr {
                s6_addr: group.octets(),
            },
            ipv6mr_interface: interface,
        };
        setsockopt(self.sock.0, libc::IPPROTO_IPV6, name, &mreq)
    }
}

super::tcp::socket_common!(UdpSocket, std::net::UdpSocket);

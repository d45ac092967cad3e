//! Socket operations, one enum turned into SQEs in one place.

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue::Entry, types};

use super::addr::SockAddr;
use crate::driver::ops::Target;
use crate::driver::{Completion, MultishotOperation, Operation, Reclaim};

pub(crate) enum NetOp {
    Socket {
        domain: i32,
        ty: i32,
    },
    /// A socket created straight into a reserved registered-file slot (direct rule 3).
    SocketInSlot {
        domain: i32,
        ty: i32,
        slot: u32,
    },
    SetSockOpt {
        fd: Target,
        level: i32,
        name: i32,
        value: Box<i32>,
    },
    Bind {
        fd: Target,
        addr: SockAddr,
    },
    Listen {
        fd: Target,
        backlog: i32,
    },
    /// A plain fd for the file in a slot (`IORING_OP_FIXED_FD_INSTALL`, close-on-exec); the
    /// last op of a chain that reserved the slot.
    InstallSlot {
        slot: u32,
    },
    Connect {
        fd: Target,
        addr: SockAddr,
    },
    Accept {
        fd: RawFd,
        addr: SockAddr,
        len: Box<libc::socklen_t>,
    },
    Shutdown {
        fd: RawFd,
        how: i32,
    },
}

pub(crate) enum NetOutput {
    Value(u32),
    /// A new connection's descriptor and its peer's address as the kernel wrote it (with its
    /// length), decoded by the caller for its address family.
    Accepted(RawFd, SockAddr, libc::socklen_t),
}

impl NetOp {
    /// One accept on the listener `fd`, with room for the peer's address.
    pub(crate) fn accept(fd: RawFd) -> NetOp {
        NetOp::Accept {
            fd,
            addr: SockAddr::empty(),
            len: Box::new(0),
        }
    }
}

impl NetOutput {
    /// What an accept produced.
    pub(crate) fn accepted(self) -> (RawFd, SockAddr, libc::socklen_t) {
        match self {
            NetOutput::Accepted(fd, addr, len) => (fd, addr, len),
            NetOutput::Value(_) => unreachable!("accept yields a connection"),
        }
    }
}

/// Builds an entry for an op that takes either a plain fd or a registered slot.
macro_rules! on_target {
    ($target:expr, |$f:ident| $build:expr) => {
        match $target {
            Target::Fd(fd) => {
                let $f = types::Fd(*fd);
                $build
            }
            Target::Fixed(slot) => {
                let $f = types::Fixed(*slot);
                $build
            }
        }
    };
}

// SAFETY: rule 1 of driver/mod.rs — every pointer in an entry points into a Box owned by the
// op (address storage, its length, an option value), untouched until `complete`. A registered
// slot is not memory: ops on a reserved slot follow direct rule 3.
unsafe impl Operation for NetOp {
    type Output = io::Result<NetOutput>;

    fn build(&mut self) -> Entry {
        match self {
            NetOp::Socket { domain, ty } => {
                opcode::Socket::new(*domain, *ty | libc::SOCK_CLOEXEC, 0).build()
            }
            NetOp::SocketInSlot { domain, ty, slot } => {
                let dest = types::DestinationSlot::try_from_slot_target(*slot)
                    .expect("slots are below the table size, far under the limit");
                // No SOCK_CLOEXEC: the kernel refuses it for a direct descriptor, which has no
                // fd table entry; the install that ends the chain sets O_CLOEXEC.
                opcode::Socket::new(*domain, *ty, 0)
                    .file_index(Some(dest))
                    .build()
            }
            NetOp::SetSockOpt {
                fd,
                level,
                name,
                value,
            } => on_target!(fd, |f| opcode::SetSockOpt::new(
                f,
                *level as u32,
                *name as u32,
                (&**value as *const i32).cast(),
                std::mem::size_of::<i32>() as u32,
            )
            .build()),
            NetOp::Bind { fd, addr } => {
                on_target!(fd, |f| opcode::Bind::new(f, addr.as_ptr(), addr.len)
                    .build())
            }
            NetOp::Listen { fd, backlog } => {
                on_target!(fd, |f| opcode::Listen::new(f, *backlog).build())
            }
            NetOp::InstallSlot { slot } => {
                opcode::FixedFdInstall::new(types::Fixed(*slot), 0).build()
            }
            NetOp::Connect { fd, addr } => {
                on_target!(fd, |f| opcode::Connect::new(f, addr.as_ptr(), addr.len)
                    .build())
            }
            NetOp::Accept { fd, addr, len } => {
                **len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                opcode::Accept::new(types::Fd(*fd), addr.as_mut_ptr(), &mut **len)
                    .flags(libc::SOCK_CLOEXEC)
                    .build()
            }
            NetOp::Shutdown { fd, how } => opcode::Shutdown::new(types::Fd(*fd), *how).build(),
        }
    }

    fn complete(self, result: io::Result<Completion>) -> io::Result<NetOutput> {
        let c = result?;
        Ok(match self {
            NetOp::Accept { addr, len, .. } => NetOutput::Accepted(c.result as RawFd, addr, *len),
            _ => NetOutput::Value(c.result),
        })
    }

    fn reclaim(&self) -> Reclaim {
        match self {
            NetOp::Socket { .. } | NetOp::Accept { .. } => Reclaim::CloseFd,
            NetOp::InstallSlot { slot } => Reclaim::FreeSlot(crate::driver::ReservedSlot(*slot)),
            // SocketInSlot's result is 0, not an fd: the slot is the install's to free.
            _ => Reclaim::Nothing,
        }
    }
}

/// Multishot accept: one SQE, one CQE per incoming connection.
pub(crate) struct AcceptMulti {
    pub(crate) fd: RawFd,
}

// SAFETY: rule 1 of driver/mod.rs holds trivially: the entry holds no pointers.
unsafe impl MultishotOperation for AcceptMulti {
    type Item = io::Result<RawFd>;

    fn build(&mut self) -> Entry {
        opcode::AcceptMulti::new(types::Fd(self.fd))
            .flags(libc::SOCK_CLOEXEC)
            .build()
    }

    fn next(&mut self, result: io::Result<Completion>) -> io::Result<RawFd> {
        result.map(|c| c.result as RawFd)
    }

    fn reclaim(&self) -> Reclaim {
        Reclaim::CloseFd
    }
}

/// Multishot `recv` selecting buffers from a provided-buffer ring.
pub(crate) struct RecvMultiOp {
    pub(crate) fd: RawFd,
    pub(crate) ring: std::sync::Arc<crate::driver::bufring::Shared>,
}

// SAFETY: rule 1 of driver/mod.rs holds trivially: the entry holds no pointers (the kernel
// writes into the registered ring's buffers, kept alive by `ring` — bufring rule 2).
unsafe impl MultishotOperation for RecvMultiOp {
    type Item = io::Result<Option<crate::driver::bufring::RingBuf>>;

    fn build(&mut self) -> Entry {
        opcode::RecvMulti::new(types::Fd(self.fd), self.ring.bgid()).build()
    }

    fn next(&mut self, result: io::Result<Completion>) -> Self::Item {
        let c = result?;
        match io_uring::cqueue::buffer_select(c.flags) {
            None => Ok(None),
            Some(bid) => self
                .ring
                .take(bid, c.result as usize)
                .map(Some)
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "completion named a buffer outside the ring",
                    )
                }),
        }
    }

    fn reclaim(&self) -> Reclaim {
        Reclaim::ProvidedBuffer(self.ring.bgid())
    }
}

/// The connections of one multishot accept, each wrapped by `wrap`. The request re-arms itself
/// when the kernel ends it (after an error, say), so the stream ends only when dropped;
/// dropping it cancels the request and closes connections accepted but not taken.
///
/// After an error that means the process is out of a resource (`EMFILE`, `ENFILE`,
/// `ENOBUFS`, `ENOMEM`) the stream waits [`ACCEPT_BACKOFF`] before accepting again: a pending
/// connection would otherwise fail again at once, and a loop that logs the error and carries on
/// would spin.
///
/// Kernels before 5.19 have no multishot accept; there the stream submits one accept at a
/// time (chosen up front when the ring lacks `IORING_OP_SOCKET`, which arrived in the same
/// release, or on the first `EINVAL`).
pub struct AcceptStream<'a, T> {
    arm: Arm,
    accepted_any: bool,
    fd: RawFd,
    wrap: fn(RawFd) -> T,
    backoff: Option<std::pin::Pin<Box<crate::time::Sleep>>>,
    _listener: std::marker::PhantomData<&'a ()>,
}

/// How long an accept stream pauses after running out of descriptors or memory.
pub const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(50);

enum Arm {
    Multi(crate::driver::Multishot<AcceptMulti>),
    /// One accept at a time; `None` between two.
    Single(Option<crate::driver::Op<NetOp>>),
}

impl<T> AcceptStream<'_, T> {
    pub(crate) fn new(fd: RawFd, wrap: fn(RawFd) -> T) -> Self {
        let arm = if crate::runtime::context::supports(opcode::Socket::CODE) {
            Arm::Multi(crate::driver::Multishot::new(AcceptMulti { fd }))
        } else {
            Arm::Single(None)
        };
        AcceptStream {
            arm,
            accepted_any: false,
            fd,
            wrap,
            backoff: None,
            _listener: std::marker::PhantomData,
        }
    }
}

fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

impl<T> futures::Stream for AcceptStream<'_, T> {
    type Item = io::Result<T>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if let Some(pause) = self.backoff.as_mut() {
            std::task::ready!(std::future::Future::poll(pause.as_mut(), cx));
            self.backoff = None;
        }
        loop {
            let fd = self.fd;
            let next = match &mut self.arm {
                Arm::Multi(multi) => match std::pin::Pin::new(multi).poll_next(cx) {
                    Poll::Ready(Some(Err(e)))
                        if e.raw_os_error() == Some(libc::EINVAL) && !self.accepted_any =>
                    {
                        // No multishot accept in this kernel: one at a time from now on (a
                        // genuine EINVAL, such as a socket not listening, comes back from it).
                        self.arm = Arm::Single(None);
                        continue;
                    }
                    Poll::Ready(Some(r)) => r,
                    Poll::Ready(None) => {
                        // The kernel ended the request (after an error): re-arm.
                        self.arm = Arm::Multi(crate::driver::Multishot::new(AcceptMulti { fd }));
                        continue;
                    }
                    Poll::Pending => return Poll::Pending,
                },
                Arm::Single(slot) => {
                    let op = slot.get_or_insert_with(|| crate::driver::Op::new(NetOp::accept(fd)));
                    let r =
                        std::task::ready!(std::future::Future::poll(std::pin::Pin::new(op), cx));
                    *slot = None;
                    r.map(|out| out.accepted().0)
                }
            };
            match next {
                Ok(fd) => {
                    self.accepted_any = true;
                    return Poll::Ready(Some(Ok((self.wrap)(fd))));
                }
                Err(e) => {
                    if out_of_resources(&e) {
                        self.backoff = Some(Box::pin(crate::time::sleep(ACCEPT_BACKOFF)));
                    }
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

//! `tokio::net::UdpSocket`'s socket options (std's, and `socket2`'s for those std lacks).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use socket2::SockRef;

use super::UdpSocket;

impl UdpSocket {
    fn sock(&self) -> SockRef<'_> {
        SockRef::from(&self.io)
    }

    /// Stands for `UdpSocket::broadcast`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.broadcast()
    }

    /// Stands for `UdpSocket::set_broadcast`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.set_broadcast(on)
    }

    /// Stands for `UdpSocket::multicast_loop_v4`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.multicast_loop_v4()
    }

    /// Stands for `UdpSocket::set_multicast_loop_v4`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.set_multicast_loop_v4(on)
    }

    /// Stands for `UdpSocket::multicast_ttl_v4`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.multicast_ttl_v4()
    }

    /// Stands for `UdpSocket::set_multicast_ttl_v4`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.set_multicast_ttl_v4(ttl)
    }

    /// Stands for `UdpSocket::multicast_loop_v6`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.multicast_loop_v6()
    }

    /// Stands for `UdpSocket::set_multicast_loop_v6`.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.set_multicast_loop_v6(on)
    }

    /// Stands for `UdpSocket::tclass_v6` (`IPV6_TCLASS`).
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.sock().tclass_v6()
    }

    /// Stands for `UdpSocket::set_tclass_v6` (`IPV6_TCLASS`).
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.sock().set_tclass_v6(tclass)
    }

    /// Stands for `UdpSocket::ttl`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.ttl()
    }

    /// Stands for `UdpSocket::set_ttl`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.set_ttl(ttl)
    }

    /// Stands for `UdpSocket::tos_v4` (`IP_TOS`).
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.sock().tos_v4()
    }

    /// Stands for `UdpSocket::tos` (deprecated there: renamed `tos_v4`).
    #[deprecated(
        note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific."
    )]
    #[doc(hidden)]
    pub fn tos(&self) -> io::Result<u32> {
        self.tos_v4()
    }

    /// Stands for `UdpSocket::set_tos_v4` (`IP_TOS`).
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.sock().set_tos_v4(tos)
    }

    /// Stands for `UdpSocket::set_tos` (deprecated there: renamed `set_tos_v4`).
    #[deprecated(
        note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific."
    )]
    #[doc(hidden)]
    pub fn set_tos(&self, tos: u32) -> io::Result<()> {
        self.set_tos_v4(tos)
    }

    /// Stands for `UdpSocket::device` (`SO_BINDTODEVICE`).
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        self.sock().device()
    }

    /// Stands for `UdpSocket::bind_device` (`SO_BINDTODEVICE`; `None` unbinds).
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        self.sock().bind_device(interface)
    }

    /// Stands for `UdpSocket::join_multicast_v4`.
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.join_multicast_v4(&multiaddr, &interface)
    }

    /// Stands for `UdpSocket::join_multicast_v6`.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.join_multicast_v6(multiaddr, interface)
    }

    /// Stands for `UdpSocket::leave_multicast_v4`.
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.leave_multicast_v4(&multiaddr, &interface)
    }

    /// Stands for `UdpSocket::leave_multicast_v6`.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.leave_multicast_v6(multiaddr, interface)
    }

    /// Stands for `UdpSocket::take_error`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }
}

//! UDP over loopback.

mod common;

use std::io::ErrorKind;
use std::net::Ipv4Addr;

use ringolo::net::UdpSocket;

#[test]
fn send_to_recv_from_and_connected_send_recv() {
    common::rt().block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());

        let (n, _) = a.send_to("datagram one", b_addr).await;
        assert_eq!(n.unwrap(), 12);
        let (res, buf) = b.recv_from(Vec::with_capacity(64)).await;
        let (n, from) = res.unwrap();
        assert_eq!((n, from), (12, a_addr));
        assert_eq!(buf, b"datagram one");

        // A datagram longer than the buffer is truncated, the rest discarded.
        a.send_to(vec![9u8; 100], b_addr).await.0.unwrap();
        let (res, buf) = b.recv_from(Vec::with_capacity(10)).await;
        assert_eq!(res.unwrap().0, 10);
        assert_eq!(buf.len(), 10);

        a.connect(b_addr).await.unwrap();
        b.connect(a_addr).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        a.send(b"connected".to_vec()).await.0.unwrap();
        let (n, buf) = b.recv(Vec::with_capacity(32)).await;
        assert_eq!(n.unwrap(), 9);
        assert_eq!(buf, b"connected");

        // Options.
        a.set_broadcast(true).unwrap();
        assert!(a.broadcast().unwrap());
        a.set_ttl(7).unwrap();
        a.set_multicast_loop_v4(true).unwrap();
        a.set_multicast_ttl_v4(2).unwrap();
        let m = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        m.join_multicast_v4(Ipv4Addr::new(239, 1, 2, 3), Ipv4Addr::UNSPECIFIED)
            .unwrap();
        m.leave_multicast_v4(Ipv4Addr::new(239, 1, 2, 3), Ipv4Addr::UNSPECIFIED)
            .unwrap();
    });
}

#[test]
fn errors_are_clear() {
    common::rt().block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let err = UdpSocket::bind(a.local_addr().unwrap()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        // Unconnected send has no destination.
        let (res, _) = a.send("x").await;
        assert!(res.is_err());
        // A connected socket whose peer port is closed reports the ICMP refusal on recv.
        let gone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let gone_addr = gone.local_addr().unwrap();
        drop(gone);
        ringolo::time::sleep(std::time::Duration::from_millis(5)).await;
        a.connect(gone_addr).await.unwrap();
        a.send("ping").await.0.unwrap();
        let (res, _) = a.recv(Vec::with_capacity(8)).await;
        assert_eq!(res.unwrap_err().kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn peek_names_options_and_ipv6_multicast() {
    use std::net::{Ipv6Addr, SocketAddr, SocketAddrV4};
    common::rt().block_on(async {
        let a = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let b = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let b_port = b.local_addr().unwrap().port();

        // send_to takes anything that names an address, host names included (looked up on
        // the blocking pool).
        a.send_to(&b"one"[..], format!("127.0.0.1:{b_port}"))
            .await
            .0
            .unwrap();
        a.send_to(&b"two"[..], ("localhost", b_port))
            .await
            .0
            .unwrap();
        let (res, buf) = a.send_to(&b"x"[..], "no-such-host.invalid:9").await;
        assert!(res.is_err());
        assert_eq!(buf, b"x", "the buffer comes back on a failed lookup");

        // peek_from leaves the datagram queued.
        let (res, peeked) = b.peek_from(Vec::with_capacity(8)).await;
        assert_eq!(res.unwrap(), (3, a.local_addr().unwrap()));
        assert_eq!(peeked, b"one");
        for want in [&b"one"[..], b"two"] {
            let (res, got) = b.recv_from(Vec::with_capacity(8)).await;
            res.unwrap();
            assert_eq!(got, want);
        }

        // Option getters read back what the setters wrote.
        a.set_ttl(9).unwrap();
        assert_eq!(a.ttl().unwrap(), 9);
        a.set_multicast_loop_v4(false).unwrap();
        assert!(!a.multicast_loop_v4().unwrap());
        a.set_multicast_ttl_v4(3).unwrap();
        assert_eq!(a.multicast_ttl_v4().unwrap(), 3);

        // IPv6: loopback datagrams, the multicast loop option, join and leave a group.
        let v6 = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).await.unwrap();
        let v6b = UdpSocket::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, 0)))
            .await
            .unwrap();
        v6.send_to(&b"six"[..], v6b.local_addr().unwrap())
            .await
            .0
            .unwrap();
        let (res, got) = v6b.recv_from(Vec::with_capacity(8)).await;
        assert_eq!(res.unwrap().1, v6.local_addr().unwrap());
        assert_eq!(got, b"six");
        v6.set_multicast_loop_v6(false).unwrap();
        assert!(!v6.multicast_loop_v6().unwrap());
        let any6 = UdpSocket::bind("[::]:0").await.unwrap();
        let group: Ipv6Addr = "ff15::1234".parse().unwrap();
        any6.join_multicast_v6(&group, 0).unwrap();
        any6.leave_multicast_v6(&group, 0).unwrap();
        // Leaving a group not joined is the kernel's error, reported.
        assert!(any6.leave_multicast_v6(&group, 0).is_err());
    });
}

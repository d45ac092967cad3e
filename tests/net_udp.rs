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

//! Multishot recv with a provided-buffer ring: recycling, drop mid-flight, running dry.

mod common;

use std::time::Duration;

use futures::StreamExt;
use ringolo::net::{BufRing, UnixStream};

async fn settle() {
    ringolo::time::sleep(Duration::from_millis(5)).await;
}

#[test]
fn buffers_are_recycled_across_many_messages() {
    common::rt().block_on(async {
        let ring = BufRing::new(4, 64).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let mut stream = b.recv_multi(&ring);
        for i in 0..100u32 {
            let msg = format!("message {i:03}");
            a.write_all(msg.clone()).await.0.unwrap();
            let buf = stream.next().await.unwrap().unwrap();
            assert_eq!(&buf[..], msg.as_bytes());
            assert_eq!(ring.buffers_out(), 1);
        }
        assert_eq!(ring.buffers_out(), 0, "every buffer went back when dropped");
        drop(a);
        assert!(
            stream.next().await.is_none(),
            "end of stream ends the stream"
        );
    });
}

#[test]
fn a_dropped_recv_returns_its_buffers_to_the_ring() {
    common::rt().block_on(async {
        let ring = BufRing::new(4, 64).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let mut stream = b.recv_multi(&ring);
        a.write_all("first").await.0.unwrap();
        drop(stream.next().await.unwrap().unwrap());
        // Three more arrive and sit unread in the stream's queue; then it is dropped.
        for m in ["x", "y", "z"] {
            a.write_all(m).await.0.unwrap();
            settle().await;
        }
        drop(stream);
        settle().await;
        assert_eq!(ring.buffers_out(), 0);
        // All four buffers must be back: hold four at once on a fresh stream.
        let mut stream = b.recv_multi(&ring);
        let mut held = Vec::new();
        for m in ["1", "2", "3", "4"] {
            a.write_all(m).await.0.unwrap();
            held.push(stream.next().await.unwrap().unwrap());
        }
        assert_eq!(ring.buffers_out(), 4);
        let got: Vec<u8> = held.iter().flat_map(|b| b.iter().copied()).collect();
        assert_eq!(got, b"1234");

        // With every buffer held, the next message finds the ring dry.
        a.write_all("5").await.0.unwrap();
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOBUFS));
        drop(held);
        // The same stream re-arms once buffers are back and picks up the waiting data.
        assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"5");
        a.write_all("6").await.0.unwrap();
        assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"6");
    });
}

#[test]
fn a_dry_ring_refilled_before_the_next_poll_rearms_silently() {
    common::rt().block_on(async {
        let ring = BufRing::new(2, 64).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let mut stream = b.recv_multi(&ring);
        a.write_all("1").await.0.unwrap();
        let one = stream.next().await.unwrap().unwrap();
        a.write_all("2").await.0.unwrap();
        let two = stream.next().await.unwrap().unwrap();
        // The third message finds the ring dry and the kernel ends the request while both
        // buffers are held; they come back before the stream sees the error.
        a.write_all("3").await.0.unwrap();
        settle().await;
        drop((one, two));
        assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"3");
        drop(a);
        assert!(stream.next().await.is_none());
        assert_eq!(ring.buffers_out(), 0);
    });
}

#[test]
fn bad_ring_sizes_are_refused() {
    common::rt().block_on(async {
        assert_eq!(
            BufRing::new(3, 64).unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
        assert_eq!(
            BufRing::new(4, 0).unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
        let a = BufRing::new(8, 128).unwrap();
        let b = BufRing::new(8, 128).unwrap();
        assert_ne!(a.bgid(), b.bgid());
    });
    assert!(BufRing::new(4, 64).is_err(), "outside a runtime");
}

#[test]
fn recv_streams_dropped_while_data_pours_in_lose_no_buffer() {
    // A plain thread writes without pause while recv streams are created, read a little and
    // dropped: some drops land while the kernel is picking a buffer for a completion. However
    // the race goes, every buffer must come back to the ring.
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut a = a;
            a.set_nonblocking(true).unwrap();
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                match a.write(&[7u8; 48]) {
                    Ok(n) => sent += n as u64,
                    Err(_) => std::thread::yield_now(), // full: let the reader catch up
                }
            }
            sent
        })
    };
    common::rt().block_on(async {
        let ring = BufRing::new(8, 64).unwrap();
        let b = UnixStream::from_std(b);
        for i in 0..300 {
            let mut stream = b.recv_multi(&ring);
            for _ in 0..i % 4 {
                let next = ringolo::time::timeout(Duration::from_secs(2), stream.next()).await;
                match next.expect("a buffer came back: none was lost") {
                    Some(Ok(buf)) => drop(buf),
                    Some(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                    other => panic!("{other:?}"),
                }
            }
            drop(stream);
            if i % 3 == 0 {
                ringolo::task::yield_now().await;
            }
        }
        settle().await;
        assert_eq!(ring.buffers_out(), 0, "a buffer was lost in a drop race");
        // And all eight can be held at once again.
        let mut stream = b.recv_multi(&ring);
        let mut held = Vec::new();
        while held.len() < 8 {
            let next = ringolo::time::timeout(Duration::from_secs(2), stream.next()).await;
            match next.expect("ring short of buffers").unwrap() {
                Ok(buf) => held.push(buf),
                Err(e) => panic!("ring short of buffers: {e}"),
            }
        }
        assert_eq!(ring.buffers_out(), 8);
        // The writer stops only now: its end closing earlier could end this last stream at
        // EOF before eight buffers came, if the reader had kept up with it.
        stop.store(true, Ordering::Relaxed);
    });
    assert!(writer.join().unwrap() > 0);
}

#[test]
fn a_dry_ring_waits_for_a_buffer_instead_of_spinning() {
    common::rt().block_on(async {
        let ring = BufRing::new(2, 64).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let mut stream = b.recv_multi(&ring);
        let mut held = Vec::new();
        for m in ["1", "2"] {
            a.write_all(m).await.0.unwrap();
            held.push(stream.next().await.unwrap().unwrap());
        }
        a.write_all("3").await.0.unwrap();
        // Every buffer held and data waiting: a loop that ignores the error must not spin.
        let cpu0 = common::cpu_time();
        let end = std::time::Instant::now() + Duration::from_millis(300);
        let mut errors = 0;
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match ringolo::time::timeout(left, stream.next()).await {
                Err(_) => break,
                Ok(Some(Err(e))) if e.raw_os_error() == Some(libc::ENOBUFS) => errors += 1,
                Ok(other) => panic!("{other:?}"),
            }
        }
        let cpu = common::cpu_time() - cpu0;
        assert!((1..=5).contains(&errors), "{errors} ENOBUFS in 300 ms");
        assert!(cpu < Duration::from_millis(60), "{cpu:?} CPU in 300 ms");
        // A buffer handed back from another task wakes the stream at once, not after the
        // 100 ms pause: take a fresh error first, so a whole pause lies ahead.
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOBUFS));
        let give_back = ringolo::spawn(async move {
            ringolo::time::sleep(Duration::from_millis(2)).await;
            drop(held);
        });
        let t0 = std::time::Instant::now();
        let got = loop {
            match stream.next().await.unwrap() {
                Ok(buf) => break buf,
                Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS)),
            }
        };
        assert_eq!(&got[..], b"3");
        assert!(
            t0.elapsed() < Duration::from_millis(70),
            "{:?}",
            t0.elapsed()
        );
        give_back.await.unwrap();
    });
}

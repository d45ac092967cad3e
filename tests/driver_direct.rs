//! Direct descriptors (registered files): I/O through a slot, ring-bound, slots recycled.

mod common;

use std::io::ErrorKind;
use std::os::fd::AsRawFd;

use ringolo::driver::DirectFd;
use ringolo::fs::{File, OpenOptions};

fn scratch(name: &str) -> std::path::PathBuf {
    let p = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("direct-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn reads_and_writes_through_a_slot_outlive_the_fd() {
    let path = scratch("rw");
    common::rt().block_on(async {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .unwrap();
        let direct = DirectFd::register(&file).unwrap();
        // The registration keeps the file open after the descriptor is closed.
        file.close().await.unwrap();
        let (n, _) = direct.write_at(b"direct descriptors".to_vec(), 0).await;
        assert_eq!(n.unwrap(), 18);
        let (n, buf) = direct.read_at(Vec::with_capacity(32), 7).await;
        assert_eq!(n.unwrap(), 11);
        assert_eq!(buf, b"descriptors");
        // Sockets too.
        let (a, b) = ringolo::net::UnixStream::pair().unwrap();
        let da = DirectFd::register(&a).unwrap();
        da.write_at("over a slot", u64::MAX).await.0.unwrap();
        let (res, got) = b.read_exact(Vec::with_capacity(11)).await;
        res.unwrap();
        assert_eq!(got, b"over a slot");
    });
    std::fs::remove_file(path).unwrap();
}

#[test]
fn slots_are_recycled_and_the_table_reports_full() {
    common::rt().block_on(async {
        let f = File::open("/dev/zero").await.unwrap();
        for _ in 0..3000 {
            let d = DirectFd::register(&f).unwrap();
            let (n, _) = d.read_at(Vec::with_capacity(8), 0).await;
            assert_eq!(n.unwrap(), 8);
        }
        let mut held = Vec::new();
        let err = loop {
            match DirectFd::register(&f) {
                Ok(d) => held.push(d),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::OutOfMemory);
        assert_eq!(held.len(), 1024);
        drop(held);
        DirectFd::register(&f).unwrap();
        assert!(f.as_raw_fd() >= 0);
    });
}

#[test]
fn a_direct_descriptor_is_bound_to_its_ring() {
    let rt_a = common::rt();
    let rt_b = common::rt();
    let (file, direct) = rt_a.block_on(async {
        let f = File::open("/dev/zero").await.unwrap();
        let d = DirectFd::register(&f).unwrap();
        (f, d)
    });
    rt_b.block_on(async {
        let (res, _) = direct.read_at(Vec::with_capacity(8), 0).await;
        let err = res.unwrap_err();
        assert!(err.to_string().contains("off the ring"), "{err}");
    });
    rt_a.block_on(async move {
        let (n, _) = direct.read_at(Vec::with_capacity(8), 0).await;
        assert_eq!(n.unwrap(), 8);
        drop(direct);
        drop(file);
    });
    assert!(
        DirectFd::register(&std::fs::File::open("/dev/null").unwrap()).is_err(),
        "outside a runtime"
    );
}

#[test]
fn a_dropped_descriptor_slot_waits_for_its_orphaned_ops() {
    // A read on the slot is dropped while in the kernel, then the descriptor itself: the slot
    // is emptied at once but reused only after the read's final CQE (direct rule 2).
    common::rt().block_on(async {
        let in_use = || {
            ringolo::runtime::driver_stats()
                .unwrap()
                .direct_slots_in_use
        };
        let (r, w) = common::pipe();
        let direct = ringolo::driver::DirectFd::register(&unsafe_borrow(r)).unwrap();
        assert_eq!(in_use(), 1);
        let mut read = Box::pin(direct.read_at(Vec::with_capacity(8), u64::MAX));
        assert!(futures::poll!(read.as_mut()).is_pending());
        ringolo::task::yield_now().await; // the read is in the kernel
        drop(read);
        drop(direct);
        assert_eq!(
            in_use(),
            1,
            "the slot was reused while its read could still run"
        );
        ringolo::time::sleep(std::time::Duration::from_millis(5)).await;
        assert_eq!(
            in_use(),
            0,
            "the slot came back once the read was cancelled"
        );
        common::close(r);
        common::close(w);
    });
}

/// A borrowed view of a raw fd, for `DirectFd::register`.
fn unsafe_borrow(fd: std::os::fd::RawFd) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: the test keeps `fd` open until after the DirectFd is gone.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

//! Owned buffers through real reads and writes: every buffer kind, slices, and the buffer
//! coming back on error.

mod common;

use ringolo::buf::{IoBuf, IoBufMut};
use ringolo::driver::ops::{Read, Write};
use ringolo::Op;

#[test]
fn every_buffer_kind_round_trips_through_a_pipe() {
    let rt = common::rt();
    rt.block_on(async {
        let (r, w) = common::pipe();

        let (n, _) = Op::new(Write::new(w, "static str|", u64::MAX)).await;
        assert_eq!(n.unwrap(), 11);
        let (n, _) = Op::new(Write::new(w, &b"static bytes|"[..], u64::MAX)).await;
        assert_eq!(n.unwrap(), 13);
        let (n, _) = Op::new(Write::new(
            w,
            bytes::Bytes::from_static(b"Bytes|"),
            u64::MAX,
        ))
        .await;
        assert_eq!(n.unwrap(), 6);
        let boxed: Box<[u8]> = b"boxed|".to_vec().into_boxed_slice();
        let (n, _) = Op::new(Write::new(w, boxed, u64::MAX)).await;
        assert_eq!(n.unwrap(), 6);
        // Only the slice's bytes are written.
        let (n, back) = Op::new(Write::new(w, b"--slice--".to_vec().slice(2..7), u64::MAX)).await;
        assert_eq!(n.unwrap(), 5);
        assert_eq!(back.into_inner(), b"--slice--");

        // Read into a BytesMut's spare capacity.
        let (n, got) = Op::new(Read::new(r, bytes::BytesMut::with_capacity(11), u64::MAX)).await;
        assert_eq!(n.unwrap(), 11);
        assert_eq!(&got[..], b"static str|");

        // Read into a window of a Vec: the bytes land at the window, the Vec's length follows.
        let mut v = Vec::with_capacity(32);
        v.extend_from_slice(b"head:");
        let (n, s) = Op::new(Read::new(r, v.slice(5..18), u64::MAX)).await;
        assert_eq!(n.unwrap(), 13);
        let v = s.into_inner();
        assert_eq!(v, b"head:static bytes|");

        // A Vec read appends to what it already holds.
        let (n, v) = Op::new(Read::new(r, v, u64::MAX)).await;
        let n = n.unwrap();
        assert!(n > 0);
        assert!(
            v.starts_with(b"head:static bytes|Bytes|"),
            "{:?}",
            String::from_utf8_lossy(&v)
        );

        // A full buffer reads nothing; a zero-capacity read is a valid zero-length op.
        let full = vec![0u8; 4];
        assert_eq!(full.bytes_init(), full.bytes_total());
        let (n, full) = Op::new(Read::new(r, full, u64::MAX)).await;
        assert_eq!(n.unwrap(), 0);
        assert_eq!(full.len(), 4);

        common::close(r);
        common::close(w);
    });
}

#[test]
fn the_buffer_comes_back_on_error() {
    let rt = common::rt();
    rt.block_on(async {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(b"keep me");
        let (res, buf) = Op::new(Read::new(-1, buf, u64::MAX)).await;
        assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::EBADF));
        assert_eq!(buf, b"keep me");
        let (res, buf) = Op::new(Write::new(-1, buf, u64::MAX)).await;
        assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::EBADF));
        assert_eq!(buf, b"keep me");
    });
}

#[test]
fn slice_set_init_does_not_claim_a_gap() {
    // A window starting past the Vec's initialised length: bytes read there must not make the
    // uninitialised gap before it count as initialised.
    let mut s = Vec::<u8>::with_capacity(16).slice(8..16);
    // SAFETY: writing 4 bytes into the window, then declaring them.
    unsafe {
        s.stable_mut_ptr()
            .copy_from_nonoverlapping(b"abcd".as_ptr(), 4);
        s.set_init(4);
    }
    assert_eq!(s.into_inner().len(), 0);
}

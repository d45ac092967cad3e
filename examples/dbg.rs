use std::time::Duration;
use ringolo::driver::ops::Read;
use ringolo::Op;
use std::future::Future;
use std::pin::Pin;
use std::task::Context;
fn main() {
    let n: u32 = std::env::args().nth(1).unwrap().parse().unwrap();
    let yield_every: u32 = std::env::args().nth(2).unwrap().parse().unwrap();
    let rt = ringolo::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let mut fds = [0; 2];
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
        let (r, w) = (fds[0], fds[1]);
        for i in 0..n {
            let mut op = Op::new(Read::new(r, Vec::with_capacity(1 << (i % 12)), u64::MAX));
            let waker = futures::task::noop_waker();
            assert!(Pin::new(&mut op).poll(&mut Context::from_waker(&waker)).is_pending());
            if yield_every > 0 && i % yield_every == 0 { ringolo::task::yield_now().await; }
            drop(op);
        }
        ringolo::time::sleep(Duration::from_millis(20)).await;
        eprintln!("before write {:?}", ringolo::runtime::driver_stats());
        unsafe { libc::write(w, b"0123456789".as_ptr().cast(), 10) };
        ringolo::time::sleep(Duration::from_millis(20)).await;
        eprintln!("after write {:?}", ringolo::runtime::driver_stats());
        let res = ringolo::time::timeout(Duration::from_millis(200), Op::new(Read::new(r, Vec::with_capacity(64), u64::MAX))).await;
        eprintln!("{:?}", res.map(|(n, b)| (n.ok(), String::from_utf8_lossy(&b).to_string())));
    });
}

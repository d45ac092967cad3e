//! compat's I/O half on the real kernel: files, AsyncFd, signals, child processes — the
//! drop and cancel paths as much as the happy ones.

use std::io::{self, Write as _};
use std::time::Duration;

use ringolo::compat as tokio;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ringolo-compat-io-{}-{name}", std::process::id()))
}

#[tokio::test]
async fn file_write_behind_survives_drop() {
    let path = tmp("drop");
    let mut f = tokio::fs::File::create(&path).await.unwrap();
    f.write_all(&vec![7u8; 1 << 20]).await.unwrap();
    // Reported written (buffered), then dropped with the write in flight.
    drop(f);
    let mut len = 0;
    for _ in 0..200 {
        len = std::fs::metadata(&path).unwrap().len();
        if len == 1 << 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(len, 1 << 20, "the pending write was lost");
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn file_read_cancelled_loses_no_byte() {
    let path = tmp("cancel");
    std::fs::write(&path, (0..=255u8).cycle().take(100_000).collect::<Vec<_>>()).unwrap();
    let mut f = tokio::fs::File::open(&path).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 777];
    loop {
        // Poll each read once and drop it half the time: the bytes the ring delivered for a
        // dropped read come back from the next one.
        let n = {
            let read = f.read(&mut buf);
            tokio::pin!(read);
            match futures::poll!(read.as_mut()) {
                std::task::Poll::Ready(r) => Some(r.unwrap()),
                std::task::Poll::Pending if got.len() % 2 == 0 => None,
                std::task::Poll::Pending => Some(read.await.unwrap()),
            }
        };
        match n {
            Some(0) => break,
            Some(n) => got.extend_from_slice(&buf[..n]),
            None => tokio::task::yield_now().await,
        }
    }
    assert_eq!(got, std::fs::read(&path).unwrap());
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn file_seek_while_busy_and_errors() {
    let path = tmp("seek");
    let mut f = tokio::fs::File::create(&path).await.unwrap();
    f.write_all(b"hello world").await.unwrap();
    assert_eq!(f.seek(io::SeekFrom::Current(-5)).await.unwrap(), 6);
    f.write_all(b"WORLD").await.unwrap();
    f.flush().await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"hello WORLD");
    // Bad input is an error, not a panic.
    let err = tokio::fs::File::open(tmp("missing/nope"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let err = tokio::fs::File::open("bad\0path").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn async_fd_refuses_unpollable_and_sees_readiness() {
    let file = std::fs::File::open("/proc/self/status").unwrap();
    // SAFETY: the file is open and owned by the value registered.
    let err = unsafe { tokio::io::unix::AsyncFd::register(file) }.unwrap_err();
    let (_file, cause) = err.into_parts();
    assert_eq!(cause.raw_os_error(), Some(libc::EPERM));

    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    // SAFETY: as above.
    let afd = unsafe { tokio::io::unix::AsyncFd::register(a) }.unwrap();
    let pending = tokio::time::timeout(Duration::from_millis(20), afd.readable()).await;
    assert!(pending.is_err(), "readable with nothing to read");
    b.write_all(b"x").unwrap();
    let mut guard = afd.readable().await.unwrap();
    assert!(guard.ready().is_readable());
    let mut byte = [0u8; 1];
    let n = guard
        .try_io(|fd| io::Read::read(&mut fd.get_ref(), &mut byte))
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn signal_reaches_every_listener() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut a = signal(SignalKind::user_defined2()).unwrap();
    let mut b = signal(SignalKind::user_defined2()).unwrap();
    assert!(signal(SignalKind::from_raw(libc::SIGKILL)).is_err());
    // SAFETY: kill(2) on our own pid with a signal both listeners handle.
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) }, 0);
    let both = async { (a.recv().await, b.recv().await) };
    let (x, y) = tokio::time::timeout(Duration::from_secs(5), both)
        .await
        .unwrap();
    assert_eq!((x, y), (Some(()), Some(())));
}

#[tokio::test]
async fn child_output_kill_and_missing_program() {
    let out = tokio::process::Command::new("sh")
        .args(["-c", "echo out; echo err >&2; exit 3"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status.code(), Some(3));

    let mut child = tokio::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    child.kill().await.unwrap();
    assert!(child.id().is_none());

    let err = tokio::process::Command::new("/nonexistent/program")
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

//! Bad input on `compat::fs`: each failing call returns the `io::Error` Tokio returns for the
//! same call (run on real Tokio too, `common/like_tokio.rs`), and a file deleted while open
//! keeps working and is closed when dropped. No panic, no leaked descriptor, and the runtime
//! runs tasks afterwards.

mod common;
#[path = "common/like_tokio.rs"]
mod like_tokio;

use std::io::{ErrorKind, SeekFrom};
use std::path::Path;
use std::time::Duration;

use like_tokio::{failure, fd_lock, kind_of, like_tokio, os, tmp, user};

#[test]
fn file_system_errors_are_tokio_s() {
    let _lock = fd_lock();
    let dir = tmp("fs-errors");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let binary = dir.join("binary");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    let missing = dir.join("missing");
    let in_missing = missing.join("file");
    let long_name = dir.join("n".repeat(300));
    let nul = Path::new("bad\0path");
    let got = like_tokio!(|tokio| {
        use tokio::fs::{self, File, OpenOptions};
        use tokio::io::AsyncReadExt;
        let mut write = OpenOptions::new();
        write.write(true);
        let mut new = OpenOptions::new();
        new.write(true).create_new(true);
        let mut read_dir_as_file = File::open(&dir).await.unwrap();
        let mut buf = [0u8; 8];
        vec![
            ("open missing", failure(&File::open(&missing).await)),
            (
                "create in missing dir",
                failure(&File::create(&in_missing).await),
            ),
            ("open dir for writing", failure(&write.open(&dir).await)),
            ("create over a dir", failure(&File::create(&dir).await)),
            (
                "read a dir",
                failure(&read_dir_as_file.read(&mut buf).await),
            ),
            ("create_new existing", failure(&new.open(&file).await)),
            ("through a file", failure(&File::open(file.join("x")).await)),
            ("name too long", failure(&File::open(&long_name).await)),
            ("read_dir on a file", failure(&fs::read_dir(&file).await)),
            ("remove_dir non-empty", failure(&fs::remove_dir(&dir).await)),
            (
                "remove_file on a dir",
                failure(&fs::remove_file(&dir).await),
            ),
            ("create_dir existing", failure(&fs::create_dir(&dir).await)),
            (
                "rename into missing dir",
                failure(&fs::rename(&file, &in_missing).await),
            ),
            (
                "rename missing",
                failure(&fs::rename(&missing, &in_missing).await),
            ),
            (
                "read_to_string binary",
                failure(&fs::read_to_string(&binary).await),
            ),
            ("open NUL", failure(&File::open(nul).await)),
            ("create NUL", failure(&File::create(nul).await)),
            ("options NUL", failure(&write.open(nul).await)),
            ("metadata NUL", failure(&fs::metadata(nul).await)),
            ("read_dir NUL", failure(&fs::read_dir(nul).await)),
            ("remove_file NUL", failure(&fs::remove_file(nul).await)),
            ("rename NUL", failure(&fs::rename(&file, nul).await)),
            (
                "unix bind NUL",
                failure(&tokio::net::UnixListener::bind(nul)),
            ),
            (
                "unix connect NUL",
                failure(&tokio::net::UnixStream::connect(nul).await),
            ),
        ]
    });
    let nul = user(ErrorKind::InvalidInput);
    assert_eq!(
        got,
        vec![
            ("open missing", os(libc::ENOENT)),
            ("create in missing dir", os(libc::ENOENT)),
            ("open dir for writing", os(libc::EISDIR)),
            ("create over a dir", os(libc::EISDIR)),
            ("read a dir", os(libc::EISDIR)),
            ("create_new existing", os(libc::EEXIST)),
            ("through a file", os(libc::ENOTDIR)),
            ("name too long", os(libc::ENAMETOOLONG)),
            ("read_dir on a file", os(libc::ENOTDIR)),
            ("remove_dir non-empty", os(libc::ENOTEMPTY)),
            ("remove_file on a dir", os(libc::EISDIR)),
            ("create_dir existing", os(libc::EEXIST)),
            ("rename into missing dir", os(libc::ENOENT)),
            ("rename missing", os(libc::ENOENT)),
            ("read_to_string binary", user(ErrorKind::InvalidData)),
            ("open NUL", nul),
            ("create NUL", nul),
            ("options NUL", nul),
            ("metadata NUL", nul),
            ("read_dir NUL", nul),
            ("remove_file NUL", nul),
            ("rename NUL", nul),
            ("unix bind NUL", nul),
            ("unix connect NUL", nul),
        ]
    );
    // The kinds this Rust gives those errnos, as the issue names them.
    let kind = |label| kind_of(&got, label);
    assert_eq!(kind("open missing"), ErrorKind::NotFound);
    assert_eq!(kind("open dir for writing"), ErrorKind::IsADirectory);
    assert_eq!(kind("read_dir on a file"), ErrorKind::NotADirectory);
    assert_eq!(kind("remove_dir non-empty"), ErrorKind::DirectoryNotEmpty);
    assert_eq!(kind("rename into missing dir"), ErrorKind::NotFound);
    assert_eq!(kind("create_new existing"), ErrorKind::AlreadyExists);
    assert_eq!(kind("name too long"), ErrorKind::InvalidFilename);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// How many of our descriptors are open on `path`'s unlinked inode.
fn open_on_deleted(path: &Path) -> usize {
    let target = format!("{} (deleted)", path.display());
    like_tokio::fd_targets()
        .iter()
        .filter(|t| **t == target)
        .count()
}

#[test]
fn a_file_deleted_while_open_still_works_and_closes_on_drop() {
    use std::os::unix::fs::MetadataExt;
    let _lock = fd_lock();
    let path = tmp("deleted-while-open");
    let got = like_tokio!(|tokio| {
        use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
        std::fs::write(&path, b"hello").unwrap();
        let mut f = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        tokio::fs::remove_file(&path).await.unwrap();
        let by_path = failure(&tokio::fs::metadata(&path).await);
        let reopen = failure(&tokio::fs::File::open(&path).await);

        let mut first = Vec::new();
        f.read_to_end(&mut first).await.unwrap();
        f.write_all(b", unlinked world").await.unwrap();
        f.flush().await.unwrap();
        f.seek(SeekFrom::Start(0)).await.unwrap();
        let mut all = String::new();
        f.read_to_string(&mut all).await.unwrap();
        let meta = f.metadata().await.unwrap();
        f.set_len(5).await.unwrap();
        let shrunk = f.metadata().await.unwrap().len();

        let open_before_drop = open_on_deleted(&path);
        drop(f);
        let mut waited = Duration::ZERO;
        while open_on_deleted(&path) > 0 {
            assert!(
                waited < Duration::from_secs(5),
                "the dropped file stays open"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
            waited += Duration::from_millis(2);
        }
        (
            by_path,
            reopen,
            first,
            all,
            (meta.len(), meta.nlink()),
            shrunk,
            open_before_drop,
        )
    });
    assert_eq!(
        got,
        (
            os(libc::ENOENT),
            os(libc::ENOENT),
            b"hello".to_vec(),
            "hello, unlinked world".to_string(),
            (21, 0),
            5,
            1,
        )
    );
}

#[test]
fn wrong_mode_and_bad_seek_errors_are_tokio_s() {
    let _lock = fd_lock();
    let path = tmp("modes");
    std::fs::write(&path, b"0123456789").unwrap();
    let got = like_tokio!(|tokio| {
        use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
        let mut read_only = tokio::fs::File::open(&path).await.unwrap();
        // A write is accepted into the file's buffer (Tokio's write-behind); the kernel's
        // refusal comes back from the flush.
        let write = read_only.write_all(b"x").await;
        let flush = read_only.flush().await;
        let set_len = read_only.set_len(0).await;
        let before_start = read_only.seek(SeekFrom::Current(-100)).await;
        let mut read = Vec::new();
        let still_reads = read_only.read_to_end(&mut read).await.map(|_| read);

        let mut write_only = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .await
            .unwrap();
        let mut buf = [0u8; 4];
        let read_write_only = write_only.read(&mut buf).await;
        vec![
            ("write read-only", failure(&write)),
            ("flush read-only", failure(&flush)),
            ("set_len read-only", failure(&set_len)),
            ("seek before start", failure(&before_start)),
            ("read after errors", failure(&still_reads)),
            ("read write-only", failure(&read_write_only)),
        ]
    });
    assert_eq!(
        got,
        vec![
            ("write read-only", None),
            ("flush read-only", os(libc::EBADF)),
            ("set_len read-only", os(libc::EINVAL)),
            ("seek before start", os(libc::EINVAL)),
            ("read after errors", None),
            ("read write-only", os(libc::EBADF)),
        ]
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"0123456789");
    std::fs::remove_file(&path).unwrap();
}

//! Files and directories through io_uring, in a scratch directory on the build's disk.

mod common;

use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use ringolo::buf::IoBuf;
use ringolo::fs::{self, File, OpenOptions};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fs_files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn write_read_round_trips() {
    let dir = scratch("rw");
    common::rt().block_on(async {
        let p = dir.join("a.bin");
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        fs::write(&p, data.clone()).await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), data);
        assert_eq!(fs::metadata(&p).await.unwrap().len(), 1_000_000);

        // Positional reads fill the spare capacity only.
        let f = File::open(&p).await.unwrap();
        let (n, buf) = f.read_at(Vec::with_capacity(10), 5).await;
        assert_eq!(n.unwrap(), 10);
        assert_eq!(buf, &data[5..15]);
        let (n, _) = f.read_at(Vec::with_capacity(10), 2_000_000).await;
        assert_eq!(n.unwrap(), 0, "reading past the end gives 0");
        f.close().await.unwrap();

        // Cursor writes and reads.
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join("c"))
            .await
            .unwrap();
        f.write_all(b"hello ".to_vec()).await.0.unwrap();
        f.write_all("world").await.0.unwrap();
        let (n, buf) = f.read_at(Vec::with_capacity(32), 0).await;
        assert_eq!(n.unwrap(), 11);
        assert_eq!(buf, b"hello world");
        let mut r = File::open(dir.join("c")).await.unwrap();
        let (n, all) = r.read_to_end(b"prefix:".to_vec()).await;
        assert_eq!(n.unwrap(), 11);
        assert_eq!(all, b"prefix:hello world");
        assert_eq!(
            fs::read_to_string(dir.join("c")).await.unwrap(),
            "hello world"
        );
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn open_options_behave_like_std() {
    let dir = scratch("opts");
    common::rt().block_on(async {
        let p = dir.join("f");
        let err = File::open(&p).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        fs::write(&p, b"12345".to_vec()).await.unwrap();
        let err = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        let err = OpenOptions::new().open(&p).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = OpenOptions::new()
            .read(true)
            .create(true)
            .open(&p)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);

        let mut a = OpenOptions::new().append(true).open(&p).await.unwrap();
        a.write_all(b"678".to_vec()).await.0.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), b"12345678");
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)
            .await
            .unwrap();
        assert!(fs::metadata(&p).await.unwrap().is_empty());

        // O_DIRECT through custom_flags, with an aligned buffer length and offset.
        let d = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .custom_flags(libc::O_DIRECT)
            .open(dir.join("direct"))
            .await;
        match d {
            Ok(d) => {
                let mut block = vec![0u8; 8192];
                let off =
                    (block.as_ptr() as usize).next_multiple_of(4096) - block.as_ptr() as usize;
                block.iter_mut().for_each(|b| *b = 0xab);
                let aligned = block.slice(off..off + 4096);
                let (res, _) = d.write_at(aligned, 0).await;
                // Aligned O_DIRECT writes succeed where the file system supports them.
                if let Err(e) = res {
                    assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}");
                }
            }
            Err(e) => assert_eq!(
                e.raw_os_error(),
                Some(libc::EINVAL),
                "O_DIRECT unsupported here: {e}"
            ),
        }
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn metadata_len_sync_and_permissions() {
    let dir = scratch("meta");
    common::rt().block_on(async {
        let p = dir.join("m");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&p)
            .await
            .unwrap();
        f.write_all_at(vec![1u8; 100], 0).await.0.unwrap();
        f.sync_data().await.unwrap();
        f.set_len(40).await.unwrap();
        f.sync_all().await.unwrap();
        let m = f.metadata().await.unwrap();
        assert_eq!(m.len(), 40);
        assert!(m.is_file() && !m.is_dir());
        assert!(m.modified().is_ok());
        f.set_len(5000).await.unwrap();
        assert_eq!(fs::metadata(&p).await.unwrap().len(), 5000);
        f.set_permissions(std::fs::Permissions::from_mode(0o640))
            .await
            .unwrap();
        assert_eq!(
            fs::metadata(&p).await.unwrap().permissions().mode() & 0o777,
            0o640
        );
        f.allocate(0, 65536, 0).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 65536);
        assert!(fs::metadata(&dir).await.unwrap().is_dir());
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn directories_links_and_renames() {
    let dir = scratch("dirs");
    common::rt().block_on(async {
        let nested = dir.join("a/b/c");
        fs::create_dir_all(&nested).await.unwrap();
        fs::create_dir_all(&nested).await.unwrap(); // idempotent
        assert!(fs::metadata(&nested).await.unwrap().is_dir());
        let err = fs::create_dir(&nested).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);

        let f = nested.join("file.txt");
        fs::write(&f, "data").await.unwrap();
        let err = fs::remove_dir(dir.join("a/b")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DirectoryNotEmpty);
        // An empty directory goes; a file is not a directory.
        fs::create_dir(dir.join("empty")).await.unwrap();
        fs::remove_dir(dir.join("empty")).await.unwrap();
        assert!(!fs::try_exists(dir.join("empty")).await.unwrap());
        assert_eq!(
            fs::remove_dir(&f).await.unwrap_err().kind(),
            ErrorKind::NotADirectory
        );

        fs::hard_link(&f, dir.join("hard")).await.unwrap();
        assert_eq!(fs::metadata(&f).await.unwrap().nlink(), 2);
        fs::symlink(&f, dir.join("soft")).await.unwrap();
        assert_eq!(fs::read_link(dir.join("soft")).await.unwrap(), f);
        assert!(fs::symlink_metadata(dir.join("soft"))
            .await
            .unwrap()
            .is_symlink());
        assert!(fs::metadata(dir.join("soft")).await.unwrap().is_file());
        assert_eq!(
            fs::canonicalize(dir.join("soft")).await.unwrap(),
            std::fs::canonicalize(&f).unwrap()
        );

        fs::rename(dir.join("hard"), dir.join("renamed"))
            .await
            .unwrap();
        assert!(!fs::try_exists(dir.join("hard")).await.unwrap());
        assert!(fs::try_exists(dir.join("renamed")).await.unwrap());

        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(fs::copy(&f, dir.join("copy")).await.unwrap(), 4);
        assert_eq!(fs::read(dir.join("copy")).await.unwrap(), b"data");
        assert_eq!(
            fs::metadata(dir.join("copy"))
                .await
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );

        let mut names = Vec::new();
        let mut rd = fs::read_dir(&dir).await.unwrap();
        while let Some(e) = rd.next_entry().await.unwrap() {
            let kind = e.file_type().await.unwrap();
            names.push((
                e.file_name().into_string().unwrap(),
                kind.is_dir(),
                kind.is_symlink(),
            ));
        }
        names.sort();
        assert_eq!(
            names,
            vec![
                ("a".into(), true, false),
                ("copy".into(), false, false),
                ("renamed".into(), false, false),
                ("soft".into(), false, true),
            ]
        );

        fs::remove_file(dir.join("soft")).await.unwrap();
        fs::remove_dir_all(dir.join("a")).await.unwrap();
        assert!(!fs::try_exists(dir.join("a")).await.unwrap());
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_paths_are_refused_before_any_syscall() {
    common::rt().block_on(async {
        let bad = "has\0nul";
        let before = ringolo::runtime::driver_stats().unwrap().sqes_pushed;
        for err in [
            File::open(bad).await.unwrap_err(),
            fs::metadata(bad).await.unwrap_err(),
            fs::create_dir_all(bad).await.unwrap_err(),
            fs::remove_file(bad).await.unwrap_err(),
            fs::rename(bad, "x").await.unwrap_err(),
            fs::read_dir(bad).await.unwrap_err(),
            fs::canonicalize(bad).await.unwrap_err(),
            fs::write(bad, "x").await.unwrap_err(),
            fs::read(bad).await.unwrap_err(),
            fs::read_to_string(bad).await.unwrap_err(),
            fs::copy("Cargo.toml", bad).await.unwrap_err(),
            fs::copy(bad, "x").await.unwrap_err(),
            fs::create_dir(bad).await.unwrap_err(),
            fs::remove_dir(bad).await.unwrap_err(),
            fs::remove_dir_all(bad).await.unwrap_err(),
            fs::rename("x", bad).await.unwrap_err(),
            fs::hard_link(bad, "x").await.unwrap_err(),
            fs::hard_link("x", bad).await.unwrap_err(),
            fs::symlink(bad, "x").await.unwrap_err(),
            fs::symlink("x", bad).await.unwrap_err(),
            fs::read_link(bad).await.unwrap_err(),
            fs::symlink_metadata(bad).await.unwrap_err(),
            fs::try_exists(bad).await.unwrap_err(),
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .open(bad)
                .await
                .unwrap_err(),
            ringolo::net::UnixListener::bind(bad).await.unwrap_err(),
            ringolo::net::UnixStream::connect(bad).await.unwrap_err(),
            ringolo::net::UnixDatagram::bind(bad).await.unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains("NUL"), "{err}");
        }
        assert_eq!(
            ringolo::runtime::driver_stats().unwrap().sqes_pushed,
            before,
            "no SQE for a bad path"
        );
        let err = fs::read("/definitely/not/here").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(
            fs::read_to_string("/proc/self/exe")
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidData
        );
    });
}

#[test]
fn running_out_of_fds_is_an_error_and_the_runtime_carries_on() {
    // In a child process, so the lowered limit touches no other test.
    if std::env::var_os("RINGOLO_CHILD_EMFILE").is_some() {
        let rt = common::rt();
        rt.block_on(async {
            let lim = libc::rlimit {
                rlim_cur: (common::open_fds() + 8) as _,
                rlim_max: 4096,
            };
            // SAFETY: setrlimit with a valid struct.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
            let mut files = Vec::new();
            let err = loop {
                match File::open("/dev/null").await {
                    Ok(f) => files.push(f),
                    Err(e) => break e,
                }
            };
            assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
            drop(files);
            ringolo::time::sleep(std::time::Duration::from_millis(5)).await;
            // Descriptors are back and the runtime works.
            File::open("/dev/null").await.unwrap();
            ringolo::driver::Op::new(ringolo::driver::ops::Nop)
                .await
                .unwrap();
        });
        return;
    }
    common::assert_passes_in_child(
        "running_out_of_fds_is_an_error_and_the_runtime_carries_on",
        "RINGOLO_CHILD_EMFILE",
    );
}

/// `read`, `write` and `write_all` "at the file position" on an `O_DIRECT` file: each moves
/// the position (a cursor op that completes asynchronously, as direct I/O does, leaves the
/// kernel's position unmoved, so the file moves it by hand).
#[test]
fn cursor_reads_and_writes_on_an_o_direct_file_move_the_position() {
    use ringolo::buf::AlignedBuf;
    const BLOCK: usize = 4096;
    let dir = scratch("direct");
    let path = dir.join("f");
    let data: Vec<u8> = (0..4 * BLOCK).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let rt = ringolo::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut o = OpenOptions::new();
        o.read(true).write(true).custom_flags(libc::O_DIRECT);
        let mut f = o
            .open(&path)
            .await
            .expect("O_DIRECT open on the build's disk");
        for block in 0..2 {
            let (n, buf) = f.read(AlignedBuf::with_capacity(BLOCK, BLOCK)).await;
            assert_eq!(n.unwrap(), BLOCK);
            assert!(
                buf.as_slice() == &data[block * BLOCK..(block + 1) * BLOCK],
                "block {block}"
            );
        }
        // The position is now 2 blocks in: the writes go to blocks 2 and 3.
        let mut ones = AlignedBuf::with_capacity(BLOCK, BLOCK);
        ones.extend_from_slice(&[1u8; BLOCK]);
        let (n, _) = f.write(ones).await;
        assert_eq!(n.unwrap(), BLOCK);
        let mut twos = AlignedBuf::with_capacity(BLOCK, BLOCK);
        twos.extend_from_slice(&[2u8; BLOCK]);
        let (res, _) = f.write_all(twos).await;
        res.unwrap();
        f.close().await.unwrap();
    });
    let all = std::fs::read(&path).unwrap();
    assert!(all[..2 * BLOCK] == data[..2 * BLOCK]);
    assert!(all[2 * BLOCK..3 * BLOCK].iter().all(|&b| b == 1));
    assert!(all[3 * BLOCK..].iter().all(|&b| b == 2));
    std::fs::remove_dir_all(&dir).unwrap();
}

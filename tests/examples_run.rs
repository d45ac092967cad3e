//! The examples build with the tests; run them as a user would.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/<name>
    let mut p = std::env::current_exe().unwrap();
    p.pop();
    p.pop();
    p.push("examples");
    p.push(name);
    assert!(p.exists(), "example {name} not built at {}", p.display());
    p
}

#[test]
fn demo_runs() {
    let out = Command::new(example("demo")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "joined: [0, 1, 4, 9]",
        "\"hello, ring\"",
        "all ok = true",
        "5 ticks",
        "2000 tasks by worker: {Some(0)",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

#[test]
fn echo_demo_runs() {
    let out = Command::new(example("echo"))
        .arg("--demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("sent \"ringolo\", got \"ringolo\""),
        "{stdout}"
    );
}

#[test]
fn cp_copies_a_file_exactly() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("src");
    let dst = dir.join("dst");
    // 9.5 MiB: more than one batch round, with a partial last chunk.
    let data: Vec<u8> = (0..(9 << 20) + (1 << 19))
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&src, &data).unwrap();
    let out = Command::new(example("cp"))
        .arg(&src)
        .arg(&dst)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&dst).unwrap() == data, "copy differs");
    let out = Command::new(example("cp"))
        .arg(dir.join("missing"))
        .arg(&dst)
        .output()
        .unwrap();
    assert!(!out.status.success(), "copying a missing file must fail");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn from_tokio_example_runs() {
    let out = Command::new(example("from_tokio")).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("echoed \"hello\""), "{stdout}");
}

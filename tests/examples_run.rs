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

/// Run 50 times: a fresh process's workers race its first tasks, and a readiness poll task
/// that finished before its handle was first polled used to lose the listener's readiness
/// (the accept then waited for ever; 1 run in 20 to 1 in 100 timed out here, with load).
#[test]
fn from_tokio_example_runs() {
    for run in 0..50 {
        let out = Command::new(example("from_tokio")).output().unwrap();
        assert!(
            out.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("echoed \"hello\""), "{stdout}");
    }
}

/// Runs `name --demo`, asserts success, returns its stdout.
fn demo_output(name: &str) -> String {
    let out = Command::new(example(name)).arg("--demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn chat_clients_see_each_other_s_lines() {
    let stdout = demo_output("chat");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "alice saw: bob has joined the chat",
            "bob saw: alice: hello bob",
            "alice saw: bob: hi alice",
            "alice saw: bob has left the chat",
        ],
        "{stdout}"
    );
}

#[test]
fn proxy_round_trips_bytes_to_an_echo_server() {
    let stdout = demo_output("proxy");
    for needle in [
        "sent 1048576 bytes, got 1048576 bytes back, equal: true",
        "proxy copied 1048576 bytes up, 1048576 bytes down",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

#[cfg(feature = "hyper")]
#[test]
fn hyper_server_answers_http1_and_http2_clients() {
    let stdout = demo_output("hyper_server_client");
    for needle in [
        "http1 client got HTTP/1.1 200 OK: \"hello over HTTP/1.1, 4 bytes received\"",
        "http2 client got HTTP/2.0 200 OK: \"hello over HTTP/2.0, 11 bytes received\"",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

#[cfg(feature = "axum")]
#[test]
fn axum_app_serves_json_state_connect_info_and_shuts_down_gracefully() {
    let stdout = demo_output("axum_app");
    for needle in [
        "GET / -> 200 OK \"hello from axum\"",
        "POST /count {\"by\":2} -> 200 OK {\"count\":2}",
        "POST /count {\"by\":3} -> 200 OK {\"count\":5}",
        "GET /whoami -> 200 OK {\"addr\":\"127.0.0.1:",
        "same: true",
        "server still running while /slow is in flight: true",
        "in-flight GET /slow -> 200 OK \"slow done\"",
        "server returned Ok(())",
        "a new connection after shutdown: ConnectionRefused",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

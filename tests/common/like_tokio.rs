//! "compat returns what Tokio returns": [`like_tokio!`] runs one async body on the real Tokio
//! runtime and then on both compat flavours, asserts that compat's outcome is Tokio's, that
//! each compat runtime still runs a task afterwards, and that no descriptor was left open.
//! The caller then asserts Tokio's outcome against the kinds it expects, so a test fails both
//! when compat strays from Tokio and when the two agree on something unexpected.
//!
//! Descriptors are counted in `/proc/self/fd`, which every test of the binary changes: each
//! test takes [`fd_lock`] first, before it opens anything.

#![allow(dead_code, unused_macros, unused_imports)]

use std::io;
use std::sync::{Mutex, MutexGuard};

static FD_LOCK: Mutex<()> = Mutex::new(());

/// Held for a whole test: no other test of the binary opens a descriptor meanwhile.
pub fn fd_lock() -> MutexGuard<'static, ()> {
    let guard = FD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // What a process keeps once it has run a compat runtime (the Tokio bridge's runtime, when
    // the `tokio-bridge` feature is on, as under `cargo test --workspace`) is not a leak.
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        for (_, rt) in compat_flavors() {
            rt.block_on(async {});
        }
    });
    guard
}

/// An error as its caller sees it: the kind, and the errno when the kernel made it.
pub type Failure = (io::ErrorKind, Option<i32>);

/// `None` for success, else the error's [`Failure`].
pub fn failure<T>(r: &io::Result<T>) -> Option<Failure> {
    r.as_ref().err().map(|e| (e.kind(), e.raw_os_error()))
}

/// The kernel's error `errno`, as std classifies it.
pub fn os(errno: i32) -> Option<Failure> {
    let e = io::Error::from_raw_os_error(errno);
    Some((e.kind(), Some(errno)))
}

/// The kind of the error labelled `label` in a list of labelled outcomes.
pub fn kind_of(got: &[(&str, Option<Failure>)], label: &str) -> io::ErrorKind {
    let outcome = got
        .iter()
        .find(|(l, _)| *l == label)
        .expect("no such label");
    outcome.1.expect("that call succeeded").0
}

/// An error made in userspace (no errno) of this kind.
pub fn user(kind: io::ErrorKind) -> Option<Failure> {
    Some((kind, None))
}

pub fn real_tokio() -> ::tokio::runtime::Runtime {
    ::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// compat's two flavours, named for assertion messages.
pub fn compat_flavors() -> Vec<(&'static str, ringolo::compat::runtime::Runtime)> {
    use ringolo::compat::runtime::Builder;
    vec![
        (
            "current_thread",
            Builder::new_current_thread().enable_all().build().unwrap(),
        ),
        (
            "multi_thread",
            Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        ),
    ]
}

/// `like_tokio!(|tokio| { body })`: `body` (an async block's contents, naming the runtime
/// crate `tokio`) runs on real Tokio and on each compat flavour; its value (`PartialEq +
/// Debug`: use [`failure`] for results) must be the same everywhere. Evaluates to Tokio's.
macro_rules! like_tokio {
    (|$tk:ident| $body:block) => {{
        let fds_before = crate::common::open_fds();
        let expected = {
            use ::tokio as $tk;
            crate::like_tokio::real_tokio().block_on(async $body)
        };
        for (flavor, rt) in crate::like_tokio::compat_flavors() {
            use ringolo::compat as $tk;
            let got = rt.block_on(async $body);
            assert_eq!(got, expected, "compat ({flavor}) differs from Tokio");
            let alive = rt.block_on(async { $tk::spawn(async { 7 }).await.unwrap() });
            assert_eq!(alive, 7, "compat ({flavor}) no longer runs tasks");
            drop(rt);
        }
        assert_eq!(
            crate::common::open_fds(),
            fds_before,
            "descriptors leaked (listed: {:?})",
            crate::like_tokio::fd_targets()
        );
        expected
    }};
}

pub(crate) use like_tokio;

/// What each open descriptor points at, for a leak's message.
pub fn fd_targets() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.display().to_string())
        .collect()
}

/// A unique temporary path for this process.
pub fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ringolo-bad-input-{}-{name}", std::process::id()))
}

/// Run test `name` again in a child process with `env_var` set, holding [`fd_lock`] (the
/// child's pipes are descriptors of ours), and assert it passed: not killed by a signal, not
/// hung.
pub fn passes_in_child(name: &str, env_var: &str) {
    let _lock = fd_lock();
    crate::common::assert_passes_in_child(name, env_var);
}

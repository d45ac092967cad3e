#![allow(dead_code)]

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

pub fn rt() -> ringolo::runtime::Runtime {
    ringolo::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

pub fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    (fds[0], fds[1])
}

pub fn close(fd: RawFd) {
    // SAFETY: the test owns the fd.
    unsafe { libc::close(fd) };
}

pub fn write_all(fd: RawFd, data: &[u8]) {
    // SAFETY: writing from a live slice.
    let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
    assert_eq!(n, data.len() as isize);
}

/// CPU time (user + system) of the calling thread: the runtime's, in a current-thread test.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU time of the whole process (every thread).
#[allow(dead_code)]
pub fn process_cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A waker that counts its wakes.
#[derive(Default)]
pub struct CountingWaker(pub AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let c = Arc::new(CountingWaker::default());
    (c.clone(), Waker::from(c))
}

pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Run the test `name` of this test binary again in a child process with `env_var` set (the
/// test then takes its child branch), and return the child's output.
pub fn run_in_child(name: &str, env_var: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--exact", name, "--test-threads=1"];
    args.extend_from_slice(extra);
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(&args)
        .env(env_var, "1")
        .output()
        .unwrap()
}

/// `run_in_child`, asserting that the child's one test passed.
pub fn assert_passes_in_child(name: &str, env_var: &str) {
    let out = run_in_child(name, env_var, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed ({:?}): {stdout}",
        out.status
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {stdout}"
    );
}

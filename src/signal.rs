//! Process-wide Unix signal delivery, for any number of listeners on any number of runtimes.
//!
//! A signal's handler (installed once per signal through `signal-hook-registry`, never
//! removed, chained with any handler installed before) marks the signal pending and writes a
//! byte to a pipe. A thread of its own, started with the first registration, sleeps on the
//! pipe and wakes the tasks listening for the pending signals; the first listener polled
//! afterwards *dispatches*: it turns every pending mark into one more "generation" of that
//! signal, which every listener sees. Dispatching in the listener, not in the thread, keeps
//! Tokio's rule that a signal which arrived before a listener was made but has not been
//! dispatched yet still reaches it. Deliveries between two polls coalesce into one, as the
//! kernel coalesces them.
//!
//! # Rules
//!
//! 1. The handler does only async-signal-safe work: atomic stores and one `write(2)` of one
//!    byte to a non-blocking pipe, with `errno` saved and restored around it.
//! 2. The pipe is made once and never closed (it lives as long as the process), so the
//!    handler's descriptor is always the pipe's; the handler reads it from the globals,
//!    which are initialised before any handler is installed.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

struct Slot {
    pending: AtomicBool,
    generation: AtomicU64,
    /// `Ok` once the handler is installed; the errno of a failed installation otherwise.
    installed: OnceLock<Result<(), Option<i32>>>,
    wakers: Mutex<Vec<Waker>>,
}

struct Globals {
    /// Indexed by signal number, 0 unused.
    slots: Box<[Slot]>,
    write_fd: RawFd,
    /// Keeps the write end open for the process's life (rule 2).
    _write: OwnedFd,
}

fn globals() -> &'static Globals {
    static GLOBALS: OnceLock<Globals> = OnceLock::new();
    GLOBALS.get_or_init(|| {
        let (read, write) = pipe().expect("ringolo: cannot create the signal pipe");
        let slots = (0..=libc::SIGRTMAX())
            .map(|_| Slot {
                pending: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                installed: OnceLock::new(),
                wakers: Mutex::new(Vec::new()),
            })
            .collect();
        std::thread::Builder::new()
            .name("ringolo-signal".into())
            .spawn(move || wake_loop(std::fs::File::from(read)))
            .expect("ringolo: cannot start the signal thread");
        Globals {
            slots,
            write_fd: write.as_raw_fd(),
            _write: write,
        }
    })
}

/// A pipe whose write end does not block (the handler must never wait) and whose read end
/// does (the thread sleeps on it).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: rule 2 — pipe2 writes two descriptors into our local array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: rule 2 — pipe2 succeeded: both are new descriptors nothing else owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: rule 2 — F_GETFL/F_SETFL touch only the flags of our own open descriptor.
    let flags = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0
        || unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok((read, write))
}

/// The signal thread: after each byte, wake the listeners of every pending signal, and let
/// the child-process module reap what it was asked to.
fn wake_loop(mut read: std::fs::File) {
    let mut buf = [0u8; 64];
    loop {
        match read.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        let g = globals();
        for slot in g.slots.iter() {
            if slot.pending.load(Ordering::Acquire) {
                let list =
                    std::mem::take(&mut *slot.wakers.lock().unwrap_or_else(|e| e.into_inner()));
                list.into_iter().for_each(Waker::wake);
            }
        }
        if g.slots[libc::SIGCHLD as usize]
            .pending
            .load(Ordering::Acquire)
        {
            crate::process::reap_orphans();
        }
    }
}

/// Signals no handler may be installed for (the kernel's or the runtime's own).
const FORBIDDEN: [libc::c_int; 5] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGSEGV,
];

/// Install the handler for `signum` (once per process), with Tokio's errors for a number no
/// handler may be installed for.
pub(crate) fn register(signum: libc::c_int) -> io::Result<()> {
    if signum <= 0 || FORBIDDEN.contains(&signum) {
        return Err(io::Error::other(format!(
            "Refusing to register signal {signum}"
        )));
    }
    let g = globals();
    let Some(slot) = g.slots.get(signum as usize) else {
        return Err(io::Error::other("signal too large"));
    };
    let res = slot.installed.get_or_init(|| {
        let action = move || {
            g.slots[signum as usize]
                .pending
                .store(true, Ordering::Release);
            // SAFETY: rule 1 — errno is read and restored around one write(2) of a byte from
            // static memory to the pipe, which is open for the process's life (rule 2).
            unsafe {
                let errno = *libc::__errno_location();
                libc::write(g.write_fd, [1u8].as_ptr().cast(), 1);
                *libc::__errno_location() = errno;
            }
        };
        // SAFETY: rule 1 — the action is async-signal-safe: atomics and write(2) only, on
        // globals initialised before the handler exists.
        unsafe { signal_hook_registry::register(signum, action) }
            .map(drop)
            .map_err(|e| e.raw_os_error())
    });
    match res {
        Ok(()) => Ok(()),
        Err(Some(errno)) => Err(io::Error::from_raw_os_error(*errno)),
        Err(None) => Err(io::Error::other("registering signal handler failed")),
    }
}

/// How many deliveries of `signum` have been dispatched (what a new listener has seen).
pub(crate) fn generation(signum: libc::c_int) -> u64 {
    globals().slots[signum as usize]
        .generation
        .load(Ordering::Acquire)
}

/// Turn every pending delivery into a new generation of its signal.
/// Every listener of a signal dispatched here is woken, so one that the thread did not wake
/// (it found the mark already taken) still learns of it.
fn dispatch() {
    for slot in globals().slots.iter() {
        if slot.pending.swap(false, Ordering::AcqRel) {
            slot.generation.fetch_add(1, Ordering::AcqRel);
            let list = std::mem::take(&mut *slot.wakers.lock().unwrap_or_else(|e| e.into_inner()));
            list.into_iter().for_each(Waker::wake);
        }
    }
}

/// Ready once `signum` was delivered after generation `*seen` (which it then advances);
/// wakes `cx` on the next delivery otherwise.
pub(crate) fn poll(signum: libc::c_int, seen: &mut u64, cx: &mut Context<'_>) -> Poll<()> {
    let slot = &globals().slots[signum as usize];
    {
        let mut wakers = slot.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
    }
    dispatch();
    let now = slot.generation.load(Ordering::Acquire);
    if now != *seen {
        *seen = now;
        Poll::Ready(())
    } else {
        Poll::Pending
    }
}

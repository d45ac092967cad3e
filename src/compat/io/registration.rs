//! The readiness of one [`AsyncFd`](super::AsyncFd): Tokio's cached, edge-like readiness over
//! io_uring's one-shot polls.
//!
//! Tokio keeps, per registered descriptor, a set of ready bits that its driver sets on each
//! epoll event and that users clear (`clear_ready`) when an operation would block. This is the
//! same cache, fed by `IORING_OP_POLL_ADD`s: while a direction's bits are clear, a poll for it
//! is in flight (armed at registration and re-armed when a clear empties it); its completion
//! sets the bits. A poll is pushed to the ring when armed and reaped at the ring's next turn,
//! never synchronously, so a clear is not undone by the very readiness it just cleared.
//!
//! Each event advances a tick; a guard remembers the tick it saw, and its clear does nothing
//! when a newer event arrived meanwhile (Tokio's rule, so no wakeup is lost). The closed bits
//! are never cleared.
//!
//! A poll lives on the ring of the thread that armed it and is reaped there. If a waiter on
//! another thread finds it there, a second poll is armed through a small task on the
//! descriptor's runtime, whose result any thread can collect.

use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

use tokio::io::{Interest, Ready};

use crate::compat::net::ready::shutting_down;
use crate::driver::ops::PollAdd;
use crate::runtime as native;
use crate::task::JoinHandle;
use crate::Op;

/// The directions a descriptor is polled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Read = 0,
    Write = 1,
    Priority = 2,
}

const DIRS: [Dir; 3] = [Dir::Read, Dir::Write, Dir::Priority];

impl Dir {
    fn events(self) -> u32 {
        (match self {
            Dir::Read => libc::POLLIN | libc::POLLRDHUP,
            Dir::Write => libc::POLLOUT,
            Dir::Priority => libc::POLLPRI,
        }) as u32
    }

    /// The cached bits that make waiting in this direction pointless.
    pub(crate) fn bits(self) -> Ready {
        match self {
            Dir::Read => Ready::READABLE | Ready::READ_CLOSED,
            Dir::Write => Ready::WRITABLE | Ready::WRITE_CLOSED,
            Dir::Priority => Ready::PRIORITY | Ready::READ_CLOSED,
        }
    }
}

/// The ready bits an interest is satisfied by (Tokio's `Ready::from_interest`).
pub(crate) fn ready_for(interest: Interest) -> Ready {
    let mut r = Ready::EMPTY;
    if interest.is_readable() {
        r |= Ready::READABLE | Ready::READ_CLOSED;
    }
    if interest.is_writable() {
        r |= Ready::WRITABLE | Ready::WRITE_CLOSED;
    }
    if interest.is_priority() {
        r |= Ready::PRIORITY | Ready::READ_CLOSED;
    }
    if interest.is_error() {
        r |= Ready::ERROR;
    }
    r
}

/// `poll(2)` events as Tokio's ready bits (mio's epoll mapping), counting only what this
/// poll asked for (io_uring adds the error and hang-up bits to every poll).
fn ready_from_events(asked: u32, got: u32) -> Ready {
    let ev = got & (asked | (libc::POLLERR | libc::POLLHUP) as u32);
    let has = |bit: libc::c_short| ev & bit as u32 != 0;
    let mut r = Ready::EMPTY;
    if has(libc::POLLIN) || has(libc::POLLPRI) {
        r |= Ready::READABLE;
    }
    if has(libc::POLLOUT) {
        r |= Ready::WRITABLE;
    }
    if has(libc::POLLHUP) || (has(libc::POLLIN) && has(libc::POLLRDHUP)) {
        r |= Ready::READ_CLOSED;
    }
    if has(libc::POLLHUP)
        || (has(libc::POLLOUT) && has(libc::POLLERR))
        || ev == libc::POLLERR as u32
    {
        r |= Ready::WRITE_CLOSED;
    }
    if has(libc::POLLERR) {
        r |= Ready::ERROR;
    }
    if has(libc::POLLPRI) {
        r |= Ready::PRIORITY;
    }
    r
}

/// One direction's polls in flight.
#[derive(Default)]
struct Arm {
    local: Option<Op<PollAdd>>,
    remote: Option<JoinHandle<io::Result<u32>>>,
    /// The task waiting through `poll_read_ready` / `poll_write_ready` (one, as Tokio's).
    slot: Option<Waker>,
}

struct State {
    /// The directions polled: the registration's interest, grown by a wait for priority.
    interest: Interest,
    ready: Ready,
    tick: u16,
    arms: [Arm; 3],
    /// Tasks in `ready()` and friends, each with what it waits for.
    waiters: Vec<(Waker, Ready)>,
}

/// The registration an `AsyncFd` and its guards share.
pub(crate) struct Registration {
    fd: RawFd,
    handle: native::Handle,
    state: Mutex<State>,
    wakers: [Waker; 3],
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.fd)
            .finish()
    }
}

/// What a direction's poll completion wakes: that direction's waiters.
struct ArmWaker {
    reg: Weak<Registration>,
    dir: Dir,
}

impl Wake for ArmWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(reg) = self.reg.upgrade() {
            reg.wake(self.dir.bits());
        }
    }
}

/// A snapshot for a guard: the bits it saw, at which tick.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    pub(crate) ready: Ready,
    pub(crate) tick: u16,
}

impl Registration {
    pub(crate) fn new(fd: RawFd, interest: Interest, handle: native::Handle) -> Arc<Registration> {
        let reg = Arc::new_cyclic(|weak: &Weak<Registration>| {
            let waker = |dir| {
                Waker::from(Arc::new(ArmWaker {
                    reg: weak.clone(),
                    dir,
                }))
            };
            Registration {
                fd,
                handle,
                state: Mutex::new(State {
                    interest,
                    ready: Ready::EMPTY,
                    tick: 0,
                    arms: Default::default(),
                    waiters: Vec::new(),
                }),
                wakers: [waker(Dir::Read), waker(Dir::Write), waker(Dir::Priority)],
            }
        });
        {
            let mut st = reg.lock();
            reg.arm(&mut st);
        }
        reg
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn dirs(interest: Interest) -> impl Iterator<Item = Dir> {
        DIRS.into_iter().filter(move |d| match d {
            // An error interest alone polls for reading, as Tokio's (errors arrive with any
            // poll).
            Dir::Read => interest.is_readable() || interest.is_error(),
            Dir::Write => interest.is_writable(),
            Dir::Priority => interest.is_priority(),
        })
    }

    /// Mark `ready` without an event (Tokio's `assume_ready`: a socket fresh from `accept`
    /// tries its first read and write at once); an operation that finds it not so clears it.
    pub(crate) fn assume_ready(&self, ready: Ready) {
        if self.handle.is_shut_down() {
            return;
        }
        self.lock().ready |= ready;
    }

    /// Wake the waiters whose bits are in `bits` (outside the lock). Every poll completion
    /// comes here, so the common case — one slot waker, no `ready()` waiters — allocates
    /// nothing.
    fn wake(&self, bits: Ready) {
        // No allocation for the one-waiter-per-direction slots, the common case.
        let mut slots: [Option<Waker>; 3] = Default::default();
        let mut listed = Vec::new();
        {
            let mut st = self.lock();
            for d in DIRS {
                if !(d.bits() & bits).is_empty() {
                    slots[d as usize] = st.arms[d as usize].slot.take();
                }
            }
            let mut i = 0;
            while i < st.waiters.len() {
                let want = st.waiters[i].1;
                if !(want & bits).is_empty() || want.is_error() {
                    listed.push(st.waiters.swap_remove(i).0);
                } else {
                    i += 1;
                }
            }
        }
        slots.into_iter().flatten().for_each(Waker::wake);
        listed.into_iter().for_each(Waker::wake);
    }

    /// Collect finished polls into the cache, then arm a poll for every direction whose bits
    /// are clear.
    fn refresh(&self, st: &mut State) {
        for d in Self::dirs(st.interest) {
            let waker = &self.wakers[d as usize];
            let mut cx = Context::from_waker(waker);
            let arm = &mut st.arms[d as usize];
            let mut got = None;
            if let Some(op) = &mut arm.local {
                if !op.is_in_flight_elsewhere() {
                    if let Poll::Ready(res) = Pin::new(op).poll(&mut cx) {
                        arm.local = None;
                        got = Some(res);
                    }
                }
            }
            if let Some(join) = &mut arm.remote {
                if let Poll::Ready(res) = Pin::new(join).poll(&mut cx) {
                    arm.remote = None;
                    got = Some(res.unwrap_or_else(|_| Err(shutting_down())));
                }
            }
            if let Some(res) = got {
                self.record(st, d, res);
            }
        }
        self.arm(st);
    }

    /// Put a finished poll of direction `d` into the cache.
    fn record(&self, st: &mut State, d: Dir, res: io::Result<u32>) {
        let bits = match res {
            Ok(ev) => ready_from_events(d.events(), ev),
            Err(_) if self.handle.is_shut_down() => Ready::EMPTY,
            // A poll the ring refused: report an error, and the direction, so that the
            // operation is tried again and says what is wrong.
            Err(_) => Ready::ERROR | d.bits(),
        };
        if !bits.is_empty() {
            st.ready |= bits;
            st.tick = st.tick.wrapping_add(1) & 0x7fff;
        }
    }

    /// Arm a poll for each direction with no bits and no poll.
    fn arm(&self, st: &mut State) {
        if self.handle.is_shut_down() {
            return;
        }
        // Looked up only when a direction needs a poll: most calls find none to arm.
        let mut on_ring = None;
        for d in Self::dirs(st.interest) {
            if !(st.ready & d.bits()).is_empty() {
                continue;
            }
            let arm = &mut st.arms[d as usize];
            let local_here = arm
                .local
                .as_ref()
                .is_some_and(|op| !op.is_in_flight_elsewhere());
            if local_here || arm.remote.is_some() {
                continue;
            }
            let on_ring = *on_ring
                .get_or_insert_with(|| crate::runtime::context::with_driver(|_| ()).is_some());
            let (fd, events) = (self.fd, d.events());
            let mut cx = Context::from_waker(&self.wakers[d as usize]);
            if on_ring && arm.local.is_none() {
                let mut op = Op::new(PollAdd { fd, events });
                // Pushes the poll to this thread's ring; its result comes at a later turn.
                match Pin::new(&mut op).poll(&mut cx) {
                    Poll::Pending => {
                        arm.local = Some(op);
                        continue;
                    }
                    Poll::Ready(Ok(ev)) => {
                        let bits = ready_from_events(events, ev);
                        if !bits.is_empty() {
                            st.ready |= bits;
                            st.tick = st.tick.wrapping_add(1) & 0x7fff;
                            continue;
                        }
                    }
                    // Refused at once (the ring is full or gone): try through a task.
                    Poll::Ready(Err(_)) => {}
                }
            }
            let arm = &mut st.arms[d as usize];
            let mut join = self
                .handle
                .spawn(async move { Op::new(PollAdd { fd, events }).await });
            match Pin::new(&mut join).poll(&mut cx) {
                // Done already (another worker ran it at once: the descriptor was ready), or
                // refused (the runtime is shutting down, which `record` knows).
                Poll::Ready(res) => {
                    self.record(st, d, res.unwrap_or_else(|_| Err(shutting_down())));
                }
                Poll::Pending => arm.remote = Some(join),
            }
        }
    }

    /// The cached bits matching `want`, refreshed; `None` if there are none (`cx`, if any, is
    /// then woken when there may be).
    fn poll_bits(
        &self,
        want: Ready,
        cx: &mut Context<'_>,
        slot: Option<Dir>,
    ) -> Poll<io::Result<Event>> {
        if self.handle.is_shut_down() {
            return Poll::Ready(Err(shutting_down()));
        }
        let mut st = self.lock();
        if want.is_priority() && !st.interest.is_priority() {
            st.interest = st.interest.add(Interest::PRIORITY);
        }
        let mut ready = st.ready & want;
        if ready.is_empty() {
            // Only then can a finished poll have news: what the cache already says ready
            // needs no look at the ring.
            self.refresh(&mut st);
            ready = st.ready & want;
        }
        if slot.is_none() && ready.is_readable() && want.is_read_closed() && !ready.is_read_closed()
        {
            // The cached READABLE keeps the read poll from being armed, so a hang-up since
            // would go unseen: epoll reports it as a new event; here a zero-timeout poll asks.
            let hup = libc::POLLRDHUP | libc::POLLHUP;
            if crate::net::raw::poll_now(self.fd, hup).is_ok_and(|ev| ev & hup != 0) {
                st.ready |= Ready::READ_CLOSED;
                st.tick = st.tick.wrapping_add(1) & 0x7fff;
                ready |= Ready::READ_CLOSED;
            }
        }
        if !ready.is_empty() {
            return Poll::Ready(Ok(Event {
                ready,
                tick: st.tick,
            }));
        }
        match slot {
            Some(d) => st.arms[d as usize].slot = Some(cx.waker().clone()),
            None => {
                if !st.waiters.iter().any(|(w, _)| w.will_wake(cx.waker())) {
                    st.waiters.push((cx.waker().clone(), want));
                }
            }
        }
        drop(st);
        // The runtime may have shut down while we registered: nothing would wake us then.
        if self.handle.is_shut_down() {
            return Poll::Ready(Err(shutting_down()));
        }
        Poll::Pending
    }

    /// `ready(interest)`: wait for any of its bits.
    pub(crate) fn poll_ready(
        &self,
        interest: Interest,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Event>> {
        self.poll_bits(ready_for(interest), cx, None)
    }

    /// `poll_read_ready` / `poll_write_ready`: one waiting task per direction.
    pub(crate) fn poll_dir(&self, dir: Dir, cx: &mut Context<'_>) -> Poll<io::Result<Event>> {
        self.poll_bits(dir.bits(), cx, Some(dir))
    }

    /// The cached bits for `try_io` (no waiting, no shutdown check): Tokio's mask, where a
    /// combined interest matches nothing.
    pub(crate) fn try_bits(&self, interest: Interest) -> Event {
        let single = [
            Interest::READABLE,
            Interest::WRITABLE,
            Interest::PRIORITY,
            Interest::ERROR,
        ];
        let want = if single.contains(&interest) {
            ready_for(interest)
        } else {
            Ready::EMPTY
        };
        let mut st = self.lock();
        if !self.handle.is_shut_down() {
            self.refresh(&mut st);
        }
        Event {
            ready: st.ready & want,
            tick: st.tick,
        }
    }

    /// Clear `bits` (never the closed ones) unless an event newer than `event` arrived; the
    /// emptied directions are armed again.
    pub(crate) fn clear(&self, event: Event, bits: Ready) {
        let mut st = self.lock();
        if st.tick != event.tick {
            return;
        }
        let keep = Ready::READ_CLOSED | Ready::WRITE_CLOSED;
        st.ready = st.ready - (bits - keep);
        self.arm(&mut st);
    }

    /// Drop every poll (cancelling it) and every waiter. An in-flight poll holds the
    /// descriptor's file open in the kernel (a closed listener would go on accepting, a closed
    /// stream would never send its FIN), so each is cancelled: a poll on another thread's ring
    /// through that ring's mailbox, a poll task by aborting it.
    /// Tokio's drop closes at once, so a poll on this thread's ring has its cancel submitted
    /// now rather than at the ring's next turn.
    pub(crate) fn deregister(&self) {
        let mut polls = Vec::new();
        {
            let mut st = self.lock();
            for arm in &mut st.arms {
                polls.extend(arm.local.take());
                if let Some(task) = arm.remote.take() {
                    task.abort();
                }
                arm.slot = None;
            }
            st.waiters.clear();
        }
        let here = polls.iter().any(|op| !op.is_in_flight_elsewhere());
        // Dropped outside the lock: the driver may run wakers, some of which lock it.
        drop(polls);
        if here {
            crate::runtime::context::with_driver(|d| d.flush_pending());
        }
    }
}

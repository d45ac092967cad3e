//! The readiness of one [`AsyncFd`](super::AsyncFd) or socket: Tokio's cached, edge-like
//! readiness over io_uring polls.
//!
//! Tokio keeps, per registered descriptor, a set of ready bits that its driver sets on each
//! epoll event and that users clear (`clear_ready`) when an operation would block. This is the
//! same cache, fed by `IORING_OP_POLL_ADD`s that stay armed (multishot, edge-triggered: a CQE
//! per readiness edge, as epoll's `EPOLLET` gives an event per edge), one per direction, armed
//! when the registration is made or when a clear finds the direction without one
//! (driver/poll_stream.rs). A completion wakes the registration on its ring's thread, which
//! drains it into the cache and wakes the waiters it satisfies. Completions are reaped at the
//! ring's next turn, never synchronously, so a clear is not undone by the very readiness it
//! just cleared.
//!
//! Each event advances a tick; a guard remembers the tick it saw, and its clear does nothing
//! when a newer event arrived meanwhile (Tokio's rule, so no wakeup is lost). The closed bits
//! are never cleared.
//!
//! A poll lives on the ring of the thread that armed it and binds no task. When a direction
//! without bits is waited for on another thread's ring, its poll moves there (the old one is
//! cancelled; the new one reports the present readiness at once), so events never wait on a
//! ring nobody drives. A waiter on a thread with no ring gets a one-shot poll run by a small
//! task on the descriptor's runtime, whose result any thread can collect.

use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

use tokio::io::{Interest, Ready};

use crate::compat::net::ready::shutting_down;
use crate::driver::ops::PollAdd;
use crate::driver::{Drained, PollStream};
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

/// One direction's polls.
#[derive(Default)]
struct Arm {
    /// The poll that stays armed (edge-triggered multishot; one-shot on a kernel without it),
    /// on the ring of the thread that armed it.
    stream: Option<PollStream>,
    /// A one-shot poll run by a task on the runtime, for a waiter on a thread with no ring.
    remote: Option<JoinHandle<io::Result<u32>>>,
    /// The task waiting through `poll_read_ready` / `poll_write_ready` (one, as Tokio's).
    slot: Option<Waker>,
}

struct State {
    /// The directions polled: the registration's interest, grown by a wait for priority.
    interest: Interest,
    arms: [Arm; 3],
    /// Tasks in `ready()` and friends, each with what it waits for.
    waiters: Vec<(Waker, Ready)>,
}

/// The registration an `AsyncFd` and its guards share.
pub(crate) struct Registration {
    fd: RawFd,
    handle: native::Handle,
    /// The cached ready bits and the event tick (see [`Word`]): read without the lock, set
    /// only under it, cleared by a compare-and-swap that checks the tick.
    word: AtomicU32,
    /// Per direction, the ring its poll is armed on (0: none), mirrored from the state so that
    /// a clear can tell without the lock that the poll is in place.
    armed_on: [AtomicU64; 3],
    state: Mutex<State>,
    /// What a poll's completion wakes (on the poll's ring): [`Registration::on_poll`].
    waker: Waker,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.fd)
            .finish()
    }
}

/// What a poll completion wakes: the registration, which drains it and wakes its waiters.
struct PollWaker(Weak<Registration>);

impl Wake for PollWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(reg) = self.0.upgrade() {
            reg.on_poll();
        }
    }
}

/// A snapshot for a guard: the bits it saw, at which tick.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    pub(crate) ready: Ready,
    pub(crate) tick: u16,
}

/// The packed atomic word: ready bits in the low byte, the event tick (15 bits) from bit 16.
struct Word;

const TICK_SHIFT: u32 = 16;
const TICK_MASK: u32 = 0x7fff;
const BITS: [(Ready, u32); 6] = [
    (Ready::READABLE, 1),
    (Ready::WRITABLE, 2),
    (Ready::READ_CLOSED, 4),
    (Ready::WRITE_CLOSED, 8),
    (Ready::PRIORITY, 16),
    (Ready::ERROR, 32),
];

impl Word {
    fn bits(ready: Ready) -> u32 {
        BITS.iter()
            .filter(|(r, _)| !(ready & *r).is_empty())
            .fold(0, |acc, (_, b)| acc | b)
    }

    fn unpack(w: u32) -> Event {
        let ready = BITS
            .iter()
            .filter(|(_, b)| w & b != 0)
            .fold(Ready::EMPTY, |acc, (r, _)| acc | *r);
        Event {
            ready,
            tick: ((w >> TICK_SHIFT) & TICK_MASK) as u16,
        }
    }

    fn load(word: &AtomicU32) -> Event {
        Self::unpack(word.load(Ordering::Acquire))
    }

    /// Set `ready` as a new event (the tick advances). Under the registration's lock.
    fn add(word: &AtomicU32, ready: Ready) -> Event {
        let add = Self::bits(ready);
        let prev = word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                let tick = ((w >> TICK_SHIFT) + 1) & TICK_MASK;
                Some((w & 0xff) | add | (tick << TICK_SHIFT))
            })
            .unwrap_or_else(|w| w);
        let tick = ((prev >> TICK_SHIFT) + 1) & TICK_MASK;
        Self::unpack((prev & 0xff) | add | (tick << TICK_SHIFT))
    }

    /// Clear `ready` unless the tick moved past `tick`; whether it was cleared.
    fn clear(word: &AtomicU32, tick: u16, ready: Ready) -> bool {
        let clear = Self::bits(ready);
        word.fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
            ((w >> TICK_SHIFT) & TICK_MASK == tick as u32).then_some(w & !clear)
        })
        .is_ok()
    }
}

/// The directions that need a poll armed, as a bit set of `1 << Dir`.
type Need = u8;

/// Wakers taken under the lock, woken after it.
#[derive(Default)]
struct ToWake {
    slots: [Option<Waker>; 3],
    listed: Vec<Waker>,
}

impl ToWake {
    fn wake(self) {
        self.slots.into_iter().flatten().for_each(Waker::wake);
        self.listed.into_iter().for_each(Waker::wake);
    }
}

impl Registration {
    pub(crate) fn new(fd: RawFd, interest: Interest, handle: native::Handle) -> Arc<Registration> {
        let reg = Arc::new_cyclic(|weak: &Weak<Registration>| Registration {
            fd,
            handle,
            word: AtomicU32::new(0),
            armed_on: Default::default(),
            state: Mutex::new(State {
                interest,
                arms: Default::default(),
                waiters: Vec::new(),
            }),
            waker: Waker::from(Arc::new(PollWaker(weak.clone()))),
        });
        // Armed at once, as Tokio registers with epoll at once: the first events are the
        // descriptor's present readiness.
        let need = reg.needs_arm(&reg.lock());
        reg.arm(need);
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
        let _st = self.lock();
        self.word.fetch_or(Word::bits(ready), Ordering::AcqRel);
    }

    /// A poll completed (on its ring's thread), or a poll task finished: take in what there is,
    /// wake whoever it satisfies, and re-arm what ended.
    fn on_poll(&self) {
        let (to_wake, need) = {
            let mut st = self.lock();
            if self.refresh(&mut st) {
                // A poll the kernel cancelled (a ring's requests are cancelled when the thread
                // that submitted them exits; a ring ringolo shuts down orphans its polls
                // first, so they never come here): not an event, and no place to arm again.
                // Every waiter polls again on its own thread and arms there.
                (self.take_all_wakers(&mut st), 0)
            } else {
                (self.take_wakers(&mut st), self.needs_arm(&st))
            }
        };
        self.arm(need);
        to_wake.wake();
    }

    /// The waiters the cached bits satisfy (all of them once the runtime is shutting down, so
    /// each sees the error).
    fn take_wakers(&self, st: &mut State) -> ToWake {
        self.take_wakers_if(st, self.handle.is_shut_down())
    }

    fn take_all_wakers(&self, st: &mut State) -> ToWake {
        self.take_wakers_if(st, true)
    }

    fn take_wakers_if(&self, st: &mut State, all: bool) -> ToWake {
        let mut out = ToWake::default();
        let ready = Word::load(&self.word).ready;
        for d in DIRS {
            if all || !(d.bits() & ready).is_empty() {
                out.slots[d as usize] = st.arms[d as usize].slot.take();
            }
        }
        let mut i = 0;
        while i < st.waiters.len() {
            if all || !(st.waiters[i].1 & ready).is_empty() {
                out.listed.push(st.waiters.swap_remove(i).0);
            } else {
                i += 1;
            }
        }
        out
    }

    /// Take in the completions of this thread's polls and of finished poll tasks.
    /// Whether a poll ended cancelled by its ring (see `on_poll`).
    fn refresh(&self, st: &mut State) -> bool {
        let shut = || self.handle.is_shut_down();
        let mut cancelled = false;
        let mut got = [Ready::EMPTY; 3];
        let interest = st.interest;
        if st.arms.iter().any(|a| a.stream.is_some()) {
            // One look at this thread's driver drains every direction's poll armed on it.
            crate::runtime::context::with_driver(|driver| {
                for d in Self::dirs(interest) {
                    let arm = &mut st.arms[d as usize];
                    let Some(stream) = &mut arm.stream else {
                        continue;
                    };
                    let bits = &mut got[d as usize];
                    let drained = stream.drain(driver, &self.waker, |res| match res {
                        Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => cancelled = true,
                        res => *bits |= Self::bits_of(d, res, shut),
                    });
                    if drained == Drained::Ended {
                        arm.stream = None;
                        self.armed_on[d as usize].store(0, Ordering::Release);
                    }
                }
            });
        }
        for d in Self::dirs(st.interest) {
            let mut bits = got[d as usize];
            let arm = &mut st.arms[d as usize];
            if let Some(join) = &mut arm.remote {
                let mut cx = Context::from_waker(&self.waker);
                if let Poll::Ready(res) = Pin::new(join).poll(&mut cx) {
                    arm.remote = None;
                    bits |= Self::bits_of(d, res.unwrap_or_else(|_| Err(shutting_down())), shut);
                }
            }
            if !bits.is_empty() {
                Word::add(&self.word, bits);
            }
        }
        cancelled
    }

    /// The ready bits of one completion of direction `d`'s poll.
    fn bits_of(d: Dir, res: io::Result<u32>, shut: impl Fn() -> bool) -> Ready {
        match res {
            Ok(ev) => ready_from_events(d.events(), ev),
            Err(_) if shut() => Ready::EMPTY,
            // A poll the ring refused: report an error, and the direction, so that the
            // operation is tried again and says what is wrong.
            Err(_) => Ready::ERROR | d.bits(),
        }
    }

    /// The directions with no bits whose poll is missing: none armed, or one armed on another
    /// thread's ring while this thread drives its own (the poll moves with the waiting task,
    /// so a ring that nobody drives any more cannot hold its events).
    fn needs_arm(&self, st: &State) -> Need {
        let mut need = 0;
        // Looked up only when a direction has no bits: most calls find them set.
        let mut here = None;
        let ready = Word::load(&self.word).ready;
        for d in Self::dirs(st.interest) {
            if !(ready & d.bits()).is_empty() {
                continue;
            }
            let arm = &st.arms[d as usize];
            let ring = *here.get_or_insert_with(|| crate::runtime::context::with_driver(|d| d.id));
            let missing = match ring {
                Some(ring) => arm.stream.as_ref().map(PollStream::ring) != Some(ring),
                None => {
                    arm.remote.is_none() && !arm.stream.as_ref().is_some_and(PollStream::is_here)
                }
            };
            if missing {
                need |= 1 << d as u8;
            }
        }
        if need != 0 && self.handle.is_shut_down() {
            return 0;
        }
        need
    }

    /// Arm a poll for each direction in `need`: on this thread's ring, or through a task when
    /// this thread has none. Called without the lock: submitting may reap completions whose
    /// wakes come back here.
    fn arm(&self, need: Need) {
        if need == 0 {
            return;
        }
        let mut fresh: [Option<PollStream>; 3] = Default::default();
        let mut tasks: [Option<JoinHandle<io::Result<u32>>>; 3] = Default::default();
        for d in DIRS {
            if need & (1 << d as u8) == 0 {
                continue;
            }
            let (fd, events) = (self.fd, d.events());
            fresh[d as usize] = PollStream::arm(fd, events, &self.waker);
            if fresh[d as usize].is_none() {
                tasks[d as usize] = Some(
                    self.handle
                        .spawn(async move { Op::new(PollAdd { fd, events }).await }),
                );
            }
        }
        let mut replaced: [Option<PollStream>; 3] = Default::default();
        let to_wake = {
            let mut st = self.lock();
            for d in DIRS {
                let arm = &mut st.arms[d as usize];
                if let Some(stream) = fresh[d as usize].take() {
                    self.armed_on[d as usize].store(stream.ring(), Ordering::Release);
                    replaced[d as usize] = arm.stream.replace(stream);
                }
                if let Some(task) = tasks[d as usize].take() {
                    match &arm.remote {
                        // Another thread armed one meanwhile.
                        Some(_) => task.abort(),
                        None => arm.remote = Some(task),
                    }
                }
            }
            // Polls the tasks (registering the waker) and takes what already completed.
            self.refresh(&mut st);
            self.take_wakers(&mut st)
        };
        // Cancelled outside the lock: the driver may run wakers, some of which lock it.
        drop(replaced);
        to_wake.wake();
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
        // The common case, without the lock: the cache already answers.
        let now = Word::load(&self.word);
        let ready = now.ready & want;
        let hup_unseen = |ready: Ready| {
            slot.is_none()
                && ready.is_readable()
                && want.is_read_closed()
                && !ready.is_read_closed()
        };
        if !ready.is_empty() && !hup_unseen(ready) {
            return Poll::Ready(Ok(Event {
                ready,
                tick: now.tick,
            }));
        }
        let mut st = self.lock();
        if want.is_priority() && !st.interest.is_priority() {
            st.interest = st.interest.add(Interest::PRIORITY);
        }
        let mut now = Word::load(&self.word);
        if (now.ready & want).is_empty() {
            // Only then can a finished poll have news: what the cache already says ready
            // needs no look at the ring.
            self.refresh(&mut st);
            now = Word::load(&self.word);
        }
        let ready = now.ready & want;
        if hup_unseen(ready) {
            // The cached READABLE keeps the read poll from being armed, so a hang-up since
            // would go unseen: epoll reports it as a new event; here a zero-timeout poll asks.
            let hup = libc::POLLRDHUP | libc::POLLHUP;
            if crate::net::raw::poll_now(self.fd, hup).is_ok_and(|ev| ev & hup != 0) {
                now = Word::add(&self.word, Ready::READ_CLOSED);
            }
        }
        let ready = now.ready & want;
        if !ready.is_empty() {
            return Poll::Ready(Ok(Event {
                ready,
                tick: now.tick,
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
        let need = self.needs_arm(&st);
        drop(st);
        self.arm(need);
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
        let now = Word::load(&self.word);
        let event = Event {
            ready: now.ready & want,
            tick: now.tick,
        };
        let need = self.needs_arm(&st);
        drop(st);
        self.arm(need);
        event
    }

    /// Clear `bits` (never the closed ones) unless an event newer than `event` arrived; the
    /// emptied directions are armed again.
    pub(crate) fn clear(&self, event: Event, bits: Ready) {
        let keep = Ready::READ_CLOSED | Ready::WRITE_CLOSED;
        if !Word::clear(&self.word, event.tick, bits - keep) {
            return;
        }
        // The common case, without the lock: each emptied direction's poll stays armed on
        // this thread's ring.
        let ready = Word::load(&self.word).ready;
        let mut here = None;
        let in_place = DIRS.into_iter().all(|d| {
            if (bits & d.bits()).is_empty() || !(ready & d.bits()).is_empty() {
                return true;
            }
            let ring = *here.get_or_insert_with(|| crate::runtime::context::with_driver(|d| d.id));
            ring.is_some_and(|r| self.armed_on[d as usize].load(Ordering::Acquire) == r)
        });
        if in_place {
            return;
        }
        let need = self.needs_arm(&self.lock());
        self.arm(need);
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
            for (arm, on) in st.arms.iter_mut().zip(&self.armed_on) {
                on.store(0, Ordering::Release);
                polls.extend(arm.stream.take());
                if let Some(task) = arm.remote.take() {
                    task.abort();
                }
                arm.slot = None;
            }
            st.waiters.clear();
        }
        let here = polls.iter().any(PollStream::is_here);
        // Dropped outside the lock: the driver may run wakers, some of which lock it.
        drop(polls);
        if here {
            crate::runtime::context::with_driver(|d| d.flush_pending());
        }
    }
}

//! A ring's mailbox, its cleanup queue: what was dropped on a thread that does not drive its
//! ring, handed to the thread that does (rule 4 of driver/mod.rs), which undoes it there in one
//! batch at its next turn.
//!
//! An in-flight op holds kernel resources besides its memory: a `POLL_ADD` holds its file, so
//! a socket whose fd was closed stays open — still accepting, or never sending its FIN —
//! until the poll is cancelled. A direct descriptor holds its file in the ring's table until
//! its slot is cleared, and a provided-buffer ring is the kernel's until it is unregistered.
//! Only the ring's own thread can do any of that, so whatever is dropped elsewhere posts a
//! [`Mail`] here and writes the ring's wakeup eventfd; the ring's thread takes the mail at its
//! next turn and undoes each item as if it had been dropped there (an op is cancelled and its
//! payload freed at the final CQE; a slot cleared; a buffer ring unregistered, then freed).
//!
//! # Rules
//!
//! 1. **A posted payload is never touched until its ring's thread takes it**: it only moves
//!    (a `Box`, so the memory the kernel uses stays where it is) from the dropping thread into
//!    the mailbox and from there into the driver, which then follows driver rule 1.
//! 2. **The mailbox outlives no ring.** It is listed in `MAILBOXES` from the driver's creation
//!    to its drop. A post that finds no mailbox gets its mail back: the payload is freed if
//!    the ring is listed in `FINISHED` (its driver was dropped with no op left in its slab, so
//!    the kernel is done with every payload of that ring), and leaked otherwise.
//! 3. **The wakeup eventfd is a duplicate** owned by the mailbox, so a post never writes to a
//!    descriptor that was closed and reused.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use super::Reclaim;
use crate::util::genslab::Key;

/// Something dropped off its ring's thread, for that thread to undo.
pub(crate) enum Mail {
    /// An op in flight: its slab key, its payload and how to undo a result nobody will take.
    Op(Key, Option<Box<dyn Any + Send>>, Reclaim),
    /// A direct descriptor: its registered-file slot, to clear and release.
    DirectSlot(u32),
    /// A provided-buffer ring: its group id, to unregister, and its memory, freed when dropped
    /// after that (leaked if the kernel refuses: bufring rule 2).
    BufRing(u16, Box<dyn Any + Send>),
}

pub(crate) struct Mailbox {
    mail: Mutex<Vec<Mail>>,
    /// Set after a post; the ring's thread looks at `mail` only when it is.
    posted: AtomicBool,
    /// Rule 3: a duplicate of the ring's wakeup eventfd.
    wake: std::fs::File,
}

/// Every live ring's mailbox, by driver id (rule 2).
static MAILBOXES: LazyLock<Mutex<HashMap<u64, Arc<Mailbox>>>> = LazyLock::new(Default::default);

/// The rings whose drivers were dropped with nothing in flight (rule 2): one id per runtime
/// ring the process has shut down cleanly.
static FINISHED: LazyLock<Mutex<HashSet<u64>>> = LazyLock::new(Default::default);

fn mailboxes() -> std::sync::MutexGuard<'static, HashMap<u64, Arc<Mailbox>>> {
    MAILBOXES.lock().unwrap_or_else(|e| e.into_inner())
}

/// What became of a post.
pub(crate) enum Posted {
    /// The ring's thread will orphan it.
    Sent,
    /// The ring is gone and finished every op: the kernel is done with the payload.
    RingFinished(Mail),
    /// The ring is gone with ops it never finished: the payload may still be in use.
    RingLost(Mail),
}

impl Mailbox {
    /// The mailbox of driver `id`, whose thread wakes when `eventfd` is written; listed until
    /// [`Mailbox::close`].
    pub(crate) fn open(id: u64, eventfd: RawFd) -> std::io::Result<Arc<Mailbox>> {
        // SAFETY: driver rule 6 — `eventfd` is the runtime's wakeup eventfd, open for as long
        // as the driver being created (the caller) lives; it is only duplicated here.
        let wake = unsafe { BorrowedFd::borrow_raw(eventfd) }.try_clone_to_owned()?;
        let mailbox = Arc::new(Mailbox {
            mail: Mutex::new(Vec::new()),
            posted: AtomicBool::new(false),
            wake: wake.into(),
        });
        mailboxes().insert(id, mailbox.clone());
        Ok(mailbox)
    }

    /// Unlist driver `id`'s mailbox (its driver is being dropped; `finished` when its slab is
    /// empty); returns what was still posted.
    pub(crate) fn close(id: u64, finished: bool) -> Vec<Mail> {
        let mut boxes = mailboxes();
        if finished {
            // Listed before the mailbox goes, under the same lock: a post sees one or the other.
            FINISHED
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id);
        }
        match boxes.remove(&id) {
            Some(mailbox) => mailbox.lock().drain(..).collect(),
            None => Vec::new(),
        }
    }

    /// Hand `mail` to ring `id`'s thread and wake it, or say what to do when that ring is
    /// gone.
    pub(crate) fn post(id: u64, mail: Mail) -> Posted {
        let mailbox = {
            let boxes = mailboxes();
            match boxes.get(&id) {
                Some(mailbox) => mailbox.clone(),
                None => {
                    let finished = FINISHED.lock().unwrap_or_else(|e| e.into_inner());
                    return if finished.contains(&id) {
                        Posted::RingFinished(mail)
                    } else {
                        Posted::RingLost(mail)
                    };
                }
            }
        };
        mailbox.lock().push(mail);
        mailbox.posted.store(true, Ordering::Release);
        // A full counter (EAGAIN) already means a wakeup is due.
        let _ = (&mailbox.wake).write(&1u64.to_ne_bytes());
        Posted::Sent
    }

    /// What was posted since the last look (nothing, at the cost of one atomic load, when
    /// there was no post).
    pub(crate) fn take(&self, out: &mut Vec<Mail>) {
        if self.posted.swap(false, Ordering::Acquire) {
            out.append(&mut self.lock());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Mail>> {
        self.mail.lock().unwrap_or_else(|e| e.into_inner())
    }
}

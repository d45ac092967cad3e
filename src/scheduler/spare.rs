//! Spare workers: what keeps a multi-thread runtime running while its workers sit in
//! `block_in_place`.
//!
//! Tokio hands a blocked worker's whole core to a new thread. A ringolo worker cannot hand
//! over its ring (it is bound to its thread), so when every running worker is inside
//! `block_in_place`, the runtime starts a *spare*: a worker of its own, with a fresh ring, on
//! one of the spare slots after the regular workers' (`Shared::remotes[workers..]`). It takes
//! work like any worker — from the injection queue, by stealing, tasks it binds to its ring —
//! and retires once another worker is free again and nothing lives on its ring any more (no
//! op in flight, no registered resource, no queued task), handing whatever stealable work it
//! holds to the injection queue.
//!
//! # Rules (multi_thread.rs rules 1-7 hold for spares as for any worker; these add to them)
//!
//! 8. **Slots.** A spare slot is claimed by flipping `Remote::active` from false to true and
//!    released by its retiring worker flipping it back, after which no task is bound to it
//!    (retirement waits for an empty ring), so no wake is routed there.
//! 9. **Shutdown.** A spare joins the shutdown phases when it starts (refused once they have
//!    begun: then it does not start) and leaves them when it retires; while it runs it takes
//!    part in shutdown like a regular worker.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;

use super::multi_thread::{Shared, Worker};
use crate::driver::Driver;

impl Shared {
    /// Every running worker is blocked: start a spare, if a slot is free.
    pub(crate) fn start_spare_if_all_blocked(self: &Arc<Self>) {
        if self.blocked.load(SeqCst) < self.running.load(SeqCst) || self.shutdown.load(SeqCst) {
            return;
        }
        let regular = self.workers();
        let Some(slot) = (regular..self.remotes.len()).find(|&i| {
            self.remotes[i]
                .active
                .compare_exchange(false, true, SeqCst, SeqCst)
                .is_ok()
        }) else {
            tracing::warn!(
                "ringolo: every worker is inside block_in_place and no spare slot is free; other \
                 tasks wait for one to return"
            );
            return;
        };
        if !self.phases.join() {
            // Shutdown has begun: nothing to keep running.
            self.remotes[slot].active.store(false, SeqCst);
            return;
        }
        self.running.fetch_add(1, SeqCst);
        self.slots_in_use.fetch_max(slot + 1, SeqCst);
        if let Err(e) = self.spawn_spare(slot) {
            tracing::warn!("ringolo: could not start a spare worker: {e}");
            self.running.fetch_sub(1, SeqCst);
            self.phases.leave();
            self.remotes[slot].active.store(false, SeqCst);
        }
    }

    fn spawn_spare(self: &Arc<Self>, slot: usize) -> std::io::Result<()> {
        let remote = &self.remotes[slot];
        // A slot keeps its eventfd across activations.
        if remote.eventfd.get().is_none() {
            let fd = super::WakeFd::new("a spare worker's wakeup eventfd")
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let _ = remote.eventfd.set(fd);
        }
        let eventfd = remote.eventfd.get().expect("set above").as_raw_fd();
        let mut driver = Driver::new(self.config.ring.clone(), eventfd)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        driver.multi_thread = true;
        let worker = Worker::new(self.clone(), slot, driver, true);
        let handle = self.config.threads.spawn(
            crate::runtime::threads::ThreadRole::Worker,
            || format!("ringolo-spare-{slot}"),
            move || worker.run(),
        )?;
        self.spare_threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
        Ok(())
    }

    /// A worker came back from `block_in_place`: spares may no longer be needed; let each look.
    pub(crate) fn wake_spares(&self) {
        for i in self.workers()..self.slots_in_use.load(SeqCst) {
            if self.remotes[i].active.load(SeqCst) {
                self.unpark(i);
            }
        }
    }

    /// After the regular workers: join every spare thread (they leave at shutdown).
    pub(crate) fn join_spares(&self) {
        loop {
            let threads: Vec<_> =
                std::mem::take(&mut *self.spare_threads.lock().unwrap_or_else(|e| e.into_inner()));
            if threads.is_empty() {
                break;
            }
            for t in threads {
                let _ = t.join();
            }
        }
    }
}

impl Worker {
    /// Whether this spare can go: another worker is free, and nothing lives on its ring or in
    /// its queues (rule 8).
    pub(crate) fn should_retire(&self) -> bool {
        let shared = self.shared();
        self.is_spare()
            && shared.blocked.load(SeqCst) + 1 < shared.running.load(SeqCst)
            && !self.has_local_work()
            && self.with_driver(|d| d.is_quiet())
    }

    /// Give the slot back (rule 8) and leave the shutdown phases (rule 9).
    pub(crate) fn retire(&self) {
        let shared = self.shared();
        // A spare woken as a searcher stops searching, or no sleeper would ever be woken for
        // new work again (the idle protocol allows one searcher at a time).
        self.stop_searching();
        // Stealable work left here goes where the others look.
        for t in self.remote().queue.drain() {
            shared.inject.push_back(t);
        }
        self.release_timer_role();
        self.publish_counters();
        let grace = shared.config.grace();
        self.with_driver(|d| d.shutdown(grace));
        shared.running.fetch_sub(1, SeqCst);
        shared.phases.leave();
        self.remote().active.store(false, SeqCst);
        // Work it handed over, and a timer it may have slept for, need a worker.
        shared.notify_parked();
    }
}

//! `task::Builder`: spawning with a name, tags and [`TaskOpts`], and `task::current()` to read
//! them back from inside the task.
//!
//! The name and tags live in the task's header (`Header::meta`, rule 12), boxed once, and only
//! when the builder was given any: a task spawned without them carries one null pointer and
//! costs nothing more. They reach the allocation through a thread-local slot that
//! [`Builder::spawn`] fills just around its call into the runtime and that the task's
//! allocation empties (`take_pending`); no user code runs in between, and the slot is emptied
//! on every way out, so no other task can pick them up.

use std::cell::Cell;
use std::future::Future;

use super::{Id, JoinHandle, TaskOpts};

/// A task's name and tags (rule 12: immutable once the task exists).
#[derive(Debug)]
pub(crate) struct Meta {
    name: Option<String>,
    tags: Box<[&'static str]>,
}

thread_local! {
    /// What the next task allocated on this thread carries (see the module doc): a box
    /// turned into a raw pointer (null: nothing), so the slot needs no destructor and reading
    /// it on every spawn is one thread-local load.
    static PENDING: Cell<*mut Meta> = const { Cell::new(std::ptr::null_mut()) };
}

/// The name and tags of the task being allocated, if its builder gave any.
#[inline]
pub(crate) fn take_pending() -> Option<Box<Meta>> {
    let ptr = PENDING.with(|p| p.replace(std::ptr::null_mut()));
    if ptr.is_null() {
        return None;
    }
    // SAFETY: task rule 12 — a non-null slot holds a pointer from `Box::into_raw` that only
    // this thread can take, once (the slot is nulled in the same step).
    Some(unsafe { Box::from_raw(ptr) })
}

/// Spawns a task with options: a name, tags, [`TaskOpts`].
///
/// ```
/// # ringolo::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use ringolo::task::{self, TaskOpts};
/// let handle = task::Builder::new()
///     .name("conn")
///     .tag("db")
///     .tag("primary")
///     .opts(TaskOpts::STICKY)
///     .spawn(async {
///         let me = task::current().unwrap();
///         (me.name, me.tags)
///     });
/// let (name, tags) = handle.await.unwrap();
/// assert_eq!(name.as_deref(), Some("conn"));
/// assert_eq!(tags, ["db", "primary"]);
/// # });
/// ```
#[derive(Debug, Default)]
#[must_use = "a Builder spawns nothing until `spawn` is called"]
pub struct Builder {
    name: Option<String>,
    tags: Vec<&'static str>,
    opts: TaskOpts,
}

impl Builder {
    /// No name, no tags, [`TaskOpts::NONE`].
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The task's name, as [`current`] and the runtime report it.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Add a tag (any number, in order; static strings, so tagging allocates nothing per tag
    /// beyond the one box that holds them).
    pub fn tag(mut self, tag: &'static str) -> Builder {
        self.tags.push(tag);
        self
    }

    /// The task's options (they replace earlier ones).
    pub fn opts(mut self, opts: TaskOpts) -> Builder {
        self.opts = opts;
        self
    }

    /// Spawn `future` onto the current runtime.
    ///
    /// # Panics
    /// Outside a runtime, as [`spawn`](super::spawn) does.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let Builder { name, tags, opts } = self;
        let meta = (name.is_some() || !tags.is_empty()).then(|| {
            Box::new(Meta {
                name,
                tags: tags.into_boxed_slice(),
            })
        });
        /// Empties the slot however the spawn ends (a task that was allocated took it already).
        struct Clear;
        impl Drop for Clear {
            fn drop(&mut self) {
                drop(take_pending());
            }
        }
        let _clear = Clear;
        if let Some(meta) = meta {
            PENDING.with(|p| p.set(Box::into_raw(meta)));
        }
        super::spawn_with(opts, future)
    }
}

/// What [`current`] reports about the running task.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskInfo {
    /// Its id.
    pub id: Id,
    /// The name its [`Builder`] gave it.
    pub name: Option<String>,
    /// The tags its [`Builder`] gave it, in order.
    pub tags: Vec<&'static str>,
}

/// The task being polled on this thread (its future's poll or drop), or `None` outside one.
pub fn current() -> Option<TaskInfo> {
    super::with_current_header(|header| {
        let (name, tags) = match &header.meta {
            Some(meta) => (meta.name.clone(), meta.tags.to_vec()),
            None => (None, Vec::new()),
        };
        TaskInfo {
            id: header.id(),
            name,
            tags,
        }
    })
}

//! `tokio::task::coop` on ringolo's budget.
//!
//! ringolo's tasks carry a budget of operations they may complete without waiting (an
//! immediate `send`, say) per poll; once it is spent they go through the ring and yield. These
//! functions spend and inspect that budget the way Tokio's spend its coop budget. Tokio's
//! re-exported `sync` primitives keep their own budget, which only a Tokio runtime arms, so
//! under compat they never force a yield (docs/design/compat.md).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::pin_project;

/// Stands for `tokio::task::coop::consume_budget`: spend one unit of the task's budget,
/// yielding to the scheduler when it is spent.
pub async fn consume_budget() {
    if !crate::task::take_immediate_budget() {
        crate::task::yield_now().await;
    }
}

/// Stands for `tokio::task::coop::has_budget_remaining`.
pub fn has_budget_remaining() -> bool {
    crate::task::has_immediate_budget()
}

/// Stands for `tokio::task::unconstrained`: poll `inner` with the budget switched off.
pub fn unconstrained<F>(inner: F) -> Unconstrained<F> {
    Unconstrained { inner }
}

/// Stands for `tokio::task::Unconstrained`.
#[pin_project]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Unconstrained<F> {
    #[pin]
    inner: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.project().inner;
        crate::task::with_unconstrained(|| inner.poll(cx))
    }
}

impl<F> fmt::Debug for Unconstrained<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unconstrained").finish_non_exhaustive()
    }
}

/// Stands for `tokio::task::coop::cooperative`: `fut`, polled only while the task has budget
/// (it yields instead when the budget is spent).
pub fn cooperative<F: Future>(fut: F) -> Coop<F> {
    Coop { fut }
}

/// Stands for `tokio::task::coop::Coop`.
#[pin_project]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Coop<F> {
    #[pin]
    fut: F,
}

impl<F: Future> Future for Coop<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let restore = std::task::ready!(poll_proceed(cx));
        let out = self.project().fut.poll(cx);
        if out.is_ready() {
            restore.made_progress();
        }
        out
    }
}

/// Stands for `tokio::task::coop::poll_proceed`: take one unit of budget (`Ready`), or wake
/// the task and return `Pending` when it is spent. Dropping the returned guard without
/// `made_progress` gives the unit back.
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    if crate::task::take_immediate_budget() {
        Poll::Ready(RestoreOnPending {
            restore: true,
            _not_send: PhantomData,
        })
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Stands for `tokio::task::coop::RestoreOnPending`.
pub struct RestoreOnPending {
    restore: bool,
    _not_send: PhantomData<*const ()>,
}

impl RestoreOnPending {
    /// The operation made progress: the unit stays spent.
    pub fn made_progress(mut self) {
        self.restore = false;
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if self.restore {
            crate::task::return_immediate_budget();
        }
    }
}

impl fmt::Debug for RestoreOnPending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestoreOnPending").finish_non_exhaustive()
    }
}

//! `tokio::process`: child processes whose exit and pipes are awaited on the ring.
//!
//! A child's exit is readiness on its pidfd (`pidfd_open(2)`, polled with
//! `IORING_OP_POLL_ADD`), then `waitpid` through std's `try_wait`; where the kernel has no
//! pidfd, `SIGCHLD` wakes the waiters instead. A readable pidfd that cannot be reaped yet (a
//! traced child) is polled again. A child dropped before it exited is reaped later, on
//! `SIGCHLD`, and killed first when `kill_on_drop` asked for it.

mod command;
mod stdio;

pub use self::command::Command;
pub use self::stdio::{ChildStderr, ChildStdin, ChildStdout};

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{ExitStatus, Output};

use tokio::io::{AsyncReadExt, Interest};

use crate::compat::net::ready::Readiness;

/// Stands for `tokio::process::Child`: a spawned child, with the parent's ends of its pipes.
#[derive(Debug)]
pub struct Child {
    /// Stands for `tokio::process::Child::stdin`.
    pub stdin: Option<ChildStdin>,
    /// Stands for `tokio::process::Child::stdout`.
    pub stdout: Option<ChildStdout>,
    /// Stands for `tokio::process::Child::stderr`.
    pub stderr: Option<ChildStderr>,
    child: Fused,
}

#[derive(Debug)]
enum Fused {
    Running(Box<Running>),
    Done(ExitStatus),
}

#[derive(Debug)]
struct Running {
    /// `None` only while being dropped.
    std: Option<std::process::Child>,
    exit: Exit,
    kill_on_drop: bool,
}

/// How the child's exit is awaited.
#[derive(Debug)]
enum Exit {
    /// Its pidfd (kept open here) and its readiness, on the runtime that last waited.
    Pidfd(OwnedFd, Option<Box<Readiness>>),
    /// `SIGCHLD`, for kernels without pidfds.
    Sigchld,
}

impl Child {
    #[track_caller]
    pub(crate) fn from_std(mut std: std::process::Child, kill_on_drop: bool) -> io::Result<Child> {
        let stdin = std.stdin.take().map(ChildStdin::from_std).transpose()?;
        let stdout = std.stdout.take().map(ChildStdout::from_std).transpose()?;
        let stderr = std.stderr.take().map(ChildStderr::from_std).transpose()?;
        let exit = match crate::process::pidfd(&std) {
            Ok(fd) => Exit::Pidfd(fd, None),
            Err(_) => {
                crate::signal::register(libc::SIGCHLD)?;
                Exit::Sigchld
            }
        };
        Ok(Child {
            stdin,
            stdout,
            stderr,
            child: Fused::Running(Box::new(Running {
                std: Some(std),
                exit,
                kill_on_drop,
            })),
        })
    }

    /// Stands for `tokio::process::Child::id`: the pid, `None` once the child was reaped.
    pub fn id(&self) -> Option<u32> {
        match &self.child {
            Fused::Running(r) => r.std.as_ref().map(|c| c.id()),
            Fused::Done(_) => None,
        }
    }

    /// Stands for `tokio::process::Child::start_kill`: send `SIGKILL` (nothing once reaped).
    pub fn start_kill(&mut self) -> io::Result<()> {
        match &mut self.child {
            Fused::Done(_) => Ok(()),
            Fused::Running(r) => {
                r.std.as_mut().expect("child present").kill()?;
                r.kill_on_drop = false;
                Ok(())
            }
        }
    }

    /// Stands for `tokio::process::Child::kill`: `SIGKILL`, then wait for the exit.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await?;
        Ok(())
    }

    /// Stands for `tokio::process::Child::try_wait`.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match &mut self.child {
            Fused::Done(status) => Ok(Some(*status)),
            Fused::Running(r) => match r.std.as_mut().expect("child present").try_wait()? {
                Some(status) => {
                    r.kill_on_drop = false;
                    self.child = Fused::Done(status);
                    Ok(Some(status))
                }
                None => Ok(None),
            },
        }
    }

    /// Stands for `tokio::process::Child::wait`: close stdin, then wait for the exit.
    /// Cancel-safe.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            let Fused::Running(r) = &mut self.child else {
                unreachable!("try_wait returned None")
            };
            match &mut r.exit {
                Exit::Pidfd(fd, ready) => {
                    let res = match ready {
                        Some(ready) => ready.wait(Interest::READABLE).await.map(drop),
                        None => Err(crate::compat::net::ready::shutting_down()),
                    };
                    if let Err(e) = res {
                        if !crate::compat::runtime::is_rt_shutdown_err(&e) {
                            return Err(e);
                        }
                        // Not yet waited on, or its runtime is gone: wait on this one.
                        *ready = Some(Box::new(Readiness::with_interest(
                            fd.as_raw_fd(),
                            Interest::READABLE,
                        )?));
                        continue;
                    }
                    // Readable but not reapable yet (a traced child): let others run first.
                    if let Ok(None) = r.std.as_mut().expect("child present").try_wait() {
                        crate::compat::task::yield_now().await;
                    }
                }
                Exit::Sigchld => {
                    let mut seen = crate::signal::generation(libc::SIGCHLD);
                    if self.try_wait()?.is_some() {
                        continue;
                    }
                    std::future::poll_fn(|cx| crate::signal::poll(libc::SIGCHLD, &mut seen, cx))
                        .await;
                }
            }
        }
    }

    /// Stands for `tokio::process::Child::wait_with_output`: wait for the exit while reading
    /// all of stdout and stderr (empty where not piped).
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        async fn read_all<R: tokio::io::AsyncRead + Unpin>(r: Option<R>) -> io::Result<Vec<u8>> {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                r.read_to_end(&mut buf).await?;
            }
            Ok(buf)
        }
        let stdout = self.stdout.take();
        let stderr = self.stderr.take();
        let (status, stdout, stderr) =
            tokio::try_join!(self.wait(), read_all(stdout), read_all(stderr))?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let Some(mut std) = self.std.take() else {
            return;
        };
        if self.kill_on_drop {
            let _ = std.kill();
        }
        crate::process::orphan(std);
    }
}

//! `tokio::process::Command`: std's builder, spawned into a [`Child`] awaited on the ring.

use std::ffi::OsStr;
use std::future::Future;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use super::Child;

/// Stands for `tokio::process::Command`.
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl Command {
    /// Stands for `tokio::process::Command::new`.
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Stands for `tokio::process::Command::as_std`.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// Stands for `tokio::process::Command::as_std_mut`.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Stands for `tokio::process::Command::into_std` (`kill_on_drop` is not kept).
    pub fn into_std(self) -> std::process::Command {
        self.std
    }

    /// Stands for `tokio::process::Command::arg`.
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Stands for `tokio::process::Command::args`.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Stands for `tokio::process::Command::env`.
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.env(key, val);
        self
    }

    /// Stands for `tokio::process::Command::envs`.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Stands for `tokio::process::Command::env_remove`.
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Stands for `tokio::process::Command::env_clear`.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Stands for `tokio::process::Command::current_dir`.
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Stands for `tokio::process::Command::stdin`.
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// Stands for `tokio::process::Command::stdout`.
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// Stands for `tokio::process::Command::stderr`.
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Stands for `tokio::process::Command::kill_on_drop`: `SIGKILL` the child when its
    /// [`Child`] is dropped before it was reaped.
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// Stands for `tokio::process::Command::get_kill_on_drop`.
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// Stands for `tokio::process::Command::uid`.
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// Stands for `tokio::process::Command::gid`.
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// Stands for `tokio::process::Command::arg0`.
    pub fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg0(arg);
        self
    }

    /// Stands for `tokio::process::Command::process_group`.
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// Stands for `tokio::process::Command::spawn`.
    ///
    /// # Panics
    /// Outside a runtime, or on one without I/O, with Tokio's messages.
    #[track_caller]
    pub fn spawn(&mut self) -> io::Result<Child> {
        crate::compat::net::ready::io_handle()?;
        let std = self.std.spawn()?;
        Child::from_std(std, self.kill_on_drop)
    }

    /// Stands for `tokio::process::Command::status`: spawn now, then wait (the child's
    /// stdio handles are closed first).
    #[track_caller]
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> {
        let child = self.spawn();
        async move {
            let mut child = child?;
            drop(child.stdin.take());
            drop(child.stdout.take());
            drop(child.stderr.take());
            child.wait().await
        }
    }

    /// Stands for `tokio::process::Command::output`: pipe stdout and stderr (from now on, as
    /// Tokio's), spawn now, then collect them and the exit status.
    #[track_caller]
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> {
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        let child = self.spawn();
        async move { child?.wait_with_output().await }
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
        }
    }
}

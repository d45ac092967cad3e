//! `tokio::io`: the traits and runtime-agnostic utilities, re-exported item by item from the
//! real `tokio` crate, so a compat type implementing `AsyncRead` implements *Tokio's*
//! `AsyncRead` and every library generic over it accepts it.
//!
//! The runtime-bound parts are compat's own: `stdin`, `stdout`, `stderr` (on the blocking
//! pool, as Tokio's) and [`unix::AsyncFd`] (readiness of any descriptor on the ring).

pub(crate) mod registration;
mod stdio;
pub mod unix;

pub use self::stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};

#[doc(inline)]
pub use tokio::io::{
    copy, copy_bidirectional, copy_bidirectional_with_sizes, copy_buf, duplex, empty, join, repeat,
    simplex, sink, split, AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek,
    AsyncSeekExt, AsyncWrite, AsyncWriteExt, BufReader, BufStream, BufWriter, Chain, DuplexStream,
    Empty, Error, ErrorKind, Interest, Join, Lines, ReadBuf, ReadHalf, Ready, Repeat, Result,
    SeekFrom, SimplexStream, Sink, Split, Take, WriteHalf,
};

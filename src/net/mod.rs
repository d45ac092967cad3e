//! TCP on io_uring, completion style: reads and writes take the buffer by value and give it
//! back with the result.
//!
//! `TcpListener::bind` is a chain: `IORING_OP_SOCKET`, then `SO_REUSEADDR` → `bind` →
//! `listen` linked with `IOSQE_IO_LINK` (falling back to the syscalls on kernels without those
//! opcodes). `incoming()` is a multishot accept. Dropping a socket closes it on the ring.

mod addr;
mod ops;
mod tcp;

pub use self::addr::{Lookup, ToSocketAddrs};
pub use self::tcp::{Incoming, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};

#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! [`ring`] (setup, op table, submission, completion,
//! cancellation, one file each), [`chain`] (linked ops on direct descriptors), [`table`] (the op table: one declaration per op), [`op`] (the `Op` it expands to), [`probe`](mod@probe) (flags and
//! opcodes the kernel supports), [`addr`] (socket addresses), [`pool`]
//! (reused buffers), [`stat`], [`metrics`], [`resolve`] (the blocking-call
//! pool), `msg` (message addressing, and who owns an fd passed between
//! rings), and `sys` (every raw syscall).

pub mod addr;
pub mod bufs;
pub mod chain;
pub mod copy;
pub mod metrics;
mod msg;
pub mod op;
pub mod pool;
pub mod probe;
pub mod process;
pub mod resolve;
pub mod ring;
pub mod stat;
mod stat_many;
mod sys;
pub mod table;

pub use addr::{SockAddr, SockName};
pub use bufs::{FixedBuffers, FixedSlice, Mapping};
pub use chain::{Chain, Step};
pub use copy::Copy;
pub use metrics::Metrics;
pub use op::{FutexWord, Op, Output, ZcData, CURRENT_POSITION};
pub use pool::BufferPool;
pub use probe::{probe, unavailable_reason, Features};
pub use resolve::{Lookup, LookupError, LOOKUP_FAILED};
pub use ring::{BufRef, Completion, Config, Message, OpId, OpOptions, Ring, SubmitError, MSG_DATA_MASK};
pub use stat::{Stat, Timestamp};

/// A close-on-exec pipe `[read end, write end]`, grown to `size` bytes where
/// the system allows: the kernel buffer splice and tee move data through.
pub fn pipe(size: i32) -> std::io::Result<[std::os::fd::RawFd; 2]> {
    sys::pipe(size)
}

/// A close-on-exec AF_UNIX stream socket pair (a plain syscall).
pub fn socketpair() -> std::io::Result<[std::os::fd::RawFd; 2]> {
    sys::socketpair()
}

/// A close-on-exec duplicate of `fd` (a plain syscall), owned by the caller.
pub fn dup_cloexec(fd: std::os::fd::RawFd) -> std::io::Result<std::os::fd::RawFd> {
    match sys::dup_cloexec(fd) {
        fd if fd >= 0 => Ok(fd),
        e => Err(std::io::Error::from_raw_os_error(-e)),
    }
}

/// Closes `fd`, which the caller owns (a plain syscall). Its errors are
/// not reported: on Linux the number is released whatever close(2) says.
pub fn close(fd: std::os::fd::RawFd) {
    sys::close(fd)
}

/// Sets or clears O_NONBLOCK on `fd` (a plain syscall).
pub fn set_nonblocking(fd: std::os::fd::RawFd, on: bool) -> std::io::Result<()> {
    sys::set_nonblocking(fd, on)
}

/// `poll(2)` with a zero timeout: the ready events of each `(fd, events)`.
/// For code that cannot wait in a ring (a fallback without io_uring).
pub fn poll_now(fds: &[(std::os::fd::RawFd, i16)]) -> std::io::Result<Vec<i16>> {
    sys::poll_now(fds)
}

//! The operations: each is one declaration in the op table
//! ([`crate::table`]) of what it owns while in flight and how it becomes an
//! SQE; this module expands it into [`Op`]. The lifecycle around them (slot,
//! submit, cancel, timeout, completion, release) is the same for all and
//! lives in [`crate::ring`].
//!
//! Memory rule: every pointer an SQE carries points into a heap allocation
//! owned by the `Op` (a `Vec`, `Box` or `CString`), so the `Op` itself may
//! move (the op table grows) while the kernel works; the heap data does not.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::sync::Arc;

use io_uring::{opcode, squeue, types};

use crate::addr::SockAddr;
use crate::bufs::FixedSlice;
use crate::msg::{MSG_DATA_MASK, MSG_FD, TAG_MSG};
use crate::resolve::Lookup;
use crate::stat::Stat;
use crate::sys;

/// File position meaning "the fd's current position" (like `read(2)`).
pub const CURRENT_POSITION: u64 = u64::MAX;

/// The address of a 32-bit futex word the kernel reads during a futex op.
///
/// Unlike every other op's memory, the word is not owned by the op: waiting
/// threads must all name the same address. Hence the unsafe constructor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FutexWord(*const u32);

impl FutexWord {
    /// # Safety
    /// `ptr` must be 4-byte aligned and stay valid (mapped, not freed) until
    /// the final completion of every op made with it. The kernel only reads it.
    pub unsafe fn new(ptr: *const u32) -> FutexWord {
        FutexWord(ptr)
    }
}

// FUTEX2 flags (include/uapi/linux/futex.h): a 32-bit word, process-private
// (threads of one process share the address space, so workers meet).
const FUTEX2_SIZE_U32: u32 = 0x02;
const FUTEX2_PRIVATE: u32 = 128;
const FUTEX_BITSET_MATCH_ANY: u64 = 0xffff_ffff;

/// Expands the op table (crate::table) into the `Op` enum and its methods:
/// each method is one `match self` whose arms come from the table's keys.
macro_rules! define_ops {
    // Second pass: each op's fields as one binding pattern `{ a, b }`, so
    // every method can bind them inside its optional keys.
    (@impl $(
        $V:ident $pat:tt => {
            opcode: $oc:ident,
            syscall: $sys0:literal $(| $sysn:literal)* $(=> $pick:expr)?,
            kernel: $kernel:literal,
            sqe: $sqe:expr,
            $(fallback: $fb:expr,)?
            $(fallback_when: |$fr:ident| $fw:expr,)?
            $(result: |$r:ident| $mr:expr,)?
            $(output: $okind:ident => |$n:ident| $out:expr,)?
            $(produces_fd: $pfd:literal,)?
            $(waits_writable: $ww:expr,)?
            $(multishot: $bg:expr,)?
            $(recycle: |$rf:ident| $rc:expr,)?
            js: [$($js:tt)*] $(,)?
        }
    )*) => {
        #[allow(unused_variables)]
        impl Op {
            /// The syscall this op stands for: the `syscall` of its errors.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Op::$V $pat => pick_name!($sys0 $(, $pick)?),)*
                }
            }

            /// The io_uring opcode, to check against the kernel's probe.
            pub fn opcode(&self) -> u8 {
                match self {
                    $(Op::$V { .. } => opcode::$oc::CODE,)*
                }
            }

            /// The oldest kernel whose io_uring has this op (below it, the op
            /// takes its [`fallback`](Op::has_fallback) or fails with ENOSYS).
            pub fn min_kernel(&self) -> &'static str {
                match self {
                    $(Op::$V { .. } => $kernel,)*
                }
            }

            /// Whether the op has a plain-syscall path for kernels whose
            /// probe lacks its opcode.
            pub fn has_fallback(&self) -> bool {
                match self {
                    $($(Op::$V { .. } => { let _ = stringify!($fb); true })?)*
                    _ => false,
                }
            }

            /// The SQE for this op. Pointers in it borrow from `self`'s heap data.
            pub(crate) fn entry(&mut self) -> squeue::Entry {
                use types::Fd;
                match self {
                    $(Op::$V $pat => $sqe,)*
                }
            }

            /// The plain-syscall path for kernels whose probe lacks this opcode, or
            /// `None` when the op has no such path (it then fails with ENOSYS-style
            /// `-EOPNOTSUPP` from [`crate::Ring::submit`]).
            pub(crate) fn fallback(&mut self) -> Option<i32> {
                match self {
                    $($(Op::$V $pat => $fb,)?)*
                    _ => None,
                }
            }

            /// Whether a completion with `res` is the kernel's io_uring refusing
            /// the op (not the op's own answer): the fallback then runs instead.
            pub(crate) fn falls_back_on(&self, res: i32) -> bool {
                match self {
                    $($(Op::$V { .. } => { let $fr = res; $fw })?)*
                    _ => false,
                }
            }

            /// Maps the kernel's result to the op's (a timer that fired is success).
            pub(crate) fn map_result(&self, res: i32) -> i32 {
                match self {
                    $($(Op::$V { .. } => { let $r = res; $mr })?)*
                    _ => res,
                }
            }

            /// Whether a non-negative result is a new fd, to be closed if nobody
            /// can receive it any more.
            pub(crate) fn produces_fd(&self) -> bool {
                match self {
                    $($(Op::$V { .. } => $pfd,)?)*
                    _ => false,
                }
            }

            /// The fd a would-block completion (`-EAGAIN`) of this op waits on for
            /// POLLOUT before the op is issued again: a send the caller did not ask
            /// to be non-blocking.
            pub(crate) fn waits_writable(&self) -> Option<RawFd> {
                match self {
                    $($(Op::$V $pat => $ww,)?)*
                    _ => None,
                }
            }

            /// Whether the op completes many times (each CQE but the last flagged MORE).
            pub fn is_multishot(&self) -> bool {
                match self {
                    $($(Op::$V { .. } => { let _ = stringify!($bg); true })?)*
                    _ => false,
                }
            }

            /// The provided-buffer group the op takes buffers from.
            pub fn buffer_group(&self) -> Option<u16> {
                match self {
                    $($(Op::$V $pat => $bg,)?)*
                    _ => None,
                }
            }

            /// What the op hands back, given its result.
            pub fn output(&self, result: i32) -> Output<'_> {
                if result < 0 {
                    return Output::None;
                }
                match self {
                    $($(Op::$V $pat => { let $n = result as usize; $out })?)*
                    _ => Output::None,
                }
            }

            /// Hands the op's data buffers to `f`, for reuse by a pool.
            pub fn recycle(self, mut f: impl FnMut(Vec<u8>)) {
                match self {
                    $($(Op::$V $pat => { let $rf = &mut f; $rc })?)*
                    _ => {}
                }
            }
        }
    };
    ($(
        $(#[$doc:meta])*
        $V:ident $({ $($f:ident : $t:ty),* $(,)? })? => { $($keys:tt)* }
    )*) => {
        /// An operation and everything the kernel references while it is in flight.
        ///
        /// Declared once each in the op table (`crate::table`), from which
        /// every method below, the Node bridge and its TypeScript typings are
        /// expanded. New ops are added in minor versions, hence
        /// `#[non_exhaustive]`: a `match` outside this crate needs a `_` arm.
        #[non_exhaustive]
        pub enum Op {
            $(
                $(#[$doc])*
                $V $({ $($f : $t),* })?,
            )*
        }

        define_ops!(@impl $($V { $($($f),*)? } => { $($keys)* })*);
    };
}

/// The name an op's errors carry: its first syscall name, or the one its
/// fields pick.
macro_rules! pick_name {
    ($first:literal) => {
        $first
    };
    ($first:literal, $pick:expr) => {
        $pick
    };
}

crate::for_each_op!(define_ops);

/// The bytes of a zero-copy send.
#[non_exhaustive]
pub enum ZcData {
    /// Our own copy of the caller's bytes.
    Owned(Vec<u8>),
    /// A range of a registered buffer.
    Fixed(FixedSlice),
}

/// What a completed op hands back to its caller besides the result.
#[non_exhaustive]
pub enum Output<'a> {
    None,
    /// Bytes the kernel wrote (a read's data).
    Bytes(&'a [u8]),
    /// `total` bytes spread over `bufs` in order (a readv's data).
    Segments {
        bufs: &'a [Vec<u8>],
        total: usize,
    },
    /// A statx result.
    Stat(&'a Stat),
    /// A waitid result.
    Child(crate::process::ChildStatus),
    /// A resolver result.
    Addresses(&'a [std::net::IpAddr]),
}

// SOCKET_URING_OP_GETSOCKOPT (include/uapi/linux/io_uring.h).
const SOCKET_URING_OP_GETSOCKOPT: u32 = 2;

/// A getsockopt command: the io-uring crate builds only the setsockopt one,
/// and the two differ in nothing but `cmd_op`.
fn getsockopt_entry(fd: RawFd, level: i32, optname: i32, value: &mut [u8]) -> squeue::Entry {
    let (ptr, len) = (value.as_mut_ptr() as *const libc::c_void, value.len() as u32);
    let mut e = opcode::SetSockOpt::new(types::Fd(fd), level as u32, optname as u32, ptr, len).build();
    // SAFETY: `squeue::Entry` is `#[repr(C)]` around the kernel's 64-byte
    // `io_uring_sqe`, whose `cmd_op` is the u32 at byte offset 8 (the
    // kernel's ABI); the write stays inside the entry.
    unsafe {
        (&mut e as *mut squeue::Entry).cast::<u8>().add(8).cast::<u32>().write_unaligned(SOCKET_URING_OP_GETSOCKOPT)
    };
    e
}

fn iovecs(bufs: &mut [Vec<u8>]) -> Vec<libc::iovec> {
    bufs.iter_mut().map(|b| libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: b.len() }).collect()
}

// Kernel scratch memory an op owns while in flight. Opaque, so the public
// `Op` names neither `libc` nor `io_uring` types and can move to other
// versions of them without a breaking change.

/// The iovec array of a readv/writev, rebuilt from its buffers at submission.
#[derive(Default)]
pub struct Iovecs(Vec<libc::iovec>);

/// A sleep's duration, in the kernel's timespec layout, on the heap (the
/// kernel reads it after the `Op` may have moved).
pub struct Timespec(Box<types::Timespec>);

/// Where the kernel writes a waitid's result.
pub struct SigInfo(Box<libc::siginfo_t>);

impl Default for SigInfo {
    fn default() -> Self {
        // SAFETY: siginfo_t is plain data; all-zero is valid (and means "no child" for WNOHANG).
        SigInfo(Box::new(unsafe { std::mem::zeroed() }))
    }
}

impl Op {
    /// A read or write of a file descriptor's data, which
    /// [`crate::Config::offload`] sends to io-wq at once.
    pub(crate) fn is_file_io(&self) -> bool {
        matches!(
            self,
            Op::Read { .. }
                | Op::Write { .. }
                | Op::Readv { .. }
                | Op::Writev { .. }
                | Op::ReadFixed { .. }
                | Op::WriteFixed { .. }
        )
    }

    /// A readv into `bufs` (each read to its full length).
    pub fn readv(fd: RawFd, bufs: Vec<Vec<u8>>, position: u64) -> Op {
        Op::Readv { fd, bufs, iov: Iovecs::default(), position }
    }

    /// A writev of `bufs`.
    pub fn writev(fd: RawFd, bufs: Vec<Vec<u8>>, position: u64) -> Op {
        Op::Writev { fd, bufs, iov: Iovecs::default(), position }
    }

    /// A waitid of `idtype`/`id` with `options` (WEXITED, WNOHANG, WNOWAIT...).
    pub fn waitid(idtype: u32, id: u32, options: i32) -> Op {
        Op::WaitId { idtype, id, options, info: SigInfo::default() }
    }

    /// A timer of `ns` nanoseconds.
    pub fn sleep_ns(ns: u64) -> Op {
        let ts = types::Timespec::new().sec(ns / 1_000_000_000).nsec((ns % 1_000_000_000) as u32);
        Op::Sleep { ts: Timespec(Box::new(ts)) }
    }

    /// A periodic timer of `ns` nanoseconds (at least 1).
    pub fn interval_ns(ns: u64) -> Op {
        let ns = ns.max(1);
        let ts = types::Timespec::new().sec(ns / 1_000_000_000).nsec((ns % 1_000_000_000) as u32);
        Op::Interval { ts: Timespec(Box::new(ts)), rearm: false }
    }

    /// Releases what an op that never reached a ring owns: a MsgRing's
    /// duplicate fd is closed. (A submitted op, refused or not, is taken
    /// care of by [`crate::Ring::submit`] and its completion.)
    pub fn discard(self) {
        if let Op::MsgRing { fd: Some(fd), .. } = self {
            sys::close(fd);
        }
    }
}

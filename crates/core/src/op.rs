//! The operations: each is one declaration of what it owns while in flight
//! and how it becomes an SQE. The lifecycle around them (slot, submit,
//! cancel, timeout, completion, release) is the same for all and lives in
//! [`crate::ring`].
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

/// An operation and everything the kernel references while it is in flight.
///
/// New ops are added in minor versions, hence `#[non_exhaustive]`: a `match`
/// outside this crate needs a `_` arm.
#[non_exhaustive]
pub enum Op {
    /// Does nothing; completes with 0. The bridge's round-trip measure.
    Nop,
    /// `read(2)`/`pread(2)` into `buf` (its full length).
    Read { fd: RawFd, buf: Vec<u8>, position: u64 },
    /// `write(2)`/`pwrite(2)` of `buf`.
    Write { fd: RawFd, buf: Vec<u8>, position: u64 },
    /// `preadv(2)` into `bufs`, in order. `iov` is filled at submission
    /// (make one with [`Op::readv`]).
    Readv { fd: RawFd, bufs: Vec<Vec<u8>>, iov: Iovecs, position: u64 },
    /// `pwritev(2)` of `bufs`, in order. `iov` is filled at submission
    /// (make one with [`Op::writev`]).
    Writev { fd: RawFd, bufs: Vec<Vec<u8>>, iov: Iovecs, position: u64 },
    /// `openat(2)`; completes with the new fd.
    Open { dirfd: RawFd, path: CString, flags: i32, mode: u32 },
    /// `close(2)`.
    Close { fd: RawFd },
    /// `statx(2)` of `path` relative to `dirfd` (empty path + AT_EMPTY_PATH: the fd).
    Statx { dirfd: RawFd, path: CString, flags: i32, mask: u32, buf: Box<Stat> },
    /// `fsync(2)`, or `fdatasync(2)` with `datasync`.
    Fsync { fd: RawFd, datasync: bool },
    /// `socket(2)`; completes with the new fd (always close-on-exec).
    Socket { domain: i32, ty: i32, protocol: i32 },
    /// `bind(2)`.
    Bind { fd: RawFd, addr: Box<SockAddr> },
    /// `listen(2)`.
    Listen { fd: RawFd, backlog: i32 },
    /// `accept4(2)`; completes with the new fd.
    Accept { fd: RawFd, flags: i32 },
    /// `connect(2)`.
    Connect { fd: RawFd, addr: Box<SockAddr> },
    /// `send(2)` of `buf`.
    Send { fd: RawFd, buf: Vec<u8>, flags: i32 },
    /// `recv(2)` into `buf`.
    Recv { fd: RawFd, buf: Vec<u8>, flags: i32 },
    /// `shutdown(2)`.
    Shutdown { fd: RawFd, how: i32 },
    /// A relative timer; completes with 0 when it fires (make one with
    /// [`Op::sleep_ns`]).
    Sleep { ts: Timespec },
    /// One-shot `poll(2)` of one fd; completes with the ready events.
    Poll { fd: RawFd, events: u32 },
    /// `unlinkat(2)`; `flags` AT_REMOVEDIR removes a directory.
    Unlink { dirfd: RawFd, path: CString, flags: i32 },
    /// `renameat2(2)`.
    Rename { from: CString, to: CString, flags: u32 },
    /// `mkdirat(2)`.
    Mkdir { dirfd: RawFd, path: CString, mode: u32 },
    /// `symlinkat(2)`: a link at `path` whose content is `target`.
    Symlink { target: CString, path: CString },
    /// `linkat(2)`: a new name `to` for the file `from`.
    Link { from: CString, to: CString, flags: i32 },
    /// `ftruncate(2)`.
    Ftruncate { fd: RawFd, len: u64 },
    /// `fallocate(2)`.
    Fallocate { fd: RawFd, mode: i32, offset: u64, len: u64 },
    /// `posix_fadvise(2)`.
    Fadvise { fd: RawFd, offset: u64, len: i64, advice: i32 },
    /// Sleeps while the word equals `expected` until a wake (kernel 6.7):
    /// completes with 0 when woken, `-EAGAIN` if the word differed.
    FutexWait { word: FutexWord, expected: u32 },
    /// Wakes up to `count` waiters of the word (kernel 6.7); completes with
    /// the number woken.
    FutexWake { word: FutexWord, count: u32 },
    /// `splice(2)`: moves up to `len` bytes between two fds, one a pipe,
    /// without user space. An offset of -1 uses (and moves) the fd's position.
    Splice { fd_in: RawFd, off_in: i64, fd_out: RawFd, off_out: i64, len: u32, flags: u32 },
    /// `tee(2)`: copies up to `len` bytes from one pipe to another without
    /// consuming them.
    Tee { fd_in: RawFd, fd_out: RawFd, len: u32, flags: u32 },
    /// `getxattr(2)` into `value` (its full length); completes with the size.
    GetXattr { path: CString, name: CString, value: Vec<u8> },
    /// `fgetxattr(2)` into `value`; completes with the size.
    FGetXattr { fd: RawFd, name: CString, value: Vec<u8> },
    /// `setxattr(2)`; `flags` XATTR_CREATE or XATTR_REPLACE.
    SetXattr { path: CString, name: CString, value: Vec<u8>, flags: i32 },
    /// `fsetxattr(2)`.
    FSetXattr { fd: RawFd, name: CString, value: Vec<u8>, flags: i32 },
    /// `waitid(2)` (kernel 6.7): `idtype` P_PID, P_PIDFD, P_PGID or P_ALL.
    /// Make one with [`Op::waitid`].
    WaitId { idtype: u32, id: u32, options: i32, info: SigInfo },
    /// Multishot `recv(2)` (kernel 6.0): one completion per arrival, each
    /// with a buffer of the provided-buffer `group`, until end of stream,
    /// an error, a cancel, or the group running dry (`-ENOBUFS`).
    RecvMulti { fd: RawFd, group: u16, flags: i32 },
    /// Multishot `read(2)` of a pollable fd (pipe, socket, tty; kernel 6.7),
    /// like [`Op::RecvMulti`].
    ReadMulti { fd: RawFd, group: u16 },
    /// Multishot `accept4(2)` (kernel 5.19): one completion per connection.
    AcceptMulti { fd: RawFd, flags: i32 },
    /// `pread(2)` into a registered buffer (no copy on either side).
    ReadFixed { fd: RawFd, buf: FixedSlice, position: u64 },
    /// `pwrite(2)` from a registered buffer.
    WriteFixed { fd: RawFd, buf: FixedSlice, position: u64 },
    /// Zero-copy `send(2)` (kernel 6.0): the kernel sends from the buffer
    /// itself, and the op completes once the kernel has let go of it.
    SendZc { fd: RawFd, data: ZcData, flags: i32 },
    /// Posts a completion (`data`, `value`) to another ring (IORING_OP_MSG_RING,
    /// kernel 5.18); see [`crate::Ring::take_messages`]. `to` is the target
    /// ring's [`crate::Ring::id`]: a post to a ring that has gone away fails
    /// with `-EBADF` even where its fd number now names another ring (0
    /// skips that check, for a value only). With `fd`, the message carries
    /// that fd: a duplicate this op owns until the target ring reaps the
    /// message. It is closed if it cannot be posted, and by the target if
    /// that goes away before it took it (see `crate::msg`).
    MsgRing { target: RawFd, to: u32, data: u64, value: i32, fd: Option<RawFd> },
    /// `getaddrinfo(3)` on the resolver pool, completed through this ring.
    Resolve { lookup: Arc<Lookup> },
    /// Cancels every op in flight on `fd` (kernel 5.19); completes with how
    /// many were found (they complete with `-ECANCELED`).
    CancelFd { fd: RawFd },
}

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

    /// The syscall this op stands for: the `syscall` of its errors.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Nop => "nop",
            Op::Read { .. } => "read",
            Op::Write { .. } => "write",
            Op::Readv { .. } => "readv",
            Op::Writev { .. } => "writev",
            Op::Open { .. } => "open",
            Op::Close { .. } => "close",
            Op::Statx { .. } => "statx",
            Op::Fsync { datasync: false, .. } => "fsync",
            Op::Fsync { datasync: true, .. } => "fdatasync",
            Op::Socket { .. } => "socket",
            Op::Bind { .. } => "bind",
            Op::Listen { .. } => "listen",
            Op::Accept { .. } => "accept",
            Op::Connect { .. } => "connect",
            Op::Send { .. } => "send",
            Op::Recv { .. } => "recv",
            Op::Shutdown { .. } => "shutdown",
            Op::Sleep { .. } => "sleep",
            Op::Poll { .. } => "poll",
            Op::Unlink { flags, .. } if *flags & libc::AT_REMOVEDIR != 0 => "rmdir",
            Op::Unlink { .. } => "unlink",
            Op::Rename { .. } => "rename",
            Op::Mkdir { .. } => "mkdir",
            Op::Symlink { .. } => "symlink",
            Op::Link { .. } => "link",
            Op::Ftruncate { .. } => "ftruncate",
            Op::Fallocate { .. } => "fallocate",
            Op::Fadvise { .. } => "fadvise",
            Op::FutexWait { .. } => "futex_wait",
            Op::FutexWake { .. } => "futex_wake",
            Op::Splice { .. } => "splice",
            Op::Tee { .. } => "tee",
            Op::GetXattr { .. } => "getxattr",
            Op::FGetXattr { .. } => "fgetxattr",
            Op::SetXattr { .. } => "setxattr",
            Op::FSetXattr { .. } => "fsetxattr",
            Op::WaitId { .. } => "waitid",
            Op::RecvMulti { .. } => "recv",
            Op::ReadMulti { .. } => "read",
            Op::AcceptMulti { .. } => "accept",
            Op::ReadFixed { .. } => "read",
            Op::WriteFixed { .. } => "write",
            Op::SendZc { .. } => "send",
            Op::MsgRing { .. } => "msg_ring",
            Op::Resolve { .. } => "getaddrinfo",
            Op::CancelFd { .. } => "async_cancel",
        }
    }

    /// The io_uring opcode, to check against the kernel's probe.
    pub fn opcode(&self) -> u8 {
        match self {
            Op::Nop => opcode::Nop::CODE,
            Op::Read { .. } => opcode::Read::CODE,
            Op::Write { .. } => opcode::Write::CODE,
            Op::Readv { .. } => opcode::Readv::CODE,
            Op::Writev { .. } => opcode::Writev::CODE,
            Op::Open { .. } => opcode::OpenAt::CODE,
            Op::Close { .. } => opcode::Close::CODE,
            Op::Statx { .. } => opcode::Statx::CODE,
            Op::Fsync { .. } => opcode::Fsync::CODE,
            Op::Socket { .. } => opcode::Socket::CODE,
            Op::Bind { .. } => opcode::Bind::CODE,
            Op::Listen { .. } => opcode::Listen::CODE,
            Op::Accept { .. } => opcode::Accept::CODE,
            Op::Connect { .. } => opcode::Connect::CODE,
            Op::Send { .. } => opcode::Send::CODE,
            Op::Recv { .. } => opcode::Recv::CODE,
            Op::Shutdown { .. } => opcode::Shutdown::CODE,
            Op::Sleep { .. } => opcode::Timeout::CODE,
            Op::Poll { .. } => opcode::PollAdd::CODE,
            Op::Unlink { .. } => opcode::UnlinkAt::CODE,
            Op::Rename { .. } => opcode::RenameAt::CODE,
            Op::Mkdir { .. } => opcode::MkDirAt::CODE,
            Op::Symlink { .. } => opcode::SymlinkAt::CODE,
            Op::Link { .. } => opcode::LinkAt::CODE,
            Op::Ftruncate { .. } => opcode::Ftruncate::CODE,
            Op::Fallocate { .. } => opcode::Fallocate::CODE,
            Op::Fadvise { .. } => opcode::Fadvise::CODE,
            Op::FutexWait { .. } => opcode::FutexWait::CODE,
            Op::FutexWake { .. } => opcode::FutexWake::CODE,
            Op::Splice { .. } => opcode::Splice::CODE,
            Op::Tee { .. } => opcode::Tee::CODE,
            Op::GetXattr { .. } => opcode::GetXattr::CODE,
            Op::FGetXattr { .. } => opcode::FGetXattr::CODE,
            Op::SetXattr { .. } => opcode::SetXattr::CODE,
            Op::FSetXattr { .. } => opcode::FSetXattr::CODE,
            Op::WaitId { .. } => opcode::WaitId::CODE,
            Op::RecvMulti { .. } => opcode::RecvMulti::CODE,
            Op::ReadMulti { .. } => opcode::ReadMulti::CODE,
            Op::AcceptMulti { .. } => opcode::AcceptMulti::CODE,
            Op::ReadFixed { .. } => opcode::ReadFixed::CODE,
            Op::WriteFixed { .. } => opcode::WriteFixed::CODE,
            Op::SendZc { .. } => opcode::SendZc::CODE,
            // Both complete through a MSG_RING (see crate::resolve).
            Op::MsgRing { .. } | Op::Resolve { .. } => opcode::MsgRingData::CODE,
            Op::CancelFd { .. } => opcode::AsyncCancel2::CODE,
        }
    }

    /// The SQE for this op. Pointers in it borrow from `self`'s heap data.
    pub(crate) fn entry(&mut self) -> squeue::Entry {
        use types::Fd;
        match self {
            Op::Nop => opcode::Nop::new().build(),
            Op::Read { fd, buf, position } => {
                opcode::Read::new(Fd(*fd), buf.as_mut_ptr(), buf.len() as u32).offset(*position).build()
            }
            Op::Write { fd, buf, position } => {
                opcode::Write::new(Fd(*fd), buf.as_ptr(), buf.len() as u32).offset(*position).build()
            }
            // The iovecs are rebuilt from `bufs` here, at submission: whatever
            // was done to the fields before, they describe exactly the buffers
            // the op owns from now until its CQE.
            Op::Readv { fd, bufs, iov: Iovecs(iov), position } => {
                *iov = iovecs(bufs);
                opcode::Readv::new(Fd(*fd), iov.as_ptr(), iov.len() as u32).offset(*position).build()
            }
            Op::Writev { fd, bufs, iov: Iovecs(iov), position } => {
                *iov = iovecs(bufs);
                opcode::Writev::new(Fd(*fd), iov.as_ptr(), iov.len() as u32).offset(*position).build()
            }
            Op::Open { dirfd, path, flags, mode } => {
                opcode::OpenAt::new(Fd(*dirfd), path.as_ptr()).flags(*flags | libc::O_CLOEXEC).mode(*mode).build()
            }
            Op::Close { fd } => opcode::Close::new(Fd(*fd)).build(),
            Op::Statx { dirfd, path, flags, mask, buf } => {
                let out: *mut Stat = &mut **buf;
                opcode::Statx::new(Fd(*dirfd), path.as_ptr(), out.cast()).flags(*flags).mask(*mask).build()
            }
            Op::Fsync { fd, datasync } => {
                let flags = if *datasync { types::FsyncFlags::DATASYNC } else { types::FsyncFlags::empty() };
                opcode::Fsync::new(Fd(*fd)).flags(flags).build()
            }
            Op::Socket { domain, ty, protocol } => {
                opcode::Socket::new(*domain, *ty | libc::SOCK_CLOEXEC, *protocol).build()
            }
            Op::Bind { fd, addr } => opcode::Bind::new(Fd(*fd), addr.as_ptr(), addr.len()).build(),
            Op::Listen { fd, backlog } => opcode::Listen::new(Fd(*fd), *backlog).build(),
            Op::Accept { fd, flags } => opcode::Accept::new(Fd(*fd), std::ptr::null_mut(), std::ptr::null_mut())
                .flags(*flags | libc::SOCK_CLOEXEC)
                .build(),
            Op::Connect { fd, addr } => opcode::Connect::new(Fd(*fd), addr.as_ptr(), addr.len()).build(),
            // Always MSG_DONTWAIT: a send that would block completes with
            // -EAGAIN and the ring waits for POLLOUT itself (see
            // `waits_writable`), instead of the kernel's own poll-and-retry.
            // That retry reuses an iterator the failed attempt consumed: on
            // 6.18 a datagram to a full AF_UNIX receiver then goes out
            // empty and the send completes with 0.
            Op::Send { fd, buf, flags } => opcode::Send::new(Fd(*fd), buf.as_ptr(), buf.len() as u32)
                .flags(*flags | libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT)
                .build(),
            Op::Recv { fd, buf, flags } => {
                opcode::Recv::new(Fd(*fd), buf.as_mut_ptr(), buf.len() as u32).flags(*flags).build()
            }
            Op::Shutdown { fd, how } => opcode::Shutdown::new(Fd(*fd), *how).build(),
            Op::Sleep { ts: Timespec(ts) } => opcode::Timeout::new(&**ts).build(),
            Op::Poll { fd, events } => opcode::PollAdd::new(Fd(*fd), *events).build(),
            Op::Unlink { dirfd, path, flags } => opcode::UnlinkAt::new(Fd(*dirfd), path.as_ptr()).flags(*flags).build(),
            Op::Rename { from, to, flags } => {
                let cwd = Fd(libc::AT_FDCWD);
                opcode::RenameAt::new(cwd, from.as_ptr(), cwd, to.as_ptr()).flags(*flags).build()
            }
            Op::Mkdir { dirfd, path, mode } => opcode::MkDirAt::new(Fd(*dirfd), path.as_ptr()).mode(*mode).build(),
            Op::Symlink { target, path } => {
                opcode::SymlinkAt::new(Fd(libc::AT_FDCWD), target.as_ptr(), path.as_ptr()).build()
            }
            Op::Link { from, to, flags } => {
                let cwd = Fd(libc::AT_FDCWD);
                opcode::LinkAt::new(cwd, from.as_ptr(), cwd, to.as_ptr()).flags(*flags).build()
            }
            Op::Ftruncate { fd, len } => opcode::Ftruncate::new(Fd(*fd), *len).build(),
            Op::Fallocate { fd, mode, offset, len } => {
                opcode::Fallocate::new(Fd(*fd), *len).offset(*offset).mode(*mode).build()
            }
            Op::Fadvise { fd, offset, len, advice } => {
                opcode::Fadvise::new(Fd(*fd), *len as libc::off_t, *advice).offset(*offset).build()
            }
            Op::FutexWait { word, expected } => opcode::FutexWait::new(
                word.0,
                *expected as u64,
                FUTEX_BITSET_MATCH_ANY,
                FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
            )
            .build(),
            Op::FutexWake { word, count } => {
                opcode::FutexWake::new(word.0, *count as u64, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE)
                    .build()
            }
            Op::Splice { fd_in, off_in, fd_out, off_out, len, flags } => {
                opcode::Splice::new(Fd(*fd_in), *off_in, Fd(*fd_out), *off_out, *len).flags(*flags).build()
            }
            Op::Tee { fd_in, fd_out, len, flags } => opcode::Tee::new(Fd(*fd_in), Fd(*fd_out), *len).flags(*flags).build(),
            Op::GetXattr { path, name, value } => {
                opcode::GetXattr::new(name.as_ptr(), value.as_mut_ptr().cast(), path.as_ptr(), value.len() as u32).build()
            }
            Op::FGetXattr { fd, name, value } => {
                opcode::FGetXattr::new(Fd(*fd), name.as_ptr(), value.as_mut_ptr().cast(), value.len() as u32).build()
            }
            Op::SetXattr { path, name, value, flags } => {
                opcode::SetXattr::new(name.as_ptr(), value.as_ptr().cast(), path.as_ptr(), value.len() as u32)
                    .flags(*flags)
                    .build()
            }
            Op::FSetXattr { fd, name, value, flags } => {
                opcode::FSetXattr::new(Fd(*fd), name.as_ptr(), value.as_ptr().cast(), value.len() as u32)
                    .flags(*flags)
                    .build()
            }
            Op::WaitId { idtype, id, options, info: SigInfo(info) } => {
                let infop: *mut libc::siginfo_t = &mut **info;
                opcode::WaitId::new(*idtype as libc::idtype_t, *id as libc::id_t, *options).infop(infop).build()
            }
            Op::RecvMulti { fd, group, flags } => opcode::RecvMulti::new(Fd(*fd), *group).flags(*flags).build(),
            Op::ReadMulti { fd, group } => opcode::ReadMulti::new(Fd(*fd), 0, *group).build(),
            Op::AcceptMulti { fd, flags } => {
                opcode::AcceptMulti::new(Fd(*fd)).flags(*flags | libc::SOCK_CLOEXEC).build()
            }
            Op::ReadFixed { fd, buf, position } => {
                opcode::ReadFixed::new(Fd(*fd), buf.ptr(), buf.len, buf.table_index).offset(*position).build()
            }
            Op::WriteFixed { fd, buf, position } => {
                opcode::WriteFixed::new(Fd(*fd), buf.ptr(), buf.len, buf.table_index).offset(*position).build()
            }
            Op::SendZc { fd, data, flags } => {
                let flags = *flags | libc::MSG_NOSIGNAL;
                match data {
                    ZcData::Owned(b) => opcode::SendZc::new(Fd(*fd), b.as_ptr(), b.len() as u32).flags(flags).build(),
                    ZcData::Fixed(s) => opcode::SendZc::new(Fd(*fd), s.ptr(), s.len)
                        .buf_index(Some(s.table_index))
                        .flags(flags)
                        .build(),
                }
            }
            Op::MsgRing { target, data, value, fd, .. } => {
                use crate::ring::{MSG_DATA_MASK, MSG_FD, TAG_MSG};
                let (value, carries) = match fd {
                    Some(fd) => (*fd, MSG_FD),
                    None => (*value, 0),
                };
                opcode::MsgRingData::new(Fd(*target), value, *data & MSG_DATA_MASK | TAG_MSG | carries, None).build()
            }
            // Never an SQE of its own: the ring hands it to the resolver pool.
            Op::Resolve { .. } => opcode::Nop::new().build(),
            Op::CancelFd { fd } => opcode::AsyncCancel2::new(types::CancelBuilder::fd(Fd(*fd)).all()).build(),
        }
    }

    /// The plain-syscall path for kernels whose probe lacks this opcode, or
    /// `None` when the op has no such path (it then fails with ENOSYS-style
    /// `-EOPNOTSUPP` from [`crate::Ring::submit`]).
    pub(crate) fn fallback(&mut self) -> Option<i32> {
        match self {
            Op::Socket { domain, ty, protocol } => Some(sys::socket(*domain, *ty, *protocol)),
            Op::Bind { fd, addr } => Some(sys::bind(*fd, addr.as_ptr(), addr.len())),
            Op::Listen { fd, backlog } => Some(sys::listen(*fd, *backlog)),
            // IORING_OP_FTRUNCATE is 6.9; the others of its kind predate 5.19.
            Op::Ftruncate { fd, len } => Some(sys::ftruncate(*fd, *len)),
            _ => None,
        }
    }

    /// Maps the kernel's result to the op's: a timer that fired is success.
    pub(crate) fn map_result(&self, res: i32) -> i32 {
        match self {
            Op::Sleep { .. } if res == -libc::ETIME => 0,
            Op::CancelFd { .. } if res == -libc::ENOENT => 0,
            _ => res,
        }
    }

    /// Whether a non-negative result is a new fd, to be closed if nobody
    /// can receive it any more.
    pub(crate) fn produces_fd(&self) -> bool {
        matches!(self, Op::Open { .. } | Op::Accept { .. } | Op::AcceptMulti { .. } | Op::Socket { .. })
    }

    /// The fd a would-block completion (`-EAGAIN`) of this op waits on for
    /// POLLOUT before the op is issued again: a send the caller did not ask
    /// to be non-blocking.
    pub(crate) fn waits_writable(&self) -> Option<RawFd> {
        match self {
            Op::Send { fd, flags, .. } if flags & libc::MSG_DONTWAIT == 0 => Some(*fd),
            _ => None,
        }
    }

    /// Whether the op completes many times (each CQE but the last flagged MORE).
    pub fn is_multishot(&self) -> bool {
        matches!(self, Op::RecvMulti { .. } | Op::ReadMulti { .. } | Op::AcceptMulti { .. })
    }

    /// The provided-buffer group the op takes buffers from.
    pub fn buffer_group(&self) -> Option<u16> {
        match self {
            Op::RecvMulti { group, .. } | Op::ReadMulti { group, .. } => Some(*group),
            _ => None,
        }
    }

    /// What the op hands back, given its result.
    pub fn output(&self, result: i32) -> Output<'_> {
        if result < 0 {
            return Output::None;
        }
        let n = result as usize;
        match self {
            Op::Read { buf, .. } | Op::Recv { buf, .. } => Output::Bytes(&buf[..n.min(buf.len())]),
            Op::GetXattr { value, .. } | Op::FGetXattr { value, .. } => Output::Bytes(&value[..n.min(value.len())]),
            Op::Readv { bufs, .. } => Output::Segments { bufs, total: n },
            Op::Statx { buf, .. } => Output::Stat(buf),
            Op::WaitId { info: SigInfo(info), .. } => Output::Child(crate::process::ChildStatus::from_siginfo(info)),
            Op::Resolve { lookup } => Output::Addresses(lookup.addresses()),
            _ => Output::None,
        }
    }

    /// Releases what an op that never reached a ring owns: a MsgRing's
    /// duplicate fd is closed. (A submitted op, refused or not, is taken
    /// care of by [`crate::Ring::submit`] and its completion.)
    pub fn discard(self) {
        if let Op::MsgRing { fd: Some(fd), .. } = self {
            sys::close(fd);
        }
    }

    /// Hands the op's data buffers to `f`, for reuse by a pool.
    pub fn recycle(self, mut f: impl FnMut(Vec<u8>)) {
        match self {
            Op::Read { buf, .. } | Op::Write { buf, .. } | Op::Send { buf, .. } | Op::Recv { buf, .. } => f(buf),
            Op::GetXattr { value, .. }
            | Op::FGetXattr { value, .. }
            | Op::SetXattr { value, .. }
            | Op::FSetXattr { value, .. } => f(value),
            Op::Readv { bufs, .. } | Op::Writev { bufs, .. } => bufs.into_iter().for_each(f),
            Op::SendZc { data: ZcData::Owned(buf), .. } => f(buf),
            _ => {}
        }
    }
}

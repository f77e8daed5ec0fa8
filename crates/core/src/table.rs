//! The op table: one declaration per operation, read by every layer.
//!
//! size: one entry per op, all inside the single `for_each_op!` declaration;
//! splitting the file would split that one declaration.
//!
//! [`for_each_op!`](crate::for_each_op) hands the whole table to a macro of
//! the caller's choosing (the "callback" pattern), so the table is written
//! once and can be expanded several times. Three expansions read it:
//!
//! - here, by `define_ops!` in [`crate::op`]: the [`Op`](crate::Op) enum and
//!   every `match self` over it (name, opcode, SQE, fallback, result,
//!   output, recycling, ...);
//! - the Node bridge, by `bridge_ops!` in crates/node/src/ops/gen.rs: one
//!   raw napi function per `js` entry, registered under its JS name, with
//!   the argument conversions of crates/node/src/ops/kinds.rs (msgRingFd,
//!   whose `DupFd` only `Op::pass_fd` makes, is skipped there by name and
//!   written by hand);
//! - the TypeScript layer, by `examples/gen_native.rs` (`npm run gen`):
//!   packages/uring-machine/src/native.generated.ts, each `js` function's
//!   signature in bridge order and its record (syscall names, result kind,
//!   kernel, opcode), checked against the table in CI by
//!   scripts/check-generated.mjs.
//!
//! An entry reads, keys in this order (those marked ? may be left out):
//!
//! ```text
//! /// docs of the variant
//! Variant { field: Type, ... } => {   // no braces: a unit variant
//!     opcode: Read,                   // io_uring::opcode type, for the probe
//!     syscall: "read",                // the `syscall` of its errors; several
//!                                     // names: "a" | "b" => expr picking one
//!     kernel: "5.6",                  // minimum kernel of the io_uring op
//!     sqe: expr,                      // the SQE (fields bound as &mut)
//!     fallback: expr,              ?  // plain syscall below `kernel`: Some(result)
//!     fallback_when: |res| expr,   ?  // a completion the kernel's io_uring refused
//!                                     // so: the fallback runs instead
//!     result: |res| expr,          ?  // maps the kernel's result
//!     output: Kind => |n| expr,    ?  // what a result n >= 0 hands back
//!     produces_fd: true,           ?  // a result >= 0 is a new fd
//!     waits_writable: expr,        ?  // Some(fd): on -EAGAIN wait POLLOUT, retry
//!     multishot: expr,             ?  // many CQEs; expr: its Option<u16> buffer group
//!     recycle: |f| expr,           ?  // hands the data buffers to f (by value)
//!     js: [                           // the JS functions that make this op
//!         name(arg: Kind, ...) -> Result => build-expr,
//!     ],
//! }
//! ```
//!
//! A `js` entry's argument kinds say how the bridge converts each JS value
//! and how many JS arguments it takes (the kinds and their JS arguments are
//! tabled in crates/node/src/ops/kinds.rs: `Fd`, `I32`, `U32`, `U16`,
//! `Bool`, `Position`, `Offset`, `Size`, `Count`, `Millis`, `Path`, `Name`,
//! `Into`, `From`, `IntoVecs`, `FromVecs`, `Addr`, `Futex`, `Fixed`), and
//! its result kind (`Void`, `Number`, `Stat`, `FutexWait`, `Child`,
//! `Stream`, `Resolve`) how the TypeScript layer settles the promise. Every
//! `js` function but a `Stream` one takes a trailing `timeout` (ms, 0 none).
//! The build expression is plain core Rust over the converted arguments
//! (`$crate::` paths: it is compiled in the bridge), and the entry's
//! argument names are the Rust bindings it uses (and, camelCased, the JS
//! parameter names of the typings). After editing an entry, `npm run gen`.
//! Not every Machine method is an op here: `getsockname`/`getpeername` have
//! no io_uring op and are a plain syscall at once
//! ([`SockName::of`](crate::SockName::of)), bridged by hand (`sockName`).
//! CONTRIBUTING.md has the recipe for adding an op.

/// Expands `$callback! { table }` with the op table (see [`crate::table`]).
#[macro_export]
#[doc(hidden)]
macro_rules! for_each_op {
    ($callback:ident) => {
        $callback! {
            /// Does nothing; completes with 0. The bridge's round-trip measure.
            Nop => {
                opcode: Nop,
                syscall: "nop",
                kernel: "5.1",
                sqe: opcode::Nop::new().build(),
                js: [nop() -> Void => $crate::Op::Nop],
            }
            /// `read(2)`/`pread(2)` into `buf` (its full length).
            Read { fd: RawFd, buf: Vec<u8>, position: u64 } => {
                opcode: Read,
                syscall: "read",
                kernel: "5.6",
                sqe: opcode::Read::new(Fd(*fd), buf.as_mut_ptr(), buf.len() as u32).offset(*position).build(),
                output: Bytes => |n| Output::Bytes(&buf[..n.min(buf.len())]),
                recycle: |f| f(buf),
                js: [read(fd: Fd, buf: Into, position: Position) -> Number => $crate::Op::Read { fd, buf, position }],
            }
            /// `write(2)`/`pwrite(2)` of `buf`.
            Write { fd: RawFd, buf: Vec<u8>, position: u64 } => {
                opcode: Write,
                syscall: "write",
                kernel: "5.6",
                sqe: opcode::Write::new(Fd(*fd), buf.as_ptr(), buf.len() as u32).offset(*position).build(),
                recycle: |f| f(buf),
                js: [write(fd: Fd, buf: From, position: Position) -> Number => $crate::Op::Write { fd, buf, position }],
            }
            /// `preadv(2)` into `bufs`, in order. `iov` is filled at submission
            /// (make one with [`Op::readv`]).
            Readv { fd: RawFd, bufs: Vec<Vec<u8>>, iov: Iovecs, position: u64 } => {
                opcode: Readv,
                syscall: "readv",
                kernel: "5.1",
                // The iovecs are rebuilt from `bufs` here, at submission:
                // whatever was done to the fields before, they describe
                // exactly the buffers the op owns from now until its CQE.
                sqe: {
                    iov.0 = iovecs(bufs);
                    opcode::Readv::new(Fd(*fd), iov.0.as_ptr(), iov.0.len() as u32).offset(*position).build()
                },
                output: Segments => |n| Output::Segments { bufs, total: n },
                recycle: |f| bufs.into_iter().for_each(f),
                js: [readv(fd: Fd, bufs: IntoVecs, position: Position) -> Number => $crate::Op::readv(fd, bufs, position)],
            }
            /// `pwritev(2)` of `bufs`, in order. `iov` is filled at submission
            /// (make one with [`Op::writev`]).
            Writev { fd: RawFd, bufs: Vec<Vec<u8>>, iov: Iovecs, position: u64 } => {
                opcode: Writev,
                syscall: "writev",
                kernel: "5.1",
                sqe: {
                    iov.0 = iovecs(bufs);
                    opcode::Writev::new(Fd(*fd), iov.0.as_ptr(), iov.0.len() as u32).offset(*position).build()
                },
                recycle: |f| bufs.into_iter().for_each(f),
                js: [writev(fd: Fd, bufs: FromVecs, position: Position) -> Number => $crate::Op::writev(fd, bufs, position)],
            }
            /// `openat(2)`; completes with the new fd.
            Open { dirfd: RawFd, path: CString, flags: i32, mode: u32 } => {
                opcode: OpenAt,
                syscall: "open",
                kernel: "5.6",
                sqe: opcode::OpenAt::new(Fd(*dirfd), path.as_ptr()).flags(*flags | libc::O_CLOEXEC).mode(*mode).build(),
                produces_fd: true,
                js: [open(path: Path, flags: I32, mode: U32) -> Number =>
                    $crate::Op::Open { dirfd: libc::AT_FDCWD, path, flags, mode }],
            }
            /// `close(2)`.
            Close { fd: RawFd } => {
                opcode: Close,
                syscall: "close",
                kernel: "5.6",
                sqe: opcode::Close::new(Fd(*fd)).build(),
                js: [close(fd: Fd) -> Void => $crate::Op::Close { fd }],
            }
            /// `statx(2)` of `path` relative to `dirfd` (empty path + AT_EMPTY_PATH: the fd).
            Statx { dirfd: RawFd, path: CString, flags: i32, mask: u32, buf: Box<Stat> } => {
                opcode: Statx,
                syscall: "statx",
                kernel: "5.6",
                sqe: {
                    let out: *mut Stat = &mut **buf;
                    opcode::Statx::new(Fd(*dirfd), path.as_ptr(), out.cast()).flags(*flags).mask(*mask).build()
                },
                output: Stat => |n| Output::Stat(buf),
                // The fields go to the typed array at dsts[slot].
                js: [statx(dirfd: Fd, path: Path, flags: I32, mask: U32) -> Stat =>
                    $crate::Op::Statx { dirfd, path, flags, mask, buf: Default::default() }],
            }
            /// `fsync(2)`, or `fdatasync(2)` with `datasync`.
            Fsync { fd: RawFd, datasync: bool } => {
                opcode: Fsync,
                syscall: "fsync" | "fdatasync" => if *datasync { "fdatasync" } else { "fsync" },
                kernel: "5.1",
                sqe: {
                    let flags = if *datasync { types::FsyncFlags::DATASYNC } else { types::FsyncFlags::empty() };
                    opcode::Fsync::new(Fd(*fd)).flags(flags).build()
                },
                js: [fsync(fd: Fd, datasync: Bool) -> Void => $crate::Op::Fsync { fd, datasync }],
            }
            /// `socket(2)`; completes with the new fd (always close-on-exec).
            Socket { domain: i32, ty: i32, protocol: i32 } => {
                opcode: Socket,
                syscall: "socket",
                kernel: "5.19",
                sqe: opcode::Socket::new(*domain, *ty | libc::SOCK_CLOEXEC, *protocol).build(),
                fallback: Some(sys::socket(*domain, *ty, *protocol)),
                produces_fd: true,
                js: [socket(domain: I32, ty: I32, protocol: I32) -> Number => $crate::Op::Socket { domain, ty, protocol }],
            }
            /// `bind(2)`.
            Bind { fd: RawFd, addr: Box<SockAddr> } => {
                opcode: Bind,
                syscall: "bind",
                kernel: "6.11",
                sqe: opcode::Bind::new(Fd(*fd), addr.as_ptr(), addr.len()).build(),
                fallback: Some(sys::bind(*fd, addr.as_ptr(), addr.len())),
                js: [bind(fd: Fd, addr: Addr) -> Void => $crate::Op::Bind { fd, addr }],
            }
            /// `listen(2)`.
            Listen { fd: RawFd, backlog: i32 } => {
                opcode: Listen,
                syscall: "listen",
                kernel: "6.11",
                sqe: opcode::Listen::new(Fd(*fd), *backlog).build(),
                fallback: Some(sys::listen(*fd, *backlog)),
                js: [listen(fd: Fd, backlog: I32) -> Void => $crate::Op::Listen { fd, backlog }],
            }
            /// `setsockopt(2)` of an int-sized option: IORING_OP_URING_CMD with
            /// SOCKET_URING_OP_SETSOCKOPT (kernel 6.7). `value` is the op's own.
            SetSockOpt { fd: RawFd, level: i32, optname: i32, value: Box<i32> } => {
                opcode: SetSockOpt,
                syscall: "setsockopt",
                kernel: "6.7",
                sqe: {
                    let v: *const i32 = &**value;
                    opcode::SetSockOpt::new(Fd(*fd), *level as u32, *optname as u32, v.cast(), 4).build()
                },
                fallback: Some(sys::setsockopt(*fd, *level, *optname, **value)),
                // URING_CMD is older than its socket commands (5.19): a kernel
                // before 6.7, or an fd that is no socket, completes with
                // -EOPNOTSUPP, and the syscall tells the real answer (ENOTSOCK).
                fallback_when: |res| res == -libc::EOPNOTSUPP,
                js: [setsockopt(fd: Fd, level: I32, optname: I32, value: I32) -> Void =>
                    $crate::Op::SetSockOpt { fd, level, optname, value: Box::new(value) }],
            }
            /// `getsockopt(2)` into `value` (its full length): IORING_OP_URING_CMD
            /// with SOCKET_URING_OP_GETSOCKOPT (kernel 6.7); completes with the
            /// option's length.
            GetSockOpt { fd: RawFd, level: i32, optname: i32, value: Vec<u8> } => {
                opcode: SetSockOpt,
                syscall: "getsockopt",
                kernel: "6.7",
                sqe: getsockopt_entry(*fd, *level, *optname, value),
                fallback: Some(sys::getsockopt(*fd, *level, *optname, value)),
                // As setsockopt; the kernel's io_uring also refuses every level
                // but SOL_SOCKET (6.18), so TCP_NODELAY is always the syscall's.
                fallback_when: |res| res == -libc::EOPNOTSUPP,
                output: Bytes => |n| Output::Bytes(&value[..n.min(value.len())]),
                recycle: |f| f(value),
                js: [getsockopt(fd: Fd, level: I32, optname: I32, value: Into) -> Number =>
                    $crate::Op::GetSockOpt { fd, level, optname, value }],
            }
            /// `accept4(2)`; completes with the new fd.
            Accept { fd: RawFd, flags: i32 } => {
                opcode: Accept,
                syscall: "accept",
                kernel: "5.5",
                sqe: opcode::Accept::new(Fd(*fd), std::ptr::null_mut(), std::ptr::null_mut())
                    .flags(*flags | libc::SOCK_CLOEXEC)
                    .build(),
                produces_fd: true,
                js: [accept(fd: Fd, flags: I32) -> Number => $crate::Op::Accept { fd, flags }],
            }
            /// `connect(2)`.
            Connect { fd: RawFd, addr: Box<SockAddr> } => {
                opcode: Connect,
                syscall: "connect",
                kernel: "5.5",
                sqe: opcode::Connect::new(Fd(*fd), addr.as_ptr(), addr.len()).build(),
                js: [connect(fd: Fd, addr: Addr) -> Void => $crate::Op::Connect { fd, addr }],
            }
            /// `send(2)` of `buf`.
            Send { fd: RawFd, buf: Vec<u8>, flags: i32 } => {
                opcode: Send,
                syscall: "send",
                kernel: "5.6",
                // Always MSG_DONTWAIT: a send that would block completes with
                // -EAGAIN and the ring waits for POLLOUT itself (see
                // `waits_writable`), instead of the kernel's own poll-and-retry.
                // That retry reuses an iterator the failed attempt consumed: on
                // 6.18 a datagram to a full AF_UNIX receiver then goes out
                // empty and the send completes with 0.
                sqe: opcode::Send::new(Fd(*fd), buf.as_ptr(), buf.len() as u32)
                    .flags(*flags | libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT)
                    .build(),
                // A send the caller did not ask to be non-blocking.
                waits_writable: if *flags & libc::MSG_DONTWAIT == 0 { Some(*fd) } else { None },
                recycle: |f| f(buf),
                js: [send(fd: Fd, buf: From, flags: I32) -> Number => $crate::Op::Send { fd, buf, flags }],
            }
            /// `recv(2)` into `buf`.
            Recv { fd: RawFd, buf: Vec<u8>, flags: i32 } => {
                opcode: Recv,
                syscall: "recv",
                kernel: "5.6",
                sqe: opcode::Recv::new(Fd(*fd), buf.as_mut_ptr(), buf.len() as u32).flags(*flags).build(),
                output: Bytes => |n| Output::Bytes(&buf[..n.min(buf.len())]),
                recycle: |f| f(buf),
                js: [recv(fd: Fd, buf: Into, flags: I32) -> Number => $crate::Op::Recv { fd, buf, flags }],
            }
            /// `shutdown(2)`.
            Shutdown { fd: RawFd, how: i32 } => {
                opcode: Shutdown,
                syscall: "shutdown",
                kernel: "5.11",
                sqe: opcode::Shutdown::new(Fd(*fd), *how).build(),
                js: [shutdown(fd: Fd, how: I32) -> Void => $crate::Op::Shutdown { fd, how }],
            }
            /// A relative timer; completes with 0 when it fires (make one with
            /// [`Op::sleep_ns`]).
            Sleep { ts: Timespec } => {
                opcode: Timeout,
                syscall: "sleep",
                kernel: "5.4",
                sqe: opcode::Timeout::new(&*ts.0).build(),
                // A timer that fired is success.
                result: |res| if res == -libc::ETIME { 0 } else { res },
                js: [sleep(ns: Millis) -> Void => $crate::Op::sleep_ns(ns)],
            }
            /// A periodic timer (IORING_TIMEOUT_MULTISHOT, kernel 6.4): one
            /// completion (0) per period until cancelled (make one with
            /// [`Op::interval_ns`]). With `rearm` (set by the ring where the
            /// kernel lacks multishot timeouts) it is a one-shot timeout that
            /// the ring issues again after each tick.
            Interval { ts: Timespec, rearm: bool } => {
                opcode: Timeout,
                syscall: "interval",
                kernel: "6.4",
                sqe: {
                    let flags = if *rearm { types::TimeoutFlags::empty() } else { types::TimeoutFlags::MULTISHOT };
                    opcode::Timeout::new(&*ts.0).flags(flags).build()
                },
                // Each expiry is a tick.
                result: |res| if res == -libc::ETIME { 0 } else { res },
                multishot: None,
                js: [interval(ns: Millis) -> Stream => $crate::Op::interval_ns(ns)],
            }
            /// One-shot `poll(2)` of one fd; completes with the ready events.
            Poll { fd: RawFd, events: u32 } => {
                opcode: PollAdd,
                syscall: "poll",
                kernel: "5.1",
                sqe: opcode::PollAdd::new(Fd(*fd), *events).build(),
                js: [poll(fd: Fd, events: U32) -> Number => $crate::Op::Poll { fd, events }],
            }
            /// `unlinkat(2)`; `flags` AT_REMOVEDIR removes a directory.
            Unlink { dirfd: RawFd, path: CString, flags: i32 } => {
                opcode: UnlinkAt,
                syscall: "unlink" | "rmdir" => if *flags & libc::AT_REMOVEDIR != 0 { "rmdir" } else { "unlink" },
                kernel: "5.11",
                sqe: opcode::UnlinkAt::new(Fd(*dirfd), path.as_ptr()).flags(*flags).build(),
                js: [unlink(path: Path, flags: I32) -> Void => $crate::Op::Unlink { dirfd: libc::AT_FDCWD, path, flags }],
            }
            /// `renameat2(2)`.
            Rename { from: CString, to: CString, flags: u32 } => {
                opcode: RenameAt,
                syscall: "rename",
                kernel: "5.11",
                sqe: {
                    let cwd = Fd(libc::AT_FDCWD);
                    opcode::RenameAt::new(cwd, from.as_ptr(), cwd, to.as_ptr()).flags(*flags).build()
                },
                js: [rename(from: Path, to: Path, flags: U32) -> Void => $crate::Op::Rename { from, to, flags }],
            }
            /// `mkdirat(2)`.
            Mkdir { dirfd: RawFd, path: CString, mode: u32 } => {
                opcode: MkDirAt,
                syscall: "mkdir",
                kernel: "5.15",
                sqe: opcode::MkDirAt::new(Fd(*dirfd), path.as_ptr()).mode(*mode).build(),
                js: [mkdir(path: Path, mode: U32) -> Void => $crate::Op::Mkdir { dirfd: libc::AT_FDCWD, path, mode }],
            }
            /// `symlinkat(2)`: a link at `path` whose content is `target`.
            Symlink { target: CString, path: CString } => {
                opcode: SymlinkAt,
                syscall: "symlink",
                kernel: "5.15",
                sqe: opcode::SymlinkAt::new(Fd(libc::AT_FDCWD), target.as_ptr(), path.as_ptr()).build(),
                js: [symlink(target: Path, path: Path) -> Void => $crate::Op::Symlink { target, path }],
            }
            /// `linkat(2)`: a new name `to` for the file `from`.
            Link { from: CString, to: CString, flags: i32 } => {
                opcode: LinkAt,
                syscall: "link",
                kernel: "5.15",
                sqe: {
                    let cwd = Fd(libc::AT_FDCWD);
                    opcode::LinkAt::new(cwd, from.as_ptr(), cwd, to.as_ptr()).flags(*flags).build()
                },
                js: [link(from: Path, to: Path) -> Void => $crate::Op::Link { from, to, flags: 0 }],
            }
            /// `ftruncate(2)`.
            Ftruncate { fd: RawFd, len: u64 } => {
                opcode: Ftruncate,
                syscall: "ftruncate",
                kernel: "6.9",
                sqe: opcode::Ftruncate::new(Fd(*fd), *len).build(),
                // IORING_OP_FTRUNCATE is 6.9; the others of its kind predate 5.19.
                fallback: Some(sys::ftruncate(*fd, *len)),
                js: [ftruncate(fd: Fd, len: Size) -> Void => $crate::Op::Ftruncate { fd, len }],
            }
            /// `fallocate(2)`.
            Fallocate { fd: RawFd, mode: i32, offset: u64, len: u64 } => {
                opcode: Fallocate,
                syscall: "fallocate",
                kernel: "5.6",
                sqe: opcode::Fallocate::new(Fd(*fd), *len).offset(*offset).mode(*mode).build(),
                js: [fallocate(fd: Fd, mode: I32, offset: Size, len: Count) -> Void =>
                    $crate::Op::Fallocate { fd, mode, offset, len }],
            }
            /// `posix_fadvise(2)`.
            Fadvise { fd: RawFd, offset: u64, len: i64, advice: i32 } => {
                opcode: Fadvise,
                syscall: "fadvise",
                kernel: "5.6",
                sqe: opcode::Fadvise::new(Fd(*fd), *len as libc::off_t, *advice).offset(*offset).build(),
                js: [fadvise(fd: Fd, offset: Size, len: Size, advice: I32) -> Void =>
                    $crate::Op::Fadvise { fd, offset, len: len as i64, advice }],
            }
            /// Sleeps while the word equals `expected` until a wake (kernel 6.7):
            /// completes with 0 when woken, `-EAGAIN` if the word differed.
            FutexWait { word: FutexWord, expected: u32 } => {
                opcode: FutexWait,
                syscall: "futex_wait",
                kernel: "6.7",
                sqe: opcode::FutexWait::new(word.0, *expected as u64, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE)
                    .build(),
                js: [futexWait(word: Futex, expected: I32) -> FutexWait =>
                    $crate::Op::FutexWait { word, expected: expected as u32 }],
            }
            /// Wakes up to `count` waiters of the word (kernel 6.7); completes with
            /// the number woken.
            FutexWake { word: FutexWord, count: u32 } => {
                opcode: FutexWake,
                syscall: "futex_wake",
                kernel: "6.7",
                sqe: opcode::FutexWake::new(word.0, *count as u64, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE)
                    .build(),
                js: [futexWake(word: Futex, count: U32) -> Number => $crate::Op::FutexWake { word, count }],
            }
            /// `splice(2)`: moves up to `len` bytes between two fds, one a pipe,
            /// without user space. An offset of -1 uses (and moves) the fd's position.
            Splice { fd_in: RawFd, off_in: i64, fd_out: RawFd, off_out: i64, len: u32, flags: u32 } => {
                opcode: Splice,
                syscall: "splice",
                kernel: "5.7",
                sqe: opcode::Splice::new(Fd(*fd_in), *off_in, Fd(*fd_out), *off_out, *len).flags(*flags).build(),
                js: [splice(fd_in: Fd, off_in: Offset, fd_out: Fd, off_out: Offset, len: U32, flags: U32) -> Number =>
                    $crate::Op::Splice { fd_in, off_in, fd_out, off_out, len, flags }],
            }
            /// `tee(2)`: copies up to `len` bytes from one pipe to another without
            /// consuming them.
            Tee { fd_in: RawFd, fd_out: RawFd, len: u32, flags: u32 } => {
                opcode: Tee,
                syscall: "tee",
                kernel: "5.8",
                sqe: opcode::Tee::new(Fd(*fd_in), Fd(*fd_out), *len).flags(*flags).build(),
                js: [tee(fd_in: Fd, fd_out: Fd, len: U32, flags: U32) -> Number => $crate::Op::Tee { fd_in, fd_out, len, flags }],
            }
            /// `getxattr(2)` into `value` (its full length); completes with the size.
            GetXattr { path: CString, name: CString, value: Vec<u8> } => {
                opcode: GetXattr,
                syscall: "getxattr",
                kernel: "5.19",
                sqe: opcode::GetXattr::new(name.as_ptr(), value.as_mut_ptr().cast(), path.as_ptr(), value.len() as u32).build(),
                output: Bytes => |n| Output::Bytes(&value[..n.min(value.len())]),
                recycle: |f| f(value),
                js: [getxattr(path: Path, name: Name, value: Into) -> Number => $crate::Op::GetXattr { path, name, value }],
            }
            /// `fgetxattr(2)` into `value`; completes with the size.
            FGetXattr { fd: RawFd, name: CString, value: Vec<u8> } => {
                opcode: FGetXattr,
                syscall: "fgetxattr",
                kernel: "5.19",
                sqe: opcode::FGetXattr::new(Fd(*fd), name.as_ptr(), value.as_mut_ptr().cast(), value.len() as u32).build(),
                output: Bytes => |n| Output::Bytes(&value[..n.min(value.len())]),
                recycle: |f| f(value),
                js: [fgetxattr(fd: Fd, name: Name, value: Into) -> Number => $crate::Op::FGetXattr { fd, name, value }],
            }
            /// `setxattr(2)`; `flags` XATTR_CREATE or XATTR_REPLACE.
            SetXattr { path: CString, name: CString, value: Vec<u8>, flags: i32 } => {
                opcode: SetXattr,
                syscall: "setxattr",
                kernel: "5.19",
                sqe: opcode::SetXattr::new(name.as_ptr(), value.as_ptr().cast(), path.as_ptr(), value.len() as u32)
                    .flags(*flags)
                    .build(),
                recycle: |f| f(value),
                js: [setxattr(path: Path, name: Name, value: From, flags: I32) -> Void =>
                    $crate::Op::SetXattr { path, name, value, flags }],
            }
            /// `fsetxattr(2)`.
            FSetXattr { fd: RawFd, name: CString, value: Vec<u8>, flags: i32 } => {
                opcode: FSetXattr,
                syscall: "fsetxattr",
                kernel: "5.19",
                sqe: opcode::FSetXattr::new(Fd(*fd), name.as_ptr(), value.as_ptr().cast(), value.len() as u32)
                    .flags(*flags)
                    .build(),
                recycle: |f| f(value),
                js: [fsetxattr(fd: Fd, name: Name, value: From, flags: I32) -> Void =>
                    $crate::Op::FSetXattr { fd, name, value, flags }],
            }
            /// `waitid(2)` (kernel 6.7): `idtype` P_PID, P_PIDFD, P_PGID or P_ALL.
            /// Make one with [`Op::waitid`].
            WaitId { idtype: u32, id: u32, options: i32, info: SigInfo } => {
                opcode: WaitId,
                syscall: "waitid",
                kernel: "6.7",
                sqe: {
                    let infop: *mut libc::siginfo_t = &mut *info.0;
                    opcode::WaitId::new(*idtype as libc::idtype_t, *id as libc::id_t, *options).infop(infop).build()
                },
                output: Child => |n| Output::Child($crate::process::ChildStatus::from_siginfo(&info.0)),
                // [pid, code, status] go to the Float64Array at dsts[slot].
                js: [waitid(idtype: U32, id: U32, options: I32) -> Child => $crate::Op::waitid(idtype, id, options)],
            }
            /// Multishot `recv(2)` (kernel 6.0): one completion per arrival, each
            /// with a buffer of the provided-buffer `group`, until end of stream,
            /// an error, a cancel, or the group running dry (`-ENOBUFS`).
            RecvMulti { fd: RawFd, group: u16, flags: i32 } => {
                opcode: RecvMulti,
                syscall: "recv",
                kernel: "6.0",
                sqe: opcode::RecvMulti::new(Fd(*fd), *group).flags(*flags).build(),
                multishot: Some(*group),
                // Each chunk is staged into the view at dsts[slot].
                js: [recvMulti(fd: Fd, group: U16, flags: I32) -> Stream => $crate::Op::RecvMulti { fd, group, flags }],
            }
            /// Multishot `read(2)` of a pollable fd (pipe, socket, tty; kernel 6.7),
            /// like [`Op::RecvMulti`].
            ReadMulti { fd: RawFd, group: u16 } => {
                opcode: ReadMulti,
                syscall: "read",
                kernel: "6.7",
                sqe: opcode::ReadMulti::new(Fd(*fd), 0, *group).build(),
                multishot: Some(*group),
                js: [readMulti(fd: Fd, group: U16) -> Stream => $crate::Op::ReadMulti { fd, group }],
            }
            /// Multishot `accept4(2)` (kernel 5.19): one completion per connection.
            AcceptMulti { fd: RawFd, flags: i32 } => {
                opcode: AcceptMulti,
                syscall: "accept",
                kernel: "5.19",
                sqe: opcode::AcceptMulti::new(Fd(*fd)).flags(*flags | libc::SOCK_CLOEXEC).build(),
                produces_fd: true,
                multishot: None,
                js: [acceptMulti(fd: Fd, flags: I32) -> Stream => $crate::Op::AcceptMulti { fd, flags }],
            }
            /// `pread(2)` into a registered buffer (no copy on either side).
            ReadFixed { fd: RawFd, buf: FixedSlice, position: u64 } => {
                opcode: ReadFixed,
                syscall: "read",
                kernel: "5.1",
                sqe: opcode::ReadFixed::new(Fd(*fd), buf.ptr(), buf.len, buf.table_index).offset(*position).build(),
                js: [readFixed(fd: Fd, buf: Fixed, position: Position) -> Number => $crate::Op::ReadFixed { fd, buf, position }],
            }
            /// `pwrite(2)` from a registered buffer.
            WriteFixed { fd: RawFd, buf: FixedSlice, position: u64 } => {
                opcode: WriteFixed,
                syscall: "write",
                kernel: "5.1",
                sqe: opcode::WriteFixed::new(Fd(*fd), buf.ptr(), buf.len, buf.table_index).offset(*position).build(),
                js: [writeFixed(fd: Fd, buf: Fixed, position: Position) -> Number => $crate::Op::WriteFixed { fd, buf, position }],
            }
            /// Zero-copy `send(2)` (kernel 6.0): the kernel sends from the buffer
            /// itself, and the op completes once the kernel has let go of it.
            SendZc { fd: RawFd, data: ZcData, flags: i32 } => {
                opcode: SendZc,
                syscall: "send",
                kernel: "6.0",
                sqe: {
                    let flags = *flags | libc::MSG_NOSIGNAL;
                    match data {
                        ZcData::Owned(b) => opcode::SendZc::new(Fd(*fd), b.as_ptr(), b.len() as u32).flags(flags).build(),
                        ZcData::Fixed(s) => opcode::SendZc::new(Fd(*fd), s.ptr(), s.len)
                            .buf_index(Some(s.table_index))
                            .flags(flags)
                            .build(),
                    }
                },
                recycle: |f| if let ZcData::Owned(buf) = data { f(buf) },
                js: [
                    // The bytes are copied in now; the kernel then sends from
                    // that copy without copying again.
                    sendZc(fd: Fd, data: From, flags: I32) -> Number =>
                        $crate::Op::SendZc { fd, data: $crate::ZcData::Owned(data), flags },
                    sendZcFixed(fd: Fd, data: Fixed, flags: I32) -> Number =>
                        $crate::Op::SendZc { fd, data: $crate::ZcData::Fixed(data), flags },
                ],
            }
            /// Posts a completion (`data`, `value`) to another ring (IORING_OP_MSG_RING,
            /// kernel 5.18); see [`crate::Ring::take_messages`]. `to` is the target
            /// ring's [`crate::Ring::id`]: a post to a ring that has gone away fails
            /// with `-EBADF` even where its fd number now names another ring (0
            /// skips that check, for a value only). With `fd`, the message carries
            /// that fd: a duplicate this op owns until the target ring reaps the
            /// message. It is closed if it cannot be posted, and by the target if
            /// that goes away before it took it (see `crate::msg`).
            MsgRing { target: RawFd, to: u32, data: u64, value: i32, fd: Option<RawFd> } => {
                opcode: MsgRingData,
                syscall: "msg_ring",
                kernel: "5.18",
                sqe: {
                    let (value, carries) = match fd {
                        Some(fd) => (*fd, MSG_FD),
                        None => (*value, 0),
                    };
                    opcode::MsgRingData::new(Fd(*target), value, *data & MSG_DATA_MASK | TAG_MSG | carries, None).build()
                },
                js: [
                    // Posts `value` to another Machine (its ring's id doubles
                    // as the message's data).
                    msgRing(target: Fd, to: U32, value: I32) -> Void =>
                        $crate::Op::MsgRing { target, to, data: to as u64, value, fd: None },
                    // Posts a duplicate of `fd`, which the op owns until the
                    // receiver takes it (closed if the post fails, or if the
                    // receiver goes away first).
                    msgRingFd(target: Fd, to: U32, fd: DupFd) -> Void =>
                        $crate::Op::MsgRing { target, to, data: to as u64, value: 0, fd: Some(fd) },
                ],
            }
            /// `getaddrinfo(3)` on the resolver pool, completed through this ring.
            Resolve { lookup: Arc<Lookup> } => {
                // Completes through a MSG_RING (see crate::resolve).
                opcode: MsgRingData,
                syscall: "getaddrinfo",
                kernel: "5.18",
                // Never an SQE of its own: the ring hands it to the resolver pool.
                sqe: opcode::Nop::new().build(),
                output: Addresses => |n| Output::Addresses(lookup.addresses()),
                // The addresses (as strings) are pushed onto the array at dsts[slot].
                js: [resolve(host: Name, family: I32) -> Resolve =>
                    $crate::Op::Resolve { lookup: $crate::Lookup::new(host, family) }],
            }
            /// Cancels every op in flight on `fd` (kernel 5.19); completes with how
            /// many were found (they complete with `-ECANCELED`).
            CancelFd { fd: RawFd } => {
                opcode: AsyncCancel2,
                syscall: "async_cancel",
                kernel: "5.19",
                sqe: opcode::AsyncCancel2::new(types::CancelBuilder::fd(Fd(*fd)).all()).build(),
                result: |res| if res == -libc::ENOENT { 0 } else { res },
                js: [cancelFd(fd: Fd) -> Number => $crate::Op::CancelFd { fd }],
            }
        }
    };
}

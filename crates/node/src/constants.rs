//! The kernel constants users pass to ops, taken from the `libc` crate for
//! the target this addon is built for (x86-64 and arm64 differ, e.g. in
//! O_DIRECTORY, O_NOFOLLOW, O_DIRECT and so O_TMPFILE), and the result codes
//! the bridge adds to errno, both handed to JS as named objects.

use std::ffi::CStr;
use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use crate::state;

macro_rules! table {
    ($($name:ident),* $(,)?) => {
        &[$((concat_c!($name), libc::$name as f64)),*]
    };
}

macro_rules! concat_c {
    ($name:ident) => {
        // SAFETY: the literal ends in its only NUL.
        unsafe { CStr::from_bytes_with_nul_unchecked(concat!(stringify!($name), "\0").as_bytes()) }
    };
}

/// Every constant constants.ts exports, by its C name.
const KERNEL: &[(&CStr, f64)] = table![
    // open(2)
    O_RDONLY,
    O_WRONLY,
    O_RDWR,
    O_CREAT,
    O_EXCL,
    O_NOCTTY,
    O_TRUNC,
    O_APPEND,
    O_DIRECTORY,
    O_NOATIME,
    O_NOFOLLOW,
    O_SYNC,
    O_DSYNC,
    O_DIRECT,
    O_NONBLOCK,
    O_CLOEXEC,
    O_PATH,
    O_TMPFILE,
    // sockets
    AF_UNIX,
    AF_INET,
    AF_INET6,
    SOCK_STREAM,
    SOCK_DGRAM,
    SOCK_SEQPACKET,
    SOCK_NONBLOCK,
    SOCK_CLOEXEC,
    IPPROTO_TCP,
    IPPROTO_UDP,
    // setsockopt(2)/getsockopt(2)
    SOL_SOCKET,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SO_KEEPALIVE,
    SO_RCVBUF,
    SO_SNDBUF,
    TCP_NODELAY,
    // poll(2)
    POLLIN,
    POLLPRI,
    POLLOUT,
    POLLERR,
    POLLHUP,
    POLLNVAL,
    POLLRDHUP,
    // shutdown(2), send(2)/recv(2)
    SHUT_RD,
    SHUT_WR,
    SHUT_RDWR,
    MSG_OOB,
    MSG_PEEK,
    MSG_DONTWAIT,
    MSG_WAITALL,
    MSG_NOSIGNAL,
    MSG_MORE,
    // *at, statx
    AT_FDCWD,
    AT_SYMLINK_NOFOLLOW,
    AT_EMPTY_PATH,
    STATX_BASIC_STATS,
    STATX_BTIME,
    // unlinkat, renameat2, fallocate, posix_fadvise
    AT_REMOVEDIR,
    RENAME_NOREPLACE,
    RENAME_EXCHANGE,
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,
    FALLOC_FL_ZERO_RANGE,
    POSIX_FADV_NORMAL,
    POSIX_FADV_RANDOM,
    POSIX_FADV_SEQUENTIAL,
    POSIX_FADV_WILLNEED,
    POSIX_FADV_DONTNEED,
    POSIX_FADV_NOREUSE,
    // setxattr(2), splice(2)/tee(2)
    XATTR_CREATE,
    XATTR_REPLACE,
    SPLICE_F_MOVE,
    SPLICE_F_NONBLOCK,
    SPLICE_F_MORE,
    // waitid(2)
    P_ALL,
    P_PID,
    P_PGID,
    P_PIDFD,
    WNOHANG,
    WSTOPPED,
    WEXITED,
    WCONTINUED,
    WNOWAIT,
    CLD_EXITED,
    CLD_KILLED,
    CLD_DUMPED,
    CLD_TRAPPED,
    CLD_STOPPED,
    CLD_CONTINUED,
    // mode bits
    S_IFMT,
    S_IFREG,
    S_IFDIR,
    S_IFCHR,
    S_IFBLK,
    S_IFIFO,
    S_IFLNK,
    S_IFSOCK,
];

/// This target's kernel constants, `{ O_TMPFILE: ..., ... }`.
#[napi]
pub fn kernel_constants(env: &Env) -> Result<Unknown<'_>> {
    let raw = env.raw();
    // SAFETY: napi calls on the live env of this call; names are C strings.
    unsafe {
        let mut obj = ptr::null_mut();
        sys::napi_create_object(raw, &mut obj);
        for (name, value) in KERNEL {
            let mut v = ptr::null_mut();
            sys::napi_create_double(raw, *value, &mut v);
            sys::napi_set_named_property(raw, obj, name.as_ptr(), v);
        }
        Unknown::from_napi_value(raw, obj)
    }
}

/// The codes a completion pair carries beyond errno (see `state`).
#[napi(object)]
pub struct ResultCodes {
    /// A read's destination view was detached or shrunk in flight.
    pub detached: i32,
    /// The ring is closed.
    pub closed: i32,
    /// Set on a pair's slot when more completions of the op follow.
    pub slot_more: i32,
    /// A pair's slot for a value another Machine posted.
    pub slot_message: i32,
    /// A pair's slot for an fd another Machine passed.
    pub slot_message_fd: i32,
}

#[napi]
pub fn result_codes() -> ResultCodes {
    ResultCodes {
        detached: state::RES_DETACHED,
        closed: state::RES_CLOSED,
        slot_more: state::SLOT_MORE,
        slot_message: state::SLOT_MESSAGE,
        slot_message_fd: state::SLOT_MESSAGE_FD,
    }
}

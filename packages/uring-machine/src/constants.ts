// Kernel constants users pass to ops. The addon hands over this target's
// values from the libc crate (crates/node/src/constants.rs): x86-64 and
// arm64 do not share all of them (O_DIRECTORY, O_NOFOLLOW, O_DIRECT, hence
// O_TMPFILE). Without the addon (a NodeScheduler-only platform) they come
// from node:fs where it has them, and the rest are Linux's generic values
// (the same on x86-64 and arm64), O_TMPFILE made from node's O_DIRECTORY.
import { constants as os } from 'node:os'
import { constants as fs } from 'node:fs'
import { binding } from './native'

type Table = Record<string, number>

/** node:fs's value of `name` if it has one, else Linux's generic one. */
function nodeFs (name: string, linux: number): number {
  const v = (fs as unknown as Table)[name]
  return typeof v === 'number' ? v : linux
}

function fallback (): Table {
  const O_DIRECTORY = nodeFs('O_DIRECTORY', 0o200000)
  return {
    O_RDONLY: nodeFs('O_RDONLY', 0),
    O_WRONLY: nodeFs('O_WRONLY', 1),
    O_RDWR: nodeFs('O_RDWR', 2),
    O_CREAT: nodeFs('O_CREAT', 0o100),
    O_EXCL: nodeFs('O_EXCL', 0o200),
    O_NOCTTY: nodeFs('O_NOCTTY', 0o400),
    O_TRUNC: nodeFs('O_TRUNC', 0o1000),
    O_APPEND: nodeFs('O_APPEND', 0o2000),
    O_DIRECTORY,
    O_NOATIME: nodeFs('O_NOATIME', 0o1000000),
    O_NOFOLLOW: nodeFs('O_NOFOLLOW', 0o400000),
    O_SYNC: nodeFs('O_SYNC', 0o4010000),
    O_DSYNC: nodeFs('O_DSYNC', 0o10000),
    O_DIRECT: nodeFs('O_DIRECT', 0o40000),
    O_NONBLOCK: nodeFs('O_NONBLOCK', 0o4000),
    // node:fs lacks these three; O_TMPFILE is __O_TMPFILE | O_DIRECTORY.
    O_CLOEXEC: 0o2000000,
    O_PATH: 0o10000000,
    O_TMPFILE: 0o20000000 | O_DIRECTORY,
    S_IFMT: nodeFs('S_IFMT', 0o170000),
    S_IFREG: nodeFs('S_IFREG', 0o100000),
    S_IFDIR: nodeFs('S_IFDIR', 0o40000),
    S_IFCHR: nodeFs('S_IFCHR', 0o20000),
    S_IFBLK: nodeFs('S_IFBLK', 0o60000),
    S_IFIFO: nodeFs('S_IFIFO', 0o10000),
    S_IFLNK: nodeFs('S_IFLNK', 0o120000),
    S_IFSOCK: nodeFs('S_IFSOCK', 0o140000),
    AF_UNIX: 1,
    AF_INET: 2,
    AF_INET6: 10,
    SOCK_STREAM: 1,
    SOCK_DGRAM: 2,
    SOCK_SEQPACKET: 5,
    SOCK_NONBLOCK: 0o4000,
    SOCK_CLOEXEC: 0o2000000,
    IPPROTO_TCP: 6,
    IPPROTO_UDP: 17,
    POLLIN: 0x001,
    POLLPRI: 0x002,
    POLLOUT: 0x004,
    POLLERR: 0x008,
    POLLHUP: 0x010,
    POLLNVAL: 0x020,
    POLLRDHUP: 0x2000,
    SHUT_RD: 0,
    SHUT_WR: 1,
    SHUT_RDWR: 2,
    MSG_OOB: 0x1,
    MSG_PEEK: 0x2,
    MSG_DONTWAIT: 0x40,
    MSG_WAITALL: 0x100,
    MSG_NOSIGNAL: 0x4000,
    MSG_MORE: 0x8000,
    AT_FDCWD: -100,
    AT_SYMLINK_NOFOLLOW: 0x100,
    AT_EMPTY_PATH: 0x1000,
    STATX_BASIC_STATS: 0x7ff,
    STATX_BTIME: 0x800,
    AT_REMOVEDIR: 0x200,
    RENAME_NOREPLACE: 1,
    RENAME_EXCHANGE: 2,
    FALLOC_FL_KEEP_SIZE: 0x01,
    FALLOC_FL_PUNCH_HOLE: 0x02,
    FALLOC_FL_ZERO_RANGE: 0x10,
    POSIX_FADV_NORMAL: 0,
    POSIX_FADV_RANDOM: 1,
    POSIX_FADV_SEQUENTIAL: 2,
    POSIX_FADV_WILLNEED: 3,
    POSIX_FADV_DONTNEED: 4,
    POSIX_FADV_NOREUSE: 5,
    XATTR_CREATE: 1,
    XATTR_REPLACE: 2,
    SPLICE_F_MOVE: 1,
    SPLICE_F_NONBLOCK: 2,
    SPLICE_F_MORE: 4,
    P_ALL: 0,
    P_PID: 1,
    P_PGID: 2,
    P_PIDFD: 3,
    WNOHANG: 1,
    WSTOPPED: 2,
    WEXITED: 4,
    WCONTINUED: 8,
    WNOWAIT: 0x01000000,
    CLD_EXITED: 1,
    CLD_KILLED: 2,
    CLD_DUMPED: 3,
    CLD_TRAPPED: 4,
    CLD_STOPPED: 5,
    CLD_CONTINUED: 6,
  }
}

const K: Table = binding !== null ? binding.kernelConstants() : fallback()

/** `open(2)` flags. */
export const O_RDONLY = K.O_RDONLY
export const O_WRONLY = K.O_WRONLY
export const O_RDWR = K.O_RDWR
export const O_CREAT = K.O_CREAT
export const O_EXCL = K.O_EXCL
export const O_NOCTTY = K.O_NOCTTY
export const O_TRUNC = K.O_TRUNC
export const O_APPEND = K.O_APPEND
export const O_DIRECTORY = K.O_DIRECTORY
export const O_NOATIME = K.O_NOATIME
export const O_NOFOLLOW = K.O_NOFOLLOW
export const O_SYNC = K.O_SYNC
export const O_DSYNC = K.O_DSYNC
export const O_DIRECT = K.O_DIRECT
export const O_NONBLOCK = K.O_NONBLOCK
export const O_CLOEXEC = K.O_CLOEXEC
export const O_PATH = K.O_PATH
export const O_TMPFILE = K.O_TMPFILE

/** Socket domains, types and protocols. */
export const AF_UNIX = K.AF_UNIX
export const AF_INET = K.AF_INET
export const AF_INET6 = K.AF_INET6
export const SOCK_STREAM = K.SOCK_STREAM
export const SOCK_DGRAM = K.SOCK_DGRAM
export const SOCK_SEQPACKET = K.SOCK_SEQPACKET
export const SOCK_NONBLOCK = K.SOCK_NONBLOCK
export const SOCK_CLOEXEC = K.SOCK_CLOEXEC
export const IPPROTO_TCP = K.IPPROTO_TCP
export const IPPROTO_UDP = K.IPPROTO_UDP

/** `poll(2)` events. */
export const POLLIN = K.POLLIN
export const POLLPRI = K.POLLPRI
export const POLLOUT = K.POLLOUT
export const POLLERR = K.POLLERR
export const POLLHUP = K.POLLHUP
export const POLLNVAL = K.POLLNVAL
export const POLLRDHUP = K.POLLRDHUP

/** `shutdown(2)` directions. */
export const SHUT_RD = K.SHUT_RD
export const SHUT_WR = K.SHUT_WR
export const SHUT_RDWR = K.SHUT_RDWR

/** `send(2)`/`recv(2)` flags (MSG_NOSIGNAL is always added to sends). */
export const MSG_OOB = K.MSG_OOB
export const MSG_PEEK = K.MSG_PEEK
export const MSG_DONTWAIT = K.MSG_DONTWAIT
export const MSG_WAITALL = K.MSG_WAITALL
export const MSG_NOSIGNAL = K.MSG_NOSIGNAL
export const MSG_MORE = K.MSG_MORE

/** `*at` and statx flags. */
export const AT_FDCWD = K.AT_FDCWD
export const AT_SYMLINK_NOFOLLOW = K.AT_SYMLINK_NOFOLLOW
export const AT_EMPTY_PATH = K.AT_EMPTY_PATH
export const STATX_BASIC_STATS = K.STATX_BASIC_STATS
export const STATX_BTIME = K.STATX_BTIME

/** `unlinkat(2)`, `renameat2(2)`, `fallocate(2)` and `posix_fadvise(2)` flags. */
export const AT_REMOVEDIR = K.AT_REMOVEDIR
export const RENAME_NOREPLACE = K.RENAME_NOREPLACE
export const RENAME_EXCHANGE = K.RENAME_EXCHANGE
export const FALLOC_FL_KEEP_SIZE = K.FALLOC_FL_KEEP_SIZE
export const FALLOC_FL_PUNCH_HOLE = K.FALLOC_FL_PUNCH_HOLE
export const FALLOC_FL_ZERO_RANGE = K.FALLOC_FL_ZERO_RANGE
export const POSIX_FADV_NORMAL = K.POSIX_FADV_NORMAL
export const POSIX_FADV_RANDOM = K.POSIX_FADV_RANDOM
export const POSIX_FADV_SEQUENTIAL = K.POSIX_FADV_SEQUENTIAL
export const POSIX_FADV_WILLNEED = K.POSIX_FADV_WILLNEED
export const POSIX_FADV_DONTNEED = K.POSIX_FADV_DONTNEED
export const POSIX_FADV_NOREUSE = K.POSIX_FADV_NOREUSE

/** `setxattr(2)` flags. */
export const XATTR_CREATE = K.XATTR_CREATE
export const XATTR_REPLACE = K.XATTR_REPLACE

/** `splice(2)`/`tee(2)` flags. */
export const SPLICE_F_MOVE = K.SPLICE_F_MOVE
export const SPLICE_F_NONBLOCK = K.SPLICE_F_NONBLOCK
export const SPLICE_F_MORE = K.SPLICE_F_MORE

/** `waitid(2)` id types, options and child codes. */
export const P_ALL = K.P_ALL
export const P_PID = K.P_PID
export const P_PGID = K.P_PGID
export const P_PIDFD = K.P_PIDFD
export const WNOHANG = K.WNOHANG
export const WSTOPPED = K.WSTOPPED
export const WEXITED = K.WEXITED
export const WCONTINUED = K.WCONTINUED
export const WNOWAIT = K.WNOWAIT
export const CLD_EXITED = K.CLD_EXITED
export const CLD_KILLED = K.CLD_KILLED
export const CLD_DUMPED = K.CLD_DUMPED
export const CLD_TRAPPED = K.CLD_TRAPPED
export const CLD_STOPPED = K.CLD_STOPPED
export const CLD_CONTINUED = K.CLD_CONTINUED

/** File type bits of `mode`. */
export const S_IFMT = K.S_IFMT
export const S_IFREG = K.S_IFREG
export const S_IFDIR = K.S_IFDIR
export const S_IFCHR = K.S_IFCHR
export const S_IFBLK = K.S_IFBLK
export const S_IFIFO = K.S_IFIFO
export const S_IFLNK = K.S_IFLNK
export const S_IFSOCK = K.S_IFSOCK

/**
 * The socket options `setsockopt`/`getsockopt` take: [level, optname,
 * boolean?], numbers from the addon's libc (undefined without it, when no
 * op runs anyway).
 */
export const SOCKET_OPTIONS: Readonly<Record<string, readonly [number, number, boolean]>> = {
  TCP_NODELAY: [K.IPPROTO_TCP, K.TCP_NODELAY, true],
  SO_REUSEADDR: [K.SOL_SOCKET, K.SO_REUSEADDR, true],
  SO_REUSEPORT: [K.SOL_SOCKET, K.SO_REUSEPORT, true],
  SO_KEEPALIVE: [K.SOL_SOCKET, K.SO_KEEPALIVE, true],
  SO_RCVBUF: [K.SOL_SOCKET, K.SO_RCVBUF, false],
  SO_SNDBUF: [K.SOL_SOCKET, K.SO_SNDBUF, false]
}

/** errno values by name (Node's table). */
export const errno = os.errno

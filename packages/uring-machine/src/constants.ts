// Kernel constants users pass to ops (x86-64 and arm64 Linux share these).
import { constants as os } from 'node:os'
import { constants as fs } from 'node:fs'

/** `open(2)` flags. */
export const O_RDONLY = fs.O_RDONLY
export const O_WRONLY = fs.O_WRONLY
export const O_RDWR = fs.O_RDWR
export const O_CREAT = fs.O_CREAT
export const O_EXCL = fs.O_EXCL
export const O_NOCTTY = fs.O_NOCTTY
export const O_TRUNC = fs.O_TRUNC
export const O_APPEND = fs.O_APPEND
export const O_DIRECTORY = fs.O_DIRECTORY
export const O_NOATIME = fs.O_NOATIME
export const O_NOFOLLOW = fs.O_NOFOLLOW
export const O_SYNC = fs.O_SYNC
export const O_DSYNC = fs.O_DSYNC
export const O_DIRECT = fs.O_DIRECT
export const O_NONBLOCK = fs.O_NONBLOCK
export const O_CLOEXEC = 0o2000000
export const O_PATH = 0o10000000
export const O_TMPFILE = 0o20200000

/** Socket domains, types and protocols. */
export const AF_UNIX = 1
export const AF_INET = 2
export const AF_INET6 = 10
export const SOCK_STREAM = 1
export const SOCK_DGRAM = 2
export const SOCK_SEQPACKET = 5
export const SOCK_NONBLOCK = 0o4000
export const SOCK_CLOEXEC = 0o2000000
export const IPPROTO_TCP = 6
export const IPPROTO_UDP = 17

/** `poll(2)` events. */
export const POLLIN = 0x001
export const POLLPRI = 0x002
export const POLLOUT = 0x004
export const POLLERR = 0x008
export const POLLHUP = 0x010
export const POLLNVAL = 0x020
export const POLLRDHUP = 0x2000

/** `shutdown(2)` directions. */
export const SHUT_RD = 0
export const SHUT_WR = 1
export const SHUT_RDWR = 2

/** `send(2)`/`recv(2)` flags (MSG_NOSIGNAL is always added to sends). */
export const MSG_OOB = 0x1
export const MSG_PEEK = 0x2
export const MSG_DONTWAIT = 0x40
export const MSG_WAITALL = 0x100
export const MSG_NOSIGNAL = 0x4000
export const MSG_MORE = 0x8000

/** `*at` and statx flags. */
export const AT_FDCWD = -100
export const AT_SYMLINK_NOFOLLOW = 0x100
export const AT_EMPTY_PATH = 0x1000
export const STATX_BASIC_STATS = 0x7ff
export const STATX_BTIME = 0x800

/** `unlinkat(2)`, `renameat2(2)`, `fallocate(2)` and `posix_fadvise(2)` flags. */
export const AT_REMOVEDIR = 0x200
export const RENAME_NOREPLACE = 1
export const RENAME_EXCHANGE = 2
export const FALLOC_FL_KEEP_SIZE = 0x01
export const FALLOC_FL_PUNCH_HOLE = 0x02
export const FALLOC_FL_ZERO_RANGE = 0x10
export const POSIX_FADV_NORMAL = 0
export const POSIX_FADV_RANDOM = 1
export const POSIX_FADV_SEQUENTIAL = 2
export const POSIX_FADV_WILLNEED = 3
export const POSIX_FADV_DONTNEED = 4
export const POSIX_FADV_NOREUSE = 5

/** `setxattr(2)` flags. */
export const XATTR_CREATE = 1
export const XATTR_REPLACE = 2

/** `splice(2)`/`tee(2)` flags. */
export const SPLICE_F_MOVE = 1
export const SPLICE_F_NONBLOCK = 2
export const SPLICE_F_MORE = 4

/** `waitid(2)` id types, options and child codes. */
export const P_ALL = 0
export const P_PID = 1
export const P_PGID = 2
export const P_PIDFD = 3
export const WNOHANG = 1
export const WSTOPPED = 2
export const WEXITED = 4
export const WCONTINUED = 8
export const WNOWAIT = 0x01000000
export const CLD_EXITED = 1
export const CLD_KILLED = 2
export const CLD_DUMPED = 3
export const CLD_TRAPPED = 4
export const CLD_STOPPED = 5
export const CLD_CONTINUED = 6

/** File type bits of `mode`. */
export const S_IFMT = fs.S_IFMT
export const S_IFREG = fs.S_IFREG
export const S_IFDIR = fs.S_IFDIR
export const S_IFCHR = fs.S_IFCHR
export const S_IFBLK = fs.S_IFBLK
export const S_IFIFO = fs.S_IFIFO
export const S_IFLNK = fs.S_IFLNK
export const S_IFSOCK = fs.S_IFSOCK

/** errno values by name (Node's table). */
export const errno = os.errno

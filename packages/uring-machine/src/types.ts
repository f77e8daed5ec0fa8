// The types of the Machine's API: its options bags and what its ops
// resolve with. Kept apart from the class so that each op family and the
// class can name them without importing one another.
import type { OpOptions } from './validate'
import type { NativeMetrics } from './native'

export type { OpOptions, SocketAddress, InetAddress, UnixAddress } from './validate'

/** Options of `new Machine()`. */
export interface MachineOptions {
  /** Submission queue size (rounded up to a power of two). Default 256. Ops in flight are not limited by it. */
  entries?: number
  /** A kernel thread polls the submission queue: true, or its idle time in ms before it sleeps. Default false. */
  sqpoll?: boolean | number
  /** Measure time in the kernel: `metrics()` then fills `enterNs`, `opLatencyNs`, `opLatencyMaxNs`. Default false. */
  profile?: boolean
  /**
   * File reads and writes go to the kernel's worker threads at once
   * (IOSQE_ASYNC), so their page-cache copies run on other cores instead of
   * inline on this thread. Meant for many reads or writes of regular files
   * in flight; a socket or pipe read offloaded this way holds a worker
   * thread until it is ready. Default false.
   */
  offload?: boolean
}

export interface ReadOptions extends OpOptions {
  /** Where in `buffer` to start. Default 0. */
  offset?: number
  /** How many bytes at most. Default: the rest of `buffer`. */
  length?: number
  /** File position; null/undefined/-1 reads from (and advances) the fd's current position. */
  position?: number | bigint | null
}
export type WriteOptions = ReadOptions
export interface VectorOptions extends OpOptions {
  position?: number | bigint | null
}
export interface StatOptions extends OpOptions {
  /** Numbers as bigint, with nanosecond times. Default false. */
  bigint?: boolean
  /** For a path: stat the link itself, not its target. Default true (follow). */
  followSymlinks?: boolean
}
export interface FsyncOptions extends OpOptions {
  /** fdatasync: skip metadata not needed to read the data back. Default false. */
  datasync?: boolean
}
export interface SocketIoOptions extends OpOptions {
  offset?: number
  length?: number
  /** MSG_* flags. Default 0 (sends always add MSG_NOSIGNAL). */
  flags?: number
}
export interface AcceptOptions extends OpOptions {
  /** SOCK_NONBLOCK (SOCK_CLOEXEC is always set). Default 0. */
  flags?: number
}

export interface MkdirOptions extends OpOptions {
  /** Permission bits (before the umask). Default 0o777. */
  mode?: number | string
}
export interface RenameOptions extends OpOptions {
  /** RENAME_NOREPLACE or RENAME_EXCHANGE. Default 0. */
  flags?: number
}
export interface FallocateOptions extends OpOptions {
  /** FALLOC_FL_* bits. Default 0 (allocate, growing the file). */
  mode?: number
}

/** The fds `select` found ready. */
export interface SelectResult {
  read: number[]
  write: number[]
  except: number[]
}

export interface SpliceOptions extends OpOptions {
  /** SPLICE_F_* bits. Default 0. */
  flags?: number
}
export interface CopyOptions extends OpOptions {
  /** Bytes to copy; default: until the source's end of file. */
  length?: number
  /** Where to read the source; default: its own position (which moves). */
  srcPosition?: number | null
  /** Where to write the destination; default: its own position (which moves). */
  dstPosition?: number | null
}

export interface SpawnOptions {
  /** The child's working directory. Default: this process's. */
  cwd?: string
  /** The child's environment. Default: this process's. */
  env?: Record<string, string | undefined>
  /**
   * stdin, stdout, stderr: 'inherit' (default), 'ignore' (/dev/null), 'pipe'
   * (the parent's end is on the Subprocess), or an fd. One value for all three.
   */
  stdio?: StdioSpec | [StdioSpec, StdioSpec, StdioSpec]
}
export type StdioSpec = 'inherit' | 'ignore' | 'pipe' | number

export interface GetXattrOptions extends OpOptions {
  /** The largest value expected, in bytes; a larger one fails with ERANGE. Default 65536 (the kernel's limit). */
  size?: number
}
export interface SetXattrOptions extends OpOptions {
  /** XATTR_CREATE (fail if it exists) or XATTR_REPLACE (fail if it does not). Default 0. */
  flags?: number
}

export interface MultishotOptions {
  /** Ends the stream: the pending `next()` rejects with an AbortError once the kernel has let go. */
  signal?: AbortSignal | undefined
  /** Each provided buffer's size: the largest chunk one completion yields. Default 16384. */
  bufferSize?: number
  /** Provided buffers (a power of two, at most 32768). Default 64. */
  buffers?: number
  /** Bytes queued unread before the kernel request is paused (data waits in the socket). Default buffers x bufferSize. */
  highWaterMark?: number
  /** MSG_* flags (recvMulti). Default 0. */
  flags?: number
}
export interface AcceptMultiOptions {
  signal?: AbortSignal | undefined
  /** SOCK_NONBLOCK (SOCK_CLOEXEC is always set). Default 0. */
  flags?: number
  /** Connections accepted and not yet taken before accepting pauses (they wait in the backlog). Default 128. */
  highWaterMark?: number
}

export interface ResolveOptions extends OpOptions {
  /** 4 or 6 for one address family; 0 (default) for both. */
  family?: 0 | 4 | 6
}
/** One address `resolve` found (the shape of `dns.lookup`'s `all: true` results). */
export interface LookupAddress {
  address: string
  family: 4 | 6
}

/** A socket option `setsockopt`/`getsockopt` take, by its C name. */
export type SocketOption = 'TCP_NODELAY' | 'SO_REUSEADDR' | 'SO_REUSEPORT' | 'SO_KEEPALIVE' | 'SO_RCVBUF' | 'SO_SNDBUF'

/**
 * What `getsockname`/`getpeername` report: Node's `server.address()`
 * shape for IPv4/IPv6; `{ family: 'unix', path }` for a unix socket (path
 * '' when unnamed, a leading '\0' for the abstract namespace).
 */
export type SocketName =
  | { address: string, family: 'IPv4' | 'IPv6', port: number }
  | { family: 'unix', path: string }
  | { family: number }

/** Where another Machine (on any thread of this process) posts messages to this one: structured-clonable. */
export interface MachineAddress {
  readonly fd: number
  readonly id: number
}
/** What `receive()` resolves with: a posted value, or an fd now owned by the receiver. */
export type MachineMessage = { type: 'value', value: number } | { type: 'fd', fd: number }

/** What `Machine.probe()` reports. */
export interface Probe {
  /** `uname -r`. */
  kernel: string
  /** Each io_uring opcode (liburing's names) and whether this kernel has it. */
  ops: Record<string, boolean>
  /** Setup flags a Machine gets here (SINGLE_ISSUER, DEFER_TASKRUN, ...). */
  setupFlags: string[]
  /** IORING_FEAT_* bits the kernel reports. */
  features: string[]
}

/** Counters of one Machine. */
export type Metrics = NativeMetrics

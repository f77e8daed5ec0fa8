// The Machine: one io_uring on this thread's event loop. Each op validates
// its arguments, queues one SQE through the native ring, and returns a
// promise settled from the batch of completions of one loop wake.
import { constants as os } from 'node:os'
import { debuglog } from 'node:util'
import { binding, loadFailure, type NativeRing, type NativeOps, type NativeMetrics, type NativeFeatures } from './native'
import * as E from './errors'
import * as V from './validate'
import { AT_FDCWD, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, STATX_BASIC_STATS, STATX_BTIME, SHUT_WR, P_PID, P_PIDFD, WEXITED, WNOWAIT, CLD_EXITED, POLLIN, POLLOUT, POLLPRI, POLLERR, POLLHUP, POLLNVAL, POLLRDHUP } from './constants'
import { Stats, BigIntStats } from './stats'
import { Mutex, UNLOCKED, LOCKED, CONTENDED } from './mutex'
import { Subprocess, type ChildStatus } from './process'
import { Queue, COUNT, HEAD, CAPACITY, NOT_EMPTY, NOT_FULL, WAITING_CONSUMERS, WAITING_PRODUCERS } from './queue'
import { Multishot, type StreamHost, type AnyStream } from './multishot'
import { RegisteredBuffers } from './registered'
import { isIP } from 'node:net'

export type { OpOptions, SocketAddress, InetAddress, UnixAddress } from './validate'
export type { Stats, BigIntStats } from './stats'

const { detached: RES_DETACHED, closed: RES_CLOSED, slotMore: SLOT_MORE, slotMessageFd: SLOT_MESSAGE_FD } = binding !== null ? binding.resultCodes() : { detached: 0, closed: 0, slotMore: 1 << 30, slotMessageFd: -3 }
const ECANCELED = -os.errno.ECANCELED
const EAGAIN = -os.errno.EAGAIN
const ETIMEDOUT = -os.errno.ETIMEDOUT
const EPERM = -os.errno.EPERM

// How a result becomes the promise's value.
const VOID = 0
const NUMBER = 1
const STAT = 2
const FUTEX_WAIT = 3
const CHILD = 4
const STREAM = 5
const RESOLVE = 6
const RESOLVED = Promise.resolve()
const NO_SIGNAL: V.OpOptions = Object.freeze({})

/** @internal The key of Machine's positional read/write for the scheduler. */
export const kTransfer: unique symbol = Symbol('uring-machine.transfer')

// NODE_DEBUG=uring-machine traces every submission and completion.
const debug = debuglog('uring-machine')
const TRACE = debug.enabled
const noop = (): void => {}

/** One op in flight, indexed by its slot. */
class Pending {
  resolve!: (value: unknown) => void
  reject!: (reason: unknown) => void
  signal: AbortSignal | undefined = undefined
  /** The ops in flight under the same signal, if it has one (see #watch). */
  watch: Map<Pending, number> | undefined = undefined
  aborted = false
  /** A timer standing in for the kernel's linked timeout (see SOFT_TIMEOUT). */
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  timedOut = false
  /** The multishot stream this op feeds (kind STREAM). */
  stream: AnyStream | undefined = undefined
  /** A lookup's address list (kind RESOLVE) and its name. */
  list: string[] | undefined = undefined
  hostname = ''
  constructor (
    readonly kind: number,
    readonly syscall: string,
    readonly fd: number,
    readonly info: E.SystemErrorInfo | undefined,
    readonly timeout: number,
    readonly out: Float64Array | BigInt64Array | undefined
  ) {}
}

/** Options of `new Machine()`. */
export interface MachineOptions {
  /** Submission queue size (rounded up to a power of two). Default 256. Ops in flight are not limited by it. */
  entries?: number
  /** A kernel thread polls the submission queue: true, or its idle time in ms before it sleeps. Default false. */
  sqpoll?: boolean | number
  /** Measure time in the kernel: `metrics()` then fills `enterNs`, `opLatencyNs`, `opLatencyMaxNs`. Default false. */
  profile?: boolean
}

export interface ReadOptions extends V.OpOptions {
  /** Where in `buffer` to start. Default 0. */
  offset?: number
  /** How many bytes at most. Default: the rest of `buffer`. */
  length?: number
  /** File position; null/undefined/-1 reads from (and advances) the fd's current position. */
  position?: number | bigint | null
}
export type WriteOptions = ReadOptions
export interface VectorOptions extends V.OpOptions {
  position?: number | bigint | null
}
export interface StatOptions extends V.OpOptions {
  /** Numbers as bigint, with nanosecond times. Default false. */
  bigint?: boolean
  /** For a path: stat the link itself, not its target. Default true (follow). */
  followSymlinks?: boolean
}
export interface FsyncOptions extends V.OpOptions {
  /** fdatasync: skip metadata not needed to read the data back. Default false. */
  datasync?: boolean
}
export interface SocketIoOptions extends V.OpOptions {
  offset?: number
  length?: number
  /** MSG_* flags. Default 0 (sends always add MSG_NOSIGNAL). */
  flags?: number
}
export interface AcceptOptions extends V.OpOptions {
  /** SOCK_NONBLOCK (SOCK_CLOEXEC is always set). Default 0. */
  flags?: number
}

export interface MkdirOptions extends V.OpOptions {
  /** Permission bits (before the umask). Default 0o777. */
  mode?: number | string
}
export interface RenameOptions extends V.OpOptions {
  /** RENAME_NOREPLACE or RENAME_EXCHANGE. Default 0. */
  flags?: number
}
export interface FallocateOptions extends V.OpOptions {
  /** FALLOC_FL_* bits. Default 0 (allocate, growing the file). */
  mode?: number
}

/** The fds `select` found ready. */
export interface SelectResult {
  read: number[]
  write: number[]
  except: number[]
}

export interface SpliceOptions extends V.OpOptions {
  /** SPLICE_F_* bits. Default 0. */
  flags?: number
}
export interface CopyOptions extends V.OpOptions {
  /** Bytes to copy; default: until the source's end of file. */
  length?: number
  /** Where to read the source; default: its own position (which moves). */
  srcPosition?: number | null
  /** Where to write the destination; default: its own position (which moves). */
  dstPosition?: number | null
}

// A splice or tee that blocks in a kernel worker (on a socket, say) ignores a
// linked timeout on 6.18: neither it nor the timeout completes (reproduced on
// the bare core ring). An ASYNC_CANCEL does reach it, so their timeouts are
// a timer that cancels; the op still settles only when the kernel confirms.
const SOFT_TIMEOUT = true
/** How long after its timeout an op whose linked timeout was missed is cancelled. */
const BACKSTOP_MS = 1000

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

export interface GetXattrOptions extends V.OpOptions {
  /** The largest value expected, in bytes; a larger one fails with ERANGE. Default 65536 (the kernel's limit). */
  size?: number
}
export interface SetXattrOptions extends V.OpOptions {
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

export interface ResolveOptions extends V.OpOptions {
  /** 4 or 6 for one address family; 0 (default) for both. */
  family?: 0 | 4 | 6
}
/** One address `resolve` found (the shape of `dns.lookup`'s `all: true` results). */
export interface LookupAddress {
  address: string
  family: 4 | 6
}

/** Where another Machine (on any thread of this process) posts messages to this one: structured-clonable. */
export interface MachineAddress {
  readonly fd: number
  readonly id: number
}
/** What `receive()` resolves with: a posted value, or an fd now owned by the receiver. */
export type MachineMessage = { type: 'value', value: number } | { type: 'fd', fd: number }

export { RegisteredBuffers }

/** Bytes one copy moves through its pipe at a time (the pipe is grown to this). */
const COPY_CHUNK = 1 << 20

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

// One shared promise executor instead of a closure per op: it hands the
// resolving functions over through these two slots.
let nextResolve: (value: unknown) => void = () => {}
let nextReject: (reason: unknown) => void = () => {}
function capture (resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  nextResolve = resolve
  nextReject = reject
}

// EventTarget's own methods, so a signal cannot run code of its own in their place.
const addListener = EventTarget.prototype.addEventListener
const removeListener = EventTarget.prototype.removeEventListener

/** Machines with ops in flight stay reachable, so their promises settle. */
const live = new Set<Machine>()

let supported: string | null | undefined

function unavailableReason (): string | null {
  if (supported === undefined) supported = binding === null ? loadFailure : binding.unavailableReason()
  return supported
}

const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')

/**
 * One io_uring instance on this thread's event loop. Make one per thread
 * (main thread or worker) and share it; every op returns a promise.
 */
export class Machine {
  /** Whether io_uring can be used in this process. */
  static isSupported (): boolean {
    return unavailableReason() === null
  }

  /** Why io_uring cannot be used here, or null if it can. */
  static unavailableReason (): string | null {
    return unavailableReason()
  }

  /** The kernel's io_uring: opcodes, setup flags, features. Throws `ERR_IO_URING_UNAVAILABLE` where there is none. */
  static probe (): Probe {
    const reason = unavailableReason()
    if (reason !== null || binding === null) throw E.unavailable(reason ?? 'no binding')
    const f: NativeFeatures = binding.probe()
    return { kernel: f.kernel, ops: { ...f.ops }, setupFlags: f.setupFlags, features: f.features }
  }

  readonly #ring: NativeRing
  readonly #fn: NativeOps
  readonly #results: Int32Array
  /** Where each slot's output goes (read buffers, readv arrays, statx arrays). */
  readonly #dsts: unknown[] = []
  readonly #ops: Array<Pending | undefined> = []
  readonly #batch: Array<Pending | undefined> = []
  /** Pids this Machine spawned and has not reaped: only these may be reaped by pid. */
  readonly #children = new Set<number>()
  #pending = 0
  /** Counts deliveries: a stream's staged chunks belong to one. */
  #epoch = 0
  /** Messages posted to this Machine that nobody has received yet. */
  readonly #inbox: MachineMessage[] = []
  readonly #receivers: Receiver[] = []
  /** Streams that may still hold something (a request, queued items): destroy ends them. */
  readonly #streams = new Set<AnyStream>()
  /** Registered buffers by registration id. */
  readonly #registered = new Map<RegisteredBuffers, number>()
  /** Per signal, this Machine's ops in flight under it (see #watch). */
  readonly #watched = new WeakMap<AbortSignal, Map<Pending, number>>()
  #state: 'open' | 'closing' | 'closed' = 'open'
  #closed: Promise<void> | undefined
  #resolveClosed: (() => void) | undefined

  constructor (options?: MachineOptions) {
    V.options(options)
    const raw = (options ?? {}) as MachineOptions
    const entries = raw.entries === undefined ? 256 : V.int(raw.entries, 'options.entries', 1, 32768)
    const sqpollOpt = raw.sqpoll
    let sqpoll = -1
    if (sqpollOpt === true) sqpoll = 1000
    else if (typeof sqpollOpt === 'number') sqpoll = V.int(sqpollOpt, 'options.sqpoll', 0, 2 ** 31 - 1)
    else if (sqpollOpt !== undefined && sqpollOpt !== false) throw E.invalidArgType('options.sqpoll', 'of type boolean or number', sqpollOpt)
    if (raw.profile !== undefined && typeof raw.profile !== 'boolean') throw E.invalidArgType('options.profile', 'of type boolean', raw.profile)
    if (binding === null) throw E.unavailable(loadFailure ?? 'no binding')
    try {
      this.#ring = new binding.Ring(entries, sqpoll, raw.profile === true, this.#dsts, this.#complete)
    } catch (err) {
      throw E.unavailable((err as Error).message)
    }
    this.#fn = this.#ring.functions()
    this.#results = this.#ring.results()
  }

  /** Whether `destroy()` has been called. */
  get destroyed (): boolean {
    return this.#state !== 'open'
  }

  /** Counters: ops submitted/completed/pending, kernel enters, batches, overflows, ... */
  metrics (): Metrics {
    return this.#ring.metrics()
  }

  /** Does nothing, through the ring: the round trip's cost. */
  nop (options?: V.OpOptions): Promise<void> {
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'nop')
    return this.#track(ring.nop(o.timeout ?? 0), VOID, 'nop', -1, undefined, o) as Promise<void>
  }

  /** read(2)/pread(2) into `buffer`; resolves with the bytes read (0 at end of file). */
  read (fd: number, buffer: ArrayBufferView, options?: ReadOptions): Promise<number> {
    const o = V.options(options)
    return this.#transfer(false, fd, buffer, o.offset, o.length, V.position(o.position), o)
  }

  /** write(2)/pwrite(2) of `buffer` (copied at the call); resolves with the bytes written. */
  write (fd: number, buffer: ArrayBufferView, options?: WriteOptions): Promise<number> {
    const o = V.options(options)
    return this.#transfer(true, fd, buffer, o.offset, o.length, V.position(o.position), o)
  }

  /**
   * @internal The scheduler's read/write hooks: the same op without an
   * options bag to copy (the hook's arguments are positional). `position`
   * < 0 uses the fd's own position.
   */
  [kTransfer] (write: boolean, fd: number, buffer: Uint8Array, offset: unknown, length: unknown, position: number, signal: AbortSignal | undefined): Promise<number> {
    return this.#transfer(write, fd, buffer, offset, length, position < 0 ? -1 : V.position(position), signal === undefined ? NO_SIGNAL : { signal })
  }

  /** read and write: validates the buffer range, queues the op, tracks it. */
  #transfer (write: boolean, fd: number, buffer: ArrayBufferView, offset: unknown, length: unknown, pos: number, o: V.OpOptions): Promise<number> {
    V.fd(fd)
    const v = V.bytes(V.view(buffer, 'buffer'))
    const [off, len] = V.range(v, 'buffer', offset, length)
    const ring = this.#ready(o)
    const name = write ? 'write' : 'read'
    if (ring === null) return this.#refuse(o, name)
    if (write) return this.#track(ring.write(fd, v, off, len, pos, o.timeout ?? 0), NUMBER, name, fd, undefined, o) as Promise<number>
    return this.#track(ring.read(fd, v, off, len, pos, o.timeout ?? 0), NUMBER, name, fd, undefined, o, v) as Promise<number>
  }

  /** preadv(2) into `buffers` in order; resolves with the total bytes read. */
  readv (fd: number, buffers: readonly ArrayBufferView[], options?: VectorOptions): Promise<number> {
    V.fd(fd)
    const bufs = V.views(buffers, 'buffers')
    const o = V.options(options)
    const pos = V.position(o.position)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'readv')
    const slot = ring.readv(fd, bufs, pos, o.timeout ?? 0)
    return this.#track(slot, NUMBER, 'readv', fd, undefined, o, bufs) as Promise<number>
  }

  /** pwritev(2) of `buffers` in order (copied at the call); resolves with the total bytes written. */
  writev (fd: number, buffers: readonly ArrayBufferView[], options?: VectorOptions): Promise<number> {
    V.fd(fd)
    const bufs = V.views(buffers, 'buffers')
    const o = V.options(options)
    const pos = V.position(o.position)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'writev')
    return this.#track(ring.writev(fd, bufs, pos, o.timeout ?? 0), NUMBER, 'writev', fd, undefined, o) as Promise<number>
  }

  /**
   * openat(2); resolves with the new fd (always close-on-exec).
   * `flags`: O_* bits or fs.open's strings ('r', 'w+', 'ax', ...); `mode` defaults to 0o666.
   */
  open (path: string | Buffer | URL, flags?: number | string, mode?: number | string, options?: V.OpOptions): Promise<number> {
    const p = V.path(path)
    const f = V.openFlags(flags)
    const m = V.mode(mode)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'open', { path: pathText(p) })
    return this.#track(ring.open(p, f, m, o.timeout ?? 0), NUMBER, 'open', -1, { path: pathText(p) }, o) as Promise<number>
  }

  /** close(2). */
  close (fd: number, options?: V.OpOptions): Promise<void> {
    V.fd(fd)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'close')
    return this.#track(ring.close(fd, o.timeout ?? 0), VOID, 'close', fd, undefined, o) as Promise<void>
  }

  /** statx(2) of a path or an open fd, as a Stats (or BigIntStats with `bigint`). */
  statx (pathOrFd: string | Buffer | URL | number, options?: StatOptions & { bigint?: false }): Promise<Stats>
  statx (pathOrFd: string | Buffer | URL | number, options: StatOptions & { bigint: true }): Promise<BigIntStats>
  statx (pathOrFd: string | Buffer | URL | number, options?: StatOptions): Promise<Stats | BigIntStats>
  statx (pathOrFd: string | Buffer | URL | number, options?: StatOptions): Promise<Stats | BigIntStats> {
    let dirfd = AT_FDCWD
    let p: string | Uint8Array = ''
    let flags = AT_EMPTY_PATH
    let info: E.SystemErrorInfo | undefined
    const o = V.options(options)
    if (typeof pathOrFd === 'number') {
      dirfd = V.fd(pathOrFd, 'pathOrFd')
    } else {
      p = V.path(pathOrFd, 'pathOrFd')
      flags = o.followSymlinks === false ? AT_SYMLINK_NOFOLLOW : 0
      info = { path: pathText(p) }
    }
    if (o.bigint !== undefined && typeof o.bigint !== 'boolean') throw E.invalidArgType('options.bigint', 'of type boolean', o.bigint)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'statx', info)
    const slot = ring.statx(dirfd, p, flags, STATX_BASIC_STATS | STATX_BTIME, o.timeout ?? 0)
    const out = o.bigint === true ? new BigInt64Array(18) : new Float64Array(18)
    return this.#track(slot, STAT, 'statx', dirfd === AT_FDCWD ? -1 : dirfd, info, o, out) as Promise<Stats | BigIntStats>
  }

  /** fsync(2), or fdatasync(2) with `{ datasync: true }`. */
  fsync (fd: number, options?: FsyncOptions): Promise<void> {
    V.fd(fd)
    const o = V.options(options)
    const ring = this.#ready(o)
    const name = o.datasync === true ? 'fdatasync' : 'fsync'
    if (ring === null) return this.#refuse(o, name)
    return this.#track(ring.fsync(fd, o.datasync === true, o.timeout ?? 0), VOID, name, fd, undefined, o) as Promise<void>
  }

  /** socket(2); resolves with the new fd (always close-on-exec). Kernel 5.19+ in the ring, the syscall below. */
  socket (domain: number, type: number, protocol = 0, options?: V.OpOptions): Promise<number> {
    V.int(domain, 'domain', 0, 2 ** 31 - 1)
    V.int(type, 'type', 0, 2 ** 31 - 1)
    V.int(protocol, 'protocol', 0, 2 ** 31 - 1)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'socket')
    return this.#track(ring.socket(domain, type, protocol, o.timeout ?? 0), NUMBER, 'socket', -1, undefined, o) as Promise<number>
  }

  /** bind(2) to `{ address, port }` (IPv4/IPv6) or `{ path }` (unix). Kernel 6.11+ in the ring, the syscall below. */
  bind (fd: number, address: V.SocketAddress, options?: V.OpOptions): Promise<void> {
    V.fd(fd)
    const [host, port] = V.address(address)
    const o = V.options(options)
    const info = addressInfo(host, port)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'bind', info)
    return this.#track(ring.bind(fd, host, port, o.timeout ?? 0), VOID, 'bind', fd, info, o) as Promise<void>
  }

  /** listen(2). `backlog` defaults to 511 (as node:net). Kernel 6.11+ in the ring, the syscall below. */
  listen (fd: number, backlog = 511, options?: V.OpOptions): Promise<void> {
    V.fd(fd)
    V.int(backlog, 'backlog', 0, 2 ** 31 - 1)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'listen')
    return this.#track(ring.listen(fd, backlog, o.timeout ?? 0), VOID, 'listen', fd, undefined, o) as Promise<void>
  }

  /** accept4(2); resolves with the connection's fd (always close-on-exec). */
  accept (fd: number, options?: AcceptOptions): Promise<number> {
    V.fd(fd)
    const o = V.options(options)
    const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'accept')
    return this.#track(ring.accept(fd, flags, o.timeout ?? 0), NUMBER, 'accept', fd, undefined, o) as Promise<number>
  }

  /** connect(2) to `{ address, port }` or `{ path }`. */
  connect (fd: number, address: V.SocketAddress, options?: V.OpOptions): Promise<void> {
    V.fd(fd)
    const [host, port] = V.address(address)
    const o = V.options(options)
    const info = addressInfo(host, port)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'connect', info)
    return this.#track(ring.connect(fd, host, port, o.timeout ?? 0), VOID, 'connect', fd, info, o) as Promise<void>
  }

  /** send(2) of `buffer` (copied at the call; MSG_NOSIGNAL always); resolves with the bytes sent. */
  send (fd: number, buffer: ArrayBufferView, options?: SocketIoOptions): Promise<number> {
    return this.#send(false, fd, buffer, options)
  }

  /** send and sendZc: the same arguments, a different op. */
  #send (zc: boolean, fd: number, buffer: ArrayBufferView, options: SocketIoOptions | undefined): Promise<number> {
    V.fd(fd)
    const v = V.bytes(V.view(buffer, 'buffer'))
    const o = V.options(options)
    const [off, len] = V.range(v, 'buffer', o.offset, o.length)
    const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'send')
    const slot = zc ? ring.sendZc(fd, v, off, len, flags, o.timeout ?? 0) : ring.send(fd, v, off, len, flags, o.timeout ?? 0)
    return this.#track(slot, NUMBER, 'send', fd, undefined, o) as Promise<number>
  }

  /** recv(2) into `buffer`; resolves with the bytes received (0: the peer shut down). */
  recv (fd: number, buffer: ArrayBufferView, options?: SocketIoOptions): Promise<number> {
    V.fd(fd)
    const v = V.bytes(V.view(buffer, 'buffer'))
    const o = V.options(options)
    const [off, len] = V.range(v, 'buffer', o.offset, o.length)
    const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'recv')
    const slot = ring.recv(fd, v, off, len, flags, o.timeout ?? 0)
    return this.#track(slot, NUMBER, 'recv', fd, undefined, o, v) as Promise<number>
  }

  /** shutdown(2); `how` defaults to SHUT_WR (like socket.end()). */
  shutdown (fd: number, how: number = SHUT_WR, options?: V.OpOptions): Promise<void> {
    V.fd(fd)
    V.int(how, 'how', 0, 2)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'shutdown')
    return this.#track(ring.shutdown(fd, how, o.timeout ?? 0), VOID, 'shutdown', fd, undefined, o) as Promise<void>
  }

  /** A timer in the ring: resolves after `ms` milliseconds (fractions allowed). */
  sleep (ms: number, options?: V.OpOptions): Promise<void> {
    V.sleepMs(ms)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'sleep')
    return this.#track(ring.sleep(ms, o.timeout ?? 0), VOID, 'sleep', -1, undefined, o) as Promise<void>
  }

  /** One-shot poll(2) of `fd` for `events` (POLLIN, POLLOUT, ...); resolves with the ready events. */
  poll (fd: number, events: number, options?: V.OpOptions): Promise<number> {
    V.fd(fd)
    V.int(events, 'events', 0, 0xffff)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'poll')
    return this.#track(ring.poll(fd, events, o.timeout ?? 0), NUMBER, 'poll', fd, undefined, o) as Promise<number>
  }

  /** unlinkat(2) of a file (kernel 5.11). */
  unlink (path: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
    return this.#unlinkat(path, 0, 'unlink', options)
  }

  /** unlinkat(2) with AT_REMOVEDIR: removes an empty directory (kernel 5.11). */
  rmdir (path: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
    return this.#unlinkat(path, AT_REMOVEDIR, 'rmdir', options)
  }

  #unlinkat (path: string | Buffer | URL, flags: number, syscall: string, options: unknown): Promise<void> {
    const p = V.path(path)
    const o = V.options(options)
    const info = { path: pathText(p) }
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, syscall)
    return this.#track(ring.unlink(p, flags, o.timeout ?? 0), VOID, syscall, -1, info, o) as Promise<void>
  }

  /** renameat2(2) (kernel 5.11); `flags`: RENAME_NOREPLACE, RENAME_EXCHANGE. */
  rename (oldPath: string | Buffer | URL, newPath: string | Buffer | URL, options?: RenameOptions): Promise<void> {
    const from = V.path(oldPath, 'oldPath')
    const to = V.path(newPath, 'newPath')
    const o = V.options(options)
    const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
    const info = { path: pathText(from), dest: pathText(to) }
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'rename')
    return this.#track(ring.rename(from, to, flags, o.timeout ?? 0), VOID, 'rename', -1, info, o) as Promise<void>
  }

  /** mkdirat(2) of one directory (not recursive; kernel 5.15). */
  mkdir (path: string | Buffer | URL, options?: MkdirOptions): Promise<void> {
    const p = V.path(path)
    const o = V.options(options)
    const mode = o.mode === undefined ? 0o777 : V.mode(o.mode)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'mkdir')
    return this.#track(ring.mkdir(p, mode, o.timeout ?? 0), VOID, 'mkdir', -1, { path: pathText(p) }, o) as Promise<void>
  }

  /** symlinkat(2): makes `path` a symbolic link to `target` (kernel 5.15). */
  symlink (target: string | Buffer | URL, path: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
    const t = V.path(target, 'target')
    const p = V.path(path)
    const o = V.options(options)
    const info = { path: pathText(t), dest: pathText(p) }
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'symlink')
    return this.#track(ring.symlink(t, p, o.timeout ?? 0), VOID, 'symlink', -1, info, o) as Promise<void>
  }

  /** linkat(2): a new name `newPath` for `existingPath` (kernel 5.15). */
  link (existingPath: string | Buffer | URL, newPath: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
    const from = V.path(existingPath, 'existingPath')
    const to = V.path(newPath, 'newPath')
    const o = V.options(options)
    const info = { path: pathText(from), dest: pathText(to) }
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'link')
    return this.#track(ring.link(from, to, o.timeout ?? 0), VOID, 'link', -1, info, o) as Promise<void>
  }

  /** ftruncate(2) to `length` bytes (default 0). Kernel 6.9 in the ring, the syscall below. */
  ftruncate (fd: number, length = 0, options?: V.OpOptions): Promise<void> {
    V.fd(fd)
    V.int(length, 'length', 0, Number.MAX_SAFE_INTEGER)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'ftruncate')
    return this.#track(ring.ftruncate(fd, length, o.timeout ?? 0), VOID, 'ftruncate', fd, undefined, o) as Promise<void>
  }

  /** fallocate(2) of `length` bytes at `offset`; `mode`: FALLOC_FL_* (kernel 5.6). */
  fallocate (fd: number, offset: number, length: number, options?: FallocateOptions): Promise<void> {
    V.fd(fd)
    V.int(offset, 'offset', 0, Number.MAX_SAFE_INTEGER)
    V.int(length, 'length', 1, Number.MAX_SAFE_INTEGER)
    const o = V.options(options)
    const mode = o.mode === undefined ? 0 : V.int(o.mode, 'options.mode', 0, 2 ** 31 - 1)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'fallocate')
    return this.#track(ring.fallocate(fd, mode, offset, length, o.timeout ?? 0), VOID, 'fallocate', fd, undefined, o) as Promise<void>
  }

  /** posix_fadvise(2): `advice` is a POSIX_FADV_* constant; `length` 0 means to the end (kernel 5.6). */
  fadvise (fd: number, offset: number, length: number, advice: number, options?: V.OpOptions): Promise<void> {
    V.fd(fd)
    V.int(offset, 'offset', 0, Number.MAX_SAFE_INTEGER)
    V.int(length, 'length', 0, Number.MAX_SAFE_INTEGER)
    V.int(advice, 'advice', 0, 5)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'fadvise')
    return this.#track(ring.fadvise(fd, offset, length, advice, o.timeout ?? 0), VOID, 'fadvise', fd, undefined, o) as Promise<void>
  }

  /**
   * Waits while `word[index]` equals `expected`, until a `futexWake` of the
   * same word from any thread (kernel 6.7). Resolves 'ok' when woken,
   * 'not-equal' if the word already differed, like `Atomics.waitAsync`.
   * The event loop keeps running meanwhile.
   */
  futexWait (word: Int32Array, index: number, expected: number, options?: V.OpOptions): Promise<'ok' | 'not-equal'> {
    const [w, i] = V.sharedInt32(word, 'word', index)
    V.int(expected, 'expected', -(2 ** 31), 2 ** 31 - 1)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'futex_wait')
    return this.#track(ring.futexWait(w, i, expected, o.timeout ?? 0), FUTEX_WAIT, 'futex_wait', -1, undefined, o, w) as Promise<'ok' | 'not-equal'>
  }

  /** Wakes up to `count` (default 1) threads waiting on `word[index]` (kernel 6.7); resolves with how many. */
  futexWake (word: Int32Array, index: number, count = 1, options?: V.OpOptions): Promise<number> {
    const [w, i] = V.sharedInt32(word, 'word', index)
    V.int(count, 'count', 0, 2 ** 31 - 1)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'futex_wake')
    return this.#track(ring.futexWake(w, i, count, o.timeout ?? 0), NUMBER, 'futex_wake', -1, undefined, o, w) as Promise<number>
  }

  /**
   * Takes `mutex`. Free: at once, in JavaScript. Held: waits in the ring
   * (a futex wait; the event loop keeps running) until it is released, by
   * any thread. `signal` and `timeout` give up waiting.
   */
  lock (mutex: Mutex, options?: V.OpOptions): Promise<void> {
    if (!(mutex instanceof Mutex)) throw E.invalidArgType('mutex', 'an instance of Mutex', mutex)
    const o = V.options(options)
    const c = Atomics.compareExchange(mutex.state, 0, UNLOCKED, LOCKED)
    if (c === UNLOCKED) return RESOLVED
    return this.#lockContended(mutex.state, c, o)
  }

  async #lockContended (s: Int32Array, c: number, o: V.OpOptions): Promise<void> {
    // Mark the lock contended, so its holder wakes someone when it unlocks.
    if (c !== CONTENDED) c = Atomics.exchange(s, 0, CONTENDED)
    while (c !== UNLOCKED) {
      await this.futexWait(s, 0, CONTENDED, o)
      c = Atomics.exchange(s, 0, CONTENDED)
    }
  }

  /** Releases `mutex` (taken by `lock` on any thread); wakes one waiter if there may be one. */
  unlock (mutex: Mutex): void {
    if (!(mutex instanceof Mutex)) throw E.invalidArgType('mutex', 'an instance of Mutex', mutex)
    const s = mutex.state
    const was = Atomics.sub(s, 0, 1)
    if (was === UNLOCKED || Atomics.load(s, 0) < UNLOCKED) {
      Atomics.store(s, 0, UNLOCKED)
      throw Object.assign(new Error('unlock of a Mutex that is not locked'), { code: 'ERR_INVALID_STATE' })
    }
    if (was !== LOCKED) {
      Atomics.store(s, 0, UNLOCKED)
      this.#wakeNow(s, 0)
    }
  }

  /**
   * Wakes one waiter of `word[index]` and submits the wake at once: the
   * waiter is another thread, and this one may keep its event loop busy
   * (lock/unlock in a loop never yields to it), so waiting for the loop's
   * flush could starve the waiter. Only contended paths come here.
   */
  #wakeNow (word: Int32Array, index: number): void {
    if (this.#state !== 'open') return
    this.futexWake(word, index, 1).catch(noop)
    this.#fn.flush()
  }

  /** Runs `fn` holding `mutex`, and releases it however `fn` ends. */
  async synchronize<T> (mutex: Mutex, fn: () => T | Promise<T>, options?: V.OpOptions): Promise<T> {
    if (!(mutex instanceof Mutex)) throw E.invalidArgType('mutex', 'an instance of Mutex', mutex)
    if (typeof fn !== 'function') throw E.invalidArgType('fn', 'of type function', fn)
    await this.lock(mutex, options)
    try {
      return await fn()
    } finally {
      this.unlock(mutex)
    }
  }

  /**
   * Waits until any of the fds is ready: readable (`read`), writable
   * (`write`) or with an exceptional condition (`except`: POLLPRI). One
   * poll op per fd; as soon as one completes the others are cancelled, and
   * the result lists every fd found ready by then. A `timeout` resolves
   * with empty lists, as select(2) does; an abort rejects. Nothing is left
   * in flight when it settles.
   */
  async select (read: readonly number[], write: readonly number[], except: readonly number[] = [], options?: V.OpOptions): Promise<SelectResult> {
    const want: Array<[number, number, 'read' | 'write' | 'except']> = []
    for (const [list, events, kind, name] of [
      [read, POLLIN | POLLRDHUP, 'read', 'read'],
      [write, POLLOUT, 'write', 'write'],
      [except, POLLPRI, 'except', 'except']
    ] as const) {
      if (!Array.isArray(list)) throw E.invalidArgType(name, 'an Array of fds', list)
      for (let i = 0; i < list.length; i++) want.push([V.fd(list[i], `${name}[${i}]`), events, kind])
    }
    const o = V.options(options)
    const result: SelectResult = { read: [], write: [], except: [] }
    const note = (fd: number, kind: 'read' | 'write' | 'except', revents: number): void => {
      // Errors and hang-ups count as ready (a read or write would not block).
      const ready = kind === 'except'
        ? (revents & POLLPRI) !== 0
        : (revents & (kind === 'read' ? POLLIN | POLLRDHUP : POLLOUT)) !== 0 || (revents & (POLLERR | POLLHUP | POLLNVAL)) !== 0
      if (ready) result[kind].push(fd)
    }
    if (want.length === 0) {
      if (o.timeout !== undefined) await this.sleep(o.timeout, { signal: o.signal })
      return result
    }
    if (want.length === 1) {
      // Fast path: one fd, one op, no cancellation to arrange.
      const [fd, events, kind] = want[0]!
      try {
        note(fd, kind, await this.poll(fd, events, o))
      } catch (err) {
        if ((err as E.SystemError).code !== 'ETIMEDOUT' || o.timeout === undefined) throw err
      }
      return result
    }
    const stop = new AbortController()
    const signal = o.signal === undefined ? stop.signal : anySignal(stop, o.signal)
    const polls = want.map(([fd, events, kind]) => this.poll(fd, events, { signal }).then((revents) => {
      note(fd, kind, revents)
      stop.abort()
    }))
    const timer = o.timeout === undefined ? undefined : this.sleep(o.timeout, { signal }).then(() => stop.abort(), () => {})
    const settled = await Promise.allSettled(polls)
    await timer
    for (const s of settled) {
      if (s.status === 'rejected' && !(s.reason instanceof E.AbortError)) throw s.reason
    }
    if (o.signal?.aborted === true && result.read.length + result.write.length + result.except.length === 0) {
      throw new E.AbortError(undefined, { cause: o.signal.reason })
    }
    return result
  }

  /** Adds `value` at the queue's tail, waiting while it is full. */
  push (queue: Queue, value: unknown, options?: V.OpOptions): Promise<void> {
    return this.#put(queue, value, false, options)
  }

  /** Adds `value` at the queue's head, waiting while it is full. */
  unshift (queue: Queue, value: unknown, options?: V.OpOptions): Promise<void> {
    return this.#put(queue, value, true, options)
  }

  /** Takes the message at the queue's head (FIFO with push), waiting while it is empty. */
  shift (queue: Queue, options?: V.OpOptions): Promise<unknown> {
    return this.#take(queue, true, options)
  }

  /** Takes the message at the queue's tail (LIFO with push), waiting while it is empty. */
  pop (queue: Queue, options?: V.OpOptions): Promise<unknown> {
    return this.#take(queue, false, options)
  }

  #put (q: Queue, value: unknown, atHead: boolean, options: unknown): Promise<void> {
    if (!(q instanceof Queue)) throw E.invalidArgType('queue', 'an instance of Queue', q)
    const b = q.encode(value)
    const o = V.options(options)
    return this.#putLoop(q, b, atHead, o)
  }

  async #putLoop (q: Queue, b: Uint8Array, atHead: boolean, o: V.OpOptions): Promise<void> {
    const h = q.header
    for (;;) {
      await this.lock(q.mutex, o)
      const count = h[COUNT]!
      const cap = h[CAPACITY]!
      if (count < cap) {
        const head = h[HEAD]!
        let i = (head + count) % cap
        if (atHead) {
          i = (head - 1 + cap) % cap
          h[HEAD] = i
        }
        q.write(i, b)
        Atomics.store(h, COUNT, count + 1)
        this.#signal(q, NOT_EMPTY, WAITING_CONSUMERS)
        return
      }
      await this.#wait(q, NOT_FULL, WAITING_PRODUCERS, o)
    }
  }

  #take (q: Queue, fromHead: boolean, options: unknown): Promise<unknown> {
    if (!(q instanceof Queue)) throw E.invalidArgType('queue', 'an instance of Queue', q)
    const o = V.options(options)
    return this.#takeLoop(q, fromHead, o)
  }

  async #takeLoop (q: Queue, fromHead: boolean, o: V.OpOptions): Promise<unknown> {
    const h = q.header
    for (;;) {
      await this.lock(q.mutex, o)
      const count = h[COUNT]!
      if (count > 0) {
        const cap = h[CAPACITY]!
        const head = h[HEAD]!
        let i = (head + count - 1) % cap
        if (fromHead) {
          i = head
          h[HEAD] = (head + 1) % cap
        }
        const b = q.read(i)
        Atomics.store(h, COUNT, count - 1)
        this.#signal(q, NOT_FULL, WAITING_PRODUCERS)
        return q.decode(b)
      }
      await this.#wait(q, NOT_EMPTY, WAITING_CONSUMERS, o)
    }
  }

  /** Unlocks `q`, waking one waiter on `word` if any registered (called holding the lock). */
  #signal (q: Queue, word: number, waiting: number): void {
    const h = q.header
    const wake = Atomics.load(h, waiting) > 0
    if (wake) Atomics.add(h, word, 1)
    this.unlock(q.mutex)
    if (wake) this.#wakeNow(h, word)
  }

  /**
   * Registers as a waiter on `word`, unlocks, sleeps until its sequence
   * number moves (called holding the lock). A waiter that gives up passes a
   * wake on, in case the one it got was meant to let somebody through.
   */
  async #wait (q: Queue, word: number, waiting: number, o: V.OpOptions): Promise<void> {
    const h = q.header
    const seq = Atomics.load(h, word)
    Atomics.add(h, waiting, 1)
    this.unlock(q.mutex)
    try {
      await this.futexWait(h, word, seq, o)
    } catch (err) {
      Atomics.add(h, word, 1)
      this.#wakeNow(h, word)
      throw err
    } finally {
      Atomics.sub(h, waiting, 1)
    }
  }

  /** getxattr(2)/fgetxattr(2): the value of the extended attribute `name` of a path or fd (kernel 5.19). */
  getxattr (pathOrFd: string | Buffer | URL | number, name: string, options?: GetXattrOptions): Promise<Buffer> {
    const isFd = typeof pathOrFd === 'number'
    const target = isFd ? V.fd(pathOrFd, 'pathOrFd') : V.path(pathOrFd, 'pathOrFd')
    const n = xattrName(name)
    const raw = (options ?? {}) as GetXattrOptions
    const o = V.options(options)
    const size = raw.size === undefined ? 65536 : V.int(raw.size, 'options.size', 1, 65536)
    const syscall = isFd ? 'fgetxattr' : 'getxattr'
    const info = isFd ? undefined : { path: pathText(target as string | Uint8Array) }
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, syscall)
    const buf = Buffer.alloc(size)
    const slot = isFd
      ? ring.fgetxattr(target as number, n, buf, 0, size, o.timeout ?? 0)
      : ring.getxattr(target as string | Uint8Array, n, buf, 0, size, o.timeout ?? 0)
    const done = this.#track(slot, NUMBER, syscall, isFd ? target as number : -1, info, o, buf) as Promise<number>
    return done.then((len) => buf.subarray(0, len))
  }

  /** setxattr(2)/fsetxattr(2): sets the extended attribute `name` of a path or fd (kernel 5.19). */
  setxattr (pathOrFd: string | Buffer | URL | number, name: string, value: string | ArrayBufferView, options?: SetXattrOptions): Promise<void> {
    const isFd = typeof pathOrFd === 'number'
    const target = isFd ? V.fd(pathOrFd, 'pathOrFd') : V.path(pathOrFd, 'pathOrFd')
    const n = xattrName(name)
    const v = typeof value === 'string' ? Buffer.from(value) : V.bytes(V.view(value, 'value'))
    if (v.byteLength > 65536) throw E.outOfRange('value', 'at most 65536 bytes', v.byteLength)
    const o = V.options(options)
    const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 3)
    const syscall = isFd ? 'fsetxattr' : 'setxattr'
    const info = isFd ? undefined : { path: pathText(target as string | Uint8Array) }
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, syscall)
    const slot = isFd
      ? ring.fsetxattr(target as number, n, v, 0, v.byteLength, flags, o.timeout ?? 0)
      : ring.setxattr(target as string | Uint8Array, n, v, 0, v.byteLength, flags, o.timeout ?? 0)
    return this.#track(slot, VOID, syscall, isFd ? target as number : -1, info, o) as Promise<void>
  }

  /**
   * waitid(2) through the ring (kernel 6.7): waits for a child to change
   * state (`flags`: WEXITED by default; WSTOPPED, WCONTINUED, WNOHANG,
   * WNOWAIT). Resolves with its status, or null (WNOHANG, nothing to report).
   * Children this Machine did not spawn (node:child_process's, say) are
   * observed with WNOWAIT added, so their owner still reaps them.
   */
  waitid (idtype: number, id: number, flags = WEXITED, options?: V.OpOptions): Promise<ChildStatus | null> {
    V.int(idtype, 'idtype', 0, 3)
    V.int(id, 'id', 0, 2 ** 31 - 1)
    V.int(flags, 'flags', 0, 2 ** 31 - 1)
    const ours = idtype === P_PIDFD || (idtype === P_PID && this.#children.has(id))
    const opts = ours ? flags : flags | WNOWAIT
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'waitid')
    const out = new Float64Array(3)
    return this.#track(ring.waitid(idtype, id, opts, o.timeout ?? 0), CHILD, 'waitid', -1, undefined, o, out) as Promise<ChildStatus | null>
  }

  /**
   * Starts `file` (searched in PATH) with `args`, by posix_spawn. The child
   * is named by a pidfd; `wait()` reaps it through the ring, `kill()`
   * signals it through the pidfd.
   */
  spawn (file: string, args: readonly string[] = [], options?: SpawnOptions): Subprocess {
    // NUL bytes are refused as child_process.spawn refuses them: same code, same wording.
    if (typeof file !== 'string' || file.length === 0) throw E.invalidArgType('file', 'a non-empty string', file)
    if (file.includes('\u0000')) throw E.nullBytes('file', file)
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw E.invalidArgType('args', 'an Array of strings', args)
    args.forEach((a, i) => { if (a.includes('\u0000')) throw E.nullBytes(`args[${i}]`, a) })
    const o = (options ?? {}) as SpawnOptions
    if (typeof o !== 'object') throw E.invalidArgType('options', 'of type object', o)
    if (o.cwd !== undefined && typeof o.cwd !== 'string') throw E.invalidArgType('options.cwd', 'of type string', o.cwd)
    if (o.cwd?.includes('\u0000') === true) throw E.nullBytes('options.cwd', o.cwd)
    let env: string[] | null = null
    if (o.env !== undefined) {
      if (typeof o.env !== 'object' || o.env === null) throw E.invalidArgType('options.env', 'of type object', o.env)
      env = []
      for (const [k, v] of Object.entries(o.env)) {
        if (v === undefined) continue
        const name = `options.env['${k}']`
        let text: string
        try {
          text = String(v)
        } catch {
          throw E.invalidArgValue(name, v, 'must be convertible to a string') // a detached view, a throwing toString
        }
        if (k.includes('\u0000')) throw E.nullBytes(name, k)
        if (text.includes('\u0000')) throw E.nullBytes(name, text)
        env.push(`${k}=${text}`)
      }
    }
    const stdio = (Array.isArray(o.stdio) ? o.stdio : [o.stdio, o.stdio, o.stdio]).map((s, i) => {
      if (s === undefined || s === 'inherit') return -1
      if (s === 'ignore') return -2
      if (s === 'pipe') return -3
      return V.fd(s, `options.stdio[${i}]`)
    })
    if (this.#state !== 'open') throw E.destroyed('spawn')
    if (binding === null) throw E.unavailable(loadFailure ?? 'no binding')
    const [pid, pidfd, stdin, stdout, stderr] = nativeCall(() => binding!.spawn(file, [file, ...args], env, o.cwd ?? null, stdio), { path: file })
    this.#children.add(pid)
    const none = (fd: number): number | null => fd < 0 ? null : fd
    return new Subprocess(pid, pidfd, none(stdin), none(stdout), none(stderr),
      (fd, signal) => this.waitid(P_PIDFD, fd, WEXITED, { signal }) as Promise<ChildStatus>,
      (fd, sig) => this.pidfdSendSignal(fd, sig),
      (p) => this.#children.delete(p))
  }

  /** pidfd_open(2): an fd naming process `pid` (close-on-exec). */
  pidfdOpen (pid: number): number {
    V.int(pid, 'pid', 1, 2 ** 31 - 1)
    if (binding === null) throw E.unavailable(loadFailure ?? 'no binding')
    return nativeCall(() => binding!.pidfdOpen(pid))
  }

  /** pidfd_send_signal(2): `signal` by name ('SIGTERM') or number; never reaches a recycled pid. */
  pidfdSendSignal (pidfd: number, signal: string | number): void {
    V.fd(pidfd, 'pidfd')
    const sig = typeof signal === 'number' ? V.int(signal, 'signal', 0, 64) : (os.signals as Record<string, number>)[signal]
    if (sig === undefined) throw E.invalidArgValue('signal', signal, 'must be a signal name or number')
    if (binding === null) throw E.unavailable(loadFailure ?? 'no binding')
    nativeCall(() => binding!.pidfdSendSignal(pidfd, sig), { fd: pidfd })
  }

  /** A close-on-exec pipe `[readFd, writeFd]` (a plain syscall): the kernel buffer for splice and tee. */
  pipe (size = 65536): [number, number] {
    V.int(size, 'size', 4096, 1 << 30)
    if (binding === null) throw E.unavailable(loadFailure ?? 'no binding')
    const [r, w] = binding.pipe(size)
    return [r, w]
  }

  /**
   * splice(2): moves up to `length` bytes from `fdIn` to `fdOut`, one of
   * which must be a pipe, without passing through user space (kernel 5.7).
   * An offset of null uses (and moves) the fd's own position.
   */
  splice (fdIn: number, offIn: number | null, fdOut: number, offOut: number | null, length: number, options?: SpliceOptions): Promise<number> {
    V.fd(fdIn, 'fdIn')
    V.fd(fdOut, 'fdOut')
    const oi = offIn === null ? -1 : V.int(offIn, 'offIn', 0, Number.MAX_SAFE_INTEGER)
    const oo = offOut === null ? -1 : V.int(offOut, 'offOut', 0, Number.MAX_SAFE_INTEGER)
    V.int(length, 'length', 0, 2 ** 31 - 1)
    const o = V.options(options)
    const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 15)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'splice')
    return this.#track(ring.splice(fdIn, oi, fdOut, oo, length, flags, 0), NUMBER, 'splice', fdIn, undefined, o, undefined, SOFT_TIMEOUT) as Promise<number>
  }

  /** tee(2): copies up to `length` bytes from pipe `fdIn` to pipe `fdOut` without consuming them (kernel 5.8). */
  tee (fdIn: number, fdOut: number, length: number, options?: SpliceOptions): Promise<number> {
    V.fd(fdIn, 'fdIn')
    V.fd(fdOut, 'fdOut')
    V.int(length, 'length', 0, 2 ** 31 - 1)
    const o = V.options(options)
    const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 15)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'tee')
    return this.#track(ring.tee(fdIn, fdOut, length, flags, 0), NUMBER, 'tee', fdIn, undefined, o, undefined, SOFT_TIMEOUT) as Promise<number>
  }

  /**
   * Copies bytes from `srcFd` to `dstFd` (files or sockets, any direction)
   * through a kernel pipe with splice: the data never enters user space.
   * Resolves with the bytes copied. `timeout` bounds the whole copy. If it
   * fails part-way, the error's `bytesCopied` says how much arrived.
   */
  copy (srcFd: number, dstFd: number, options?: CopyOptions): Promise<number> {
    V.fd(srcFd, 'srcFd')
    V.fd(dstFd, 'dstFd')
    const raw = (options ?? {}) as CopyOptions
    const o = V.options(options)
    const length = raw.length === undefined ? Infinity : V.int(raw.length, 'options.length', 0, Number.MAX_SAFE_INTEGER)
    const src = raw.srcPosition == null ? null : V.int(raw.srcPosition, 'options.srcPosition', 0, Number.MAX_SAFE_INTEGER)
    const dst = raw.dstPosition == null ? null : V.int(raw.dstPosition, 'options.dstPosition', 0, Number.MAX_SAFE_INTEGER)
    return this.#copy(srcFd, dstFd, length, src, dst, o)
  }

  async #copy (srcFd: number, dstFd: number, length: number, src: number | null, dst: number | null, o: V.OpOptions): Promise<number> {
    const deadline = o.timeout === undefined ? Infinity : Date.now() + o.timeout
    const step = (): V.OpOptions => {
      if (deadline === Infinity) return o
      return { signal: o.signal, timeout: Math.max(1, deadline - Date.now()) }
    }
    if (this.#state !== 'open') throw E.destroyed('splice')
    // The pipe is held natively until the finally below: a worker
    // terminated mid-copy runs no finally, and its teardown closes them.
    const [r, w] = this.pipe(COPY_CHUNK)
    this.#fn.hold(r)
    this.#fn.hold(w)
    let total = 0
    try {
      while (total < length) {
        const n = await this.splice(srcFd, src, w, null, Math.min(COPY_CHUNK, length - total), step())
        if (n === 0) break // end of file
        if (src !== null) src += n
        for (let left = n; left > 0;) {
          const k = await this.splice(r, null, dstFd, dst, left, step())
          // The pipe holds `left` bytes and we hold its write end, so 0 would
          // mean a kernel that cannot move them: fail rather than spin.
          if (k === 0) throw E.systemError(-os.errno.EIO, 'splice', { fd: dstFd })
          left -= k
          if (dst !== null) dst += k
        }
        total += n
      }
      return total
    } catch (err) {
      if (err instanceof Error) Object.assign(err, { bytesCopied: total })
      throw err
    } finally {
      // Closed here, or by the teardown already if the Machine went first.
      this.#fn.disown(r, true)
      this.#fn.disown(w, true)
    }
  }

  /**
   * Multishot recv(2) (kernel 6.0) as an async iterator of Buffers: one
   * kernel request yields chunk after chunk, into provided buffers the
   * kernel picks from. Ends at end of stream; break, `return()` or the
   * signal end it early, and nothing is left in flight once they settle.
   */
  recvMulti (fd: number, options?: MultishotOptions): AsyncIterableIterator<Buffer> {
    return this.#multishot('recv', fd, options) as Multishot<Buffer>
  }

  /** Multishot read(2) of a pipe, socket or tty (kernel 6.7), like `recvMulti`. */
  readMulti (fd: number, options?: Omit<MultishotOptions, 'flags'>): AsyncIterableIterator<Buffer> {
    return this.#multishot('read', fd, options) as Multishot<Buffer>
  }

  /**
   * Multishot accept4(2) (kernel 5.19) as an async iterator of connected
   * fds (close-on-exec), one kernel request for all. Connections accepted
   * but not yet taken when the iteration ends are closed.
   */
  acceptMulti (fd: number, options?: AcceptMultiOptions): AsyncIterableIterator<number> {
    return this.#multishot('accept', fd, options) as Multishot<number>
  }

  #multishot (kind: 'recv' | 'read' | 'accept', fd: number, options: unknown): AnyStream {
    V.fd(fd)
    const o = V.options(options)
    if (o.timeout !== undefined) throw E.invalidArgValue('options.timeout', o.timeout, 'is not supported by a stream (use signal)')
    const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
    let size = 0
    let count = 0
    let hwm: number
    if (kind === 'accept') {
      hwm = o.highWaterMark === undefined ? 128 : V.int(o.highWaterMark, 'options.highWaterMark', 1, 2 ** 31 - 1)
    } else {
      if (kind === 'read' && o.flags !== undefined) throw E.invalidArgValue('options.flags', o.flags, 'is not supported by readMulti')
      size = o.bufferSize === undefined ? 16384 : V.int(o.bufferSize, 'options.bufferSize', 1, 1 << 24)
      count = o.buffers === undefined ? 64 : V.int(o.buffers, 'options.buffers', 1, 32768)
      if ((count & (count - 1)) !== 0) throw E.outOfRange('options.buffers', 'a power of two from 1 to 32768', count)
      hwm = o.highWaterMark === undefined ? count * size : V.int(o.highWaterMark, 'options.highWaterMark', 1, Number.MAX_SAFE_INTEGER)
    }
    const st = new Multishot(this.#streamHost, kind, fd, kind, flags, hwm, count, size, o.signal)
    this.#streams.add(st)
    return st.start()
  }

  readonly #streamHost: StreamHost = {
    arm: (st) => {
      if (this.#state !== 'open') return RES_CLOSED
      if (st.kind !== 'accept' && st.group < 0) {
        const g = this.#ring.bufGroup(st.bufferCount, st.bufferSize)
        if (g < 0) return g
        st.group = g
      }
      const fn = this.#fn
      const slot = st.kind === 'recv'
        ? fn.recvMulti(st.fd, st.group, st.flags)
        : st.kind === 'read' ? fn.readMulti(st.fd, st.group) : fn.acceptMulti(st.fd, st.flags)
      if (slot < 0) return slot
      const op = new Pending(STREAM, st.syscall, st.fd, undefined, 0, undefined)
      op.stream = st
      this.#ops[slot] = op
      this.#dsts[slot] = st.staging
      if (this.#pending++ === 0) live.add(this)
      if (TRACE) debug('submit %s multishot slot=%d fd=%d', st.syscall, slot, st.fd)
      return slot
    },
    cancel: (slot) => { this.#ring.cancel(slot) },
    release: (st) => { if (this.#state !== 'closed') this.#ring.releaseGroup(st.group) },
    error: (res, st) => this.#error(res, new Pending(STREAM, st.syscall, st.fd, undefined, 0, undefined)),
    disown: (fd, close) => { this.#fn.disown(fd, close) },
    forget: (st) => { this.#streams.delete(st) }
  }

  /**
   * Resolves `hostname` with getaddrinfo(3) on a native thread pool, the
   * answer coming back through the ring. Results and errors are shaped like
   * `dns.promises.lookup(hostname, { all: true })`'s (ENOTFOUND for an
   * unknown name). The pool cannot interrupt getaddrinfo: an abort or
   * timeout rejects at once and the lookup's late answer is dropped.
   */
  resolve (hostname: string, options?: ResolveOptions): Promise<LookupAddress[]> {
    if (typeof hostname !== 'string') throw E.invalidArgType('hostname', 'of type string', hostname)
    if (hostname.includes('\u0000')) throw E.invalidArgValue('hostname', hostname, 'must not contain null bytes')
    const o = V.options(options)
    const family = o.family === undefined ? 0 : o.family
    if (family !== 0 && family !== 4 && family !== 6) throw E.invalidArgValue('options.family', family, 'must be one of: 0, 4, 6')
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'getaddrinfo')
    if (hostname === '') return Promise.resolve([]) // as dns.lookup answers an empty name
    const list: string[] = []
    // AF_INET, AF_INET6 (Linux), or AF_UNSPEC.
    const slot = ring.resolve(hostname, family === 4 ? 2 : family === 6 ? 10 : 0, 0)
    // No kernel op to link a timeout to: a timer cancels it (see SOFT_TIMEOUT).
    return this.#track(slot, RESOLVE, 'getaddrinfo', -1, undefined, o, list, SOFT_TIMEOUT, hostname) as Promise<LookupAddress[]>
  }

  /**
   * Cancels every op of this Machine in flight on `fd` (kernel 5.19): they
   * reject with `code` 'ECANCELED'. Resolves with how many there were.
   */
  cancelFd (fd: number, options?: V.OpOptions): Promise<number> {
    V.fd(fd)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'async_cancel')
    return this.#track(ring.cancelFd(fd, o.timeout ?? 0), NUMBER, 'async_cancel', fd, undefined, o) as Promise<number>
  }

  /** Where other Machines post to this one (`post`, `sendFd`): pass it to another thread with postMessage. */
  get address (): MachineAddress {
    const [fd, id] = this.#ring.address()
    return Object.freeze({ fd, id })
  }

  /**
   * Posts an int32 `value` to the Machine at `target` (any thread of this
   * process) with IORING_OP_MSG_RING (kernel 5.18): it arrives there as a
   * completion, for `receive()`. Resolves once it is delivered.
   */
  post (target: MachineAddress, value: number, options?: V.OpOptions): Promise<void> {
    const [fd, id] = machineAddress(target)
    V.int(value, 'value', -(2 ** 31), 2 ** 31 - 1)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'msg_ring')
    return this.#track(ring.msgRing(fd, id, value, o.timeout ?? 0), VOID, 'msg_ring', fd, undefined, o) as Promise<void>
  }

  /**
   * Passes a duplicate of `fd` to the Machine at `target`, whose `receive()`
   * gets it as its own (close-on-exec); `fd` stays open here. The basis of
   * accept on one thread, serve on many.
   */
  sendFd (target: MachineAddress, fd: number, options?: V.OpOptions): Promise<void> {
    const [ringFd, id] = machineAddress(target)
    V.fd(fd)
    const o = V.options(options)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, 'msg_ring')
    return this.#track(ring.msgRingFd(ringFd, id, fd, o.timeout ?? 0), VOID, 'msg_ring', ringFd, undefined, o) as Promise<void>
  }

  /**
   * The next message another Machine posted here, in arrival order:
   * `{ type: 'value', value }` or `{ type: 'fd', fd }`. Waits (keeping the
   * event loop alive) until one arrives, the signal aborts, or `timeout`.
   */
  receive (options?: V.OpOptions): Promise<MachineMessage> {
    const o = V.options(options)
    if (this.#state !== 'open') return Promise.reject(E.destroyed('receive'))
    if (o.signal?.aborted === true) return Promise.reject(new E.AbortError(undefined, { cause: o.signal.reason }))
    if (this.#inbox.length > 0) return Promise.resolve(this.#handOut(this.#inbox.shift()!))
    return new Promise<MachineMessage>((resolve, reject) => {
      const r: Receiver = { resolve, reject, signal: o.signal, onAbort: undefined, timer: undefined }
      const drop = (err: Error): void => {
        const i = this.#receivers.indexOf(r)
        if (i < 0) return
        this.#receivers.splice(i, 1)
        this.#settleReceiver(r)
        reject(err)
      }
      if (o.signal !== undefined) {
        const signal = o.signal
        r.onAbort = () => drop(new E.AbortError(undefined, { cause: signal.reason }))
        addListener.call(signal, 'abort', r.onAbort, { once: true })
      }
      if (o.timeout !== undefined) {
        const ms = o.timeout
        r.timer = setTimeout(() => drop(E.timedOut('receive', ms)), ms)
      }
      this.#receivers.push(r)
      this.#ring.hold(1)
    })
  }

  #settleReceiver (r: Receiver): void {
    if (r.timer !== undefined) clearTimeout(r.timer)
    if (r.onAbort !== undefined) {
      try { removeListener.call(r.signal!, 'abort', r.onAbort) } catch {}
    }
    if (this.#state !== 'closed') this.#ring.hold(-1)
  }

  #onMessage (kind: number, value: number): void {
    const msg: MachineMessage = kind === SLOT_MESSAGE_FD ? { type: 'fd', fd: value } : { type: 'value', value }
    if (TRACE) debug('message %s %d', msg.type, value)
    const r = this.#receivers.shift()
    if (r === undefined) {
      this.#inbox.push(msg) // a passed fd stays held natively until received
      return
    }
    this.#settleReceiver(r)
    r.resolve(this.#handOut(msg))
  }

  /** A message given to the caller: a passed fd is theirs from now on. */
  #handOut (msg: MachineMessage): MachineMessage {
    if (msg.type === 'fd') this.#fn.disown(msg.fd, false)
    return msg
  }

  /**
   * Registers `count` buffers of `size` bytes with the kernel (kernel 5.19):
   * fixed reads and writes (`readFixed`, `writeFixed`, `sendZcFixed`) then
   * move data straight between them and the file or socket, with no copy
   * on either side. The kernel pins the memory while registered.
   */
  registerBuffers (count: number, size: number): RegisteredBuffers {
    V.int(count, 'count', 1, 1024)
    V.int(size, 'size', 1, 1 << 30)
    if (count * size > 2 ** 31) throw E.outOfRange('count * size', '<= 2 GiB', count * size)
    if (this.#state !== 'open') throw E.destroyed('register_buffers')
    const { id, memory } = nativeCall(() => this.#ring.registerBuffers(count, size))
    const views = Array.from({ length: count }, (_, i) => Buffer.from(memory, i * size, size))
    const reg: RegisteredBuffers = new RegisteredBuffers(count, size, views, () => {
      this.#registered.delete(reg)
      return this.#state !== 'closed' && this.#ring.unregisterBuffers(id)
    })
    this.#registered.set(reg, id)
    return reg
  }

  #fixed (buffers: unknown, index: unknown): [number, number, Buffer] {
    if (!(buffers instanceof RegisteredBuffers)) throw E.invalidArgType('buffers', 'an instance of RegisteredBuffers', buffers)
    const id = this.#registered.get(buffers)
    if (id === undefined) throw E.notRegistered(buffers.registered ? 'the buffers are registered with another Machine' : 'the buffers are no longer registered')
    const i = V.int(index, 'index', 0, buffers.count - 1)
    return [id, i, buffers.buffers[i]!]
  }

  /** pread(2) straight into registered buffer `index` (no copy); resolves with the bytes read. */
  readFixed (fd: number, buffers: RegisteredBuffers, index: number, options?: ReadOptions): Promise<number> {
    return this.#fixedOp('read', fd, buffers, index, options)
  }

  /** pwrite(2) straight from registered buffer `index` (no copy); resolves with the bytes written. */
  writeFixed (fd: number, buffers: RegisteredBuffers, index: number, options?: WriteOptions): Promise<number> {
    return this.#fixedOp('write', fd, buffers, index, options)
  }

  #fixedOp (op: 'read' | 'write' | 'send', fd: number, buffers: RegisteredBuffers, index: number, options: unknown): Promise<number> {
    V.fd(fd)
    const [id, i, b] = this.#fixed(buffers, index)
    const o = V.options(options)
    const [off, len] = V.range(b, 'buffer', o.offset, o.length)
    // A send's last argument is its flags; a read's or write's, the position.
    const last = op !== 'send' ? V.position(o.position) : o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
    const ring = this.#ready(o)
    if (ring === null) return this.#refuse(o, op)
    const submit = op === 'read' ? ring.readFixed : op === 'write' ? ring.writeFixed : ring.sendZcFixed
    return this.#track(submit(fd, id, i, off, len, last, o.timeout ?? 0), NUMBER, op, fd, undefined, o) as Promise<number>
  }

  /**
   * Zero-copy send(2) (kernel 6.0): `buffer` is copied once at the call and
   * the kernel sends from that copy without copying it again. Resolves with
   * the bytes sent once the kernel has released the memory (on loopback,
   * when the peer has read the data).
   */
  sendZc (fd: number, buffer: ArrayBufferView, options?: SocketIoOptions): Promise<number> {
    return this.#send(true, fd, buffer, options)
  }

  /**
   * Zero-copy send(2) straight from registered buffer `index`: no copy at
   * all. Resolves once the kernel has released the buffer; do not change
   * it before then.
   */
  sendZcFixed (fd: number, buffers: RegisteredBuffers, index: number, options?: SocketIoOptions): Promise<number> {
    return this.#fixedOp('send', fd, buffers, index, options)
  }


  /**
   * Refuses new ops, cancels those in flight (their promises reject with
   * `ERR_MACHINE_DESTROYED`, or resolve if they had already completed),
   * waits until the kernel has let go of their memory, and frees the ring.
   */
  destroy (): Promise<void> {
    if (this.#closed !== undefined) return this.#closed
    this.#state = 'closing'
    this.#closed = new Promise<void>((resolve) => { this.#resolveClosed = resolve })
    // Streams end now, paused ones too (no request of theirs would tell
    // them), and close the connections they queued.
    for (const st of [...this.#streams]) st.destroy(E.destroyed(st.syscall))
    if (this.#ring.close()) this.#onClosed()
    return this.#closed
  }

  /** `await using m = new Machine()` destroys it at the end of the scope. */
  [asyncDispose] (): Promise<void> {
    return this.destroy()
  }

  /** The op functions, if the op may start; null if the Machine is closed or the signal already fired. */
  #ready (o: V.OpOptions): NativeOps | null {
    if (this.#state !== 'open' || o.signal?.aborted === true) return null
    return this.#fn
  }

  #refuse (o: V.OpOptions, syscall: string, _info?: E.SystemErrorInfo): Promise<never> {
    if (this.#state !== 'open') return Promise.reject(E.destroyed(syscall))
    return Promise.reject(new E.AbortError(undefined, { cause: o.signal?.reason }))
  }

  /**
   * The op's promise. `dst` is where its output goes (a read's view, a
   * readv's views, a statx array); every op writes its slot of `#dsts`, so
   * that array stays packed (slots are handed out densely from 0).
   */
  #track (slot: number, kind: number, syscall: string, fd: number, info: E.SystemErrorInfo | undefined, o: V.OpOptions, dst?: unknown, soft = false, hostname?: string): Promise<unknown> {
    const op = new Pending(kind, syscall, fd, info, o.timeout ?? 0, kind === STAT || kind === CHILD ? dst as Float64Array | BigInt64Array : undefined)
    if (kind === RESOLVE) {
      op.list = dst as string[]
      op.hostname = hostname!
    }
    if (TRACE) debug('submit %s slot=%d fd=%d%s', syscall, slot, fd, o.timeout !== undefined ? ` timeout=${o.timeout}ms` : '')
    if (slot < 0) return Promise.reject(this.#error(slot, op))
    const promise = new Promise(capture)
    op.resolve = nextResolve
    op.reject = nextReject
    this.#ops[slot] = op
    this.#dsts[slot] = dst
    if (this.#pending++ === 0) live.add(this)
    if (o.timeout !== undefined && o.timeout > 0) {
      // Soft: the timer is the timeout. Otherwise the kernel's linked
      // timeout is, and the timer a backstop: an op that ends up blocking
      // in a kernel worker can miss its linked timeout on 6.18 (a unix
      // connect about 1 in 300: scripts/hunt/connect-timeout.mjs).
      op.timer = setTimeout(() => {
        op.timedOut = true
        this.#ring.cancel(slot)
      }, soft ? o.timeout : Math.min(o.timeout + BACKSTOP_MS, 2 ** 31 - 1))
    }
    const signal = o.signal
    if (signal !== undefined) {
      op.signal = signal
      op.watch = this.#watch(signal)
      op.watch.set(op, slot)
    }
    return promise
  }

  /**
   * This Machine's ops in flight under `signal`, behind one abort listener
   * that stays for the signal's life: a task passing its signal to op after
   * op costs a Map insert and delete per op, not a listener added and
   * removed. The listener holds the Machine only weakly.
   */
  #watch (signal: AbortSignal): Map<Pending, number> {
    let ops = this.#watched.get(signal)
    if (ops === undefined) {
      const set = ops = new Map<Pending, number>()
      this.#watched.set(signal, set)
      const machine = new WeakRef(this)
      addListener.call(signal, 'abort', () => {
        const m = machine.deref()
        for (const [op, slot] of set) {
          op.aborted = true
          if (m !== undefined) m.#ring.cancel(slot)
        }
        set.clear()
      }, { once: true })
    }
    return ops
  }

  /** Called by the native ring with n (slot, result) pairs, or -1 once it has closed. */
  readonly #complete = (n: number): void => {
    if (n < 0) {
      this.#onClosed()
      return
    }
    const results = this.#results
    const ops = this.#ops
    const dsts = this.#dsts
    // First take every op of the batch out of the table, then settle them:
    // code that runs while settling (an abort listener's removal) may start
    // ops, which can get the slots of this batch.
    const batch = this.#batch
    const epoch = ++this.#epoch
    for (let i = 0; i < n; i++) {
      const raw = results[2 * i]!
      if (raw < 0) continue // a message
      if (raw >= SLOT_MORE) {
        batch[i] = ops[raw - SLOT_MORE] // one of many: the op stays
        continue
      }
      batch[i] = ops[raw]
      ops[raw] = undefined
      dsts[raw] = undefined
    }
    for (let i = 0; i < n; i++) {
      const raw = results[2 * i]!
      if (raw < 0) {
        this.#onMessage(raw, results[2 * i + 1]!)
        continue
      }
      const op = batch[i]
      if (op === undefined) continue
      batch[i] = undefined
      const res = results[2 * i + 1]!
      if (op.kind === STREAM) {
        if (raw >= SLOT_MORE) {
          op.stream!.item(res, epoch)
          continue
        }
        if (TRACE) debug('complete %s multishot slot=%d res=%d', op.syscall, raw, res)
        this.#pending--
        op.stream!.end(res, epoch)
        continue
      }
      this.#pending--
      if (TRACE) debug('complete %s slot=%d res=%d', op.syscall, results[2 * i]!, res)
      if (op.timer !== undefined) clearTimeout(op.timer)
      if (op.watch !== undefined) op.watch.delete(op)
      if (res < 0) {
        if (op.kind === FUTEX_WAIT && res === EAGAIN) op.resolve('not-equal')
        else if (op.kind === RESOLVE && E.isEai(res)) op.reject(E.dnsError(res, op.hostname))
        else op.reject(this.#error(res, op))
      } else if (op.kind === NUMBER) op.resolve(res)
      else if (op.kind === FUTEX_WAIT) op.resolve('ok')
      else if (op.kind === CHILD) op.resolve(childStatus(op.out as Float64Array))
      else if (op.kind === VOID) op.resolve(undefined)
      else if (op.kind === RESOLVE) op.resolve(op.list!.map((address) => ({ address, family: isIP(address) as 4 | 6 })))
      else op.resolve(op.out instanceof BigInt64Array ? new BigIntStats(op.out) : new Stats(op.out!))
    }
    if (this.#pending === 0) live.delete(this)
  }

  #error (res: number, op: Pending): Error {
    if (res === RES_CLOSED) return E.destroyed(op.syscall)
    if (res === RES_DETACHED) return E.bufferDetached(op.syscall)
    if (res === ECANCELED) {
      if (op.timedOut) return E.timedOut(op.syscall, op.timeout, op.fd >= 0 ? { ...op.info, fd: op.fd } : op.info)
      if (op.aborted) return new E.AbortError(undefined, { cause: op.signal?.reason })
      if (this.#state !== 'open') return E.destroyed(op.syscall)
    }
    const info = op.fd >= 0 ? { ...op.info, fd: op.fd } : op.info
    if (res === ETIMEDOUT && op.timeout > 0) return E.timedOut(op.syscall, op.timeout, info)
    if (res === EPERM && this.#ring.credentialsChanged()) return E.credentialsChanged(op.syscall, info)
    return E.systemError(res, op.syscall, info)
  }

  #onClosed (): void {
    this.#state = 'closed'
    for (const r of this.#receivers.splice(0)) {
      this.#settleReceiver(r)
      r.reject(E.destroyed('receive'))
    }
    // Passed fds nobody received were held natively, and closed by the teardown.
    this.#inbox.length = 0
    this.#streams.clear()
    for (const reg of this.#registered.keys()) reg.markGone()
    this.#registered.clear()
    // Every op settled before the ring closed; this only guards the invariant.
    for (let slot = 0; slot < this.#ops.length; slot++) {
      const op = this.#ops[slot]
      if (op !== undefined) {
        this.#ops[slot] = undefined
        op.reject(E.destroyed(op.syscall))
      }
    }
    this.#pending = 0
    live.delete(this)
    this.#resolveClosed?.()
  }
}

/** `stop`'s signal, also aborted when `other` is (AbortSignal.any is Node 20.3+). */
function anySignal (stop: AbortController, other: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([stop.signal, other])
  if (other.aborted) stop.abort(other.reason)
  else addListener.call(other, 'abort', () => stop.abort(other.reason), { once: true })
  return stop.signal
}

const signalNames = new Map(Object.entries(os.signals).map(([name, n]) => [n, name]))

/** A waitid result from the native [pid, code, status]; null when WNOHANG found nothing. */
function childStatus (f: Float64Array): ChildStatus | null {
  const [pid, code, status] = [f[0]!, f[1]!, f[2]!]
  if (pid === 0) return null
  const exited = code === CLD_EXITED
  return { pid, code, exitCode: exited ? status : null, signal: exited ? null : signalNames.get(status) ?? String(status) }
}

/** Runs a synchronous native call whose errors read "<errno>:<syscall>", as a SystemError. */
function nativeCall<T> (fn: () => T, info?: E.SystemErrorInfo): T {
  try {
    return fn()
  } catch (err) {
    const m = /^(\d+):(\w+)$/.exec((err as Error).message)
    if (m === null) throw err
    throw E.systemError(-Number(m[1]), m[2]!, info)
  }
}

/** An extended attribute's name: a non-empty string without NUL, at most 255 bytes. */
function xattrName (name: unknown): string {
  if (typeof name !== 'string') throw E.invalidArgType('name', 'of type string', name)
  if (name.length === 0 || name.includes('\u0000') || Buffer.byteLength(name) > 255) {
    throw E.invalidArgValue('name', name, 'must be 1 to 255 bytes without null bytes')
  }
  return name
}

function pathText (p: string | Uint8Array): string {
  return typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString()
}

function addressInfo (host: string | Uint8Array, port: number): E.SystemErrorInfo {
  return port < 0 ? { path: pathText(host) } : { address: host as string, port }
}

/** A message receiver waiting in `receive()`. */
interface Receiver {
  resolve: (m: MachineMessage) => void
  reject: (e: unknown) => void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
  timer: ReturnType<typeof setTimeout> | undefined
}

/** [ring fd, id] of a MachineAddress. */
function machineAddress (target: unknown): [number, number] {
  if (typeof target !== 'object' || target === null) throw E.invalidArgType('target', 'a MachineAddress (machine.address)', target)
  const { fd, id } = target as MachineAddress
  return [V.int(fd, 'target.fd', 0, 2 ** 31 - 1), V.int(id, 'target.id', 1, 2 ** 32 - 1)]
}

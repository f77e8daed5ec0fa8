// The Machine: one io_uring on this thread's event loop, its lifecycle and
// its public API. Each op is its family's function (./ops/*.ts): it
// validates the arguments, queues one SQE through the native ring and
// hands the slot to the completion engine (./completion.ts), which settles
// the promise from the batch of completions of one loop wake.
// size: the public API, ~60 methods of one line each under the doc
// comments users read in the typings; the work is in ./ops/ and ./completion.ts.
import { binding, loadFailure, type NativeFeatures } from './native'
import * as E from './errors'
import * as V from './validate'
import { SHUT_WR, WEXITED } from './constants'
import type { Stats, BigIntStats } from './stats'
import type { SystemError } from './errors'
import type { Mutex } from './mutex'
import type { Subprocess, ChildStatus } from './process'
import type { Queue } from './queue'
import type { Multishot } from './multishot'
import { RegisteredBuffers } from './registered'
import { Engine } from './completion'
import type {
  MachineOptions, ReadOptions, WriteOptions, VectorOptions, StatOptions, FsyncOptions, SocketIoOptions, AcceptOptions,
  MkdirOptions, RenameOptions, FallocateOptions, SelectResult, SpliceOptions, CopyOptions, SpawnOptions, GetXattrOptions,
  SetXattrOptions, MultishotOptions, AcceptMultiOptions, ResolveOptions, LookupAddress, MachineAddress, MachineMessage, Probe, Metrics,
  SocketOption, SocketName
} from './types'
import * as R from './ops/ring'
import * as F from './ops/fs'
import * as W from './ops/whole-file'
import * as SM from './ops/stat-many'
import { Batch } from './ops/batch'
import * as N from './ops/net'
import * as XA from './ops/xattr'
import * as P from './ops/process'
import * as SP from './ops/splice'
import * as CP from './ops/copy'
import * as S from './ops/select'
import * as X from './ops/futex'
import * as L from './ops/mutex'
import * as Q from './ops/queue'
import { Streams } from './ops/streams'
import { Mailbox } from './ops/messages'
import { FixedBuffers } from './ops/fixed'

export type { OpOptions, SocketAddress, InetAddress, UnixAddress } from './validate'
export type { Stats, BigIntStats } from './stats'
export type {
  MachineOptions, ReadOptions, WriteOptions, VectorOptions, StatOptions, FsyncOptions, SocketIoOptions, AcceptOptions,
  MkdirOptions, RenameOptions, FallocateOptions, SelectResult, SpliceOptions, CopyOptions, SpawnOptions, StdioSpec, GetXattrOptions,
  SetXattrOptions, MultishotOptions, AcceptMultiOptions, ResolveOptions, LookupAddress, MachineAddress, MachineMessage, Probe, Metrics,
  SocketOption, SocketName
} from './types'
export type { ReadFileOptions, WriteFileOptions } from './ops/whole-file'
export type { StatManyOptions } from './ops/stat-many'
export type { BatchResult, BatchError, BatchSubmitOptions } from './ops/batch'
export { Batch }
export { RegisteredBuffers }

const NO_SIGNAL: V.OpOptions = Object.freeze({})

/** @internal The key of Machine's positional read/write for the scheduler. */
export const kTransfer: unique symbol = Symbol('uring-machine.transfer')

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

  /** The ring and the ops in flight. */
  readonly #c: Engine
  /** The futex wait/wake the mutex and Queue protocols run on. */
  readonly #futex: X.FutexPort
  /** Pids this Machine spawned and has not reaped: only these may be reaped by pid. */
  readonly #children = new Set<number>()
  readonly #mail: Mailbox
  readonly #streams: Streams
  readonly #fixed: FixedBuffers
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
    if (raw.offload !== undefined && typeof raw.offload !== 'boolean') throw E.invalidArgType('options.offload', 'of type boolean', raw.offload)
    if (binding === null) throw E.unavailable(loadFailure ?? 'no binding')
    const c = this.#c = new Engine(entries, sqpoll, raw.profile === true, raw.offload === true, {
      onMessage: (kind, value) => { this.#mail.onMessage(kind, value) },
      onClosed: () => { this.#onClosed() }
    })
    this.#futex = X.futexPort(c)
    this.#mail = new Mailbox(c)
    this.#streams = new Streams(c)
    this.#fixed = new FixedBuffers(c)
  }

  /** Whether `destroy()` has been called. */
  get destroyed (): boolean {
    return this.#c.state !== 'open'
  }

  /** Counters: ops submitted/completed/pending, kernel enters, batches, overflows, ... */
  metrics (): Metrics {
    return this.#c.ring.metrics()
  }

  /** Does nothing, through the ring: the round trip's cost. */
  nop (options?: V.OpOptions): Promise<void> {
    return R.nop(this.#c, options)
  }

  /** read(2)/pread(2) into `buffer`; resolves with the bytes read (0 at end of file). */
  read (fd: number, buffer: ArrayBufferView, options?: ReadOptions): Promise<number> {
    return F.read(this.#c, fd, buffer, options)
  }

  /**
   * The whole file at `path`, as Node's fs.promises.readFile gives it: one
   * submission of linked open, read, read on a direct descriptor (kernel
   * 5.19; single ops below it), reading on to end of file for larger
   * files, fifos and /proc files. A string with `encoding`.
   */
  readFile (path: string | Buffer | URL, options?: W.ReadFileOptions | BufferEncoding): Promise<Buffer | string> {
    return W.readFile(this.#c, path, options)
  }

  /**
   * Replaces the file at `path` with `data`, as Node's
   * fs.promises.writeFile does: one submission of linked open, write,
   * fsync (with `flush`), close (kernel 5.19; single ops below it).
   */
  writeFile (path: string | Buffer | URL, data: string | ArrayBufferView, options?: W.WriteFileOptions | BufferEncoding): Promise<void> {
    return W.writeFile(this.#c, path, data, options)
  }

  /** Appends `data` to the file at `path`, as fs.promises.appendFile does: writeFile with flag 'a' by default, one chain. */
  appendFile (path: string | Buffer | URL, data: string | ArrayBufferView, options?: W.WriteFileOptions | BufferEncoding): Promise<void> {
    return W.appendFile(this.#c, path, data, options)
  }

  /**
   * stat (lstat with `{ lstat: true }`) of every path in one native call
   * and one promise: independent statx ops, so each path gets its own
   * result, a Stats (BigIntStats with `bigint`) or, for a path that
   * failed, an Error shaped as fs.promises.stat's (ENOENT, `syscall`
   * 'stat', `path`), in the array, not as a rejection.
   */
  statMany (paths: ReadonlyArray<string | Buffer | URL>, options?: SM.StatManyOptions & { bigint?: false }): Promise<Array<Stats | SystemError>>
  statMany (paths: ReadonlyArray<string | Buffer | URL>, options: SM.StatManyOptions & { bigint: true }): Promise<Array<BigIntStats | SystemError>>
  statMany (paths: ReadonlyArray<string | Buffer | URL>, options?: SM.StatManyOptions): Promise<Array<Stats | BigIntStats | SystemError>>
  statMany (paths: ReadonlyArray<string | Buffer | URL>, options?: SM.StatManyOptions): Promise<Array<Stats | BigIntStats | SystemError>> {
    return SM.statMany(this.#c, paths, options)
  }

  /** A builder of the caller's own op chain on one file: `m.batch().open(p).read(buf).close().submit()` (docs/batch.md). */
  batch (): Batch {
    return new Batch(this.#c)
  }

  /** write(2)/pwrite(2) of `buffer` (copied at the call); resolves with the bytes written. */
  write (fd: number, buffer: ArrayBufferView, options?: WriteOptions): Promise<number> {
    return F.write(this.#c, fd, buffer, options)
  }

  /**
   * @internal The scheduler's read/write hooks: the same op without an
   * options bag to copy (the hook's arguments are positional). `position`
   * < 0 uses the fd's own position.
   */
  [kTransfer] (write: boolean, fd: number, buffer: Uint8Array, offset: unknown, length: unknown, position: number, signal: AbortSignal | undefined): Promise<number> {
    return F.transfer(this.#c, write, fd, buffer, offset, length, position < 0 ? -1 : V.position(position), signal === undefined ? NO_SIGNAL : { signal })
  }

  /** preadv(2) into `buffers` in order; resolves with the total bytes read. */
  readv (fd: number, buffers: readonly ArrayBufferView[], options?: VectorOptions): Promise<number> {
    return F.readv(this.#c, fd, buffers, options)
  }

  /** pwritev(2) of `buffers` in order (copied at the call); resolves with the total bytes written. */
  writev (fd: number, buffers: readonly ArrayBufferView[], options?: VectorOptions): Promise<number> {
    return F.writev(this.#c, fd, buffers, options)
  }

  /**
   * openat(2); resolves with the new fd (always close-on-exec).
   * `flags`: O_* bits or fs.open's strings ('r', 'w+', 'ax', ...); `mode` defaults to 0o666.
   */
  open (path: string | Buffer | URL, flags?: number | string, mode?: number | string, options?: V.OpOptions): Promise<number> {
    return F.open(this.#c, path, flags, mode, options)
  }

  /** close(2). */
  close (fd: number, options?: V.OpOptions): Promise<void> {
    return F.close(this.#c, fd, options)
  }

  /** statx(2) of a path or an open fd, as a Stats (or BigIntStats with `bigint`). */
  statx (pathOrFd: string | Buffer | URL | number, options?: StatOptions & { bigint?: false }): Promise<Stats>
  statx (pathOrFd: string | Buffer | URL | number, options: StatOptions & { bigint: true }): Promise<BigIntStats>
  statx (pathOrFd: string | Buffer | URL | number, options?: StatOptions): Promise<Stats | BigIntStats>
  statx (pathOrFd: string | Buffer | URL | number, options?: StatOptions): Promise<Stats | BigIntStats> {
    return F.statx(this.#c, pathOrFd, options)
  }

  /** fsync(2), or fdatasync(2) with `{ datasync: true }`. */
  fsync (fd: number, options?: FsyncOptions): Promise<void> {
    return F.fsync(this.#c, fd, options)
  }

  /** socket(2); resolves with the new fd (always close-on-exec). Kernel 5.19+ in the ring, the syscall below. */
  socket (domain: number, type: number, protocol = 0, options?: V.OpOptions): Promise<number> {
    return N.socket(this.#c, domain, type, protocol, options)
  }

  /** bind(2) to `{ address, port }` (IPv4/IPv6) or `{ path }` (unix). Kernel 6.11+ in the ring, the syscall below. */
  bind (fd: number, address: V.SocketAddress, options?: V.OpOptions): Promise<void> {
    return N.bind(this.#c, fd, address, options)
  }

  /** listen(2). `backlog` defaults to 511 (as node:net). Kernel 6.11+ in the ring, the syscall below. */
  listen (fd: number, backlog = 511, options?: V.OpOptions): Promise<void> {
    return N.listen(this.#c, fd, backlog, options)
  }

  /** accept4(2); resolves with the connection's fd (always close-on-exec). */
  accept (fd: number, options?: AcceptOptions): Promise<number> {
    return N.accept(this.#c, fd, options)
  }

  /** connect(2) to `{ address, port }` or `{ path }`. */
  connect (fd: number, address: V.SocketAddress, options?: V.OpOptions): Promise<void> {
    return N.connect(this.#c, fd, address, options)
  }

  /** send(2) of `buffer` (copied at the call; MSG_NOSIGNAL always); resolves with the bytes sent. */
  send (fd: number, buffer: ArrayBufferView, options?: SocketIoOptions): Promise<number> {
    return N.send(this.#c, fd, buffer, options)
  }

  /** recv(2) into `buffer`; resolves with the bytes received (0: the peer shut down). */
  recv (fd: number, buffer: ArrayBufferView, options?: SocketIoOptions): Promise<number> {
    return N.recv(this.#c, fd, buffer, options)
  }

  /** shutdown(2); `how` defaults to SHUT_WR (like socket.end()). */
  shutdown (fd: number, how: number = SHUT_WR, options?: V.OpOptions): Promise<void> {
    return N.shutdown(this.#c, fd, how, options)
  }

  /**
   * setsockopt(2) of `option` ('TCP_NODELAY', 'SO_REUSEADDR', 'SO_REUSEPORT',
   * 'SO_KEEPALIVE': a boolean; 'SO_RCVBUF', 'SO_SNDBUF': a byte count, which
   * the kernel doubles). IORING_OP_URING_CMD (kernel 6.7), the syscall below.
   */
  setsockopt (fd: number, option: SocketOption, value: boolean | number, options?: V.OpOptions): Promise<void> {
    return N.setsockopt(this.#c, fd, option, value, options)
  }

  /** getsockopt(2) of `option` (as `setsockopt`'s): resolves with its boolean or number. */
  getsockopt (fd: number, option: SocketOption, options?: V.OpOptions): Promise<boolean | number> {
    return N.getsockopt(this.#c, fd, option, options)
  }

  /** getsockname(2), at once (io_uring has no op for it): `{ address, family, port }` or `{ family: 'unix', path }`. */
  getsockname (fd: number): SocketName {
    return N.sockName(this.#c, fd, false)
  }

  /** getpeername(2), at once, like `getsockname`. */
  getpeername (fd: number): SocketName {
    return N.sockName(this.#c, fd, true)
  }

  /** A timer in the ring: resolves after `ms` milliseconds (fractions allowed). */
  sleep (ms: number, options?: V.OpOptions): Promise<void> {
    return R.sleep(this.#c, ms, options)
  }

  /**
   * A periodic timer in the ring (IORING_TIMEOUT_MULTISHOT, kernel 6.4) as an
   * async iterator of tick counts (1, 2, 3, ...), one every `ms`
   * milliseconds. Break, `return()`, the signal or `destroy()` end it, and
   * nothing is left in flight once they settle.
   */
  interval (ms: number, options?: Pick<V.OpOptions, 'signal'>): AsyncIterableIterator<number> {
    return this.#streams.interval(ms, options) as Multishot<number>
  }

  /** One-shot poll(2) of `fd` for `events` (POLLIN, POLLOUT, ...); resolves with the ready events. */
  poll (fd: number, events: number, options?: V.OpOptions): Promise<number> {
    return R.poll(this.#c, fd, events, options)
  }

  /** unlinkat(2) of a file (kernel 5.11). */
  unlink (path: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
    return F.unlink(this.#c, path, options)
  }

  /** unlinkat(2) with AT_REMOVEDIR: removes an empty directory (kernel 5.11). */
  rmdir (path: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
    return F.rmdir(this.#c, path, options)
  }

  /** renameat2(2) (kernel 5.11); `flags`: RENAME_NOREPLACE, RENAME_EXCHANGE. */
  rename (oldPath: string | Buffer | URL, newPath: string | Buffer | URL, options?: RenameOptions): Promise<void> {
    return F.rename(this.#c, oldPath, newPath, options)
  }

  /** mkdirat(2) of one directory (not recursive; kernel 5.15). */
  mkdir (path: string | Buffer | URL, options?: MkdirOptions): Promise<void> {
    return F.mkdir(this.#c, path, options)
  }

  /** symlinkat(2): makes `path` a symbolic link to `target` (kernel 5.15). */
  symlink (target: string | Buffer | URL, path: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
    return F.symlink(this.#c, target, path, options)
  }

  /** linkat(2): a new name `newPath` for `existingPath` (kernel 5.15). */
  link (existingPath: string | Buffer | URL, newPath: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
    return F.link(this.#c, existingPath, newPath, options)
  }

  /** ftruncate(2) to `length` bytes (default 0). Kernel 6.9 in the ring, the syscall below. */
  ftruncate (fd: number, length = 0, options?: V.OpOptions): Promise<void> {
    return F.ftruncate(this.#c, fd, length, options)
  }

  /** fallocate(2) of `length` bytes at `offset`; `mode`: FALLOC_FL_* (kernel 5.6). */
  fallocate (fd: number, offset: number, length: number, options?: FallocateOptions): Promise<void> {
    return F.fallocate(this.#c, fd, offset, length, options)
  }

  /** posix_fadvise(2): `advice` is a POSIX_FADV_* constant; `length` 0 means to the end (kernel 5.6). */
  fadvise (fd: number, offset: number, length: number, advice: number, options?: V.OpOptions): Promise<void> {
    return F.fadvise(this.#c, fd, offset, length, advice, options)
  }

  /**
   * Waits while `word[index]` equals `expected`, until a `futexWake` of the
   * same word from any thread (kernel 6.7). Resolves 'ok' when woken,
   * 'not-equal' if the word already differed, like `Atomics.waitAsync`.
   * The event loop keeps running meanwhile.
   */
  futexWait (word: Int32Array, index: number, expected: number, options?: V.OpOptions): Promise<'ok' | 'not-equal'> {
    return X.futexWait(this.#c, word, index, expected, options)
  }

  /** Wakes up to `count` (default 1) threads waiting on `word[index]` (kernel 6.7); resolves with how many. */
  futexWake (word: Int32Array, index: number, count = 1, options?: V.OpOptions): Promise<number> {
    return X.futexWake(this.#c, word, index, count, options)
  }

  /**
   * Takes `mutex`. Free: at once, in JavaScript. Held: waits in the ring
   * (a futex wait; the event loop keeps running) until it is released, by
   * any thread. `signal` and `timeout` give up waiting.
   */
  lock (mutex: Mutex, options?: V.OpOptions): Promise<void> {
    return L.lock(this.#futex, mutex, options)
  }

  /** Releases `mutex` (taken by `lock` on any thread); wakes one waiter if there may be one. */
  unlock (mutex: Mutex): void {
    L.unlock(this.#futex, mutex)
  }

  /** Runs `fn` holding `mutex`, and releases it however `fn` ends. */
  synchronize<T> (mutex: Mutex, fn: () => T | Promise<T>, options?: V.OpOptions): Promise<T> {
    return L.synchronize(this.#futex, mutex, fn, options)
  }

  /**
   * Waits until any of the fds is ready: readable (`read`), writable
   * (`write`) or with an exceptional condition (`except`: POLLPRI). One
   * poll op per fd; as soon as one completes the others are cancelled, and
   * the result lists every fd found ready by then. A `timeout` resolves
   * with empty lists, as select(2) does; an abort rejects. Nothing is left
   * in flight when it settles.
   */
  select (read: readonly number[], write: readonly number[], except: readonly number[] = [], options?: V.OpOptions): Promise<SelectResult> {
    return S.select(this.#c, read, write, except, options)
  }

  /** Adds `value` at the queue's tail, waiting while it is full. */
  push (queue: Queue, value: unknown, options?: V.OpOptions): Promise<void> {
    return Q.put(this.#futex, queue, value, false, options)
  }

  /** Adds `value` at the queue's head, waiting while it is full. */
  unshift (queue: Queue, value: unknown, options?: V.OpOptions): Promise<void> {
    return Q.put(this.#futex, queue, value, true, options)
  }

  /** Takes the message at the queue's head (FIFO with push), waiting while it is empty. */
  shift (queue: Queue, options?: V.OpOptions): Promise<unknown> {
    return Q.take(this.#futex, queue, true, options)
  }

  /** Takes the message at the queue's tail (LIFO with push), waiting while it is empty. */
  pop (queue: Queue, options?: V.OpOptions): Promise<unknown> {
    return Q.take(this.#futex, queue, false, options)
  }

  /** getxattr(2)/fgetxattr(2): the value of the extended attribute `name` of a path or fd (kernel 5.19). */
  getxattr (pathOrFd: string | Buffer | URL | number, name: string, options?: GetXattrOptions): Promise<Buffer> {
    return XA.getxattr(this.#c, pathOrFd, name, options)
  }

  /** setxattr(2)/fsetxattr(2): sets the extended attribute `name` of a path or fd (kernel 5.19). */
  setxattr (pathOrFd: string | Buffer | URL | number, name: string, value: string | ArrayBufferView, options?: SetXattrOptions): Promise<void> {
    return XA.setxattr(this.#c, pathOrFd, name, value, options)
  }

  /**
   * waitid(2) through the ring (kernel 6.7): waits for a child to change
   * state (`flags`: WEXITED by default; WSTOPPED, WCONTINUED, WNOHANG,
   * WNOWAIT). Resolves with its status, or null (WNOHANG, nothing to report).
   * Children this Machine did not spawn (node:child_process's, say) are
   * observed with WNOWAIT added, so their owner still reaps them.
   */
  waitid (idtype: number, id: number, flags = WEXITED, options?: V.OpOptions): Promise<ChildStatus | null> {
    return P.waitid(this.#c, this.#children, idtype, id, flags, options)
  }

  /**
   * Starts `file` (searched in PATH) with `args`, by posix_spawn. The child
   * is named by a pidfd; `wait()` reaps it through the ring, `kill()`
   * signals it through the pidfd.
   */
  spawn (file: string, args: readonly string[] = [], options?: SpawnOptions): Subprocess {
    return P.spawn(this.#c, this.#children, file, args, options)
  }

  /** pidfd_open(2): an fd naming process `pid` (close-on-exec). */
  pidfdOpen (pid: number): number {
    return P.pidfdOpen(pid)
  }

  /** pidfd_send_signal(2): `signal` by name ('SIGTERM') or number; never reaches a recycled pid. */
  pidfdSendSignal (pidfd: number, signal: string | number): void {
    return P.pidfdSendSignal(pidfd, signal)
  }

  /** A close-on-exec pipe `[readFd, writeFd]` (a plain syscall): the kernel buffer for splice and tee. */
  pipe (size = 65536): [number, number] {
    return SP.pipe(size)
  }

  /**
   * splice(2): moves up to `length` bytes from `fdIn` to `fdOut`, one of
   * which must be a pipe, without passing through user space (kernel 5.7).
   * An offset of null uses (and moves) the fd's own position.
   */
  splice (fdIn: number, offIn: number | null, fdOut: number, offOut: number | null, length: number, options?: SpliceOptions): Promise<number> {
    return SP.splice(this.#c, fdIn, offIn, fdOut, offOut, length, options)
  }

  /** tee(2): copies up to `length` bytes from pipe `fdIn` to pipe `fdOut` without consuming them (kernel 5.8). */
  tee (fdIn: number, fdOut: number, length: number, options?: SpliceOptions): Promise<number> {
    return SP.tee(this.#c, fdIn, fdOut, length, options)
  }

  /**
   * Copies bytes from `srcFd` to `dstFd` (files or sockets, any direction)
   * through a kernel pipe with splice: the data never enters user space.
   * Resolves with the bytes copied. `timeout` bounds the whole copy. If it
   * fails part-way, the error's `bytesCopied` says how much arrived. The
   * loop runs in the core: one promise per call, not per chunk.
   */
  copy (srcFd: number, dstFd: number, options?: CopyOptions): Promise<number> {
    return CP.copy(this.#c, srcFd, dstFd, options)
  }

  /**
   * Node's fs.promises.copyFile(src, dest, mode) in the core: open, statx,
   * open the destination with the source's mode, truncate, fchmod, the
   * splice loop and the closes, one promise. `mode` takes COPYFILE_EXCL,
   * COPYFILE_FICLONE (a clone where the filesystem can, else a copy) and
   * COPYFILE_FICLONE_FORCE (the clone or its error). Errors are Node's
   * (`syscall: 'copyfile'`, `path`, `dest`); a destination left half
   * written is removed, as libuv removes it.
   */
  copyFile (src: string | Buffer | URL, dest: string | Buffer | URL, mode?: number, options?: { signal?: AbortSignal, timeout?: number }): Promise<void> {
    return CP.copyFile(this.#c, src, dest, mode, options)
  }

  /**
   * Multishot recv(2) (kernel 6.0) as an async iterator of Buffers: one
   * kernel request yields chunk after chunk, into provided buffers the
   * kernel picks from. Ends at end of stream; break, `return()` or the
   * signal end it early, and nothing is left in flight once they settle.
   */
  recvMulti (fd: number, options?: MultishotOptions): AsyncIterableIterator<Buffer> {
    return this.#streams.open('recv', fd, options) as Multishot<Buffer>
  }

  /** Multishot read(2) of a pipe, socket or tty (kernel 6.7), like `recvMulti`. */
  readMulti (fd: number, options?: Omit<MultishotOptions, 'flags'>): AsyncIterableIterator<Buffer> {
    return this.#streams.open('read', fd, options) as Multishot<Buffer>
  }

  /**
   * Multishot accept4(2) (kernel 5.19) as an async iterator of connected
   * fds (close-on-exec), one kernel request for all. Connections accepted
   * but not yet taken when the iteration ends are closed.
   */
  acceptMulti (fd: number, options?: AcceptMultiOptions): AsyncIterableIterator<number> {
    return this.#streams.open('accept', fd, options) as Multishot<number>
  }

  /**
   * Resolves `hostname` with getaddrinfo(3) on a native thread pool, the
   * answer coming back through the ring. Results and errors are shaped like
   * `dns.promises.lookup(hostname, { all: true })`'s (ENOTFOUND for an
   * unknown name). The pool cannot interrupt getaddrinfo: an abort or
   * timeout rejects at once and the lookup's late answer is dropped.
   */
  resolve (hostname: string, options?: ResolveOptions): Promise<LookupAddress[]> {
    return N.resolve(this.#c, hostname, options)
  }

  /**
   * Cancels every op of this Machine in flight on `fd` (kernel 5.19): they
   * reject with `code` 'ECANCELED'. Resolves with how many there were.
   */
  cancelFd (fd: number, options?: V.OpOptions): Promise<number> {
    return R.cancelFd(this.#c, fd, options)
  }

  /** Where other Machines post to this one (`post`, `sendFd`): pass it to another thread with postMessage. */
  get address (): MachineAddress {
    return this.#mail.address
  }

  /**
   * Posts an int32 `value` to the Machine at `target` (any thread of this
   * process) with IORING_OP_MSG_RING (kernel 5.18): it arrives there as a
   * completion, for `receive()`. Resolves once it is delivered.
   */
  post (target: MachineAddress, value: number, options?: V.OpOptions): Promise<void> {
    return this.#mail.post(target, value, options)
  }

  /**
   * Passes a duplicate of `fd` to the Machine at `target`, whose `receive()`
   * gets it as its own (close-on-exec); `fd` stays open here. The basis of
   * accept on one thread, serve on many.
   */
  sendFd (target: MachineAddress, fd: number, options?: V.OpOptions): Promise<void> {
    return this.#mail.sendFd(target, fd, options)
  }

  /**
   * The next message another Machine posted here, in arrival order:
   * `{ type: 'value', value }` or `{ type: 'fd', fd }`. Waits (keeping the
   * event loop alive) until one arrives, the signal aborts, or `timeout`.
   */
  receive (options?: V.OpOptions): Promise<MachineMessage> {
    return this.#mail.receive(options)
  }

  /**
   * Registers `count` buffers of `size` bytes with the kernel (kernel 5.19):
   * fixed reads and writes (`readFixed`, `writeFixed`, `sendZcFixed`) then
   * move data straight between them and the file or socket, with no copy
   * on either side. The kernel pins the memory while registered.
   */
  registerBuffers (count: number, size: number): RegisteredBuffers {
    return this.#fixed.register(count, size)
  }

  /** pread(2) straight into registered buffer `index` (no copy); resolves with the bytes read. */
  readFixed (fd: number, buffers: RegisteredBuffers, index: number, options?: ReadOptions): Promise<number> {
    return this.#fixed.op('read', fd, buffers, index, options)
  }

  /** pwrite(2) straight from registered buffer `index` (no copy); resolves with the bytes written. */
  writeFixed (fd: number, buffers: RegisteredBuffers, index: number, options?: WriteOptions): Promise<number> {
    return this.#fixed.op('write', fd, buffers, index, options)
  }

  /**
   * Zero-copy send(2) (kernel 6.0): `buffer` is copied once at the call and
   * the kernel sends from that copy without copying it again. Resolves with
   * the bytes sent once the kernel has released the memory (on loopback,
   * when the peer has read the data).
   */
  sendZc (fd: number, buffer: ArrayBufferView, options?: SocketIoOptions): Promise<number> {
    return N.sendZc(this.#c, fd, buffer, options)
  }

  /**
   * Zero-copy send(2) straight from registered buffer `index`: no copy at
   * all. Resolves once the kernel has released the buffer; do not change
   * it before then.
   */
  sendZcFixed (fd: number, buffers: RegisteredBuffers, index: number, options?: SocketIoOptions): Promise<number> {
    return this.#fixed.op('send', fd, buffers, index, options)
  }

  /**
   * Refuses new ops, cancels those in flight (their promises reject with
   * `ERR_MACHINE_DESTROYED`, or resolve if they had already completed),
   * waits until the kernel has let go of their memory, and frees the ring.
   */
  destroy (): Promise<void> {
    if (this.#closed !== undefined) return this.#closed
    this.#c.state = 'closing'
    this.#closed = new Promise<void>((resolve) => { this.#resolveClosed = resolve })
    // Streams end now, paused ones too (no request of theirs would tell
    // them), and close the connections they queued.
    this.#streams.destroyAll()
    if (this.#c.ring.close()) this.#onClosed()
    return this.#closed
  }

  /** `await using m = new Machine()` destroys it at the end of the scope. */
  [asyncDispose] (): Promise<void> {
    return this.destroy()
  }

  #onClosed (): void {
    this.#c.state = 'closed'
    this.#mail.close()
    this.#streams.clear()
    this.#fixed.close()
    this.#c.rejectAll()
    this.#resolveClosed?.()
  }
}

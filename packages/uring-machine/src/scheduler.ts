// The Scheduler: Ruby's Fiber::Scheduler hooks in JavaScript idioms. Code
// that performs I/O through the current scheduler's hooks runs unchanged on
// io_uring (UringScheduler) or on Node's own I/O (NodeScheduler).
import * as fs from 'node:fs'
import type { Stats as NodeStats, BigIntStats as NodeBigIntStats } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { spawn as cpSpawn } from 'node:child_process'
import { lookup } from 'node:dns'
import { Machine, kTransfer, type SelectResult, type SocketAddress } from './machine'
import { type ChildStatus } from './process'
import { AbortError, systemError, timedOut } from './errors'
import { binding, loadFailure } from './native'
import * as C from './constants'
import * as V from './validate'
import { Task, currentSignal, startTask, withSignal, currentTask } from './tasks'

/**
 * The hooks a scheduler implements. Every hook that waits observes the
 * current task's signal: cancelling the task rejects the hook with an
 * AbortError (UringScheduler cancels the kernel op). Errors from the kernel
 * are SystemErrors (`code`, `errno`, `syscall`), as Node's own.
 */
export interface Scheduler {
  /** 'uring' or 'node' (or another implementation's name). */
  readonly name: string
  /** One read(2) from the fd's position into `buffer[offset, offset + length)`: bytes read, 0 at end of file. */
  ioRead (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number>
  /** One write(2) at the fd's position: bytes written (maybe fewer than asked). */
  ioWrite (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number>
  /** One pread(2) at `position`: bytes read. */
  ioPread (fd: number, buffer: Uint8Array, position: number, offset?: number, length?: number): Promise<number>
  /** One pwrite(2) at `position`: bytes written. */
  ioPwrite (fd: number, buffer: Uint8Array, position: number, offset?: number, length?: number): Promise<number>
  /** Waits until `fd` is ready for `events` (POLLIN, POLLOUT...): the ready events, or false once `timeout` ms pass. */
  ioWait (fd: number, events: number, timeout?: number): Promise<number | false>
  /** Waits until one of the fds is ready: the ready sets, all empty once `timeout` ms pass. */
  ioSelect (readFds: readonly number[], writeFds: readonly number[], exceptFds?: readonly number[], timeout?: number): Promise<SelectResult>
  /** Closes `fd`. */
  ioClose (fd: number): Promise<void>
  /** Opens `path` (`flags` an O_* number): the fd (close-on-exec). */
  ioOpen (path: string, flags: number, mode?: number): Promise<number>
  /** stat/lstat of a path, or fstat of an fd, as Node's own fs.Stats / fs.BigIntStats. */
  ioStat (pathOrFd: string | number, options?: { bigint?: boolean, followSymlinks?: boolean }): Promise<NodeStats | NodeBigIntStats>
  /** unlink(2), or rmdir(2) with `directory`. */
  ioUnlink (path: string, directory?: boolean): Promise<void>
  /** rename(2). */
  ioRename (from: string, to: string): Promise<void>
  /** mkdir(2), one level. */
  ioMkdir (path: string, mode?: number): Promise<void>
  /** Sleeps `ms` milliseconds, or until cancelled when `ms` is undefined. */
  kernelSleep (ms?: number): Promise<void>
  /**
   * Suspends the caller until `unblock(blocker, task)`: true, or false once
   * `timeout` ms pass. A blocker is any object naming what is waited for.
   */
  block (blocker: object, timeout?: number): Promise<boolean>
  /** Resumes the `block` on `blocker`; false if nothing waits there any more (it timed out or was cancelled). */
  unblock (blocker: object, task?: Task<unknown> | null): boolean
  /** Waits for child `pid` to change state (WEXITED by default): its status, or null with WNOHANG. */
  processWait (pid: number, flags?: number): Promise<ChildStatus | null>
  /** The addresses of `hostname` (getaddrinfo), like dns.lookup with all: true, as strings. */
  addressResolve (hostname: string): Promise<string[]>
  /** Runs `fn`; if it has not settled after `ms`, its waiting hook is cancelled and this rejects with ETIMEDOUT. */
  timeoutAfter<T> (ms: number, fn: () => Promise<T>): Promise<T>
  /** Starts `fn` as a task (a child of the current task). */
  fiber<T> (fn: (task: Task<T>) => T | Promise<T>): Task<T>
  /** Interrupts `task` where it waits; its join() rejects with `error`. */
  fiberInterrupt (task: Task<unknown>, error: unknown): void
  /** Lets other tasks run (and completions be reaped) before resuming. */
  yield (): Promise<void>
  /**
   * Runs `work(...args)` on a worker thread, so a blocking or CPU-bound
   * call does not stall the event loop. `work` must be self-contained (it
   * is sent as source text: no captured variables), `args` and its result
   * structured-clonable. Cancelling the task terminates the worker.
   */
  blockingOperationWait<A extends unknown[], R> (work: (...args: A) => R, ...args: A): Promise<Awaited<R>>
  /** Copies `length` bytes (default: to end of file) from `srcFd` to `dstFd`: bytes copied. */
  copy (srcFd: number, dstFd: number, length?: number): Promise<number>
  // The file hooks install()'s further routes use (install-more.ts). Optional,
  // so a scheduler written before them still type-checks: a route whose hook
  // is missing runs Node's own function.
  /** fsync(2), or fdatasync(2) with `datasync`. */
  ioFsync? (fd: number, datasync?: boolean): Promise<void>
  /** ftruncate(2) to `length` bytes. */
  ioTruncate? (fd: number, length: number): Promise<void>
  /** One preadv(2) into `buffers` in order (readv(2) at the fd's position when `position` is null or -1): bytes read. */
  ioReadv? (fd: number, buffers: readonly Uint8Array[], position?: number | null): Promise<number>
  /** One pwritev(2) of `buffers` in order (writev(2) at the fd's position when `position` is null or -1): bytes written. */
  ioWritev? (fd: number, buffers: readonly Uint8Array[], position?: number | null): Promise<number>
  /** link(2): `newPath` a new name for `existingPath`. */
  ioLink? (existingPath: string, newPath: string): Promise<void>
  /** symlink(2): `path` a symbolic link to `target`. */
  ioSymlink? (target: string, path: string): Promise<void>
  /** Starts a child process: its pid and a `wait()` for its exit (race-free: pidfd on io_uring). */
  processSpawn (file: string, args?: readonly string[]): Promise<SpawnedProcess>
  /** accept(2) on a listening socket fd: the connection's fd. */
  socketAccept (fd: number): Promise<number>
  /** connect(2) of a socket fd. */
  socketConnect (fd: number, address: SocketAddress): Promise<void>
  /** recv(2): bytes received, 0 when the peer has shut down. */
  socketRecv (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number>
  /** send(2): bytes sent. */
  socketSend (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number>
  /** Waits for every task started on this scheduler, then frees what it owns. */
  close (): Promise<void>
}

/** What `processSpawn` resolves with. */
export interface SpawnedProcess {
  pid: number
  wait (): Promise<ChildStatus>
  kill (signal?: string | number): void
}

function withCode<E extends Error> (err: E, code: string): E & { code: string } {
  return Object.assign(err, { code })
}

/**
 * Node's fs functions as they were when this module loaded: NodeScheduler
 * uses these, so routing Node's fs through a NodeScheduler (install())
 * never loops back into itself.
 */
export const nodeFs = {
  read: fs.read, write: fs.write, open: fs.open, close: fs.close, stat: fs.stat, lstat: fs.lstat, fstat: fs.fstat,
  unlink: fs.unlink, rmdir: fs.rmdir, rename: fs.rename, mkdir: fs.mkdir, fstatSync: fs.fstatSync, lookup
}

/** The same for the file hooks install-more.ts routes (fsync, ftruncate, readv, writev, link, symlink). */
export const nodeFsMore = {
  fsync: fs.fsync, fdatasync: fs.fdatasync, ftruncate: fs.ftruncate, readv: fs.readv, writev: fs.writev, link: fs.link, symlink: fs.symlink
}

// Node's own Stats classes and key order, taken from a real result.
const statsProto = Object.getPrototypeOf(fs.statSync('/')) as object
const bigStatsProto = Object.getPrototypeOf(fs.statSync('/', { bigint: true })) as object
const statsKeys = Object.keys(fs.statSync('/'))
const bigStatsKeys = Object.keys(fs.statSync('/', { bigint: true }))

/** A statx result as a real fs.Stats / fs.BigIntStats (instanceof, methods, key order). */
export function toNodeStats (st: Record<string, number | bigint>, bigint: boolean): NodeStats | NodeBigIntStats {
  const out = Object.create(bigint ? bigStatsProto : statsProto) as Record<string, unknown>
  for (const k of bigint ? bigStatsKeys : statsKeys) {
    if (k.endsWith('time') && !k.endsWith('Ms')) {
      // As Node makes them: the ms rounded (a Date would truncate).
      out[k] = new Date(Math.round(Number(st[`${k}Ms`])))
    } else {
      out[k] = st[k]
    }
  }
  return out as unknown as NodeStats
}

/** A hook this scheduler cannot serve here (`ERR_SCHEDULER_UNSUPPORTED`). */
export function unsupported (scheduler: string, hook: string, why: string): Error {
  return withCode(new Error(`${scheduler} scheduler cannot serve ${hook}: ${why}`), 'ERR_SCHEDULER_UNSUPPORTED')
}

interface Blocked {
  resolve: (ok: boolean) => void
  timer: ReturnType<typeof setTimeout> | undefined
  onAbort: (() => void) | undefined
  signal: AbortSignal | undefined
}

const BLOCKING_WORKER = `
const { parentPort } = require('node:worker_threads')
parentPort.on('message', async ({ id, source, args }) => {
  try {
    const fn = (0, eval)('(' + source + ')')
    parentPort.postMessage({ id, ok: true, value: await fn(...args) })
  } catch (error) {
    parentPort.postMessage({ id, ok: false, error })
  }
})
`

/** What both implementations share: tasks, block/unblock, timeouts, the worker pool. */
export abstract class BaseScheduler implements Scheduler {
  abstract readonly name: string
  readonly #blocked = new Map<object, Blocked>()
  readonly #tasks = new Set<Task<unknown>>()
  #workers: Worker[] = []
  #closed = false

  abstract ioRead (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number>
  abstract ioWrite (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number>
  abstract ioPread (fd: number, buffer: Uint8Array, position: number, offset?: number, length?: number): Promise<number>
  abstract ioPwrite (fd: number, buffer: Uint8Array, position: number, offset?: number, length?: number): Promise<number>
  abstract ioWait (fd: number, events: number, timeout?: number): Promise<number | false>
  abstract ioSelect (readFds: readonly number[], writeFds: readonly number[], exceptFds?: readonly number[], timeout?: number): Promise<SelectResult>
  abstract ioClose (fd: number): Promise<void>
  abstract ioOpen (path: string, flags: number, mode?: number): Promise<number>
  abstract ioStat (pathOrFd: string | number, options?: { bigint?: boolean, followSymlinks?: boolean }): Promise<NodeStats | NodeBigIntStats>
  abstract ioUnlink (path: string, directory?: boolean): Promise<void>
  abstract ioRename (from: string, to: string): Promise<void>
  abstract ioMkdir (path: string, mode?: number): Promise<void>
  abstract kernelSleep (ms?: number): Promise<void>
  abstract processWait (pid: number, flags?: number): Promise<ChildStatus | null>
  abstract addressResolve (hostname: string): Promise<string[]>
  abstract copy (srcFd: number, dstFd: number, length?: number): Promise<number>
  abstract processSpawn (file: string, args?: readonly string[]): Promise<SpawnedProcess>
  abstract socketAccept (fd: number): Promise<number>
  abstract socketConnect (fd: number, address: SocketAddress): Promise<void>
  abstract socketRecv (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number>
  abstract socketSend (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number>
  protected abstract closeResources (): Promise<void>

  block (blocker: object, timeout?: number): Promise<boolean> {
    const signal = currentSignal()
    if (signal?.aborted === true) return Promise.reject(new AbortError(undefined, { cause: signal.reason }))
    if (this.#blocked.has(blocker)) return Promise.reject(withCode(new Error('something already blocks on this blocker'), 'ERR_INVALID_STATE'))
    return new Promise<boolean>((resolve, reject) => {
      const b: Blocked = { resolve, timer: undefined, onAbort: undefined, signal }
      const settle = (): void => {
        this.#blocked.delete(blocker)
        if (b.timer !== undefined) clearTimeout(b.timer)
        if (b.onAbort !== undefined) signal!.removeEventListener('abort', b.onAbort)
      }
      b.resolve = (ok) => { settle(); resolve(ok) }
      if (timeout !== undefined) b.timer = setTimeout(() => b.resolve(false), timeout)
      if (signal !== undefined) {
        b.onAbort = () => { settle(); reject(new AbortError(undefined, { cause: signal.reason })) }
        signal.addEventListener('abort', b.onAbort, { once: true })
      }
      this.#blocked.set(blocker, b)
    })
  }

  unblock (blocker: object, _task?: Task<unknown> | null): boolean {
    const b = this.#blocked.get(blocker)
    if (b === undefined) return false
    b.resolve(true)
    return true
  }

  async timeoutAfter<T> (ms: number, fn: () => Promise<T>): Promise<T> {
    const outer = currentSignal()
    const timer = new AbortController()
    const signal = outer === undefined ? timer.signal : AbortSignal.any([timer.signal, outer])
    const expired = withCode(new Error(`timed out after ${ms} ms`), 'ETIMEDOUT')
    const t = setTimeout(() => timer.abort(expired), ms)
    try {
      return await withSignal(signal, fn)
    } catch (err) {
      if (timer.signal.aborted && outer?.aborted !== true) throw timedOut('timeoutAfter', ms)
      throw err
    } finally {
      clearTimeout(t)
    }
  }

  fiber<T> (fn: (task: Task<T>) => T | Promise<T>): Task<T> {
    if (this.#closed) throw withCode(new Error(`the ${this.name} scheduler is closed`), 'ERR_SCHEDULER_CLOSED')
    const task = startTask(this, fn)
    this.#tasks.add(task as Task<unknown>)
    task.join().then(() => this.#tasks.delete(task as Task<unknown>), () => this.#tasks.delete(task as Task<unknown>))
    return task
  }

  fiberInterrupt (task: Task<unknown>, error: unknown): void {
    task.interrupt(error)
  }

  yield (): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve))
  }

  blockingOperationWait<A extends unknown[], R> (work: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
    if (typeof work !== 'function') return Promise.reject(withCode(new TypeError('The "work" argument must be of type function'), 'ERR_INVALID_ARG_TYPE'))
    const signal = currentSignal()
    if (signal?.aborted === true) return Promise.reject(new AbortError(undefined, { cause: signal.reason }))
    const worker = this.#workers.pop() ?? new Worker(BLOCKING_WORKER, { eval: true })
    return new Promise<Awaited<R>>((resolve, reject) => {
      const onAbort = (): void => {
        worker.removeAllListeners()
        void worker.terminate() // the only way to stop it; a fresh one serves the next call
        reject(new AbortError(undefined, { cause: signal!.reason }))
      }
      worker.once('message', (m: { ok: boolean, value: Awaited<R>, error: unknown }) => {
        signal?.removeEventListener('abort', onAbort)
        worker.removeAllListeners('error')
        if (this.#closed) void worker.terminate()
        else { worker.unref(); this.#workers.push(worker) }
        if (m.ok) resolve(m.value)
        else reject(m.error)
      })
      worker.once('error', (err) => { signal?.removeEventListener('abort', onAbort); reject(err) })
      signal?.addEventListener('abort', onAbort, { once: true })
      worker.ref()
      worker.postMessage({ id: 0, source: String(work), args })
    })
  }

  async close (): Promise<void> {
    this.#closed = true
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks].map((t) => t.join()))
    for (const w of this.#workers.splice(0)) await w.terminate()
    await this.closeResources()
  }
}

const ETIMEDOUT = 'ETIMEDOUT'

/** The scheduler on io_uring: every hook is one Machine op (or a few). */
export class UringScheduler extends BaseScheduler {
  readonly name = 'uring'
  readonly machine: Machine
  readonly #owned: boolean

  /** On `machine`, or on a Machine of its own (destroyed by close()). */
  constructor (machine?: Machine) {
    super()
    this.#owned = machine === undefined
    this.machine = machine ?? new Machine()
  }

  ioRead (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number> {
    return this.machine[kTransfer](false, fd, buffer, offset, length, -1, currentSignal())
  }

  ioWrite (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number> {
    return this.machine[kTransfer](true, fd, buffer, offset, length, -1, currentSignal())
  }

  ioPread (fd: number, buffer: Uint8Array, position: number, offset?: number, length?: number): Promise<number> {
    return this.machine[kTransfer](false, fd, buffer, offset, length, position, currentSignal())
  }

  ioPwrite (fd: number, buffer: Uint8Array, position: number, offset?: number, length?: number): Promise<number> {
    return this.machine[kTransfer](true, fd, buffer, offset, length, position, currentSignal())
  }

  async ioWait (fd: number, events: number, timeout?: number): Promise<number | false> {
    try {
      return await this.machine.poll(fd, events, { signal: currentSignal(), timeout })
    } catch (err) {
      if (timeout !== undefined && (err as { code?: string }).code === ETIMEDOUT) return false
      throw err
    }
  }

  ioSelect (readFds: readonly number[], writeFds: readonly number[], exceptFds: readonly number[] = [], timeout?: number): Promise<SelectResult> {
    return this.machine.select(readFds, writeFds, exceptFds, { signal: currentSignal(), timeout })
  }

  /** Closes `fd`; hooks still waiting on it reject with ECANCELED (their kernel ops are cancelled first). */
  async ioClose (fd: number): Promise<void> {
    if (this.machine.metrics().pending > 0) await this.machine.cancelFd(fd)
    return await this.machine.close(fd)
  }

  ioOpen (path: string, flags: number, mode = 0o666): Promise<number> {
    return this.machine.open(path, flags, mode, { signal: currentSignal() })
  }

  async ioStat (pathOrFd: string | number, options?: { bigint?: boolean, followSymlinks?: boolean }): Promise<NodeStats | NodeBigIntStats> {
    let st
    try {
      st = await this.machine.statx(pathOrFd, { bigint: options?.bigint === true, followSymlinks: options?.followSymlinks !== false, signal: currentSignal() })
    } catch (err) {
      // Named as Node names it: the call it stands for, not statx.
      const e = err as { syscall?: string, message: string, fd?: number }
      if (e.syscall === 'statx') {
        const name = typeof pathOrFd === 'number' ? 'fstat' : options?.followSymlinks === false ? 'lstat' : 'stat'
        e.syscall = name
        e.message = e.message.replace(', statx', `, ${name}`)
        delete e.fd
      }
      throw err
    }
    return toNodeStats(st as unknown as Record<string, number | bigint>, options?.bigint === true)
  }

  ioUnlink (path: string, directory = false): Promise<void> {
    return directory ? this.machine.rmdir(path, { signal: currentSignal() }) : this.machine.unlink(path, { signal: currentSignal() })
  }

  ioRename (from: string, to: string): Promise<void> {
    return this.machine.rename(from, to, { signal: currentSignal() })
  }

  ioMkdir (path: string, mode = 0o777): Promise<void> {
    return this.machine.mkdir(path, { mode, signal: currentSignal() })
  }

  kernelSleep (ms?: number): Promise<void> {
    return this.machine.sleep(ms ?? 2 ** 31 - 1, { signal: currentSignal() })
  }

  processWait (pid: number, flags = C.WEXITED): Promise<ChildStatus | null> {
    return this.machine.waitid(C.P_PID, pid, flags, { signal: currentSignal() })
  }

  async addressResolve (hostname: string): Promise<string[]> {
    return (await this.machine.resolve(hostname, { signal: currentSignal() })).map((a) => a.address)
  }

  copy (srcFd: number, dstFd: number, length?: number): Promise<number> {
    return this.machine.copy(srcFd, dstFd, length === undefined ? { signal: currentSignal() } : { length, signal: currentSignal() })
  }

  // The file hooks of install-more.ts: one Machine op each.
  ioFsync (fd: number, datasync = false): Promise<void> {
    return this.machine.fsync(fd, { datasync, signal: currentSignal() })
  }

  ioTruncate (fd: number, length: number): Promise<void> {
    return this.machine.ftruncate(fd, length, { signal: currentSignal() })
  }

  ioReadv (fd: number, buffers: readonly Uint8Array[], position: number | null = null): Promise<number> {
    return this.machine.readv(fd, buffers, { position, signal: currentSignal() })
  }

  ioWritev (fd: number, buffers: readonly Uint8Array[], position: number | null = null): Promise<number> {
    return this.machine.writev(fd, buffers, { position, signal: currentSignal() })
  }

  ioLink (existingPath: string, newPath: string): Promise<void> {
    return this.machine.link(existingPath, newPath, { signal: currentSignal() })
  }

  ioSymlink (target: string, path: string): Promise<void> {
    return this.machine.symlink(target, path, { signal: currentSignal() })
  }

  async processSpawn (file: string, args: readonly string[] = []): Promise<SpawnedProcess> {
    const child = this.machine.spawn(file, args, { stdio: 'inherit' })
    const signal = currentSignal()
    return { pid: child.pid, wait: () => child.wait(signal === undefined ? {} : { signal }), kill: (sig) => child.kill(sig) }
  }

  socketAccept (fd: number): Promise<number> {
    return this.machine.accept(fd, { signal: currentSignal() })
  }

  socketConnect (fd: number, address: SocketAddress): Promise<void> {
    return this.machine.connect(fd, address, { signal: currentSignal() })
  }

  socketRecv (fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    return this.machine.recv(fd, buffer, { offset, length, signal: currentSignal() })
  }

  socketSend (fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    return this.machine.send(fd, buffer, { offset, length, signal: currentSignal() })
  }

  protected async closeResources (): Promise<void> {
    if (this.#owned) await this.machine.destroy()
  }
}

/** Rejects with an AbortError if `signal` has fired. */
function checkAbort (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AbortError(undefined, { cause: signal.reason })
}

/** Resolves after `ms`, or rejects when `signal` fires. */
function delay (ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    checkAbort(signal)
    const onAbort = (): void => { clearTimeout(t); reject(new AbortError(undefined, { cause: signal!.reason })) }
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** What one NodeScheduler copy step reads at most (the chunk Node's fs streams read). */
const COPY_CHUNK = 65536

const fsRead = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<number> =>
  new Promise((resolve, reject) => nodeFs.read(fd, buffer, offset, length, position, (err, n) => err !== null ? reject(err) : resolve(n)))
const fsWrite = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<number> =>
  new Promise((resolve, reject) => nodeFs.write(fd, buffer, offset, length, position, (err, n) => err !== null ? reject(err) : resolve(n)))

/**
 * The scheduler on Node's own I/O, for where io_uring is unavailable.
 * Files go through libuv's thread pool (fs.read, fs.write). Pipes, sockets
 * and ttys are made non-blocking and read when poll(2) says they are ready;
 * Node offers no readiness callback for an arbitrary fd, so this fallback
 * polls with a backoff from 0 to 4 ms, which costs latency, not
 * correctness. `socketAccept` and `socketConnect` reject with
 * `ERR_SCHEDULER_UNSUPPORTED` (use node:net there).
 */
export class NodeScheduler extends BaseScheduler {
  readonly name = 'node'
  /** Per fd, how many times ioClose has closed it: a waiter sees it change. */
  readonly #closes = new Map<number, number>()

  /**
   * Whether `fd` is pollable (pipe, socket, tty, other character device)
   * rather than a file, made non-blocking if so. Asked on every call, not
   * cached by fd number: a number closed behind the scheduler's back
   * (fs.closeSync) and reused would keep the old fd's kind, and a file
   * taken for a pipe loses its position. fstatSync is one cheap syscall on
   * the loop thread, small beside the thread-pool round trip every file op
   * makes anyway; on a pollable fd setNonblocking costs one F_GETFL more.
   * Positional ops skip even that (see #io).
   */
  #pollable (fd: number): boolean {
    const st = nodeFs.fstatSync(fd)
    const p = !st.isFile() && !st.isBlockDevice() && !st.isDirectory()
    if (p && binding !== null) binding.setNonblocking(fd, true)
    return p
  }

  /** Waits until poll(2) reports one of `events` on one of `fds`; their revents. */
  async #ready (fds: readonly number[], events: readonly number[], timeout: number | undefined): Promise<number[] | false> {
    if (binding === null) throw unsupported('node', 'readiness', loadFailure ?? 'no native binding')
    const signal = currentSignal()
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout
    const gens = fds.map((fd) => this.#closes.get(fd) ?? 0)
    for (let wait = 0; ; wait = Math.min(4, wait === 0 ? 0.25 : wait * 2)) {
      checkAbort(signal)
      // ioClose of a waited-on fd ends the wait, as a kernel cancel would.
      if (fds.some((fd, i) => (this.#closes.get(fd) ?? 0) !== gens[i])) throw systemError(-C.errno.ECANCELED, 'poll')
      const revents = binding.pollNow([...fds], [...events])
      if (revents.some((r) => r !== 0)) return revents
      const left = deadline - Date.now()
      if (left <= 0) return false
      if (wait === 0) await new Promise((resolve) => setImmediate(resolve))
      else await delay(Math.min(wait, left), signal)
    }
  }

  async #io (op: 'read' | 'write', fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<number> {
    const signal = currentSignal()
    checkAbort(signal)
    const call = op === 'read' ? fsRead : fsWrite
    if (position !== null) {
      // pread/pwrite straight away: a file needs no fstat first. Only a
      // pipe, socket or tty refuses a position (ESPIPE, before it could
      // block); io_uring ignores the position there, and so does this,
      // for one wasted thread-pool round trip on a rare use.
      try {
        return await call(fd, buffer, offset, length, position)
      } catch (err) {
        if ((err as { code?: string }).code !== 'ESPIPE') throw err
      }
      checkAbort(signal)
    }
    if (!this.#pollable(fd)) return await call(fd, buffer, offset, length, null)
    for (;;) {
      await this.#ready([fd], [op === 'read' ? C.POLLIN : C.POLLOUT], undefined)
      try {
        return await call(fd, buffer, offset, length, null)
      } catch (err) {
        if ((err as { code?: string }).code !== 'EAGAIN') throw err
      }
    }
  }

  ioRead (fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    return this.#io('read', fd, buffer, offset, length, null)
  }

  ioWrite (fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    return this.#io('write', fd, buffer, offset, length, null)
  }

  ioPread (fd: number, buffer: Uint8Array, position: number, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    return this.#io('read', fd, buffer, offset, length, position)
  }

  ioPwrite (fd: number, buffer: Uint8Array, position: number, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    return this.#io('write', fd, buffer, offset, length, position)
  }

  async ioWait (fd: number, events: number, timeout?: number): Promise<number | false> {
    const r = await this.#ready([fd], [events], timeout)
    return r === false ? false : r[0]!
  }

  async ioSelect (readFds: readonly number[], writeFds: readonly number[], exceptFds: readonly number[] = [], timeout?: number): Promise<SelectResult> {
    const fds = [...readFds, ...writeFds, ...exceptFds]
    const events = [...readFds.map(() => C.POLLIN), ...writeFds.map(() => C.POLLOUT), ...exceptFds.map(() => C.POLLPRI)]
    const r = await this.#ready(fds, events, timeout)
    const out: SelectResult = { read: [], write: [], except: [] }
    if (r === false) return out
    const bad = C.POLLERR | C.POLLHUP | C.POLLNVAL
    r.forEach((rev, i) => {
      if (rev === 0) return
      if (i < readFds.length) { if (rev & (C.POLLIN | bad)) out.read.push(fds[i]!) }
      else if (i < readFds.length + writeFds.length) { if (rev & (C.POLLOUT | bad)) out.write.push(fds[i]!) }
      else if (rev & (C.POLLPRI | bad)) out.except.push(fds[i]!)
    })
    return out
  }

  /** Closes `fd`; hooks still waiting on it reject with ECANCELED. */
  ioClose (fd: number): Promise<void> {
    this.#closes.set(fd, (this.#closes.get(fd) ?? 0) + 1)
    return new Promise((resolve, reject) => nodeFs.close(fd, (err) => err !== null ? reject(err) : resolve()))
  }

  ioOpen (path: string, flags: number, mode = 0o666): Promise<number> {
    checkAbort(currentSignal())
    return new Promise((resolve, reject) => nodeFs.open(path, flags | C.O_CLOEXEC, mode, (err, fd) => err !== null ? reject(err) : resolve(fd)))
  }

  ioStat (pathOrFd: string | number, options?: { bigint?: boolean, followSymlinks?: boolean }): Promise<NodeStats | NodeBigIntStats> {
    checkAbort(currentSignal())
    const opts = { bigint: options?.bigint === true }
    return new Promise((resolve, reject) => {
      const done = (err: NodeJS.ErrnoException | null, st: NodeStats | NodeBigIntStats): void => err !== null ? reject(err) : resolve(st)
      if (typeof pathOrFd === 'number') nodeFs.fstat(pathOrFd, opts, done)
      else if (options?.followSymlinks === false) nodeFs.lstat(pathOrFd, opts, done)
      else nodeFs.stat(pathOrFd, opts, done)
    })
  }

  ioUnlink (path: string, directory = false): Promise<void> {
    checkAbort(currentSignal())
    return new Promise((resolve, reject) => (directory ? nodeFs.rmdir : nodeFs.unlink)(path, (err) => err !== null ? reject(err) : resolve()))
  }

  ioRename (from: string, to: string): Promise<void> {
    checkAbort(currentSignal())
    return new Promise((resolve, reject) => nodeFs.rename(from, to, (err) => err !== null ? reject(err) : resolve()))
  }

  ioMkdir (path: string, mode = 0o777): Promise<void> {
    checkAbort(currentSignal())
    return new Promise((resolve, reject) => nodeFs.mkdir(path, { mode }, (err) => err !== null ? reject(err) : resolve()))
  }

  kernelSleep (ms?: number): Promise<void> {
    return delay(ms ?? 2 ** 31 - 1, currentSignal())
  }

  async processWait (pid: number, flags = C.WEXITED): Promise<ChildStatus | null> {
    const child = this.#children.get(pid)
    if (child === undefined) throw unsupported('node', 'processWait', `pid ${pid} was not started by this scheduler's processSpawn (Node can only wait for its own child_process children)`)
    if ((flags & C.WNOHANG) !== 0 && child.status === undefined) return null
    const signal = currentSignal()
    checkAbort(signal)
    const st = await Promise.race([child.exited, new Promise<never>((_resolve, reject) => {
      signal?.addEventListener('abort', () => reject(new AbortError(undefined, { cause: signal.reason })), { once: true })
    })])
    this.#children.delete(pid)
    return st
  }

  readonly #children = new Map<number, { exited: Promise<ChildStatus>, status: ChildStatus | undefined }>()

  async processSpawn (file: string, args: readonly string[] = []): Promise<SpawnedProcess> {
    const cp = cpSpawn(file, args, { stdio: 'inherit' })
    const pid = await new Promise<number>((resolve, reject) => {
      cp.once('spawn', () => resolve(cp.pid!))
      cp.once('error', reject)
    })
    const entry = {
      status: undefined as ChildStatus | undefined,
      exited: new Promise<ChildStatus>((resolve) => cp.once('exit', (code, signal) => {
        const st: ChildStatus = { pid, exitCode: code, signal, code: code !== null ? C.CLD_EXITED : C.CLD_KILLED }
        entry.status = st
        resolve(st)
      }))
    }
    this.#children.set(pid, entry)
    return { pid, wait: async () => (await this.processWait(pid))!, kill: (sig) => { cp.kill(sig as NodeJS.Signals) } }
  }

  addressResolve (hostname: string): Promise<string[]> {
    const signal = currentSignal()
    return new Promise((resolve, reject) => {
      checkAbort(signal)
      const onAbort = (): void => reject(new AbortError(undefined, { cause: signal!.reason }))
      signal?.addEventListener('abort', onAbort, { once: true })
      nodeFs.lookup(hostname, { all: true }, (err, addrs) => {
        signal?.removeEventListener('abort', onAbort)
        if (err !== null) reject(err)
        else resolve(addrs.map((a) => a.address))
      })
    })
  }

  /**
   * A loop of this scheduler's own ioRead and ioWrite, as UringScheduler's
   * splice loop: it takes no more than `length` from `srcFd`, and closes
   * neither fd (Node's fs streams close theirs when a pipeline ends early).
   * If it fails part-way, the error's `bytesCopied` says how much arrived.
   */
  async copy (srcFd: number, dstFd: number, length?: number): Promise<number> {
    // Checked as Machine.copy checks it.
    length = length === undefined ? Infinity : V.int(length, 'length', 0, Number.MAX_SAFE_INTEGER)
    const chunk = Buffer.allocUnsafe(Math.min(COPY_CHUNK, length))
    let total = 0
    try {
      while (total < length) {
        const n = await this.ioRead(srcFd, chunk, 0, Math.min(chunk.length, length - total))
        if (n === 0) break // end of file
        for (let off = 0; off < n;) off += await this.ioWrite(dstFd, chunk, off, n - off)
        total += n
      }
      return total
    } catch (err) {
      if (err instanceof Error) Object.assign(err, { bytesCopied: total })
      throw err
    }
  }

  // The file hooks of install-more.ts: Node's own calls, as taken at load.
  ioFsync (fd: number, datasync = false): Promise<void> {
    checkAbort(currentSignal())
    return new Promise((resolve, reject) => (datasync ? nodeFsMore.fdatasync : nodeFsMore.fsync)(fd, (err) => err !== null ? reject(err) : resolve()))
  }

  ioTruncate (fd: number, length: number): Promise<void> {
    checkAbort(currentSignal())
    return new Promise((resolve, reject) => nodeFsMore.ftruncate(fd, length, (err) => err !== null ? reject(err) : resolve()))
  }

  ioReadv (fd: number, buffers: readonly Uint8Array[], position: number | null = null): Promise<number> {
    checkAbort(currentSignal())
    const pos = position === -1 ? null : position
    return new Promise((resolve, reject) => nodeFsMore.readv(fd, buffers as Uint8Array[], pos, (err, n) => err !== null ? reject(err) : resolve(n)))
  }

  ioWritev (fd: number, buffers: readonly Uint8Array[], position: number | null = null): Promise<number> {
    checkAbort(currentSignal())
    const pos = position === -1 ? null : position
    return new Promise((resolve, reject) => nodeFsMore.writev(fd, buffers as Uint8Array[], pos, (err, n) => err !== null ? reject(err) : resolve(n)))
  }

  ioLink (existingPath: string, newPath: string): Promise<void> {
    checkAbort(currentSignal())
    return new Promise((resolve, reject) => nodeFsMore.link(existingPath, newPath, (err) => err !== null ? reject(err) : resolve()))
  }

  ioSymlink (target: string, path: string): Promise<void> {
    checkAbort(currentSignal())
    return new Promise((resolve, reject) => nodeFsMore.symlink(target, path, (err) => err !== null ? reject(err) : resolve()))
  }

  socketAccept (_fd: number): Promise<number> {
    return Promise.reject(unsupported('node', 'socketAccept', 'Node has no accept on a raw fd; use node:net'))
  }

  socketConnect (_fd: number, _address: SocketAddress): Promise<void> {
    return Promise.reject(unsupported('node', 'socketConnect', 'Node has no connect on a raw fd; use node:net'))
  }

  socketRecv (fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    return this.#io('read', fd, buffer, offset, length, null)
  }

  socketSend (fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    return this.#io('write', fd, buffer, offset, length, null)
  }

  protected async closeResources (): Promise<void> {}
}

/** The best scheduler available here: UringScheduler where io_uring works, else NodeScheduler. `reason` says why. */
export function defaultScheduler (): { scheduler: Scheduler, reason: string } {
  const why = Machine.unavailableReason()
  if (why === null) return { scheduler: new UringScheduler(), reason: 'io_uring is available' }
  return { scheduler: new NodeScheduler(), reason: `io_uring is unavailable (${why}); using Node's own I/O` }
}

/** A close-on-exec pipe [readFd, writeFd] (a plain syscall; works without io_uring). */
export function pipe (size = 65536): [number, number] {
  if (binding === null) throw unsupported('node', 'pipe', loadFailure ?? 'no native binding')
  const [r, w] = binding.pipe(size)
  return [r, w]
}

/** A close-on-exec AF_UNIX stream socket pair (a plain syscall; works without io_uring). */
export function socketpair (): [number, number] {
  if (binding === null) throw unsupported('node', 'socketpair', loadFailure ?? 'no native binding')
  try {
    const [a, b] = binding.socketpair()
    return [a, b]
  } catch (err) {
    const m = /^(\d+):/.exec((err as Error).message)
    throw m !== null ? systemError(-Number(m[1]), 'socketpair') : err
  }
}

export { Task, currentTask }

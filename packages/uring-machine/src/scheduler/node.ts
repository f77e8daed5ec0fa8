// The scheduler on Node's own I/O, for where io_uring is unavailable.
import * as fs from 'node:fs'
import type { Stats as NodeStats, BigIntStats as NodeBigIntStats } from 'node:fs'
import { spawn as cpSpawn } from 'node:child_process'
import { lookup } from 'node:dns'
import type { SelectResult, SocketAddress } from '../types'
import type { ChildStatus } from '../process'
import { aborted, systemError, unsupported } from '../errors'
import { binding, loadFailure } from '../native'
import * as C from '../constants'
import * as V from '../validate'
import { currentSignal } from '../tasks'
import { BaseScheduler } from './base'
import type { SpawnedProcess } from './hooks'

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

/** Rejects with an AbortError if `signal` has fired. */
function checkAbort (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw aborted(signal.reason)
}

/** Resolves after `ms`, or rejects when `signal` fires. */
function delay (ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    checkAbort(signal)
    const onAbort = (): void => { clearTimeout(t); reject(aborted(signal!.reason)) }
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
      signal?.addEventListener('abort', () => reject(aborted(signal.reason)), { once: true })
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
      const onAbort = (): void => reject(aborted(signal!.reason))
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

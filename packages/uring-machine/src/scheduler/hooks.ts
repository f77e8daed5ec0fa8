// The Scheduler interface: Ruby's Fiber::Scheduler hooks in JavaScript
// idioms. Code that performs I/O through the current scheduler's hooks
// runs unchanged on io_uring (UringScheduler, ./uring.ts) or on Node's own
// I/O (NodeScheduler, ./node.ts); ./base.ts is what both share.
import type { Stats as NodeStats, BigIntStats as NodeBigIntStats } from 'node:fs'
import type { SelectResult, SocketAddress } from '../types'
import type { ChildStatus } from '../process'
import type { Task } from '../tasks'

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

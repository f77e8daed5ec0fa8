// What both schedulers share: tasks, block/unblock, timeoutAfter, yield,
// and the worker pool of blockingOperationWait.
import { Worker } from 'node:worker_threads'
import type { Stats as NodeStats, BigIntStats as NodeBigIntStats } from 'node:fs'
import type { SelectResult, SocketAddress } from '../types'
import type { ChildStatus } from '../process'
import { aborted, expired, invalidState, notAFunction, schedulerClosed, timedOut } from '../errors'
import { type Task, currentSignal, startTask, withSignal } from '../tasks'
import type { Scheduler, SpawnedProcess } from './hooks'

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
    if (signal?.aborted === true) return Promise.reject(aborted(signal.reason))
    if (this.#blocked.has(blocker)) return Promise.reject(invalidState('something already blocks on this blocker'))
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
        b.onAbort = () => { settle(); reject(aborted(signal.reason)) }
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
    const reason = expired(ms)
    const t = setTimeout(() => timer.abort(reason), ms)
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
    if (this.#closed) throw schedulerClosed(this.name)
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
    if (typeof work !== 'function') return Promise.reject(notAFunction('work'))
    const signal = currentSignal()
    if (signal?.aborted === true) return Promise.reject(aborted(signal.reason))
    const worker = this.#workers.pop() ?? new Worker(BLOCKING_WORKER, { eval: true })
    return new Promise<Awaited<R>>((resolve, reject) => {
      const onAbort = (): void => {
        worker.removeAllListeners()
        void worker.terminate() // the only way to stop it; a fresh one serves the next call
        reject(aborted(signal!.reason))
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

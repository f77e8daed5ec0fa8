// Tasks and the current scheduler: what Ruby's Fiber and Fiber.scheduler
// are, in JavaScript terms. A task is an async function with a handle; the
// scheduler and task a piece of code runs under travel with it through
// AsyncLocalStorage, so a hook reached from anywhere inside a task knows
// which task to cancel.
import { AsyncLocalStorage } from 'node:async_hooks'
import { AbortError, aborted, noScheduler, taskCancelled } from './errors'
import type { Scheduler } from './scheduler/hooks'

/** Where a task is in its life. */
export type TaskStatus = 'running' | 'done' | 'failed' | 'cancelled'

interface Context {
  scheduler: Scheduler | null
  task: Task<unknown> | null
  /** The signal hooks pass on: the task's, or narrower (timeoutAfter). */
  signal: AbortSignal | undefined
}

const storage = new AsyncLocalStorage<Context>()
let threadScheduler: Scheduler | null = null
let nextId = 1

/**
 * A running async function with a handle. Cancelling a task aborts the
 * operation it is waiting in (down to an io_uring cancel) and cancels its
 * children; a task settles only once its children have.
 *
 * A task is a scope, as a Trio nursery or a Kotlin coroutineScope: the
 * first failure in it (a child failing, or its body throwing while the task
 * is not being cancelled) aborts its signal with that error as the reason.
 * That cancels its other children and whatever the body still waits in,
 * and once every child has settled the task fails with that error. What is
 * thrown because of that cancellation is not a new failure.
 */
export class Task<T = unknown> {
  /** A number unique in this thread. */
  readonly id = nextId++
  readonly parent: Task<unknown> | null
  readonly scheduler: Scheduler
  readonly #controller = new AbortController()
  /** Aborted when this task or any ancestor is cancelled, or when this task's scope fails. */
  readonly signal: AbortSignal
  readonly #children = new Set<Task<unknown>>()
  #status: TaskStatus = 'running'
  #interrupt: unknown = undefined
  /** The scope's first failure, once there is one. */
  #failure: { error: unknown } | undefined = undefined
  readonly #done: Promise<T>

  /** @internal Use `schedule(fn)` or `scheduler.fiber(fn)`. */
  constructor (scheduler: Scheduler, parent: Task<unknown> | null, fn: (task: Task<T>) => T | Promise<T>) {
    this.scheduler = scheduler
    this.parent = parent
    // The scope it starts in may be narrower than its parent (timeoutAfter).
    const outer = parent === null ? undefined : currentSignal() ?? parent.signal
    this.signal = outer === undefined ? this.#controller.signal : AbortSignal.any([this.#controller.signal, outer])
    if (parent !== null) parent.#children.add(this)
    this.#done = storage.run({ scheduler, task: this, signal: this.signal }, () => this.#run(fn))
    // join() is optional: a failure nobody joins is reported by whoever
    // waits for the scope (the parent, or the scheduler's close()).
    this.#done.catch(() => {})
  }

  async #run (fn: (task: Task<T>) => T | Promise<T>): Promise<T> {
    let body: { value: T } | { error: unknown }
    try {
      body = { value: await fn(this) }
    } catch (error) {
      body = { error }
      // Thrown while cancelled, it is that cancellation's fallout.
      if (!this.signal.aborted) this.#fail(error)
    }
    // The scope: a task ends when its children have (each reports its
    // failure to #fail as it settles).
    while (this.#children.size > 0) await Promise.allSettled([...this.#children].map((k) => k.#done))
    if (this.#failure !== undefined) {
      this.#settle('failed')
      throw this.#failure.error
    }
    if ('error' in body) {
      // Thrown while cancelled: the cancellation is the outcome.
      this.#settle('cancelled')
      const err = body.error
      throw this.#interrupt ?? (err instanceof AbortError ? err : aborted(this.signal.reason))
    }
    this.#settle('done')
    return body.value
  }

  /**
   * Records the scope's failure and cancels the rest of it; the first
   * failure wins. A child reports here only when it ended 'failed', and
   * that error goes back to a body that threw while not being cancelled:
   * a real error, so it fails this task even if this task is itself being
   * cancelled meanwhile.
   */
  #fail (error: unknown): void {
    if (this.#failure !== undefined) return
    this.#failure = { error }
    this.#controller.abort(error)
  }

  #settle (status: TaskStatus): void {
    this.#status = status
    if (this.parent === null) return
    this.parent.#children.delete(this)
    if (status === 'failed') this.parent.#fail(this.#failure!.error)
  }

  get status (): TaskStatus {
    return this.#status
  }

  /** Running child tasks. */
  get children (): ReadonlyArray<Task<unknown>> {
    return [...this.#children]
  }

  /** The task's result, or its error (an AbortError if it was cancelled). */
  join (): Promise<T> {
    return this.#done
  }

  /**
   * Cancels the task: the operation it waits in is aborted (its hook
   * rejects with an AbortError carrying `reason`), and so are its children.
   */
  cancel (reason?: unknown): void {
    if (this.#status !== 'running' || this.#controller.signal.aborted) return
    this.#controller.abort(reason ?? taskCancelled())
  }

  /** @internal fiberInterrupt: join() rejects with `error` itself. */
  interrupt (error: unknown): void {
    if (this.#status !== 'running') return
    this.#interrupt = error
    this.cancel(error)
  }
}

/** The task this code runs in, or null outside any task. */
export function currentTask (): Task<unknown> | null {
  return storage.getStore()?.task ?? null
}

/** The signal of the current task (undefined outside a task): every hook passes it to its op. */
export function currentSignal (): AbortSignal | undefined {
  return storage.getStore()?.signal
}

/** The scheduler of this async context, else the thread's (setScheduler), else null. */
export function currentScheduler (): Scheduler | null {
  const ctx = storage.getStore()
  return ctx !== undefined && ctx.scheduler !== null ? ctx.scheduler : threadScheduler
}

/** Sets the thread's scheduler (null to clear): the analogue of Fiber.set_scheduler. */
export function setScheduler (scheduler: Scheduler | null): void {
  threadScheduler = scheduler
}

/** Runs `fn` with `scheduler` current in its async context (and everything it starts). */
export function runWithScheduler<T> (scheduler: Scheduler, fn: () => T): T {
  const ctx = storage.getStore()
  return storage.run({ scheduler, task: ctx?.task ?? null, signal: ctx?.signal }, fn)
}

/**
 * Starts `fn` as a task of the current scheduler, a child of the current
 * task (the analogue of Fiber.schedule). Throws `ERR_NO_SCHEDULER` when no
 * scheduler is set.
 */
export function schedule<T> (fn: (task: Task<T>) => T | Promise<T>): Task<T> {
  const s = currentScheduler()
  if (s === null) throw noScheduler()
  return s.fiber(fn)
}

/** @internal Runs `fn` as a task of `scheduler` under the current task. */
export function startTask<T> (scheduler: Scheduler, fn: (task: Task<T>) => T | Promise<T>): Task<T> {
  return new Task(scheduler, currentTask(), fn)
}

/** @internal Runs `fn` with `signal` standing in for the current task's (timeoutAfter). */
export function withSignal<T> (signal: AbortSignal, fn: () => T): T {
  const ctx = storage.getStore()
  return storage.run({ scheduler: ctx?.scheduler ?? threadScheduler, task: ctx?.task ?? null, signal }, fn)
}

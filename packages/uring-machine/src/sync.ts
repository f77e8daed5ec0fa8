// Synchronisation between tasks of one thread, built on the scheduler's
// block/unblock hooks: FIFO-fair (a release hands over to the longest
// waiter, nobody barges), with timeouts and task cancellation. For threads,
// see the futex-based Mutex and Queue on the Machine.
import { currentScheduler, currentTask, type Task } from './tasks'
import type { Scheduler } from './scheduler/hooks'
import { timedOut, invalidArgType, invalidState, noScheduler, outOfRange } from './errors'

function scheduler (): Scheduler {
  const s = currentScheduler()
  if (s === null) throw noScheduler()
  return s
}

interface Waiter<T> {
  task: Task<unknown> | null
  scheduler: Scheduler
  /** What a release handed to this waiter. */
  value: T | undefined
}

/** A FIFO of waiters; `wait` resolves with what `release` hands over. */
class WaitQueue<T = undefined> {
  readonly #waiters: Array<Waiter<T>> = []

  get length (): number {
    return this.#waiters.length
  }

  /** Waits for a handover: its value, or throws ETIMEDOUT / AbortError. */
  async wait (what: string, timeout?: number): Promise<T> {
    const w: Waiter<T> = { task: currentTask(), scheduler: scheduler(), value: undefined }
    this.#waiters.push(w)
    let ok: boolean
    try {
      ok = await w.scheduler.block(w, timeout)
    } catch (err) {
      this.#remove(w)
      throw err
    }
    if (!ok) {
      this.#remove(w)
      throw timedOut(what, timeout!)
    }
    return w.value!
  }

  #remove (w: Waiter<T>): void {
    const i = this.#waiters.indexOf(w)
    if (i >= 0) this.#waiters.splice(i, 1)
  }

  /** Hands `value` to the longest waiter still waiting; false if there is none. */
  release (value?: T): boolean {
    for (;;) {
      const w = this.#waiters.shift()
      if (w === undefined) return false
      w.value = value
      if (w.scheduler.unblock(w, w.task)) return true
    }
  }
}

/** Options of the waiting calls. */
export interface WaitOptions {
  /** Give up after this many ms: rejects with `code` 'ETIMEDOUT'. */
  timeout?: number
}

/** A lock for tasks of one thread. */
export class TaskMutex {
  #locked = false
  readonly #queue = new WaitQueue()

  get locked (): boolean {
    return this.#locked
  }

  /** Takes the lock, waiting in line behind earlier callers. */
  async lock (options?: WaitOptions): Promise<void> {
    if (!this.#locked) {
      this.#locked = true
      return
    }
    await this.#queue.wait('lock', options?.timeout) // ownership is handed over
  }

  tryLock (): boolean {
    if (this.#locked) return false
    this.#locked = true
    return true
  }

  unlock (): void {
    if (!this.#locked) throw invalidState('The mutex is not locked')
    if (!this.#queue.release()) this.#locked = false
  }

  /** Runs `fn` holding the lock, and releases it however `fn` ends. */
  async synchronize<T> (fn: () => T | Promise<T>, options?: WaitOptions): Promise<T> {
    if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn)
    await this.lock(options)
    try {
      return await fn()
    } finally {
      this.unlock()
    }
  }
}

/** A condition variable used with a TaskMutex. */
export class Condition {
  readonly #queue = new WaitQueue()

  /** Releases `mutex`, waits for a signal, and takes `mutex` again (also on timeout or cancel). */
  async wait (mutex: TaskMutex, options?: WaitOptions): Promise<void> {
    const waiting = this.#queue.wait('wait', options?.timeout)
    mutex.unlock()
    try {
      await waiting
    } finally {
      await mutex.lock()
    }
  }

  /** Wakes the longest waiter. */
  signal (): void {
    this.#queue.release()
  }

  /** Wakes every waiter. */
  broadcast (): void {
    while (this.#queue.release());
  }
}

/** A counting semaphore. */
export class Semaphore {
  #permits: number
  readonly #queue = new WaitQueue()

  constructor (permits: number) {
    if (!Number.isInteger(permits) || permits < 0) throw outOfRange('permits', 'an integer >= 0', String(permits))
    this.#permits = permits
  }

  get available (): number {
    return this.#permits
  }

  async acquire (options?: WaitOptions): Promise<void> {
    if (this.#permits > 0 && this.#queue.length === 0) {
      this.#permits--
      return
    }
    await this.#queue.wait('acquire', options?.timeout) // a permit is handed over
  }

  release (): void {
    if (!this.#queue.release()) this.#permits++
  }
}

/** A FIFO queue of values between tasks: bounded (`capacity`) or not (Infinity). */
export class TaskQueue<T> {
  readonly #items: T[] = []
  readonly #takers = new WaitQueue<T>()
  readonly #putters = new WaitQueue()
  /** Places freed by a pop for a woken push that has not run yet. */
  #reserved = 0
  readonly capacity: number

  constructor (capacity = Infinity) {
    if (!(capacity === Infinity || (Number.isInteger(capacity) && capacity >= 1))) {
      throw outOfRange('capacity', 'an integer >= 1 or Infinity', String(capacity))
    }
    this.capacity = capacity
  }

  get length (): number {
    return this.#items.length
  }

  /** Adds `value`, waiting while the queue is full (in line behind earlier pushes). */
  async push (value: T, options?: WaitOptions): Promise<void> {
    if (this.#takers.release(value)) return // a waiting pop takes it directly
    if (this.#items.length + this.#reserved < this.capacity && this.#putters.length === 0) {
      this.#items.push(value)
      return
    }
    await this.#putters.wait('push', options?.timeout) // a pop reserved a place for us
    this.#reserved--
    if (!this.#takers.release(value)) this.#items.push(value)
  }

  /** Takes the oldest value, waiting while the queue is empty. */
  async pop (options?: WaitOptions): Promise<T> {
    if (this.#items.length > 0) {
      const v = this.#items.shift()!
      this.#reserved++
      if (!this.#putters.release()) this.#reserved--
      return v
    }
    return await this.#takers.wait('pop', options?.timeout)
  }

}

/** Waits until `parties` tasks have arrived, then releases them all. */
export class Barrier {
  readonly #queue = new WaitQueue()
  #arrived = 0

  constructor (readonly parties: number) {
    if (!Number.isInteger(parties) || parties < 1) throw outOfRange('parties', 'an integer >= 1', String(parties))
  }

  async wait (options?: WaitOptions): Promise<void> {
    if (++this.#arrived >= this.parties) {
      this.#arrived = 0
      while (this.#queue.release());
      return
    }
    try {
      await this.#queue.wait('wait', options?.timeout)
    } catch (err) {
      this.#arrived--
      throw err
    }
  }
}

/** A one-shot event: `wait()` resolves once `notify()` has been called (now or later). */
export class Notification {
  readonly #queue = new WaitQueue()
  #notified = false

  get notified (): boolean {
    return this.#notified
  }

  notify (): void {
    this.#notified = true
    while (this.#queue.release());
  }

  async wait (options?: WaitOptions): Promise<void> {
    if (this.#notified) return
    await this.#queue.wait('wait', options?.timeout)
  }
}

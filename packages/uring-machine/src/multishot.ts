// A multishot op as an async iterator: one kernel request yields many
// completions (chunks of a stream, accepted connections, a timer's ticks)
// until it ends.
//
// Chunks come copied out of the kernel's provided buffers, which go back to
// the kernel at once, so the stream never stalls on a slow consumer's
// buffers. Backpressure instead: past `highWaterMark` queued, the kernel
// request is cancelled (data stays in the socket or pipe) and re-armed once
// the consumer has drained half of it. Ending the iteration (break, return,
// abort, error) cancels the request, and `return()` settles only after the
// kernel's final completion: nothing is left pending.
//
// An accept stream's queued connections are held by the native side until
// `next()` hands one out (`disown`): the stream closes what it drops through
// it, and the native side closes the rest when the Machine goes (destroy,
// GC, a terminated worker), so none outlives both.
import { constants as os } from 'node:os'
import { aborted, concurrentNext } from './errors'

const ENOBUFS = -os.errno.ENOBUFS
const ECANCELED = -os.errno.ECANCELED

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStream = Multishot<any>

/** What a stream needs from its Machine. */
export interface StreamHost {
  /** Submits the multishot op; its slot, or a negative code. */
  arm: (stream: AnyStream) => number
  cancel: (slot: number) => void
  /** Frees the stream's provided-buffer group (after its final completion). */
  release: (stream: AnyStream) => void
  /** The error for a negative result, or null when the Machine is closing. */
  error: (res: number, stream: AnyStream) => Error
  /** Hands out (`close` false) or closes an fd the native side holds for the caller. */
  disown: (fd: number, close: boolean) => void
  /** The stream is over and holds nothing: the Machine need not end it at destroy. */
  forget: (stream: AnyStream) => void
}

type Waiter<T> = { resolve: (r: IteratorResult<T>) => void, reject: (e: unknown) => void }

const addListener = EventTarget.prototype.addEventListener
const removeListener = EventTarget.prototype.removeEventListener

export class Multishot<T> implements AsyncIterableIterator<T> {
  /** Items (chunks or fds) not yet taken, from `head`. */
  readonly queue: T[] = []
  /** Where the native side stages this delivery's chunks, one after another. */
  readonly staging: Buffer | undefined
  #cursor = 0
  #epoch = -1
  #head = 0
  /** Bytes (chunks) or items (fds) queued. */
  #queued = 0
  /** The slot of the kernel request, or -1 while none is in flight. */
  slot = -1
  #pausing = false
  /** return() or an abort asked for the end; no re-arming from now on. */
  #stopping = false
  #done = false
  #ended = false
  #error: unknown = undefined
  #waiter: Waiter<T> | undefined
  #finished: Array<() => void> = []
  #released = false
  #over = false
  readonly #onAbort: (() => void) | undefined

  /** Provided-buffer group, or -1 (none yet, or accept). */
  group = -1
  readonly yieldsFds: boolean
  /** An interval's: each item is the count of ticks so far (1, 2, ...). */
  readonly yieldsTicks: boolean
  #ticks = 0

  constructor (
    readonly host: StreamHost,
    readonly syscall: string,
    readonly fd: number,
    readonly kind: 'recv' | 'read' | 'accept' | 'interval',
    readonly flags: number,
    readonly highWaterMark: number,
    readonly bufferCount: number,
    readonly bufferSize: number,
    readonly signal: AbortSignal | undefined,
    /** An interval's period (ms). */
    readonly period = 0
  ) {
    this.yieldsFds = kind === 'accept'
    this.yieldsTicks = kind === 'interval'
    this.staging = kind === 'accept' || kind === 'interval' ? undefined : Buffer.allocUnsafeSlow(bufferCount * bufferSize)
    if (signal !== undefined) {
      this.#onAbort = () => this.#stop(aborted(signal.reason))
      if (!signal.aborted) addListener.call(signal, 'abort', this.#onAbort, { once: true })
    }
  }

  /** Arms the first request (or fails the stream at its first `next()`). */
  start (): this {
    if (this.signal?.aborted === true) this.#onAbort!()
    else this.#arm()
    return this
  }

  #arm (): void {
    const slot = this.host.arm(this)
    if (slot < 0) {
      this.#error = this.host.error(slot, this)
      this.#finish()
    } else {
      this.slot = slot
    }
  }

  /**
   * A completion with more to follow: an fd, or `res` bytes staged in
   * delivery `epoch` after the chunks before it, copied out here (the
   * staging view is reused by the next delivery).
   */
  item (res: number, epoch: number): void {
    if (res < 0) {
      // An accept that failed (the peer gave up first) leaves the stream
      // going; a chunk that could not be staged must not vanish silently.
      if (!this.yieldsFds && !this.#stopping) this.#stop(this.host.error(res, this))
      return
    }
    if (this.yieldsFds) {
      if (this.#stopping) { this.host.disown(res, true); return }
      this.queue.push(res as T)
      this.#queued += 1
    } else if (this.yieldsTicks) {
      if (this.#stopping) return
      this.queue.push(++this.#ticks as T)
      this.#queued += 1
    } else {
      if (epoch !== this.#epoch) {
        this.#epoch = epoch
        this.#cursor = 0
      }
      const at = this.#cursor
      this.#cursor += res
      if (this.#stopping) return
      const chunk = Buffer.allocUnsafe(res)
      this.staging!.copy(chunk, 0, at, at + res)
      this.queue.push(chunk as T)
      this.#queued += res
    }
    if (this.#queued >= this.highWaterMark && !this.#pausing && this.slot >= 0) {
      this.#pausing = true
      this.host.cancel(this.slot)
    }
    this.#wake()
  }

  /** The request's final completion. */
  end (res: number, epoch: number): void {
    this.slot = -1
    const pausing = this.#pausing
    this.#pausing = false
    if (res > 0 || (res === 0 && this.yieldsFds)) {
      // A last item (data or a connection); the request ended without end of stream.
      this.item(res, epoch)
      if (!this.#stopping && !this.#full()) this.#arm()
    } else if (res === 0) {
      this.#ended = true // end of stream
    } else if (this.#stopping) {
      // stopped by return/abort: the cancel is what ended it
    } else if (res === ENOBUFS || (res === ECANCELED && pausing)) {
      // Ran dry of buffers in one burst, or paused for backpressure.
      if (!this.#full()) this.#arm()
    } else {
      this.#error = this.host.error(res, this)
    }
    if (this.slot < 0 && (this.#stopping || this.#ended || this.#error !== undefined)) this.#finish()
    else this.#wake()
  }

  #full (): boolean {
    return this.#queued >= this.highWaterMark
  }

  /** The request is over for good: free the group, settle whoever waits. */
  #finish (): void {
    if (this.#onAbort !== undefined) {
      try { removeListener.call(this.signal!, 'abort', this.#onAbort) } catch {}
    }
    if (this.group >= 0 && !this.#released) {
      this.#released = true
      this.host.release(this)
    }
    if (this.#stopping) this.#dropQueue()
    this.#over = true
    this.#forgetIfEmpty()
    for (const f of this.#finished.splice(0)) f()
    this.#wake()
  }

  #forgetIfEmpty (): void {
    if (this.#over && this.slot < 0 && this.#head >= this.queue.length) this.host.forget(this)
  }

  /**
   * The Machine is being destroyed: what the stream queued is dropped (its
   * connections closed, not left to a `next()` that will never come) and it
   * ends with `error`, at once if no request is in flight (paused, or over).
   */
  destroy (error: Error): void {
    this.#dropQueue()
    if (!this.#done && !this.#stopping) this.#stop(error)
    else this.#forgetIfEmpty()
  }

  #wake (): void {
    const w = this.#waiter
    if (w === undefined) return
    const r = this.#take()
    if (r === undefined) return
    this.#waiter = undefined
    if (r instanceof Failure) w.reject(r.error)
    else w.resolve(r)
  }

  /** The next result if there is one now. */
  #take (): IteratorResult<T> | Failure | undefined {
    if (this.#head < this.queue.length && !this.#done) {
      const v = this.queue[this.#head]!
      this.queue[this.#head++] = undefined as T
      if (this.#head > 1024 && this.#head * 2 > this.queue.length) {
        this.queue.splice(0, this.#head)
        this.#head = 0
      }
      if (this.yieldsFds) {
        this.#queued -= 1
        this.host.disown(v as number, false) // the caller's from here
      } else {
        this.#queued -= this.yieldsTicks ? 1 : (v as unknown as Uint8Array).byteLength
      }
      if (this.#over) this.#forgetIfEmpty()
      if (this.slot < 0 && !this.#ended && this.#error === undefined && !this.#stopping && this.#queued * 2 <= this.highWaterMark) this.#arm()
      return { value: v, done: false }
    }
    if (this.slot >= 0) return undefined // still running
    if (this.#error !== undefined && !this.#done) {
      this.#done = true
      return new Failure(this.#error)
    }
    if (this.#ended || this.#done || this.#error !== undefined) {
      this.#done = true
      return { value: undefined, done: true }
    }
    return undefined
  }

  next (): Promise<IteratorResult<T>> {
    if (this.#waiter !== undefined) return Promise.reject(concurrentNext())
    const r = this.#take()
    if (r instanceof Failure) return Promise.reject(r.error)
    if (r !== undefined) return Promise.resolve(r)
    return new Promise((resolve, reject) => { this.#waiter = { resolve, reject } })
  }

  /** Ends the iteration; settles once the kernel's request is over. */
  return (): Promise<IteratorResult<T>> {
    this.#stop(undefined)
    return this.#settled().then(() => ({ value: undefined, done: true }))
  }

  #stop (error: unknown): void {
    if (this.#done || this.#stopping) return
    this.#stopping = true
    if (error !== undefined && this.#error === undefined) this.#error = error
    if (error === undefined) this.#done = true
    this.#dropQueue()
    if (this.slot >= 0) this.host.cancel(this.slot)
    else this.#finish()
  }

  #dropQueue (): void {
    if (this.yieldsFds) for (let i = this.#head; i < this.queue.length; i++) this.host.disown(this.queue[i] as number, true)
    this.queue.length = 0
    this.#head = 0
    this.#queued = 0
  }

  #settled (): Promise<void> {
    if (this.slot < 0) return Promise.resolve()
    return new Promise((resolve) => this.#finished.push(resolve))
  }

  [Symbol.asyncIterator] (): this {
    return this
  }
}

class Failure {
  constructor (readonly error: unknown) {}
}

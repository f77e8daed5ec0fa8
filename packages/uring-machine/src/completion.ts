// The completion engine of a Machine: the ops in flight by slot, abort and
// timeout wiring, and the settling of a batch of completions. Every op
// family hands its slot to `track`; the native ring calls `complete` with
// the batch of one loop wake.
import { constants as os } from 'node:os'
import { debuglog } from 'node:util'
import { isIP } from 'node:net'
import { binding, type NativeRing, type NativeOps } from './native'
import * as T from './native.generated'
import * as E from './errors'
import type * as V from './validate'
import { Stats, BigIntStats } from './stats'
import { childStatus } from './process'
import type { AnyStream } from './multishot'

const { detached: RES_DETACHED, closed: RES_CLOSED, slotMore: SLOT_MORE, slotMessageFd: SLOT_MESSAGE_FD } = binding !== null ? binding.resultCodes() : { detached: 0, closed: 0, slotMore: 1 << 30, slotMessageFd: -3 }
export { RES_CLOSED, SLOT_MESSAGE_FD }
const ECANCELED = -os.errno.ECANCELED
const EAGAIN = -os.errno.EAGAIN
const ETIMEDOUT = -os.errno.ETIMEDOUT
const EPERM = -os.errno.EPERM

// How a result becomes the promise's value: the op table's result kinds,
// as local constants (an imported binding compiles to a property read, and
// settle() compares them per completion).
export const VOID = T.VOID
export const NUMBER = T.NUMBER
export const STAT = T.STAT
export const FUTEX_WAIT = T.FUTEX_WAIT
export const CHILD = T.CHILD
export const STREAM = T.STREAM
export const RESOLVE = T.RESOLVE
/** A chain (crates/node/src/ops/chain.rs): resolves with the Buffer the native side put at dsts[slot], or one over the ArrayBuffer it put there (up to 64 KiB). */
export const READ_FILE = 7
/** A chain that resolves with nothing. */
export const WRITE_FILE = 8
/** Marks a copyFile error where splice refused the destination (ops/copy.ts then asks libuv). */
export const kSpliceRefused = Symbol('spliceRefused')
/** A copy in the core (crates/node/src/ops/copy.rs): resolves with the bytes copied from its Float64Array; failures carry bytesCopied. */
export const COPY = 9
/** copyFile in the core: resolves with nothing; failures are Node's copyfile errors. */
export const COPY_FILE = 10
/**
 * A chain whose caller reads its results from the array it put at
 * dsts[slot] (batch, statMany): resolves with the raw result, a step's
 * failure included; rejects only when aborted, timed out, destroyed or
 * its buffers were detached.
 */
export const CHAIN_OUT = 11

/** The syscall a chain's failure names, by code (crates/node/src/ops/chain.rs STEP_CODES). */
const STEP_CODES = ['open', 'read', 'write', 'close', 'fsync', 'statx']

// A splice or tee that blocks in a kernel worker (on a socket, say) ignores a
// linked timeout on 6.18: neither it nor the timeout completes (reproduced on
// the bare core ring). An ASYNC_CANCEL does reach it, so their timeouts are
// a timer that cancels; the op still settles only when the kernel confirms.
export const SOFT_TIMEOUT = true
/** How long after its timeout an op whose linked timeout was missed is cancelled. */
const BACKSTOP_MS = 1000

// NODE_DEBUG=uring-machine traces every submission and completion.
const debug = debuglog('uring-machine')
export const TRACE = debug.enabled
export { debug }

/** One op in flight, indexed by its slot. */
export class Pending {
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
  /** A readFile's data (an ArrayBuffer or a Buffer), taken from dsts[slot] as its completion comes in. */
  data: unknown = undefined
  /** A copy's destination fd (errors on that side name it). */
  fd2 = -1
  constructor (
    readonly kind: number,
    readonly syscall: string,
    readonly fd: number,
    readonly info: E.SystemErrorInfo | undefined,
    readonly timeout: number,
    readonly out: Float64Array | BigInt64Array | undefined
  ) {}
}

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

/** Engines with ops in flight stay reachable (and their Machine, through the host), so their promises settle. */
const live = new Set<Engine>()

/** What the engine tells its Machine. */
export interface EngineHost {
  /** A message posted to this Machine arrived (`kind` SLOT_MESSAGE_FD or another). */
  onMessage (kind: number, value: number): void
  /** The native ring has closed: every op must settle now. */
  onClosed (): void
}

/** One Machine's ring and the ops it has in flight. */
export class Engine {
  readonly ring: NativeRing
  /** The op functions (see `ready`). */
  readonly fn: NativeOps
  readonly #results: Int32Array
  /** Where each slot's output goes (read buffers, readv arrays, statx arrays). */
  readonly #dsts: unknown[] = []
  readonly #ops: Array<Pending | undefined> = []
  readonly #batch: Array<Pending | undefined> = []
  #pending = 0
  /** Counts deliveries: a stream's staged chunks belong to one. */
  #epoch = 0
  /** Per signal, this Machine's ops in flight under it (see #watch). */
  readonly #watched = new WeakMap<AbortSignal, Map<Pending, number>>()
  readonly #host: EngineHost
  state: 'open' | 'closing' | 'closed' = 'open'

  constructor (entries: number, sqpoll: number, profile: boolean, offload: boolean, host: EngineHost) {
    if (binding === null) throw E.unavailable('no binding')
    this.#host = host
    try {
      this.ring = new binding.Ring(entries, sqpoll, profile, offload, this.#dsts, this.#complete)
    } catch (err) {
      throw E.unavailable((err as Error).message)
    }
    this.fn = this.ring.functions()
    this.#results = this.ring.results()
  }

  /** Registers a multishot stream's request at `slot` (it stays until its final completion). */
  trackStream (slot: number, st: AnyStream): void {
    const op = new Pending(STREAM, st.syscall, st.fd, undefined, 0, undefined)
    op.stream = st
    this.#ops[slot] = op
    this.#dsts[slot] = st.staging
    if (this.#pending++ === 0) live.add(this)
    if (TRACE) debug('submit %s multishot slot=%d fd=%d', st.syscall, slot, st.fd)
  }

  /** The error a stream's request failed with. */
  streamError (res: number, st: AnyStream): Error {
    return this.error(res, new Pending(STREAM, st.syscall, st.fd, undefined, 0, undefined))
  }

  /** Rejects whatever is still in the table (the ring has closed) and lets go of the engine. */
  rejectAll (): void {
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
  }

  /** The op functions, if the op may start; null if the Machine is closed or the signal already fired. */
  ready (o: V.OpOptions): NativeOps | null {
    if (this.state !== 'open' || o.signal?.aborted === true) return null
    return this.fn
  }

  refuse (o: V.OpOptions, syscall: string, _info?: E.SystemErrorInfo): Promise<never> {
    if (this.state !== 'open') return Promise.reject(E.destroyed(syscall))
    return Promise.reject(E.aborted(o.signal?.reason))
  }

  /**
   * The op's promise. `dst` is where its output goes (a read's view, a
   * readv's views, a statx array); every op writes its slot of `#dsts`, so
   * that array stays packed (slots are handed out densely from 0).
   */
  track (slot: number, kind: number, syscall: string, fd: number, info: E.SystemErrorInfo | undefined, o: V.OpOptions, dst?: unknown, soft = false, hostname?: string): Promise<unknown> {
    const op = new Pending(kind, syscall, fd, info, o.timeout ?? 0, kind === STAT || kind === CHILD ? dst as Float64Array | BigInt64Array : undefined)
    if (kind === RESOLVE) {
      op.list = dst as string[]
      op.hostname = hostname!
    }
    if (TRACE) debug('submit %s slot=%d fd=%d%s', syscall, slot, fd, o.timeout !== undefined ? ` timeout=${o.timeout}ms` : '')
    if (slot < 0) return Promise.reject(this.error(slot, op))
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
        this.ring.cancel(slot)
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

  /** A copy's promise (kind COPY or COPY_FILE): `out` gets [bytes, side]; `fd2` is its destination fd. */
  trackCopy (slot: number, kind: number, syscall: string, fd: number, fd2: number, info: E.SystemErrorInfo | undefined, o: V.OpOptions, out: Float64Array): Promise<unknown> {
    const p = this.track(slot, kind, syscall, fd, info, o, out, true)
    const op = slot >= 0 ? this.#ops[slot] : undefined
    if (op !== undefined) op.fd2 = fd2
    return p
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
          if (m !== undefined) m.ring.cancel(slot)
        }
        set.clear()
      }, { once: true })
    }
    return ops
  }

  /** Called by the native ring with n (slot, result) pairs, or -1 once it has closed. */
  readonly #complete = (n: number): void => {
    if (n < 0) {
      this.#host.onClosed()
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
      const op = batch[i] = ops[raw]
      if (op !== undefined && (op.kind === READ_FILE || op.kind === COPY || op.kind === COPY_FILE)) op.data = dsts[raw]
      ops[raw] = undefined
      dsts[raw] = undefined
    }
    for (let i = 0; i < n; i++) {
      const raw = results[2 * i]!
      if (raw < 0) {
        this.#host.onMessage(raw, results[2 * i + 1]!)
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
      if (op.kind === COPY || op.kind === COPY_FILE) this.#settleCopy(op, res)
      else if (op.kind >= READ_FILE) {
        // A call of several steps is aborted once its signal fired, however
        // far the kernel got (like Node's checks between its steps); the
        // core has closed what the chain opened either way.
        if (op.aborted) op.reject(E.aborted(op.signal?.reason))
        else if (op.kind === CHAIN_OUT) this.#chainOut(op, res)
        else if (res < 0) op.reject(this.chainError(res, op))
        // Over the whole ArrayBuffer, at offset 0, as Node's readFile gives it.
        else op.resolve(op.kind === READ_FILE ? (op.data instanceof ArrayBuffer ? Buffer.from(op.data) : op.data) : undefined)
        op.data = undefined
      } else if (res < 0) {
        if (op.kind === FUTEX_WAIT && res === EAGAIN) op.resolve('not-equal')
        else if (op.kind === RESOLVE && E.isEai(res)) op.reject(E.dnsError(res, op.hostname))
        else op.reject(this.error(res, op))
      } else if (op.kind === NUMBER) op.resolve(res)
      else if (op.kind === FUTEX_WAIT) op.resolve('ok')
      else if (op.kind === CHILD) op.resolve(childStatus(op.out as Float64Array))
      else if (op.kind === VOID) op.resolve(undefined)
      else if (op.kind === RESOLVE) op.resolve(op.list!.map((address) => ({ address, family: isIP(address) as 4 | 6 })))
      else op.resolve(op.out instanceof BigInt64Array ? new BigIntStats(op.out) : new Stats(op.out!))
    }
    if (this.#pending === 0) live.delete(this)
  }

  /** A copy's completion: its bytes (or copyFile's nothing), or its error with bytesCopied. */
  #settleCopy (op: Pending, res: number): void {
    const out = op.data as Float64Array
    op.data = undefined
    if (res >= 0) return op.resolve(op.kind === COPY ? out[0] : undefined)
    if (op.kind === COPY_FILE) {
      if (op.aborted) return op.reject(E.aborted(op.signal?.reason))
      if (res === ECANCELED && op.timedOut) return op.reject(E.timedOut('copyfile', op.timeout, op.info))
      if (res === ECANCELED && this.state !== 'open') return op.reject(E.destroyed('copyfile'))
      const err = res === RES_CLOSED ? E.destroyed('copyfile') : E.systemError(res, 'copyfile', op.info)
      // A destination splice refuses (EINVAL: a /proc file): libuv writes there instead.
      if (out[1] === 2 && res === -os.errno.EINVAL) Object.defineProperty(err, kSpliceRefused, { value: true })
      return op.reject(err)
    }
    const side = out[1] === 2 ? new Pending(COPY, op.syscall, op.fd2, op.info, op.timeout, undefined) : op
    if (side !== op) {
      side.aborted = op.aborted
      side.timedOut = op.timedOut
      side.signal = op.signal
    }
    const err = this.error(res, side)
    op.reject(Object.assign(err, { bytesCopied: out[0] }))
  }

  #chainOut (op: Pending, res: number): void {
    const errno = res < 0 && res > -(1 << 15) ? -((-res) & 0xfff) : 0
    if (op.timedOut) op.reject(E.timedOut(op.syscall, op.timeout, op.info))
    else if (res === RES_CLOSED || res === RES_DETACHED || res <= -(1 << 15)) op.reject(this.error(res, op))
    else if (errno === ECANCELED && this.state !== 'open') op.reject(E.destroyed(op.syscall))
    else op.resolve(res)
  }

  /** A chain's failure: `-(errno + (step << 12))`; the path goes with open's errors only, as Node's. */
  chainError (res: number, op: Pending): Error {
    if (res === RES_CLOSED || res === RES_DETACHED || res <= -(1 << 15)) return this.error(res, op)
    const step = (-res) >> 12
    const errno = -((-res) & 0xfff)
    const syscall = STEP_CODES[step - 1] ?? op.syscall
    if (errno === ECANCELED && this.state !== 'open') return E.destroyed(syscall)
    return E.systemError(errno, syscall, syscall === 'open' ? op.info : undefined)
  }

  error (res: number, op: Pending): Error {
    if (res === RES_CLOSED) return E.destroyed(op.syscall)
    if (res === RES_DETACHED) return E.bufferDetached(op.syscall)
    if (res === ECANCELED) {
      if (op.timedOut) return E.timedOut(op.syscall, op.timeout, op.fd >= 0 ? { ...op.info, fd: op.fd } : op.info)
      if (op.aborted) return E.aborted(op.signal?.reason)
      if (this.state !== 'open') return E.destroyed(op.syscall)
    }
    const info = op.fd >= 0 ? { ...op.info, fd: op.fd } : op.info
    if (res === ETIMEDOUT && op.timeout > 0) return E.timedOut(op.syscall, op.timeout, info)
    if (res === EPERM && this.ring.credentialsChanged()) return E.credentialsChanged(op.syscall, info)
    return E.systemError(res, op.syscall, info)
  }
}

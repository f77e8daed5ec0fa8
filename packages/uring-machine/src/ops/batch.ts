// The public batch() builder: the caller's own chain of steps on one file
// (crates/core/src/chain.rs Chain::new), submitted as linked SQEs on a
// direct descriptor in one native call, settling one promise. The steps
// are encoded as crates/node/src/ops/chain.rs `batch_steps` reads them.
import { constants as osConstants } from 'node:os'
import * as E from '../errors'
import * as V from '../validate'
import { AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, STATX_BTIME } from '../constants'
import { type Engine, CHAIN_OUT } from '../completion'
import { Stats, BigIntStats } from '../stats'
import * as F from './fs'

const ENOSYS = -osConstants.errno.ENOSYS
const ECANCELED = -osConstants.errno.ECANCELED

/** Errors of a whole batch (its timeout), not of one step: they carry no `step`. */
const WHOLE = new WeakSet<object>()

/** The most steps one batch takes (the core's limit on a chain). */
export const MAX_BATCH_STEPS = 64

const OPEN = 0
const READ = 1
const WRITE = 2
const FSYNC = 3
const STATX = 4
const CLOSE = 5

/** One step's result: bytes read or written, a Stats, or undefined (open, fsync, close). */
export type BatchResult = number | Stats | BigIntStats | undefined

export interface BatchSubmitOptions {
  signal?: AbortSignal
  /** ms; the whole batch is cancelled after it and rejects with ETIMEDOUT. */
  timeout?: number
}

/**
 * A failed batch's rejection: the failing step's error, shaped as Node's
 * (`code`, `errno`, `syscall`, `path` for open and statx), with `step`
 * (its index) and `results` (the results of the steps before it).
 */
export interface BatchError extends E.SystemError {
  step: number
  results: BatchResult[]
}

interface Entry { kind: number, syscall: string, path?: string, bigint?: boolean }

/**
 * Steps on one file, run in order by the kernel as one chain: `open` first
 * (its file lives in a slot of the ring's registered file table, not in
 * the process's fd table), then reads, writes, fsyncs and statx of paths,
 * and an optional `close` last (without one the ring closes the file).
 * Linked: a step that fails, or a read or write that transfers less than
 * asked, cancels the steps after it (the kernel's IOSQE_IO_LINK rule); a
 * `close` runs whatever came before it.
 */
export class Batch {
  readonly #c: Engine
  readonly #steps: unknown[][] = []
  /** [Int32Array(steps) once submitted, per step: its read's view or statx array]. */
  readonly #out: unknown[] = [undefined]
  readonly #entries: Entry[] = []
  #state: 'building' | 'closed' | 'submitted' = 'building'

  /** @internal */
  constructor (c: Engine) {
    this.#c = c
  }

  #add (entry: Entry, step: unknown[], out?: unknown): this {
    if (this.#state === 'submitted') throw E.invalidState('batch: already submitted')
    if (this.#state === 'closed') throw E.invalidState(`batch: ${entry.syscall} after close()`)
    if (entry.kind === OPEN ? this.#steps.length > 0 : this.#steps.length === 0) {
      throw E.invalidState(entry.kind === OPEN ? 'batch: open() must be the first step, and the only open' : `batch: ${entry.syscall} before open(): open() must be the first step`)
    }
    if (this.#steps.length >= MAX_BATCH_STEPS) throw E.outOfRange('batch steps', `<= ${MAX_BATCH_STEPS}`, this.#steps.length + 1)
    this.#steps.push(step)
    this.#entries.push(entry)
    this.#out.push(out)
    if (entry.kind === CLOSE) this.#state = 'closed'
    return this
  }

  /** openat(2) of `path` (relative to the working directory): the batch's file. `flags` as fs.open takes them (default 'r'), `mode` default 0o666. */
  open (path: string | Buffer | URL, flags?: number | string, mode?: number | string): this {
    const p = V.path(path)
    return this.#add({ kind: OPEN, syscall: 'open', path: E.pathText(p) }, [OPEN, p, V.openFlags(flags), V.mode(mode)])
  }

  /**
   * A read into `buffer[offset, offset + length)` at `position` (default:
   * the file's own). The data lands in the core's memory and is copied
   * into `buffer` when the batch completes; its result is the bytes read.
   */
  read (buffer: ArrayBufferView, options?: { offset?: number, length?: number, position?: number | bigint | null }): this {
    const o = V.options(options)
    const v = V.bytes(V.view(buffer, 'buffer'))
    const [off, len] = V.range(v, 'buffer', o.offset, o.length)
    return this.#add({ kind: READ, syscall: 'read' }, [READ, len, V.position(o.position)], v.subarray(off, off + len))
  }

  /** A write of `buffer[offset, offset + length)` (copied now) at `position` (default: the file's own); a string is UTF-8. Its result is the bytes written. */
  write (buffer: ArrayBufferView | string, options?: { offset?: number, length?: number, position?: number | bigint | null }): this {
    const o = V.options(options)
    const v = typeof buffer === 'string' ? Buffer.from(buffer) : V.bytes(V.view(buffer, 'buffer'))
    const [off, len] = V.range(v, 'buffer', o.offset, o.length)
    return this.#add({ kind: WRITE, syscall: 'write' }, [WRITE, v, off, len, V.position(o.position)])
  }

  /** fsync(2) of the file (fdatasync(2) with `datasync`). */
  fsync (options?: { datasync?: boolean }): this {
    const o = V.options(options)
    if (o.datasync !== undefined && typeof o.datasync !== 'boolean') throw E.invalidArgType('options.datasync', 'of type boolean', o.datasync)
    return this.#add({ kind: FSYNC, syscall: o.datasync === true ? 'fdatasync' : 'fsync' }, [FSYNC, o.datasync === true])
  }

  /** statx(2) of a path (the kernel has none of a direct descriptor); its result is a Stats (BigIntStats with `bigint`). */
  statx (path: string | Buffer | URL, options?: { bigint?: boolean, followSymlinks?: boolean }): this {
    const p = V.path(path)
    const o = V.options(options)
    if (o.bigint !== undefined && typeof o.bigint !== 'boolean') throw E.invalidArgType('options.bigint', 'of type boolean', o.bigint)
    const flags = o.followSymlinks === false ? AT_SYMLINK_NOFOLLOW : 0
    const out = o.bigint === true ? new BigInt64Array(18) : new Float64Array(18)
    return this.#add({ kind: STATX, syscall: 'statx', path: E.pathText(p), bigint: o.bigint === true }, [STATX, p, flags, STATX_BASIC_STATS | STATX_BTIME], out)
  }

  /** close(2) of the file: the last step. Runs whatever the step before it did. */
  close (): this {
    return this.#add({ kind: CLOSE, syscall: 'close' }, [CLOSE])
  }

  /** How many steps the batch has. */
  get length (): number {
    return this.#steps.length
  }

  /**
   * Submits the steps as one chain. Resolves with each step's result in
   * order, or rejects with the first failure (a {@link BatchError}). An
   * abort or timeout cancels the steps still in the kernel; the file is
   * closed either way.
   */
  submit (options?: BatchSubmitOptions): Promise<BatchResult[]> {
    const o = V.options(options)
    if (this.#state === 'submitted') return Promise.reject(E.invalidState('batch: already submitted'))
    if (this.#steps.length === 0) return Promise.reject(E.invalidState('batch: no steps: open() must be the first step'))
    this.#state = 'submitted'
    const n = this.#steps.length
    const results = new Int32Array(n)
    this.#out[0] = results
    const first = this.#entries[0]!
    const ring = this.#c.ready(o)
    if (ring === null) return this.#c.refuse(o, 'open', { path: first.path })
    const slot = ring.batch(this.#steps)
    if (slot === ENOSYS) return this.#bySingleOps(o)
    const done = this.#c.track(slot, CHAIN_OUT, 'open', -1, { path: first.path }, o, this.#out, true) as Promise<number>
    return done.then((res) => this.#settle(res, results))
  }

  /**
   * Where the ring runs no chains (a kernel before 5.19, an SQPOLL ring):
   * the steps one after another as single ops, with the chain's results
   * and its link rules. The file is an fd of the process's table while it
   * is open, held natively meanwhile, and closed whatever happens.
   */
  async #bySingleOps (o: V.OpOptions): Promise<BatchResult[]> {
    const c = this.#c
    const first = this.#entries[0]!
    const deadline = o.timeout === undefined ? 0 : Date.now() + o.timeout
    const timedOut = (): unknown => {
      const err = E.timedOut('open', o.timeout!, { path: first.path })
      WHOLE.add(err)
      return err
    }
    const outer = (err: unknown): unknown => {
      const code = (err as { code?: unknown } | null)?.code
      if (code === 'ETIMEDOUT' && deadline > 0 && Date.now() >= deadline) return timedOut()
      if (code === 'ERR_MACHINE_DESTROYED') return E.destroyed('open')
      return err
    }
    // Each op gets what is left of the batch's timeout, and its signal.
    const left = (): V.OpOptions => {
      if (deadline === 0) return { signal: o.signal }
      const ms = deadline - Date.now()
      if (ms <= 0) throw timedOut()
      return { signal: o.signal, timeout: ms }
    }
    // Written bytes are the caller's at submit(), as the chain copies them.
    const writes = this.#steps.map((s) => s[0] === WRITE ? Buffer.from((s[1] as Uint8Array).subarray(s[2] as number, (s[2] as number) + (s[3] as number))) : undefined)
    const [, path, flags, mode] = this.#steps[0]! as [number, string, number, number]
    let fd: number
    try {
      fd = await F.open(c, path, flags, mode, left())
    } catch (err) {
      throw this.#stepError(outer(err), 0, [])
    }
    // Held natively while the steps run (a terminated worker's teardown closes it).
    const held = F.hold(c, fd)
    const values: BatchResult[] = [undefined]
    let failure: unknown
    // A failure or short transfer breaks the link: the next step is
    // ECANCELED and none after it runs, but close() runs whatever came before.
    let broken = false
    for (let i = 1; i < this.#steps.length && failure === undefined; i++) {
      const step = this.#steps[i]!
      const e = this.#entries[i]!
      if (e.kind === CLOSE) break
      if (broken) {
        failure = this.#stepError(E.systemError(ECANCELED, e.syscall, e.path === undefined ? undefined : { path: e.path }), i, values)
        break
      }
      try {
        if (e.kind === READ) {
          const view = this.#out[i + 1] as Uint8Array
          if (V.isDetached(view)) throw E.bufferDetached('read')
          const n = await F.transfer(c, false, fd, view, 0, view.byteLength, step[2] as number, left())
          values.push(n)
          broken = n < (step[1] as number)
        } else if (e.kind === WRITE) {
          const data = writes[i]!
          const n = await F.transfer(c, true, fd, data, 0, data.byteLength, step[4] as number, left())
          values.push(n)
          broken = n < data.byteLength
        } else if (e.kind === FSYNC) {
          await F.fsync(c, fd, { ...left(), datasync: step[1] as boolean })
          values.push(undefined)
        } else {
          const st = await F.statx(c, step[1] as string, { ...left(), bigint: e.bigint === true, followSymlinks: step[2] !== AT_SYMLINK_NOFOLLOW })
          values.push(st)
        }
      } catch (err) {
        failure = this.#stepError(outer(err), i, values)
      }
    }
    const closeStep = this.#entries[this.#entries.length - 1]!.kind === CLOSE
    try {
      await F.closeHeld(c, fd, held)
      if (closeStep && failure === undefined) values.push(undefined)
    } catch (err) {
      // Without a close() step the close is the Machine's, as the chain's is.
      if (closeStep) failure ??= this.#stepError(outer(err), this.#entries.length - 1, values)
    }
    if (failure !== undefined) throw failure
    return values
  }

  /** A step's SystemError with its `step` and the `results` before it; an abort, a timeout or a destroy is the batch's, as the chain's is. */
  #stepError (err: unknown, step: number, results: BatchResult[]): unknown {
    if (!(err instanceof Error) || typeof (err as { errno?: unknown }).errno !== 'number' || WHOLE.has(err)) return err
    const be = err as BatchError
    be.step = step
    be.results = results.slice()
    return be
  }

  #settle (res: number, raw: Int32Array): BatchResult[] {
    const values: BatchResult[] = []
    let failed = -1
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i]!
      if (r < 0) {
        // The first failure in step order (the steps after it were
        // cancelled: their ECANCELED is its consequence).
        failed = i
        break
      }
      const e = this.#entries[i]!
      if (e.kind === READ || e.kind === WRITE) values.push(r)
      else if (e.kind === STATX) values.push(e.bigint === true ? new BigIntStats(this.#out[i + 1] as BigInt64Array) : new Stats(this.#out[i + 1] as Float64Array))
      else values.push(undefined)
    }
    if (failed < 0 && res >= 0) return values
    if (failed < 0) failed = 0
    const e = this.#entries[failed]!
    const err = E.systemError(raw[failed]! < 0 ? raw[failed]! : -((-res) & 0xfff), e.syscall, e.path === undefined ? undefined : { path: e.path }) as BatchError
    err.step = failed
    err.results = values
    throw err
  }
}

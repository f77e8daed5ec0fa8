// statMany: stat (or lstat) of many paths in one native call and one
// promise: a core chain of independent statx steps (crates/core/src/stat_many.rs),
// not linked, so one path failing cancels none, submitted in windows that
// fit the SQ. Where the ring runs no chains (an SQPOLL ring, a kernel
// before 5.19) it is one statx op per path, with the same results.
import { constants as osConstants } from 'node:os'
import * as E from '../errors'
import * as V from '../validate'
import { AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, STATX_BTIME } from '../constants'
import { type Engine, CHAIN_OUT } from '../completion'
import { Stats, BigIntStats } from '../stats'
import * as F from './fs'

const ENOSYS = -osConstants.errno.ENOSYS

export interface StatManyOptions {
  /** BigIntStats instead of Stats. */
  bigint?: boolean
  /** lstat: a symbolic link's own stat, not its target's. */
  lstat?: boolean
  signal?: AbortSignal
  /** ms; the whole call is cancelled after it and rejects with ETIMEDOUT. */
  timeout?: number
}

export function statMany (c: Engine, paths: ReadonlyArray<string | Buffer | URL>, options?: StatManyOptions): Promise<Array<Stats | BigIntStats | E.SystemError>> {
  if (!Array.isArray(paths)) throw E.invalidArgType('paths', 'an instance of Array', paths)
  const ps = Array.from(paths, (p, i) => V.path(p, `paths[${i}]`))
  const o = V.options(options)
  if (o.bigint !== undefined && typeof o.bigint !== 'boolean') throw E.invalidArgType('options.bigint', 'of type boolean', o.bigint)
  const lstat = (options as StatManyOptions | undefined)?.lstat
  if (lstat !== undefined && typeof lstat !== 'boolean') throw E.invalidArgType('options.lstat', 'of type boolean', lstat)
  const syscall = lstat === true ? 'lstat' : 'stat'
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, syscall)
  if (ps.length === 0) return Promise.resolve([])
  const n = ps.length
  const results = new Int32Array(n)
  const stats = o.bigint === true ? new BigInt64Array(18 * n) : new Float64Array(18 * n)
  const slot = ring.statMany(ps, lstat === true ? AT_SYMLINK_NOFOLLOW : 0, STATX_BASIC_STATS | STATX_BTIME)
  if (slot === ENOSYS) return bySingleOps(c, ps, o, lstat === true, syscall)
  const done = c.track(slot, CHAIN_OUT, syscall, -1, undefined, o, [results, stats], true) as Promise<number>
  return done.then(() => {
    const out: Array<Stats | BigIntStats | E.SystemError> = new Array(n)
    for (let i = 0; i < n; i++) {
      const r = results[i]!
      if (r < 0) out[i] = E.systemError(r, syscall, { path: E.pathText(ps[i]!) })
      else if (stats instanceof BigInt64Array) out[i] = new BigIntStats(stats.subarray(18 * i, 18 * i + 18))
      else out[i] = new Stats(stats.subarray(18 * i, 18 * i + 18))
    }
    return out
  })
}

function bySingleOps (c: Engine, ps: Array<string | Uint8Array>, o: V.OpOptions & { bigint?: unknown }, lstat: boolean, syscall: string): Promise<Array<Stats | BigIntStats | E.SystemError>> {
  const opts = { bigint: o.bigint === true, followSymlinks: !lstat, signal: o.signal, timeout: o.timeout }
  return Promise.all(ps.map((p) => F.statx(c, p as string, opts).catch((err: E.SystemError) => {
    if (typeof err.errno !== 'number' || err.code === 'ETIMEDOUT') throw err
    return E.systemError(err.errno, syscall, { path: E.pathText(p) })
  })))
}

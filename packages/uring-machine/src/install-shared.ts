// What install-more.ts and install-filehandle.ts share: the argument
// checks of their routes, the error shape of Node's fs, and the lazy
// requires of errors.ts and validate.ts (loaded at first use, never at
// load, as install.ts's rule asks). It imports no module of its own but
// types, so it closes no circle.
import type { Scheduler } from './scheduler'
import type * as Errors from './errors'
import type * as Validate from './validate'

export type AnyFn = (...args: any[]) => any // eslint-disable-line @typescript-eslint/no-explicit-any

/** What install.ts lends: its patch() and its scheduler(). */
export interface Host {
  patch: (target: object, name: string, make: (original: AnyFn) => AnyFn) => void
  scheduler: () => Scheduler | null
}

let errorsModule: typeof Errors | undefined
export const errors = (): typeof Errors => (errorsModule ??= require('./errors') as typeof Errors)
let validateModule: typeof Validate | undefined
export const validate = (): typeof Validate => (validateModule ??= require('./validate') as typeof Validate)

export const INT32_MAX = 2 ** 31 - 1
export const UINT32_MAX = 2 ** 32 - 1
/** The most buffers one readv/writev takes (IOV_MAX); libuv splits more, so more go to Node. */
export const IOV_MAX = 1024
export const COPYFILE_EXCL = 1
export const COPYFILE_FICLONE = 2

export const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
export const isFd = (v: unknown): v is number => isInt(v, 0, INT32_MAX)
export const routable = (p: unknown): p is string => typeof p === 'string' && !p.includes('\u0000')
/** A position routed: none (the fd's own), -1 (the same) or a safe integer >= 0. */
export const isPosition = (v: unknown): v is number | null | undefined => v == null || isInt(v, -1, Number.MAX_SAFE_INTEGER)
export const pos = (v: number | null | undefined): number | null => v == null || v < 0 ? null : v
/**
 * An array of 1 to IOV_MAX non-detached Uint8Arrays, at least one byte in
 * all: a readv/writev of zero bytes goes to Node, whose syscall still fails
 * on a directory (EISDIR) where the ring's completes with 0.
 */
export const isBuffers = (v: unknown): v is Uint8Array[] =>
  Array.isArray(v) && v.length > 0 && v.length <= IOV_MAX && v.every((b) => b instanceof Uint8Array && !validate().isDetached(b)) &&
  v.some((b) => (b as Uint8Array).byteLength > 0)

/** An error as Node's fs gives it: no `fd`; `syscall` renamed where Node names the call otherwise. */
export function asNode (err: unknown, syscall?: string): never {
  if (err !== null && typeof err === 'object') {
    const e = err as { fd?: number, syscall?: string, message?: string }
    if ('fd' in e) delete e.fd
    if (syscall !== undefined && typeof e.syscall === 'string' && e.syscall !== syscall && typeof e.message === 'string') {
      e.message = e.message.replace(`, ${e.syscall}`, `, ${syscall}`)
      e.syscall = syscall
    }
  }
  throw err
}

/** Settles a node-style callback on a later tick: `(null)` or `(null, value)`, `(err)` on failure. */
export function callback<T> (p: Promise<T>, cb: AnyFn, withValue: boolean): void {
  p.then((v) => withValue ? process.nextTick(cb, null, v) : process.nextTick(cb, null), (e) => process.nextTick(cb, e))
}

/** stat options routed: none, or { bigint: boolean } (throwIfNoEntry means nothing to fstat). */
export function statBigint (o: unknown): boolean | null {
  if (o === undefined) return false
  if (o === null) return null // Node reads o.bigint of it: a TypeError, Node's own
  if (typeof o !== 'object') return null
  if (Object.keys(o).some((k) => k !== 'bigint')) return null
  const b = (o as { bigint?: unknown }).bigint
  if (b !== undefined && typeof b !== 'boolean') return null
  return b === true
}

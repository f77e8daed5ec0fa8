// Argument checks: every op validates before anything is submitted, and
// throws Node-style TypeError/RangeError with a `code`.
import { isIP } from 'node:net'
import { fileURLToPath } from 'node:url'
import { invalidArgType, invalidArgValue, outOfRange, invalidIp, badPort, detachedView, nullBytes } from './errors'
import { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_SYNC } from './constants'

const INT32_MAX = 2 ** 31 - 1

export function int (value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value)
  }
  return value
}

export const fd = (value: unknown, name = 'fd'): number => int(value, name, 0, INT32_MAX)

/** A Buffer, TypedArray or DataView whose memory can be read now (not detached). */
export function view (value: unknown, name: string): ArrayBufferView {
  if (!ArrayBuffer.isView(value)) {
    throw invalidArgType(name, 'an instance of Buffer, TypedArray, or DataView', value)
  }
  if (isDetached(value)) throw detachedView(name, value)
  return value
}

/**
 * Whether the view's ArrayBuffer was detached (transferred). Checked
 * before anything reads the view's offset or length: a DataView throws a
 * bare TypeError from those once detached (a typed array reads 0).
 */
export function isDetached (v: ArrayBufferView): boolean {
  const ab = v.buffer as ArrayBuffer & { detached?: boolean }
  if (typeof ab.detached === 'boolean') return ab.detached // Node 22+
  if (ab.byteLength !== 0) return false
  // Node 20: a detached buffer reads 0 bytes long, like an empty one, but
  // cannot take a new view.
  try {
    void new Uint8Array(ab, 0, 0)
    return false
  } catch {
    return true
  }
}

/** Checks `offset`/`length` against the view; returns [offset, length]. */
export function range (v: ArrayBufferView, name: string, offset: unknown, length: unknown): [number, number] {
  if (isDetached(v)) throw detachedView(name, v)
  const size = v.byteLength
  const off = offset === undefined ? 0 : int(offset, 'offset', 0, size)
  const len = length === undefined ? size - off : int(length, 'length', 0, INT32_MAX)
  if (off + len > size) throw outOfRange('length', `<= ${size - off} (the buffer's size after offset)`, len)
  return [off, len]
}

/** null/undefined/-1: the fd's current position; otherwise a byte offset. */
export function position (value: unknown): number {
  if (value === undefined || value === null || value === -1 || value === -1n) return -1
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw outOfRange('position', `>= 0 and <= ${Number.MAX_SAFE_INTEGER}`, value)
    return Number(value)
  }
  return int(value, 'position', 0, Number.MAX_SAFE_INTEGER)
}

/** A path as the kernel gets it: string (no NUL), Buffer, or file: URL. */
export function path (value: unknown, name = 'path'): string | Uint8Array {
  // Node's wording (fs): one reason for all three kinds.
  const what = 'a string, Uint8Array, or URL'
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw nullBytes(name, value, what)
    return value
  }
  if (value instanceof URL) {
    if (value.protocol !== 'file:') throw invalidArgValue(name, value.href, 'must be a file: URL')
    const p = fileURLToPath(value)
    if (p.includes('\u0000')) throw nullBytes(name, value.href, what) // file:///a%00b
    return p
  }
  if (value instanceof Uint8Array) {
    if (isDetached(value)) throw detachedView(name, value)
    if (value.includes(0)) throw nullBytes(name, value, what)
    return value
  }
  throw invalidArgType(name, 'of type string or an instance of Buffer or URL', value)
}

const stringFlags: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC
}

/** open flags: a number, or one of fs.open's strings ('r', 'w+', 'ax', ...). */
export function openFlags (value: unknown): number {
  if (value === undefined || value === null) return O_RDONLY
  if (typeof value === 'string') {
    const f = stringFlags[value]
    if (f === undefined) throw invalidArgValue('flags', value, 'is invalid')
    return f
  }
  return int(value, 'flags', -(2 ** 31), INT32_MAX)
}

export function mode (value: unknown): number {
  if (value === undefined || value === null) return 0o666
  if (typeof value === 'string') {
    if (!/^[0-7]+$/.test(value)) throw invalidArgValue('mode', value, 'must be a 32-bit unsigned integer or an octal string')
    return int(parseInt(value, 8), 'mode', 0, 2 ** 32 - 1)
  }
  return int(value, 'mode', 0, 2 ** 32 - 1)
}

/** Socket address: { address, port } (IPv4/IPv6) or { path } (unix). */
export interface InetAddress { address: string, port: number }
export interface UnixAddress { path: string | Uint8Array }
export type SocketAddress = InetAddress | UnixAddress

/** Returns [host-or-path, port] with port -1 for a unix path. */
export function address (value: unknown, name = 'address'): [string | Uint8Array, number] {
  if (typeof value !== 'object' || value === null) {
    throw invalidArgType(name, 'an object like { address, port } or { path }', value)
  }
  const a = value as Partial<InetAddress & UnixAddress>
  if (a.path !== undefined) {
    const p = typeof a.path === 'string' ? a.path : a.path instanceof Uint8Array ? a.path : undefined
    if (p === undefined) throw invalidArgType(`${name}.path`, 'of type string or an instance of Buffer', a.path)
    if (typeof p !== 'string' && isDetached(p)) throw detachedView(`${name}.path`, p)
    if (p.length === 0 || p.length > 107) throw outOfRange(`${name}.path`, 'between 1 and 107 bytes long', p.length)
    return [p, -1]
  }
  if (typeof a.address !== 'string') throw invalidArgType(`${name}.address`, 'of type string', a.address)
  const host = a.address.split('%')[0] ?? ''
  if (isIP(host) === 0) throw invalidIp(a.address)
  if (typeof a.port !== 'number' || !Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw badPort(a.port)
  return [a.address, a.port]
}

/** Per-op options: `signal` and `timeout` (ms). */
export interface OpOptions {
  /** Cancels the op in the kernel when aborted. */
  signal?: AbortSignal | undefined
  /** Cancels the op after this many milliseconds; it rejects with `code` 'ETIMEDOUT'. */
  timeout?: number | undefined
}

/** Every option any op reads, each read once from the caller's object. */
export interface Options extends OpOptions {
  offset?: unknown
  length?: unknown
  position?: unknown
  flags?: unknown
  bigint?: unknown
  followSymlinks?: unknown
  datasync?: unknown
  mode?: unknown
  entries?: unknown
  sqpoll?: unknown
  bufferSize?: unknown
  buffers?: unknown
  highWaterMark?: unknown
  family?: unknown
}

const NO_OPTIONS: Options = Object.freeze({})

/**
 * Reads the options bag once into a plain object, so a getter cannot pass
 * validation with one value and reach the kernel with another; checks
 * `signal` and `timeout`.
 */
export function options (value: unknown, name = 'options'): Options {
  if (value === undefined || value === null) return NO_OPTIONS
  if (typeof value !== 'object') throw invalidArgType(name, 'of type object', value)
  const v = value as Options
  const o: Options = {
    signal: v.signal,
    timeout: v.timeout,
    offset: v.offset,
    length: v.length,
    position: v.position,
    flags: v.flags,
    bigint: v.bigint,
    followSymlinks: v.followSymlinks,
    datasync: v.datasync,
    mode: v.mode,
    bufferSize: v.bufferSize,
    buffers: v.buffers,
    highWaterMark: v.highWaterMark,
    family: v.family
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw invalidArgType(`${name}.signal`, 'an instance of AbortSignal', o.signal)
  }
  if (o.timeout !== undefined) {
    if (typeof o.timeout !== 'number') throw invalidArgType(`${name}.timeout`, 'of type number', o.timeout)
    if (!(o.timeout > 0 && o.timeout <= INT32_MAX)) throw outOfRange(`${name}.timeout`, `> 0 and <= ${INT32_MAX}`, o.timeout)
  }
  return o
}

/** A byte view over the same memory (the native side takes bytes only). */
export function bytes (v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
}

/** A fresh plain array of byte views: no getters, no species, no holes. */
export function views (value: unknown, name: string): Uint8Array[] {
  if (!Array.isArray(value)) throw invalidArgType(name, 'an instance of Array', value)
  const n = value.length
  if (n === 0 || n > 1024) throw outOfRange(`${name}.length`, '>= 1 and <= 1024', n)
  const out: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    out.push(bytes(view(value[i], `${name}[${i}]`)))
  }
  return out
}

/** An Int32Array over a SharedArrayBuffer, and an index into it. */
export function sharedInt32 (value: unknown, name: string, index: unknown): [Int32Array, number] {
  if (!(value instanceof Int32Array) || !(value.buffer instanceof SharedArrayBuffer)) {
    throw invalidArgType(name, 'an Int32Array over a SharedArrayBuffer', value)
  }
  return [value, int(index, 'index', 0, value.length - 1)]
}

export function sleepMs (value: unknown): number {
  if (typeof value !== 'number') throw invalidArgType('ms', 'of type number', value)
  if (!(value >= 0 && value <= INT32_MAX)) throw outOfRange('ms', `>= 0 and <= ${INT32_MAX}`, value)
  return value
}

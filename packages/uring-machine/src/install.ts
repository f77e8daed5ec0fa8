// Opt-in routing of Node's own APIs through the current scheduler, so
// unmodified code gets io_uring. A routed call gives what Node's would:
// the same values, types (fs.Stats, Buffer, string) and errors (code,
// errno, syscall, path). Where there is no current scheduler, or a call
// uses a form that is not routed, Node's own function runs, untouched.
import * as fs from 'node:fs'
import * as timersPromises from 'node:timers/promises'
import * as dns from 'node:dns'
import { isIP } from 'node:net'
import { syncBuiltinESMExports } from 'node:module'
import { currentScheduler, currentSignal, withSignal } from './tasks'
import type { Scheduler } from './scheduler'
import { openFlags } from './validate'
import { AbortError } from './errors'

type AnyFn = (...args: any[]) => any // eslint-disable-line @typescript-eslint/no-explicit-any

interface Patch { target: Record<string, unknown>, name: string, original: unknown }
let patches: Patch[] = []

/** A path Node would accept and we route: a string (Buffers and URLs fall through). */
const routable = (p: unknown): p is string => typeof p === 'string' && !p.includes('\u0000')

/** The scheduler to route through, or null to fall through. */
function scheduler (): Scheduler | null {
  return currentScheduler()
}

/** Runs `fn` with the caller's `signal` option added to the task's. */
function withCallerSignal<T> (signal: unknown, fn: () => Promise<T>): Promise<T> {
  if (!(signal instanceof AbortSignal)) return fn()
  if (signal.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }))
  const outer = currentSignal()
  return withSignal(outer === undefined ? signal : AbortSignal.any([signal, outer]), fn)
}

async function readFileVia (s: Scheduler, path: string, flag: number): Promise<Buffer> {
  const fd = await s.ioOpen(path, flag)
  try {
    const st = await s.ioStat(fd)
    const size = Number(st.size)
    if (size > 0 && st.isFile()) {
      const buf = Buffer.allocUnsafe(size)
      let n = 0
      while (n < size) {
        const k = await s.ioPread(fd, buf, n, n, size - n)
        if (k === 0) break
        n += k
      }
      return n === size ? buf : buf.subarray(0, n)
    }
    // Unknown size (procfs, pipes): read to the end.
    const chunks: Buffer[] = []
    for (;;) {
      const chunk = Buffer.allocUnsafe(65536)
      const k = await s.ioRead(fd, chunk)
      if (k === 0) break
      chunks.push(chunk.subarray(0, k))
    }
    return Buffer.concat(chunks)
  } finally {
    await s.ioClose(fd)
  }
}

async function writeFileVia (s: Scheduler, path: string, data: Uint8Array, flag: number, mode: number): Promise<void> {
  const fd = await s.ioOpen(path, flag, mode)
  try {
    for (let n = 0; n < data.byteLength;) n += await s.ioWrite(fd, data, n, data.byteLength - n)
  } finally {
    await s.ioClose(fd)
  }
}

interface FileOptions { encoding?: BufferEncoding | null, flag?: string | number, mode?: number, signal?: AbortSignal }

/** The options of readFile/writeFile if routable: a string is an encoding. */
function fileOptions (o: unknown): FileOptions | null {
  if (o === undefined || o === null) return {}
  if (typeof o === 'string') return Buffer.isEncoding(o) ? { encoding: o } : null
  if (typeof o !== 'object') return null
  const { encoding, flag, mode, signal } = o as FileOptions
  if (encoding != null && !Buffer.isEncoding(encoding)) return null
  return { encoding: encoding ?? null, ...(flag !== undefined ? { flag } : {}), ...(mode !== undefined ? { mode } : {}), ...(signal !== undefined ? { signal } : {}) }
}

/** An error as Node's fs would give it: Node's fd-based errors carry no `fd`. */
function asNodeError (err: unknown): never {
  if (err !== null && typeof err === 'object' && 'fd' in err) delete (err as { fd?: number }).fd
  throw err
}

const routes = {
  async readFile (s: Scheduler, path: string, o: FileOptions): Promise<Buffer | string> {
    const flag = openFlags(o.flag ?? 'r')
    const data = await withCallerSignal(o.signal, () => readFileVia(s, path, flag)).catch(asNodeError)
    return o.encoding != null ? data.toString(o.encoding) : data
  },
  async writeFile (s: Scheduler, path: string, data: string | Uint8Array, o: FileOptions): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, o.encoding ?? 'utf8') : data
    await withCallerSignal(o.signal, () => writeFileVia(s, path, bytes, openFlags(o.flag ?? 'w'), o.mode ?? 0o666)).catch(asNodeError)
  }
}

function statOptions (o: unknown): { bigint: boolean } | null {
  if (o === undefined || o === null) return { bigint: false }
  if (typeof o !== 'object') return null
  const keys = Object.keys(o)
  if (keys.some((k) => k !== 'bigint' && k !== 'throwIfNoEntry')) return null
  if ((o as { throwIfNoEntry?: unknown }).throwIfNoEntry === false) return null
  return { bigint: (o as { bigint?: unknown }).bigint === true }
}

function patch (target: object, name: string, make: (original: AnyFn) => AnyFn): void {
  const t = target as Record<string, unknown>
  const original = t[name] as AnyFn
  patches.push({ target: t, name, original })
  const routed = make(original)
  Object.defineProperty(routed, 'name', { value: original.name })
  Object.defineProperty(routed, 'length', { value: original.length })
  t[name] = routed
}

/** Settles a node-style callback from a promise, on a later tick like Node's own. */
function callback<T> (p: Promise<T>, cb: (err: unknown, value?: T) => void): void {
  p.then((v) => process.nextTick(cb, null, v), (e) => process.nextTick(cb, e))
}

/**
 * Routes Node's fs (promises and callbacks), timers/promises.setTimeout and
 * dns.promises.lookup through the current scheduler. Idempotent; undone by
 * `uninstall()`. See the README for exactly what is routed.
 */
export function install (): void {
  if (patches.length > 0) return
  const P = fs.promises as unknown as Record<string, AnyFn>

  patch(P, 'readFile', (orig) => function (this: unknown, path: unknown, options?: unknown) {
    const s = scheduler()
    const o = fileOptions(options)
    if (s === null || !routable(path) || o === null) return orig.call(this, path, options)
    return routes.readFile(s, path, o)
  })
  patch(P, 'writeFile', (orig) => function (this: unknown, path: unknown, data: unknown, options?: unknown) {
    const s = scheduler()
    const o = fileOptions(options)
    if (s === null || !routable(path) || o === null || !(typeof data === 'string' || data instanceof Uint8Array)) return orig.call(this, path, data, options)
    return routes.writeFile(s, path, data, o)
  })
  for (const name of ['stat', 'lstat'] as const) {
    patch(P, name, (orig) => function (this: unknown, path: unknown, options?: unknown) {
      const s = scheduler()
      const o = statOptions(options)
      if (s === null || !routable(path) || o === null) return orig.call(this, path, options)
      return s.ioStat(path, { bigint: o.bigint, followSymlinks: name === 'stat' })
    })
  }
  patch(P, 'unlink', (orig) => function (this: unknown, path: unknown) {
    const s = scheduler()
    if (s === null || !routable(path)) return orig.call(this, path)
    return s.ioUnlink(path)
  })
  patch(P, 'rmdir', (orig) => function (this: unknown, path: unknown, options?: unknown) {
    const s = scheduler()
    if (s === null || !routable(path) || options !== undefined) return orig.call(this, path, options)
    return s.ioUnlink(path, true)
  })
  patch(P, 'rename', (orig) => function (this: unknown, from: unknown, to: unknown) {
    const s = scheduler()
    if (s === null || !routable(from) || !routable(to)) return orig.call(this, from, to)
    return s.ioRename(from, to)
  })
  patch(P, 'mkdir', (orig) => function (this: unknown, path: unknown, options?: unknown) {
    const s = scheduler()
    const mode = typeof options === 'number' ? options : options === undefined ? 0o777 : undefined
    if (s === null || !routable(path) || mode === undefined) return orig.call(this, path, options) // recursive and friends
    return s.ioMkdir(path, mode).then(() => undefined)
  })

  // The callback API: the same routes, the same forms.
  const F = fs as unknown as Record<string, AnyFn>
  patch(F, 'readFile', (orig) => function (this: unknown, path: unknown, options: unknown, cb?: unknown) {
    if (typeof options === 'function') { cb = options; options = undefined }
    const s = scheduler()
    const o = fileOptions(options)
    if (s === null || !routable(path) || o === null || typeof cb !== 'function') return orig.call(this, path, options, cb)
    callback(routes.readFile(s, path, o), cb as AnyFn)
  })
  patch(F, 'writeFile', (orig) => function (this: unknown, path: unknown, data: unknown, options: unknown, cb?: unknown) {
    if (typeof options === 'function') { cb = options; options = undefined }
    const s = scheduler()
    const o = fileOptions(options)
    if (s === null || !routable(path) || o === null || typeof cb !== 'function' || !(typeof data === 'string' || data instanceof Uint8Array)) return orig.call(this, path, data, options, cb)
    callback(routes.writeFile(s, path, data, o), cb as AnyFn)
  })
  for (const name of ['stat', 'lstat'] as const) {
    patch(F, name, (orig) => function (this: unknown, path: unknown, options: unknown, cb?: unknown) {
      if (typeof options === 'function') { cb = options; options = undefined }
      const s = scheduler()
      const o = statOptions(options)
      if (s === null || !routable(path) || o === null || typeof cb !== 'function') return orig.call(this, path, options, cb)
      callback(s.ioStat(path, { bigint: o.bigint, followSymlinks: name === 'stat' }), cb as AnyFn)
    })
  }
  patch(F, 'open', (orig) => function (this: unknown, path: unknown, flags: unknown, mode: unknown, cb?: unknown) {
    if (typeof flags === 'function') { cb = flags; flags = undefined; mode = undefined } else if (typeof mode === 'function') { cb = mode; mode = undefined }
    const s = scheduler()
    if (s === null || !routable(path) || typeof cb !== 'function' || !(mode === undefined || typeof mode === 'number')) return orig.call(this, path, flags, mode, cb)
    let f: number
    try { f = openFlags(flags ?? 'r') } catch { return orig.call(this, path, flags, mode, cb) }
    callback(s.ioOpen(path, f, (mode as number | undefined) ?? 0o666), cb as AnyFn)
  })
  patch(F, 'close', (orig) => function (this: unknown, fd: unknown, cb?: unknown) {
    const s = scheduler()
    if (s === null || typeof fd !== 'number' || typeof cb !== 'function') return orig.call(this, fd, cb)
    callback(s.ioClose(fd), cb as AnyFn)
  })
  // read/write: the canonical (fd, buffer, offset, length, position, cb) form.
  for (const name of ['read', 'write'] as const) {
    patch(F, name, (orig) => function (this: unknown, ...args: unknown[]) {
      const s = scheduler()
      const [fd, buf, offset, length, position, cb] = args
      const canonical = args.length === 6 && typeof fd === 'number' && buf instanceof Uint8Array && typeof offset === 'number' &&
        typeof length === 'number' && offset >= 0 && length >= 0 && offset + length <= buf.byteLength &&
        (position === null || position === undefined || position === -1 || (typeof position === 'number' && position >= 0)) && typeof cb === 'function'
      if (s === null || !canonical) return orig.apply(this, args)
      const pos = typeof position === 'number' && position >= 0 ? position : null
      const op = name === 'read'
        ? (pos === null ? s.ioRead(fd, buf, offset, length) : s.ioPread(fd, buf, pos, offset, length))
        : (pos === null ? s.ioWrite(fd, buf, offset, length) : s.ioPwrite(fd, buf, pos, offset, length))
      op.catch(asNodeError).then((n) => process.nextTick(cb as AnyFn, null, n, buf), (e) => process.nextTick(cb as AnyFn, e))
    })
  }

  patch(timersPromises as unknown as Record<string, unknown>, 'setTimeout', (orig) => function (this: unknown, delay?: unknown, value?: unknown, options?: unknown) {
    const s = scheduler()
    const o = (options ?? {}) as { signal?: unknown, ref?: unknown }
    const ms = delay === undefined ? 1 : Number(delay)
    if (s === null || typeof options !== 'object' && options !== undefined || o.ref === false || !(ms >= 1 && ms <= 2 ** 31 - 1)) return orig.call(this, delay, value, options)
    return withCallerSignal(o.signal, () => s.kernelSleep(ms)).then(() => value, (e: unknown) => {
      // Node's own: an AbortError whose cause is the signal's reason.
      throw e instanceof AbortError ? e : new AbortError(undefined, { cause: (o.signal as AbortSignal | undefined)?.reason })
    })
  })

  patch(dns.promises as unknown as Record<string, unknown>, 'lookup', (orig) => function (this: unknown, hostname: unknown, options?: unknown) {
    const s = scheduler()
    const o = typeof options === 'number' ? { family: options } : (options ?? {}) as { family?: unknown, all?: unknown, hints?: unknown, verbatim?: unknown, order?: unknown }
    const family = o.family === undefined || o.family === 0 ? 0 : o.family === 4 || o.family === 'IPv4' ? 4 : o.family === 6 || o.family === 'IPv6' ? 6 : -1
    const plain = typeof o === 'object' && o.hints === undefined && (o.verbatim === undefined || o.verbatim === true) && (o.order === undefined || o.order === 'verbatim')
    if (s === null || typeof hostname !== 'string' || hostname === '' || family < 0 || !plain) return orig.call(this, hostname, options)
    return s.addressResolve(hostname).then((addrs) => {
      const list = addrs.map((address) => ({ address, family: isIP(address) })).filter((a) => family === 0 || a.family === family)
      if (list.length === 0) {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { errno: -3008, code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname })
      }
      return o.all === true ? list : list[0]
    })
  })
  // ES module importers of node:fs and friends see the routed functions too.
  syncBuiltinESMExports()
}

/** Restores every function `install()` replaced. */
export function uninstall (): void {
  for (const p of patches.reverse()) p.target[p.name] = p.original
  patches = []
  syncBuiltinESMExports()
}

/** Whether `install()` is in force. */
export function installed (): boolean {
  return patches.length > 0
}

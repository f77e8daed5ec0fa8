// Opt-in routing of Node's own APIs through the current scheduler, so
// unmodified code gets io_uring. A routed call gives what Node's would:
// the same values, types (fs.Stats, Buffer, string), callback arguments
// and errors (code, errno, syscall, path).
//
// Only calls whose arguments are all known to be valid are routed. Any
// other call (no current scheduler, a form that is not routed, an argument
// Node would reject) runs Node's own function with the caller's arguments,
// so Node's own checks and messages, those of the running Node version,
// are what the caller sees.
//
// This module loads nothing at first but node:fs: the register entry must
// leave no trace (no worker_threads, no ring) before the first routed call.
// What install() patches it loads when it patches it; everything else
// (tasks, errors, the scheduler and its Machine) on first use.
import * as fs from 'node:fs'
import type { Scheduler } from './scheduler'
import type * as Tasks from './tasks'
import type * as Errors from './errors'
import type * as Validate from './validate'
import type * as Schedulers from './scheduler'

type AnyFn = (...args: any[]) => any // eslint-disable-line @typescript-eslint/no-explicit-any

interface Patch { target: Record<string, unknown>, name: string, original: unknown }
let patches: Patch[] = []

// Loaded on first use (see the top of this file).
let tasksModule: typeof Tasks | undefined
const tasks = (): typeof Tasks => (tasksModule ??= require('./tasks') as typeof Tasks)
let errorsModule: typeof Errors | undefined
const errors = (): typeof Errors => (errorsModule ??= require('./errors') as typeof Errors)
let validateModule: typeof Validate | undefined
const validate = (): typeof Validate => (validateModule ??= require('./validate') as typeof Validate)
let netModule: typeof import('node:net') | undefined
const isIP = (s: string): number => (netModule ??= require('node:net') as typeof import('node:net')).isIP(s)

/**
 * Every function install() replaces, as `module.path.name` (internal: the
 * parity tests check it against what install() patches and against the
 * README's list of routed functions). A new route adds its name here.
 */
export const routedFunctions: readonly string[] = [
  'fs.promises.readFile', 'fs.promises.writeFile', 'fs.promises.stat', 'fs.promises.lstat',
  'fs.promises.unlink', 'fs.promises.rmdir', 'fs.promises.rename', 'fs.promises.mkdir',
  'fs.readFile', 'fs.writeFile', 'fs.appendFile', 'fs.stat', 'fs.lstat', 'fs.open', 'fs.close', 'fs.read', 'fs.write',
  'timers/promises.setTimeout', 'dns.promises.lookup'
]

/** Set by the register entry: make defaultScheduler() the thread's at first use. */
let defaultPending = false

/**
 * What the register entry does: install(), and make `defaultScheduler()`
 * the thread's scheduler, not now but at the first call of a patched
 * function, or when the package's main entry is loaded.
 */
export function installWithDefaultScheduler (): void {
  defaultPending = true
  install()
}

/** Makes the default scheduler the thread's now, if the register entry asked for it and it is not yet. */
export function settleDefaultScheduler (): void {
  if (!defaultPending) return
  defaultPending = false
  const { defaultScheduler } = require('./scheduler') as typeof Schedulers
  const { scheduler, reason } = defaultScheduler()
  tasks().setScheduler(scheduler)
  const { debuglog } = require('node:util') as typeof import('node:util')
  debuglog('uring-machine')('register: %s scheduler (%s)', scheduler.name, reason)
}

/** The scheduler to route through, or null to fall through. */
function scheduler (): Scheduler | null {
  if (defaultPending) settleDefaultScheduler()
  return tasks().currentScheduler()
}

const INT32_MAX = 2 ** 31 - 1
const UINT32_MAX = 2 ** 32 - 1

/** An integer number within [min, max]. */
const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max

/** A path Node would accept and we route: a string (Buffers and URLs fall through). */
const routable = (p: unknown): p is string => typeof p === 'string' && !p.includes('\u0000')

/** A signal we route with: none, or a real AbortSignal not yet aborted (Node decides about every other value). */
const routableSignal = (s: unknown): s is AbortSignal | undefined =>
  s === undefined || (s instanceof AbortSignal && !s.aborted)

/** Runs `fn` with the caller's `signal` option added to the task's. */
function withCallerSignal<T> (signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  if (signal === undefined) return fn()
  if (signal.aborted) return Promise.reject(new (errors().AbortError)(undefined, { cause: signal.reason }))
  const outer = tasks().currentSignal()
  return tasks().withSignal(outer === undefined ? signal : AbortSignal.any([signal, outer]), fn)
}

/** Node's kIoMaxLength: readFile refuses a larger file with its own ERR_FS_FILE_TOO_LARGE. */
const IO_MAX_LENGTH = 2 ** 31 - 1
/** What readFileVia returns for a file Node refuses as too large: the caller hands the call to Node. */
const TOO_LARGE = Symbol('too large')

/** A scheduler that reads a whole file in one call (UringScheduler: one op chain). */
interface WholeFileReader { readWholeFile: (path: string, flags: number) => Promise<Buffer> }

async function readFileVia (s: Scheduler, path: string, flag: number): Promise<Buffer | typeof TOO_LARGE> {
  const whole = (s as Partial<WholeFileReader>).readWholeFile
  if (typeof whole === 'function') {
    try {
      return await whole.call(s, path, flag)
    } catch (err) {
      // Read to 2 GiB and refused there: Node refuses it with its own error.
      if ((err as { code?: string }).code === 'EFBIG' && (err as { syscall?: string }).syscall === 'read') return TOO_LARGE
      throw err
    }
  }
  const fd = await s.ioOpen(path, flag)
  try {
    const st = await s.ioStat(fd)
    const size = Number(st.size)
    if (size > IO_MAX_LENGTH && st.isFile()) return TOO_LARGE
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

/** A scheduler that writes a whole file in one call (UringScheduler: one op chain). */
interface WholeFileWriter { writeWholeFile: (path: string, data: Uint8Array, flags: number, mode: number) => Promise<void> }

async function writeFileVia (s: Scheduler, path: string, data: Uint8Array, flag: number, mode: number): Promise<void> {
  const whole = (s as Partial<WholeFileWriter>).writeWholeFile
  if (typeof whole === 'function') return await whole.call(s, path, data, flag, mode)
  const fd = await s.ioOpen(path, flag, mode)
  try {
    for (let n = 0; n < data.byteLength;) n += await s.ioWrite(fd, data, n, data.byteLength - n)
  } finally {
    await s.ioClose(fd)
  }
}

interface FileOptions { encoding: BufferEncoding | null, flags: number, mode: number, signal: AbortSignal | undefined }

/**
 * The options of readFile/writeFile if every one is valid and routed (a
 * string is an encoding); null to leave the call to Node. `flush: true` is
 * not routed.
 */
function fileOptions (o: unknown, defaultFlag: 'r' | 'w' | 'a'): FileOptions | null {
  let encoding: unknown, flag: unknown, mode: unknown, signal: unknown, flush: unknown
  if (typeof o === 'string') encoding = o
  else if (typeof o === 'object' && o !== null) ({ encoding, flag, mode, signal, flush } = o as Record<string, unknown>)
  else if (o !== undefined && o !== null) return null
  if (encoding != null && !(typeof encoding === 'string' && Buffer.isEncoding(encoding))) return null
  if (mode !== undefined && !isInt(mode, 0, UINT32_MAX)) return null
  if (!routableSignal(signal)) return null
  if (flush != null && flush !== false) return null
  let flags: number
  try { flags = validate().openFlags(flag ?? defaultFlag) } catch { return null }
  return { encoding: (encoding ?? null) as BufferEncoding | null, flags, mode: mode ?? 0o666, signal }
}

/** An error as Node's fs would give it: Node's fd-based errors carry no `fd`. */
function asNodeError (err: unknown): never {
  if (err !== null && typeof err === 'object' && 'fd' in err) delete (err as { fd?: number }).fd
  throw err
}

const routes = {
  /** The file's contents, or `tooLarge()`'s (Node's own call, which fails as Node's fails). */
  async readFile<T> (s: Scheduler, path: string, o: FileOptions, tooLarge: () => T): Promise<Buffer | string | T> {
    const data = await withCallerSignal(o.signal, () => readFileVia(s, path, o.flags)).catch(asNodeError)
    if (data === TOO_LARGE) return tooLarge()
    return o.encoding != null ? data.toString(o.encoding) : data
  },
  async writeFile (s: Scheduler, path: string, data: string | Uint8Array, o: FileOptions): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, o.encoding ?? 'utf8') : data
    await withCallerSignal(o.signal, () => writeFileVia(s, path, bytes, o.flags, o.mode)).catch(asNodeError)
  },
  /** close, with the error Node's close gives: ioClose may fail in the cancel it makes first. */
  async close (s: Scheduler, fd: number): Promise<void> {
    try {
      await s.ioClose(fd)
    } catch (err) {
      // UringScheduler cancels the fd's ops in flight before closing it; an
      // EBADF there means close(2) would have said EBADF too.
      const e = err as { syscall?: unknown, code?: unknown, errno?: number }
      if (e.syscall === 'async_cancel' && e.code === 'EBADF') throw errors().systemError(e.errno!, 'close')
      asNodeError(err)
    }
  }
}

function statOptions (o: unknown): { bigint: boolean } | null {
  if (o === undefined || o === null) return { bigint: false }
  if (typeof o !== 'object') return null
  const keys = Object.keys(o)
  if (keys.some((k) => k !== 'bigint' && k !== 'throwIfNoEntry')) return null
  if ((o as { throwIfNoEntry?: unknown }).throwIfNoEntry === false) return null
  const bigint = (o as { bigint?: unknown }).bigint
  if (bigint !== undefined && typeof bigint !== 'boolean') return null // Node goes by truthiness
  return { bigint: bigint === true }
}

/**
 * Replaces `target[name]` by what `make` returns, which must be a
 * function of the same kind (a method where Node's has no `prototype`).
 * It takes Node's name, length and every other own property of the
 * original, util.promisify's symbols among them.
 */
function patch (target: object, name: string, make: (original: AnyFn) => AnyFn): void {
  const t = target as Record<string, unknown>
  const original = t[name] as AnyFn
  patches.push({ target: t, name, original })
  const routed = make(original)
  for (const key of Reflect.ownKeys(original)) {
    if (key === 'prototype') continue
    Object.defineProperty(routed, key, Object.getOwnPropertyDescriptor(original, key)!)
  }
  t[name] = routed
}

/** Settles a node-style callback from a promise, on a later tick like Node's own: `(null, value)`, or `(null)` for none. */
function callback<T> (p: Promise<T>, cb: AnyFn, withValue = true): void {
  p.then((v) => withValue ? process.nextTick(cb, null, v) : process.nextTick(cb, null), (e) => process.nextTick(cb, e))
}

/**
 * The ES module namespaces of the builtins follow their patched exports.
 * The CommonJS Module class is node:module's export; reaching it through
 * `module` spares loading node:module itself.
 */
function syncBuiltinESMExports (): void {
  const M = module.constructor as { syncBuiltinESMExports?: () => void }
  const sync = M.syncBuiltinESMExports ?? (require('node:module') as typeof import('node:module')).syncBuiltinESMExports
  sync()
}

/**
 * Routes Node's fs (promises and callbacks), timers/promises.setTimeout and
 * dns.promises.lookup through the current scheduler. Idempotent; undone by
 * `uninstall()`. See the README for exactly what is routed.
 */
export function install (): void {
  if (patches.length > 0) return
  const more = require('./install-more') as typeof import('./install-more') // before any patch: it takes Node's own
  const P = fs.promises as unknown as Record<string, AnyFn>

  // fs.promises' functions are async functions: no `prototype`, so methods here.
  patch(P, 'readFile', (orig) => ({
    readFile (this: unknown, path: unknown, options?: unknown) {
      const s = scheduler()
      const o = fileOptions(options, 'r')
      if (s === null || !routable(path) || o === null) return orig.apply(this, arguments as unknown as unknown[])
      return routes.readFile(s, path, o, () => orig.apply(this, arguments as unknown as unknown[]))
    }
  }).readFile)
  patch(P, 'writeFile', (orig) => ({
    writeFile (this: unknown, path: unknown, data: unknown, options?: unknown) {
      const s = scheduler()
      const o = fileOptions(options, 'w')
      if (s === null || !routable(path) || o === null || !(typeof data === 'string' || data instanceof Uint8Array)) return orig.apply(this, arguments as unknown as unknown[])
      return routes.writeFile(s, path, data, o)
    }
  }).writeFile)
  for (const name of ['stat', 'lstat'] as const) {
    patch(P, name, (orig) => ({
      [name] (this: unknown, path: unknown, options?: unknown) {
        const s = scheduler()
        const o = statOptions(options)
        if (s === null || !routable(path) || o === null) return orig.apply(this, arguments as unknown as unknown[])
        return s.ioStat(path, { bigint: o.bigint, followSymlinks: name === 'stat' })
      }
    })[name]!)
  }
  patch(P, 'unlink', (orig) => ({
    unlink (this: unknown, path: unknown) {
      const s = scheduler()
      if (s === null || !routable(path)) return orig.apply(this, arguments as unknown as unknown[])
      return s.ioUnlink(path)
    }
  }).unlink)
  patch(P, 'rmdir', (orig) => ({
    rmdir (this: unknown, path: unknown, options?: unknown) {
      const s = scheduler()
      if (s === null || !routable(path) || options !== undefined) return orig.apply(this, arguments as unknown as unknown[])
      return s.ioUnlink(path, true)
    }
  }).rmdir)
  patch(P, 'rename', (orig) => ({
    rename (this: unknown, from: unknown, to: unknown) {
      const s = scheduler()
      if (s === null || !routable(from) || !routable(to)) return orig.apply(this, arguments as unknown as unknown[])
      return s.ioRename(from, to)
    }
  }).rename)
  patch(P, 'mkdir', (orig) => ({
    mkdir (this: unknown, path: unknown, options?: unknown) {
      const s = scheduler()
      const mode = options === undefined ? 0o777 : isInt(options, 0, UINT32_MAX) ? options : undefined
      if (s === null || !routable(path) || mode === undefined) return orig.apply(this, arguments as unknown as unknown[]) // recursive and friends
      return s.ioMkdir(path, mode).then(() => undefined)
    }
  }).mkdir)

  // The callback API: the same routes, the same forms. fs.writeFile stays
  // Node's own: it writes through fs.open, fs.write, fs.fsync and fs.close,
  // looked up on the module, so it reaches the routed ones, and code that
  // wraps them sees the calls it would see without install().
  const F = fs as unknown as Record<string, AnyFn>
  patch(F, 'readFile', (orig) => function readFile (this: unknown, path: unknown, options: unknown, cb?: unknown) {
    if (typeof options === 'function') { cb = options; options = undefined }
    const s = scheduler()
    const o = fileOptions(options, 'r')
    if (s === null || !routable(path) || o === null || typeof cb !== 'function') return orig.apply(this, arguments as unknown as unknown[])
    const args = arguments
    const NODES = Symbol('Node\'s own')
    routes.readFile(s, path, o, () => NODES).then((v) => {
      if (v === NODES) orig.apply(this, args as unknown as unknown[]) // Node calls back itself
      else process.nextTick(cb as AnyFn, null, v)
    }, (e) => process.nextTick(cb as AnyFn, e))
  })
  for (const name of ['stat', 'lstat'] as const) {
    patch(F, name, (orig) => function (this: unknown, path: unknown, options: unknown, cb?: unknown) {
      if (typeof options === 'function') { cb = options; options = undefined }
      const s = scheduler()
      const o = statOptions(options)
      if (s === null || !routable(path) || o === null || typeof cb !== 'function') return orig.apply(this, arguments as unknown as unknown[])
      callback(s.ioStat(path, { bigint: o.bigint, followSymlinks: name === 'stat' }), cb as AnyFn)
    })
  }
  patch(F, 'open', (orig) => function open (this: unknown, path: unknown, flags: unknown, mode: unknown, cb?: unknown) {
    if (typeof flags === 'function') { cb = flags; flags = undefined; mode = undefined } else if (typeof mode === 'function') { cb = mode; mode = undefined }
    const s = scheduler()
    if (s === null || !routable(path) || typeof cb !== 'function' || !(mode === undefined || isInt(mode, 0, UINT32_MAX))) return orig.apply(this, arguments as unknown as unknown[])
    let f: number
    try { f = validate().openFlags(flags ?? 'r') } catch { return orig.apply(this, arguments as unknown as unknown[]) }
    callback(s.ioOpen(path, f, (mode as number | undefined) ?? 0o666), cb as AnyFn)
  })
  patch(F, 'close', (orig) => function close (this: unknown, fd: unknown, cb?: unknown) {
    const s = scheduler()
    if (s === null || !isInt(fd, 0, INT32_MAX) || typeof cb !== 'function') return orig.apply(this, arguments as unknown as unknown[])
    callback(routes.close(s, fd), cb as AnyFn, false)
  })
  // read/write: the canonical (fd, buffer, offset, length, position, cb)
  // form with every argument valid and a non-zero length (Node answers a
  // zero-length read without the kernel; a zero-length write goes to Node).
  for (const name of ['read', 'write'] as const) {
    patch(F, name, (orig) => function (this: unknown, ...args: unknown[]) {
      const s = scheduler()
      const [fd, buf, offset, length, position, cb] = args
      const canonical = args.length === 6 && isInt(fd, 0, INT32_MAX) && buf instanceof Uint8Array &&
        isInt(offset, 0, Number.MAX_SAFE_INTEGER) && isInt(length, 1, INT32_MAX) && offset + length <= buf.byteLength &&
        (position === null || position === undefined || isInt(position, -1, Number.MAX_SAFE_INTEGER)) && typeof cb === 'function'
      if (s === null || !canonical) return orig.apply(this, args)
      const pos = typeof position === 'number' && position >= 0 ? position : null
      const op = name === 'read'
        ? (pos === null ? s.ioRead(fd, buf, offset, length) : s.ioPread(fd, buf, pos, offset, length))
        : (pos === null ? s.ioWrite(fd, buf, offset, length) : s.ioPwrite(fd, buf, pos, offset, length))
      // As Node's: (err, bytes, buffer), with 0 bytes on an error.
      op.catch(asNodeError).then((n) => process.nextTick(cb, null, n, buf), (e) => process.nextTick(cb, e, 0, buf))
    })
  }

  // fs.writeFile and fs.appendFile: one chain each where the scheduler
  // writes whole files (UringScheduler) and fs.open, fs.write and fs.close
  // are still the ones routed here. Node's own call them on the module, so
  // code that wraps them would see those calls: then Node's own runs.
  const plain = { open: F.open, write: F.write, close: F.close }
  for (const [name, flag] of [['writeFile', 'w'], ['appendFile', 'a']] as const) {
    patch(F, name, (orig) => function (this: unknown, path: unknown, data: unknown, options: unknown, cb?: unknown) {
      if (typeof options === 'function') { cb = options; options = undefined }
      const s = scheduler()
      const o = fileOptions(options, flag)
      const chained = s !== null && typeof (s as Partial<WholeFileWriter>).writeWholeFile === 'function' &&
        F.open === plain.open && F.write === plain.write && F.close === plain.close
      if (!chained || !routable(path) || o === null || typeof cb !== 'function' || !(typeof data === 'string' || data instanceof Uint8Array)) {
        return orig.apply(this, arguments as unknown as unknown[])
      }
      callback(routes.writeFile(s, path, data, o), cb as AnyFn, false)
    })
  }

  const timersPromises = require('node:timers/promises') as Record<string, unknown>
  patch(timersPromises, 'setTimeout', (orig) => function setTimeout (this: unknown, delay?: unknown, value?: unknown, options?: unknown) {
    const valid = (delay === undefined || (typeof delay === 'number' && delay >= 1 && delay <= INT32_MAX)) &&
      (options === undefined || (typeof options === 'object' && options !== null && !Array.isArray(options)))
    if (!valid) return orig.apply(this, arguments as unknown as unknown[])
    const { signal, ref } = (options ?? {}) as { signal?: unknown, ref?: unknown }
    const s = scheduler()
    if (s === null || !routableSignal(signal) || !(ref === undefined || ref === true)) return orig.apply(this, arguments as unknown as unknown[])
    return withCallerSignal(signal, () => s.kernelSleep((delay as number | undefined) ?? 1)).then(() => value, (e: unknown) => {
      // Node's own: an AbortError whose cause is the signal's reason.
      const { AbortError } = errors()
      throw e instanceof AbortError ? e : new AbortError(undefined, { cause: signal?.reason })
    })
  })

  // Node makes a 'dns' performance entry for each lookup while some
  // PerformanceObserver observes 'dns', and nothing public makes one: so
  // from an observe() that includes 'dns' until that observer's
  // disconnect(), lookups are Node's own. The options are read after
  // Node's observe() has checked them.
  const { PerformanceObserver } = require('node:perf_hooks') as typeof import('node:perf_hooks')
  const dnsObservers = new Set<object>()
  patch(PerformanceObserver.prototype, 'observe', (orig) => function observe (this: object, options?: unknown) {
    const r: unknown = orig.apply(this, arguments as unknown as unknown[])
    const o = options as { type?: unknown, entryTypes?: unknown } | undefined
    if (o?.type === 'dns' || (Array.isArray(o?.entryTypes) && o.entryTypes.includes('dns'))) dnsObservers.add(this)
    return r
  })
  patch(PerformanceObserver.prototype, 'disconnect', (orig) => function disconnect (this: object) {
    dnsObservers.delete(this)
    return orig.apply(this, arguments as unknown as unknown[]) as unknown
  })
  const dns = require('node:dns') as typeof import('node:dns')
  patch(dns.promises as unknown as Record<string, unknown>, 'lookup', (orig) => function lookup (this: unknown, hostname: unknown, options?: unknown) {
    // Node answers an address itself, with no getaddrinfo: left to it.
    // And a lookup someone measures is Node's (above).
    if (typeof hostname !== 'string' || hostname === '' || isIP(hostname) !== 0 || dnsObservers.size > 0) return orig.apply(this, arguments as unknown as unknown[])
    let family: unknown = 0
    let all: unknown = false
    let order: unknown
    if (typeof options === 'number') family = options
    else if (typeof options === 'object' && options !== null) {
      const o = options as { family?: unknown, all?: unknown, hints?: unknown, verbatim?: unknown, order?: unknown }
      if (o.hints != null) return orig.apply(this, arguments as unknown as unknown[])
      family = o.family ?? 0
      all = o.all ?? false
      if (o.verbatim != null) order = o.verbatim === true ? 'verbatim' : o.verbatim
      if (o.order != null) order = o.order
    } else if (options !== undefined) return orig.apply(this, arguments as unknown as unknown[])
    // 'IPv4'/'IPv6' and anything else: Node's own (versions differ on what they accept).
    const fam = family === 0 || family === 4 || family === 6 ? family : -1
    // Only the getaddrinfo order, as the ring gives it.
    const verbatim = (order ?? (dns.getDefaultResultOrder?.() ?? 'verbatim')) === 'verbatim'
    const s = scheduler()
    if (s === null || fam < 0 || typeof all !== 'boolean' || !verbatim) return orig.apply(this, arguments as unknown as unknown[])
    const args = arguments
    return s.addressResolve(hostname).then((addrs) => {
      const list = addrs.map((address) => ({ address, family: isIP(address) })).filter((a) => fam === 0 || a.family === fam)
      // None of that family: Node's own answers, with its own error.
      if (list.length === 0) return orig.apply(this, args as unknown as unknown[])
      return all ? list : list[0]
    })
  })
  more.installMore({ patch, scheduler }) // the routes of install-more.ts
  // ES module importers of node:fs and friends see the routed functions too.
  syncBuiltinESMExports()
}

/** Restores every function `install()` replaced. */
export function uninstall (): void {
  for (const p of patches.reverse()) p.target[p.name] = p.original
  patches = []
  ;(require('./install-more') as typeof import('./install-more')).uninstallMore()
  syncBuiltinESMExports()
}

/** Whether `install()` is in force. */
export function installed (): boolean {
  return patches.length > 0
}

// install()'s further routes: the rest of node:fs that io_uring has an op
// for, and the I/O methods of fs.promises' FileHandle. install.ts calls
// installMore() with its own patch() and scheduler(), so every rule of
// install.ts holds here too: a call is routed only when every argument is
// known valid and the scheduler has the hook; any other call runs Node's
// own function, so Node's own checks and errors are what the caller sees.
//
// What io_uring has no op for stays Node's: readdir, access, chmod, chown,
// utimes, realpath, readlink, and copyFile with COPYFILE_FICLONE_FORCE (the
// FICLONE ioctl).
//
// FileHandle. fs.promises.open stays Node's own: Node has no public way to
// make a FileHandle of an fd opened elsewhere, and a look-alike object
// could not match what Node's is (its argument checks in each Node version,
// its reference count that makes close() wait for ops in flight, its close
// on garbage collection, its transfer to workers, and every internal that
// takes a FileHandle: streams, readline, fs.promises.readFile(handle)). So
// the handle is Node's, and its I/O methods are routed where Node's are, on
// FileHandle.prototype: read, write, readv, writev, stat, truncate, sync,
// datasync, readFile, writeFile and appendFile go to the ring between
// Node's own ref and unref of the handle, so close(), 'close', EBADF after
// close and GC behave as Node's. Its
// createReadStream, createWriteStream and readLines are Node's, over those
// methods. The prototype is patched at the first fs.promises.open, the
// first moment one exists.
//
// Item 12 of issue 10: code that patches FileHandle.prototype (Node's own
// test/parallel tests do, through --expose-internals, to watch or fail
// readFile and writeFile by path) expects fs.promises.readFile, writeFile,
// appendFile and truncate to open a FileHandle. While FileHandle.prototype
// is other than this module left it, those four run Node's own.
import * as fs from 'node:fs'
import type { Scheduler } from './scheduler'
import type * as Errors from './errors'
import type * as Validate from './validate'

type AnyFn = (...args: any[]) => any // eslint-disable-line @typescript-eslint/no-explicit-any

/** What install.ts lends: its patch() and its scheduler(). */
export interface Host {
  patch: (target: object, name: string, make: (original: AnyFn) => AnyFn) => void
  scheduler: () => Scheduler | null
}

/**
 * Every function routed here, as `module.name` (FileHandle's methods as
 * `FileHandle.prototype.name`), for install.ts's routedFunctions list and
 * the README.
 */
export const routedFunctions: readonly string[] = [
  'fs.fsync', 'fs.fdatasync', 'fs.ftruncate', 'fs.truncate', 'fs.fstat', 'fs.readv', 'fs.writev',
  'fs.link', 'fs.symlink', 'fs.copyFile', 'fs.mkdir', 'fs.rm',
  'fs.promises.appendFile', 'fs.promises.truncate', 'fs.promises.link', 'fs.promises.symlink',
  'fs.promises.copyFile', 'fs.promises.mkdir', 'fs.promises.rm',
  'FileHandle.prototype.read', 'FileHandle.prototype.write', 'FileHandle.prototype.readv', 'FileHandle.prototype.writev',
  'FileHandle.prototype.stat', 'FileHandle.prototype.truncate', 'FileHandle.prototype.sync', 'FileHandle.prototype.datasync',
  'FileHandle.prototype.readFile', 'FileHandle.prototype.writeFile', 'FileHandle.prototype.appendFile'
]

/**
 * Node's own fs.promises.readFile and writeFile, taken when install.ts
 * first requires this module, at the start of install(), before it routes
 * them.
 */
const nodePromises = { readFile: fs.promises.readFile as AnyFn, writeFile: fs.promises.writeFile as AnyFn }

let errorsModule: typeof Errors | undefined
const errors = (): typeof Errors => (errorsModule ??= require('./errors') as typeof Errors)
let validateModule: typeof Validate | undefined
const validate = (): typeof Validate => (validateModule ??= require('./validate') as typeof Validate)

const INT32_MAX = 2 ** 31 - 1
const UINT32_MAX = 2 ** 32 - 1
/** The most buffers one readv/writev takes (IOV_MAX); libuv splits more, so more go to Node. */
const IOV_MAX = 1024
const COPYFILE_EXCL = 1
const COPYFILE_FICLONE = 2

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
const isFd = (v: unknown): v is number => isInt(v, 0, INT32_MAX)
const routable = (p: unknown): p is string => typeof p === 'string' && !p.includes('\u0000')
/** A position routed: none (the fd's own), -1 (the same) or a safe integer >= 0. */
const isPosition = (v: unknown): v is number | null | undefined => v == null || isInt(v, -1, Number.MAX_SAFE_INTEGER)
const pos = (v: number | null | undefined): number | null => v == null || v < 0 ? null : v
/** An array of 1 to IOV_MAX non-detached Uint8Arrays. */
const isBuffers = (v: unknown): v is Uint8Array[] =>
  Array.isArray(v) && v.length > 0 && v.length <= IOV_MAX && v.every((b) => b instanceof Uint8Array && !validate().isDetached(b))

/** An error as Node's fs gives it: no `fd`; `syscall` renamed where Node names the call otherwise. */
function asNode (err: unknown, syscall?: string): never {
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
function callback<T> (p: Promise<T>, cb: AnyFn, withValue: boolean): void {
  p.then((v) => withValue ? process.nextTick(cb, null, v) : process.nextTick(cb, null), (e) => process.nextTick(cb, e))
}

/** stat options routed: none, or { bigint: boolean } (throwIfNoEntry means nothing to fstat). */
function statBigint (o: unknown): boolean | null {
  if (o === undefined || o === null) return false
  if (typeof o !== 'object') return null
  if (Object.keys(o).some((k) => k !== 'bigint')) return null
  const b = (o as { bigint?: unknown }).bigint
  if (b !== undefined && typeof b !== 'boolean') return null
  return b === true
}

/** A failure of any step of copyFile, as Node reports it: syscall copyfile, both paths. */
function copyfileError (err: unknown, src: string, dest: string): never {
  const e = err as { errno?: unknown, code?: unknown }
  if (typeof e?.errno === 'number' && typeof e.code === 'string' && e.code !== 'ABORT_ERR') throw errors().systemError(e.errno, 'copyfile', { path: src, dest })
  throw err
}

/**
 * copyFile as libuv does it (open the source, fstat it, open the
 * destination with its mode, truncate unless it is the same file, set the
 * mode, copy), the copy through the ring's splice path. COPYFILE_FICLONE
 * means "clone if you can": the ring cannot, so it copies, which is what
 * libuv does wherever the clone fails. A destination half written is
 * removed, as libuv removes it.
 */
async function copyFileVia (s: Scheduler, src: string, dest: string, mode: number, fchmod: AnyFn): Promise<void> {
  const C = fs.constants
  let from = -1
  let to = -1
  let ok = false
  try {
    from = await s.ioOpen(src, C.O_RDONLY)
    const st = await s.ioStat(from) as fs.Stats
    if (st.isDirectory()) throw errors().systemError(-21, 'copyfile') // EISDIR, as libuv says before it opens the destination
    to = await s.ioOpen(dest, C.O_WRONLY | C.O_CREAT | ((mode & COPYFILE_EXCL) !== 0 ? C.O_EXCL : 0), st.mode)
    if ((mode & COPYFILE_EXCL) === 0) {
      const dst = await s.ioStat(to) as fs.Stats
      if (dst.dev === st.dev && dst.ino === st.ino) { ok = true; return } // the same file: nothing to do
      await s.ioTruncate!(to, 0)
    }
    // No io_uring op sets a mode: Node's fchmod. libuv ignores EPERM here (a file another user owns).
    await new Promise<void>((resolve, reject) => fchmod(to, st.mode, (e: NodeJS.ErrnoException | null) => e === null || e.code === 'EPERM' ? resolve() : reject(e)))
    await s.copy(from, to)
    ok = true
  } catch (err) {
    copyfileError(err, src, dest)
  } finally {
    const closes: Promise<unknown>[] = []
    if (from >= 0) closes.push(s.ioClose(from).catch(() => {}))
    if (to >= 0) closes.push(s.ioClose(to).then(() => undefined, () => {}))
    await Promise.all(closes)
    if (!ok && to >= 0) await s.ioUnlink(dest).catch(() => {})
  }
}

/** Node's dirname of a path it accepted as already normal (see mkdirOptions). */
const dirname = (p: string): string => {
  const i = p.lastIndexOf('/')
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i)
}

/**
 * mkdir -p as Node's: the first directory it made, or undefined if it
 * made none. A path component that exists and is no directory fails with
 * EEXIST (or ENOTDIR from the kernel below it), as Node's.
 */
async function mkdirpVia (s: Scheduler, path: string, mode: number): Promise<string | undefined> {
  try {
    await s.ioMkdir(path, mode)
    return path
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'ENOENT') {
      const parent = dirname(path)
      if (parent === path) throw err
      const first = await mkdirpVia(s, parent, mode)
      try {
        await s.ioMkdir(path, mode)
        return first ?? path
      } catch (again) {
        if ((again as { code?: string }).code !== 'EEXIST') throw again
        if (!(await s.ioStat(path)).isDirectory()) throw again
        return first
      }
    }
    if (code !== 'EEXIST') throw err
    let st
    try { st = await s.ioStat(path) } catch { throw err }
    if (!st.isDirectory()) throw err
    return undefined
  }
}

/**
 * mkdir's options routed: { recursive: true, mode? } (the rest is
 * install.ts's or Node's), on a path that is normal (no '.', '..', '//' or
 * trailing '/' to walk differently from Node).
 */
function mkdirRecursive (path: unknown, o: unknown): { path: string, mode: number } | null {
  if (!routable(path) || typeof o !== 'object' || o === null) return null
  if (Object.keys(o).some((k) => k !== 'recursive' && k !== 'mode')) return null
  const { recursive, mode } = o as { recursive?: unknown, mode?: unknown }
  if (recursive !== true || !(mode === undefined || isInt(mode, 0, UINT32_MAX))) return null
  const { normalize } = require('node:path') as typeof import('node:path')
  if (path === '' || normalize(path) !== path || (path.endsWith('/') && path !== '/') || path.split('/').some((c) => c === '..')) return null
  return { path, mode: mode ?? 0o777 }
}

/** rm's options routed: none, or { force?: boolean, recursive?: boolean }. */
function rmOptions (o: unknown): { force: boolean } | null {
  if (o === undefined) return { force: false }
  if (typeof o !== 'object' || o === null) return null
  if (Object.keys(o).some((k) => k !== 'force' && k !== 'recursive')) return null
  const { force, recursive } = o as { force?: unknown, recursive?: unknown }
  if (!(force === undefined || typeof force === 'boolean') || !(recursive === undefined || typeof recursive === 'boolean')) return null
  return { force: force === true }
}

/**
 * rm of what only needs unlink(2): lstat, then unlink a non-directory.
 * Anything else (a directory, a failure) is redone by Node's own rm, whose
 * answer is then the caller's: nothing has changed on disk, so it is the
 * answer Node would have given (its own errors, ERR_FS_EISDIR, recursion).
 */
async function rmVia (s: Scheduler, path: string, force: boolean, nodeRm: () => Promise<void>): Promise<void> {
  let st
  try {
    st = await s.ioStat(path, { followSymlinks: false })
  } catch (err) {
    if (force && (err as { code?: string }).code === 'ENOENT') return
    return await nodeRm()
  }
  if (st.isDirectory()) return await nodeRm()
  try {
    await s.ioUnlink(path)
  } catch (err) {
    if (force && (err as { code?: string }).code === 'ENOENT') return
    return await nodeRm()
  }
}

/** truncate by path, as Node's: open r+, ftruncate, close. */
async function truncateVia (s: Scheduler, path: string, len: number): Promise<void> {
  const fd = await s.ioOpen(path, fs.constants.O_RDWR)
  try {
    await s.ioTruncate!(fd, len).catch((e) => asNode(e))
  } finally {
    await s.ioClose(fd)
  }
}

/** copyFile's mode routed: none, 0, EXCL, FICLONE or both (FICLONE_FORCE needs the ioctl: Node's). */
const copyMode = (m: unknown): number | null => m === undefined ? 0 : isInt(m, 0, COPYFILE_EXCL | COPYFILE_FICLONE) ? m : null

// FileHandle: its prototype, Node's ref/unref symbols, and what this module
// left on it (to tell whether someone else has patched it since).
let fhProto: Record<PropertyKey, unknown> | undefined
let kRef: symbol | undefined
let kUnref: symbol | undefined
let kRefs: symbol | undefined
let fhSnapshot: Map<PropertyKey, PropertyDescriptor> | undefined
let fhLearning: Promise<void> | undefined

/** Whether FileHandle.prototype is other than as install() left it (then its users run Node's own). */
function fileHandlePatched (): boolean {
  if (fhSnapshot === undefined) return false
  const keys = Reflect.ownKeys(fhProto!)
  if (keys.length !== fhSnapshot.size) return true
  for (const k of keys) {
    const was = fhSnapshot.get(k)
    const now = Object.getOwnPropertyDescriptor(fhProto!, k)!
    if (was === undefined || was.value !== now.value || was.get !== now.get || was.set !== now.set) return true
  }
  return false
}

/** The FileHandle methods routed, each given Node's own as `orig`. */
function fileHandleMethods (host: Host): Record<string, (orig: AnyFn) => AnyFn> {
  /** Runs `op` on the ring between Node's ref and unref of the handle, so close() waits for it. */
  const held = <T>(h: Record<symbol, AnyFn>, op: () => Promise<T>, syscall?: string): Promise<T> => {
    h[kRef!]!()
    let p: Promise<T>
    try { p = op() } catch (e) { p = Promise.reject(e) }
    return p.catch((e) => asNode(e, syscall)).finally(() => h[kUnref!]!())
  }
  /** The scheduler, if the handle is open and the hook there; else null (Node's own runs). */
  const ready = (h: unknown, hook?: keyof Scheduler): Scheduler | null => {
    const s = host.scheduler()
    if (s === null || (hook !== undefined && typeof s[hook] !== 'function')) return null
    // Node's own checks a `this` that is no FileHandle (and one that is closed).
    if (typeof h !== 'object' || h === null || (h as Record<symbol, unknown>)[kRefs!] === undefined) return null
    const fd = (h as { fd?: unknown }).fd
    return isFd(fd) ? s : null
  }
  const fdOf = (h: unknown): number => (h as { fd: number }).fd
  /** read/write's (buffer, offset, length, position) or (buffer, { offset, length, position }), all valid, length >= 1. */
  const span = (buffer: unknown, offset: unknown, length: unknown, position: unknown): [Uint8Array, number, number, number | null] | null => {
    if (!(buffer instanceof Uint8Array) || buffer.byteLength === 0 || validate().isDetached(buffer)) return null
    if (offset !== null && typeof offset === 'object') {
      if (length !== undefined || position !== undefined) return null
      ;({ offset, length, position } = offset as { offset?: unknown, length?: unknown, position?: unknown })
    }
    const off = offset ?? 0
    if (!isInt(off, 0, buffer.byteLength - 1)) return null
    const len = length ?? buffer.byteLength - off
    if (!isInt(len, 1, INT32_MAX) || off + len > buffer.byteLength || !isPosition(position)) return null
    return [buffer, off, len, pos(position)]
  }
  return {
    read: (orig) => ({
      read (this: Record<symbol, AnyFn>, buffer?: unknown, offset?: unknown, length?: unknown, position?: unknown) {
        const s = ready(this)
        const a = arguments.length >= 1 && arguments.length <= 4 ? span(buffer, offset, length, position) : null
        if (s === null || a === null) return orig.apply(this, arguments as unknown as unknown[])
        const [buf, off, len, at] = a
        const fd = fdOf(this)
        return held(this, () => at === null ? s.ioRead(fd, buf, off, len) : s.ioPread(fd, buf, at, off, len), 'read')
          .then((bytesRead) => ({ __proto__: null, bytesRead, buffer: buf }))
      }
    }).read,
    write: (orig) => ({
      write (this: Record<symbol, AnyFn>, buffer?: unknown, offset?: unknown, length?: unknown, position?: unknown) {
        const s = ready(this)
        if (s === null || arguments.length < 1 || arguments.length > 4) return orig.apply(this, arguments as unknown as unknown[])
        const fd = fdOf(this)
        if (typeof buffer === 'string') {
          // write(string, position, encoding): resolves with the string as `buffer`.
          const enc = length
          if (buffer.length === 0 || !isPosition(offset) || !(enc === undefined || (typeof enc === 'string' && Buffer.isEncoding(enc))) || arguments.length > 3 || oddHex(buffer, enc)) return orig.apply(this, arguments as unknown as unknown[])
          const bytes = Buffer.from(buffer, (enc ?? 'utf8') as BufferEncoding)
          if (bytes.length === 0) return orig.apply(this, arguments as unknown as unknown[])
          const at = pos(offset)
          return held(this, () => at === null ? s.ioWrite(fd, bytes) : s.ioPwrite(fd, bytes, at), 'write')
            .then((bytesWritten) => ({ __proto__: null, bytesWritten, buffer }))
        }
        const a = span(buffer, offset, length, position)
        if (a === null) return orig.apply(this, arguments as unknown as unknown[])
        const [buf, off, len, at] = a
        return held(this, () => at === null ? s.ioWrite(fd, buf, off, len) : s.ioPwrite(fd, buf, at, off, len), 'write')
          .then((bytesWritten) => ({ __proto__: null, bytesWritten, buffer: buf }))
      }
    }).write,
    readv: (orig) => ({
      readv (this: Record<symbol, AnyFn>, buffers?: unknown, position?: unknown) {
        const s = ready(this, 'ioReadv')
        if (s === null || arguments.length > 2 || !isBuffers(buffers) || !isPosition(position)) return orig.apply(this, arguments as unknown as unknown[])
        const fd = fdOf(this)
        return held(this, () => s.ioReadv!(fd, buffers, pos(position)), 'read').then((bytesRead) => ({ __proto__: null, bytesRead, buffers }))
      }
    }).readv,
    writev: (orig) => ({
      writev (this: Record<symbol, AnyFn>, buffers?: unknown, position?: unknown) {
        const s = ready(this, 'ioWritev')
        if (s === null || arguments.length > 2 || !isBuffers(buffers) || !isPosition(position)) return orig.apply(this, arguments as unknown as unknown[])
        const fd = fdOf(this)
        return held(this, () => s.ioWritev!(fd, buffers, pos(position)), 'write').then((bytesWritten) => ({ __proto__: null, bytesWritten, buffers }))
      }
    }).writev,
    stat: (orig) => ({
      stat (this: Record<symbol, AnyFn>, options?: unknown) {
        const s = ready(this)
        const bigint = arguments.length <= 1 ? statBigint(options) : null
        if (s === null || bigint === null) return orig.apply(this, arguments as unknown as unknown[])
        const fd = fdOf(this)
        return held(this, () => s.ioStat(fd, { bigint }), 'fstat')
      }
    }).stat,
    truncate: (orig) => ({
      truncate (this: Record<symbol, AnyFn>, len?: unknown) {
        const s = ready(this, 'ioTruncate')
        if (s === null || arguments.length > 1 || !(len === undefined || isInt(len, 0, Number.MAX_SAFE_INTEGER))) return orig.apply(this, arguments as unknown as unknown[])
        const fd = fdOf(this)
        return held(this, () => s.ioTruncate!(fd, len ?? 0), 'ftruncate')
      }
    }).truncate,
    sync: (orig) => ({
      sync (this: Record<symbol, AnyFn>) {
        const s = ready(this, 'ioFsync')
        if (s === null || arguments.length > 0) return orig.apply(this, arguments as unknown as unknown[])
        const fd = fdOf(this)
        return held(this, () => s.ioFsync!(fd, false), 'fsync')
      }
    }).sync,
    datasync: (orig) => ({
      datasync (this: Record<symbol, AnyFn>) {
        const s = ready(this, 'ioFsync')
        if (s === null || arguments.length > 0) return orig.apply(this, arguments as unknown as unknown[])
        const fd = fdOf(this)
        return held(this, () => s.ioFsync!(fd, true), 'fdatasync')
      }
    }).datasync,
    readFile: (orig) => ({
      readFile (this: Record<symbol, AnyFn>, options?: unknown) {
        const s = ready(this)
        const encoding = arguments.length <= 1 ? encodingOption(options) : false
        if (s === null || encoding === false) return orig.apply(this, arguments as unknown as unknown[])
        const fd = fdOf(this)
        return held(this, () => readToEnd(s, fd)).then((data) => data === null ? orig.apply(this, arguments as unknown as unknown[]) : encoding === null ? data : data.toString(encoding))
      }
    }).readFile,
    ...Object.fromEntries((['writeFile', 'appendFile'] as const).map((name) => [name, (orig: AnyFn) => ({
      [name] (this: Record<symbol, AnyFn>, data?: unknown, options?: unknown) {
        const s = ready(this)
        const encoding = arguments.length >= 1 && arguments.length <= 2 ? encodingOption(options) : false
        if (s === null || encoding === false || !(typeof data === 'string' || data instanceof Uint8Array) || oddHex(data, encoding)) return orig.apply(this, arguments as unknown as unknown[])
        if (data instanceof Uint8Array && validate().isDetached(data)) return orig.apply(this, arguments as unknown as unknown[])
        const bytes = typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : data
        const fd = fdOf(this)
        return held(this, async () => {
          // At the handle's position, as Node's: in chunks of at most 512 KiB.
          for (let n = 0; n < bytes.byteLength;) n += await s.ioWrite(fd, bytes, n, Math.min(bytes.byteLength - n, 512 * 1024))
        }, 'write')
      }
    })[name]!]))
  }
}

/** A hex string of odd length, which some of Node's writes refuse (ERR_INVALID_ARG_VALUE): left to Node to say. */
const oddHex = (data: unknown, enc: unknown): boolean =>
  typeof data === 'string' && typeof enc === 'string' && enc.toLowerCase() === 'hex' && data.length % 2 !== 0

/** A FileHandle's readFile/writeFile options routed: none, an encoding, or { encoding }; the encoding (null for none), false to leave it to Node. */
function encodingOption (o: unknown): BufferEncoding | null | false {
  if (o === undefined || o === null) return null
  if (typeof o === 'string') return Buffer.isEncoding(o) ? o : false
  if (typeof o !== 'object' || Object.keys(o).some((k) => k !== 'encoding')) return false
  const e = (o as { encoding?: unknown }).encoding
  if (e == null) return null
  return typeof e === 'string' && Buffer.isEncoding(e) ? e : false
}

/**
 * A FileHandle's readFile: from its position to the end (a regular file:
 * up to its size, as Node's), or null for a file above 2 GiB (Node's own
 * says ERR_FS_FILE_TOO_LARGE).
 */
async function readToEnd (s: Scheduler, fd: number): Promise<Buffer | null> {
  const st = await s.ioStat(fd) as fs.Stats
  const size = st.isFile() ? st.size : 0
  if (size > INT32_MAX) return null
  const chunks: Buffer[] = []
  let total = 0
  for (;;) {
    const buf = Buffer.allocUnsafe(size > 0 ? size - total : 65536)
    const n = await s.ioRead(fd, buf)
    if (n === 0) break
    chunks.push(buf.subarray(0, n))
    total += n
    if (size > 0 && total >= size) break
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
}

/**
 * Patches FileHandle.prototype (once per install) given a real handle's
 * prototype. Nothing is patched on a Node whose FileHandle lacks the ref
 * and unref this relies on: there its methods stay Node's.
 */
function learnFileHandle (host: Host, handle: object): void {
  if (fhProto !== undefined) return
  const proto = Object.getPrototypeOf(handle) as Record<PropertyKey, unknown>
  fhProto = proto
  const symbols = Object.getOwnPropertySymbols(proto)
  kRef = symbols.find((s) => s.description === 'kRef')
  kUnref = symbols.find((s) => s.description === 'kUnref')
  // The count Node's ref and unref keep on each handle: what tells a FileHandle from any object with an fd.
  kRefs = Object.getOwnPropertySymbols(handle).find((s) => s.description === 'kRefs')
  if (kRef !== undefined && kUnref !== undefined && kRefs !== undefined) {
    for (const [name, make] of Object.entries(fileHandleMethods(host))) {
      if (typeof proto[name] !== 'function') continue
      host.patch(proto, name, make)
    }
  }
  fhSnapshot = new Map(Reflect.ownKeys(proto).map((k) => [k, Object.getOwnPropertyDescriptor(proto, k)!]))
}

/** Learns FileHandle.prototype from a handle of Node's own, opened on this file (once). */
function learnFileHandleNow (host: Host, open: AnyFn): Promise<void> {
  if (fhProto !== undefined) return Promise.resolve()
  fhLearning ??= (open(__filename, 'r') as Promise<{ close: () => Promise<void> }>).then(async (h) => {
    learnFileHandle(host, h)
    await h.close()
  }, () => {}).finally(() => { fhLearning = undefined })
  return fhLearning
}

/** What uninstall() needs beyond install.ts's patches: to forget the prototype it learnt. */
export function uninstallMore (): void {
  fhProto = undefined
  fhSnapshot = undefined
  kRef = undefined
  kUnref = undefined
  kRefs = undefined
}

/** Patches the routes of this file (called by install()). */
export function installMore (host: Host): void {
  const { patch, scheduler } = host
  const F = fs as unknown as Record<string, AnyFn>
  const P = fs.promises as unknown as Record<string, AnyFn>
  const fchmod = fs.fchmod
  const fall = (orig: AnyFn, self: unknown, args: IArguments): unknown => orig.apply(self, args as unknown as unknown[])
  /** The scheduler if it has `hook`, else null. */
  const sched = (hook?: keyof Scheduler): Scheduler | null => {
    const s = scheduler()
    return s === null || (hook !== undefined && typeof s[hook] !== 'function') ? null : s
  }

  // --- The callback API.
  for (const name of ['fsync', 'fdatasync'] as const) {
    patch(F, name, (orig) => function (this: unknown, fd: unknown, cb?: unknown) {
      const s = sched('ioFsync')
      if (s === null || arguments.length !== 2 || !isFd(fd) || typeof cb !== 'function') return fall(orig, this, arguments)
      callback(s.ioFsync!(fd, name === 'fdatasync').catch((e) => asNode(e)), cb as AnyFn, false)
    })
  }
  patch(F, 'ftruncate', (orig) => function ftruncate (this: unknown, fd: unknown, len: unknown, cb?: unknown) {
    if (typeof len === 'function' && arguments.length === 2) { cb = len; len = 0 }
    const s = sched('ioTruncate')
    if (s === null || !isFd(fd) || !isInt(len, 0, Number.MAX_SAFE_INTEGER) || typeof cb !== 'function') return fall(orig, this, arguments)
    callback(s.ioTruncate!(fd, len).catch((e) => asNode(e)), cb as AnyFn, false)
  })
  patch(F, 'truncate', (orig) => function truncate (this: unknown, path: unknown, len: unknown, cb?: unknown) {
    if (typeof len === 'function' && arguments.length === 2) { cb = len; len = 0 }
    const s = sched('ioTruncate')
    if (s === null || !routable(path) || !isInt(len, 0, Number.MAX_SAFE_INTEGER) || typeof cb !== 'function') return fall(orig, this, arguments)
    callback(truncateVia(s, path, len).catch((e) => asNode(e)), cb as AnyFn, false)
  })
  patch(F, 'fstat', (orig) => function fstat (this: unknown, fd: unknown, options: unknown, cb?: unknown) {
    if (typeof options === 'function' && arguments.length === 2) { cb = options; options = undefined }
    const s = sched()
    const bigint = statBigint(options)
    if (s === null || !isFd(fd) || bigint === null || typeof cb !== 'function') return fall(orig, this, arguments)
    callback(s.ioStat(fd, { bigint }), cb as AnyFn, true)
  })
  for (const [name, hook, syscall] of [['readv', 'ioReadv', 'read'], ['writev', 'ioWritev', 'write']] as const) {
    patch(F, name, (orig) => function (this: unknown, fd: unknown, buffers: unknown, position: unknown, cb?: unknown) {
      if (typeof position === 'function' && arguments.length === 3) { cb = position; position = null }
      const s = sched(hook)
      if (s === null || !isFd(fd) || !isBuffers(buffers) || !isPosition(position) || typeof cb !== 'function') return fall(orig, this, arguments)
      // As Node's: (err, bytes, buffers), with 0 bytes on an error.
      s[hook]!(fd, buffers, pos(position)).catch((e) => asNode(e, syscall))
        .then((n) => process.nextTick(cb as AnyFn, null, n, buffers), (e) => process.nextTick(cb as AnyFn, e, 0, buffers))
    })
  }
  patch(F, 'link', (orig) => function link (this: unknown, existingPath: unknown, newPath: unknown, cb?: unknown) {
    const s = sched('ioLink')
    if (s === null || arguments.length !== 3 || !routable(existingPath) || !routable(newPath) || typeof cb !== 'function') return fall(orig, this, arguments)
    callback(s.ioLink!(existingPath, newPath), cb as AnyFn, false)
  })
  patch(F, 'symlink', (orig) => function symlink (this: unknown, target: unknown, path: unknown, type: unknown, cb?: unknown) {
    if (typeof type === 'function' && arguments.length === 3) { cb = type; type = undefined }
    const s = sched('ioSymlink')
    if (s === null || !routable(target) || !routable(path) || type != null || typeof cb !== 'function') return fall(orig, this, arguments)
    callback(s.ioSymlink!(target, path), cb as AnyFn, false)
  })
  patch(F, 'copyFile', (orig) => function copyFile (this: unknown, src: unknown, dest: unknown, mode: unknown, cb?: unknown) {
    if (typeof mode === 'function' && arguments.length === 3) { cb = mode; mode = undefined }
    const s = sched('ioTruncate')
    const m = copyMode(mode)
    if (s === null || !routable(src) || !routable(dest) || m === null || typeof cb !== 'function') return fall(orig, this, arguments)
    callback(copyFileVia(s, src, dest, m, fchmod), cb as AnyFn, false)
  })
  patch(F, 'mkdir', (orig) => function mkdir (this: unknown, path: unknown, options: unknown, cb?: unknown) {
    if (typeof options === 'function' && arguments.length === 2) { cb = options; options = undefined }
    const s = sched()
    const r = mkdirRecursive(path, options)
    if (s === null || r === null || typeof cb !== 'function') return fall(orig, this, arguments)
    // As Node's: (null, first) when it made a directory, (null) when it made none.
    mkdirpVia(s, r.path, r.mode).then((first) => first === undefined ? process.nextTick(cb as AnyFn, null) : process.nextTick(cb as AnyFn, null, first), (e) => process.nextTick(cb as AnyFn, e))
  })
  patch(F, 'rm', (orig) => function rm (this: unknown, path: unknown, options: unknown, cb?: unknown) {
    const args = arguments
    if (typeof options === 'function' && arguments.length === 2) { cb = options; options = undefined }
    const s = sched()
    const o = rmOptions(options)
    if (s === null || !routable(path) || o === null || typeof cb !== 'function') return fall(orig, this, args)
    const self = this
    const nodeRm = (): Promise<void> => new Promise((resolve, reject) => {
      const a = [...(args as unknown as unknown[])]
      a[a.length - 1] = (e: Error | null) => e === null ? resolve() : reject(e)
      orig.apply(self, a)
    })
    callback(rmVia(s, path, o.force, nodeRm), cb as AnyFn, false)
  })
  // fs.appendFile, fs.createReadStream and fs.createWriteStream stay Node's:
  // they call fs.open, fs.read, fs.write, fs.writev and fs.close on the
  // module, which are routed.

  // --- The promise API (async functions there: methods here, no prototype).
  // A FileHandle is met first here: fs.promises.open stays Node's, and
  // teaches this module FileHandle.prototype.
  patch(P, 'open', (orig) => ({
    open (this: unknown) {
      const p = orig.apply(this, arguments as unknown as unknown[]) as Promise<object>
      if (fhProto !== undefined) return p
      return p.then((h) => { learnFileHandle(host, h); return h })
    }
  }).open)
  const nodeOpen = P.open // the one just patched learns on the way
  /** Runs `routed` once FileHandle.prototype is known, or Node's `orig` if someone patched it. */
  const unlessPatched = <T>(orig: AnyFn, self: unknown, args: IArguments, routed: () => Promise<T>): Promise<T> => {
    const go = (): Promise<T> => fileHandlePatched() ? orig.apply(self, args as unknown as unknown[]) as Promise<T> : routed()
    return fhProto !== undefined ? go() : learnFileHandleNow(host, nodeOpen).then(go)
  }
  // readFile and writeFile are install.ts's; wrapped here for item 12 only.
  for (const name of ['readFile', 'writeFile'] as const) {
    const node = nodePromises[name]
    patch(P, name, (routedFn) => ({
      [name] (this: unknown) {
        const args = arguments
        if (scheduler() === null) return node.apply(this, args as unknown as unknown[])
        return unlessPatched(node, this, args, () => routedFn.apply(this, args as unknown as unknown[]) as Promise<unknown>)
      }
    })[name]!)
  }
  // Node's own truncate and appendFile, taken before the wrappers below.
  patch(P, 'appendFile', (orig) => ({
    appendFile (this: unknown, path: unknown, data: unknown, options?: unknown) {
      const s = sched()
      const o = appendOptions(options)
      if (s === null || !routable(path) || o === null || !(typeof data === 'string' || data instanceof Uint8Array)) return fall(orig, this, arguments)
      const args = arguments
      // writeFile with flag 'a' is what Node's appendFile is; the routed writeFile checks the rest.
      return unlessPatched(orig, this, args, () => P.writeFile!(path, data, o) as Promise<void>)
    }
  }).appendFile)
  patch(P, 'truncate', (orig) => ({
    truncate (this: unknown, path: unknown, len?: unknown) {
      const s = sched('ioTruncate')
      if (s === null || arguments.length > 2 || !routable(path) || !(len === undefined || isInt(len, 0, Number.MAX_SAFE_INTEGER))) return fall(orig, this, arguments)
      return unlessPatched(orig, this, arguments, () => truncateVia(s, path, len ?? 0).catch((e) => asNode(e)))
    }
  }).truncate)
  patch(P, 'link', (orig) => ({
    link (this: unknown, existingPath: unknown, newPath: unknown) {
      const s = sched('ioLink')
      if (s === null || arguments.length !== 2 || !routable(existingPath) || !routable(newPath)) return fall(orig, this, arguments)
      return s.ioLink!(existingPath, newPath)
    }
  }).link)
  patch(P, 'symlink', (orig) => ({
    symlink (this: unknown, target: unknown, path: unknown, type?: unknown) {
      const s = sched('ioSymlink')
      if (s === null || arguments.length > 3 || !routable(target) || !routable(path) || type != null) return fall(orig, this, arguments)
      return s.ioSymlink!(target, path)
    }
  }).symlink)
  patch(P, 'copyFile', (orig) => ({
    copyFile (this: unknown, src: unknown, dest: unknown, mode?: unknown) {
      const s = sched('ioTruncate')
      const m = copyMode(mode)
      if (s === null || arguments.length > 3 || !routable(src) || !routable(dest) || m === null) return fall(orig, this, arguments)
      return copyFileVia(s, src, dest, m, fchmod)
    }
  }).copyFile)
  // mkdir's one-level forms are install.ts's: only { recursive: true } here.
  patch(P, 'mkdir', (prev) => ({
    mkdir (this: unknown, path: unknown, options?: unknown) {
      const s = sched()
      const r = arguments.length <= 2 ? mkdirRecursive(path, options) : null
      if (s === null || r === null) return fall(prev, this, arguments)
      return mkdirpVia(s, r.path, r.mode)
    }
  }).mkdir)
  patch(P, 'rm', (orig) => ({
    rm (this: unknown, path: unknown, options?: unknown) {
      const s = sched()
      const o = rmOptions(options)
      if (s === null || arguments.length > 2 || !routable(path) || o === null) return fall(orig, this, arguments)
      const args = arguments
      return rmVia(s, path, o.force, () => orig.apply(this, args as unknown as unknown[]) as Promise<void>)
    }
  }).rm)
}

/** appendFile's options routed, as writeFile's with flag 'a' by default; null to leave the call to Node. */
function appendOptions (o: unknown): Record<string, unknown> | null {
  if (o === undefined || o === null) return { flag: 'a' }
  if (typeof o === 'string') return Buffer.isEncoding(o) ? { encoding: o, flag: 'a' } : null
  if (typeof o !== 'object') return null
  if (Object.keys(o).some((k) => k !== 'encoding' && k !== 'mode' && k !== 'flag')) return null
  const r = { ...(o as Record<string, unknown>) }
  r.flag ??= 'a'
  return r
}

// The FileHandle routes of install(): FileHandle.prototype's read, write,
// readv, writev, stat, truncate, sync, datasync, readFile, writeFile and
// appendFile, patched once the prototype is learnt from a handle of Node's
// own (see install-more.ts's top for why the handle stays Node's). Loaded
// only by install-more.ts, so only at install().
import * as fs from 'node:fs'
import type { Scheduler } from './scheduler'
import { type AnyFn, type Host, INT32_MAX, asNode, isFd, isPosition, pos, isBuffers, statBigint, validate, isInt } from './install-shared'

// left on it (to tell whether someone else has patched it since).
let fhProto: Record<PropertyKey, unknown> | undefined
let kRef: symbol | undefined
let kUnref: symbol | undefined
let kRefs: symbol | undefined
let fhSnapshot: Map<PropertyKey, PropertyDescriptor> | undefined
let fhLearning: Promise<void> | undefined

/** Whether FileHandle.prototype is other than as install() left it (then its users run Node's own). */
export function fileHandlePatched (): boolean {
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
export function learnFileHandle (host: Host, handle: object): void {
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
export function learnFileHandleNow (host: Host, open: AnyFn): Promise<void> {
  if (fhProto !== undefined) return Promise.resolve()
  fhLearning ??= (open(__filename, 'r') as Promise<{ close: () => Promise<void> }>).then(async (h) => {
    learnFileHandle(host, h)
    await h.close()
  }, () => {}).finally(() => { fhLearning = undefined })
  return fhLearning
}


/** Whether FileHandle.prototype has been learnt (and patched, where Node's FileHandle allows). */
export const fileHandleKnown = (): boolean => fhProto !== undefined

/** Forgets the prototype learnt (for uninstallMore). */
export function forgetFileHandle (): void {
  fhProto = undefined
  fhSnapshot = undefined
  kRef = undefined
  kUnref = undefined
  kRefs = undefined
}

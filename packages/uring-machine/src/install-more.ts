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
//
// The FileHandle routes are install-filehandle.ts's; the checks both share
// are install-shared.ts's.
import * as fs from 'node:fs'
import type { Scheduler } from './scheduler'
import { type AnyFn, type Host, UINT32_MAX, COPYFILE_EXCL, COPYFILE_FICLONE, errors, isInt, isFd, routable, isPosition, pos, isBuffers, asNode, callback, statBigint } from './install-shared'
import { fileHandleKnown, fileHandlePatched, forgetFileHandle, learnFileHandle, learnFileHandleNow } from './install-filehandle'

export type { Host } from './install-shared'

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
  // The UringScheduler's offer: the whole copyFile in the core, one round trip.
  const whole = (s as { copyWholeFile?: (src: string, dest: string, mode: number) => Promise<void> }).copyWholeFile
  if (whole !== undefined) return whole.call(s, src, dest, mode)
  const C = fs.constants
  let from = -1
  let to = -1
  let ok = false
  try {
    from = await s.ioOpen(src, C.O_RDONLY)
    const st = await s.ioStat(from) as fs.Stats
    to = await s.ioOpen(dest, C.O_WRONLY | C.O_CREAT | ((mode & COPYFILE_EXCL) !== 0 ? C.O_EXCL : 0), st.mode)
    if ((mode & COPYFILE_EXCL) === 0) {
      const dst = await s.ioStat(to) as fs.Stats
      if (dst.dev === st.dev && dst.ino === st.ino) { ok = true; return } // the same file: nothing to do
      await s.ioTruncate!(to, 0)
    }
    // No io_uring op sets a mode: Node's fchmod. libuv ignores EPERM here (a file another user owns).
    await new Promise<void>((resolve, reject) => fchmod(to, st.mode, (e: NodeJS.ErrnoException | null) => e === null || e.code === 'EPERM' ? resolve() : reject(e)))
    // A directory source fails EISDIR at the copy, after the destination was
    // opened, truncated and given the mode; it is then removed (below), as
    // libuv does: Node's copyFile of a directory onto a file deletes it.
    if (st.isDirectory()) throw errors().systemError(-21, 'copyfile')
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
async function mkdirpVia (s: Scheduler, path: string, mode: number, top = true): Promise<string | undefined> {
  try {
    await s.ioMkdir(path, mode)
    return path
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'ENOENT') {
      const parent = dirname(path)
      if (parent === path) throw err
      const first = await mkdirpVia(s, parent, mode, false)
      try {
        await s.ioMkdir(path, mode)
        return first ?? path
      } catch (again) {
        if ((again as { code?: string }).code !== 'EEXIST') throw again
        if (!(await statAfterEexist(s, path)).isDirectory()) throw again
        return first
      }
    }
    if (code !== 'EEXIST') throw err
    if (!top) {
      // A parent that exists and is no directory (or a dangling symlink):
      // Node says ENOTDIR, on the parent.
      const st = await s.ioStat(path).catch(() => null)
      if (st === null || !st.isDirectory()) throw errors().systemError(-20, 'mkdir', { path })
      return undefined
    }
    if (!(await statAfterEexist(s, path)).isDirectory()) throw err
    return undefined
  }
}

/**
 * The stat mkdir -p makes of a name that exists (EEXIST). Where the stat
 * fails (a dangling symlink: ENOENT), Node reports the stat's error as
 * mkdir's, on that path.
 */
async function statAfterEexist (s: Scheduler, path: string): Promise<fs.Stats | fs.BigIntStats> {
  try {
    return await s.ioStat(path)
  } catch (err) {
    const e = err as { errno?: unknown, code?: unknown }
    if (typeof e?.errno === 'number' && typeof e.code === 'string' && e.code !== 'ABORT_ERR') throw errors().systemError(e.errno, 'mkdir', { path })
    throw err
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
/** What uninstall() needs beyond install.ts's patches: to forget the prototype it learnt. */
export function uninstallMore (): void {
  forgetFileHandle()
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
      if (fileHandleKnown()) return p
      return p.then((h) => { learnFileHandle(host, h); return h })
    }
  }).open)
  const nodeOpen = P.open // the one just patched learns on the way
  /** Runs `routed` once FileHandle.prototype is known, or Node's `orig` if someone patched it. */
  const unlessPatched = <T>(orig: AnyFn, self: unknown, args: IArguments, routed: () => Promise<T>): Promise<T> => {
    const go = (): Promise<T> => fileHandlePatched() ? orig.apply(self, args as unknown as unknown[]) as Promise<T> : routed()
    return fileHandleKnown() ? go() : learnFileHandleNow(host, nodeOpen).then(go)
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

// File ops: read/write (and their vectored forms), open/close, statx,
// fsync, and the directory-entry ops (unlink, rmdir, rename, mkdir,
// symlink, link), ftruncate, fallocate, fadvise.
import { closeSync } from 'node:fs'
import * as E from '../errors'
import * as V from '../validate'
import { AT_FDCWD, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, STATX_BASIC_STATS, STATX_BTIME } from '../constants'
import { type Engine, VOID } from '../completion'
import type { ReadOptions, WriteOptions, VectorOptions, StatOptions, FsyncOptions, MkdirOptions, RenameOptions, FallocateOptions } from '../types'
import type { Stats, BigIntStats } from '../stats'
import { OPS } from '../native.generated'
// Each op's syscall name and result kind, from the op table.
const { readv: READV, writev: WRITEV, open: OPEN, close: CLOSE, statx: STATX, rename: RENAME, mkdir: MKDIR, symlink: SYMLINK, link: LINK, ftruncate: FTRUNCATE, fallocate: FALLOCATE, fadvise: FADVISE } = OPS
// read and write are the measured hot path: plain constants, no lookups.
const READ_SYSCALL = OPS.read.syscall
const READ_RESULT = OPS.read.result
const WRITE_SYSCALL = OPS.write.syscall
const WRITE_RESULT = OPS.write.result

export function read (c: Engine, fd: number, buffer: ArrayBufferView, options?: ReadOptions): Promise<number> {
  const o = V.options(options)
  return transfer(c, false, fd, buffer, o.offset, o.length, V.position(o.position), o)
}

export function write (c: Engine, fd: number, buffer: ArrayBufferView, options?: WriteOptions): Promise<number> {
  const o = V.options(options)
  return transfer(c, true, fd, buffer, o.offset, o.length, V.position(o.position), o)
}

export function transfer (c: Engine, write: boolean, fd: number, buffer: ArrayBufferView, offset: unknown, length: unknown, pos: number, o: V.OpOptions): Promise<number> {
  V.fd(fd)
  const v = V.bytes(V.view(buffer, 'buffer'))
  const [off, len] = V.range(v, 'buffer', offset, length)
  const ring = c.ready(o)
  const name = write ? WRITE_SYSCALL : READ_SYSCALL
  if (ring === null) return c.refuse(o, name)
  if (write) return c.track(ring.write(fd, v, off, len, pos, o.timeout ?? 0), WRITE_RESULT, name, fd, undefined, o) as Promise<number>
  return c.track(ring.read(fd, v, off, len, pos, o.timeout ?? 0), READ_RESULT, name, fd, undefined, o, v) as Promise<number>
}

export function readv (c: Engine, fd: number, buffers: readonly ArrayBufferView[], options?: VectorOptions): Promise<number> {
  V.fd(fd)
  const bufs = V.views(buffers, 'buffers')
  const o = V.options(options)
  const pos = V.position(o.position)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, READV.syscall)
  const slot = ring.readv(fd, bufs, pos, o.timeout ?? 0)
  return c.track(slot, READV.result, READV.syscall, fd, undefined, o, bufs) as Promise<number>
}

export function writev (c: Engine, fd: number, buffers: readonly ArrayBufferView[], options?: VectorOptions): Promise<number> {
  V.fd(fd)
  const bufs = V.views(buffers, 'buffers')
  const o = V.options(options)
  const pos = V.position(o.position)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, WRITEV.syscall)
  return c.track(ring.writev(fd, bufs, pos, o.timeout ?? 0), WRITEV.result, WRITEV.syscall, fd, undefined, o) as Promise<number>
}

export function open (c: Engine, path: string | Buffer | URL, flags?: number | string, mode?: number | string, options?: V.OpOptions): Promise<number> {
  const p = V.path(path)
  const f = V.openFlags(flags)
  const m = V.mode(mode)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, OPEN.syscall, { path: E.pathText(p) })
  return c.track(ring.open(p, f, m, o.timeout ?? 0), OPEN.result, OPEN.syscall, -1, { path: E.pathText(p) }, o) as Promise<number>
}

export function close (c: Engine, fd: number, options?: V.OpOptions): Promise<void> {
  V.fd(fd)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, CLOSE.syscall)
  return c.track(ring.close(fd, o.timeout ?? 0), CLOSE.result, CLOSE.syscall, fd, undefined, o) as Promise<void>
}

/**
 * Holds `fd`, opened by the package for its own use (a single-op fallback's
 * file), natively until `closeHeld`: a worker terminated meanwhile runs no
 * code of ours, and its teardown closes what is held. Whether it is held.
 */
export function hold (c: Engine, fd: number): boolean {
  return c.fn.hold(fd) === 1
}

/**
 * Closes an fd `hold` took: through the ring while the Machine is open, by
 * the process once it was destroyed, not at all if its teardown closed it
 * already. Rejects as `close` does.
 */
export async function closeHeld (c: Engine, fd: number, held: boolean): Promise<void> {
  if (held && c.fn.disown(fd, false) !== 1) return
  if (c.ready({}) === null) closeSync(fd)
  else await close(c, fd)
}

export function statx (c: Engine, pathOrFd: string | Buffer | URL | number, options?: StatOptions): Promise<Stats | BigIntStats> {
  let dirfd = AT_FDCWD
  let p: string | Uint8Array = ''
  let flags = AT_EMPTY_PATH
  let info: E.SystemErrorInfo | undefined
  const o = V.options(options)
  if (typeof pathOrFd === 'number') {
    dirfd = V.fd(pathOrFd, 'pathOrFd')
  } else {
    p = V.path(pathOrFd, 'pathOrFd')
    flags = o.followSymlinks === false ? AT_SYMLINK_NOFOLLOW : 0
    info = { path: E.pathText(p) }
  }
  if (o.bigint !== undefined && typeof o.bigint !== 'boolean') throw E.invalidArgType('options.bigint', 'of type boolean', o.bigint)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, STATX.syscall, info)
  const slot = ring.statx(dirfd, p, flags, STATX_BASIC_STATS | STATX_BTIME, o.timeout ?? 0)
  const out = o.bigint === true ? new BigInt64Array(18) : new Float64Array(18)
  return c.track(slot, STATX.result, STATX.syscall, dirfd === AT_FDCWD ? -1 : dirfd, info, o, out) as Promise<Stats | BigIntStats>
}

export function fsync (c: Engine, fd: number, options?: FsyncOptions): Promise<void> {
  V.fd(fd)
  const o = V.options(options)
  const ring = c.ready(o)
  const name = o.datasync === true ? 'fdatasync' : 'fsync'
  if (ring === null) return c.refuse(o, name)
  return c.track(ring.fsync(fd, o.datasync === true, o.timeout ?? 0), VOID, name, fd, undefined, o) as Promise<void>
}

export function unlink (c: Engine, path: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
  return unlinkat(c, path, 0, 'unlink', options)
}

export function rmdir (c: Engine, path: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
  return unlinkat(c, path, AT_REMOVEDIR, 'rmdir', options)
}

function unlinkat (c: Engine, path: string | Buffer | URL, flags: number, syscall: string, options: unknown): Promise<void> {
  const p = V.path(path)
  const o = V.options(options)
  const info = { path: E.pathText(p) }
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, syscall)
  return c.track(ring.unlink(p, flags, o.timeout ?? 0), VOID, syscall, -1, info, o) as Promise<void>
}

export function rename (c: Engine, oldPath: string | Buffer | URL, newPath: string | Buffer | URL, options?: RenameOptions): Promise<void> {
  const from = V.path(oldPath, 'oldPath')
  const to = V.path(newPath, 'newPath')
  const o = V.options(options)
  const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
  const info = { path: E.pathText(from), dest: E.pathText(to) }
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, RENAME.syscall)
  return c.track(ring.rename(from, to, flags, o.timeout ?? 0), RENAME.result, RENAME.syscall, -1, info, o) as Promise<void>
}

export function mkdir (c: Engine, path: string | Buffer | URL, options?: MkdirOptions): Promise<void> {
  const p = V.path(path)
  const o = V.options(options)
  const mode = o.mode === undefined ? 0o777 : V.mode(o.mode)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, MKDIR.syscall)
  return c.track(ring.mkdir(p, mode, o.timeout ?? 0), MKDIR.result, MKDIR.syscall, -1, { path: E.pathText(p) }, o) as Promise<void>
}

export function symlink (c: Engine, target: string | Buffer | URL, path: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
  const t = V.path(target, 'target')
  const p = V.path(path)
  const o = V.options(options)
  const info = { path: E.pathText(t), dest: E.pathText(p) }
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, SYMLINK.syscall)
  return c.track(ring.symlink(t, p, o.timeout ?? 0), SYMLINK.result, SYMLINK.syscall, -1, info, o) as Promise<void>
}

export function link (c: Engine, existingPath: string | Buffer | URL, newPath: string | Buffer | URL, options?: V.OpOptions): Promise<void> {
  const from = V.path(existingPath, 'existingPath')
  const to = V.path(newPath, 'newPath')
  const o = V.options(options)
  const info = { path: E.pathText(from), dest: E.pathText(to) }
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, LINK.syscall)
  return c.track(ring.link(from, to, o.timeout ?? 0), LINK.result, LINK.syscall, -1, info, o) as Promise<void>
}

export function ftruncate (c: Engine, fd: number, length = 0, options?: V.OpOptions): Promise<void> {
  V.fd(fd)
  V.int(length, 'length', 0, Number.MAX_SAFE_INTEGER)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, FTRUNCATE.syscall)
  return c.track(ring.ftruncate(fd, length, o.timeout ?? 0), FTRUNCATE.result, FTRUNCATE.syscall, fd, undefined, o) as Promise<void>
}

export function fallocate (c: Engine, fd: number, offset: number, length: number, options?: FallocateOptions): Promise<void> {
  V.fd(fd)
  V.int(offset, 'offset', 0, Number.MAX_SAFE_INTEGER)
  V.int(length, 'length', 1, Number.MAX_SAFE_INTEGER)
  const o = V.options(options)
  const mode = o.mode === undefined ? 0 : V.int(o.mode, 'options.mode', 0, 2 ** 31 - 1)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, FALLOCATE.syscall)
  return c.track(ring.fallocate(fd, mode, offset, length, o.timeout ?? 0), FALLOCATE.result, FALLOCATE.syscall, fd, undefined, o) as Promise<void>
}

export function fadvise (c: Engine, fd: number, offset: number, length: number, advice: number, options?: V.OpOptions): Promise<void> {
  V.fd(fd)
  V.int(offset, 'offset', 0, Number.MAX_SAFE_INTEGER)
  V.int(length, 'length', 0, Number.MAX_SAFE_INTEGER)
  V.int(advice, 'advice', 0, 5)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, FADVISE.syscall)
  return c.track(ring.fadvise(fd, offset, length, advice, o.timeout ?? 0), FADVISE.result, FADVISE.syscall, fd, undefined, o) as Promise<void>
}

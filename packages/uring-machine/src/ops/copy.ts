// copy and copyFile: bytes from one fd through a kernel pipe to another,
// the data never entering user space. Both run in the core
// (crates/core/src/copy.rs): one native call and one promise per call,
// the ring submitting splice pair after splice pair itself. The splice
// loop below is the fallback where the ring runs no copies in the core
// (an SQPOLL ring, whose credential gate could split a linked pair; a
// kernel without splice, before 5.7, where each splice fails anyway).
import { constants as os } from 'node:os'
import { promises as nodeFs } from 'node:fs'
import * as E from '../errors'
import * as V from '../validate'
import { type Engine, COPY, COPY_FILE, kSpliceRefused } from '../completion'
import type { CopyOptions } from '../types'
import { pipe, splice } from './splice'

/** Bytes one copy moves through its pipe at a time (the pipe is grown to this). */
const COPY_CHUNK = 1 << 20
const ENOSYS = -os.errno.ENOSYS

export function copy (c: Engine, srcFd: number, dstFd: number, options?: CopyOptions): Promise<number> {
  V.fd(srcFd, 'srcFd')
  V.fd(dstFd, 'dstFd')
  const raw = (options ?? {}) as CopyOptions
  const o = V.options(options)
  const length = raw.length === undefined ? Infinity : V.int(raw.length, 'options.length', 0, Number.MAX_SAFE_INTEGER)
  const src = raw.srcPosition == null ? null : V.int(raw.srcPosition, 'options.srcPosition', 0, Number.MAX_SAFE_INTEGER)
  const dst = raw.dstPosition == null ? null : V.int(raw.dstPosition, 'options.dstPosition', 0, Number.MAX_SAFE_INTEGER)
  const ring = c.ready(o)
  if (ring !== null) {
    const out = new Float64Array(2)
    const slot = ring.copy(srcFd, dstFd, length === Infinity ? -1 : length, src ?? -1, dst ?? -1)
    if (slot !== ENOSYS) return c.trackCopy(slot, COPY, 'splice', srcFd, dstFd, undefined, o, out) as Promise<number>
  }
  return copyLoop(c, srcFd, dstFd, length, src, dst, o)
}

/** Node's copyFile modes: COPYFILE_EXCL, COPYFILE_FICLONE, COPYFILE_FICLONE_FORCE. */
export function copyFile (c: Engine, src: string | Buffer | URL, dest: string | Buffer | URL, mode?: number, options?: { signal?: AbortSignal, timeout?: number }): Promise<void> {
  const s = V.path(src, 'src')
  const d = V.path(dest, 'dest')
  const m = mode === undefined || mode === null ? 0 : V.int(mode, 'mode', 0, 7)
  const o = V.options(options)
  const info = { path: E.pathText(s), dest: E.pathText(d) }
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, 'copyfile', info)
  const slot = ring.copyFile(s, d, m)
  // No copies in the core on this ring: Node's own copyFile (libuv's pool).
  if (slot === ENOSYS) return nodeFs.copyFile(src, dest, m)
  const done = c.trackCopy(slot, COPY_FILE, 'copyfile', -1, -1, info, o, new Float64Array(2)) as Promise<void>
  // Where splice refuses the destination (EINVAL: a /proc file, say) libuv
  // falls back to read and write, whose error Node reports: its copyFile then.
  return done.catch((err: unknown) => {
    if ((err as Record<symbol, unknown>)?.[kSpliceRefused] === true) return nodeFs.copyFile(src, dest, m)
    throw err
  })
}

async function copyLoop (c: Engine, srcFd: number, dstFd: number, length: number, src: number | null, dst: number | null, o: V.OpOptions): Promise<number> {
  const deadline = o.timeout === undefined ? Infinity : Date.now() + o.timeout
  const step = (): V.OpOptions => {
    if (deadline === Infinity) return o
    return { signal: o.signal, timeout: Math.max(1, deadline - Date.now()) }
  }
  if (c.state !== 'open') throw E.destroyed('splice')
  // The pipe is held natively until the finally below: a worker
  // terminated mid-copy runs no finally, and its teardown closes them.
  const [r, w] = pipe(COPY_CHUNK)
  c.fn.hold(r)
  c.fn.hold(w)
  let total = 0
  try {
    while (total < length) {
      const n = await splice(c, srcFd, src, w, null, Math.min(COPY_CHUNK, length - total), step())
      if (n === 0) break // end of file
      if (src !== null) src += n
      for (let left = n; left > 0;) {
        const k = await splice(c, r, null, dstFd, dst, left, step())
        // The pipe holds `left` bytes and we hold its write end, so 0 would
        // mean a kernel that cannot move them: fail rather than spin.
        if (k === 0) throw E.systemError(-os.errno.EIO, 'splice', { fd: dstFd })
        left -= k
        if (dst !== null) dst += k
      }
      total += n
    }
    return total
  } catch (err) {
    if (err instanceof Error) Object.assign(err, { bytesCopied: total })
    throw err
  } finally {
    // Closed here, or by the teardown already if the Machine went first.
    c.fn.disown(r, true)
    c.fn.disown(w, true)
  }
}

// copy: a splice loop from one fd through a kernel pipe to another, the
// data never entering user space.
import { constants as os } from 'node:os'
import * as E from '../errors'
import * as V from '../validate'
import type { Engine } from '../completion'
import type { CopyOptions } from '../types'
import { pipe, splice } from './splice'

/** Bytes one copy moves through its pipe at a time (the pipe is grown to this). */
const COPY_CHUNK = 1 << 20

export function copy (c: Engine, srcFd: number, dstFd: number, options?: CopyOptions): Promise<number> {
  V.fd(srcFd, 'srcFd')
  V.fd(dstFd, 'dstFd')
  const raw = (options ?? {}) as CopyOptions
  const o = V.options(options)
  const length = raw.length === undefined ? Infinity : V.int(raw.length, 'options.length', 0, Number.MAX_SAFE_INTEGER)
  const src = raw.srcPosition == null ? null : V.int(raw.srcPosition, 'options.srcPosition', 0, Number.MAX_SAFE_INTEGER)
  const dst = raw.dstPosition == null ? null : V.int(raw.dstPosition, 'options.dstPosition', 0, Number.MAX_SAFE_INTEGER)
  return copyLoop(c, srcFd, dstFd, length, src, dst, o)
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

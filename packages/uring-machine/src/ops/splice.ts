// Pipes and the ops that move data through them without user space:
// splice (kernel 5.7) and tee (kernel 5.8).
import * as V from '../validate'
import * as E from '../errors'
import { binding, loadFailure } from '../native'
import { type Engine, SOFT_TIMEOUT } from '../completion'
import type { SpliceOptions } from '../types'
import { OPS } from '../native.generated'
// Each op's syscall name and result kind, from the op table.
const { splice: SPLICE, tee: TEE } = OPS

export function pipe (size = 65536): [number, number] {
  V.int(size, 'size', 4096, 1 << 30)
  if (binding === null) throw E.unavailable(loadFailure ?? 'no binding')
  const [r, w] = binding.pipe(size)
  return [r, w]
}

export function splice (c: Engine, fdIn: number, offIn: number | null, fdOut: number, offOut: number | null, length: number, options?: SpliceOptions): Promise<number> {
  V.fd(fdIn, 'fdIn')
  V.fd(fdOut, 'fdOut')
  const oi = offIn === null ? -1 : V.int(offIn, 'offIn', 0, Number.MAX_SAFE_INTEGER)
  const oo = offOut === null ? -1 : V.int(offOut, 'offOut', 0, Number.MAX_SAFE_INTEGER)
  V.int(length, 'length', 0, 2 ** 31 - 1)
  const o = V.options(options)
  const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 15)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, SPLICE.syscall)
  return c.track(ring.splice(fdIn, oi, fdOut, oo, length, flags, 0), SPLICE.result, SPLICE.syscall, fdIn, undefined, o, undefined, SOFT_TIMEOUT) as Promise<number>
}

export function tee (c: Engine, fdIn: number, fdOut: number, length: number, options?: SpliceOptions): Promise<number> {
  V.fd(fdIn, 'fdIn')
  V.fd(fdOut, 'fdOut')
  V.int(length, 'length', 0, 2 ** 31 - 1)
  const o = V.options(options)
  const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 15)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, TEE.syscall)
  return c.track(ring.tee(fdIn, fdOut, length, flags, 0), TEE.result, TEE.syscall, fdIn, undefined, o, undefined, SOFT_TIMEOUT) as Promise<number>
}

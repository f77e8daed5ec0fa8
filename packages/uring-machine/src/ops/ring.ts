// Ops of the ring itself and of any fd: the NOP round trip, a ring timer,
// one-shot readiness and cancellation by fd.
import * as V from '../validate'
import { type Engine, VOID, NUMBER } from '../completion'

export function nop (c: Engine, options?: V.OpOptions): Promise<void> {
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, 'nop')
  return c.track(ring.nop(o.timeout ?? 0), VOID, 'nop', -1, undefined, o) as Promise<void>
}

export function sleep (c: Engine, ms: number, options?: V.OpOptions): Promise<void> {
  V.sleepMs(ms)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, 'sleep')
  return c.track(ring.sleep(ms, o.timeout ?? 0), VOID, 'sleep', -1, undefined, o) as Promise<void>
}

export function poll (c: Engine, fd: number, events: number, options?: V.OpOptions): Promise<number> {
  V.fd(fd)
  V.int(events, 'events', 0, 0xffff)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, 'poll')
  return c.track(ring.poll(fd, events, o.timeout ?? 0), NUMBER, 'poll', fd, undefined, o) as Promise<number>
}

export function cancelFd (c: Engine, fd: number, options?: V.OpOptions): Promise<number> {
  V.fd(fd)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, 'async_cancel')
  return c.track(ring.cancelFd(fd, o.timeout ?? 0), NUMBER, 'async_cancel', fd, undefined, o) as Promise<number>
}

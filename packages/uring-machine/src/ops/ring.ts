// Ops of the ring itself and of any fd: the NOP round trip, a ring timer,
// one-shot readiness and cancellation by fd.
import * as V from '../validate'
import type { Engine } from '../completion'
import { OPS } from '../native.generated'
// Each op's syscall name and result kind, from the op table.
const { sleep: SLEEP, poll: POLL, cancelFd: CANCEL_FD } = OPS
// The NOP round trip is the measured hot path: plain constants, no lookups.
const NOP_SYSCALL = OPS.nop.syscall
const NOP_RESULT = OPS.nop.result

export function nop (c: Engine, options?: V.OpOptions): Promise<void> {
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, NOP_SYSCALL)
  return c.track(ring.nop(o.timeout ?? 0), NOP_RESULT, NOP_SYSCALL, -1, undefined, o) as Promise<void>
}

export function sleep (c: Engine, ms: number, options?: V.OpOptions): Promise<void> {
  V.sleepMs(ms)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, SLEEP.syscall)
  return c.track(ring.sleep(ms, o.timeout ?? 0), SLEEP.result, SLEEP.syscall, -1, undefined, o) as Promise<void>
}

export function poll (c: Engine, fd: number, events: number, options?: V.OpOptions): Promise<number> {
  V.fd(fd)
  V.int(events, 'events', 0, 0xffff)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, POLL.syscall)
  return c.track(ring.poll(fd, events, o.timeout ?? 0), POLL.result, POLL.syscall, fd, undefined, o) as Promise<number>
}

export function cancelFd (c: Engine, fd: number, options?: V.OpOptions): Promise<number> {
  V.fd(fd)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, CANCEL_FD.syscall)
  return c.track(ring.cancelFd(fd, o.timeout ?? 0), CANCEL_FD.result, CANCEL_FD.syscall, fd, undefined, o) as Promise<number>
}

// Futex wait and wake through the ring (kernel 6.7), and the futex port
// the mutex and Queue protocols are written against.
import * as V from '../validate'
import type { Engine } from '../completion'
import { OPS } from '../native.generated'
// Each op's syscall name and result kind, from the op table.
const { futexWait: FUTEX_WAIT_OP, futexWake: FUTEX_WAKE } = OPS

const noop = (): void => {}

/** What the mutex and Queue protocols need of a Machine: a futex wait, and a wake submitted at once. */
export interface FutexPort {
  wait (word: Int32Array, index: number, expected: number, options: V.OpOptions): Promise<'ok' | 'not-equal'>
  wakeNow (word: Int32Array, index: number): void
}

/** The port of one Machine's engine. */
export function futexPort (c: Engine): FutexPort {
  return {
    wait: (word, index, expected, options) => futexWait(c, word, index, expected, options),
    wakeNow: (word, index) => { wakeNow(c, word, index) }
  }
}

export function futexWait (c: Engine, word: Int32Array, index: number, expected: number, options?: V.OpOptions): Promise<'ok' | 'not-equal'> {
  const [w, i] = V.sharedInt32(word, 'word', index)
  V.int(expected, 'expected', -(2 ** 31), 2 ** 31 - 1)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, FUTEX_WAIT_OP.syscall)
  return c.track(ring.futexWait(w, i, expected, o.timeout ?? 0), FUTEX_WAIT_OP.result, FUTEX_WAIT_OP.syscall, -1, undefined, o, w) as Promise<'ok' | 'not-equal'>
}

export function futexWake (c: Engine, word: Int32Array, index: number, count = 1, options?: V.OpOptions): Promise<number> {
  const [w, i] = V.sharedInt32(word, 'word', index)
  V.int(count, 'count', 0, 2 ** 31 - 1)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, FUTEX_WAKE.syscall)
  return c.track(ring.futexWake(w, i, count, o.timeout ?? 0), FUTEX_WAKE.result, FUTEX_WAKE.syscall, -1, undefined, o, w) as Promise<number>
}

/**
 * Wakes one waiter of `word[index]` and submits the wake at once: the
 * waiter is another thread, and this one may keep its event loop busy
 * (lock/unlock in a loop never yields to it), so waiting for the loop's
 * flush could starve the waiter. Only contended paths come here.
 */
function wakeNow (c: Engine, word: Int32Array, index: number): void {
  if (c.state !== 'open') return
  futexWake(c, word, index, 1).catch(noop)
  c.fn.flush()
}

// The Queue protocol over a Queue's layout (see ../queue.ts): a deque of
// slots under the queue's futex mutex, producers sleeping on NOT_FULL and
// consumers on NOT_EMPTY, each word a sequence number read under the lock
// so that no wake-up is lost.
import * as E from '../errors'
import * as V from '../validate'
import { Queue, COUNT, HEAD, CAPACITY, NOT_EMPTY, NOT_FULL, WAITING_CONSUMERS, WAITING_PRODUCERS } from '../queue'
import type { FutexPort } from './futex'
import { lock, unlock } from './mutex'

export function put (port: FutexPort, q: Queue, value: unknown, atHead: boolean, options: unknown): Promise<void> {
  if (!(q instanceof Queue)) throw E.invalidArgType('queue', 'an instance of Queue', q)
  const b = q.encode(value)
  const o = V.options(options)
  return putLoop(port, q, b, atHead, o)
}

async function putLoop (port: FutexPort, q: Queue, b: Uint8Array, atHead: boolean, o: V.OpOptions): Promise<void> {
  const h = q.header
  for (;;) {
    await lock(port, q.mutex, o)
    const count = h[COUNT]!
    const cap = h[CAPACITY]!
    if (count < cap) {
      const head = h[HEAD]!
      let i = (head + count) % cap
      if (atHead) {
        i = (head - 1 + cap) % cap
        h[HEAD] = i
      }
      q.write(i, b)
      Atomics.store(h, COUNT, count + 1)
      signal(port, q, NOT_EMPTY, WAITING_CONSUMERS)
      return
    }
    await wait(port, q, NOT_FULL, WAITING_PRODUCERS, o)
  }
}

export function take (port: FutexPort, q: Queue, fromHead: boolean, options: unknown): Promise<unknown> {
  if (!(q instanceof Queue)) throw E.invalidArgType('queue', 'an instance of Queue', q)
  const o = V.options(options)
  return takeLoop(port, q, fromHead, o)
}

async function takeLoop (port: FutexPort, q: Queue, fromHead: boolean, o: V.OpOptions): Promise<unknown> {
  const h = q.header
  for (;;) {
    await lock(port, q.mutex, o)
    const count = h[COUNT]!
    if (count > 0) {
      const cap = h[CAPACITY]!
      const head = h[HEAD]!
      let i = (head + count - 1) % cap
      if (fromHead) {
        i = head
        h[HEAD] = (head + 1) % cap
      }
      const b = q.read(i)
      Atomics.store(h, COUNT, count - 1)
      signal(port, q, NOT_FULL, WAITING_PRODUCERS)
      return q.decode(b)
    }
    await wait(port, q, NOT_EMPTY, WAITING_CONSUMERS, o)
  }
}

function signal (port: FutexPort, q: Queue, word: number, waiting: number): void {
  const h = q.header
  const wake = Atomics.load(h, waiting) > 0
  if (wake) Atomics.add(h, word, 1)
  unlock(port, q.mutex)
  if (wake) port.wakeNow(h, word)
}

async function wait (port: FutexPort, q: Queue, word: number, waiting: number, o: V.OpOptions): Promise<void> {
  const h = q.header
  const seq = Atomics.load(h, word)
  Atomics.add(h, waiting, 1)
  unlock(port, q.mutex)
  try {
    await port.wait(h, word, seq, o)
  } catch (err) {
    Atomics.add(h, word, 1)
    port.wakeNow(h, word)
    throw err
  } finally {
    Atomics.sub(h, waiting, 1)
  }
}

// The futex mutex protocol (Drepper, "Futexes Are Tricky", mutex #2) over
// a Mutex's state word (see ../mutex.ts): uncontended lock and unlock are
// one atomic in JavaScript; only contention reaches the kernel, through
// the futex port.
import * as E from '../errors'
import * as V from '../validate'
import { Mutex, UNLOCKED, LOCKED, CONTENDED } from '../mutex'
import type { FutexPort } from './futex'

const RESOLVED = Promise.resolve()

export function lock (port: FutexPort, mutex: Mutex, options?: V.OpOptions): Promise<void> {
  if (!(mutex instanceof Mutex)) throw E.invalidArgType('mutex', 'an instance of Mutex', mutex)
  const o = V.options(options)
  const c = Atomics.compareExchange(mutex.state, 0, UNLOCKED, LOCKED)
  if (c === UNLOCKED) return RESOLVED
  return lockContended(port, mutex.state, c, o)
}

async function lockContended (port: FutexPort, s: Int32Array, c: number, o: V.OpOptions): Promise<void> {
  // Mark the lock contended, so its holder wakes someone when it unlocks.
  if (c !== CONTENDED) c = Atomics.exchange(s, 0, CONTENDED)
  while (c !== UNLOCKED) {
    await port.wait(s, 0, CONTENDED, o)
    c = Atomics.exchange(s, 0, CONTENDED)
  }
}

export function unlock (port: FutexPort, mutex: Mutex): void {
  if (!(mutex instanceof Mutex)) throw E.invalidArgType('mutex', 'an instance of Mutex', mutex)
  const s = mutex.state
  const was = Atomics.sub(s, 0, 1)
  if (was === UNLOCKED || Atomics.load(s, 0) < UNLOCKED) {
    Atomics.store(s, 0, UNLOCKED)
    throw E.invalidState('unlock of a Mutex that is not locked')
  }
  if (was !== LOCKED) {
    Atomics.store(s, 0, UNLOCKED)
    port.wakeNow(s, 0)
  }
}

export async function synchronize<T> (port: FutexPort, mutex: Mutex, fn: () => T | Promise<T>, options?: V.OpOptions): Promise<T> {
  if (!(mutex instanceof Mutex)) throw E.invalidArgType('mutex', 'an instance of Mutex', mutex)
  if (typeof fn !== 'function') throw E.invalidArgType('fn', 'of type function', fn)
  await lock(port, mutex, options)
  try {
    return await fn()
  } finally {
    unlock(port, mutex)
  }
}

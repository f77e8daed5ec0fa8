// A mutex whose state lives in a SharedArrayBuffer, so worker threads (each
// with its own Machine) can share it. The protocol is the classic futex
// mutex (Drepper, "Futexes Are Tricky", mutex #2): 0 unlocked, 1 locked,
// 2 locked with possible waiters. Uncontended lock and unlock are one
// atomic compare-and-swap in JavaScript; only contention reaches the kernel
// (a futex wait through the ring, which does not block the event loop).
import { invalidArgType } from './errors'

export const UNLOCKED = 0
export const LOCKED = 1
export const CONTENDED = 2

export class Mutex {
  /** The shared state: hand `mutex.buffer` to another thread and wrap it there with `new Mutex(buffer)`. */
  readonly state: Int32Array

  constructor (buffer?: SharedArrayBuffer) {
    if (buffer === undefined) buffer = new SharedArrayBuffer(4)
    if (!(buffer instanceof SharedArrayBuffer)) throw invalidArgType('buffer', 'an instance of SharedArrayBuffer', buffer)
    if (buffer.byteLength < 4) throw invalidArgType('buffer', 'a SharedArrayBuffer of at least 4 bytes', buffer)
    this.state = new Int32Array(buffer, 0, 1)
  }

  /** The SharedArrayBuffer that holds the state. */
  get buffer (): SharedArrayBuffer {
    return this.state.buffer as SharedArrayBuffer
  }

  /** Takes the lock if it is free, without waiting. */
  tryLock (): boolean {
    return Atomics.compareExchange(this.state, 0, UNLOCKED, LOCKED) === UNLOCKED
  }

  /** Whether some thread holds the lock right now. */
  get locked (): boolean {
    return Atomics.load(this.state, 0) !== UNLOCKED
  }
}

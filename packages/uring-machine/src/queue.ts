// A bounded queue in a SharedArrayBuffer, shared by tasks of one thread and
// by worker threads (each with its own Machine). It is a deque of fixed-size
// slots guarded by a futex mutex, with two futex words as condition
// variables: producers sleep on NOT_FULL, consumers on NOT_EMPTY. A waiter
// registers itself and reads the word's sequence number under the lock, so
// a wake between its check and its sleep changes the number and its futex
// wait returns at once ('not-equal'): no wake-up is lost.
import { serialize, deserialize } from 'node:v8'
import { invalidArgType, outOfRange, detachedView } from './errors'
import { int, isDetached } from './validate'
import { Mutex } from './mutex'

// Header words (Int32). Word 0 is the mutex state (see mutex.ts).
export const COUNT = 1
export const HEAD = 2
export const CAPACITY = 3
export const SLOT_SIZE = 4
export const NOT_EMPTY = 5
export const NOT_FULL = 6
export const WAITING_CONSUMERS = 7
export const WAITING_PRODUCERS = 8
export const VALUES = 9
const HEADER_BYTES = 64

export interface QueueOptions {
  /** How many messages it holds before producers wait. Default 64. */
  capacity?: number
  /** The largest message in bytes (serialized, for values). Default 4096. */
  messageSize?: number
  /** Carry any structured-clonable value (v8.serialize) instead of bytes. Default false. */
  values?: boolean
}

export class Queue {
  /** The whole queue: hand `queue.buffer` to another thread, wrap it there with `new Queue(buffer)`. */
  readonly buffer: SharedArrayBuffer
  /** @internal */ readonly header: Int32Array
  /** @internal */ readonly bytes: Uint8Array
  /** @internal */ readonly slots: DataView
  /** @internal Guards the header and the slots (its state is word 0). */
  readonly mutex: Mutex

  constructor (bufferOrOptions?: SharedArrayBuffer | QueueOptions) {
    if (bufferOrOptions instanceof SharedArrayBuffer) {
      this.buffer = bufferOrOptions
      this.header = new Int32Array(this.buffer, 0, HEADER_BYTES / 4)
      const cap = this.header[CAPACITY]!
      const size = this.header[SLOT_SIZE]!
      if (!(cap > 0 && size > 0) || this.buffer.byteLength < HEADER_BYTES + cap * (4 + size)) {
        throw invalidArgType('buffer', "the buffer of a Queue (queue.buffer)", bufferOrOptions)
      }
    } else {
      const o = bufferOrOptions ?? {}
      if (typeof o !== 'object') throw invalidArgType('options', 'of type object or a SharedArrayBuffer', o)
      const capacity = o.capacity === undefined ? 64 : int(o.capacity, 'options.capacity', 1, 1 << 20)
      const size = o.messageSize === undefined ? 4096 : int(o.messageSize, 'options.messageSize', 1, 1 << 24)
      if (o.values !== undefined && typeof o.values !== 'boolean') throw invalidArgType('options.values', 'of type boolean', o.values)
      this.buffer = new SharedArrayBuffer(HEADER_BYTES + capacity * (4 + size))
      this.header = new Int32Array(this.buffer, 0, HEADER_BYTES / 4)
      this.header[CAPACITY] = capacity
      this.header[SLOT_SIZE] = size
      this.header[VALUES] = o.values === true ? 1 : 0
    }
    this.bytes = new Uint8Array(this.buffer)
    this.slots = new DataView(this.buffer)
    this.mutex = new Mutex(this.buffer)
  }

  /** Messages in the queue now. */
  get length (): number {
    return Atomics.load(this.header, COUNT)
  }

  get capacity (): number {
    return this.header[CAPACITY]!
  }

  /** @internal The message as bytes, or a RangeError if it cannot fit a slot. */
  encode (value: unknown): Uint8Array {
    let b: Uint8Array
    if (this.header[VALUES] === 1) b = serialize(value)
    else if (ArrayBuffer.isView(value)) {
      if (isDetached(value)) throw detachedView('value', value)
      // A copy, taken at the call: the message is written later, under the
      // lock, and the caller's buffer may be detached or changed by then.
      b = new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice()
    } else throw invalidArgType('value', 'a Buffer, TypedArray or DataView (or use a values queue)', value)
    if (b.byteLength > this.header[SLOT_SIZE]!) throw outOfRange('value', `at most ${this.header[SLOT_SIZE]} bytes (the queue's messageSize)`, b.byteLength)
    return b
  }

  /** @internal Writes a message into slot `i` (under the lock). */
  write (i: number, b: Uint8Array): void {
    const at = HEADER_BYTES + i * (4 + this.header[SLOT_SIZE]!)
    this.slots.setInt32(at, b.byteLength, true)
    this.bytes.set(b, at + 4)
  }

  /** @internal A copy of the message in slot `i` (under the lock). */
  read (i: number): Uint8Array {
    const at = HEADER_BYTES + i * (4 + this.header[SLOT_SIZE]!)
    const len = this.slots.getInt32(at, true)
    return this.bytes.slice(at + 4, at + 4 + len)
  }

  /** @internal The message's value (outside the lock). */
  decode (b: Uint8Array): unknown {
    return this.header[VALUES] === 1 ? deserialize(b) : b
  }
}

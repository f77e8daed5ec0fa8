// The multishot host of one Machine: recvMulti, readMulti, acceptMulti
// and interval streams (see ../multishot.ts), armed on the ring, fed by the completion
// engine, ended when the Machine is destroyed.
import * as E from '../errors'
import * as V from '../validate'
import { Multishot, type StreamHost, type AnyStream } from '../multishot'
import { type Engine, RES_CLOSED } from '../completion'

export class Streams {
  readonly #c: Engine
  /** Streams that may still hold something (a request, queued items): destroy ends them. */
  readonly #streams = new Set<AnyStream>()

  constructor (c: Engine) {
    this.#c = c
  }

  open (kind: 'recv' | 'read' | 'accept', fd: number, options: unknown): AnyStream {
    V.fd(fd)
    const o = V.options(options)
    if (o.timeout !== undefined) throw E.invalidArgValue('options.timeout', o.timeout, 'is not supported by a stream (use signal)')
    const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
    let size = 0
    let count = 0
    let hwm: number
    if (kind === 'accept') {
      hwm = o.highWaterMark === undefined ? 128 : V.int(o.highWaterMark, 'options.highWaterMark', 1, 2 ** 31 - 1)
    } else {
      if (kind === 'read' && o.flags !== undefined) throw E.invalidArgValue('options.flags', o.flags, 'is not supported by readMulti')
      size = o.bufferSize === undefined ? 16384 : V.int(o.bufferSize, 'options.bufferSize', 1, 1 << 24)
      count = o.buffers === undefined ? 64 : V.int(o.buffers, 'options.buffers', 1, 32768)
      if ((count & (count - 1)) !== 0) throw E.outOfRange('options.buffers', 'a power of two from 1 to 32768', count)
      hwm = o.highWaterMark === undefined ? count * size : V.int(o.highWaterMark, 'options.highWaterMark', 1, Number.MAX_SAFE_INTEGER)
    }
    const st = new Multishot(this.#host, kind, fd, kind, flags, hwm, count, size, o.signal)
    this.#streams.add(st)
    return st.start()
  }

  /** A periodic timer's ticks (IORING_TIMEOUT_MULTISHOT). */
  interval (ms: unknown, options: unknown): AnyStream {
    if (typeof ms !== 'number') throw E.invalidArgType('ms', 'of type number', ms)
    if (!(ms > 0 && ms <= 2 ** 31 - 1)) throw E.outOfRange('ms', '> 0 and <= 2147483647', ms)
    const o = V.options(options)
    if (o.timeout !== undefined) throw E.invalidArgValue('options.timeout', o.timeout, 'is not supported by a stream (use signal)')
    const st = new Multishot(this.#host, 'interval', -1, 'interval', 0, 1024, 0, 0, o.signal, ms)
    this.#streams.add(st)
    return st.start()
  }

  /** Ends every stream now, paused ones too (no request of theirs would tell them), closing the connections they queued. */
  destroyAll (): void {
    for (const st of [...this.#streams]) st.destroy(E.destroyed(st.syscall))
  }

  /** The ring has closed: nothing is left to end. */
  clear (): void {
    this.#streams.clear()
  }

  readonly #host: StreamHost = {
    arm: (st) => {
      const c = this.#c
      if (c.state !== 'open') return RES_CLOSED
      if ((st.kind === 'recv' || st.kind === 'read') && st.group < 0) {
        const g = c.ring.bufGroup(st.bufferCount, st.bufferSize)
        if (g < 0) return g
        st.group = g
      }
      const fn = c.fn
      const slot = st.kind === 'recv'
        ? fn.recvMulti(st.fd, st.group, st.flags)
        : st.kind === 'read'
          ? fn.readMulti(st.fd, st.group)
          : st.kind === 'interval' ? fn.interval(st.period) : fn.acceptMulti(st.fd, st.flags)
      if (slot < 0) return slot
      c.trackStream(slot, st)
      return slot
    },
    cancel: (slot) => { this.#c.ring.cancel(slot) },
    release: (st) => { if (this.#c.state !== 'closed') this.#c.ring.releaseGroup(st.group) },
    error: (res, st) => this.#c.streamError(res, st),
    disown: (fd, close) => { this.#c.fn.disown(fd, close) },
    forget: (st) => { this.#streams.delete(st) }
  }
}

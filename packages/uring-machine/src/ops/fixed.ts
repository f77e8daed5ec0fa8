// Registered (fixed) buffers of one Machine (kernel 5.19): reads, writes
// and zero-copy sends straight between them and a file or socket.
import * as E from '../errors'
import * as V from '../validate'
import { RegisteredBuffers } from '../registered'
import { type Engine, NUMBER } from '../completion'

export class FixedBuffers {
  readonly #c: Engine
  /** Registered buffers by registration id. */
  readonly #registered = new Map<RegisteredBuffers, number>()

  constructor (c: Engine) {
    this.#c = c
  }

  register (count: number, size: number): RegisteredBuffers {
    V.int(count, 'count', 1, 1024)
    V.int(size, 'size', 1, 1 << 30)
    if (count * size > 2 ** 31) throw E.outOfRange('count * size', '<= 2 GiB', count * size)
    if (this.#c.state !== 'open') throw E.destroyed('register_buffers')
    const { id, memory } = E.nativeCall(() => this.#c.ring.registerBuffers(count, size))
    const views = Array.from({ length: count }, (_, i) => Buffer.from(memory, i * size, size))
    const reg: RegisteredBuffers = new RegisteredBuffers(count, size, views, () => {
      this.#registered.delete(reg)
      return this.#c.state !== 'closed' && this.#c.ring.unregisterBuffers(id)
    })
    this.#registered.set(reg, id)
    return reg
  }

  #buffers (buffers: unknown, index: unknown): [number, number, Buffer] {
    if (!(buffers instanceof RegisteredBuffers)) throw E.invalidArgType('buffers', 'an instance of RegisteredBuffers', buffers)
    const id = this.#registered.get(buffers)
    if (id === undefined) throw E.notRegistered(buffers.registered ? 'the buffers are registered with another Machine' : 'the buffers are no longer registered')
    const i = V.int(index, 'index', 0, buffers.count - 1)
    return [id, i, buffers.buffers[i]!]
  }

  op (op: 'read' | 'write' | 'send', fd: number, buffers: RegisteredBuffers, index: number, options?: unknown): Promise<number> {
    V.fd(fd)
    const [id, i, b] = this.#buffers(buffers, index)
    const o = V.options(options)
    const [off, len] = V.range(b, 'buffer', o.offset, o.length)
    // A send's last argument is its flags; a read's or write's, the position.
    const last = op !== 'send' ? V.position(o.position) : o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
    const ring = this.#c.ready(o)
    if (ring === null) return this.#c.refuse(o, op)
    const submit = op === 'read' ? ring.readFixed : op === 'write' ? ring.writeFixed : ring.sendZcFixed
    return this.#c.track(submit(fd, id, i, off, len, last, o.timeout ?? 0), NUMBER, op, fd, undefined, o) as Promise<number>
  }

  /** The ring has closed: every registration is gone. */
  close (): void {
    for (const reg of this.#registered.keys()) reg.markGone()
    this.#registered.clear()
  }
}

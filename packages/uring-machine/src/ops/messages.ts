// Messages between Machines (IORING_OP_MSG_RING, kernel 5.18): post a
// value or pass an fd to another Machine of this process, and the inbox
// where they arrive for `receive()`.
import * as E from '../errors'
import * as V from '../validate'
import { type Engine, SLOT_MESSAGE_FD, TRACE, debug } from '../completion'
import type { MachineAddress, MachineMessage } from '../types'
import { OPS } from '../native.generated'
// Each op's syscall name and result kind, from the op table.
const { msgRing: MSG_RING, msgRingFd: MSG_RING_FD } = OPS

// EventTarget's own methods, so a signal cannot run code of its own in their place.
const addListener = EventTarget.prototype.addEventListener
const removeListener = EventTarget.prototype.removeEventListener

/** A message receiver waiting in `receive()`. */
interface Receiver {
  resolve: (m: MachineMessage) => void
  reject: (e: unknown) => void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
  timer: ReturnType<typeof setTimeout> | undefined
}

/** [ring fd, id] of a MachineAddress. */
function machineAddress (target: unknown): [number, number] {
  if (typeof target !== 'object' || target === null) throw E.invalidArgType('target', 'a MachineAddress (machine.address)', target)
  const { fd, id } = target as MachineAddress
  return [V.int(fd, 'target.fd', 0, 2 ** 31 - 1), V.int(id, 'target.id', 1, 2 ** 32 - 1)]
}

/** One Machine's messages: what it posts, and the inbox of what was posted to it. */
export class Mailbox {
  readonly #c: Engine
  /** Messages posted to this Machine that nobody has received yet. */
  readonly #inbox: MachineMessage[] = []
  readonly #receivers: Receiver[] = []

  constructor (c: Engine) {
    this.#c = c
  }

  get address (): MachineAddress {
    const [fd, id] = this.#c.ring.address()
    return Object.freeze({ fd, id })
  }

  post (target: MachineAddress, value: number, options?: V.OpOptions): Promise<void> {
    const [fd, id] = machineAddress(target)
    V.int(value, 'value', -(2 ** 31), 2 ** 31 - 1)
    const o = V.options(options)
    const ring = this.#c.ready(o)
    if (ring === null) return this.#c.refuse(o, MSG_RING.syscall)
    return this.#c.track(ring.msgRing(fd, id, value, o.timeout ?? 0), MSG_RING.result, MSG_RING.syscall, fd, undefined, o) as Promise<void>
  }

  sendFd (target: MachineAddress, fd: number, options?: V.OpOptions): Promise<void> {
    const [ringFd, id] = machineAddress(target)
    V.fd(fd)
    const o = V.options(options)
    const ring = this.#c.ready(o)
    if (ring === null) return this.#c.refuse(o, MSG_RING_FD.syscall)
    return this.#c.track(ring.msgRingFd(ringFd, id, fd, o.timeout ?? 0), MSG_RING_FD.result, MSG_RING_FD.syscall, ringFd, undefined, o) as Promise<void>
  }

  receive (options?: V.OpOptions): Promise<MachineMessage> {
    const o = V.options(options)
    if (this.#c.state !== 'open') return Promise.reject(E.destroyed('receive'))
    if (o.signal?.aborted === true) return Promise.reject(E.aborted(o.signal.reason))
    if (this.#inbox.length > 0) return Promise.resolve(this.#handOut(this.#inbox.shift()!))
    return new Promise<MachineMessage>((resolve, reject) => {
      const r: Receiver = { resolve, reject, signal: o.signal, onAbort: undefined, timer: undefined }
      const drop = (err: Error): void => {
        const i = this.#receivers.indexOf(r)
        if (i < 0) return
        this.#receivers.splice(i, 1)
        this.#settleReceiver(r)
        reject(err)
      }
      if (o.signal !== undefined) {
        const signal = o.signal
        r.onAbort = () => drop(E.aborted(signal.reason))
        addListener.call(signal, 'abort', r.onAbort, { once: true })
      }
      if (o.timeout !== undefined) {
        const ms = o.timeout
        r.timer = setTimeout(() => drop(E.timedOut('receive', ms)), ms)
      }
      this.#receivers.push(r)
      this.#c.ring.hold(1)
    })
  }

  #settleReceiver (r: Receiver): void {
    if (r.timer !== undefined) clearTimeout(r.timer)
    if (r.onAbort !== undefined) {
      try { removeListener.call(r.signal!, 'abort', r.onAbort) } catch {}
    }
    if (this.#c.state !== 'closed') this.#c.ring.hold(-1)
  }

  onMessage (kind: number, value: number): void {
    const msg: MachineMessage = kind === SLOT_MESSAGE_FD ? { type: 'fd', fd: value } : { type: 'value', value }
    if (TRACE) debug('message %s %d', msg.type, value)
    const r = this.#receivers.shift()
    if (r === undefined) {
      this.#inbox.push(msg) // a passed fd stays held natively until received
      return
    }
    this.#settleReceiver(r)
    r.resolve(this.#handOut(msg))
  }

  #handOut (msg: MachineMessage): MachineMessage {
    if (msg.type === 'fd') this.#c.fn.disown(msg.fd, false)
    return msg
  }

  /** The ring has closed: receivers reject; passed fds nobody received were held natively, and closed by the teardown. */
  close (): void {
    for (const r of this.#receivers.splice(0)) {
      this.#settleReceiver(r)
      r.reject(E.destroyed('receive'))
    }
    this.#inbox.length = 0
  }
}

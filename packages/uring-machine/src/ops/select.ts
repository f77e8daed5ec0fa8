// select: one poll op per fd, the first completion cancelling the rest.
import * as E from '../errors'
import * as V from '../validate'
import { POLLIN, POLLOUT, POLLPRI, POLLERR, POLLHUP, POLLNVAL, POLLRDHUP } from '../constants'
import type { Engine } from '../completion'
import type { SelectResult } from '../types'
import { sleep, poll } from './ring'

// EventTarget's own method, so a signal cannot run code of its own in its place.
const addListener = EventTarget.prototype.addEventListener

export async function select (c: Engine, read: readonly number[], write: readonly number[], except: readonly number[] = [], options?: V.OpOptions): Promise<SelectResult> {
  const want: Array<[number, number, 'read' | 'write' | 'except']> = []
  for (const [list, events, kind, name] of [
    [read, POLLIN | POLLRDHUP, 'read', 'read'],
    [write, POLLOUT, 'write', 'write'],
    [except, POLLPRI, 'except', 'except']
  ] as const) {
    if (!Array.isArray(list)) throw E.invalidArgType(name, 'an Array of fds', list)
    for (let i = 0; i < list.length; i++) want.push([V.fd(list[i], `${name}[${i}]`), events, kind])
  }
  const o = V.options(options)
  const result: SelectResult = { read: [], write: [], except: [] }
  const note = (fd: number, kind: 'read' | 'write' | 'except', revents: number): void => {
    // Errors and hang-ups count as ready (a read or write would not block).
    const ready = kind === 'except'
      ? (revents & POLLPRI) !== 0
      : (revents & (kind === 'read' ? POLLIN | POLLRDHUP : POLLOUT)) !== 0 || (revents & (POLLERR | POLLHUP | POLLNVAL)) !== 0
    if (ready) result[kind].push(fd)
  }
  if (want.length === 0) {
    if (o.timeout !== undefined) await sleep(c, o.timeout, { signal: o.signal })
    return result
  }
  if (want.length === 1) {
    // Fast path: one fd, one op, no cancellation to arrange.
    const [fd, events, kind] = want[0]!
    try {
      note(fd, kind, await poll(c, fd, events, o))
    } catch (err) {
      if ((err as E.SystemError).code !== 'ETIMEDOUT' || o.timeout === undefined) throw err
    }
    return result
  }
  const stop = new AbortController()
  const signal = o.signal === undefined ? stop.signal : anySignal(stop, o.signal)
  const polls = want.map(([fd, events, kind]) => poll(c, fd, events, { signal }).then((revents) => {
    note(fd, kind, revents)
    stop.abort()
  }))
  const timer = o.timeout === undefined ? undefined : sleep(c, o.timeout, { signal }).then(() => stop.abort(), () => {})
  const settled = await Promise.allSettled(polls)
  await timer
  for (const s of settled) {
    if (s.status === 'rejected' && !(s.reason instanceof E.AbortError)) throw s.reason
  }
  if (o.signal?.aborted === true && result.read.length + result.write.length + result.except.length === 0) {
    throw E.aborted(o.signal.reason)
  }
  return result
}

/** `stop`'s signal, also aborted when `other` is (AbortSignal.any is Node 20.3+). */
function anySignal (stop: AbortController, other: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([stop.signal, other])
  if (other.aborted) stop.abort(other.reason)
  else addListener.call(other, 'abort', () => stop.abort(other.reason), { once: true })
  return stop.signal
}

// The schedulers: the interface (./hooks.ts), what both implementations
// share (./base.ts), UringScheduler (./uring.ts), NodeScheduler
// (./node.ts), and the choice between them.
import { Machine } from '../machine'
import { fromNative, unsupported } from '../errors'
import { binding, loadFailure } from '../native'
import type { Scheduler } from './hooks'
import { UringScheduler } from './uring'
import { NodeScheduler } from './node'

export type { Scheduler, SpawnedProcess } from './hooks'
export { BaseScheduler } from './base'
export { UringScheduler, toNodeStats } from './uring'
export { NodeScheduler, nodeFs } from './node'

/** The best scheduler available here: UringScheduler where io_uring works, else NodeScheduler. `reason` says why. */
export function defaultScheduler (): { scheduler: Scheduler, reason: string } {
  const why = Machine.unavailableReason()
  if (why === null) return { scheduler: new UringScheduler(), reason: 'io_uring is available' }
  return { scheduler: new NodeScheduler(), reason: `io_uring is unavailable (${why}); using Node's own I/O` }
}

/** A close-on-exec pipe [readFd, writeFd] (a plain syscall; works without io_uring). */
export function pipe (size = 65536): [number, number] {
  if (binding === null) throw unsupported('node', 'pipe', loadFailure ?? 'no native binding')
  const [r, w] = binding.pipe(size)
  return [r, w]
}

/** A close-on-exec AF_UNIX stream socket pair (a plain syscall; works without io_uring). */
export function socketpair (): [number, number] {
  if (binding === null) throw unsupported('node', 'socketpair', loadFailure ?? 'no native binding')
  try {
    const [a, b] = binding.socketpair()
    return [a, b]
  } catch (err) {
    throw fromNative(err, 'socketpair')
  }
}

/**
 * uring-machine: io_uring for Node.js.
 *
 * ```ts
 * import { Machine, constants } from 'uring-machine'
 * const m = new Machine()
 * const fd = await m.open('/etc/hostname')
 * const buf = Buffer.alloc(256)
 * const n = await m.read(fd, buf, { position: 0 })
 * await m.close(fd)
 * await m.destroy()
 * ```
 */
export { Machine } from './machine'
export type {
  MachineOptions, Metrics, Probe, ReadOptions, WriteOptions, VectorOptions, StatOptions, FsyncOptions,
  SocketIoOptions, AcceptOptions, OpOptions, SocketAddress, InetAddress, UnixAddress,
  MkdirOptions, RenameOptions, FallocateOptions, SelectResult, SpliceOptions, CopyOptions, GetXattrOptions, SetXattrOptions, SpawnOptions, StdioSpec,
  MultishotOptions, AcceptMultiOptions, ResolveOptions, LookupAddress, MachineAddress, MachineMessage
} from './machine'
export { RegisteredBuffers } from './registered'
export { Stats, BigIntStats } from './stats'
export { Mutex } from './mutex'
export { Queue } from './queue'
export { Subprocess } from './process'
export type { ChildStatus } from './process'
export type { QueueOptions } from './queue'
export { AbortError } from './errors'
export type { SystemError } from './errors'
export * as constants from './constants'

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
import { settleDefaultScheduler } from './install'
export { Machine, Batch } from './machine'
export type {
  MachineOptions, Metrics, Probe, ReadOptions, WriteOptions, VectorOptions, StatOptions, FsyncOptions,
  SocketIoOptions, AcceptOptions, OpOptions, SocketAddress, InetAddress, UnixAddress,
  MkdirOptions, RenameOptions, FallocateOptions, SelectResult, SpliceOptions, CopyOptions, GetXattrOptions, SetXattrOptions, SpawnOptions, StdioSpec,
  MultishotOptions, AcceptMultiOptions, ResolveOptions, LookupAddress, MachineAddress, MachineMessage,
  SocketOption, SocketName,
  ReadFileOptions, WriteFileOptions, StatManyOptions, BatchResult, BatchError, BatchSubmitOptions
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
export { UringScheduler, NodeScheduler, BaseScheduler, defaultScheduler, pipe, socketpair } from './scheduler'
export type { Scheduler, SpawnedProcess } from './scheduler'
export { Task, schedule, setScheduler, runWithScheduler, currentScheduler, currentTask } from './tasks'
export type { TaskStatus } from './tasks'
export { TaskMutex, Condition, Semaphore, TaskQueue, Barrier, Notification } from './sync'
export type { WaitOptions } from './sync'
export { install, uninstall, installed } from './install'

// Under the register entry, the default scheduler is made the thread's at
// first use; loading the API is a use (currentScheduler() must see it).
settleDefaultScheduler()

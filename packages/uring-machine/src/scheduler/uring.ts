// The scheduler on io_uring: every hook is one Machine op (or a few).
import * as fs from 'node:fs'
import type { Stats as NodeStats, BigIntStats as NodeBigIntStats } from 'node:fs'
import { Machine, kTransfer } from '../machine'
import type { SelectResult, SocketAddress } from '../types'
import type { ChildStatus } from '../process'
import * as C from '../constants'
import { currentSignal } from '../tasks'
import { BaseScheduler } from './base'
import type { SpawnedProcess } from './hooks'

// Node's own Stats classes and key order, taken from a real result.
const statsProto = Object.getPrototypeOf(fs.statSync('/')) as object
const bigStatsProto = Object.getPrototypeOf(fs.statSync('/', { bigint: true })) as object
const statsKeys = Object.keys(fs.statSync('/'))
const bigStatsKeys = Object.keys(fs.statSync('/', { bigint: true }))

/** A statx result as a real fs.Stats / fs.BigIntStats (instanceof, methods, key order). */
export function toNodeStats (st: Record<string, number | bigint>, bigint: boolean): NodeStats | NodeBigIntStats {
  const out = Object.create(bigint ? bigStatsProto : statsProto) as Record<string, unknown>
  for (const k of bigint ? bigStatsKeys : statsKeys) {
    if (k.endsWith('time') && !k.endsWith('Ms')) {
      // As Node makes them: the ms rounded (a Date would truncate).
      out[k] = new Date(Math.round(Number(st[`${k}Ms`])))
    } else {
      out[k] = st[k]
    }
  }
  return out as unknown as NodeStats
}

const ETIMEDOUT = 'ETIMEDOUT'

/** The scheduler on io_uring: every hook is one Machine op (or a few). */
export class UringScheduler extends BaseScheduler {
  readonly name = 'uring'
  readonly machine: Machine
  readonly #owned: boolean

  /** On `machine`, or on a Machine of its own (destroyed by close()). */
  constructor (machine?: Machine) {
    super()
    this.#owned = machine === undefined
    this.machine = machine ?? new Machine()
  }

  ioRead (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number> {
    return this.machine[kTransfer](false, fd, buffer, offset, length, -1, currentSignal())
  }

  ioWrite (fd: number, buffer: Uint8Array, offset?: number, length?: number): Promise<number> {
    return this.machine[kTransfer](true, fd, buffer, offset, length, -1, currentSignal())
  }

  ioPread (fd: number, buffer: Uint8Array, position: number, offset?: number, length?: number): Promise<number> {
    return this.machine[kTransfer](false, fd, buffer, offset, length, position, currentSignal())
  }

  ioPwrite (fd: number, buffer: Uint8Array, position: number, offset?: number, length?: number): Promise<number> {
    return this.machine[kTransfer](true, fd, buffer, offset, length, position, currentSignal())
  }

  async ioWait (fd: number, events: number, timeout?: number): Promise<number | false> {
    try {
      return await this.machine.poll(fd, events, { signal: currentSignal(), timeout })
    } catch (err) {
      if (timeout !== undefined && (err as { code?: string }).code === ETIMEDOUT) return false
      throw err
    }
  }

  ioSelect (readFds: readonly number[], writeFds: readonly number[], exceptFds: readonly number[] = [], timeout?: number): Promise<SelectResult> {
    return this.machine.select(readFds, writeFds, exceptFds, { signal: currentSignal(), timeout })
  }

  /** Closes `fd`; hooks still waiting on it reject with ECANCELED (their kernel ops are cancelled first). */
  async ioClose (fd: number): Promise<void> {
    // Whatever the cancel meets, the close runs: its error is the one reported.
    if (this.machine.metrics().pending > 0) await this.machine.cancelFd(fd).catch(() => {})
    return await this.machine.close(fd)
  }

  /**
   * The whole file, in one op chain (Machine.readFile): not a hook of the
   * interface, an offer install() takes where the scheduler makes it.
   */
  readWholeFile (path: string, flags: number): Promise<Buffer> {
    const signal = currentSignal()
    return this.machine.readFile(path, signal === undefined ? { flag: flags } : { flag: flags, signal }) as Promise<Buffer>
  }

  /**
   * copyFile in the core (Machine.copyFile): not a hook of the interface,
   * an offer install() takes where the scheduler makes it.
   */
  copyWholeFile (src: string, dest: string, mode: number): Promise<void> {
    const signal = currentSignal()
    return this.machine.copyFile(src, dest, mode, signal === undefined ? undefined : { signal })
  }

  /** The whole file written in one op chain (Machine.writeFile): like readWholeFile, an offer install() takes. */
  writeWholeFile (path: string, data: Uint8Array, flags: number, mode: number): Promise<void> {
    const signal = currentSignal()
    return this.machine.writeFile(path, data, signal === undefined ? { flag: flags, mode } : { flag: flags, mode, signal })
  }

  ioOpen (path: string, flags: number, mode = 0o666): Promise<number> {
    return this.machine.open(path, flags, mode, { signal: currentSignal() })
  }

  async ioStat (pathOrFd: string | number, options?: { bigint?: boolean, followSymlinks?: boolean }): Promise<NodeStats | NodeBigIntStats> {
    let st
    try {
      st = await this.machine.statx(pathOrFd, { bigint: options?.bigint === true, followSymlinks: options?.followSymlinks !== false, signal: currentSignal() })
    } catch (err) {
      // Named as Node names it: the call it stands for, not statx.
      const e = err as { syscall?: string, message: string, fd?: number }
      if (e.syscall === 'statx') {
        const name = typeof pathOrFd === 'number' ? 'fstat' : options?.followSymlinks === false ? 'lstat' : 'stat'
        e.syscall = name
        e.message = e.message.replace(', statx', `, ${name}`)
        delete e.fd
      }
      throw err
    }
    return toNodeStats(st as unknown as Record<string, number | bigint>, options?.bigint === true)
  }

  ioUnlink (path: string, directory = false): Promise<void> {
    return directory ? this.machine.rmdir(path, { signal: currentSignal() }) : this.machine.unlink(path, { signal: currentSignal() })
  }

  ioRename (from: string, to: string): Promise<void> {
    return this.machine.rename(from, to, { signal: currentSignal() })
  }

  ioMkdir (path: string, mode = 0o777): Promise<void> {
    return this.machine.mkdir(path, { mode, signal: currentSignal() })
  }

  kernelSleep (ms?: number): Promise<void> {
    return this.machine.sleep(ms ?? 2 ** 31 - 1, { signal: currentSignal() })
  }

  processWait (pid: number, flags = C.WEXITED): Promise<ChildStatus | null> {
    return this.machine.waitid(C.P_PID, pid, flags, { signal: currentSignal() })
  }

  async addressResolve (hostname: string): Promise<string[]> {
    return (await this.machine.resolve(hostname, { signal: currentSignal() })).map((a) => a.address)
  }

  copy (srcFd: number, dstFd: number, length?: number): Promise<number> {
    return this.machine.copy(srcFd, dstFd, length === undefined ? { signal: currentSignal() } : { length, signal: currentSignal() })
  }

  // The file hooks of install-more.ts: one Machine op each.
  ioFsync (fd: number, datasync = false): Promise<void> {
    return this.machine.fsync(fd, { datasync, signal: currentSignal() })
  }

  ioTruncate (fd: number, length: number): Promise<void> {
    return this.machine.ftruncate(fd, length, { signal: currentSignal() })
  }

  ioReadv (fd: number, buffers: readonly Uint8Array[], position: number | null = null): Promise<number> {
    return this.machine.readv(fd, buffers, { position, signal: currentSignal() })
  }

  ioWritev (fd: number, buffers: readonly Uint8Array[], position: number | null = null): Promise<number> {
    return this.machine.writev(fd, buffers, { position, signal: currentSignal() })
  }

  ioLink (existingPath: string, newPath: string): Promise<void> {
    return this.machine.link(existingPath, newPath, { signal: currentSignal() })
  }

  ioSymlink (target: string, path: string): Promise<void> {
    return this.machine.symlink(target, path, { signal: currentSignal() })
  }

  async processSpawn (file: string, args: readonly string[] = []): Promise<SpawnedProcess> {
    const child = this.machine.spawn(file, args, { stdio: 'inherit' })
    const signal = currentSignal()
    return { pid: child.pid, wait: () => child.wait(signal === undefined ? {} : { signal }), kill: (sig) => child.kill(sig) }
  }

  socketAccept (fd: number): Promise<number> {
    return this.machine.accept(fd, { signal: currentSignal() })
  }

  socketConnect (fd: number, address: SocketAddress): Promise<void> {
    return this.machine.connect(fd, address, { signal: currentSignal() })
  }

  socketRecv (fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    return this.machine.recv(fd, buffer, { offset, length, signal: currentSignal() })
  }

  socketSend (fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    return this.machine.send(fd, buffer, { offset, length, signal: currentSignal() })
  }

  protected async closeResources (): Promise<void> {
    if (this.#owned) await this.machine.destroy()
  }
}

// Loads the native binding: the .node file built beside this package, or
// the per-platform package that carries the prebuilt one.
import { join } from 'node:path'
import { familySync } from './libc'
import type { TableOps } from './native.generated'
export type { TableOps, OpInfo, ResultKind } from './native.generated'
export { OPS } from './native.generated'

/** The native ring handle (crates/node/src/class.rs). */
export interface NativeRing {
  cancel (slot: number): boolean
  close (): boolean
  metrics (): NativeMetrics
  /** An SQPOLL ring that saw its thread's credentials change (it refuses every op). */
  credentialsChanged (): boolean
  features (): NativeFeatures | null
  functions (): NativeOps
  /** The Int32Array of (slot, result) pairs, over memory the native side owns. */
  results (): Int32Array
  /** [ring fd, machine id]: where other Machines post messages to this one. */
  address (): [number, number]
  /** Message waiters: the loop stays alive while their count is above 0. */
  hold (delta: number): void
  /** A provided-buffer group: its id, or a negative code. */
  bufGroup (count: number, size: number): number
  releaseGroup (id: number): void
  /** Registered buffers: the registration's id and its memory. Throws "<errno>:register_buffers". */
  registerBuffers (count: number, size: number): { id: number, memory: ArrayBuffer }
  unregisterBuffers (id: number): boolean
}

/**
 * The op functions (crates/node/src/ops/); each returns a slot or a negative
 * code. The op table's own (every `js` entry of crates/core/src/table.rs)
 * are generated into native.generated.ts; the few that make no op are
 * declared here.
 */
export interface NativeOps extends TableOps {
  /** getsockname(2)/getpeername(2) at once (no op): 0 (`out` = [family, address or path, port]) or -errno. */
  sockName (fd: number, peer: boolean, out: unknown[]): number
  /** Submits what is queued now (one io_uring_enter); the count, or a negative code. */
  flush (): number
  /**
   * Hands out (`close` false) or drops (`close` true) an fd the native side
   * holds for the caller: a queued multishot accept's connection or a passed
   * fd. 1 if it was held; 0 if not (teardown has closed it already).
   */
  disown (fd: number, close: boolean): number
  /** A readFile chain (crates/node/src/ops/chain.rs): its data is the Buffer at dsts[slot]. */
  readFile (path: string | Uint8Array, flags: number, mode: number): number
  /** A writeFile chain: open, write view[offset..offset+length], fsync if flush, close. */
  writeFile (path: string | Uint8Array, flags: number, mode: number, view: ArrayBufferView, offset: number, length: number, flush: boolean): number
  /** A copy in the core (crates/node/src/ops/copy.rs): length and positions -1 for EOF / the file's own; [bytes, side] go to the Float64Array at dsts[slot]. */
  copy (srcFd: number, dstFd: number, length: number, srcPosition: number, dstPosition: number): number
  /** copyFile in the core: open, statx, open, statx, truncate, fchmod, the splice loop, closes; COPYFILE_* mode. */
  copyFile (src: string | Uint8Array, dest: string | Uint8Array, mode: number): number
  /**
   * A chain of the caller's steps (batch.ts encodes them, crates/node/src/ops/chain.rs
   * reads them); results into [Int32Array(steps), per step its read view or statx array] at dsts[slot].
   */
  batch (steps: unknown[][]): number
  /** statx of every path, independent steps; results into [Int32Array(n), statx array(18 n)] at dsts[slot]. */
  statMany (paths: Array<string | Uint8Array>, flags: number, mask: number): number
  /** Holds an fd of the package's own (closed at teardown unless disowned first); 1, or a negative code. */
  hold (fd: number): number
}

export interface NativeMetrics {
  sqEntries: number
  cqEntries: number
  opsSubmitted: number
  opsCompleted: number
  pending: number
  unsubmitted: number
  enters: number
  completionBatches: number
  cqOverflows: number
  sqFullFlushes: number
  cancels: number
  timeouts: number
  fallbacks: number
  /** Completions of multishot ops other than their last. */
  multishotCompletions: number
  /** Messages other Machines posted to this one. */
  messages: number
  /** Profile mode only: ns spent inside io_uring_enter. */
  enterNs: number
  /** Profile mode only: ns from queueing to completion, summed over completed ops. */
  opLatencyNs: number
  /** Profile mode only: the longest op latency, in ns. */
  opLatencyMaxNs: number
  /** Slots of the ring's registered file table that op chains hold now (0 when idle: a leak check). */
  fileSlotsInUse: number
}

export interface NativeFeatures {
  kernel: string
  ops: Record<string, boolean>
  setupFlags: string[]
  features: string[]
}

export interface Binding {
  Ring: new (entries: number, sqpoll: number, profile: boolean, offload: boolean, dsts: unknown[], callback: (n: number) => void) => NativeRing
  probe (): NativeFeatures
  unavailableReason (): string | null
  statFields (): string[]
  pipe (size: number): [number, number]
  spawn (file: string, args: string[], env: string[] | null, cwd: string | null, stdio: number[]): [number, number, number, number, number]
  pidfdOpen (pid: number): number
  pidfdSendSignal (pidfd: number, signal: number): void
  socketpair (): [number, number]
  setNonblocking (fd: number, on: boolean): void
  pollNow (fds: number[], events: number[]): number[]
  /** The codes a completion pair carries beyond errno (crates/node/src/constants.rs). */
  resultCodes (): { detached: number, closed: number, slotMore: number, slotMessage: number, slotMessageFd: number }
  /** This target's kernel constants by C name, from the libc crate (see constants.ts). */
  kernelConstants (): Record<string, number>
}

function platformTag (): string | null {
  if (process.platform !== 'linux') return null
  const arch = ({ x64: 'x64', arm64: 'arm64' } as Record<string, string>)[process.arch]
  if (arch === undefined) return null
  return `linux-${arch}-${familySync()}`
}

// The environment variable that names a binary to load instead of the
// packaged one (napi-rs's generated loaders read NAPI_RS_NATIVE_LIBRARY_PATH;
// both are honoured so either habit works).
export const PATH_ENV = 'URING_MACHINE_NATIVE_PATH'

function firstLine (err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!
}

function load (): { binding: Binding | null, reason: string | null } {
  if ((process.versions as Record<string, string | undefined>).bun !== undefined) {
    return { binding: null, reason: "Bun's event loop does not expose libuv, which uring-machine's completion path hooks into (a Bun path is planned)" }
  }
  const override = process.env[PATH_ENV] || process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  if (override) {
    // An explicit choice is not second-guessed by a fallback: it loads or it says why.
    try {
      return { binding: require(override) as Binding, reason: null }
    } catch (err) {
      return { binding: null, reason: `${PATH_ENV}=${override} could not be loaded: ${firstLine(err)}` }
    }
  }
  const tag = platformTag()
  if (tag === null) return { binding: null, reason: `io_uring is Linux-only; this is ${process.platform}-${process.arch}` }
  const version = (require('../package.json') as { version: string }).version
  const pkg = `@uring-machine/binding-${tag}`
  const errors: string[] = []
  // 1. A binary built in this checkout (npm run build puts it beside the package).
  const local = join(__dirname, '..', `uring-machine.${tag}.node`)
  try {
    return { binding: require(local) as Binding, reason: null }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') errors.push(`${local}: ${firstLine(err)}`)
  }
  // 2. The platform package npm installed as an optional dependency. Its
  // version must be ours exactly: the JS side and the binary share an
  // argument order and result codes that change between releases.
  try {
    const found = (require(`${pkg}/package.json`) as { version: string }).version
    if (found !== version) {
      errors.push(`${pkg}@${found} is installed but uring-machine@${version} needs ${pkg}@${version}`)
    } else {
      return { binding: require(pkg) as Binding, reason: null }
    }
  } catch (err) {
    errors.push(`${pkg}: ${firstLine(err)}`)
  }
  return {
    binding: null,
    reason: `no native binding could be loaded for ${tag}: install ${pkg}@${version} ` +
      `(npm installs it with uring-machine unless optional dependencies are omitted; or set ${PATH_ENV}). Tried: ${errors.join('; ')}`
  }
}

export const { binding, reason: loadFailure } = load()

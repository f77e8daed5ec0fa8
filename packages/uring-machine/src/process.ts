// Child processes: spawned with posix_spawn (no fork hazards in a threaded
// process), named by a pidfd (signals never reach a recycled pid), waited
// for through the ring (IORING_OP_WAITID, kernel 6.7).
import { closeSync } from 'node:fs'
import { constants as os } from 'node:os'
import { invalidState } from './errors'
import { CLD_EXITED } from './constants'

/** How a child ended (or changed state), like child_process's 'exit' arguments. */
export interface ChildStatus {
  pid: number
  /** The exit status, if it exited; null if a signal ended it. */
  exitCode: number | null
  /** The signal's name ('SIGTERM'...) if one ended (or stopped) it; else null. */
  signal: string | null
  /** The raw si_code: CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, ... */
  code: number
}

/** What `Machine.spawn` returns. */
export class Subprocess {
  #waited: Promise<ChildStatus> | undefined
  #reaped = false
  readonly #wait: (pidfd: number, signal: AbortSignal | undefined) => Promise<ChildStatus>
  readonly #kill: (pidfd: number, signal: string | number) => void
  readonly #forget: (pid: number) => void

  /** @internal */
  constructor (
    readonly pid: number,
    /** A pidfd naming the child (closed once it has been waited for). */
    readonly pidfd: number,
    /** The parent's end of the child's stdin pipe (stdio 'pipe'), else null. */
    readonly stdin: number | null,
    readonly stdout: number | null,
    readonly stderr: number | null,
    wait: (pidfd: number, signal: AbortSignal | undefined) => Promise<ChildStatus>,
    kill: (pidfd: number, signal: string | number) => void,
    forget: (pid: number) => void
  ) {
    this.#wait = wait
    this.#kill = kill
    this.#forget = forget
  }

  /** Waits for the child to end and reaps it (no zombie is left); the same promise every call. */
  wait (options?: { signal?: AbortSignal }): Promise<ChildStatus> {
    if (this.#waited === undefined) {
      const p = this.#wait(this.pidfd, options?.signal).then((status) => {
        this.#reaped = true
        this.#forget(this.pid)
        try { closeSync(this.pidfd) } catch {}
        return status
      })
      // An aborted wait may be retried.
      p.catch(() => { if (!this.#reaped) this.#waited = undefined })
      this.#waited = p
    }
    return this.#waited
  }

  /** Sends `signal` (default 'SIGTERM') through the pidfd: never to a recycled pid. */
  kill (signal: string | number = 'SIGTERM'): void {
    if (this.#reaped) throw invalidState('the process has been waited for')
    this.#kill(this.pidfd, signal)
  }
}

const signalNames = new Map(Object.entries(os.signals).map(([name, n]) => [n, name]))

/** A waitid result from the native [pid, code, status]; null when WNOHANG found nothing. */
export function childStatus (f: Float64Array): ChildStatus | null {
  const [pid, code, status] = [f[0]!, f[1]!, f[2]!]
  if (pid === 0) return null
  const exited = code === CLD_EXITED
  return { pid, code, exitCode: exited ? status : null, signal: exited ? null : signalNames.get(status) ?? String(status) }
}

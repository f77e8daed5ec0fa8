// Child processes: waitid through the ring, spawn (posix_spawn) and the
// pidfd calls. `children` is the Machine's set of pids it spawned and has
// not reaped: only these may be reaped by pid.
import { constants as os } from 'node:os'
import * as E from '../errors'
import * as V from '../validate'
import { binding, loadFailure } from '../native'
import { P_PID, P_PIDFD, WEXITED, WNOWAIT } from '../constants'
import { Subprocess, type ChildStatus } from '../process'
import type { Engine } from '../completion'
import type { SpawnOptions } from '../types'
import { OPS } from '../native.generated'
// Each op's syscall name and result kind, from the op table.
const { waitid: WAITID } = OPS

export function waitid (c: Engine, children: Set<number>, idtype: number, id: number, flags = WEXITED, options?: V.OpOptions): Promise<ChildStatus | null> {
  V.int(idtype, 'idtype', 0, 3)
  V.int(id, 'id', 0, 2 ** 31 - 1)
  V.int(flags, 'flags', 0, 2 ** 31 - 1)
  const ours = idtype === P_PIDFD || (idtype === P_PID && children.has(id))
  const opts = ours ? flags : flags | WNOWAIT
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, WAITID.syscall)
  const out = new Float64Array(3)
  return c.track(ring.waitid(idtype, id, opts, o.timeout ?? 0), WAITID.result, WAITID.syscall, -1, undefined, o, out) as Promise<ChildStatus | null>
}

export function spawn (c: Engine, children: Set<number>, file: string, args: readonly string[] = [], options?: SpawnOptions): Subprocess {
  // NUL bytes are refused as child_process.spawn refuses them: same code, same wording.
  if (typeof file !== 'string' || file.length === 0) throw E.invalidArgType('file', 'a non-empty string', file)
  if (file.includes('\u0000')) throw E.nullBytes('file', file)
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw E.invalidArgType('args', 'an Array of strings', args)
  args.forEach((a, i) => { if (a.includes('\u0000')) throw E.nullBytes(`args[${i}]`, a) })
  const o = (options ?? {}) as SpawnOptions
  if (typeof o !== 'object') throw E.invalidArgType('options', 'of type object', o)
  if (o.cwd !== undefined && typeof o.cwd !== 'string') throw E.invalidArgType('options.cwd', 'of type string', o.cwd)
  if (o.cwd?.includes('\u0000') === true) throw E.nullBytes('options.cwd', o.cwd)
  let env: string[] | null = null
  if (o.env !== undefined) {
    if (typeof o.env !== 'object' || o.env === null) throw E.invalidArgType('options.env', 'of type object', o.env)
    env = []
    for (const [k, v] of Object.entries(o.env)) {
      if (v === undefined) continue
      const name = `options.env['${k}']`
      let text: string
      try {
        text = String(v)
      } catch {
        throw E.invalidArgValue(name, v, 'must be convertible to a string') // a detached view, a throwing toString
      }
      if (k.includes('\u0000')) throw E.nullBytes(name, k)
      if (text.includes('\u0000')) throw E.nullBytes(name, text)
      env.push(`${k}=${text}`)
    }
  }
  const stdio = (Array.isArray(o.stdio) ? o.stdio : [o.stdio, o.stdio, o.stdio]).map((s, i) => {
    if (s === undefined || s === 'inherit') return -1
    if (s === 'ignore') return -2
    if (s === 'pipe') return -3
    return V.fd(s, `options.stdio[${i}]`)
  })
  if (c.state !== 'open') throw E.destroyed('spawn')
  if (binding === null) throw E.unavailable(loadFailure ?? 'no binding')
  const [pid, pidfd, stdin, stdout, stderr] = E.nativeCall(() => binding!.spawn(file, [file, ...args], env, o.cwd ?? null, stdio), { path: file })
  children.add(pid)
  const none = (fd: number): number | null => fd < 0 ? null : fd
  return new Subprocess(pid, pidfd, none(stdin), none(stdout), none(stderr),
    (fd, signal) => waitid(c, children, P_PIDFD, fd, WEXITED, { signal }) as Promise<ChildStatus>,
    (fd, sig) => pidfdSendSignal(fd, sig),
    (p) => children.delete(p))
}

export function pidfdOpen (pid: number): number {
  V.int(pid, 'pid', 1, 2 ** 31 - 1)
  if (binding === null) throw E.unavailable(loadFailure ?? 'no binding')
  return E.nativeCall(() => binding!.pidfdOpen(pid))
}

export function pidfdSendSignal (pidfd: number, signal: string | number): void {
  V.fd(pidfd, 'pidfd')
  const sig = typeof signal === 'number' ? V.int(signal, 'signal', 0, 64) : (os.signals as Record<string, number>)[signal]
  if (sig === undefined) throw E.invalidArgValue('signal', signal, 'must be a signal name or number')
  if (binding === null) throw E.unavailable(loadFailure ?? 'no binding')
  E.nativeCall(() => binding!.pidfdSendSignal(pidfd, sig), { fd: pidfd })
}

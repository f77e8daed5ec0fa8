// Every error this package raises is made here: one table from errno to
// `code`, one shape per kind, Node's conventions throughout. Nothing else
// calls `new Error` (scripts/check-house.mjs does not check that; the
// codes are pinned in tests/errors.test.mjs).
import { getSystemErrorMap, inspect } from 'node:util'
import { constants as osConstants } from 'node:os'

const systemErrors = getSystemErrorMap()

// Node's map is libuv's, which lacks some errnos the kernel returns here
// (ECHILD from waitid, ESTALE, ENOEXEC...): their names come from
// os.constants.errno, their texts from glibc's strerror.
const moreErrors: Record<string, string> = {
  EBADMSG: 'bad message',
  ECHILD: 'no child processes',
  EDEADLK: 'resource deadlock avoided',
  EDOM: 'numerical argument out of domain',
  EDQUOT: 'disk quota exceeded',
  EIDRM: 'identifier removed',
  EINPROGRESS: 'operation now in progress',
  EMULTIHOP: 'multihop attempted',
  ENETRESET: 'network dropped connection on reset',
  ENOEXEC: 'exec format error',
  ENOLCK: 'no locks available',
  ENOLINK: 'link has been severed',
  ENOMSG: 'no message of desired type',
  ENOSR: 'out of streams resources',
  ENOSTR: 'device not a stream',
  ESTALE: 'stale file handle',
  ETIME: 'timer expired'
}
for (const [name, n] of Object.entries(osConstants.errno)) {
  if (!systemErrors.has(-n)) systemErrors.set(-n, [name, moreErrors[name] ?? name.toLowerCase()])
}
// Linux errnos os.constants.errno does not list either (x86-64/arm64 numbers).
if (process.platform === 'linux' && !systemErrors.has(-77)) systemErrors.set(-77, ['EBADFD', 'file descriptor in bad state'])

/** Extra fields Node puts on a SystemError where they are known. */
export interface SystemErrorInfo {
  path?: string | Buffer | undefined
  /** The second path of rename, link and symlink. */
  dest?: string | undefined
  fd?: number | undefined
  address?: string | undefined
  port?: number | undefined
}

/**
 * A kernel error, shaped like Node's own (`fs`, `net`): `errno` is the
 * negative errno, `code` its name, `syscall` the operation.
 */
export interface SystemError extends Error {
  errno: number
  code: string
  syscall: string
  path?: string
  dest?: string
  fd?: number
  address?: string
  port?: number
}

export function systemError (res: number, syscall: string, info?: SystemErrorInfo): SystemError {
  const [code, description] = systemErrors.get(res) ?? [`Unknown system error ${res}`, 'unknown error']
  let message = `${code}: ${description}, ${syscall}`
  if (info?.path !== undefined) message += ` '${String(info.path)}'` + (info.dest !== undefined ? ` -> '${info.dest}'` : '')
  else if (info?.address !== undefined) message += ` ${info.address}${info.port !== undefined ? `:${info.port}` : ''}`
  const err = new Error(message) as SystemError
  err.errno = res
  err.code = code
  err.syscall = syscall
  if (info?.path !== undefined) err.path = String(info.path)
  if (info?.dest !== undefined) err.dest = info.dest
  if (info?.fd !== undefined) err.fd = info.fd
  if (info?.address !== undefined) err.address = info.address
  if (info?.port !== undefined) err.port = info.port
  return err
}

/** Rejection of an op whose AbortSignal fired (`code` 'ABORT_ERR', like Node's). */
export class AbortError extends Error {
  declare readonly code: 'ABORT_ERR'
  constructor (message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options)
    // Assigned as Node's AbortError assigns them: own keys [code, name].
    Object.assign(this, { code: 'ABORT_ERR' })
    this.name = 'AbortError'
  }
}

function withCode<E extends Error> (err: E, code: string): E & { code: string } {
  return Object.assign(err, { code })
}

/** The AbortError of an op or hook whose signal fired, with the signal's reason as its `cause`. */
export function aborted (reason: unknown): AbortError {
  return new AbortError(undefined, { cause: reason })
}

function describe (value: unknown): string {
  if (value === null) return 'Received null'
  if (value === undefined) return 'Received undefined'
  if (typeof value === 'function') return `Received function ${value.name || '<anonymous>'}`
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name
    return name ? `Received an instance of ${name}` : 'Received an object'
  }
  let shown = String(value)
  if (shown.length > 28) shown = shown.slice(0, 25) + '...'
  if (typeof value === 'string') shown = `'${shown}'`
  if (typeof value === 'bigint') shown += 'n'
  return `Received type ${typeof value} (${shown})`
}

/** `ERR_INVALID_ARG_TYPE` (TypeError). */
export function invalidArgType (name: string, expected: string, actual: unknown): TypeError {
  // As Node words it: a dotted name is a property ("options.cwd"), any other an argument.
  const what = name.includes('.') ? 'property' : 'argument'
  return withCode(new TypeError(`The "${name}" ${what} must be ${expected}. ${describe(actual)}`), 'ERR_INVALID_ARG_TYPE')
}

/** A value as Node's ERR_INVALID_ARG_VALUE shows it: inspected, cut at 128 characters. */
function shown (value: unknown): string {
  let text: string
  try {
    text = inspect(value)
  } catch {
    // inspect itself throws on some values (a DataView over a detached buffer).
    const name = typeof value === 'object' && value !== null ? (value as object).constructor?.name : undefined
    text = name ? `${name} (detached)` : String(typeof value)
  }
  return text.length > 128 ? `${text.slice(0, 128)}...` : text
}

/**
 * `ERR_INVALID_ARG_VALUE` (TypeError), worded as Node words it: "The
 * argument 'file' ..." for an argument, "The property 'options.cwd' ..."
 * for an option, then the value inspected.
 */
export function invalidArgValue (name: string, value: unknown, reason: string): TypeError {
  const kind = name.includes('.') ? 'property' : 'argument'
  return withCode(new TypeError(`The ${kind} '${name}' ${reason}. Received ${shown(value)}`), 'ERR_INVALID_ARG_VALUE')
}

/** A view whose ArrayBuffer was detached (transferred): `ERR_INVALID_ARG_VALUE`, before anything touches it. */
export function detachedView (name: string, value: unknown): TypeError {
  return invalidArgValue(name, value, 'must not be a detached buffer')
}

/** A string (or byte string) with a NUL byte where the kernel takes a C string: `ERR_INVALID_ARG_VALUE`, as Node words it. */
export function nullBytes (name: string, value: unknown, what = 'a string'): TypeError {
  return invalidArgValue(name, value, `must be ${what} without null bytes`)
}

/** `ERR_OUT_OF_RANGE` (RangeError). */
export function outOfRange (name: string, range: string, value: unknown): RangeError {
  const shown = typeof value === 'bigint' ? `${value}n` : String(value)
  return withCode(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`), 'ERR_OUT_OF_RANGE')
}

/** `ERR_INVALID_IP_ADDRESS` (TypeError). */
export function invalidIp (address: unknown): TypeError {
  return withCode(new TypeError(`Invalid IP address: ${String(address)}`), 'ERR_INVALID_IP_ADDRESS')
}

/** `ERR_SOCKET_BAD_PORT` (RangeError). */
export function badPort (port: unknown): RangeError {
  return withCode(new RangeError(`Port should be >= 0 and < 65536. Received ${String(port)}.`), 'ERR_SOCKET_BAD_PORT')
}

/** The Machine was destroyed before or while the op ran (`ERR_MACHINE_DESTROYED`). */
export function destroyed (syscall: string): Error {
  return withCode(new Error(`Machine was destroyed; ${syscall} was not completed`), 'ERR_MACHINE_DESTROYED')
}

/** A read's buffer was detached or shrunk while the kernel was filling it (`ERR_BUFFER_DETACHED`). */
export function bufferDetached (syscall: string): Error {
  return withCode(new Error(`The buffer of ${syscall} was detached or shrunk while the op was in flight; the data read was dropped`), 'ERR_BUFFER_DETACHED')
}

/** io_uring cannot be used in this process (`ERR_IO_URING_UNAVAILABLE`). */
export function unavailable (reason: string): Error {
  return withCode(new Error(`io_uring is unavailable: ${reason}`), 'ERR_IO_URING_UNAVAILABLE')
}

/** The op timed out (its `timeout` option): a SystemError with `code` 'ETIMEDOUT'. */
export function timedOut (syscall: string, ms: number, info?: SystemErrorInfo): SystemError {
  const err = systemError(-osConstants.errno.ETIMEDOUT, syscall, info)
  err.message = `ETIMEDOUT: operation timed out after ${ms} ms, ${syscall}` + (info?.path !== undefined ? ` '${String(info.path)}'` : '')
  return err
}

/**
 * An SQPOLL Machine refused an op because the process's credentials changed
 * since the Machine was made: a SystemError with `code` 'EPERM'.
 */
export function credentialsChanged (syscall: string, info?: SystemErrorInfo): SystemError {
  const err = systemError(-osConstants.errno.EPERM, syscall, info)
  err.message = `EPERM: the process's credentials changed since this SQPOLL Machine was made; make a new Machine, ${syscall}` +
    (info?.path !== undefined ? ` '${String(info.path)}'` : '')
  return err
}

// libuv's getaddrinfo codes (UV_EAI_*), as the resolver pool reports them.
const eaiCodes: Record<number, string> = {
  [-3000]: 'EAI_ADDRFAMILY',
  [-3001]: 'EAI_AGAIN',
  [-3002]: 'EAI_BADFLAGS',
  [-3003]: 'EAI_CANCELED',
  [-3004]: 'EAI_FAIL',
  [-3005]: 'EAI_FAMILY',
  [-3006]: 'EAI_MEMORY',
  [-3007]: 'ENOTFOUND', // EAI_NODATA: Node reports both "no such name" codes as ENOTFOUND
  [-3008]: 'ENOTFOUND', // EAI_NONAME
  [-3009]: 'EAI_OVERFLOW',
  [-3010]: 'EAI_SERVICE',
  [-3011]: 'EAI_SOCKTYPE'
}

/** Whether `res` is a getaddrinfo failure code. */
export function isEai (res: number): boolean {
  return res <= -3000 && res >= -3011
}

/** A lookup failure shaped like `dns.lookup`'s: `getaddrinfo ENOTFOUND host`, with errno, code, syscall, hostname. */
export function dnsError (res: number, hostname: string): Error & { errno: number, code: string, syscall: string, hostname: string } {
  const code = eaiCodes[res] ?? 'EAI_FAIL'
  const err = new Error(`getaddrinfo ${code} ${hostname}`) as Error & { errno: number, code: string, syscall: string, hostname: string }
  err.errno = res
  err.code = code
  err.syscall = 'getaddrinfo'
  err.hostname = hostname
  return err
}

/** A fixed op on buffers that are no longer registered, or another Machine's (`ERR_INVALID_STATE`). */
export function notRegistered (what: string): Error {
  return withCode(new Error(`Invalid state: ${what}`), 'ERR_INVALID_STATE')
}

/** `ERR_INVALID_STATE`: the call does not fit the object's state (`message` says why). */
export function invalidState (message: string): Error {
  return withCode(new Error(message), 'ERR_INVALID_STATE')
}

/** The default reason a cancelled task's signal aborts with (`ERR_TASK_CANCELLED`). */
export function taskCancelled (): Error {
  return withCode(new Error('The task was cancelled'), 'ERR_TASK_CANCELLED')
}

/** No scheduler for this call (`ERR_NO_SCHEDULER`). */
export function noScheduler (): Error {
  return withCode(new Error('No scheduler: call setScheduler() or runWithScheduler() first'), 'ERR_NO_SCHEDULER')
}

/** A hook this scheduler cannot serve here (`ERR_SCHEDULER_UNSUPPORTED`). */
export function unsupported (scheduler: string, hook: string, why: string): Error {
  return withCode(new Error(`${scheduler} scheduler cannot serve ${hook}: ${why}`), 'ERR_SCHEDULER_UNSUPPORTED')
}

/** A task started on a closed scheduler (`ERR_SCHEDULER_CLOSED`). */
export function schedulerClosed (name: string): Error {
  return withCode(new Error(`the ${name} scheduler is closed`), 'ERR_SCHEDULER_CLOSED')
}

/** The abort reason of `timeoutAfter`'s signal (`code` 'ETIMEDOUT'); the caller gets `timedOut`'s SystemError. */
export function expired (ms: number): Error {
  return withCode(new Error(`timed out after ${ms} ms`), 'ETIMEDOUT')
}

/** `ERR_INVALID_ARG_TYPE` for an argument that must be a function, worded without the value received. */
export function notAFunction (name: string): TypeError {
  return withCode(new TypeError(`The "${name}" argument must be of type function`), 'ERR_INVALID_ARG_TYPE')
}

/** A stream's `next()` called while the previous one is pending (`ERR_INVALID_STATE`). */
export function concurrentNext (): Error {
  return invalidState('next() called again before the previous call settled')
}

/**
 * A native error whose message reads "<errno>:<syscall>" as a SystemError
 * (with `syscall` given: any "<errno>:..." message, named `syscall`);
 * anything else as it is.
 */
export function fromNative (err: unknown, syscall?: string, info?: SystemErrorInfo): unknown {
  const message = (err as Error).message
  const m = syscall === undefined ? /^(\d+):(\w+)$/.exec(message) : /^(\d+):/.exec(message)
  if (m === null) return err
  return systemError(-Number(m[1]), syscall ?? m[2]!, info)
}

/** Runs a synchronous native call whose errors read "<errno>:<syscall>", as a SystemError. */
export function nativeCall<T> (fn: () => T, info?: SystemErrorInfo): T {
  try {
    return fn()
  } catch (err) {
    throw fromNative(err, undefined, info)
  }
}

/** A path as an error shows it. */
export function pathText (p: string | Uint8Array): string {
  return typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString()
}

/** What an error says of a socket address (from validate's [host, port]; port < 0 for a unix path). */
export function addressInfo (host: string | Uint8Array, port: number): SystemErrorInfo {
  return port < 0 ? { path: pathText(host) } : { address: host as string, port }
}

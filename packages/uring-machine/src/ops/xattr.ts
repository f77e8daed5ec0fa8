// Extended attributes of a path or an open fd (kernel 5.19).
import * as E from '../errors'
import * as V from '../validate'
import { type Engine, VOID, NUMBER } from '../completion'
import type { GetXattrOptions, SetXattrOptions } from '../types'

export function getxattr (c: Engine, pathOrFd: string | Buffer | URL | number, name: string, options?: GetXattrOptions): Promise<Buffer> {
  const isFd = typeof pathOrFd === 'number'
  const target = isFd ? V.fd(pathOrFd, 'pathOrFd') : V.path(pathOrFd, 'pathOrFd')
  const n = xattrName(name)
  const raw = (options ?? {}) as GetXattrOptions
  const o = V.options(options)
  const size = raw.size === undefined ? 65536 : V.int(raw.size, 'options.size', 1, 65536)
  const syscall = isFd ? 'fgetxattr' : 'getxattr'
  const info = isFd ? undefined : { path: E.pathText(target as string | Uint8Array) }
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, syscall)
  const buf = Buffer.alloc(size)
  const slot = isFd
    ? ring.fgetxattr(target as number, n, buf, 0, size, o.timeout ?? 0)
    : ring.getxattr(target as string | Uint8Array, n, buf, 0, size, o.timeout ?? 0)
  const done = c.track(slot, NUMBER, syscall, isFd ? target as number : -1, info, o, buf) as Promise<number>
  return done.then((len) => buf.subarray(0, len))
}

export function setxattr (c: Engine, pathOrFd: string | Buffer | URL | number, name: string, value: string | ArrayBufferView, options?: SetXattrOptions): Promise<void> {
  const isFd = typeof pathOrFd === 'number'
  const target = isFd ? V.fd(pathOrFd, 'pathOrFd') : V.path(pathOrFd, 'pathOrFd')
  const n = xattrName(name)
  const v = typeof value === 'string' ? Buffer.from(value) : V.bytes(V.view(value, 'value'))
  if (v.byteLength > 65536) throw E.outOfRange('value', 'at most 65536 bytes', v.byteLength)
  const o = V.options(options)
  const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 3)
  const syscall = isFd ? 'fsetxattr' : 'setxattr'
  const info = isFd ? undefined : { path: E.pathText(target as string | Uint8Array) }
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, syscall)
  const slot = isFd
    ? ring.fsetxattr(target as number, n, v, 0, v.byteLength, flags, o.timeout ?? 0)
    : ring.setxattr(target as string | Uint8Array, n, v, 0, v.byteLength, flags, o.timeout ?? 0)
  return c.track(slot, VOID, syscall, isFd ? target as number : -1, info, o) as Promise<void>
}

/** An extended attribute's name: a non-empty string without NUL, at most 255 bytes. */
function xattrName (name: unknown): string {
  if (typeof name !== 'string') throw E.invalidArgType('name', 'of type string', name)
  if (name.length === 0 || name.includes('\u0000') || Buffer.byteLength(name) > 255) {
    throw E.invalidArgValue('name', name, 'must be 1 to 255 bytes without null bytes')
  }
  return name
}

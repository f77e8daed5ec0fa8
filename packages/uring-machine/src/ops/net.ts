// Socket ops: socket, bind, listen, accept, connect, send (and its
// zero-copy form), recv, shutdown, socket options, socket names, and name
// resolution through the ring.
import * as E from '../errors'
import * as V from '../validate'
import { SHUT_WR, SOCKET_OPTIONS, AF_INET, AF_INET6, AF_UNIX } from '../constants'
import { type Engine, SOFT_TIMEOUT } from '../completion'
import type { SocketIoOptions, AcceptOptions, ResolveOptions, LookupAddress, SocketOption, SocketName } from '../types'
import { OPS } from '../native.generated'
// Each op's syscall name and result kind, from the op table.
const { socket: SOCKET, bind: BIND, listen: LISTEN, accept: ACCEPT, connect: CONNECT, send: SEND, recv: RECV, shutdown: SHUTDOWN, resolve: RESOLVE_OP, setsockopt: SETSOCKOPT, getsockopt: GETSOCKOPT } = OPS

export function socket (c: Engine, domain: number, type: number, protocol = 0, options?: V.OpOptions): Promise<number> {
  V.int(domain, 'domain', 0, 2 ** 31 - 1)
  V.int(type, 'type', 0, 2 ** 31 - 1)
  V.int(protocol, 'protocol', 0, 2 ** 31 - 1)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, SOCKET.syscall)
  return c.track(ring.socket(domain, type, protocol, o.timeout ?? 0), SOCKET.result, SOCKET.syscall, -1, undefined, o) as Promise<number>
}

export function bind (c: Engine, fd: number, address: V.SocketAddress, options?: V.OpOptions): Promise<void> {
  V.fd(fd)
  const [host, port] = V.address(address)
  const o = V.options(options)
  const info = E.addressInfo(host, port)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, BIND.syscall, info)
  return c.track(ring.bind(fd, host, port, o.timeout ?? 0), BIND.result, BIND.syscall, fd, info, o) as Promise<void>
}

export function listen (c: Engine, fd: number, backlog = 511, options?: V.OpOptions): Promise<void> {
  V.fd(fd)
  V.int(backlog, 'backlog', 0, 2 ** 31 - 1)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, LISTEN.syscall)
  return c.track(ring.listen(fd, backlog, o.timeout ?? 0), LISTEN.result, LISTEN.syscall, fd, undefined, o) as Promise<void>
}

export function accept (c: Engine, fd: number, options?: AcceptOptions): Promise<number> {
  V.fd(fd)
  const o = V.options(options)
  const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, ACCEPT.syscall)
  return c.track(ring.accept(fd, flags, o.timeout ?? 0), ACCEPT.result, ACCEPT.syscall, fd, undefined, o) as Promise<number>
}

export function connect (c: Engine, fd: number, address: V.SocketAddress, options?: V.OpOptions): Promise<void> {
  V.fd(fd)
  const [host, port] = V.address(address)
  const o = V.options(options)
  const info = E.addressInfo(host, port)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, CONNECT.syscall, info)
  return c.track(ring.connect(fd, host, port, o.timeout ?? 0), CONNECT.result, CONNECT.syscall, fd, info, o) as Promise<void>
}

export function send (c: Engine, fd: number, buffer: ArrayBufferView, options?: SocketIoOptions): Promise<number> {
  return sendAny(c, false, fd, buffer, options)
}

export function sendZc (c: Engine, fd: number, buffer: ArrayBufferView, options?: SocketIoOptions): Promise<number> {
  return sendAny(c, true, fd, buffer, options)
}

function sendAny (c: Engine, zc: boolean, fd: number, buffer: ArrayBufferView, options: SocketIoOptions | undefined): Promise<number> {
  V.fd(fd)
  const v = V.bytes(V.view(buffer, 'buffer'))
  const o = V.options(options)
  const [off, len] = V.range(v, 'buffer', o.offset, o.length)
  const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, SEND.syscall)
  const slot = zc ? ring.sendZc(fd, v, off, len, flags, o.timeout ?? 0) : ring.send(fd, v, off, len, flags, o.timeout ?? 0)
  return c.track(slot, SEND.result, SEND.syscall, fd, undefined, o) as Promise<number>
}

export function recv (c: Engine, fd: number, buffer: ArrayBufferView, options?: SocketIoOptions): Promise<number> {
  V.fd(fd)
  const v = V.bytes(V.view(buffer, 'buffer'))
  const o = V.options(options)
  const [off, len] = V.range(v, 'buffer', o.offset, o.length)
  const flags = o.flags === undefined ? 0 : V.int(o.flags, 'options.flags', 0, 2 ** 31 - 1)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, RECV.syscall)
  const slot = ring.recv(fd, v, off, len, flags, o.timeout ?? 0)
  return c.track(slot, RECV.result, RECV.syscall, fd, undefined, o, v) as Promise<number>
}

export function shutdown (c: Engine, fd: number, how: number = SHUT_WR, options?: V.OpOptions): Promise<void> {
  V.fd(fd)
  V.int(how, 'how', 0, 2)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, SHUTDOWN.syscall)
  return c.track(ring.shutdown(fd, how, o.timeout ?? 0), SHUTDOWN.result, SHUTDOWN.syscall, fd, undefined, o) as Promise<void>
}

export function resolve (c: Engine, hostname: string, options?: ResolveOptions): Promise<LookupAddress[]> {
  if (typeof hostname !== 'string') throw E.invalidArgType('hostname', 'of type string', hostname)
  if (hostname.includes('\u0000')) throw E.invalidArgValue('hostname', hostname, 'must not contain null bytes')
  const o = V.options(options)
  const family = o.family === undefined ? 0 : o.family
  if (family !== 0 && family !== 4 && family !== 6) throw E.invalidArgValue('options.family', family, 'must be one of: 0, 4, 6')
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, RESOLVE_OP.syscall)
  if (hostname === '') return Promise.resolve([]) // as dns.lookup answers an empty name
  const list: string[] = []
  // AF_INET, AF_INET6 (Linux), or AF_UNSPEC.
  const slot = ring.resolve(hostname, family === 4 ? 2 : family === 6 ? 10 : 0, 0)
  // No kernel op to link a timeout to: a timer cancels it (see SOFT_TIMEOUT).
  return c.track(slot, RESOLVE_OP.result, RESOLVE_OP.syscall, -1, undefined, o, list, SOFT_TIMEOUT, hostname) as Promise<LookupAddress[]>
}

const OPTION_NAMES = Object.keys(SOCKET_OPTIONS)

function sockopt (option: unknown): readonly [number, number, boolean] {
  if (typeof option !== 'string') throw E.invalidArgType('option', 'of type string', option)
  if (!Object.hasOwn(SOCKET_OPTIONS, option)) {
    throw E.invalidArgValue('option', option, `must be one of: ${OPTION_NAMES.join(', ')}`)
  }
  return SOCKET_OPTIONS[option]
}

export function setsockopt (c: Engine, fd: number, option: SocketOption, value: boolean | number, options?: V.OpOptions): Promise<void> {
  V.fd(fd)
  const [level, optname, flag] = sockopt(option)
  let n: number
  if (flag) {
    if (typeof value !== 'boolean') throw E.invalidArgType('value', 'of type boolean', value)
    n = value ? 1 : 0
  } else {
    if (typeof value !== 'number') throw E.invalidArgType('value', 'of type number', value)
    n = V.int(value, 'value', 0, 2 ** 31 - 1)
  }
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, SETSOCKOPT.syscall)
  return c.track(ring.setsockopt(fd, level, optname, n, o.timeout ?? 0), SETSOCKOPT.result, SETSOCKOPT.syscall, fd, undefined, o) as Promise<void>
}

export function getsockopt (c: Engine, fd: number, option: SocketOption, options?: V.OpOptions): Promise<boolean | number> {
  V.fd(fd)
  const [level, optname, flag] = sockopt(option)
  const o = V.options(options)
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, GETSOCKOPT.syscall)
  // The op owns the kernel's copy; it is staged into this view at completion.
  const v = new Uint8Array(4)
  const slot = ring.getsockopt(fd, level, optname, v, 0, 4, o.timeout ?? 0)
  return c.track(slot, GETSOCKOPT.result, GETSOCKOPT.syscall, fd, undefined, o, v).then(() => {
    const n = new DataView(v.buffer).getInt32(0, true)
    return flag ? n !== 0 : n
  })
}

export function sockName (c: Engine, fd: number, peer: boolean): SocketName {
  V.fd(fd)
  const syscall = peer ? 'getpeername' : 'getsockname'
  const ring = c.ready(V.options(undefined))
  if (ring === null) throw E.destroyed(syscall)
  const out: unknown[] = []
  const res = ring.sockName(fd, peer, out)
  if (res < 0) throw E.systemError(res, syscall, { fd })
  const [family, text, port] = out as [number, string, number]
  if (family === AF_INET || family === AF_INET6) return { address: text, family: family === AF_INET ? 'IPv4' : 'IPv6', port }
  if (family === AF_UNIX) return { family: 'unix', path: text }
  return { family }
}

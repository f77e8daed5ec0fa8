// Socket options (setsockopt/getsockopt through the ring) and socket names
// (getsockname/getpeername, plain syscalls), on loopback sockets.
import test from 'ava'
import net from 'node:net'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { constants as C } from 'uring-machine'
import { machine, tcpPair, closeAll, tempDir, localPort, when, sleep } from './helpers.mjs'

/** Like t.throws, also checking properties ava's expectation does not take (syscall, fd). */
function throwsWith (t, fn, { code, instanceOf, ...props }) {
  const e = t.throws(fn, instanceOf ? { code, instanceOf } : { code })
  for (const [k, v] of Object.entries(props)) t.is(e?.[k], v, k)
  return e
}
async function rejectsWith (t, promise, { code, ...props }) {
  const e = await t.throwsAsync(promise, { code })
  for (const [k, v] of Object.entries(props)) t.is(e?.[k], v, k)
  return e
}

const hasIPv6 = existsSync('/proc/net/if_inet6') && readFileSync('/proc/net/if_inet6', 'utf8').includes('lo')

test.serial('boolean options read back as set: TCP_NODELAY, SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  for (const option of ['TCP_NODELAY', 'SO_REUSEADDR', 'SO_REUSEPORT', 'SO_KEEPALIVE']) {
    t.is(await m.getsockopt(client, option), false, `${option} starts off`)
    t.is(await m.setsockopt(client, option, true), undefined)
    t.is(await m.getsockopt(client, option), true, option)
    await m.setsockopt(client, option, false)
    t.is(await m.getsockopt(client, option), false, option)
  }
  // The kernel's io_uring reads only SOL_SOCKET options: this one is the syscall's.
  const before = m.metrics().fallbacks
  t.is(await m.getsockopt(client, 'TCP_NODELAY'), false)
  t.is(m.metrics().fallbacks, before + 1)
})

test.serial('SO_RCVBUF and SO_SNDBUF: the kernel doubles the size given', async (t) => {
  const m = machine(t)
  const fd = await m.socket(C.AF_INET, C.SOCK_STREAM)
  t.teardown(() => closeAll(fd))
  for (const option of ['SO_RCVBUF', 'SO_SNDBUF']) {
    await m.setsockopt(fd, option, 65536)
    t.is(await m.getsockopt(fd, option), 131072, option)
  }
})

test.serial('SO_REUSEPORT lets two sockets bind one port; without it the second bind is EADDRINUSE', async (t) => {
  const m = machine(t)
  const a = await m.socket(C.AF_INET, C.SOCK_STREAM)
  const b = await m.socket(C.AF_INET, C.SOCK_STREAM)
  const c = await m.socket(C.AF_INET, C.SOCK_STREAM)
  t.teardown(() => closeAll(a, b, c))
  await m.setsockopt(a, 'SO_REUSEPORT', true)
  await m.bind(a, { address: '127.0.0.1', port: 0 })
  const port = m.getsockname(a).port
  await t.throwsAsync(m.bind(c, { address: '127.0.0.1', port }), { code: 'EADDRINUSE' })
  await m.setsockopt(b, 'SO_REUSEPORT', true)
  await m.bind(b, { address: '127.0.0.1', port })
  t.is(m.getsockname(b).port, port)
})

test.serial('SO_REUSEADDR lets a port in TIME_WAIT be bound again', async (t) => {
  const m = machine(t)
  // A listener with SO_REUSEADDR (as node:net makes them): its connections
  // inherit it, and a TIME_WAIT of one then blocks only a bind without it.
  const server = await m.socket(C.AF_INET, C.SOCK_STREAM)
  await m.setsockopt(server, 'SO_REUSEADDR', true)
  await m.bind(server, { address: '127.0.0.1', port: 0 })
  await m.listen(server)
  const port = m.getsockname(server).port
  const client = await m.socket(C.AF_INET, C.SOCK_STREAM)
  const accepted = m.accept(server)
  await m.connect(client, { address: '127.0.0.1', port })
  const conn = await accepted
  // The side that closes first keeps TIME_WAIT: the accepted one.
  await m.close(conn)
  await m.close(server)
  await sleep(20)
  await m.close(client)
  await sleep(20)
  const plain = await m.socket(C.AF_INET, C.SOCK_STREAM)
  const reuse = await m.socket(C.AF_INET, C.SOCK_STREAM)
  t.teardown(() => closeAll(plain, reuse))
  await t.throwsAsync(m.bind(plain, { address: '127.0.0.1', port }), { code: 'EADDRINUSE' })
  await m.setsockopt(reuse, 'SO_REUSEADDR', true)
  await m.bind(reuse, { address: '127.0.0.1', port })
  t.is(m.getsockname(reuse).port, port)
})

test.serial('setsockopt/getsockopt errors: EBADF, ENOTSOCK, bad option names and values', async (t) => {
  const m = machine(t)
  const fd = await m.socket(C.AF_INET, C.SOCK_STREAM)
  const file = await m.open('/proc/self/stat', C.O_RDONLY)
  t.teardown(() => closeAll(fd, file))
  await rejectsWith(t, m.setsockopt(1 << 20, 'SO_REUSEADDR', true), { code: 'EBADF', syscall: 'setsockopt' })
  await rejectsWith(t, m.getsockopt(1 << 20, 'SO_REUSEADDR'), { code: 'EBADF', syscall: 'getsockopt', fd: 1 << 20 })
  // io_uring's own answer for a non-socket is EOPNOTSUPP; the syscall's is the one reported.
  const e = await rejectsWith(t, m.setsockopt(file, 'SO_KEEPALIVE', true), { code: 'ENOTSOCK', syscall: 'setsockopt' })
  t.is(e.fd, file)
  await rejectsWith(t, m.getsockopt(file, 'TCP_NODELAY'), { code: 'ENOTSOCK', syscall: 'getsockopt' })
  t.throws(() => m.setsockopt(fd, 'SO_LINGER', true), { code: 'ERR_INVALID_ARG_VALUE', instanceOf: TypeError })
  t.throws(() => m.getsockopt(fd, 'tcp_nodelay'), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.getsockopt(fd, 7), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => m.setsockopt(fd, 'TCP_NODELAY', 1), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  t.throws(() => m.setsockopt(fd, 'SO_RCVBUF', true), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => m.setsockopt(fd, 'SO_RCVBUF', -1), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => m.setsockopt(-1, 'SO_RCVBUF', 1), { code: 'ERR_OUT_OF_RANGE' })
  m.destroy()
  await t.throwsAsync(m.setsockopt(fd, 'SO_REUSEADDR', true), { code: 'ERR_MACHINE_DESTROYED' })
})

for (const family of ['IPv4', 'IPv6']) {
  const address = family === 'IPv4' ? '127.0.0.1' : '::1'
  const ok = family === 'IPv4' || hasIPv6
  when(ok, 'no IPv6 loopback here').serial(`getsockname/getpeername over ${family}: a port-0 bind learns its port, a node:net client meets it`, async (t) => {
    const m = machine(t)
    const server = await m.socket(family === 'IPv4' ? C.AF_INET : C.AF_INET6, C.SOCK_STREAM)
    t.teardown(() => closeAll(server))
    await m.bind(server, { address, port: 0 })
    await m.listen(server)
    const me = m.getsockname(server)
    t.deepEqual(me, { address, family, port: localPort(server) })
    t.true(me.port > 0)
    throwsWith(t, () => m.getpeername(server), { code: 'ENOTCONN', syscall: 'getpeername' })
    const accepted = m.accept(server)
    const client = net.connect({ host: address, port: me.port })
    t.teardown(() => client.destroy())
    await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject))
    const conn = await accepted
    t.teardown(() => closeAll(conn))
    // Each side's view of the other, as node:net reports it.
    t.deepEqual(m.getpeername(conn), { address: client.localAddress, family, port: client.localPort })
    t.deepEqual(m.getsockname(conn), { address: client.remoteAddress, family, port: client.remotePort })
    // And a socket the Machine connected.
    const out = await m.socket(family === 'IPv4' ? C.AF_INET : C.AF_INET6, C.SOCK_STREAM)
    t.teardown(() => closeAll(out))
    const again = m.accept(server)
    await m.connect(out, { address, port: me.port })
    closeAll(await again)
    t.deepEqual(m.getpeername(out), me)
    t.is(m.getsockname(out).family, family)
  })
}

test.serial('getsockname of unix sockets, and errors', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'n.sock')
  const s = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
  const u = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
  const file = await m.open('/proc/self/stat', C.O_RDONLY)
  t.teardown(() => closeAll(s, u, file))
  await m.bind(s, { path })
  t.deepEqual(m.getsockname(s), { family: 'unix', path })
  t.deepEqual(m.getsockname(u), { family: 'unix', path: '' }, 'unnamed')
  throwsWith(t, () => m.getpeername(u), { code: 'ENOTCONN', syscall: 'getpeername', fd: u })
  throwsWith(t, () => m.getsockname(file), { code: 'ENOTSOCK', syscall: 'getsockname' })
  t.throws(() => m.getsockname(1 << 20), { code: 'EBADF' })
  t.throws(() => m.getsockname('3'), { code: 'ERR_INVALID_ARG_TYPE' })
})

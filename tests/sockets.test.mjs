import test from 'ava'
import net from 'node:net'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { constants as C } from 'uring-machine'
import { machine, tcpPair, closeAll, tempDir, localPort, when } from './helpers.mjs'

const hasIPv6 = existsSync('/proc/net/if_inet6') && readFileSync('/proc/net/if_inet6', 'utf8').includes('lo')

async function pingPong (t, m, a, b) {
  t.is(await m.send(a, Buffer.from('ping')), 4)
  const buf = Buffer.alloc(64)
  t.is(await m.recv(b, buf), 4)
  t.is(buf.subarray(0, 4).toString(), 'ping')
  t.is(await m.send(b, Buffer.from('xxpongxx'), { offset: 2, length: 4 }), 4)
  t.is(await m.recv(a, buf, { offset: 10, length: 20 }), 4)
  t.is(buf.subarray(10, 14).toString(), 'pong')
}

test.serial('TCP over IPv4 loopback: socket, bind, listen, accept, connect, send, recv, shutdown', async (t) => {
  const m = machine(t)
  const { server, client, conn, port } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  t.true(port > 0)
  await pingPong(t, m, client, conn)
  await m.shutdown(client)
  t.is(await m.recv(conn, Buffer.alloc(8)), 0, 'EOF after the peer shut down writing')
  for (const fd of [client, conn, server]) await m.close(fd)
})

when(hasIPv6, 'no IPv6 loopback here').serial('TCP over IPv6 loopback', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m, 'ipv6')
  t.teardown(() => closeAll(server, client, conn))
  await pingPong(t, m, client, conn)
})

test.serial('unix-domain sockets: filesystem path and abstract name', async (t) => {
  const m = machine(t)
  for (const path of [join(tempDir(t), 's.sock'), '\0um-test-' + process.pid]) {
    const server = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
    await m.bind(server, { path })
    await m.listen(server)
    const client = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
    const accepted = m.accept(server)
    await m.connect(client, { path })
    const conn = await accepted
    await pingPong(t, m, client, conn)
    for (const fd of [client, conn, server]) await m.close(fd)
  }
})

test.serial('interoperates with node:net on both sides', async (t) => {
  const m = machine(t)
  const server = net.createServer((s) => s.pipe(s))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const fd = await m.socket(C.AF_INET, C.SOCK_STREAM)
  t.teardown(() => closeAll(fd))
  await m.connect(fd, { address: '127.0.0.1', port: server.address().port })
  await m.send(fd, Buffer.from('echo me'))
  const buf = Buffer.alloc(16)
  t.is(await m.recv(fd, buf, { flags: C.MSG_WAITALL, length: 7 }), 7)
  t.is(buf.subarray(0, 7).toString(), 'echo me')

  const listener = await m.socket(C.AF_INET, C.SOCK_STREAM)
  t.teardown(() => closeAll(listener))
  await m.bind(listener, { address: '127.0.0.1', port: 0 })
  await m.listen(listener)
  const reply = new Promise((resolve, reject) => {
    const c = net.connect(localPort(listener), '127.0.0.1', () => c.write('from net'))
    c.on('data', (d) => { resolve(d.toString()); c.destroy() })
    c.on('error', reject)
  })
  const conn = await m.accept(listener)
  t.teardown(() => closeAll(conn))
  const got = Buffer.alloc(8)
  t.is(await m.recv(conn, got, { flags: C.MSG_WAITALL }), 8)
  await m.send(conn, got)
  t.is(await reply, 'from net')
})

test.serial('connection and address errors carry code, syscall, address and port', async (t) => {
  const m = machine(t)
  const { server, client, conn, port } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const s2 = await m.socket(C.AF_INET, C.SOCK_STREAM)
  t.teardown(() => closeAll(s2))
  const inUse = await t.throwsAsync(m.bind(s2, { address: '127.0.0.1', port }), { code: 'EADDRINUSE' })
  t.is(inUse.syscall, 'bind')
  t.is(inUse.address, '127.0.0.1')
  t.is(inUse.port, port)
  await m.close(server)
  const s3 = await m.socket(C.AF_INET, C.SOCK_STREAM)
  t.teardown(() => closeAll(s3))
  const refused = await t.throwsAsync(m.connect(s3, { address: '127.0.0.1', port }), { code: 'ECONNREFUSED' })
  t.is(refused.syscall, 'connect')
  t.is(refused.message, `ECONNREFUSED: connection refused, connect 127.0.0.1:${port}`)
  const notListening = await t.throwsAsync(m.accept(client), { code: 'EINVAL' })
  t.is(notListening.syscall, 'accept')
  t.is(notListening.fd, client)
})

test.serial('poll resolves with the ready events', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  t.truthy((await m.poll(client, C.POLLOUT)) & C.POLLOUT)
  const readable = m.poll(conn, C.POLLIN)
  await m.send(client, Buffer.from('x'))
  t.truthy((await readable) & C.POLLIN)
})

test.serial('a closed socket: ops reject with EBADF, nothing crashes', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  closeAll(server, client, conn)
  await t.throwsAsync(m.send(client, Buffer.from('x')), { code: 'EBADF' })
  await t.throwsAsync(m.recv(conn, Buffer.alloc(4)), { code: 'EBADF' })
  await t.throwsAsync(m.accept(server), { code: 'EBADF' })
  await t.throwsAsync(m.close(conn), { code: 'EBADF' })
})

// Multishot recv, read and accept as async iterators over provided buffers:
// exact bytes through recycling, backpressure, running dry, break, abort,
// errors and destroy, with nothing left in flight.
import test from 'ava'
import net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import { writeSync, closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { Machine, AbortError } from 'uring-machine'
import { machine, tcpPair, closeAll, sleep, tempDir, openFds, when } from './helpers.mjs'

const ops = Machine.probe().ops
const hasReadMulti = ops.read_multishot === true
const readMultiTest = when(hasReadMulti, 'no multishot read (kernel 6.7+)')

const digest = (b) => createHash('sha256').update(b).digest('hex')

/** Sends `data` from `fd` in writes of up to `chunk` bytes. */
async function sendAll (m, fd, data, chunk = 65536) {
  for (let off = 0; off < data.length;) off += await m.send(fd, data, { offset: off, length: Math.min(chunk, data.length - off) })
}

test('recvMulti yields every byte in order through a few recycled buffers', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const data = randomBytes(3 << 20)
  const got = []
  let size = 0
  const sending = sendAll(m, client, data, 10000).then(() => m.shutdown(client))
  for await (const chunk of m.recvMulti(conn, { buffers: 4, bufferSize: 4096 })) {
    t.true(Buffer.isBuffer(chunk) && chunk.length > 0 && chunk.length <= 4096)
    got.push(chunk)
    size += chunk.length
  }
  await sending
  t.is(size, data.length)
  t.is(digest(Buffer.concat(got)), digest(data))
  const mt = m.metrics()
  t.true(mt.multishotCompletions > 4, `${mt.multishotCompletions} completions of one request, with 4 buffers`)
  t.is(mt.pending, 0)
})

test('recvMulti re-arms when a burst drains every buffer (ENOBUFS) and loses nothing', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const data = randomBytes(64 * 1024)
  await sendAll(m, client, data) // all queued in the socket before the stream starts
  await m.shutdown(client)
  const got = []
  for await (const chunk of m.recvMulti(conn, { buffers: 1, bufferSize: 512 })) got.push(chunk)
  t.is(digest(Buffer.concat(got)), digest(data))
  t.is(m.metrics().pending, 0)
})

test('recvMulti applies backpressure: past highWaterMark it stops taking data, which waits in the socket', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const data = randomBytes(48 << 20) // more than loopback's socket buffers hold
  let sent = 0
  const sending = (async () => {
    while (sent < data.length) sent += await m.send(client, data, { offset: sent, length: Math.min(1 << 20, data.length - sent) })
    await m.shutdown(client)
  })()
  const it = m.recvMulti(conn, { buffers: 8, bufferSize: 4096, highWaterMark: 65536 })
  const got = [(await it.next()).value]
  await sleep(200) // a consumer that stops taking
  t.true(sent < data.length, `the sender is held back (${sent} of ${data.length} bytes sent)`)
  for await (const chunk of it) got.push(chunk)
  await sending
  t.is(digest(Buffer.concat(got)), digest(data))
  t.is(m.metrics().pending, 0)
})

test('break ends the stream: nothing in flight, the socket still works', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  await m.send(client, Buffer.from('first'))
  for await (const chunk of m.recvMulti(conn)) {
    t.is(chunk.toString(), 'first')
    break
  }
  t.is(m.metrics().pending, 0, 'break settles after the final completion')
  await m.send(client, Buffer.from('later'))
  const buf = Buffer.alloc(16)
  t.is(await m.recv(conn, buf), 5)
  t.is(buf.subarray(0, 5).toString(), 'later')
})

test('abort rejects the waiting next() with an AbortError once the kernel has let go', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const ac = new AbortController()
  const it = m.recvMulti(conn, { signal: ac.signal })
  const next = it.next()
  setTimeout(() => ac.abort(new Error('enough')), 20)
  const err = await t.throwsAsync(next, { instanceOf: AbortError })
  t.is(err.cause.message, 'enough')
  t.is(m.metrics().pending, 0)
  t.deepEqual(await it.next(), { value: undefined, done: true })
  // An already aborted signal: the first next() rejects, nothing is submitted.
  const before = m.metrics().opsSubmitted
  await t.throwsAsync(m.recvMulti(conn, { signal: AbortSignal.abort() }).next(), { instanceOf: AbortError })
  t.is(m.metrics().opsSubmitted, before)
})

test('errors end the stream with a SystemError; destroy ends it with ERR_MACHINE_DESTROYED', async (t) => {
  const m = new Machine()
  const dir = tempDir(t)
  const file = openSync(join(dir, 'f'), 'w+')
  t.teardown(() => closeAll(file))
  const err = await t.throwsAsync(m.recvMulti(file).next(), { code: 'ENOTSOCK' })
  t.is(err.syscall, 'recv')
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const waiting = m.recvMulti(conn).next()
  await sleep(10)
  await m.destroy()
  await t.throwsAsync(waiting, { code: 'ERR_MACHINE_DESTROYED' })
})

readMultiTest('readMulti reads a pipe until its writer closes', async (t) => {
  const m = machine(t)
  const [r, w] = m.pipe()
  t.teardown(() => closeAll(r, w))
  const parts = ['alpha', 'beta', 'gamma']
  const writing = (async () => {
    for (const p of parts) {
      writeSync(w, p)
      await sleep(5)
    }
    closeSync(w)
  })()
  const got = []
  for await (const chunk of m.readMulti(r, { bufferSize: 64 })) got.push(chunk.toString())
  await writing
  t.is(got.join(''), parts.join(''))
  t.is(m.metrics().pending, 0)
})

test.serial('acceptMulti yields a connection per client; connections not taken are closed at break', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const { port } = { port: (await import('./helpers.mjs')).localPort(server) }
  const clients = []
  const connect = () => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s)).on('error', reject)
    s.gone = new Promise((resolve) => s.on('close', resolve))
    s.on('data', () => {})
    clients.push(s)
  })
  t.teardown(() => clients.forEach((s) => s.destroy()))
  for (let i = 0; i < 3; i++) await connect()
  const fdsBefore = openFds()
  const taken = []
  for await (const fd of m.acceptMulti(server)) {
    taken.push(fd)
    await m.send(fd, Buffer.from(`hello ${taken.length}`))
    if (taken.length === 3) {
      // Two more arrive before the loop ends: accepted, never taken.
      await connect()
      await connect()
      await sleep(30)
      break
    }
  }
  t.is(m.metrics().pending, 0)
  t.is(openFds(), fdsBefore + 3 + 2, 'the three taken connections (and the two new clients) are open, the two untaken ones not')
  await Promise.all(clients.slice(3).map((s) => s.gone))
  t.pass('the connections accepted but never taken were closed')
  closeAll(...taken)
})

test('streams validate their options', (t) => {
  const m = machine(t)
  t.throws(() => m.recvMulti(0, { buffers: 3 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => m.recvMulti(0, { timeout: 10 }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.readMulti(0, { flags: 1 }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.acceptMulti(-1), { code: 'ERR_OUT_OF_RANGE' })
  t.is(m.metrics().opsSubmitted, 0)
})

// Registered buffers with fixed reads and writes, and zero-copy sends.
import test from 'ava'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Machine, RegisteredBuffers, constants as C } from 'uring-machine'
import { machine, tempDir, tcpPair, closeAll, when } from './helpers.mjs'

const ops = Machine.probe().ops
const digest = (b) => createHash('sha256').update(b).digest('hex')

test('readFixed and writeFixed move bytes straight between a file and registered memory', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'f')
  writeFileSync(path, 'registered buffers, fixed ops')
  const fd = await m.open(path, C.O_RDWR)
  t.teardown(() => closeAll(fd))
  const reg = m.registerBuffers(3, 4096)
  t.true(reg instanceof RegisteredBuffers)
  t.is(reg.buffers.length, 3)
  t.is(reg.buffers[2].length, 4096)
  t.is(await m.readFixed(fd, reg, 2, { position: 0, offset: 100 }), 29)
  t.is(reg.buffers[2].subarray(100, 129).toString(), 'registered buffers, fixed ops')
  reg.buffers[0].write('FIXED')
  t.is(await m.writeFixed(fd, reg, 0, { position: 20, length: 5 }), 5)
  t.is(readFileSync(path, 'utf8'), 'registered buffers, FIXED ops')
  t.is(m.metrics().pending, 0)
})

test('unregistered or foreign buffers are refused; the memory stays usable after destroy', async (t) => {
  const m = machine(t)
  const other = new Machine()
  const reg = m.registerBuffers(1, 64)
  const theirs = other.registerBuffers(1, 64)
  t.throws(() => m.readFixed(0, theirs, 0), { code: 'ERR_INVALID_STATE' })
  t.throws(() => m.readFixed(0, reg, 1), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => m.readFixed(0, {}, 0), { code: 'ERR_INVALID_ARG_TYPE' })
  reg.unregister()
  t.false(reg.registered)
  t.throws(() => m.writeFixed(0, reg, 0), { code: 'ERR_INVALID_STATE' })
  reg.buffers[0].fill(7)
  t.is(reg.buffers[0][63], 7)
  await other.destroy()
  t.false(theirs.registered)
  theirs.buffers[0].fill(9)
  t.is(theirs.buffers[0][0], 9)
  // Registrations come and go; their slots are reused.
  for (let i = 0; i < 50; i++) m.registerBuffers(16, 4096).unregister()
  t.throws(() => m.registerBuffers(0, 1), { code: 'ERR_OUT_OF_RANGE' })
})

test('registered memory survives its views being collected while an op is in flight', async (t) => {
  const m = machine(t)
  const [r, w] = m.pipe()
  t.teardown(() => closeAll(r, w))
  let reg = m.registerBuffers(1, 65536)
  const reading = m.readFixed(r, reg, 0)
  reg = null
  for (let i = 0; i < 5; i++) { globalThis.gc?.(); await new Promise((resolve) => setImmediate(resolve)) }
  await m.write(w, Buffer.from('still there'))
  t.is(await reading, 11)
})

when(ops.send_zc === true, 'no IORING_OP_SEND_ZC (kernel 6.0+)')('sendZc sends exact bytes and resolves once the kernel lets go', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const data = randomBytes(4 << 20)
  const receiving = (async () => {
    const out = Buffer.alloc(data.length)
    let n = 0
    while (n < data.length) n += await m.recv(conn, out, { offset: n })
    return out
  })()
  for (let off = 0; off < data.length;) off += await m.sendZc(client, data, { offset: off, length: Math.min(1 << 20, data.length - off) })
  t.is(digest(await receiving), digest(data))
  // From registered memory: no copy at all.
  const reg = m.registerBuffers(1, 1 << 16)
  randomBytes(1 << 16).copy(reg.buffers[0])
  const want = Buffer.from(reg.buffers[0])
  const got = Buffer.alloc(1 << 16)
  const recv = (async () => { let n = 0; while (n < got.length) n += await m.recv(conn, got, { offset: n }); })()
  for (let off = 0; off < want.length;) off += await m.sendZcFixed(client, reg, 0, { offset: off, length: want.length - off })
  await recv
  t.is(digest(got), digest(want))
  t.is(m.metrics().pending, 0)
})

test('a fixed read that waits takes timeout and abort', async (t) => {
  const m = machine(t)
  const [r, w] = m.pipe()
  t.teardown(() => closeAll(r, w))
  const reg = m.registerBuffers(1, 4096)
  await t.throwsAsync(m.readFixed(r, reg, 0, { timeout: 20 }), { code: 'ETIMEDOUT' })
  const { AbortError } = await import('uring-machine')
  await t.throwsAsync(m.readFixed(r, reg, 0, { signal: AbortSignal.timeout(20) }), { instanceOf: AbortError })
  t.is(m.metrics().pending, 0)
})

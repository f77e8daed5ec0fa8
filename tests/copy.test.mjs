// splice, tee and copy: bytes moved through kernel pipes, checked by digest
// in every direction (file and socket on either side).
import test from 'ava'
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AbortError } from 'uring-machine'
import { machine, tempDir, tcpPair, closeAll, openFds, sleep } from './helpers.mjs'

const sha = (b) => createHash('sha256').update(b).digest('hex')

/** Reads `fd` until EOF through the machine. */
async function drain (m, fd) {
  const parts = []
  const buf = Buffer.alloc(1 << 16)
  for (;;) {
    const n = await m.recv(fd, buf)
    if (n === 0) return Buffer.concat(parts)
    parts.push(Buffer.from(buf.subarray(0, n)))
  }
}

test.serial('splice and tee move bytes between pipes and files', async (t) => {
  const m = machine(t)
  const [r1, w1] = m.pipe()
  const [r2, w2] = m.pipe()
  t.teardown(() => closeAll(r1, w1, r2, w2))
  await m.write(w1, Buffer.from('hello pipes'))
  t.is(await m.tee(r1, w2, 64), 11, 'tee copies without consuming')
  const path = join(tempDir(t), 'out')
  const fd = await m.open(path, 'w+')
  t.is(await m.splice(r1, null, fd, 0, 64), 11)
  t.is(await m.splice(r2, null, fd, 11, 64), 11)
  t.is(readFileSync(path, 'utf8'), 'hello pipeshello pipes')
  await m.close(fd)
})

test.serial('copy: file to file, with positions and a length', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const data = randomBytes(5 << 20)
  writeFileSync(join(dir, 'src'), data)
  const src = await m.open(join(dir, 'src'))
  const dst = await m.open(join(dir, 'dst'), 'w+')
  t.is(await m.copy(src, dst), data.length)
  t.is(sha(readFileSync(join(dir, 'dst'))), sha(data))
  t.is(await m.copy(src, dst, { srcPosition: 1000, dstPosition: 0, length: 4096 }), 4096)
  t.true(readFileSync(join(dir, 'dst')).subarray(0, 4096).equals(data.subarray(1000, 5096)))
  await m.close(src)
  await m.close(dst)
})

test.serial('copy: file to socket, socket to file, socket to socket', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const data = randomBytes(3 << 20)
  writeFileSync(join(dir, 'src'), data)
  const a = await tcpPair(m)
  const b = await tcpPair(m)
  t.teardown(() => closeAll(a.server, a.client, a.conn, b.server, b.client, b.conn))
  // file -> a.client ... a.conn -> b.client (socket to socket) ... b.conn -> file
  const src = await m.open(join(dir, 'src'))
  const dst = await m.open(join(dir, 'dst'), 'w+')
  const toFile = m.copy(b.conn, dst)
  const relay = m.copy(a.conn, b.client).then(async (n) => { await m.shutdown(b.client); return n })
  t.is(await m.copy(src, a.client), data.length)
  await m.shutdown(a.client)
  t.is(await relay, data.length)
  t.is(await toFile, data.length)
  t.is(sha(readFileSync(join(dir, 'dst'))), sha(data))
  await m.close(src)
  await m.close(dst)
  void drain
})

test.serial('copy: an abort mid-way reports the bytes copied and closes its pipe', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const p = await tcpPair(m)
  t.teardown(() => closeAll(p.server, p.client, p.conn))
  const dst = await m.open(join(dir, 'dst'), 'w+')
  await sleep(5)
  const before = openFds()
  const ac = new AbortController()
  const copying = m.copy(p.conn, dst, { signal: ac.signal })
  await m.send(p.client, Buffer.alloc(1000, 1))
  await sleep(30)
  ac.abort()
  const err = await t.throwsAsync(copying, { instanceOf: AbortError })
  t.is(err.bytesCopied, 1000)
  t.is(openFds(), before, 'the pipe was closed')
  const timed = await t.throwsAsync(m.copy(p.conn, dst, { timeout: 20 }), { code: 'ETIMEDOUT' })
  t.is(timed.bytesCopied, 0)
  await m.close(dst)
  t.is(m.metrics().pending, 0)
})

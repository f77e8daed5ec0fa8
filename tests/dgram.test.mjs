// Datagram sends to a full AF_UNIX receiver. On kernel 6.18 io_uring's own
// retry of such a send puts an empty datagram on the wire and reports 0;
// the ring waits for POLLOUT itself, so the send waits and goes out whole.
import test from 'ava'
import { join } from 'node:path'
import { constants as C } from 'uring-machine'
import { machine, tempDir } from './helpers.mjs'

/** A sender connected to a bound receiver (a socketpair skips the queue limit). */
async function dgramPair (t, m) {
  const path = join(tempDir(t), 'rx.sock')
  const rx = await m.socket(C.AF_UNIX, C.SOCK_DGRAM)
  await m.bind(rx, { path })
  const tx = await m.socket(C.AF_UNIX, C.SOCK_DGRAM)
  await m.connect(tx, { path })
  t.teardown(() => { m.close(rx).catch(() => {}); m.close(tx).catch(() => {}) })
  return { rx, tx }
}

/** Fills the receiver's queue with 64-byte datagrams of 1s; returns how many. */
async function fill (m, tx) {
  let n = 0
  for (;;) {
    try {
      await m.send(tx, Buffer.alloc(64, 1), { flags: C.MSG_DONTWAIT })
      n++
    } catch (e) {
      if (e.code === 'EAGAIN') return n
      throw e
    }
  }
}

/** Every datagram waiting on rx, as [length, first byte]. */
async function drain (m, rx) {
  const got = []
  const buf = Buffer.alloc(256)
  for (;;) {
    try {
      const n = await m.recv(rx, buf, { flags: C.MSG_DONTWAIT })
      got.push([n, buf[0]])
    } catch (e) {
      if (e.code === 'EAGAIN') return got
      throw e
    }
  }
}

test('a send to a full datagram receiver waits, then sends the datagram whole', async (t) => {
  const m = machine(t)
  const { rx, tx } = await dgramPair(t, m)
  const queued = await fill(m, tx)
  t.true(queued > 0)
  let settled = false
  const sent = m.send(tx, Buffer.alloc(100, 7)).finally(() => { settled = true })
  // Turn the loop with ops of its own: the send must still be waiting.
  for (let i = 0; i < 20; i++) await m.nop()
  t.false(settled, 'the send waits while the receiver is full')
  // Draining lets the waiting send through, maybe while the drain goes on.
  const got = await drain(m, rx)
  t.is(await sent, 100)
  got.push(...await drain(m, rx))
  t.deepEqual(got, [...Array(queued).fill([64, 1]), [100, 7]], 'the queued ones, one 100-byte datagram, and no empty one')
})

test('many waiting datagram sends all go out whole', async (t) => {
  const m = machine(t)
  const { rx, tx } = await dgramPair(t, m)
  await fill(m, tx)
  const sends = Array.from({ length: 30 }, (_, i) => m.send(tx, Buffer.alloc(10 + i, i)))
  const got = []
  while (got.length < 30 + 10) {
    got.push(...await drain(m, rx))
    await m.sleep(1)
  }
  t.deepEqual(await Promise.all(sends), Array.from({ length: 30 }, (_, i) => 10 + i))
  const sizes = got.filter(([n]) => n !== 64).map(([n]) => n).sort((a, b) => a - b)
  t.deepEqual(sizes, Array.from({ length: 30 }, (_, i) => 10 + i))
  t.false(got.some(([n]) => n === 0), 'no empty datagram')
})

test('a waiting datagram send times out or aborts, and sends nothing', async (t) => {
  const m = machine(t)
  const { rx, tx } = await dgramPair(t, m)
  const queued = await fill(m, tx)
  await t.throwsAsync(m.send(tx, Buffer.alloc(100, 7), { timeout: 20 }), { code: 'ETIMEDOUT' })
  const ac = new AbortController()
  const aborted = m.send(tx, Buffer.alloc(100, 8), { signal: ac.signal })
  await m.nop()
  ac.abort()
  await t.throwsAsync(aborted, { name: 'AbortError' })
  const got = await drain(m, rx)
  t.is(got.length, queued)
  t.true(got.every(([n, b]) => n === 64 && b === 1))
  t.is(m.metrics().pending, 0)
})

import test from 'ava'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { Machine, Queue, AbortError } from 'uring-machine'
import { machine, sleep, when } from './helpers.mjs'

const hasFutex = Machine.probe().ops.futex_wait === true
const futexTest = when(hasFutex, 'no IORING_OP_FUTEX_WAIT (kernel 6.7+)')
const pkg = fileURLToPath(new URL('../packages/uring-machine/dist/index.js', import.meta.url))

test('bytes: FIFO with push/shift, LIFO with push/pop, unshift at the head', async (t) => {
  const m = machine(t)
  const q = new Queue({ capacity: 4, messageSize: 16 })
  for (const s of ['a', 'b', 'c']) await m.push(q, Buffer.from(s))
  await m.unshift(q, Buffer.from('z'))
  t.is(q.length, 4)
  t.is(Buffer.from(await m.shift(q)).toString(), 'z')
  t.is(Buffer.from(await m.pop(q)).toString(), 'c')
  t.is(Buffer.from(await m.shift(q)).toString(), 'a')
  t.is(Buffer.from(await m.shift(q)).toString(), 'b')
  t.is(q.length, 0)
  // Messages are copied in and out.
  const src = Buffer.from('copy')
  await m.push(q, src)
  src.fill(0)
  t.is(Buffer.from(await m.shift(q)).toString(), 'copy')
  t.throws(() => m.push(q, 'text'), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => m.push(q, Buffer.alloc(17)), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => m.shift({}), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('values: any structured-clonable value round-trips', async (t) => {
  const m = machine(t)
  const q = new Queue({ values: true, capacity: 8, messageSize: 1024 })
  const values = [1, 'two', { three: [3] }, new Map([[4, 'four']]), new Date(5), null, 7n]
  for (const v of values) await m.push(q, v)
  for (const v of values) t.deepEqual(await m.shift(q), v)
  t.throws(() => m.push(q, 'x'.repeat(2000)), { code: 'ERR_OUT_OF_RANGE' })
})

futexTest('waiting: shift on empty and push on full wait in the ring; timeout, abort, nothing left behind', async (t) => {
  const m = machine(t)
  const q = new Queue({ values: true, capacity: 2, messageSize: 64 })
  const taken = m.shift(q)
  await sleep(10)
  await m.push(q, 'late')
  t.is(await taken, 'late')
  await m.push(q, 1)
  await m.push(q, 2)
  const third = m.push(q, 3)
  await sleep(10)
  t.is(q.length, 2, 'the third push waits')
  t.is(await m.shift(q), 1)
  await third
  t.deepEqual([await m.shift(q), await m.shift(q)], [2, 3])
  await t.throwsAsync(m.shift(q, { timeout: 20 }), { code: 'ETIMEDOUT' })
  await t.throwsAsync(m.pop(q, { signal: AbortSignal.timeout(20) }), { instanceOf: AbortError })
  await m.push(q, 'still works')
  t.is(await m.shift(q), 'still works')
  await sleep(5)
  t.is(m.metrics().pending, 0)
})

const producer = `
const { parentPort, workerData } = require('node:worker_threads')
const { Machine, Queue } = require(workerData.pkg)
;(async () => {
  const m = new Machine()
  const q = new Queue(workerData.queue)
  for (let i = 0; i < workerData.n; i++) await m.push(q, workerData.id * 1e6 + i)
  await m.destroy()
  parentPort.postMessage('done')
})().catch((e) => parentPort.postMessage(String(e && e.stack || e)))
`
const consumer = `
const { parentPort, workerData } = require('node:worker_threads')
const { Machine, Queue } = require(workerData.pkg)
;(async () => {
  const m = new Machine()
  const q = new Queue(workerData.queue)
  const got = []
  for (;;) {
    const v = await m.shift(q)
    if (v === null) break
    got.push(v)
  }
  await m.destroy()
  parentPort.postMessage(got)
})().catch((e) => parentPort.postMessage(String(e && e.stack || e)))
`

function run (code, workerData) {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData })
    w.once('message', resolve)
    w.once('error', reject)
  })
}

futexTest.serial('4 producers and 4 consumers in threads lose and duplicate nothing', async (t) => {
  t.timeout(120_000)
  // A small queue, so producers and consumers both wait constantly.
  const q = new Queue({ values: true, capacity: 8, messageSize: 64 })
  const n = 5000
  const consumers = Array.from({ length: 4 }, () => run(consumer, { pkg, queue: q.buffer }))
  const producers = await Promise.all(Array.from({ length: 4 }, (_, id) => run(producer, { pkg, queue: q.buffer, id: id + 1, n })))
  t.deepEqual(producers, ['done', 'done', 'done', 'done'])
  const m = machine(t)
  for (let i = 0; i < 4; i++) await m.push(q, null)
  const got = await Promise.all(consumers)
  for (const g of got) t.true(Array.isArray(g), String(g))
  const all = got.flat().sort((a, b) => a - b)
  const want = []
  for (let id = 1; id <= 4; id++) for (let i = 0; i < n; i++) want.push(id * 1e6 + i)
  t.is(all.length, want.length, 'nothing lost, nothing duplicated')
  t.deepEqual(all, want)
  // Each producer's messages reach any one consumer in order (FIFO).
  for (const g of got) {
    for (let id = 1; id <= 4; id++) {
      const mine = g.filter((v) => Math.floor(v / 1e6) === id)
      t.deepEqual(mine, [...mine].sort((a, b) => a - b))
    }
  }
  t.is(q.length, 0)
})

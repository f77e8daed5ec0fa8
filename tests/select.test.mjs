import test from 'ava'
import { AbortError } from 'uring-machine'
import { machine, tcpPair, closeAll, sleep } from './helpers.mjs'

async function pairs (t, m, n) {
  const out = []
  for (let i = 0; i < n; i++) out.push(await tcpPair(m))
  t.teardown(() => closeAll(...out.flatMap((p) => [p.server, p.client, p.conn])))
  return out
}

test.serial('select: the ready fd among many, the rest cancelled, nothing left in flight', async (t) => {
  const m = machine(t)
  const ps = await pairs(t, m, 4)
  const reading = m.select(ps.map((p) => p.conn), [])
  await sleep(10)
  await m.send(ps[2].client, Buffer.from('x'))
  t.deepEqual(await reading, { read: [ps[2].conn], write: [], except: [] })
  t.is(m.metrics().pending, 0)
  // Writable sockets are ready at once; several may be reported together.
  const w = await m.select([ps[0].conn], ps.map((p) => p.client))
  t.true(w.write.length >= 1 && w.write.every((fd) => ps.some((p) => p.client === fd)))
  t.deepEqual(w.read, [])
  t.is(m.metrics().pending, 0)
})

test.serial('select: a single fd takes the fast path; EOF counts as readable', async (t) => {
  const m = machine(t)
  const [p] = await pairs(t, m, 1)
  const one = m.select([p.conn], [])
  await m.shutdown(p.client)
  t.deepEqual(await one, { read: [p.conn], write: [], except: [] })
  t.is(m.metrics().opsSubmitted > 0, true)
})

test.serial('select: a timeout resolves with empty lists, an abort rejects', async (t) => {
  const m = machine(t)
  const ps = await pairs(t, m, 2)
  const t0 = Date.now()
  t.deepEqual(await m.select(ps.map((p) => p.conn), [], [], { timeout: 30 }), { read: [], write: [], except: [] })
  t.true(Date.now() - t0 >= 25)
  t.deepEqual(await m.select([ps[0].conn], [], [], { timeout: 20 }), { read: [], write: [], except: [] })
  t.deepEqual(await m.select([], [], [], { timeout: 5 }), { read: [], write: [], except: [] })
  const err = await t.throwsAsync(m.select(ps.map((p) => p.conn), [], [], { signal: AbortSignal.timeout(20) }), { instanceOf: AbortError })
  t.truthy(err)
  t.is(m.metrics().pending, 0)
})

test('select: bad arguments throw', (t) => {
  const m = machine(t)
  return Promise.all([
    t.throwsAsync(m.select(3, []), { code: 'ERR_INVALID_ARG_TYPE' }),
    t.throwsAsync(m.select([-1], []), { code: 'ERR_OUT_OF_RANGE' }),
    t.throwsAsync(m.select([], [], [], { timeout: -5 }), { code: 'ERR_OUT_OF_RANGE' })
  ])
})

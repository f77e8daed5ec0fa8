// m.resolve: getaddrinfo on the native pool, completed through the ring;
// the same answers and errors as dns.promises.lookup(name, { all: true }).
import test from 'ava'
import dns from 'node:dns'
import { AbortError } from 'uring-machine'
import { machine } from './helpers.mjs'

const sorted = (list) => list.map((a) => `${a.family} ${a.address}`).sort()

test('numeric addresses come back as they are', async (t) => {
  const m = machine(t)
  t.deepEqual(await m.resolve('127.0.0.1'), [{ address: '127.0.0.1', family: 4 }])
  t.deepEqual(await m.resolve('::1', { family: 6 }), [{ address: '::1', family: 6 }])
  t.is(m.metrics().pending, 0)
})

test('localhost: the same addresses as dns.lookup, per family', async (t) => {
  const m = machine(t)
  // Not family 6: where /etc/hosts has no ::1 line (here), that lookup goes
  // to DNS, and tests use no network but loopback.
  for (const family of [0, 4]) {
    let want
    try {
      want = await dns.promises.lookup('localhost', { all: true, family })
    } catch (err) {
      const e = await t.throwsAsync(m.resolve('localhost', { family }))
      t.is(e.code, err.code)
      continue
    }
    t.deepEqual(sorted(await m.resolve('localhost', { family })), sorted(want), `family ${family}`)
  }
})

test('unknown and invalid names fail like dns.lookup: code, errno, syscall, hostname', async (t) => {
  const m = machine(t)
  for (const name of ['bad name!', 'bad..name', '']) {
    const theirs = await dns.promises.lookup(name, { all: true }).then(() => null, (e) => e)
    const ours = await m.resolve(name).then(() => null, (e) => e)
    if (theirs === null) {
      t.is(ours, null, `${JSON.stringify(name)} resolves for dns.lookup`)
      continue
    }
    t.truthy(ours, `${JSON.stringify(name)} fails`)
    t.is(ours.code, theirs.code)
    t.is(ours.syscall, 'getaddrinfo')
    t.is(ours.hostname, name)
    t.is(ours.message, `getaddrinfo ${ours.code} ${name}`)
    t.is(typeof ours.errno, 'number')
  }
})

test('many lookups at once share the pool; abort rejects at once and leaves nothing pending', async (t) => {
  const m = machine(t)
  const all = await Promise.all(Array.from({ length: 64 }, () => m.resolve('localhost', { family: 4 })))
  for (const a of all) t.deepEqual(a, [{ address: '127.0.0.1', family: 4 }])
  const ac = new AbortController()
  const p = m.resolve('localhost', { signal: ac.signal })
  ac.abort()
  await t.throwsAsync(p, { instanceOf: AbortError })
  t.is(m.metrics().pending, 0)
  await t.throwsAsync(m.resolve('localhost', { signal: AbortSignal.abort() }), { instanceOf: AbortError })
  // A timeout shorter than any lookup: rejects with ETIMEDOUT, or the lookup won the race.
  const raced = await m.resolve('localhost', { timeout: 1 }).then(() => 'answered', (e) => e.code)
  t.true(['answered', 'ETIMEDOUT'].includes(raced), String(raced))
  // The pool's late answer to the aborted lookup is dropped, not delivered elsewhere.
  t.deepEqual(await m.resolve('127.0.0.1'), [{ address: '127.0.0.1', family: 4 }])
})

test('bad arguments', (t) => {
  const m = machine(t)
  t.throws(() => m.resolve(1), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => m.resolve('a\0b'), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.resolve('a', { family: 5 }), { code: 'ERR_INVALID_ARG_VALUE' })
})

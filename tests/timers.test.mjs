// interval(): a periodic timer in the ring (IORING_TIMEOUT_MULTISHOT) as an
// async iterator. Counts and order are asserted, not timing tightness.
import test from 'ava'
import { machine, sleep } from './helpers.mjs'

test.serial('interval yields tick counts in order, roughly one per period', async (t) => {
  const m = machine(t)
  const start = performance.now()
  const seen = []
  for await (const n of m.interval(10)) {
    seen.push(n)
    if (seen.length === 5) break
  }
  t.deepEqual(seen, [1, 2, 3, 4, 5])
  t.true(performance.now() - start >= 40, 'five periods of 10 ms take at least four')
  t.is(m.metrics().pending, 0, 'break cancelled the kernel timer and it is gone')
})

test.serial('ticks queue while nobody takes them, and return() ends the iteration', async (t) => {
  const m = machine(t)
  const it = m.interval(5)
  await sleep(60)
  t.deepEqual(await it.next(), { value: 1, done: false })
  t.deepEqual(await it.next(), { value: 2, done: false })
  t.deepEqual(await it.return(), { value: undefined, done: true })
  t.deepEqual(await it.next(), { value: undefined, done: true })
  t.is(m.metrics().pending, 0)
})

test.serial('past 1024 untaken ticks the timer pauses; taking half of them re-arms it, and the counts run on without a gap', async (t) => {
  const m = machine(t)
  const it = m.interval(1)
  const until = Date.now() + 20_000
  await sleep(50)
  t.true(m.metrics().pending >= 1, 'armed')
  while (m.metrics().pending > 0 && Date.now() < until) await sleep(20)
  t.is(m.metrics().pending, 0, 'paused: no kernel timer in flight once 1024 ticks wait')
  await sleep(50)
  t.is(m.metrics().pending, 0, 'still paused while nobody takes them')
  const got = []
  for (let i = 0; i < 600; i++) got.push((await it.next()).value)
  t.true(m.metrics().pending >= 1, 're-armed once half were taken')
  for (let i = 0; i < 600; i++) got.push((await it.next()).value)
  t.deepEqual(got, Array.from({ length: 1200 }, (_, i) => i + 1))
  await it.return()
  t.is(m.metrics().pending, 0)
})

test.serial('an abort rejects the waiting next() with AbortError and cancels the timer', async (t) => {
  const m = machine(t)
  const ac = new AbortController()
  const it = m.interval(1000, { signal: ac.signal })
  const waiting = it.next()
  setTimeout(() => ac.abort(), 20)
  const e = await t.throwsAsync(waiting, { name: 'AbortError', code: 'ABORT_ERR' })
  t.is(e.cause?.name, 'AbortError', "the signal's reason")
  t.deepEqual(await it.next(), { value: undefined, done: true })
  await sleep(10)
  t.is(m.metrics().pending, 0)
  // An already-aborted signal: nothing is armed.
  const pre = m.interval(10, { signal: AbortSignal.abort() })
  await t.throwsAsync(pre.next(), { name: 'AbortError' })
  t.is(m.metrics().pending, 0)
})

test.serial('destroy() ends an unfinished interval', async (t) => {
  const m = machine(t)
  const it = m.interval(1000)
  const waiting = it.next()
  await sleep(10)
  const destroyed = m.destroy()
  await t.throwsAsync(waiting, { code: 'ERR_MACHINE_DESTROYED' })
  await destroyed
  t.deepEqual(await it.next(), { value: undefined, done: true })
  // One that had ticked and was not being waited on.
  const m2 = machine(t)
  const it2 = m2.interval(5)
  t.is((await it2.next()).value, 1)
  await m2.destroy()
  await t.throwsAsync(it2.next(), { code: 'ERR_MACHINE_DESTROYED' })
  t.deepEqual(await it2.next(), { value: undefined, done: true })
})

test.serial('interval arguments', (t) => {
  const m = machine(t)
  t.throws(() => m.interval('10'), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  t.throws(() => m.interval(0), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => m.interval(-1), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => m.interval(NaN), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => m.interval(10, { timeout: 5 }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.interval(10, { signal: 'x' }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.is(m.metrics().pending, 0)
})

test.serial('an interval keeps ticking across forced GCs, and an unreferenced one ends with its Machine', async (t) => {
  const m = machine(t)
  const it = m.interval(5)
  const seen = []
  for (let i = 0; i < 4; i++) {
    globalThis.gc?.()
    seen.push((await it.next()).value)
  }
  t.deepEqual(seen, [1, 2, 3, 4])
  await it.return()
  // Dropped without return(): destroy() still ends it and frees the ring.
  const m2 = machine(t)
  m2.interval(5)
  globalThis.gc?.()
  await sleep(20)
  t.is(m2.metrics().pending, 1)
  await m2.destroy()
  t.true(m2.destroyed)
})

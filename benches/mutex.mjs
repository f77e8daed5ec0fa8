// Mutex: the Machine's `Mutex` (`await m.lock(mu); m.unlock(mu)`) against
// an async mutex on Atomics.waitAsync written here with the same 3-state
// futex protocol (0 unlocked, 1 locked, 2 locked with possible waiters),
// and two synchronous baselines.
//
// 1. Uncontended, one thread: ns per lock+unlock pair. The synchronous
//    pair (compareExchange + store, no await) is the floor.
// 2. Contended: 2 worker threads increment a counter in a
//    SharedArrayBuffer under the mutex (a plain read-modify-write inside
//    the lock), released together through an Atomics barrier. The count is
//    checked exact after every run. A blocking Atomics.wait mutex (the
//    worker thread sleeps in the kernel) is the synchronous reference.
//
// This file is also the workers' entry (run with `workerData.mutexBench`).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { Machine, Mutex } from 'uring-machine'
import { alternate, bounded, now } from './lib.mjs'

const UNLOCKED = 0
const LOCKED = 1
const CONTENDED = 2
const RESOLVED = Promise.resolve()

/**
 * The Atomics.waitAsync mutex: the Machine's protocol, with the wait done
 * by `Atomics.waitAsync` and the wake by `Atomics.notify`. As in the
 * Machine, the fast path returns one already-resolved promise. `waits`
 * counts the waits that went to sleep (for the notes).
 */
export class WaitAsyncMutex {
  waits = 0
  constructor (buffer = new SharedArrayBuffer(4)) {
    this.state = new Int32Array(buffer, 0, 1)
  }

  lock () {
    const c = Atomics.compareExchange(this.state, 0, UNLOCKED, LOCKED)
    if (c === UNLOCKED) return RESOLVED
    return this.#contended(c)
  }

  async #contended (c) {
    const s = this.state
    if (c !== CONTENDED) c = Atomics.exchange(s, 0, CONTENDED)
    while (c !== UNLOCKED) {
      const w = Atomics.waitAsync(s, 0, CONTENDED)
      if (w.async) this.waits++
      await w.value
      c = Atomics.exchange(s, 0, CONTENDED)
    }
  }

  unlock () {
    const s = this.state
    if (Atomics.sub(s, 0, 1) !== LOCKED) {
      Atomics.store(s, 0, UNLOCKED)
      Atomics.notify(s, 0, 1)
    }
  }
}

/** The same protocol blocking the thread in `Atomics.wait` (workers only). */
export class BlockingMutex {
  waits = 0
  constructor (buffer = new SharedArrayBuffer(4)) {
    this.state = new Int32Array(buffer, 0, 1)
  }

  lock () {
    const s = this.state
    let c = Atomics.compareExchange(s, 0, UNLOCKED, LOCKED)
    if (c === UNLOCKED) return
    if (c !== CONTENDED) c = Atomics.exchange(s, 0, CONTENDED)
    while (c !== UNLOCKED) {
      if (Atomics.wait(s, 0, CONTENDED) === 'ok') this.waits++
      c = Atomics.exchange(s, 0, CONTENDED)
    }
  }

  unlock () {
    const s = this.state
    if (Atomics.sub(s, 0, 1) !== LOCKED) {
      Atomics.store(s, 0, UNLOCKED)
      Atomics.notify(s, 0, 1)
    }
  }
}

// ------------------------------------------------------------ uncontended

// Every loop: at most `count` pairs, or until `maxMs` has passed (checked
// every 4096 pairs), and the lock must be free at the end.

async function machinePairs (m, mu, count, maxMs) {
  const deadline = now() + maxMs
  let i = 0
  const t0 = now()
  while (i < count) {
    await m.lock(mu)
    m.unlock(mu)
    if ((++i & 4095) === 0 && now() > deadline) break
  }
  const seconds = (now() - t0) / 1000
  if (mu.locked) throw new Error('Machine Mutex: still locked after the run')
  return { ops: i, seconds }
}

async function waitAsyncPairs (mu, count, maxMs) {
  const deadline = now() + maxMs
  let i = 0
  const t0 = now()
  while (i < count) {
    await mu.lock()
    mu.unlock()
    if ((++i & 4095) === 0 && now() > deadline) break
  }
  const seconds = (now() - t0) / 1000
  if (Atomics.load(mu.state, 0) !== UNLOCKED) throw new Error('Atomics.waitAsync mutex: still locked after the run')
  return { ops: i, seconds }
}

function syncPairs (state, count, maxMs) {
  const deadline = now() + maxMs
  let i = 0
  let failed = 0
  const t0 = now()
  while (i < count) {
    if (Atomics.compareExchange(state, 0, UNLOCKED, LOCKED) !== UNLOCKED) failed++
    Atomics.store(state, 0, UNLOCKED)
    if ((++i & 65535) === 0 && now() > deadline) break
  }
  const seconds = (now() - t0) / 1000
  if (failed !== 0) throw new Error(`sync compareExchange: ${failed} failed acquisitions on a free lock`)
  return { ops: i, seconds }
}

async function uncontendedTable ({ quick, rounds, log }) {
  const count = quick ? 20_000_000 : 200_000_000
  const maxMs = quick ? 100 : 300
  let m
  const mu = new Mutex()
  const amu = new WaitAsyncMutex()
  const sync = new Int32Array(new SharedArrayBuffer(4))
  const contenders = [
    {
      name: 'Machine Mutex',
      note: '`await m.lock(mu); m.unlock(mu)`',
      setup: async () => { m = new Machine() },
      run: async () => {
        const before = m.metrics().opsSubmitted
        const r = await machinePairs(m, mu, count, maxMs)
        const ops = m.metrics().opsSubmitted - before
        if (ops !== 0) throw new Error(`Machine Mutex: ${ops} ring ops for uncontended locks`)
        return { ...r, info: 'no ring op (checked)' }
      },
      teardown: async () => { await m?.destroy() }
    },
    {
      name: 'Atomics.waitAsync mutex',
      note: '`await mu.lock(); mu.unlock()` (defined in benches/mutex.mjs)',
      run: () => waitAsyncPairs(amu, count, maxMs)
    },
    {
      name: 'sync compareExchange + store',
      note: 'no await, no promise: the floor',
      run: async () => syncPairs(sync, count, maxMs)
    }
  ]
  log('mutex, uncontended')
  return alternate({
    title: 'Mutex, uncontended lock+unlock, one thread',
    unit: 'pairs',
    baseline: 'Atomics.waitAsync mutex',
    note: `Each run: ${maxMs / 1000} s of lock+unlock pairs (at most ${count.toLocaleString('en-US')}) on a free lock, one JS thread; the async contenders await every lock.`,
    contenders,
    rounds,
    log
  })
}

// -------------------------------------------------------------- contended

const WORKERS = 2
// Control words, each on its own 64-byte line but for OWNER, the last
// worker to take the lock, which sits by the counter (both written under it).
const COUNTER = 0
const OWNER = 1
const ARRIVED = 16
const GEN = 32
const STOP = 48
const CTRL_INTS = 64

/** One worker's run: up to `n` increments, until `deadline` or until the other stops. */
async function workerRun (kind, ctx, n, maxMs) {
  const { ctrl, m, mu, id } = ctx
  const counter = ctrl
  const deadline = now() + maxMs
  let i = 0
  let handoffs = 0 // acquisitions that took the lock over from the other worker
  const t0 = now()
  if (kind === 'machine') {
    while (i < n) {
      await m.lock(mu)
      counter[COUNTER] = counter[COUNTER] + 1
      if (counter[OWNER] !== id) { counter[OWNER] = id; handoffs++ }
      m.unlock(mu)
      i++
      if (Atomics.load(ctrl, STOP) !== 0) break
      if ((i & 255) === 0 && now() > deadline) { Atomics.store(ctrl, STOP, 1); break }
    }
  } else if (kind === 'waitAsync') {
    while (i < n) {
      await mu.lock()
      counter[COUNTER] = counter[COUNTER] + 1
      if (counter[OWNER] !== id) { counter[OWNER] = id; handoffs++ }
      mu.unlock()
      i++
      if (Atomics.load(ctrl, STOP) !== 0) break
      if ((i & 255) === 0 && now() > deadline) { Atomics.store(ctrl, STOP, 1); break }
    }
  } else {
    while (i < n) {
      mu.lock()
      counter[COUNTER] = counter[COUNTER] + 1
      if (counter[OWNER] !== id) { counter[OWNER] = id; handoffs++ }
      mu.unlock()
      i++
      if (Atomics.load(ctrl, STOP) !== 0) break
      if ((i & 255) === 0 && now() > deadline) { Atomics.store(ctrl, STOP, 1); break }
    }
  }
  return { count: i, handoffs, ms: now() - t0 }
}

/** The worker side: waits at the barrier for every run, then runs. */
function workerMain () {
  const { kind, id, ctrlBuffer, mutexBuffer } = workerData
  const ctrl = new Int32Array(ctrlBuffer)
  const ctx = { ctrl, id, m: undefined, mu: undefined }
  if (kind === 'machine') {
    ctx.m = new Machine()
    ctx.mu = new Mutex(mutexBuffer)
  } else if (kind === 'waitAsync') {
    ctx.mu = new WaitAsyncMutex(mutexBuffer)
  } else {
    ctx.mu = new BlockingMutex(mutexBuffer)
  }
  parentPort.on('message', async (msg) => {
    try {
      if (msg.cmd === 'close') {
        await ctx.m?.destroy()
        parentPort.close()
        return
      }
      const waits0 = ctx.mu.waits ?? 0
      const ring0 = ctx.m?.metrics().opsSubmitted ?? 0
      // The barrier: arrive, tell the parent, sleep until it opens the gate.
      Atomics.add(ctrl, ARRIVED, 1)
      parentPort.postMessage({ type: 'ready' })
      const gate = Atomics.wait(ctrl, GEN, msg.gen - 1, 30_000)
      if (gate === 'timed-out') throw new Error('barrier: never released')
      const r = await workerRun(kind, ctx, msg.n, msg.maxMs)
      parentPort.postMessage({
        type: 'done',
        ...r,
        waits: ctx.mu.waits !== undefined ? ctx.mu.waits - waits0 : undefined,
        ringOps: ctx.m !== undefined ? ctx.m.metrics().opsSubmitted - ring0 : undefined
      })
    } catch (err) {
      parentPort.postMessage({ type: 'error', message: err?.stack ?? String(err) })
    }
  })
}

/** Two workers of one kind, the counter and the mutex they share. */
class Pair {
  workers = []
  gen = 0
  failure = undefined
  closing = false
  waiting = undefined // { type, got: [], resolve, reject }

  constructor (kind) {
    this.kind = kind
    this.ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4))
    this.mutexBuffer = new SharedArrayBuffer(4)
  }

  async start () {
    for (let id = 0; id < WORKERS; id++) {
      const w = new Worker(fileURLToPath(import.meta.url), {
        workerData: { mutexBench: true, kind: this.kind, id, ctrlBuffer: this.ctrl.buffer, mutexBuffer: this.mutexBuffer }
      })
      w.on('message', (msg) => this.#onMessage(msg))
      w.on('error', (err) => this.#fail(err))
      w.on('exit', (code) => { if (!this.closing) this.#fail(new Error(`${this.kind} worker exited (code ${code}) during the benchmark`)) })
      this.workers.push(w)
    }
    await Promise.all(this.workers.map((w) => new Promise((resolve, reject) => {
      w.once('online', resolve)
      w.once('error', reject)
    })))
  }

  #onMessage (msg) {
    if (msg.type === 'error') return this.#fail(new Error(`${this.kind} worker: ${msg.message}`))
    const w = this.waiting
    if (w === undefined || msg.type !== w.type) return this.#fail(new Error(`${this.kind} worker: unexpected message ${msg.type}`))
    w.got.push(msg)
    if (w.got.length === WORKERS) {
      this.waiting = undefined
      w.resolve(w.got)
    }
  }

  #fail (err) {
    this.failure ??= err
    const w = this.waiting
    this.waiting = undefined
    w?.reject(err)
  }

  /** Resolves the messages of type `type` from both workers. */
  #expect (type) {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => { this.waiting = { type, got: [], resolve, reject } })
  }

  async run (n, maxMs) {
    const c = this.ctrl
    c[COUNTER] = 0
    c[OWNER] = -1
    Atomics.store(c, ARRIVED, 0)
    Atomics.store(c, STOP, 0)
    if (Atomics.load(new Int32Array(this.mutexBuffer), 0) !== UNLOCKED) throw new Error(`${this.kind}: mutex held between runs`)
    const gen = ++this.gen
    const ready = this.#expect('ready')
    for (const w of this.workers) w.postMessage({ cmd: 'run', gen, n, maxMs })
    await ready
    if (Atomics.load(c, ARRIVED) !== WORKERS) throw new Error(`${this.kind}: barrier count ${Atomics.load(c, ARRIVED)}`)
    const done = this.#expect('done')
    Atomics.store(c, GEN, gen)
    Atomics.notify(c, GEN)
    const res = await done
    const total = res.reduce((a, r) => a + r.count, 0)
    const counted = Atomics.load(c, COUNTER)
    if (counted !== total) throw new Error(`${this.kind}: counter is ${counted}, expected ${total} (lost or extra increments: the mutex did not exclude)`)
    if (Atomics.load(new Int32Array(this.mutexBuffer), 0) !== UNLOCKED) throw new Error(`${this.kind}: mutex left held after the run`)
    // Both started at the gate within microseconds; the run lasts until the later one stops.
    const seconds = Math.max(...res.map((r) => r.ms)) / 1000
    return { ops: total, seconds, res }
  }

  async close () {
    this.closing = true
    const exits = this.workers.map((w) => new Promise((resolve) => {
      if (w.threadId === -1) resolve()
      else w.once('exit', resolve)
    }))
    for (const w of this.workers) w.postMessage({ cmd: 'close' })
    try {
      await bounded(Promise.all(exits), 5_000, `${this.kind} workers: exit`)
    } catch {
      await Promise.all(this.workers.map((w) => w.terminate()))
    }
  }
}

/** The smaller worker's share of a run's increments (0.5: even; 0: one worker starved). */
function minShare (res, total) {
  return Math.min(...res.map((r) => r.count)) / total
}

async function contendedTable ({ quick, rounds, log }) {
  const n = quick ? 5_000_000 : 50_000_000
  const maxMs = quick ? 250 : 800
  const fairness = new Map() // name -> the smallest worker share over the timed rounds
  const contender = (name, kind, note, extra) => {
    const pair = new Pair(kind)
    return {
      name,
      note,
      setup: () => pair.start(),
      run: async (round) => {
        const r = await pair.run(n, maxMs)
        const share = minShare(r.res, r.ops)
        if (round >= 0) fairness.set(name, Math.min(fairness.get(name) ?? 0.5, share))
        const handoffs = r.res.reduce((a, x) => a + x.handoffs, 0)
        const info = `last round: increments per worker ${r.res.map((x) => `${(100 * x.count / r.ops).toFixed(1)}%`).join(' / ')}, ` +
          `lock changed hands ${handoffs.toLocaleString('en-US')} times (${(1000 * handoffs / r.ops).toFixed(1)} per 1k increments), ${extra(r.res)}`
        return { ops: r.ops, seconds: r.seconds, info }
      },
      teardown: () => pair.close()
    }
  }
  const sum = (res, key) => res.reduce((a, r) => a + r[key], 0).toLocaleString('en-US')
  const contenders = [
    contender('Machine Mutex', 'machine', 'each worker its own Machine; `await m.lock(mu)` / `m.unlock(mu)`',
      (res) => `${sum(res, 'ringOps')} ring ops (futex waits + wakes)`),
    contender('Atomics.waitAsync mutex', 'waitAsync', 'same protocol, `await Atomics.waitAsync(...).value` / `Atomics.notify`',
      (res) => `${sum(res, 'waits')} async waits`),
    contender('blocking Atomics.wait mutex', 'wait', 'same protocol, synchronous: the worker thread sleeps in `Atomics.wait`',
      (res) => `${sum(res, 'waits')} blocking waits`)
  ]
  log(`mutex, contended by ${WORKERS} workers`)
  const table = await alternate({
    title: `Mutex, contended by ${WORKERS} worker threads`,
    unit: 'increments',
    baseline: 'Atomics.waitAsync mutex',
    note: `Each run: ${WORKERS} worker threads, released together by an Atomics barrier, each increment a shared counter under the mutex (a plain read-modify-write inside the lock) ` +
      `until ${maxMs / 1000} s have passed (at most ${n.toLocaleString('en-US')} each); the first to reach the deadline stops the other. The final count is checked exact after every run. ` +
      'Rates: total increments over the longer worker\'s time. "Changed hands": acquisitions by the other worker than the previous one (real contention); a worker with ~0% of the increments was starved.',
    contenders,
    rounds,
    runTimeoutMs: 30_000,
    log
  })
  for (const r of table.rows) r.minShare = fairness.get(r.name)
  return table
}

export async function mutexBench ({ quick, rounds, log }) {
  return [await uncontendedTable({ quick, rounds, log }), await contendedTable({ quick, rounds, log })]
}

if (!isMainThread && workerData?.mutexBench === true) workerMain()

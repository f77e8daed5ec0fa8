// Queue: messages between the main thread and a worker thread, each with
// its own Machine. Three channels carry the same 64-byte Uint8Array
// messages (the first 4 bytes a sequence number, checked by the receiver):
//
// - the Machine's `Queue` (`await m.push(q, bytes)` / `await m.shift(q)`,
//   capacity 64, messageSize 64): a bounded MPMC deque in a
//   SharedArrayBuffer behind a futex mutex, waits through the ring;
// - `worker.postMessage` / `parentPort` (structured clone of the
//   Uint8Array; unbounded, so the sender never waits);
// - a bounded SPSC ring buffer in a SharedArrayBuffer written here
//   (`WaitAsyncQueue`, 64 slots): lock-free, the receiver waits with
//   `Atomics.waitAsync` and is woken by `Atomics.notify`, the sender
//   likewise when the ring is full.
//
// 1. Throughput: the main thread sends up to N messages (time-limited) and
//    a last empty one; the worker receives and checks them and reports.
//    Rate: messages over the time from the first send to the worker's report.
// 2. Round trip: the main thread sends one message, the worker sends it
//    back on a second channel, repeat. Every round trip is timed.
//
// This file is also the workers' entry (run with `workerData.queueBench`).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { Machine, Queue } from 'uring-machine'
import { alternate, bounded, median, now } from './lib.mjs'

export const MSG = 64
export const CAPACITY = 64
const EMPTY = new Uint8Array(0) // the end of a run

// ------------------------------------------------- the Atomics.waitAsync queue

// Int32 header words, each on its own 64-byte line.
const HEAD = 0 // messages taken so far (written by the consumer only)
const TAIL = 16 // messages stored so far (written by the producer only)
const C_WAIT = 32 // 1 while the consumer waits for TAIL to move (set and cleared by it)
const P_WAIT = 48 // 1 while the producer waits for HEAD to move (set and cleared by it)
const CAP = 60
const SIZE = 61
const HEADER = 256

/**
 * A bounded single-producer single-consumer ring buffer of byte messages in
 * a SharedArrayBuffer. HEAD and TAIL count up (wrapping at 2^32; the
 * capacity is a power of two). A side about to sleep sets its flag, reads
 * the other side's counter again, and waits with Atomics.waitAsync on the
 * value it read (V8 re-checks it atomically with the notifier); the other
 * side, after moving its counter, notifies if the flag is set. Flag and
 * counter are seq-cst, so either the sleeper reads the move or the mover
 * reads the flag: no wake-up is lost. Only the sleeper clears its flag,
 * once it no longer waits: a mover clearing it (exchange) could consume the
 * flag of a wait on the value it had just written, and leave that wait
 * without a wake (this harness caught that under load). `waits` counts the
 * waits that went to sleep.
 */
export class WaitAsyncQueue {
  waits = 0
  constructor (bufferOrOptions = {}) {
    let buffer = bufferOrOptions
    if (!(buffer instanceof SharedArrayBuffer)) {
      const { capacity = CAPACITY, messageSize = MSG } = bufferOrOptions
      if (!(capacity > 0 && (capacity & (capacity - 1)) === 0)) throw new RangeError('capacity: a power of two')
      buffer = new SharedArrayBuffer(HEADER + capacity * 4 + capacity * messageSize)
      const h = new Int32Array(buffer, 0, HEADER / 4)
      h[CAP] = capacity
      h[SIZE] = messageSize
    }
    this.buffer = buffer
    this.h = new Int32Array(buffer, 0, HEADER / 4)
    this.cap = this.h[CAP]
    this.mask = this.cap - 1
    this.size = this.h[SIZE]
    this.lens = new Int32Array(buffer, HEADER, this.cap)
    this.data = new Uint8Array(buffer, HEADER + this.cap * 4)
  }

  async push (b) {
    if (b.byteLength > this.size) throw new RangeError(`message of ${b.byteLength} bytes: at most ${this.size}`)
    const h = this.h
    const tail = h[TAIL] // only this side writes it
    if (((tail - Atomics.load(h, HEAD)) | 0) >= this.cap) {
      Atomics.store(h, P_WAIT, 1)
      for (;;) {
        const head = Atomics.load(h, HEAD)
        if (((tail - head) | 0) < this.cap) break
        const w = Atomics.waitAsync(h, HEAD, head)
        if (w.async) { this.waits++; await w.value }
      }
      Atomics.store(h, P_WAIT, 0)
    }
    const i = tail & this.mask
    this.lens[i] = b.byteLength
    this.data.set(b, i * this.size)
    Atomics.store(h, TAIL, (tail + 1) | 0) // publishes the slot
    if (Atomics.load(h, C_WAIT) !== 0) Atomics.notify(h, TAIL, 1)
  }

  async shift () {
    const h = this.h
    const head = h[HEAD] // only this side writes it
    if (Atomics.load(h, TAIL) === head) {
      Atomics.store(h, C_WAIT, 1)
      while (Atomics.load(h, TAIL) === head) {
        const w = Atomics.waitAsync(h, TAIL, head)
        if (w.async) { this.waits++; await w.value }
      }
      Atomics.store(h, C_WAIT, 0)
    }
    const i = head & this.mask
    const at = i * this.size
    const b = this.data.slice(at, at + this.lens[i])
    Atomics.store(h, HEAD, (head + 1) | 0) // frees the slot
    if (Atomics.load(h, P_WAIT) !== 0) Atomics.notify(h, HEAD, 1)
    return b
  }

  get length () {
    return (Atomics.load(this.h, TAIL) - Atomics.load(this.h, HEAD)) | 0
  }
}

// ---------------------------------------------------------------- messages

function setSeq (b, i) {
  b[0] = i; b[1] = i >>> 8; b[2] = i >>> 16; b[3] = i >>> 24
}

function seqOf (b) {
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0
}

function message () {
  const b = new Uint8Array(MSG)
  for (let i = 4; i < MSG; i++) b[i] = i
  return b
}

// ------------------------------------------------------------------ worker

/** The worker's side of the channels (`kind`), for one run in `mode`. */
function workerMain () {
  const { kind, bufferA, bufferB } = workerData
  const m = kind === 'machine' ? new Machine() : undefined
  const qa = kind === 'machine' ? new Queue(bufferA) : kind === 'waitAsync' ? new WaitAsyncQueue(bufferA) : undefined
  const qb = kind === 'machine' ? new Queue(bufferB) : kind === 'waitAsync' ? new WaitAsyncQueue(bufferB) : undefined
  const shift = kind === 'machine' ? () => m.shift(qa) : () => qa.shift()
  const push = kind === 'machine' ? (b) => m.push(qb, b) : (b) => qb.push(b)
  const stats = () => ({ ringOps: m?.metrics().opsSubmitted, waits: (qa?.waits ?? 0) + (qb?.waits ?? 0) })
  let mode
  let count = 0
  let bad = 0
  let before
  const report = () => {
    const s = stats()
    parentPort.postMessage({ type: 'done', count, bad, ringOps: s.ringOps - before.ringOps, waits: s.waits - before.waits })
  }

  /** The Queue and waitAsync consumers: until the empty message. */
  async function loop () {
    for (;;) {
      const b = await shift()
      if (b.byteLength === 0) break
      if (seqOf(b) !== count || b.byteLength !== MSG) bad++
      count++
      if (mode === 'pingpong') await push(b)
    }
    report()
  }

  parentPort.on('message', (msg) => {
    if (msg instanceof Uint8Array) { // the MessagePort channel
      if (msg.byteLength === 0) return report()
      if (seqOf(msg) !== count || msg.byteLength !== MSG) bad++
      count++
      if (mode === 'pingpong') parentPort.postMessage(msg)
      return
    }
    if (msg.cmd === 'close') {
      const done = m !== undefined ? m.destroy() : Promise.resolve()
      done.finally(() => parentPort.close())
      return
    }
    mode = msg.mode
    count = 0
    bad = 0
    before = stats()
    parentPort.postMessage({ type: 'ready' })
    if (kind !== 'port') {
      loop().catch((err) => parentPort.postMessage({ type: 'error', message: err?.stack ?? String(err) }))
    }
  })
}

// -------------------------------------------------------------- main side

/** The main thread's end: a worker of `kind` and the channels to it. */
class Peer {
  worker = undefined
  m = undefined
  failure = undefined
  closing = false
  waiting = undefined // { type, resolve, reject }
  reply = undefined // resolves the MessagePort's next data message
  buf = message()

  constructor (kind) {
    this.kind = kind
    if (kind === 'machine') {
      this.qa = new Queue({ capacity: CAPACITY, messageSize: MSG })
      this.qb = new Queue({ capacity: CAPACITY, messageSize: MSG })
    } else if (kind === 'waitAsync') {
      this.qa = new WaitAsyncQueue({ capacity: CAPACITY, messageSize: MSG })
      this.qb = new WaitAsyncQueue({ capacity: CAPACITY, messageSize: MSG })
    }
  }

  async start () {
    if (this.kind === 'machine') this.m = new Machine()
    const w = this.worker = new Worker(fileURLToPath(import.meta.url), {
      workerData: { queueBench: true, kind: this.kind, bufferA: this.qa?.buffer, bufferB: this.qb?.buffer }
    })
    w.on('message', (msg) => this.#onMessage(msg))
    w.on('error', (err) => this.#fail(err))
    w.on('exit', (code) => { if (!this.closing) this.#fail(new Error(`${this.kind} worker exited (code ${code}) during the benchmark`)) })
    await new Promise((resolve, reject) => {
      w.once('online', resolve)
      w.once('error', reject)
    })
  }

  #onMessage (msg) {
    if (msg instanceof Uint8Array) {
      const r = this.reply
      this.reply = undefined
      if (r === undefined) return this.#fail(new Error('port: a reply nobody waited for'))
      return r.resolve(msg)
    }
    if (msg.type === 'error') return this.#fail(new Error(`${this.kind} worker: ${msg.message}`))
    const w = this.waiting
    if (w === undefined || msg.type !== w.type) return this.#fail(new Error(`${this.kind} worker: unexpected message ${msg.type}`))
    this.waiting = undefined
    w.resolve(msg)
  }

  #fail (err) {
    this.failure ??= err
    for (const w of [this.waiting, this.reply]) w?.reject(err)
    this.waiting = undefined
    this.reply = undefined
  }

  #expect (type) {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => { this.waiting = { type, resolve, reject } })
  }

  #nextReply () {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => { this.reply = { resolve, reject } })
  }

  #metrics () {
    return { ringOps: this.m?.metrics().opsSubmitted ?? 0, waits: (this.qa?.waits ?? 0) + (this.qb?.waits ?? 0) }
  }

  async #begin (mode) {
    const ready = this.#expect('ready')
    this.worker.postMessage({ cmd: 'run', mode })
    await ready
    return { done: this.#expect('done') } // not awaited here: it settles at the end of the run
  }

  #check (res, sent) {
    if (res.count !== sent || res.bad !== 0) throw new Error(`${this.kind}: the worker got ${res.count} messages (${res.bad} out of order or malformed), ${sent} were sent`)
    const ql = [this.qa, this.qb].map((q) => q?.length ?? 0)
    if (ql[0] !== 0 || ql[1] !== 0) throw new Error(`${this.kind}: ${ql} messages left in the queues after the run`)
  }

  /** One producer (here) to one consumer (the worker): up to `n` messages or `maxMs`. */
  async throughput (n, maxMs) {
    const { done } = await this.#begin('throughput')
    const before = this.#metrics()
    const { m, qa, buf, worker } = this
    const t0 = now()
    const deadline = t0 + maxMs
    let i = 0
    if (this.kind === 'machine') {
      while (i < n) {
        setSeq(buf, i)
        await m.push(qa, buf)
        if ((++i & 255) === 0 && now() > deadline) break
      }
      await m.push(qa, EMPTY)
    } else if (this.kind === 'waitAsync') {
      while (i < n) {
        setSeq(buf, i)
        await qa.push(buf)
        if ((++i & 255) === 0 && now() > deadline) break
      }
      await qa.push(EMPTY)
    } else {
      while (i < n) {
        setSeq(buf, i)
        worker.postMessage(buf)
        if ((++i & 255) === 0 && now() > deadline) break
      }
      worker.postMessage(EMPTY)
    }
    const res = await done
    const seconds = (now() - t0) / 1000
    this.#check(res, i)
    const after = this.#metrics()
    return { ops: i, seconds, res, ringOps: after.ringOps - before.ringOps, waits: after.waits - before.waits }
  }

  /** Ping-pong: one message there and back, up to `n` times or `maxMs`; every round trip timed. */
  async pingpong (n, maxMs) {
    const { done } = await this.#begin('pingpong')
    const before = this.#metrics()
    const { m, qa, qb, buf, worker } = this
    const rtt = new Float64Array(n)
    const t0 = now()
    const deadline = t0 + maxMs
    let i = 0
    let bad = 0
    while (i < n) {
      setSeq(buf, i)
      const t = now()
      let back
      if (this.kind === 'machine') {
        await m.push(qa, buf)
        back = await m.shift(qb)
      } else if (this.kind === 'waitAsync') {
        await qa.push(buf)
        back = await qb.shift()
      } else {
        const r = this.#nextReply()
        worker.postMessage(buf)
        back = await r
      }
      rtt[i] = now() - t
      if (seqOf(back) !== i) bad++
      if ((++i & 63) === 0 && now() > deadline) break
    }
    const seconds = (now() - t0) / 1000
    if (this.kind === 'machine') await m.push(qa, EMPTY)
    else if (this.kind === 'waitAsync') await qa.push(EMPTY)
    else worker.postMessage(EMPTY)
    const res = await done
    if (bad !== 0) throw new Error(`${this.kind}: ${bad} replies out of order`)
    this.#check(res, i)
    const after = this.#metrics()
    const s = rtt.subarray(0, i).sort()
    const q = (p) => s[Math.min(i - 1, Math.floor(p * i))] * 1e6 // ms to ns
    return { ops: i, seconds, res, ringOps: after.ringOps - before.ringOps, waits: after.waits - before.waits, p50: q(0.5), p99: q(0.99) }
  }

  async close () {
    this.closing = true
    const w = this.worker
    if (w !== undefined) {
      const exit = new Promise((resolve) => { if (w.threadId === -1) resolve(); else w.once('exit', resolve) })
      w.postMessage({ cmd: 'close' })
      try {
        await bounded(exit, 5_000, `${this.kind} worker: exit`)
      } catch {
        await w.terminate()
      }
    }
    await this.m?.destroy()
  }
}

const KINDS = [
  ['Machine Queue', 'machine', '`await m.push(q, bytes)` / `await m.shift(q)`; each thread its own Machine; capacity 64'],
  ['MessagePort', 'port', '`worker.postMessage(bytes)` / `parentPort`: structured clone, unbounded'],
  ['Atomics.waitAsync queue', 'waitAsync', 'SPSC ring in a SharedArrayBuffer, 64 slots, `Atomics.waitAsync` / `Atomics.notify` (defined in benches/queue.mjs)']
]

function waitsInfo (kind, r) {
  const per = (x) => `${(x / r.ops).toFixed(2)}`
  if (kind === 'machine') return `ring ops per message: main ${per(r.ringOps)}, worker ${per(r.res.ringOps)} (futex waits + wakes)`
  if (kind === 'waitAsync') return `async waits per message: main ${per(r.waits)}, worker ${per(r.res.waits)}`
  return ''
}

async function throughputTable ({ quick, rounds, log }) {
  const n = quick ? 100_000 : 200_000
  const maxMs = quick ? 300 : 1000
  const contenders = KINDS.map(([name, kind, note]) => {
    const peer = new Peer(kind)
    return {
      name,
      note,
      setup: () => peer.start(),
      run: async () => {
        const r = await peer.throughput(n, maxMs)
        const extra = waitsInfo(kind, r)
        return { ops: r.ops, seconds: r.seconds, info: extra === '' ? undefined : `last round: ${extra}` }
      },
      teardown: () => peer.close()
    }
  })
  log('queue, throughput')
  return alternate({
    title: 'Queue, throughput: main thread to one worker thread',
    unit: 'msgs',
    baseline: 'MessagePort',
    note: `Each run: the main thread sends ${MSG}-byte Uint8Array messages (at most ${n.toLocaleString('en-US')}, sending stops after ${maxMs / 1000} s) and an empty one that ends the run; ` +
      'the worker checks every sequence number and count. Rate: messages over the time from the first send to the worker\'s report. ' +
      'The two queues hold 64 messages, so the sender waits while they are full; MessagePort is unbounded.',
    contenders,
    rounds,
    runTimeoutMs: 30_000,
    log
  })
}

async function roundTripTable ({ quick, rounds, log }) {
  const n = quick ? 50_000 : 200_000
  const maxMs = quick ? 300 : 1000
  const rtts = new Map() // name -> per-round median round trip, ns
  const contenders = KINDS.map(([name, kind, note]) => {
    const peer = new Peer(kind)
    return {
      name,
      note,
      setup: () => peer.start(),
      run: async (round) => {
        const r = await peer.pingpong(n, maxMs)
        if (round >= 0) rtts.set(name, [...(rtts.get(name) ?? []), r.p50])
        const extra = waitsInfo(kind, r)
        return { ops: r.ops, seconds: r.seconds, info: `last round: median ${(r.p50 / 1000).toFixed(1)} us, p99 ${(r.p99 / 1000).toFixed(1)} us${extra === '' ? '' : `; ${extra}`}` }
      },
      teardown: () => peer.close()
    }
  })
  log('queue, round trip')
  const table = await alternate({
    title: 'Queue, round trip: main thread to a worker thread and back',
    unit: 'round trips',
    baseline: 'MessagePort',
    note: `Each run: the main thread sends one ${MSG}-byte message, the worker sends it back on a second channel (for the queues, a second queue), repeated ` +
      `up to ${n.toLocaleString('en-US')} times or for ${maxMs / 1000} s; every round trip is timed. The rate is over the whole run (ns per round trip: its mean); ` +
      'the notes give the median and 99th percentile of single round trips.',
    contenders,
    rounds,
    runTimeoutMs: 30_000,
    log
  })
  for (const r of table.rows) {
    r.rtts = rtts.get(r.name) ?? []
    r.medianRtt = median(r.rtts)
  }
  return table
}

export async function queueBench ({ quick, rounds, log }) {
  return [await throughputTable({ quick, rounds, log }), await roundTripTable({ quick, rounds, log })]
}

if (!isMainThread && workerData?.queueBench === true) workerMain()

// Callers who fight back: getters that change their answer, arrays with
// species and proxies, patched signals, junk straight into the binding, a
// results array detached and collected. None of it may crash the process,
// corrupt memory, or settle one op with another's result.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { constants as C } from 'uring-machine'
import { machine, tempDir, tcpPair, closeAll, sleep, when } from './helpers.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

function fileWith (t, content) {
  const path = join(tempDir(t), 'f.bin')
  writeFileSync(path, content)
  return path
}

test.serial('typed arrays of every element size count their bytes exactly', async (t) => {
  const m = machine(t)
  const path = fileWith(t, Buffer.alloc(64, 0x41))
  const fd = await m.open(path, 'r+')
  const kinds = [Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array]
  if (typeof globalThis.Float16Array === 'function') kinds.push(globalThis.Float16Array)
  for (const Kind of kinds) {
    // 4 elements inside a larger buffer: a miscounted size would spill into the guard bytes.
    const backing = new ArrayBuffer(64)
    const guard = new Uint8Array(backing)
    const view = new Kind(backing, 16, 4)
    t.is(await m.readv(fd, [view], { position: 0 }), view.byteLength, Kind.name)
    t.true(guard.subarray(0, 16).every((b) => b === 0), `${Kind.name}: nothing written before the view`)
    t.true(guard.subarray(16 + view.byteLength).every((b) => b === 0), `${Kind.name}: nothing written after the view`)
    t.is(await m.writev(fd, [view], { position: 0 }), view.byteLength, Kind.name)
    t.is(await m.read(fd, view, { position: 0 }), view.byteLength, Kind.name)
  }
  const dv = new DataView(new ArrayBuffer(32), 8, 8)
  t.is(await m.readv(fd, [dv], { position: 0 }), 8)
  await m.close(fd)
})

when(typeof globalThis.Float16Array === 'function', 'no Float16Array on this Node').serial('the binding itself sizes every typed array exactly (Float16Array on Node 24)', async (t) => {
  const m = machine(t)
  const path = fileWith(t, Buffer.alloc(64, 0x41))
  const fd = await m.open(path)
  const { createRequire } = await import('node:module')
  const binding = createRequire(import.meta.url)('../packages/uring-machine/uring-machine.linux-x64-gnu.node')
  const dsts = []
  let done = 0
  const callback = (n) => { done += Math.max(n, 0) }
  const ring = new binding.Ring(8, -1, false, false, dsts, callback)
  const backing = new ArrayBuffer(64)
  const view = new globalThis.Float16Array(backing, 16, 4) // 8 bytes
  const arr = [view]
  const slot = ring.functions().readv(fd, arr, 0, 0)
  t.true(slot >= 0)
  dsts[slot] = arr
  while (done === 0) await sleep(1)
  const guard = new Uint8Array(backing)
  t.true(guard.subarray(24).every((b) => b === 0), 'nothing written past the 8 bytes of the view')
  t.true(guard.subarray(16, 24).every((b) => b === 0x41))
  ring.close()
  await m.close(fd)
})

test.serial('an options getter cannot pass validation with one value and reach the kernel with another', async (t) => {
  const m = machine(t)
  let reads = 0
  const opts = { get timeout () { return reads++ < 1 ? 50 : 1e30 } }
  await m.nop(opts)
  t.is(reads, 1, 'read once')
  const sneaky = { get length () { return reads++ === 1 ? 4 : 1e9 } }
  const path = fileWith(t, 'abcdefgh')
  const fd = await m.open(path)
  const buf = Buffer.alloc(8)
  t.is(await m.read(fd, buf, sneaky), 4)
  await m.close(fd)
})

test.serial('readv arrays with getters, species and proxies are copied before use', async (t) => {
  const m = machine(t)
  const path = fileWith(t, 'abcdefgh')
  const fd = await m.open(path)
  // A getter that calls back into the machine while the array is read.
  const a = Buffer.alloc(4)
  const b = Buffer.alloc(4)
  const arr = [a, b]
  let calls = 0
  Object.defineProperty(arr, 1, { get () { calls++; m.metrics(); return b }, enumerable: true })
  t.is(await m.readv(fd, arr, { position: 0 }), 8)
  t.is(a.toString() + b.toString(), 'abcdefgh')
  t.is(calls, 1, 'each element read once')
  // An array whose species is a Proxy that runs code on every access.
  class Sneaky extends Array {
    static get [Symbol.species] () {
      return function () { return new Proxy([], { get (target, k) { m.metrics(); return target[k] } }) }
    }
  }
  const c = Buffer.alloc(8)
  const s = Sneaky.from([c])
  t.is(await m.readv(fd, s, { position: 0 }), 8)
  t.is(c.toString(), 'abcdefgh')
  await m.close(fd)
})

test.serial('a signal with its own removeEventListener cannot start ops mid-delivery', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const ac = new AbortController()
  let started = null
  ac.signal.removeEventListener = () => { started = m.sleep(5000) }
  const buf = Buffer.alloc(4)
  const p = m.recv(conn, buf, { signal: ac.signal })
  await m.send(client, Buffer.from('ok'))
  t.is(await p, 2)
  t.is(started, null, 'our own EventTarget method is used, not the patched one')
})

test.serial('the results array detached and collected: native writes stay in native memory', async (t) => {
  const m = machine(t)
  // Reach the binding's results array the way a hostile caller could.
  const { createRequire } = await import('node:module')
  const binding = createRequire(import.meta.url)('../packages/uring-machine/uring-machine.linux-x64-gnu.node')
  let seen = 0
  // The binding holds its callback weakly (the Machine keeps it): keep it here.
  const callback = (n) => { seen += Math.max(n, 0) }
  const ring = new binding.Ring(8, -1, false, false, [], callback)
  const results = ring.results()
  try {
    structuredClone(results.buffer, { transfer: [results.buffer] })
  } catch (err) {
    // Node 24 refuses to transfer external ArrayBuffers at all.
    t.is(err.name, 'DataCloneError')
  }
  globalThis.gc?.()
  await sleep(5)
  const f = ring.functions()
  for (let i = 0; i < 100; i++) f.nop(0)
  await sleep(50)
  t.is(seen, 100)
  ring.close()
  void callback
  await m.nop()
})

test('junk straight into every native function, in a child process: no crash', (t) => {
  // A child, so that junk fds (junk reads as fd 0) closed or written there
  // harm nothing here. Junk never names the runtime's own fds (libuv's epoll
  // fd, say): closing those kills plain Node too (fs.closeSync does it).
  const code = `
    const fd = require('node:fs').openSync('/dev/null', 'r+')
    const binding = require(process.env.UM_BINDING)
    const ring = new binding.Ring(8, -1, false, false, [], () => {})
    const fns = ring.functions()
    const junk = [undefined, null, {}, [], 'str', -1, 2 ** 40, NaN, 1e300, -1e300, Infinity, Symbol('s'), () => {},
      new ArrayBuffer(4), new Uint8Array(0), new BigInt64Array(2), new DataView(new ArrayBuffer(4)),
      [new Uint8Array(4), 'x'], typeof Float16Array === 'function' ? new Float16Array(4) : 0]
    let calls = 0
    for (const [name, f] of Object.entries(fns)) {
      // A junk string given to resolve is a name to look up: keep its
      // strings to one that fails before any DNS query (no network in tests).
      const host = (v) => name === 'resolve' && typeof v === 'string' ? 'bad name!' : v
      for (const a0 of junk) for (const b of junk) {
        const a = host(a0)
        const r = f(name === 'resolve' ? a : fd, a, b, a, b, a)
        if (typeof r !== 'number') throw new Error(name + ' returned ' + typeof r)
        f(a, host(b), a, b, a, b)
        calls += 2
      }
    }
    ring.cancel(-1); ring.cancel(2 ** 40); ring.metrics(); ring.features()
    setTimeout(() => { ring.close(); console.log('survived ' + calls) }, 100)
  `
  // Junk strings become paths (unlink('str'), mkdir('str')...): run where that harms nothing.
  const cwd = tempDir(t)
  const env = { ...process.env, UM_BINDING: join(root, 'packages/uring-machine/uring-machine.linux-x64-gnu.node') }
  const r = spawnSync(process.execPath, ['-e', code], { cwd, env, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] })
  t.is(r.signal, null, r.stderr)
  t.is(r.status, 0, r.stderr)
  t.regex(r.stdout, /^survived \d+/)
})

test.serial('SQPOLL: a burst larger than the SQ after the poll thread went idle, and destroy with many in flight', async (t) => {
  const m = machine(t, { sqpoll: 10, entries: 8 })
  await m.nop()
  await sleep(100) // the kernel thread idles after 10 ms
  await Promise.all(Array.from({ length: 300 }, () => m.nop()))
  t.is(m.metrics().opsCompleted, 301)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const inFlight = Array.from({ length: 50 }, () => m.recv(conn, Buffer.alloc(4)))
  await sleep(100)
  await m.destroy()
  const settled = await Promise.allSettled(inFlight)
  t.true(settled.every((s) => s.status === 'rejected' && s.reason.code === 'ERR_MACHINE_DESTROYED'))
  void readFileSync
  void C
})

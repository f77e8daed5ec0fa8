// Memory and lifetime under faults: GC while the kernel works, machines
// dropped with ops pending, buffers detached in flight, workers terminated
// mid-op, and the event loop's liveness.
import test from 'ava'
import { Worker } from 'node:worker_threads'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Machine, constants as C } from 'uring-machine'
import { machine, tcpPair, closeAll, openFds, ringFds, sleep } from './helpers.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const gc = globalThis.gc

test.serial('forced GC while recvs and reads are in flight: buffers stay valid, data arrives', async (t) => {
  t.truthy(gc, 'tests run with --expose-gc')
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const refs = []
  const results = []
  for (let i = 0; i < 16; i++) {
    // The only strong reference to each buffer is the op in flight.
    const buf = new Uint8Array(64)
    refs.push(new WeakRef(buf))
    results.push(m.recv(conn, buf, { length: 1 }).then((n) => ({ n, byte: buf[0] })))
  }
  for (let i = 0; i < 5; i++) {
    gc()
    await sleep(5)
  }
  t.true(refs.every((r) => r.deref() !== undefined), 'buffers of ops in flight are not collected')
  const payload = Buffer.alloc(16)
  for (let i = 0; i < 16; i++) payload[i] = 100 + i
  await m.send(client, payload)
  const got = await Promise.all(results)
  t.true(got.every(({ n }) => n === 1))
  t.deepEqual(got.map(({ byte }) => byte).sort((a, b) => a - b), [...payload])
})

test.serial('a Machine dropped with ops pending stays alive until they settle', async (t) => {
  const { server, client, conn, m } = await (async () => {
    const m = new Machine()
    return { ...(await tcpPair(m)), m }
  })()
  t.teardown(() => closeAll(server, client, conn))
  const buf = Buffer.alloc(8)
  let pending = m.recv(conn, buf)
  const machineRef = new WeakRef(m)
  // Drop every reference but the pending promise's.
  const sent = (async () => { await sleep(30); closeAll(client) })()
  for (let i = 0; i < 5; i++) { gc(); await sleep(5) }
  t.truthy(machineRef.deref(), 'kept alive by its pending op')
  t.is(await pending, 0, 'EOF arrives through the dropped machine')
  pending = null
  await sent
})

test.serial('machines that become garbage are finalized and release their fds', async (t) => {
  await sleep(10)
  gc()
  const before = openFds()
  for (let i = 0; i < 50; i++) {
    const m = new Machine({ entries: 8 })
    await m.nop()
  }
  for (let i = 0; i < 10; i++) { gc(); await sleep(10) }
  t.true(openFds() <= before + 4, `fds: ${before} before, ${openFds()} after`)
})

test.serial('a buffer detached while a recv is in flight: rejected with ERR_BUFFER_DETACHED, no crash', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const buf = new Uint8Array(64)
  const p = m.recv(conn, buf)
  const moved = structuredClone(buf.buffer, { transfer: [buf.buffer] })
  t.is(buf.byteLength, 0)
  await m.send(client, Buffer.from('lost'))
  await t.throwsAsync(p, { code: 'ERR_BUFFER_DETACHED' })
  t.is(moved.byteLength, 64)
  t.is(new Uint8Array(moved)[0], 0, 'the kernel never wrote into JS memory')
  // Detached before the call: refused up front.
  t.throws(() => m.read(conn, buf), { code: 'ERR_INVALID_ARG_VALUE' })
})

test.serial('destroy with many ops in flight, then GC: nothing crashes, nothing leaks', async (t) => {
  const before = openFds()
  const m = new Machine()
  const { server, client, conn } = await tcpPair(m)
  const ops = []
  for (let i = 0; i < 200; i++) ops.push(m.recv(conn, new Uint8Array(4096)))
  for (let i = 0; i < 50; i++) ops.push(m.accept(server), m.sleep(10_000), m.poll(conn, C.POLLIN))
  const settled = Promise.allSettled(ops)
  await m.destroy()
  const results = await settled
  t.true(results.every((r) => r.status === 'rejected' && r.reason.code === 'ERR_MACHINE_DESTROYED'))
  gc()
  closeAll(server, client, conn)
  await sleep(10)
  t.true(openFds() <= before + 1)
})

const workerCode = `
const { parentPort, workerData } = require('node:worker_threads')
const { Machine, constants: C } = require(workerData.pkg)
;(async () => {
  const m = new Machine()
  const s = await m.socket(C.AF_INET, C.SOCK_STREAM)
  await m.bind(s, { address: '127.0.0.1', port: 0 })
  await m.listen(s)
  if (workerData.mode === 'work') {
    const fd = await m.open(workerData.file)
    const buf = Buffer.alloc(64)
    let total = 0
    for (let i = 0; i < 200; i++) total += await m.read(fd, buf, { position: 0 })
    await m.close(fd)
    await m.destroy()
    parentPort.postMessage({ total })
    return
  }
  // Ops that never complete: accepts, timers and recvs into buffers.
  for (let i = 0; i < 32; i++) { m.accept(s).catch(() => {}); m.sleep(60000).catch(() => {}) }
  // And the kinds with memory of their own: multishot streams (provided
  // buffers), a fixed read into registered memory, a message wait, a lookup.
  const [r] = m.pipe()
  m.acceptMulti(s).next().catch(() => {})
  m.readMulti(r).next().catch(() => {})
  m.readFixed(r, m.registerBuffers(2, 4096), 1).catch(() => {})
  m.receive().catch(() => {})
  m.resolve('localhost').catch(() => {})
  parentPort.postMessage('busy')
})()
`

test.serial('worker threads each run their own Machine', async (t) => {
  const pkg = require_resolve()
  const file = fileURLToPath(import.meta.url)
  const runs = await Promise.all(Array.from({ length: 3 }, () => new Promise((resolve, reject) => {
    const w = new Worker(workerCode, { eval: true, workerData: { pkg, mode: 'work', file } })
    w.once('message', resolve)
    w.once('error', reject)
  })))
  t.true(runs.every((r) => r.total === 200 * 64))
})

test.serial('terminating workers with ops in flight does not crash or leak fds', async (t) => {
  const pkg = require_resolve()
  // The resolver pool's thread keeps a small ring of its own for the
  // process's life: start it before counting.
  const warm = new Machine()
  await warm.resolve('localhost')
  await warm.destroy()
  await sleep(20)
  const before = ringFds()
  for (let i = 0; i < 8; i++) {
    const w = new Worker(workerCode, { eval: true, workerData: { pkg, mode: 'busy' } })
    await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) })
    await w.terminate()
  }
  await sleep(50)
  // (Each worker's listening socket is its own fd and stays open: workers
  // share the process's fd table. The rings and eventfds must not.)
  t.is(ringFds(), before, 'every terminated worker\'s ring and eventfd were closed')
  // The main thread's machine is unaffected.
  const m = machine(t)
  await m.nop()
  t.pass()
})

function require_resolve () {
  return fileURLToPath(new URL('../packages/uring-machine/dist/index.js', import.meta.url))
}

function runNode (code) {
  const t0 = Date.now()
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', timeout: 20_000 })
  return { ...r, ms: Date.now() - t0 }
}

test('an idle Machine does not keep the process alive; a pending op does', (t) => {
  const idle = runNode("const { Machine } = require('uring-machine'); const m = new Machine(); m.nop().then(() => console.log('nop done'))")
  t.is(idle.status, 0, idle.stderr)
  t.is(idle.stdout.trim(), 'nop done')
  t.true(idle.ms < 5000)
  const busy = runNode("const { Machine } = require('uring-machine'); const m = new Machine(); const t0 = Date.now(); m.sleep(300).then(() => console.log('slept', Date.now() - t0 >= 295))")
  t.is(busy.status, 0, busy.stderr)
  t.is(busy.stdout.trim(), 'slept true')
})

test('an idle Machine costs no CPU', (t) => {
  const r = runNode(`
    const { Machine } = require('uring-machine')
    const m = new Machine()
    m.nop().then(() => {
      const before = process.cpuUsage()
      setTimeout(() => {
        const d = process.cpuUsage(before)
        console.log(JSON.stringify({ us: d.user + d.system }))
      }, 500)
    })`)
  t.is(r.status, 0, r.stderr)
  const { us } = JSON.parse(r.stdout)
  t.true(us < 50_000, `used ${us} µs of CPU in 500 ms of idling`)
})

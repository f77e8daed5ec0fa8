// A short smoke run of the public API, ending in one of several ways, for
// hunting rare hangs at exit / destroy (issue 8): run it many times under
// scripts/hunt/loop.sh, each run under scripts/watchdog.mjs.
//   node scripts/hunt/smoke.mjs MODE
// MODE (0..10) picks the ending: destroy everything; exit with Machines not
// destroyed (idle); process.exit() with ops in flight; destroy with ops in
// flight then exit at once; workers left running at exit; worker.terminate()
// with ops in flight in the worker; GC of an undestroyed Machine; all at
// once; process.exit() while workers start up; process.exit() inside a
// completion callback; a worker's process.exit() inside one.
// No DNS: only literal addresses are resolved.
import { Worker } from 'node:worker_threads'
import { mkdtempSync, rmSync, closeSync, readFileSync, readlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Machine, constants as C } from 'uring-machine'

const mode = Number(process.argv[2] ?? 0) % 11
const pkg = fileURLToPath(new URL('../../packages/uring-machine/dist/index.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'um-smoke-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

async function files (m) {
  const path = join(dir, 'f')
  const fd = await m.open(path, C.O_CREAT | C.O_RDWR, 0o600)
  await m.write(fd, Buffer.from('hello smoke'), { position: 0 })
  const buf = Buffer.alloc(32)
  const n = await m.read(fd, buf, { position: 0 })
  if (buf.subarray(0, n).toString() !== 'hello smoke') throw new Error('read back wrong bytes')
  await m.statx(path)
  await m.fsync(fd)
  await m.close(fd)
  await m.unlink(path)
}

async function tcpPair (m) {
  const server = await m.socket(C.AF_INET, C.SOCK_STREAM)
  await m.bind(server, { address: '127.0.0.1', port: 0 })
  await m.listen(server, 16)
  const port = localPortOf(server)
  const client = await m.socket(C.AF_INET, C.SOCK_STREAM)
  const accepted = m.accept(server)
  await m.connect(client, { address: '127.0.0.1', port })
  return { server, client, conn: await accepted }
}

/** The local port of a bound socket, from /proc. */
function localPortOf (fd) {
  const inode = /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${fd}`))[1]
  for (const line of readFileSync('/proc/self/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    if (cols[9] === inode) return parseInt(cols[1].split(':')[1], 16)
  }
  throw new Error('port not found')
}

async function sockets (m) {
  const { server, client, conn } = await tcpPair(m)
  await m.send(client, Buffer.from('ping'))
  const buf = Buffer.alloc(16)
  await m.recv(conn, buf)
  // A multishot stream: a few chunks, then the peer's shutdown ends it.
  const it = m.recvMulti(conn, { buffers: 4, bufferSize: 512 })
  const got = (async () => { let n = 0; for await (const c of it) n += c.length; return n })()
  for (let i = 0; i < 5; i++) await m.send(client, Buffer.alloc(300, i))
  await m.shutdown(client, C.SHUT_WR)
  if (await got !== 1500) throw new Error('stream lost bytes')
  for (const fd of [server, client, conn]) await m.close(fd)
}

async function timers (m) {
  await m.sleep(1)
  const ac = new AbortController()
  const p = m.sleep(10_000, { signal: ac.signal }).catch(() => 'aborted')
  setTimeout(() => ac.abort(), 2)
  if (await p !== 'aborted') throw new Error('abort did not reject')
  await m.sleep(10_000, { timeout: 2 }).catch(() => {})
}

async function resolve (m) {
  const r = await m.resolve('127.0.0.1')
  if (r[0]?.address !== '127.0.0.1') throw new Error('resolve')
}

async function spawn (m) {
  const child = m.spawn('/bin/true', [], { stdio: 'ignore' })
  const st = await child.wait()
  if (st.exitCode !== 0) throw new Error('spawn')
}

const workerCode = `
  const { parentPort, workerData } = require('node:worker_threads')
  const { Machine } = require(workerData.pkg)
  const m = new Machine()
  parentPort.postMessage(m.address)
  ;(async () => {
    const msg = await m.receive()
    // Ops in flight when the worker is told to go (or terminated).
    m.sleep(60000).catch(() => {})
    m.receive().catch(() => {})
    m.resolve('127.0.0.1').catch(() => {})
    // A splice between empty pipes blocks in an io-wq worker; a read waits on poll.
    const [r1, w1] = m.pipe()
    const [r2, w2] = m.pipe()
    m.splice(r1, null, w2, null, 4096).catch(() => {})
    m.read(r2, Buffer.alloc(16)).catch(() => {})
    if (workerData.exitInCallback) m.nop().then(() => process.exit(3))
    await m.post(workerData.back, msg.value + 1)
    if (workerData.destroy) await m.destroy()
    parentPort.postMessage('done')
  })()
`

async function workers (m, { destroy, terminate, wait, exitInCallback = false }) {
  const ws = [0, 1].map(() => {
    const w = new Worker(workerCode, { eval: true, workerData: { pkg, back: m.address, destroy, exitInCallback } })
    w.on('error', (e) => { console.error('worker error', e); process.exitCode = 1 })
    return w
  })
  const addrs = await Promise.all(ws.map((w) => new Promise((resolve) => w.once('message', resolve))))
  const replies = [m.receive(), m.receive()]
  const dones = ws.map((w) => new Promise((resolve) => w.once('message', resolve)))
  for (const a of addrs) await m.post(a, 41)
  for (const r of replies) if ((await r).value !== 42) throw new Error('reply')
  if (terminate) await Promise.all(ws.map((w) => w.terminate()))
  else if (wait) {
    await Promise.all(dones)
    if (!destroy) await Promise.all(ws.map((w) => w.terminate()))
  }
  return ws
}

function inFlight (m) {
  const [r1, w1] = m.pipe()
  const [r2, w2] = m.pipe()
  const ps = [m.sleep(60_000), m.receive(), m.resolve('127.0.0.1'), m.nop(), m.splice(r1, null, w2, null, 4096), m.tee(r1, w2, 4096), m.read(r2, Buffer.alloc(16))]
  for (const p of ps) p.catch(() => {})
  return ps
}

async function withPendingSocket (m) {
  const { server, client, conn } = await tcpPair(m)
  const ps = [m.recv(conn, Buffer.alloc(8)), m.accept(server), m.poll(conn, C.POLLPRI)]
  for (const p of ps) p.catch(() => {})
  return [server, client, conn]
}

async function main () {
  const m = new Machine()
  await files(m)
  await sockets(m)
  await timers(m)
  await resolve(m)
  await spawn(m)
  switch (mode) {
    case 0: { // everything destroyed, workers waited for
      await workers(m, { destroy: true, wait: true })
      const fds = await withPendingSocket(m)
      inFlight(m)
      await m.destroy()
      for (const fd of fds) { try { closeSync(fd) } catch {} }
      break
    }
    case 1: { // idle Machines never destroyed: the env cleanup hook closes them
      const extra = new Machine()
      await extra.nop()
      await workers(m, { destroy: false, wait: true })
      break
    }
    case 2: { // process.exit() with ops in flight here and in workers
      await workers(m, { destroy: false, wait: false })
      await withPendingSocket(m)
      inFlight(m)
      setImmediate(() => process.exit(0))
      break
    }
    case 3: { // destroy with ops in flight, exit before it settles
      await withPendingSocket(m)
      inFlight(m)
      m.destroy()
      process.exit(0)
    }
    case 4: { // workers with ops in flight still running at (natural) exit: unref'd
      const ws = await workers(m, { destroy: false, wait: false })
      for (const w of ws) w.unref()
      await m.destroy()
      break
    }
    case 5: { // terminate workers while their ops are in flight
      await workers(m, { destroy: false, terminate: true })
      await m.destroy()
      break
    }
    case 6: { // an undestroyed, unreachable Machine collected by GC
      let g = new Machine()
      await g.nop()
      g = null
      if (globalThis.gc) { globalThis.gc(); await new Promise((resolve) => setImmediate(resolve)); globalThis.gc() }
      await m.destroy()
      break
    }
    case 7: { // all at once: workers, pending ops, destroy and exit racing
      const ws = await workers(m, { destroy: false, wait: false })
      await withPendingSocket(m)
      inFlight(m)
      m.destroy()
      setImmediate(() => { ws[0].terminate(); process.exit(0) })
      break
    }
    case 8: { // process.exit() while workers are starting (loading the addon)
      for (let i = 0; i < 2; i++) new Worker(workerCode, { eval: true, workerData: { pkg, back: m.address } })
      setTimeout(() => process.exit(0), i8())
      break
    }
    case 9: { // process.exit() from inside a completion callback
      await workers(m, { destroy: false, wait: false })
      await withPendingSocket(m)
      inFlight(m)
      m.nop().then(() => process.exit(0))
      break
    }
    case 10: { // workers call process.exit() inside a completion callback
      const ws = await workers(m, { destroy: false, wait: false, exitInCallback: true })
      await Promise.all(ws.map((w) => new Promise((resolve) => w.once('exit', resolve))))
      await m.destroy()
      break
    }
  }
}

/** A delay of 0-19 ms, different per run. */
function i8 () { return Number(process.argv[2] ?? 0) % 20 }

main().then(() => {}, (e) => { console.error(e); process.exit(1) })

// Fds the package holds for the caller but has not handed out yet: the
// connections a multishot accept queued, the fds other Machines passed with
// sendFd. Whoever goes away first (destroy, worker termination, GC of the
// Machine), nothing of theirs may stay open. Fds are counted in
// /proc/self/fd, per socket, on real loopback sockets.
import test from 'ava'
import net from 'node:net'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { readdirSync, readlinkSync } from 'node:fs'
import { Machine } from 'uring-machine'
import { machine, tcpPair, closeAll, localPort, sleep, when } from './helpers.mjs'

const pkg = fileURLToPath(new URL('../packages/uring-machine/dist/index.js', import.meta.url))
const probe = Machine.probe()
const hasMsgRing = probe.ops.msg_ring === true
const msgRingTest = when(hasMsgRing, 'no IORING_OP_MSG_RING (kernel 5.18+)')
const gc = globalThis.gc

/** How many fds of this process name socket `inode`. */
function fdsOfInode (inode) {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try { if (readlinkSync(`/proc/self/fd/${fd}`) === `socket:[${inode}]`) n++ } catch {}
  }
  return n
}

function inodeOf (fd) {
  return /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${fd}`))[1]
}

/** Open fds of this process on connected TCP sockets whose local port is `port` (what accept made). */
function acceptedOn (port) {
  const inodes = new Set()
  for (const line of readFileLines('/proc/self/net/tcp')) {
    const cols = line.trim().split(/\s+/)
    // state 0A is LISTEN: the listening socket itself is not counted.
    if (parseInt(cols[1].split(':')[1], 16) === port && cols[3] !== '0A') inodes.add(cols[9])
  }
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${fd}`))
      if (m !== null && inodes.has(m[1])) n++
    } catch {}
  }
  return n
}

import { readFileSync } from 'node:fs'
function readFileLines (file) {
  try { return readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean) } catch { return [] }
}

/** Waits (bounded) until `cond()` holds; the test fails if it never does. */
async function until (t, cond, what) {
  for (let i = 0; i < 400 && !cond(); i++) await sleep(5)
  t.true(cond(), what)
}

async function refused (t, p) {
  const err = await t.throwsAsync(p)
  t.is(err.syscall, 'msg_ring')
  t.regex(err.code, /^(EBADF|EBADFD)$/)
}

/** `n` node:net clients connected to 127.0.0.1:`port`. */
async function connectClients (port, n) {
  return Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s))
    s.on('error', reject)
  })))
}

async function listener (m) {
  const { server, client, conn, port } = await tcpPair(m)
  closeAll(client, conn)
  return { server, port }
}

test.serial('destroy() closes the connections an acceptMulti stream accepted but had not handed out', async (t) => {
  const m = new Machine()
  const { server, port } = await listener(m)
  t.teardown(() => closeAll(server))
  const it = m.acceptMulti(server)
  const first = it.next()
  const clients = await connectClients(port, 10)
  t.teardown(() => clients.forEach((c) => c.destroy()))
  const taken = (await first).value
  t.true(taken >= 0)
  // All ten accepted: one handed out, nine queued in the stream.
  await until(t, () => acceptedOn(port) === 10, 'ten connections accepted')
  await m.destroy()
  t.is(acceptedOn(port), 1, 'only the connection handed out is still open')
  await t.throwsAsync(it.next(), { code: 'ERR_MACHINE_DESTROYED' })
  closeAll(taken)
  t.is(acceptedOn(port), 0)
})

test.serial('a paused acceptMulti stream (past highWaterMark): destroy() closes what it queued', async (t) => {
  // Paused, the stream has no op in flight: its queue is all that holds the fds.
  const m = new Machine()
  const { server, port } = await listener(m)
  t.teardown(() => closeAll(server))
  const it = m.acceptMulti(server, { highWaterMark: 3 })
  const first = it.next()
  const clients = await connectClients(port, 4)
  t.teardown(() => clients.forEach((c) => c.destroy()))
  closeAll((await first).value)
  await until(t, () => acceptedOn(port) >= 3 && m.metrics().pending === 0, 'three queued, the request paused')
  await m.destroy()
  t.is(acceptedOn(port), 0)
})

test.serial('a Machine collected with a paused acceptMulti stream closes what it queued', async (t) => {
  t.truthy(gc, 'tests run with --expose-gc')
  // Nothing made in the function below outlives it but `ref` (a teardown
  // closure made in there would keep its whole scope, the Machine with it).
  const clients = []
  let server = -1
  t.teardown(() => { clients.forEach((c) => c.destroy()); closeAll(server) })
  let ref
  const port = await (async () => {
    const m = new Machine()
    ref = new WeakRef(m)
    const l = await listener(m)
    server = l.server
    const port = l.port
    const it = m.acceptMulti(server, { highWaterMark: 2 })
    const first = it.next()
    clients.push(...await connectClients(port, 3))
    closeAll((await first).value)
    await until(t, () => acceptedOn(port) >= 2 && m.metrics().pending === 0, 'queued, paused')
    return port
  })()
  for (let i = 0; i < 20 && acceptedOn(port) > 0; i++) { gc(); await sleep(10) }
  t.is(ref.deref(), undefined, 'collected')
  t.is(acceptedOn(port), 0, 'the collected Machine closed them')
})

const acceptWorker = `
const { parentPort, workerData } = require('node:worker_threads')
const { Machine, constants: C } = require(workerData.pkg)
;(async () => {
  const m = new Machine()
  const s = await m.socket(C.AF_INET, C.SOCK_STREAM)
  await m.bind(s, { address: '127.0.0.1', port: 0 })
  await m.listen(s)
  const it = m.acceptMulti(s, workerData.options)
  it.next().then(({ value }) => { m.close(value); parentPort.postMessage('took one') })
  parentPort.postMessage({ s })
  setInterval(() => {}, 1000) // alive (a paused stream has nothing in flight) until terminated
})()
`

for (const [name, options] of [['running', {}], ['paused', { highWaterMark: 2 }]]) {
  test.serial(`terminating a worker with a ${name} acceptMulti stream closes what it queued`, async (t) => {
    const w = new Worker(acceptWorker, { eval: true, workerData: { pkg, options } })
    const next = () => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))
    const { s } = await next()
    const port = localPort(s)
    t.teardown(() => closeAll(s)) // the worker's own listening socket (fds are per process)
    const took = next()
    const clients = await connectClients(port, 6)
    t.teardown(() => clients.forEach((c) => c.destroy()))
    await took
    await until(t, () => acceptedOn(port) >= (options.highWaterMark ?? 5), 'accepted')
    await w.terminate()
    t.is(acceptedOn(port), 0)
  })
}

msgRingTest.serial('fds passed to a Machine destroyed before it calls receive() are closed', async (t) => {
  const a = machine(t)
  const b = new Machine()
  const { server, client, conn } = await tcpPair(a)
  t.teardown(() => closeAll(server, client, conn))
  const inode = inodeOf(conn)
  for (let i = 0; i < 10; i++) await a.sendFd(b.address, conn)
  await b.destroy()
  t.is(fdsOfInode(inode), 1, 'only the sender\'s own fd is open')
})

msgRingTest.serial('fds passed to a Machine that then becomes garbage are closed', async (t) => {
  t.truthy(gc)
  const a = machine(t)
  const { server, client, conn } = await tcpPair(a)
  t.teardown(() => closeAll(server, client, conn))
  const inode = inodeOf(conn)
  await (async () => {
    const b = new Machine()
    for (let i = 0; i < 10; i++) await a.sendFd(b.address, conn)
    await a.nop()
  })()
  for (let i = 0; i < 20 && fdsOfInode(inode) > 1; i++) { gc(); await sleep(10) }
  t.is(fdsOfInode(inode), 1)
})

msgRingTest.serial('fds sent after the receiver was destroyed are refused and closed', async (t) => {
  const a = machine(t)
  const { server, client, conn } = await tcpPair(a)
  t.teardown(() => closeAll(server, client, conn))
  const inode = inodeOf(conn)
  const b = new Machine()
  const addr = b.address
  // Sends racing the destroy: each is delivered or refused, and either way
  // no duplicate outlives the receiver.
  const sends = Array.from({ length: 10 }, () => a.sendFd(addr, conn).catch((e) => e.code))
  await b.destroy()
  const results = await Promise.all(sends)
  t.true(results.every((r) => r === undefined || r === 'EBADF' || r === 'EBADFD'), String(results))
  // A Machine made now may reuse b's ring fd number: sends to b still fail.
  const c = machine(t)
  for (let i = 0; i < 5; i++) await refused(t, a.sendFd(addr, conn))
  await refused(t, a.post(addr, 1))
  await c.nop()
  t.is(fdsOfInode(inode), 1)
})

const receiverWorker = `
const { parentPort } = require('node:worker_threads')
const { Machine } = require(${JSON.stringify(pkg)})
const m = new Machine()
parentPort.postMessage(m.address)
// Keeps the loop alive; never calls receive().
setInterval(() => {}, 1000)
`

msgRingTest.serial('fds passed to a worker\'s Machine that never receives them are closed when the worker terminates', async (t) => {
  const a = machine(t)
  const { server, client, conn } = await tcpPair(a)
  t.teardown(() => closeAll(server, client, conn))
  const inode = inodeOf(conn)
  const w = new Worker(receiverWorker, { eval: true })
  const addr = await new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))
  for (let i = 0; i < 10; i++) await a.sendFd(addr, conn)
  await w.terminate()
  t.is(fdsOfInode(inode), 1)
  // After the worker is gone its address refuses fds.
  await refused(t, a.sendFd(addr, conn))
  t.is(fdsOfInode(inode), 1)
})

msgRingTest.serial('a received fd is the caller\'s: destroy() does not close it', async (t) => {
  const a = machine(t)
  const b = new Machine()
  const { server, client, conn } = await tcpPair(a)
  t.teardown(() => closeAll(server, client, conn))
  const inode = inodeOf(conn)
  await a.sendFd(b.address, conn)
  await a.sendFd(b.address, conn)
  const fds = [(await b.receive()).fd, (await b.receive()).fd]
  t.is(fdsOfInode(inode), 3)
  await b.destroy()
  t.is(fdsOfInode(inode), 3, 'received fds stay open')
  closeAll(...fds)
  t.is(fdsOfInode(inode), 1)
})

test.serial('a taken acceptMulti connection is the caller\'s: return() and destroy() leave it open', async (t) => {
  const m = new Machine()
  const { server, port } = await listener(m)
  t.teardown(() => closeAll(server))
  const it = m.acceptMulti(server)
  const first = it.next()
  const clients = await connectClients(port, 2)
  t.teardown(() => clients.forEach((c) => c.destroy()))
  const fd = (await first).value
  await until(t, () => acceptedOn(port) === 2, 'both accepted')
  await it.return()
  t.is(acceptedOn(port), 1, 'return() closed the queued one only')
  await m.destroy()
  t.is(acceptedOn(port), 1)
  closeAll(fd)
})

/** Pipe fds of this process. */
function pipeFds () {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try { if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('pipe:')) n++ } catch {}
  }
  return n
}

const copyWorker = `
const { parentPort, workerData } = require('node:worker_threads')
const { Machine } = require(workerData.pkg)
const m = new Machine()
const [r, w] = m.pipe()
// Waits in splice for data that never comes, its own pipe open meanwhile.
m.copy(r, w).catch(() => {})
parentPort.postMessage({ r, w })
`

test.serial('terminating a worker in the middle of copy() closes the copy\'s pipe', async (t) => {
  const before = pipeFds()
  for (let i = 0; i < 3; i++) {
    const w = new Worker(copyWorker, { eval: true, workerData: { pkg } })
    const fds = await new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))
    await until(t, () => pipeFds() >= before + 4, 'the worker\'s pipe and the copy\'s')
    await w.terminate()
    closeAll(fds.r, fds.w) // the worker's own pipe is the caller's: the test's
  }
  t.is(pipeFds(), before)
})

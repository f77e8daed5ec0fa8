// Machine-to-Machine messages with MSG_RING: values and fds, in one thread
// and across worker threads (accept on one thread, serve on many).
import test from 'ava'
import net from 'node:net'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { Machine, AbortError } from 'uring-machine'
import { machine, sleep, openFds, tcpPair, closeAll, localPort, when } from './helpers.mjs'

const pkg = fileURLToPath(new URL('../packages/uring-machine/dist/index.js', import.meta.url))
const hasMsgRing = Machine.probe().ops.msg_ring === true
const msgRingTest = when(hasMsgRing, 'no IORING_OP_MSG_RING (kernel 5.18+)')

msgRingTest('post delivers int32 values in order; receive waits for them', async (t) => {
  const a = machine(t)
  const b = machine(t)
  const waiting = b.receive()
  await a.post(b.address, -(2 ** 31))
  t.deepEqual(await waiting, { type: 'value', value: -(2 ** 31) })
  for (let i = 0; i < 1000; i++) a.post(b.address, i)
  await a.nop()
  for (let i = 0; i < 1000; i++) t.is((await b.receive()).value, i)
  t.is(b.metrics().messages, 1001)
  t.true(Object.isFrozen(b.address) && typeof b.address.fd === 'number' && b.address.id > 0)
})

msgRingTest('a burst of more messages than one wake delivers (8 rounds of 4096) all arrive, in order', async (t) => {
  // All of them are reaped in the receiver's first wake; each delivery takes
  // 4096 and a wake makes 8. The rest must not wait for another event that
  // may never come (it hung here: the receive below waited forever).
  const a = machine(t)
  const b = machine(t)
  const n = 8 * 4096 + 1000
  const posts = []
  for (let i = 0; i < n; i++) posts.push(a.post(b.address, i))
  await Promise.all(posts)
  let inOrder = 0
  for (let i = 0; i < n; i++) if ((await b.receive()).value === i) inOrder++
  t.is(inOrder, n)
  t.is(b.metrics().messages, n)
})

msgRingTest('sendFd passes a duplicate the receiver owns; the sender keeps its own', async (t) => {
  const a = machine(t)
  const b = machine(t)
  const { server, client, conn } = await tcpPair(a)
  t.teardown(() => closeAll(server, client, conn))
  await a.sendFd(b.address, conn)
  const msg = await b.receive()
  t.is(msg.type, 'fd')
  t.not(msg.fd, conn)
  await b.send(msg.fd, Buffer.from('via b'))
  await b.close(msg.fd)
  await a.send(conn, Buffer.from(', via a'))
  const buf = Buffer.alloc(32)
  let n = 0
  while (n < 12) n += await a.recv(client, buf, { offset: n })
  t.is(buf.subarray(0, n).toString(), 'via b, via a')
})

msgRingTest.serial('receive: timeout, abort, destroy; posts for an id that is not live are refused (and their fds closed)', async (t) => {
  const a = machine(t)
  const b = new Machine()
  await t.throwsAsync(b.receive({ timeout: 20 }), { code: 'ETIMEDOUT' })
  await t.throwsAsync(b.receive({ signal: AbortSignal.timeout(20) }), { instanceOf: AbortError })
  await t.throwsAsync(b.receive({ signal: AbortSignal.abort() }), { instanceOf: AbortError })
  const fds = openFds()
  const stale = { fd: b.address.fd, id: b.address.id + 1000 }
  // b's ring fd with an id that is not b's (a Machine gone, whose fd number b got).
  await t.throwsAsync(a.post(stale, 1), { code: 'EBADF', message: /msg_ring/ })
  await t.throwsAsync(a.sendFd(stale, 0), { code: 'EBADF', message: /msg_ring/ })
  await a.post(b.address, 2)
  t.deepEqual(await b.receive(), { type: 'value', value: 2 }, 'only the message for b arrives')
  t.is(openFds(), fds, 'the duplicate of the refused fd was closed')
  const pending = b.receive()
  await b.destroy()
  await t.throwsAsync(pending, { code: 'ERR_MACHINE_DESTROYED' })
  await t.throwsAsync(b.receive(), { code: 'ERR_MACHINE_DESTROYED' })
})

msgRingTest.serial('posting to a closed Machine fails, and a passed fd is not leaked', async (t) => {
  const a = machine(t)
  const b = new Machine()
  const addr = b.address
  await b.destroy()
  const fds = openFds()
  for (const p of [a.post(addr, 1), a.sendFd(addr, 0)]) {
    const err = await t.throwsAsync(p)
    t.is(err.syscall, 'msg_ring')
    t.regex(err.code, /^(EBADF|EBADFD)$/)
  }
  t.is(openFds(), fds)
})

msgRingTest.serial('accept on one thread, serve on two workers: fds and values cross threads', async (t) => {
  const m = machine(t)
  // Each worker: a Machine, its address to the main thread, then echo on
  // every fd it receives until it receives the value -1.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { Machine } = require(workerData.pkg)
    const m = new Machine()
    parentPort.postMessage(m.address)
    ;(async () => {
      let served = 0
      for (;;) {
        const msg = await m.receive()
        if (msg.type === 'value') break
        const buf = Buffer.alloc(64)
        const n = await m.recv(msg.fd, buf)
        await m.send(msg.fd, Buffer.from('worker ' + workerData.n + ': ' + buf.subarray(0, n)))
        await m.close(msg.fd)
        served++
      }
      await m.destroy()
      parentPort.postMessage(served)
    })()
  `
  const workers = [0, 1].map((n) => new Worker(code, { eval: true, workerData: { pkg, n } }))
  t.teardown(() => workers.forEach((w) => w.terminate()))
  const next = (w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))
  const addrs = await Promise.all(workers.map(next))
  const { server, client, conn } = await tcpPair(m)
  closeAll(client, conn)
  t.teardown(() => closeAll(server))
  const port = localPort(server)
  const ask = (i) => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`hello ${i}`))
    let text = ''
    s.on('data', (d) => { text += d }).on('end', () => resolve(text)).on('error', reject)
  })
  const answers = Array.from({ length: 6 }, (_, i) => ask(i))
  let i = 0
  for await (const fd of m.acceptMulti(server)) {
    await m.sendFd(addrs[i % 2], fd)
    await m.close(fd)
    if (++i === 6) break
  }
  const texts = await Promise.all(answers)
  for (let k = 0; k < 6; k++) t.regex(texts[k], new RegExp(`^worker [01]: hello ${k}$`))
  t.true(texts.some((x) => x.startsWith('worker 0')) && texts.some((x) => x.startsWith('worker 1')))
  const done = workers.map(next)
  for (const addr of addrs) await m.post(addr, -1)
  t.deepEqual(await Promise.all(done), [3, 3])
})

msgRingTest('a pending receive keeps the process alive until a message comes', async (t) => {
  // In a child: the only thing pending is a receive(), answered by a worker after 100 ms.
  const { execFileSync } = await import('node:child_process')
  const script = `
    const { Worker } = require('node:worker_threads')
    const { Machine } = require(${JSON.stringify(pkg)})
    const m = new Machine()
    new Worker(\`
      const { workerData } = require('node:worker_threads')
      const { Machine } = require(workerData.pkg)
      const w = new Machine()
      setTimeout(() => w.post(workerData.addr, 7).then(() => w.destroy()), 100)
    \`, { eval: true, workerData: { pkg: ${JSON.stringify(pkg)}, addr: m.address } }).unref()
    m.receive().then((msg) => { console.log(JSON.stringify(msg)); return m.destroy() })
  `
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10000 })
  t.is(out.trim(), '{"type":"value","value":7}')
  await sleep(0)
})

// Abort and timeout for every op that can block, against real blocking
// kernel objects: a silent socket, a listener nobody connects to, a unix
// listener whose backlog is full, a FIFO with no writer.
import test from 'ava'
import { execFileSync } from 'node:child_process'
import { openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { AbortError, constants as C } from 'uring-machine'
import { machine, tcpPair, closeAll, tempDir } from './helpers.mjs'

/** Kernel objects that make each op wait; closed after the test. */
async function blockers (t, m) {
  const { server, client, conn } = await tcpPair(m)
  const dir = tempDir(t)
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  // O_RDWR on a FIFO does not block, and reads from it wait for data.
  const fifoFd = await m.open(fifo, C.O_RDWR)
  // A unix listener with backlog 0 and one queued connection: the next
  // connect waits for room.
  const upath = join(dir, 'full.sock')
  const ul = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
  await m.bind(ul, { path: upath })
  await m.listen(ul, 0)
  const queued = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
  await m.connect(queued, { path: upath })
  // A socket whose peer never reads, and a FIFO nobody drains, both filled
  // until the kernel takes no more: the next send or write must wait.
  // (A unix socket: its buffers do not grow the way TCP's autotuning does,
  // and it is filled in the same 4 KiB pieces the blocked send then sends.)
  const fpath = join(dir, 'full-buffer.sock')
  const fl = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
  await m.bind(fl, { path: fpath })
  await m.listen(fl)
  const fullClient = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
  const fullAccepted = m.accept(fl)
  await m.connect(fullClient, { path: fpath })
  const fullPeer = await fullAccepted
  const piece = Buffer.alloc(4096)
  while ((await m.send(fullClient, piece, { flags: C.MSG_DONTWAIT }).catch((e) => e.code === 'EAGAIN' ? 0 : Promise.reject(e))) > 0);
  const chunk = Buffer.alloc(1 << 20)
  // (Filled with fs.writeSync: io_uring does not honour O_NONBLOCK on a
  // pipe, it waits for room, which is what the write below relies on.)
  const pipePath = join(dir, 'pipe')
  execFileSync('mkfifo', [pipePath])
  const pipeFd = openSync(pipePath, C.O_RDWR | C.O_NONBLOCK)
  for (;;) {
    try { writeSync(pipeFd, chunk) } catch (e) { if (e.code === 'EAGAIN') break; throw e }
  }
  const blockingPipeFd = await m.open(pipePath, C.O_WRONLY)
  const extra = []
  t.teardown(() => closeAll(server, client, conn, fifoFd, ul, queued, fl, fullClient, fullPeer, pipeFd, blockingPipeFd, ...extra))
  return { server, conn, fifoFd, upath, extra, fullClient, blockingPipeFd }
}

/** Starts op `name` so that it waits, with `opts`. */
async function start (m, b, name, opts) {
  switch (name) {
    case 'recv': return m.recv(b.conn, Buffer.alloc(16), opts)
    case 'accept': return m.accept(b.server, opts)
    case 'poll': return m.poll(b.conn, C.POLLIN, opts)
    case 'sleep': return m.sleep(60_000, opts)
    case 'read': return m.read(b.fifoFd, Buffer.alloc(16), opts)
    case 'send': return m.send(b.fullClient, Buffer.alloc(4096), opts)
    case 'write': return m.write(b.blockingPipeFd, Buffer.alloc(4096), opts)
    case 'connect': {
      const s = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
      b.extra.push(s)
      return m.connect(s, { path: b.upath }, opts)
    }
  }
}

// open is not here: io_uring's openat opens a FIFO without waiting for a
// writer (it opens non-blocking, then clears O_NONBLOCK), so there is no
// local way to make it block.
for (const name of ['recv', 'accept', 'poll', 'sleep', 'read', 'connect', 'send', 'write']) {
  test.serial(`${name}: an AbortSignal cancels it in the kernel`, async (t) => {
    const m = machine(t)
    const b = await blockers(t, m)
    const ac = new AbortController()
    const p = start(m, b, name, { signal: ac.signal })
    setTimeout(() => ac.abort(new Error('changed my mind')), 20)
    const err = await t.throwsAsync(p, { instanceOf: AbortError, code: 'ABORT_ERR' })
    t.is(err.cause.message, 'changed my mind')
    t.is(m.metrics().pending, 0, 'nothing left in flight')
    t.true(m.metrics().cancels >= 1)
  })

  test.serial(`${name}: a timeout cancels it with ETIMEDOUT`, async (t) => {
    const m = machine(t)
    const b = await blockers(t, m)
    const t0 = Date.now()
    const err = await t.throwsAsync(start(m, b, name, { timeout: 30 }), { code: 'ETIMEDOUT' })
    t.true(Date.now() - t0 >= 25)
    t.is(err.syscall, name === 'sleep' ? 'sleep' : name)
    t.regex(err.message, /timed out after 30 ms/)
    await m.nop()
    t.is(m.metrics().pending, 0)
  })
}

test.serial('an op that completes before its abort resolves: nothing is lost', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  await m.send(client, Buffer.from('data'))
  await new Promise((resolve) => setTimeout(resolve, 10))
  const ac = new AbortController()
  const buf = Buffer.alloc(8)
  const p = m.recv(conn, buf, { signal: ac.signal })
  ac.abort()
  // The recv found data at once (same submission), so it wins over the cancel.
  t.is(await p, 4)
  t.is(buf.subarray(0, 4).toString(), 'data')
})

test.serial('a timeout that does not fire leaves the op alone, and its slot is freed', async (t) => {
  const m = machine(t)
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const p = m.recv(conn, Buffer.alloc(8), { timeout: 5000 })
  await m.send(client, Buffer.from('ok'))
  t.is(await p, 2)
  await m.sleep(5)
  t.is(m.metrics().pending, 0)
  t.is(m.metrics().timeouts, 0)
})

test.serial('one abort listener per signal and Machine, however many ops use it; aborting cancels every op in flight', async (t) => {
  const m = machine(t)
  const ac = new AbortController()
  for (let i = 0; i < 200; i++) await m.nop({ signal: ac.signal })
  await Promise.all(Array.from({ length: 50 }, () => m.nop({ signal: ac.signal })))
  const { getEventListeners } = await import('node:events')
  t.is(getEventListeners(ac.signal, 'abort').length, 1, 'not one per op')
  const sleeps = Array.from({ length: 10 }, () => m.sleep(60_000, { signal: ac.signal }))
  ac.abort()
  for (const p of sleeps) await t.throwsAsync(p, { name: 'AbortError' })
  t.is(m.metrics().pending, 0)
  // A later op on the aborted signal is refused without a kernel op.
  await t.throwsAsync(m.nop({ signal: ac.signal }), { name: 'AbortError' })
})

import test from 'ava'
import { Machine, constants as C, AbortError } from 'uring-machine'
import { machine, tcpPair, closeAll } from './helpers.mjs'

test.serial('probe reports the kernel, ops and the setup flags in force', (t) => {
  t.true(Machine.isSupported())
  t.is(Machine.unavailableReason(), null)
  const p = Machine.probe()
  t.regex(p.kernel, /^\d+\.\d+/)
  t.true(p.ops.nop)
  t.true(p.ops.read && p.ops.write && p.ops.accept)
  t.is(typeof p.ops.futex_wait, 'boolean')
  t.true(p.setupFlags.length > 0, 'this kernel accepts at least SUBMIT_ALL')
  t.true(p.features.includes('NODROP'))
})

test.serial('nop round trips and metrics count them', async (t) => {
  const m = machine(t)
  await Promise.all(Array.from({ length: 1000 }, () => m.nop()))
  const s = m.metrics()
  t.is(s.opsSubmitted, 1000)
  t.is(s.opsCompleted, 1000)
  t.is(s.pending, 0)
  t.true(s.enters < 1000, 'submissions are batched, not one enter per op')
  t.true(s.completionBatches < 1000)
})

test.serial('constructor options are validated', (t) => {
  t.throws(() => new Machine({ entries: 0 }), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => new Machine({ entries: 'x' }), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  t.throws(() => new Machine({ sqpoll: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => new Machine(5), { code: 'ERR_INVALID_ARG_TYPE' })
})

test.serial('sqpoll machines work (or fall back) and run ops', async (t) => {
  const m = machine(t, { sqpoll: 50, entries: 64 })
  await Promise.all(Array.from({ length: 100 }, () => m.nop()))
  t.is(m.metrics().opsCompleted, 100)
})

test.serial('many machines on one thread are independent', async (t) => {
  const a = machine(t)
  const b = machine(t)
  const slow = b.sleep(30)
  await a.nop()
  t.is(a.metrics().pending, 0)
  t.is(b.metrics().pending, 1)
  await slow
})

test.serial('destroy settles pending ops, refuses new ones, and is idempotent', async (t) => {
  const m = new Machine()
  const { server, client, conn } = await tcpPair(m)
  t.teardown(() => closeAll(server, client, conn))
  const done = m.nop()
  const pending = [m.sleep(60_000), m.recv(conn, Buffer.alloc(8)), m.accept(server), m.poll(conn, C.POLLPRI)]
  const d1 = m.destroy()
  const d2 = m.destroy()
  t.is(d1, d2)
  t.true(m.destroyed)
  await t.notThrowsAsync(done, 'an op that completed before the cancel resolves')
  for (const p of pending) await t.throwsAsync(p, { code: 'ERR_MACHINE_DESTROYED' })
  await d1
  await t.throwsAsync(m.nop(), { code: 'ERR_MACHINE_DESTROYED' })
  await t.throwsAsync(m.read(0, Buffer.alloc(1)), { code: 'ERR_MACHINE_DESTROYED' })
  t.is(m.metrics().pending, 0)
})

test.serial('Symbol.asyncDispose destroys the machine', async (t) => {
  const m = new Machine()
  await m[Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')]()
  t.true(m.destroyed)
  await t.throwsAsync(m.nop(), { code: 'ERR_MACHINE_DESTROYED' })
})

test.serial('an already-aborted signal rejects without submitting', async (t) => {
  const m = machine(t)
  const reason = new Error('stop')
  const err = await t.throwsAsync(m.nop({ signal: AbortSignal.abort(reason) }), { instanceOf: AbortError, code: 'ABORT_ERR' })
  t.is(err.name, 'AbortError')
  t.is(err.cause, reason)
  t.is(m.metrics().opsSubmitted, 0)
})

test.serial('node timers, fs and net keep working beside a busy machine', async (t) => {
  const m = machine(t)
  const { promises: fsp } = await import('node:fs')
  const net = await import('node:net')
  const server = net.createServer((s) => s.end('hi'))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const busy = (async () => { for (let i = 0; i < 2000; i++) await m.nop() })()
  const [timer, file, reply] = await Promise.all([
    new Promise((resolve) => setTimeout(() => resolve('tick'), 5)),
    fsp.readFile(new URL('../package.json', import.meta.url), 'utf8'),
    new Promise((resolve, reject) => {
      const c = net.connect(server.address().port, '127.0.0.1')
      let got = ''
      c.on('data', (d) => { got += d })
      c.on('end', () => resolve(got))
      c.on('error', reject)
    }),
    m.sleep(10)
  ])
  await busy
  t.is(timer, 'tick')
  t.true(file.includes('uring-machine'))
  t.is(reply, 'hi')
})

test.serial('10000 NOPs in flight at once overflow the CQ and all settle once', async (t) => {
  const m = machine(t)
  let settled = 0
  await Promise.all(Array.from({ length: 10_000 }, () => m.nop().then(() => { settled++ })))
  t.is(settled, 10_000)
  const s = m.metrics()
  t.is(s.opsCompleted, 10_000)
  t.is(s.pending, 0)
  // The CQ holds 4096: NOPs complete inside the submit enters while
  // nothing reaps, so the rest wait in the kernel's backlog.
  t.true(s.cqOverflows > 0, `cqOverflows ${s.cqOverflows}`)
})

test('profile mode measures time in the kernel; without it the fields stay 0', async (t) => {
  const p = machine(t, { profile: true })
  await p.sleep(20)
  await Promise.all(Array.from({ length: 10 }, () => p.nop()))
  const s = p.metrics()
  t.true(s.opLatencyMaxNs >= 19e6, `max latency ${s.opLatencyMaxNs} ns covers the 20 ms sleep`)
  t.true(s.opLatencyNs >= s.opLatencyMaxNs)
  t.true(s.enterNs > 0)
  const q = machine(t)
  await q.sleep(1)
  t.is(q.metrics().opLatencyNs, 0)
  t.is(q.metrics().enterNs, 0)
  t.throws(() => new Machine({ profile: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('NODE_DEBUG=uring-machine traces submissions and completions', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const { fileURLToPath } = await import('node:url')
  const code = "const { Machine } = require('uring-machine'); const m = new Machine(); m.open('/nonexistent').catch(() => m.destroy())"
  const r = spawnSync(process.execPath, ['-e', code], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, NODE_DEBUG: 'uring-machine' },
    encoding: 'utf8'
  })
  t.is(r.status, 0, r.stderr)
  t.regex(r.stderr, /URING-MACHINE \d+: submit open slot=0 fd=-1/)
  t.regex(r.stderr, /URING-MACHINE \d+: complete open slot=0 res=-2/)
  const quiet = spawnSync(process.execPath, ['-e', code], { cwd: fileURLToPath(new URL('..', import.meta.url)), env: { ...process.env, NODE_DEBUG: '' }, encoding: 'utf8' })
  t.is(quiet.stderr, '')
})

test('errnos missing from libuv\'s table still get their names and texts', async (t) => {
  const m = machine(t)
  const { constants: C2 } = await import('uring-machine')
  const err = await t.throwsAsync(m.waitid(C2.P_PID, 1, C2.WEXITED | C2.WNOHANG))
  t.is(err.code, 'ECHILD')
  t.is(err.errno, -10)
  t.is(err.message, 'ECHILD: no child processes, waitid')
})

// Machine.appendFile (a writeFile chain with flag 'a'): every result and
// error against fs.promises.appendFile on the same files.
import test from 'ava'
import { writeFileSync, readFileSync, mkdirSync, statSync, chmodSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { spawnSync, execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { machine, tempDir, openFds, sleep } from './helpers.mjs'

async function outcome (fn) {
  try { await fn(); return 'ok' } catch (e) { return { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message, name: e.name } }
}

test('appendFile creates a new file and appends to an existing one, byte for byte as Node', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const ours = join(dir, 'ours')
  const node = join(dir, 'node')
  const steps = [
    ['first ', undefined],
    [Buffer.from([0, 1, 2, 255]), undefined],
    ['68656c6c6f', 'hex'],
    ['héllo', { encoding: 'latin1' }],
    [new Uint16Array([0x6968]), { flush: true }],
    ['', undefined],
    ['w', { flag: 'w' }], // a flag given replaces 'a', as Node's
    ['+more', { mode: 0o600 }]
  ]
  for (const [data, opts] of steps) {
    await m.appendFile(ours, data, opts)
    await fsp.appendFile(node, data, opts)
    t.true(readFileSync(ours).equals(readFileSync(node)), JSON.stringify(opts))
  }
  t.is(readFileSync(ours, 'utf8'), 'w+more')
  const fresh = join(dir, 'moded')
  await m.appendFile(fresh, 'x', { mode: 0o640 })
  t.is(statSync(fresh).mode & 0o777, 0o640 & ~process.umask())
})

test('appendFile errors equal Node\'s: EISDIR, ENOENT in a missing directory, bad arguments', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  mkdirSync(join(dir, 'd'))
  for (const p of [join(dir, 'd'), join(dir, 'nodir', 'x')]) {
    const ours = await outcome(() => m.appendFile(p, 'x'))
    t.deepEqual(ours, await outcome(() => fsp.appendFile(p, 'x')))
    t.true(ours.code === 'EISDIR' || ours.code === 'ENOENT', ours.code)
  }
  const p = join(dir, 'f')
  for (const args of [[p, 5], [p, 'x', { flush: 1 }], [p, 'x', 'no-such-encoding'], [p, 'x', { flag: 'zz' }], [p, 'x', { signal: 1 }]]) {
    const ours = await outcome(() => m.appendFile(...args))
    const theirs = await outcome(() => fsp.appendFile(...args))
    t.is(ours.code, theirs.code, JSON.stringify(args.slice(1)))
  }
  t.is((await outcome(() => m.appendFile(p, 'x', { signal: AbortSignal.abort() }))).name, 'AbortError')
})

const root = process.getuid?.() === 0
const entry = fileURLToPath(new URL('../packages/uring-machine/dist/index.js', import.meta.url))

;(root ? test : test.skip)('appendFile to a 0400 file as a non-root user is EACCES, as Node\'s' + (root ? '' : ' (skipped: needs root to drop to nobody)'), (t) => {
  const dir = tempDir(t)
  chmodSync(dir, 0o777)
  const p = join(dir, 'ro')
  writeFileSync(p, 'read only')
  chmodSync(p, 0o400)
  execFileSync('chown', ['65534:65534', p])
  const script = `
    const { Machine } = require(${JSON.stringify(entry)})
    const fsp = require('node:fs/promises')
    const grab = (f) => f().then(() => 'ok', (e) => ({ code: e.code, syscall: e.syscall, path: e.path, message: e.message }))
    // Loaded as root (a checkout may sit in a directory nobody cannot
    // read), then the ids dropped before the Machine is made.
    process.setgroups([])
    process.setgid(65534)
    process.setuid(65534)
    ;(async () => {
      const m = new Machine()
      const r = { ours: await grab(() => m.appendFile(process.env.P, 'x')), node: await grab(() => fsp.appendFile(process.env.P, 'x')) }
      await m.destroy()
      console.log(JSON.stringify(r))
    })()
  `
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, P: p }, encoding: 'utf8', timeout: 30_000 })
  t.is(r.status, 0, r.stderr)
  const { ours, node } = JSON.parse(r.stdout.trim().split('\n').pop())
  t.is(ours.code, 'EACCES')
  t.deepEqual(ours, node)
  t.is(readFileSync(p, 'utf8'), 'read only')
})

test.serial('appendFile aborted midway, or with the Machine destroyed, leaks no fd and no file-table slot', async (t) => {
  const { Machine } = await import('uring-machine')
  const dir = tempDir(t)
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  const before = openFds()
  const m = new Machine()
  // A write to a fifo nobody reads blocks once its buffer is full.
  const big = Buffer.alloc(4 << 20, 1)
  const ac = new AbortController()
  const aborted = m.appendFile(fifo, big, { flag: 'r+', signal: ac.signal })
  await sleep(20)
  t.is(m.metrics().fileSlotsInUse, 1)
  ac.abort()
  t.is((await t.throwsAsync(aborted)).name, 'AbortError')
  await sleep(10)
  t.is(m.metrics().fileSlotsInUse, 0)
  const blocked = m.appendFile(fifo, big, { flag: 'r+' })
  await sleep(20)
  await m.destroy()
  t.is((await t.throwsAsync(blocked)).code, 'ERR_MACHINE_DESTROYED')
  globalThis.gc()
  t.is(openFds(), before)
})

test('appendFile and writeFile of more than a pipe holds deliver every byte to a fifo\'s reader', async (t) => {
  const m = machine(t)
  const fifo = join(tempDir(t), 'fifo')
  execFileSync('mkfifo', [fifo])
  const data = Buffer.alloc(300_000)
  for (let i = 0; i < data.length; i++) data[i] = i % 251
  for (const call of ['appendFile', 'writeFile']) {
    // The reader is Node's own, on the thread pool; the write's open (r+) does not wait for it.
    const read = fsp.readFile(fifo)
    await m[call](fifo, data, { flag: 'r+' })
    t.true((await read).equals(data), call)
  }
})

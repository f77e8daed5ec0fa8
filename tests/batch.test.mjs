// Machine.batch(): the caller's own op chain on one file, against the
// real kernel: each step's result, the first failure with the steps after
// it cancelled, validation, abort/timeout/destroy with no fd or file-table
// slot left, and forced GC with many batches in flight.
import test from 'ava'
import { writeFileSync, readFileSync, statSync, lstatSync, symlinkSync, existsSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { machine, tempDir, openFds, fdsOn, sleep } from './helpers.mjs'

const STAT_KEYS = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blksize', 'blocks', 'mtimeMs', 'ctimeMs']

function sameStat (t, got, want, what) {
  for (const k of STAT_KEYS) t.is(got[k], want[k], `${what}: ${k}`)
}

test('a batch opens, reads, stats and closes in one submission; each step has its result', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'f')
  writeFileSync(p, 'hello batch world')
  const head = Buffer.alloc(5)
  const tail = new Uint8Array(16)
  const r = await m.batch().open(p).read(head, { position: 0 }).read(tail, { offset: 2, length: 5, position: 6 }).statx(p).close().submit()
  t.is(r.length, 5)
  t.is(r[0], undefined)
  t.is(r[1], 5)
  t.is(r[2], 5)
  t.is(head.toString(), 'hello')
  t.is(Buffer.from(tail.subarray(2, 7)).toString(), 'batch')
  t.true(tail[0] === 0 && tail[7] === 0, 'outside offset/length untouched')
  t.is(r[3].constructor.name, 'Stats')
  sameStat(t, r[3], statSync(p), 'statx')
  t.is(r[4], undefined)
  t.is(m.metrics().fileSlotsInUse, 0)
})

test('a batch writes at positions, fsyncs and closes; statx takes bigint and followSymlinks', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const p = join(dir, 'w')
  writeFileSync(p, 'xxxxxxxxxx')
  symlinkSync(p, join(dir, 'l'))
  const r = await m.batch().open(p, 'r+').write('abc', { position: 2 }).write(Buffer.from('ZZZZ'), { offset: 1, length: 2, position: 8 })
    .fsync({ datasync: true }).statx(join(dir, 'l'), { bigint: true, followSymlinks: false }).close().submit()
  t.deepEqual(r.slice(0, 4), [undefined, 3, 2, undefined])
  t.is(readFileSync(p, 'utf8'), 'xxabcxxxZZ')
  t.is(r[4].constructor.name, 'BigIntStats')
  t.is(r[4].ino, lstatSync(join(dir, 'l'), { bigint: true }).ino)
  t.true(r[4].isSymbolicLink())
})

test.serial('a batch without close is closed by the ring; writes at the file position append in order', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'n')
  const before = openFds()
  const r = await m.batch().open(p, 'w', 0o600).write('one ').write('two').submit()
  t.deepEqual(r, [undefined, 4, 3])
  t.is(readFileSync(p, 'utf8'), 'one two')
  t.is(statSync(p).mode & 0o777, 0o600 & ~process.umask())
  t.is(openFds(), before, 'a direct descriptor is no fd')
  await sleep(10)
  t.is(m.metrics().fileSlotsInUse, 0)
})

test('the first failure rejects with its step and the results before it; the steps after it are cancelled', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const missing = join(dir, 'missing')
  let err = await t.throwsAsync(m.batch().open(missing).read(Buffer.alloc(4)).close().submit())
  t.like(err, { code: 'ENOENT', errno: -2, syscall: 'open', path: missing, step: 0 })
  t.deepEqual(err.results, [])
  t.is(err.message, `ENOENT: no such file or directory, open '${missing}'`)
  err = await t.throwsAsync(m.batch().open(dir).read(Buffer.alloc(4)).statx(dir).close().submit())
  t.like(err, { code: 'EISDIR', syscall: 'read', step: 1 })
  t.false('path' in err, 'read errors carry no path, as Node\'s')
  t.deepEqual(err.results, [undefined])
  // A short read breaks the link: the next step is cancelled (ECANCELED), the close still runs.
  const p = join(dir, 'short')
  writeFileSync(p, 'abc')
  const buf = Buffer.alloc(10)
  err = await t.throwsAsync(m.batch().open(p).read(buf).write('x').close().submit())
  t.like(err, { code: 'ECANCELED', syscall: 'write', step: 2 })
  t.deepEqual(err.results, [undefined, 3])
  t.is(buf.subarray(0, 3).toString(), 'abc', 'the data read before the failure is in the buffer')
  err = await t.throwsAsync(m.batch().open(p).statx(join(dir, 'nope')).close().submit())
  t.like(err, { code: 'ENOENT', syscall: 'statx', path: join(dir, 'nope'), step: 1 })
  await sleep(10)
  t.is(m.metrics().fileSlotsInUse, 0)
})

test('bad input throws Node ERR_ codes before anything is submitted', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'v')
  writeFileSync(p, 'v')
  t.is((await t.throwsAsync(m.batch().submit())).code, 'ERR_INVALID_STATE')
  t.is(t.throws(() => m.batch().read(Buffer.alloc(1))).code, 'ERR_INVALID_STATE')
  t.is(t.throws(() => m.batch().statx(p)).code, 'ERR_INVALID_STATE')
  t.is(t.throws(() => m.batch().open(p).open(p)).code, 'ERR_INVALID_STATE')
  t.is(t.throws(() => m.batch().open(p).close().fsync()).code, 'ERR_INVALID_STATE')
  const b = m.batch().open(p)
  for (let i = 1; i < 64; i++) b.fsync()
  t.is(b.length, 64)
  t.is(t.throws(() => b.fsync()).code, 'ERR_OUT_OF_RANGE')
  t.is(t.throws(() => m.batch().open(1)).code, 'ERR_INVALID_ARG_TYPE')
  t.is(t.throws(() => m.batch().open(p, 'zz')).code, 'ERR_INVALID_ARG_VALUE')
  t.is(t.throws(() => m.batch().open(p).read('nope')).code, 'ERR_INVALID_ARG_TYPE')
  t.is(t.throws(() => m.batch().open(p).read(Buffer.alloc(4), { offset: 2, length: 3 })).code, 'ERR_OUT_OF_RANGE')
  t.is(t.throws(() => m.batch().open(p).read(Buffer.alloc(4), { position: -5 })).code, 'ERR_OUT_OF_RANGE')
  t.is(t.throws(() => m.batch().open(p).write(5)).code, 'ERR_INVALID_ARG_TYPE')
  t.is(t.throws(() => m.batch().open(p).fsync({ datasync: 1 })).code, 'ERR_INVALID_ARG_TYPE')
  t.is(t.throws(() => m.batch().open(p).statx(p, { bigint: 'yes' })).code, 'ERR_INVALID_ARG_TYPE')
  t.is(t.throws(() => m.batch().open(p).submit({ signal: 'no' })).code, 'ERR_INVALID_ARG_TYPE')
  t.is(t.throws(() => m.batch().open(p).submit({ timeout: -1 })).code, 'ERR_OUT_OF_RANGE')
  const once = m.batch().open(p).close()
  await once.submit()
  t.is((await t.throwsAsync(once.submit())).code, 'ERR_INVALID_STATE')
  t.is(t.throws(() => once.close()).code, 'ERR_INVALID_STATE')
  t.is((await t.throwsAsync(m.batch().open(p).submit({ signal: AbortSignal.abort() }))).name, 'AbortError')
})

function fifo (dir) {
  const p = join(dir, 'fifo')
  execFileSync('mkfifo', [p])
  return p
}

test.serial('a batch aborted, timed out or destroyed midway leaks no fd and no file-table slot', async (t) => {
  const { Machine } = await import('uring-machine')
  const dir = tempDir(t)
  const f = fifo(dir)
  const before = openFds()
  const m = new Machine()
  // O_RDWR: the open does not wait for a writer; the read blocks.
  const ac = new AbortController()
  const aborted = m.batch().open(f, 'r+').read(Buffer.alloc(8)).close().submit({ signal: ac.signal })
  const timed = m.batch().open(f, 'r+').read(Buffer.alloc(8)).close().submit({ timeout: 30 })
  await sleep(10)
  t.is(m.metrics().fileSlotsInUse, 2)
  ac.abort()
  t.is((await t.throwsAsync(aborted)).name, 'AbortError')
  const te = await t.throwsAsync(timed)
  t.like(te, { code: 'ETIMEDOUT', syscall: 'open' })
  await sleep(10)
  t.is(m.metrics().fileSlotsInUse, 0)
  const blocked = [1, 2, 3].map(() => m.batch().open(f, 'r+').read(Buffer.alloc(8)).close().submit())
  await sleep(10)
  await m.destroy()
  for (const p of blocked) t.is((await t.throwsAsync(p)).code, 'ERR_MACHINE_DESTROYED')
  t.is(openFds(), before)
})

test.serial('forced GC with many batches in flight corrupts nothing: every buffer gets its own data', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const files = []
  for (let i = 0; i < 64; i++) {
    const p = join(dir, `g${i}`)
    writeFileSync(p, Buffer.alloc(8192, i))
    files.push(p)
  }
  for (let round = 0; round < 5; round++) {
    const pending = files.map((p, i) => {
      const a = Buffer.alloc(4096)
      const b = new Uint8Array(4096)
      return m.batch().open(p).read(a, { position: 0 }).read(b, { position: 4096 }).statx(p).close().submit()
        .then((r) => [i, a, b, r])
    })
    globalThis.gc()
    const settled = await Promise.all(pending)
    globalThis.gc()
    for (const [i, a, b, r] of settled) {
      t.true(a.every((x) => x === i) && b.every((x) => x === i), `file ${i}`)
      t.is(r[3].size, 8192)
    }
  }
  t.is(m.metrics().fileSlotsInUse, 0)
})

test('a read buffer detached while the batch is in flight rejects ERR_BUFFER_DETACHED', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const p = join(dir, 'd')
  writeFileSync(p, 'data')
  const buf = new Uint8Array(new ArrayBuffer(4))
  const done = m.batch().open(p).read(buf).close().submit()
  structuredClone(buf.buffer, { transfer: [buf.buffer] })
  t.is((await t.throwsAsync(done)).code, 'ERR_BUFFER_DETACHED')
})

// The same batches on a chain and on the single-op fallback (an SQPOLL
// Machine runs no chains, as a kernel before 5.19 does not): each one on
// its own copy of the same files.
const SCENARIOS = {
  'read, read, statx, close': (b, d) => b.open(d.f).read(d.buf(5), { position: 0 }).read(d.buf(16), { offset: 2, length: 5, position: 6 }).statx(d.f).close(),
  'writes at positions, fdatasync, statx of a link (bigint, no follow)': (b, d) => b.open(d.f, 'r+').write('abc', { position: 2 }).write(Buffer.from('ZZZZ'), { offset: 1, length: 2, position: 8 })
    .fsync({ datasync: true }).statx(d.l, { bigint: true, followSymlinks: false }).close(),
  'writes at the file position, no close': (b, d) => b.open(d.n, 'w', 0o600).write('one ').write('two'),
  'append, fsync': (b, d) => b.open(d.f, 'a').write('+tail').fsync().close(),
  'an empty file reads 0': (b, d) => b.open(d.empty).read(d.buf(4)).close(),
  'a missing path': (b, d) => b.open(d.missing).read(d.buf(4)).close(),
  'a directory: EISDIR at the read': (b, d) => b.open(d.dir).read(d.buf(4)).statx(d.dir).close(),
  'a short read cancels the next step': (b, d) => b.open(d.f).read(d.buf(64)).write('x').close(),
  'a short read before close succeeds': (b, d) => b.open(d.f).read(d.buf(64)).close(),
  'a write to a read-only file: EBADF': (b, d) => b.open(d.f).write('nope').statx(d.f).close(),
  'statx of a missing path': (b, d) => b.open(d.f).statx(d.missing).close(),
  'a /proc file': (b, d) => b.open('/proc/self/stat').read(d.buf(8), { position: 0 }).close(),
  'O_EXCL on an existing file': (b, d) => b.open(d.f, 'wx').write('x').close(),
  'a file without read permission': (b, d) => b.open(d.secret).read(d.buf(4)).close()
}

function files (t) {
  const dir = tempDir(t)
  const d = { dir, f: join(dir, 'f'), l: join(dir, 'l'), n: join(dir, 'n'), empty: join(dir, 'e'), missing: join(dir, 'missing'), secret: join(dir, 's'), bufs: [] }
  writeFileSync(d.f, 'hello batch world, and more')
  writeFileSync(d.empty, '')
  writeFileSync(d.secret, 'secret', { mode: 0o000 })
  symlinkSync(d.f, d.l)
  d.buf = (n) => { const b = Buffer.alloc(n); d.bufs.push(b); return b }
  return d
}

function shape (v, d) {
  if (v instanceof Error) return { name: v.name, message: v.message.replaceAll(d.dir, '<dir>'), code: v.code, errno: v.errno, syscall: v.syscall, path: v.path?.replace(d.dir, '<dir>'), step: v.step, results: shape(v.results, d) }
  if (Array.isArray(v)) return v.map((x) => shape(x, d))
  if (v !== null && typeof v === 'object') return { kind: v.constructor.name, size: v.size, mode: v.mode, nlink: v.nlink, symlink: v.isSymbolicLink() }
  return v
}

async function outcome (t, m, scenario) {
  const d = files(t)
  const r = await SCENARIOS[scenario](m.batch(), d).submit().catch((err) => err)
  return { result: shape(r, d), bufs: d.bufs.map((b) => b.toString('latin1')), f: readFileSync(d.f, 'latin1'), n: existsSync(d.n) ? [readFileSync(d.n, 'latin1'), statSync(d.n).mode & 0o777] : null }
}

test('on an SQPOLL Machine (no chains) a batch runs as single ops with the chain\'s results, errors and link rules', async (t) => {
  const chain = machine(t)
  const single = machine(t, { sqpoll: true })
  for (const scenario of Object.keys(SCENARIOS)) {
    const a = await outcome(t, chain, scenario)
    const b = await outcome(t, single, scenario)
    t.deepEqual(b, a, scenario)
  }
  t.is(single.metrics().fileSlotsInUse, 0)
  // The scenarios reach every branch: successes, a failing open, a failing
  // step after it, a short transfer's ECANCELED (EACCES only where the
  // test is not root, whom mode 0 does not stop).
  const codes = new Set()
  for (const scenario of Object.keys(SCENARIOS)) codes.add((await outcome(t, single, scenario)).result.code ?? 'ok')
  t.deepEqual([...codes].sort(), ['ECANCELED', 'EBADF', 'EEXIST', 'EISDIR', 'ENOENT', 'ok'].sort().concat(process.getuid() === 0 ? [] : ['EACCES']).sort())
})

test.serial('on the single-op fallback, a batch aborted, timed out or destroyed midway leaks no fd', async (t) => {
  const { Machine } = await import('uring-machine')
  const dir = tempDir(t)
  const f = fifo(dir)
  const before = openFds()
  const m = new Machine({ sqpoll: true })
  const ac = new AbortController()
  const aborted = m.batch().open(f, 'r+').read(Buffer.alloc(8)).close().submit({ signal: ac.signal })
  const timed = m.batch().open(f, 'r+').read(Buffer.alloc(8)).close().submit({ timeout: 30 })
  await sleep(10)
  ac.abort()
  t.is((await t.throwsAsync(aborted)).name, 'AbortError')
  const te = await t.throwsAsync(timed)
  t.like(te, { code: 'ETIMEDOUT', syscall: 'open', path: f, message: `ETIMEDOUT: operation timed out after 30 ms, open '${f}'` })
  t.false('step' in te, 'a timeout is the batch\'s, not a step\'s')
  const blocked = [1, 2, 3].map(() => m.batch().open(f, 'r+').read(Buffer.alloc(8)).close().submit())
  await sleep(10)
  await m.destroy()
  for (const p of blocked) t.is((await t.throwsAsync(p)).code, 'ERR_MACHINE_DESTROYED')
  await sleep(10)
  t.is(openFds(), before)
})

test.serial('on the single-op fallback, a worker terminated mid-batch leaves its file closed', async (t) => {
  const dir = tempDir(t)
  const f = fifo(dir)
  const before = openFds()
  const pkg = fileURLToPath(new URL('../packages/uring-machine/dist/index.js', import.meta.url))
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { Machine } = require(workerData.pkg)
    const m = new Machine({ sqpoll: true })
    m.batch().open(workerData.f, 'r+').read(Buffer.alloc(8)).close().submit().catch(() => {})
    setTimeout(() => parentPort.postMessage('blocked'), 50)`
  const w = new Worker(code, { eval: true, workerData: { pkg, f } })
  await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) })
  t.is(fdsOn(f), 1, 'the batch holds the fifo open, blocked in its read')
  await w.terminate()
  await sleep(50)
  t.is(fdsOn(f), 0, 'the teardown closed it')
  t.is(openFds(), before)
})

test('on the single-op fallback, written bytes are those at submit() and a detached read buffer rejects ERR_BUFFER_DETACHED', async (t) => {
  const m = machine(t, { sqpoll: true })
  const dir = tempDir(t)
  const p = join(dir, 'w')
  const data = Buffer.from('before')
  const done = m.batch().open(p, 'w').write(data).close().submit()
  data.write('AFTER!')
  await done
  t.is(readFileSync(p, 'utf8'), 'before')
  const buf = new Uint8Array(new ArrayBuffer(4))
  const reading = m.batch().open(p).statx(p).read(buf).close().submit()
  structuredClone(buf.buffer, { transfer: [buf.buffer] })
  t.is((await t.throwsAsync(reading)).code, 'ERR_BUFFER_DETACHED')
})

test.serial('the example of docs/batch.md runs and prints what it says', async (t) => {
  const { readFileSync } = await import('node:fs')
  const { spawnSync } = await import('node:child_process')
  const doc = readFileSync(new URL('../docs/batch.md', import.meta.url), 'utf8')
  const code = doc.match(/```js\n([\s\S]*?)```/)[1]
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname, timeout: 30_000 })
  t.is(r.status, 0, r.stderr)
  t.is(r.stdout.trim(), '5 hello 12')
})

// Machine.readFile and Machine.writeFile (op chains): every result
// against Node's own fs.promises on the same files.
import test from 'ava'
import { writeFileSync, readFileSync, mkdirSync, statSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { machine, tempDir, openFds, fdsOn, sleep } from './helpers.mjs'

function bytes (n) {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 7) % 251
  return b
}

function mkfifo (path) {
  execFileSync('mkfifo', [path])
}

test('readFile reads small, empty and large files as Node does', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  for (const n of [0, 1, 4096, 65536, 131072, 131073, 3 << 20]) {
    const p = join(dir, `f${n}`)
    writeFileSync(p, bytes(n))
    const got = await m.readFile(p)
    t.true(Buffer.isBuffer(got), `${n}`)
    t.true(got.equals(await fsp.readFile(p)), `${n} bytes`)
  }
})

test('readFile takes Buffer and file: URL paths', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'u')
  writeFileSync(p, 'by url')
  t.is((await m.readFile(pathToFileURL(p))).toString(), 'by url')
  t.is((await m.readFile(Buffer.from(p))).toString(), 'by url')
})

test('readFile decodes with an encoding, given as a string or as an option', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'enc')
  writeFileSync(p, 'héllo wörld')
  t.is(await m.readFile(p, 'utf8'), 'héllo wörld')
  t.is(await m.readFile(p, { encoding: 'base64' }), await fsp.readFile(p, { encoding: 'base64' }))
  t.is(await m.readFile(p, { encoding: 'hex' }), readFileSync(p, 'hex'))
  t.true(Buffer.isBuffer(await m.readFile(p, { encoding: null })))
  t.true(Buffer.isBuffer(await m.readFile(p, { encoding: 'buffer' })))
})

test('readFile reads /proc files to end of file', async (t) => {
  const m = machine(t)
  const text = await m.readFile('/proc/self/status', 'utf8')
  t.true(text.startsWith('Name:'))
  t.true(text.includes('VmRSS'))
  t.is(text.split('\n')[0], readFileSync('/proc/self/status', 'utf8').split('\n')[0])
  t.is(await m.readFile('/proc/self/cmdline', 'latin1'), readFileSync('/proc/self/cmdline', 'latin1'))
})

test('readFile reads a fifo until its writer closes it', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'fifo')
  mkfifo(p)
  const reading = m.readFile(p)
  const w = await fsp.open(p, 'w')
  for (let i = 0; i < 40; i++) {
    await w.write(Buffer.alloc(5000, 97 + (i % 26)))
    await sleep(2)
  }
  await w.close()
  const got = await reading
  t.is(got.length, 200000)
  t.is(got[0], 97)
  t.is(got[got.length - 1], 97 + (39 % 26))
})

test('readFile of a missing file is ENOENT from open, with the path', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'missing')
  const want = await fsp.readFile(p).catch((e) => e)
  const err = await t.throwsAsync(m.readFile(p))
  for (const k of ['code', 'errno', 'syscall', 'path', 'message']) t.is(err[k], want[k], k)
  t.is(err.syscall, 'open')
  t.is(err.path, p)
})

test('readFile of a directory is EISDIR from read, without a path, as Node has it', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const want = await fsp.readFile(dir).catch((e) => e)
  const err = await t.throwsAsync(m.readFile(dir))
  for (const k of ['code', 'errno', 'syscall', 'path', 'message']) t.is(err[k], want[k], k)
  t.is(err.code, 'EISDIR')
  t.is(err.syscall, 'read')
})

test('readFile of a file it may not read is EACCES from open', async (t) => {
  if (process.getuid?.() === 0) return t.pass('root reads everything')
  const m = machine(t)
  const p = join(tempDir(t), 'secret')
  writeFileSync(p, 'x', { mode: 0o000 })
  const err = await t.throwsAsync(m.readFile(p))
  t.is(err.code, 'EACCES')
  t.is(err.syscall, 'open')
  t.is(err.path, p)
})

test('readFile opens with the flag given (and creates the file with w+)', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'created')
  t.is((await m.readFile(p, { flag: 'w+' })).length, 0)
  t.true(statSync(p).isFile())
  writeFileSync(p, 'abc')
  t.is(await m.readFile(p, { flag: 'a+', encoding: 'utf8' }), 'abc')
})

test('readFile with an already aborted signal rejects AbortError and opens nothing', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'a')
  writeFileSync(p, 'x')
  const reason = new Error('stop')
  const err = await t.throwsAsync(m.readFile(p, { signal: AbortSignal.abort(reason) }))
  t.is(err.name, 'AbortError')
  t.is(err.code, 'ABORT_ERR')
  t.is(err.cause, reason)
})

test.serial('readFile aborted midway rejects AbortError and leaks no fd', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'fifo')
  mkfifo(p)
  const before = openFds()
  // r+: the open does not wait for a writer, the read blocks until the abort.
  const ac = new AbortController()
  const reading = m.readFile(p, { flag: 'r+', signal: ac.signal })
  await sleep(30)
  t.is(openFds(), before, 'the file is open in the ring\'s file table, not as an fd of the process')
  ac.abort()
  const err = await t.throwsAsync(reading)
  t.is(err.name, 'AbortError')
  // Aborted right after the call, before the kernel has run anything.
  const ac2 = new AbortController()
  const small = join(tempDir(t), 'small')
  writeFileSync(small, 'x')
  const quick = m.readFile(small, { signal: ac2.signal })
  ac2.abort()
  t.is((await t.throwsAsync(quick)).name, 'AbortError')
  t.is(openFds(), before)
})

test.serial('readFile leaks no fd over 1000 calls, failing or not', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const p = join(dir, 'ok')
  writeFileSync(p, bytes(5000))
  await m.readFile(p)
  const before = openFds()
  const calls = []
  for (let i = 0; i < 1000; i++) {
    if (i % 3 === 0) calls.push(m.readFile(join(dir, 'missing')).catch((e) => e.code))
    else if (i % 3 === 1) calls.push(m.readFile(dir).catch((e) => e.code))
    else calls.push(m.readFile(p).then((b) => b.length))
  }
  const got = await Promise.all(calls)
  t.is(got.filter((x) => x === 5000).length, 333)
  t.is(got.filter((x) => x === 'ENOENT').length, 334)
  t.is(got.filter((x) => x === 'EISDIR').length, 333)
  t.is(openFds(), before)
})

test('readFile and writeFile check their arguments as Node does', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'args')
  writeFileSync(p, 'x')
  const same = async (ours, node) => {
    const want = await node().catch((e) => e)
    const err = t.throws(ours)
    t.is(err.code, want.code)
    t.is(err.message, want.message)
  }
  await same(() => m.readFile(p, 5), () => fsp.readFile(p, 5))
  await same(() => m.readFile(p, 'no-such-encoding'), () => fsp.readFile(p, 'no-such-encoding'))
  await same(() => m.readFile(p, { flag: 'zz' }), () => fsp.readFile(p, { flag: 'zz' }))
  await same(() => m.readFile(p, { signal: 1 }), () => fsp.readFile(p, { signal: 1 }))
  t.is(t.throws(() => m.readFile(1)).code, 'ERR_INVALID_ARG_TYPE')
  await same(() => m.writeFile(p, 5), () => fsp.writeFile(p, 5))
  await same(() => m.writeFile(p, 'x', { flush: 1 }), () => fsp.writeFile(p, 'x', { flush: 1 }))
})

test('writeFile writes, truncates, appends and creates with a mode', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const p = join(dir, 'w')
  writeFileSync(p, 'a much longer old content')
  await m.writeFile(p, 'new')
  t.is(readFileSync(p, 'utf8'), 'new')
  await m.writeFile(p, Buffer.from(' more'), { flag: 'a' })
  t.is(readFileSync(p, 'utf8'), 'new more')
  await m.writeFile(p, new Uint16Array([0x6968]), { flush: true })
  t.is(readFileSync(p, 'utf8'), 'hi')
  await m.writeFile(p, '68656c6c6f', 'hex')
  t.is(readFileSync(p, 'utf8'), 'hello')
  const big = bytes(1 << 20)
  await m.writeFile(p, big)
  t.true(readFileSync(p).equals(big))
  const q = join(dir, 'moded')
  await m.writeFile(q, '', { mode: 0o600 })
  t.is(statSync(q).mode & 0o777, 0o600 & ~process.umask())
  const err = await t.throwsAsync(m.writeFile(join(dir, 'nodir', 'x'), 'x'))
  t.is(err.code, 'ENOENT')
  t.is(err.syscall, 'open')
  t.is(err.path, join(dir, 'nodir', 'x'))
  mkdirSync(join(dir, 'd'))
  t.is((await t.throwsAsync(m.writeFile(join(dir, 'd'), 'x'))).code, 'EISDIR')
})

test('writeFile with an aborted signal rejects AbortError', async (t) => {
  const m = machine(t)
  const p = join(tempDir(t), 'w')
  const err = await t.throwsAsync(m.writeFile(p, 'x', { signal: AbortSignal.abort() }))
  t.is(err.name, 'AbortError')
})

test('on an SQPOLL Machine readFile and writeFile run as single ops with the same results', async (t) => {
  const m = machine(t, { sqpoll: true })
  const dir = tempDir(t)
  const p = join(dir, 'sq')
  await m.writeFile(p, bytes(100000))
  t.true((await m.readFile(p)).equals(bytes(100000)))
  t.is(await m.readFile('/proc/self/cmdline', 'latin1'), readFileSync('/proc/self/cmdline', 'latin1'))
  const err = await t.throwsAsync(m.readFile(join(dir, 'missing')))
  t.is(err.code, 'ENOENT')
  t.is(err.syscall, 'open')
  t.is(err.path, join(dir, 'missing'))
})

test.serial('on an SQPOLL Machine, destroy with single-op readFile and writeFile in flight closes their files', async (t) => {
  const { Machine } = await import('uring-machine')
  const dir = tempDir(t)
  const [a, b] = [join(dir, 'a'), join(dir, 'b')]
  mkfifo(a)
  mkfifo(b)
  const before = openFds()
  const m = new Machine({ sqpoll: true })
  // r+: the open does not wait for a peer; the read of the empty fifo
  // blocks, and so does a write of more than the other fifo holds.
  const reading = m.readFile(a, { flag: 'r+' })
  const writing = m.writeFile(b, Buffer.alloc(1 << 20), { flag: 'r+' })
  await sleep(30)
  t.is(fdsOn(a) + fdsOn(b), 2, 'both files open, their ops blocked')
  await m.destroy()
  t.is((await t.throwsAsync(reading)).code, 'ERR_MACHINE_DESTROYED')
  t.is((await t.throwsAsync(writing)).code, 'ERR_MACHINE_DESTROYED')
  t.is(fdsOn(a) + fdsOn(b), 0)
  t.is(openFds(), before)
})

test.serial('destroy with readFile chains in flight rejects them ERR_MACHINE_DESTROYED, and GC after it corrupts nothing', async (t) => {
  const { Machine } = await import('uring-machine')
  const dir = tempDir(t)
  const fifo = join(dir, 'fifo')
  mkfifo(fifo)
  const p = join(dir, 'big')
  writeFileSync(p, bytes(1 << 20))
  const before = openFds()
  const m = new Machine()
  const blocked = [1, 2, 3].map(() => m.readFile(fifo, { flag: 'r+' }).catch((e) => e))
  const others = Array.from({ length: 20 }, () => m.readFile(p).then((b) => b.length, (e) => e.code))
  await sleep(20)
  await m.destroy()
  for (const e of await Promise.all(blocked)) {
    t.is(e.code, 'ERR_MACHINE_DESTROYED')
    t.is(e.message, 'Machine was destroyed; read was not completed')
  }
  for (const r of await Promise.all(others)) t.true(r === 1 << 20 || r === 'ERR_MACHINE_DESTROYED', String(r))
  globalThis.gc?.()
  t.is(openFds(), before, 'the ring fd and every file are gone')
})

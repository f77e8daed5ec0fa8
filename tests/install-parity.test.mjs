// install(): each call made once through Node's own function (taken before
// any routing) and once routed, side by side. What is compared: values,
// callback argument lists (arity too), whether a call throws at once or
// later, error class, name, code, errno, syscall, path, dest, message and
// own-key order. Node's behaviour is read from Node at run time, so the
// same test holds on every Node of the matrix.
import test from 'ava'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import timersPromises from 'node:timers/promises'
import dns from 'node:dns'
import { PerformanceObserver } from 'node:perf_hooks'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { install, uninstall, UringScheduler } from 'uring-machine'
import { tempDir, routed, ringOps } from './helpers.mjs'

// Node's own functions, taken before any routing.
const own = {
  read: fs.read,
  write: fs.write,
  open: fs.open,
  close: fs.close,
  readFile: fs.readFile,
  writeFile: fs.writeFile,
  pReadFile: fsp.readFile,
  pWriteFile: fsp.writeFile,
  sleep: timersPromises.setTimeout,
  lookup: dns.promises.lookup
}

/** Every property of a Stats but atime (reading the file moves it). */
const statFields = (st) => Object.fromEntries(Object.entries(st).filter(([k]) => !k.startsWith('atime')))

/** What is compared of a value or an error. */
function shape (v) {
  if (v instanceof Error) {
    const e = {}
    for (const k of ['name', 'code', 'errno', 'syscall', 'path', 'dest', 'message', 'cause']) if (k in v) e[k] = v[k]
    const chain = []
    for (let p = Object.getPrototypeOf(v); p !== null; p = Object.getPrototypeOf(p)) chain.push(p.constructor.name)
    return { error: e, chain, keys: Object.keys(v), ownKeys: Reflect.ownKeys(v).map(String) }
  }
  if (Buffer.isBuffer(v)) return { buffer: v.toString('hex'), length: v.length }
  if (v instanceof fs.Stats) return { stats: statFields(v) }
  if (v !== null && typeof v === 'object') return { object: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)])), keys: Object.keys(v) }
  return { value: v }
}

/** A node-style call: its callback's arguments, or what it threw at once. */
function viaCallback (call) {
  return new Promise((resolve) => {
    let returned = false
    try {
      call((...args) => resolve({ sync: !returned, arity: args.length, args: args.map(shape) }))
      returned = true
    } catch (e) {
      resolve({ threw: shape(e) })
    }
  })
}

/** A promise-returning call: what it settled with, or what it threw at once. */
async function viaPromise (call) {
  let p
  try { p = call() } catch (e) { return { threw: shape(e) } }
  try { return { resolved: shape(await p) } } catch (e) { return { rejected: shape(e) } }
}

// Item 1: the replacements keep what util.promisify reads off Node's own.
routed('util.promisify(fs.read / fs.write) resolve { bytesRead, buffer } / { bytesWritten, buffer } as Node\'s do', async (t, s, label) => {
  const dir = tempDir(t)
  const file = join(dir, 'a')
  fs.writeFileSync(file, 'promisified')
  t.deepEqual(Reflect.ownKeys(fs.read), Reflect.ownKeys(own.read))
  t.deepEqual(Reflect.ownKeys(fs.write), Reflect.ownKeys(own.write))
  const fd = fs.openSync(file, 'r+')
  t.teardown(() => fs.closeSync(fd))
  let mine, theirs
  const ops = await ringOps(s, async () => {
    mine = await viaPromise(() => promisify(fs.read)(fd, Buffer.alloc(4), 0, 4, 2))
    theirs = await viaPromise(() => promisify(own.read)(fd, Buffer.alloc(4), 0, 4, 2))
    t.deepEqual(mine, theirs)
    mine = await viaPromise(() => promisify(fs.write)(fd, Buffer.from('PRO'), 0, 3, 0))
    theirs = await viaPromise(() => promisify(own.write)(fd, Buffer.from('PRO'), 0, 3, 0))
  })
  t.deepEqual(mine, theirs)
  t.deepEqual(mine.resolved.keys, ['bytesWritten', 'buffer'])
  if (label === 'UringScheduler') t.true(ops >= 2, 'the routed calls reached the ring')
})

// Items 2 and 4, and the callback argument lists of read and write.
routed('callback fs.read / fs.write: zero lengths, bad fds, out-of-range arguments, argument lists', async (t, s, label) => {
  const dir = tempDir(t)
  const file = join(dir, 'a')
  fs.writeFileSync(file, 'hello, world')
  // Each call gets an fd of its own, at position 0.
  const fds = []
  t.teardown(() => fds.forEach((fd) => fs.closeSync(fd)))
  const fresh = () => { const fd = fs.openSync(file, 'r+'); fds.push(fd); return fd }
  const closed = fs.openSync(file, 'r')
  fs.closeSync(closed) // a number that is no open fd
  const huge = Buffer.allocUnsafe(2 ** 31 + 1) // never touched: address space, not memory
  const cases = [
    ['zero-length read', (f, fd) => (cb) => f(fd, Buffer.alloc(0), 0, 0, 0, cb)],
    ['zero-length write', (f, fd) => (cb) => f(fd, Buffer.alloc(0), 0, 0, 0, cb)],
    ['zero-length read, bad fd', (f) => (cb) => f(closed, Buffer.alloc(0), 0, 0, 0, cb)],
    ['zero-length write, bad fd', (f) => (cb) => f(closed, Buffer.alloc(0), 0, 0, 0, cb)],
    ['length 0 of a non-empty buffer', (f, fd) => (cb) => f(fd, Buffer.alloc(4), 0, 0, 0, cb)],
    ['read', (f, fd) => (cb) => f(fd, Buffer.alloc(5), 0, 5, 7, cb)],
    ['read, current position', (f, fd) => (cb) => f(fd, Buffer.alloc(5), 0, 5, null, cb)],
    ['read, position -1', (f, fd) => (cb) => f(fd, Buffer.alloc(5), 1, 4, -1, cb)],
    ['read, bad fd', (f) => (cb) => f(closed, Buffer.alloc(5), 0, 5, 0, cb)],
    ['length above 2^31-1', (f, fd) => (cb) => f(fd, huge, 0, 2 ** 31, 0, cb)],
    ['fd above 2^31-1', (f) => (cb) => f(2 ** 31, Buffer.alloc(3), 0, 3, 0, cb)],
    ['fractional fd', (f) => (cb) => f(1.5, Buffer.alloc(3), 0, 3, 0, cb)],
    ['fractional offset', (f, fd) => (cb) => f(fd, Buffer.alloc(3), 1.5, 1, 0, cb)],
    ['fractional length', (f, fd) => (cb) => f(fd, Buffer.alloc(3), 0, 1.5, 0, cb)],
    ['fractional position', (f, fd) => (cb) => f(fd, Buffer.alloc(3), 0, 1, 1.5, cb)],
    ['position above 2^53-1', (f, fd) => (cb) => f(fd, Buffer.alloc(3), 0, 1, 2 ** 53, cb)],
    ['length beyond the buffer', (f, fd) => (cb) => f(fd, Buffer.alloc(3), 1, 3, 0, cb)]
  ]
  let ops = 0
  for (const [what, make] of cases) {
    for (const name of ['read', 'write']) {
      if (what.includes('read') && name === 'write') continue
      let mine
      ops += await ringOps(s, async () => { mine = await viaCallback(make((...a) => fs[name](...a), fresh())) })
      const theirs = await viaCallback(make((...a) => own[name](...a), fresh()))
      t.deepEqual(mine, theirs, `${name}: ${what}`)
    }
  }
  // Writes last: they change the file.
  for (const [what, make] of [
    ['write', (f, fd) => (cb) => f(fd, Buffer.from('HE'), 0, 2, 0, cb)],
    ['write, current position', (f, fd) => (cb) => f(fd, Buffer.from('x'), 0, 1, null, cb)],
    ['write, bad fd', (f) => (cb) => f(closed, Buffer.from('x'), 0, 1, 0, cb)]
  ]) {
    let mine
    ops += await ringOps(s, async () => { mine = await viaCallback(make((...a) => fs.write(...a), fresh())) })
    const theirs = await viaCallback(make((...a) => own.write(...a), fresh()))
    t.deepEqual(mine, theirs, what)
  }
  t.is(fs.readFileSync(file, 'utf8'), 'xEllo, world')
  if (label === 'UringScheduler') t.true(ops >= 7, 'the valid calls reached the ring')
})

// Item 3.
routed('readFile validates options.signal as Node does, callback and promise forms', async (t, s, label) => {
  const dir = tempDir(t)
  const file = join(dir, 'a')
  fs.writeFileSync(file, 'signal')
  for (const signal of ['hello', null, 1, {}, { aborted: false }, AbortSignal.abort('no'), new AbortController().signal]) {
    const cbMine = await viaCallback((cb) => fs.readFile(file, { signal }, cb))
    const cbTheirs = await viaCallback((cb) => own.readFile(file, { signal }, cb))
    t.deepEqual(cbMine, cbTheirs, `callback, signal ${String(signal)}`)
    const pMine = await viaPromise(() => fsp.readFile(file, { signal }))
    const pTheirs = await viaPromise(() => own.pReadFile(file, { signal }))
    t.deepEqual(pMine, pTheirs, `promise, signal ${String(signal)}`)
  }
  const ops = await ringOps(s, () => fsp.readFile(file, { signal: new AbortController().signal }))
  // One op chain (open, read, read) since readFile goes through Machine.readFile.
  if (label === 'UringScheduler') t.true(ops >= 1, 'a valid signal is still routed')
})

// Item 5.
routed('writeFile validates flush, and the callback form with flush: true goes through fs.fsync as Node\'s does', async (t, s, label) => {
  const dir = tempDir(t)
  const file = join(dir, 'a')
  for (const flush of ['true', 1, null, false]) {
    t.deepEqual(await viaCallback((cb) => fs.writeFile(file, 'x', { flush }, cb)), await viaCallback((cb) => own.writeFile(file, 'x', { flush }, cb)), `callback, flush ${flush}`)
    t.deepEqual(await viaPromise(() => fsp.writeFile(file, 'x', { flush })), await viaPromise(() => own.pWriteFile(file, 'x', { flush })), `promise, flush ${flush}`)
  }
  // What Node's own calls on the fs module is what code wrapping it sees.
  const seen = []
  const wrapped = {}
  for (const name of ['open', 'write', 'fsync', 'fdatasync', 'close']) {
    wrapped[name] = fs[name]
    fs[name] = function (...args) { seen.push(`${name}/${args.length}`); return wrapped[name].apply(this, args) }
  }
  t.teardown(() => Object.assign(fs, wrapped))
  const calls = async (writeFile) => {
    seen.length = 0
    const r = await viaCallback((cb) => writeFile(file, 'flushed', { flush: true }, cb))
    return { r, seen: [...seen], data: fs.readFileSync(file, 'utf8') }
  }
  let mine
  const ops = await ringOps(s, async () => { mine = await calls(fs.writeFile) })
  const theirs = await calls(own.writeFile)
  t.deepEqual(mine, theirs)
  t.true(mine.seen.includes('fsync/2'))
  if (label === 'UringScheduler') t.true(ops >= 3, 'open, write and close reached the ring')
  // appendFile is Node's too, over the same routed calls.
  seen.length = 0
  const appended = await ringOps(s, async () => t.deepEqual(await viaCallback((cb) => fs.appendFile(file, '!', cb)), { sync: false, arity: 1, args: [{ value: null }] }))
  t.is(fs.readFileSync(file, 'utf8'), 'flushed!')
  if (label === 'UringScheduler') t.true(appended >= 3, 'appendFile reached the ring')
})

// Item 6 and item 10.
routed('timers/promises.setTimeout: options validated, and an abort rejects with Node\'s AbortError shape', async (t, s, label) => {
  for (const [what, args] of [
    ['signal not a signal', [1, 'v', { signal: 'x' }]],
    ['ref not a boolean', [1, 'v', { ref: 'x' }]],
    ['ref null', [1, 'v', { ref: null }]],
    ['options null', [1, 'v', null]],
    ['options an array', [1, 'v', []]],
    ['options a string', [1, 'v', 'x']],
    ['delay a bigint', [1n, 'v']],
    ['already aborted', [1, 'v', { signal: AbortSignal.abort('why') }]],
    ['valid', [1, 'v', { signal: new AbortController().signal, ref: true }]]
  ]) {
    t.deepEqual(await viaPromise(() => timersPromises.setTimeout(...args)), await viaPromise(() => own.sleep(...args)), what)
  }
  const late = async (sleep) => {
    const ac = new AbortController()
    const p = viaPromise(() => sleep(60_000, 'v', { signal: ac.signal }))
    await new Promise((resolve) => setImmediate(resolve))
    ac.abort('late')
    return p
  }
  let mine
  const ops = await ringOps(s, async () => { mine = await late(timersPromises.setTimeout) })
  t.deepEqual(mine, await late(own.sleep))
  t.deepEqual(mine.rejected.keys, ['code', 'name'])
  if (label === 'UringScheduler') t.true(ops >= 1, 'the sleep was the ring\'s')
})

// Items 7 and 8.
routed('fs.close: (null) on success, and a bad fd fails with syscall close even while another op is in flight', async (t, s) => {
  const dir = tempDir(t)
  const file = join(dir, 'a')
  fs.writeFileSync(file, 'x')
  const fds = [fs.openSync(file, 'r'), fs.openSync(file, 'r')]
  t.deepEqual(await viaCallback((cb) => fs.close(fds[0], cb)), await viaCallback((cb) => own.close(fds[1], cb)))
  // fds[0] is closed now: no open fd has its number.
  const ac = new AbortController()
  const inFlight = timersPromises.setTimeout(60_000, null, { signal: ac.signal }).catch(() => {})
  await new Promise((resolve) => setImmediate(resolve))
  if (s.machine !== undefined) t.true(s.machine.metrics().pending > 0, 'an op is in flight')
  t.deepEqual(await viaCallback((cb) => fs.close(fds[0], cb)), await viaCallback((cb) => own.close(fds[0], cb)))
  ac.abort()
  await inFlight
})

// Item 9. Literal addresses only: no query leaves this host.
routed('dns.promises.lookup: options validated, literals answered as Node answers them', async (t) => {
  for (const [host, options] of [
    ['127.0.0.1', { all: 'true' }],
    ['127.0.0.1', { all: 1 }],
    ['127.0.0.1', { family: 6 }],
    ['127.0.0.1', { family: 6, all: true }],
    ['127.0.0.1', { family: 'IPv6' }],
    ['::1', 4],
    ['::1', { family: 4, all: true }],
    ['::1', { all: true }],
    ['127.0.0.1', 5],
    ['127.0.0.1', '4'],
    ['127.0.0.1', { family: 5 }],
    ['127.0.0.1', { hints: 'x' }],
    ['127.0.0.1', { verbatim: 'x' }],
    ['127.0.0.1', { order: 'x' }],
    ['127.0.0.1', null],
    ['127.0.0.1', undefined],
    [42, undefined]
  ]) {
    t.deepEqual(await viaPromise(() => dns.promises.lookup(host, options)), await viaPromise(() => own.lookup(host, options)), `${String(host)} ${JSON.stringify(options)}`)
  }
})

// A lookup someone measures is Node's own, which makes the 'dns' performance
// entry; 'localhost' is in /etc/hosts, so no query leaves this host.
routed('dns.promises.lookup while a PerformanceObserver observes \'dns\' is Node\'s own, with its performance entry', async (t, s) => {
  let resolves = 0
  const resolve = s.addressResolve.bind(s)
  s.addressResolve = (hostname) => { resolves++; return resolve(hostname) }
  await dns.promises.lookup('localhost')
  t.is(resolves, 1, 'unobserved: routed')
  const entries = []
  let seen
  const delivered = new Promise((resolve) => { seen = resolve })
  const obs = new PerformanceObserver((list) => { entries.push(...list.getEntries()); seen() })
  obs.observe({ type: 'dns' })
  t.deepEqual(await dns.promises.lookup('localhost'), await own.lookup('localhost'))
  await delivered
  t.is(resolves, 1, 'observed: Node\'s own')
  const lookups = entries.filter((e) => e.name === 'lookup' && e.entryType === 'dns')
  t.true(lookups.length >= 1 && lookups.every((e) => e.detail.hostname === 'localhost'), JSON.stringify(entries))
  obs.disconnect()
  await dns.promises.lookup('localhost')
  t.is(resolves, 2, 'after disconnect(): routed again')
})

// Item 11: the register entry leaves no trace before first use.
test('the register entry loads nothing Node would not, beyond the modules it patches, until first use', (t) => {
  const dir = tempDir(t)
  const require = createRequire(import.meta.url)
  const register = require.resolve('uring-machine/register')
  const empty = join(dir, 'empty.cjs')
  fs.writeFileSync(empty, '')
  const probe = join(dir, 'probe.cjs')
  fs.writeFileSync(probe, `
    const before = { modules: [...process.moduleLoadList], chdir: process.chdir.toString() }
    if (process.argv[2] === 'patched') { require('node:fs').promises; require('node:timers/promises'); require('node:dns').promises; require('node:perf_hooks') }
    const after = [...process.moduleLoadList]
    const fs = require('node:fs')
    fs.readFile(__filename, async (err) => {
      const esm = (await import('node:fs')).readFile === fs.readFile
      process.stdout.write(JSON.stringify({ before, after, used: [...process.moduleLoadList], err: err && err.message, esm }))
    })
  `)
  const run = (preload, ...args) => {
    const r = spawnSync(process.execPath, ['--import', preload, probe, ...args], { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'uring-machine' } })
    t.is(r.status, 0, r.stderr)
    return { ...JSON.parse(r.stdout), stderr: r.stderr }
  }
  const plain = run(empty)
  const patched = run(empty, 'patched')
  const hooked = run(register)
  const known = new Set(patched.after)
  const added = hooked.before.modules.filter((m) => !known.has(m))
  t.deepEqual(added, [], 'modules the hook loads at once that loading the patched modules does not')
  t.false(hooked.before.modules.includes('NativeModule worker_threads'))
  t.is(hooked.before.chdir, plain.before.chdir, 'process.chdir is Node\'s, unwrapped')
  t.true(plain.before.modules.every((m) => hooked.before.modules.includes(m)))
  // And the hook is live: the first routed call picks the scheduler.
  t.is(hooked.err, null)
  t.true(hooked.esm, 'ES module importers see the routed functions')
  t.regex(hooked.stderr, /register: (uring|node) scheduler/)
  t.notRegex(plain.stderr, /register:/)
})

// Item 1, for every patched function: util.promisify and other readers of a
// function's own properties see Node's.
test.serial('every function install() replaces keeps the own properties of Node\'s', (t) => {
  const holders = { fs, 'fs.promises': fsp, 'timers/promises': timersPromises, 'dns.promises': dns.promises }
  const before = Object.fromEntries(Object.entries(holders).map(([k, o]) => [k, { ...o }]))
  install()
  t.teardown(uninstall)
  let replaced = 0
  for (const [k, o] of Object.entries(holders)) {
    for (const [name, original] of Object.entries(before[k])) {
      if (typeof original !== 'function' || o[name] === original) continue
      replaced++
      const mine = o[name]
      t.deepEqual(Reflect.ownKeys(mine), Reflect.ownKeys(original), `${k}.${name}`)
      for (const key of Reflect.ownKeys(original)) {
        if (key === 'prototype') continue
        t.deepEqual(Object.getOwnPropertyDescriptor(mine, key), Object.getOwnPropertyDescriptor(original, key), `${k}.${name}.${String(key)}`)
      }
    }
  }
  t.true(replaced >= 16, `${replaced} functions replaced`)
})

test('under the register entry, loading the package makes the default scheduler current at once', (t) => {
  const require = createRequire(import.meta.url)
  const r = spawnSync(process.execPath, ['--import', require.resolve('uring-machine/register'), '-e',
    `process.stdout.write(String(require(${JSON.stringify(require.resolve('uring-machine'))}).currentScheduler()?.name))`], { encoding: 'utf8' })
  t.is(r.status, 0, r.stderr)
  t.regex(r.stdout, /^(uring|node)$/)
})

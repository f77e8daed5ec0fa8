// install(): Node's own fs, timers/promises and dns.promises.lookup routed
// through the current scheduler give exactly what Node gives.
import test from 'ava'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import { setTimeout as tSleep } from 'node:timers/promises'
import dns from 'node:dns'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { install, uninstall, installed, runWithScheduler, UringScheduler, NodeScheduler, AbortError } from 'uring-machine'
import { tempDir } from './helpers.mjs'

// Node's own functions, taken before any routing.
const own = { readFile: fsp.readFile, writeFile: fsp.writeFile, stat: fsp.stat, lstat: fsp.lstat, cbStat: fs.stat, cbReadFile: fs.readFile, lookup: dns.promises.lookup }

/** Every property of a Stats but atime (reading the file moves it). */
const statFields = (st) => Object.fromEntries(Object.entries(st).filter(([k]) => !k.startsWith('atime')))

async function captured (p) {
  try { return { value: await p } } catch (e) { return { error: { name: e.name, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, keys: Object.keys(e).sort() } } }
}

for (const [label, make] of [['UringScheduler', () => new UringScheduler()], ['NodeScheduler', () => new NodeScheduler()]]) {
  test.serial(`${label}: routed fs results and errors equal Node's own`, async (t) => {
    const dir = tempDir(t)
    const file = join(dir, 'a.txt')
    fs.writeFileSync(file, 'hello, routed world')
    fs.symlinkSync(file, join(dir, 'link'))
    const s = make()
    install()
    t.teardown(async () => { uninstall(); await s.close() })
    await runWithScheduler(s, async () => {
      const before = label === 'UringScheduler' ? s.machine.metrics().opsCompleted : 0
      t.deepEqual(await fsp.readFile(file), await own.readFile(file))
      t.is(await fsp.readFile(file, 'utf8'), await own.readFile(file, 'utf8'))
      t.is(await fsp.readFile(file, { encoding: 'latin1' }), await own.readFile(file, { encoding: 'latin1' }))
      const mine = await fsp.stat(file)
      const theirs = await own.stat(file)
      t.true(mine instanceof fs.Stats)
      t.deepEqual(Object.keys(mine), Object.keys(theirs))
      t.deepEqual(statFields(mine), statFields(theirs))
      t.deepEqual(statFields(await fsp.lstat(join(dir, 'link'))), statFields(await own.lstat(join(dir, 'link'))))
      const big = await fsp.stat(file, { bigint: true })
      t.is(typeof big.size, 'bigint')
      t.deepEqual(statFields(big), statFields(await own.stat(file, { bigint: true })))
      for (const p of ['/nonexistent/x', dir]) {
        t.deepEqual(await captured(fsp.readFile(p)), await captured(own.readFile(p)), p)
      }
      t.deepEqual(await captured(fsp.stat(join(dir, 'none'))), await captured(own.stat(join(dir, 'none'))))
      await fsp.writeFile(join(dir, 'b.txt'), 'written')
      await fsp.writeFile(join(dir, 'b.txt'), Buffer.from('!'), { flag: 'a' })
      t.is(fs.readFileSync(join(dir, 'b.txt'), 'utf8'), 'written!')
      await fsp.mkdir(join(dir, 'x', 'y'), { recursive: true }) // not routed: falls through
      t.true(fs.statSync(join(dir, 'x', 'y')).isDirectory())
      // Callbacks.
      const [e1, st1] = await new Promise((resolve) => fs.stat(file, (...a) => resolve(a)))
      t.is(e1, null)
      t.deepEqual(statFields(st1), statFields(theirs))
      t.is(await promisify(fs.readFile)(file, 'utf8'), 'hello, routed world')
      const fd = await promisify(fs.open)(file, 'r')
      const buf = Buffer.alloc(5)
      const n = await new Promise((resolve, reject) => fs.read(fd, buf, 0, 5, 7, (err, k, b) => err ? reject(err) : (t.is(b, buf), resolve(k))))
      t.is(n, 5)
      t.is(buf.toString(), 'route')
      await promisify(fs.close)(fd)
      if (label === 'UringScheduler') t.true(s.machine.metrics().opsCompleted - before >= 15, 'the calls went through the ring (readFile and writeFile are one chain each)')
    })
  })
}

test.serial('timers/promises.setTimeout and dns.promises.lookup, routed', async (t) => {
  const s = new UringScheduler()
  install()
  t.teardown(async () => { uninstall(); await s.close() })
  await runWithScheduler(s, async () => {
    const before = s.machine.metrics().opsCompleted
    t.is(await tSleep(5, 'value'), 'value')
    const ac = new AbortController()
    const p = tSleep(10_000, 'x', { signal: ac.signal })
    ac.abort('why')
    const err = await t.throwsAsync(p)
    t.is(err.name, 'AbortError')
    t.is(err.code, 'ABORT_ERR')
    t.is(err.cause, 'why')
    t.deepEqual(await dns.promises.lookup('localhost', { family: 4 }), await own.lookup('localhost', { family: 4 }))
    t.deepEqual(await dns.promises.lookup('127.0.0.1', { all: true }), await own.lookup('127.0.0.1', { all: true }))
    t.true(s.machine.metrics().opsCompleted - before >= 3)
  })
})

test.serial('without a current scheduler, and after uninstall, Node runs untouched', async (t) => {
  install()
  t.true(installed())
  t.not(fsp.readFile, own.readFile)
  t.is(await fsp.readFile('/etc/hostname', 'utf8'), await own.readFile('/etc/hostname', 'utf8'), 'no scheduler: falls through')
  uninstall()
  t.false(installed())
  t.is(fsp.readFile, own.readFile)
  t.is(fs.stat, own.cbStat)
  t.is(dns.promises.lookup, own.lookup)
  await t.throwsAsync(tSleep(10, null, { signal: AbortSignal.abort() }), { name: 'AbortError' })
  t.true(AbortError !== undefined)
})

// Machine.statMany: stat/lstat of many paths in one call, each result
// against fs.promises.stat/lstat on the same paths; more paths than the
// SQ holds; abort, timeout and destroy midway; forced GC in flight.
import test from 'ava'
import { writeFileSync, mkdirSync, symlinkSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { machine, tempDir, openFds, sleep } from './helpers.mjs'

const KEYS = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blksize', 'blocks', 'atimeMs', 'mtimeMs', 'ctimeMs', 'birthtimeMs']

async function nodeOutcome (fn) {
  try { return await fn() } catch (e) { return e }
}

function same (t, got, want, what) {
  if (want instanceof Error) {
    t.true(got instanceof Error, `${what}: an Error`)
    for (const k of ['message', 'code', 'errno', 'syscall', 'path']) t.is(got[k], want[k], `${what}: ${k}`)
    return
  }
  t.is(got.constructor.name, want.constructor.name, `${what}: class`)
  for (const k of KEYS) t.is(got[k], want[k], `${what}: ${k}`)
  t.is(got.mtime.getTime(), want.mtime.getTime(), `${what}: mtime`)
  t.is(got.isFile(), want.isFile())
  t.is(got.isDirectory(), want.isDirectory())
  t.is(got.isSymbolicLink(), want.isSymbolicLink())
}

function place (t) {
  const dir = tempDir(t)
  const file = join(dir, 'file')
  writeFileSync(file, 'twelve bytes')
  writeFileSync(join(dir, 'empty'), '')
  mkdirSync(join(dir, 'sub'))
  symlinkSync(file, join(dir, 'link'))
  symlinkSync(join(dir, 'gone'), join(dir, 'dangling'))
  return { dir, paths: [file, join(dir, 'empty'), join(dir, 'sub'), join(dir, 'link'), join(dir, 'dangling'), join(dir, 'missing'), join(file, 'under-a-file'), dir] }
}

for (const [name, opts, node] of [
  ['stat', undefined, (p) => fsp.stat(p)],
  ['lstat', { lstat: true }, (p) => fsp.lstat(p)],
  ['stat bigint', { bigint: true }, (p) => fsp.stat(p, { bigint: true })],
  ['lstat bigint', { lstat: true, bigint: true }, (p) => fsp.lstat(p, { bigint: true })]
]) {
  test(`statMany (${name}) equals fs.promises for files, dirs, symlinks and missing paths`, async (t) => {
    const m = machine(t)
    const { paths } = place(t)
    const got = await m.statMany(paths, opts)
    t.is(got.length, paths.length)
    for (let i = 0; i < paths.length; i++) same(t, got[i], await nodeOutcome(() => node(paths[i])), paths[i])
  })
}

test('statMany takes Buffer and file: URL paths; an empty list resolves []', async (t) => {
  const m = machine(t)
  const { paths } = place(t)
  const [a, b] = await m.statMany([Buffer.from(paths[0]), pathToFileURL(paths[2])])
  t.is(a.size, 12)
  t.true(b.isDirectory())
  t.deepEqual(await m.statMany([]), [])
})

test('statMany of 10k paths (many times the SQ) gives every path its own result', async (t) => {
  const m = machine(t, { entries: 64 })
  const { dir } = place(t)
  const paths = []
  for (let i = 0; i < 10_000; i++) {
    const p = join(dir, `n${i}`)
    if (i % 50 === 0) writeFileSync(p, Buffer.alloc(i / 50))
    paths.push(p)
  }
  const got = await m.statMany(paths)
  t.is(got.length, 10_000)
  let bad = 0
  for (let i = 0; i < paths.length; i++) {
    const ok = i % 50 === 0 ? (!(got[i] instanceof Error) && got[i].size === i / 50) : (got[i].code === 'ENOENT' && got[i].path === paths[i])
    if (!ok) bad++
  }
  t.is(bad, 0)
})

test('statMany validates its arguments as Node does', (t) => {
  const m = machine(t)
  t.is(t.throws(() => m.statMany('/tmp')).code, 'ERR_INVALID_ARG_TYPE')
  t.is(t.throws(() => m.statMany(['/tmp', 5])).code, 'ERR_INVALID_ARG_TYPE')
  t.is(t.throws(() => m.statMany(['/tmp\0x'])).code, 'ERR_INVALID_ARG_VALUE')
  t.is(t.throws(() => m.statMany(['/tmp'], { bigint: 1 })).code, 'ERR_INVALID_ARG_TYPE')
  t.is(t.throws(() => m.statMany(['/tmp'], { lstat: 'yes' })).code, 'ERR_INVALID_ARG_TYPE')
  t.is(t.throws(() => m.statMany(['/tmp'], { signal: {} })).code, 'ERR_INVALID_ARG_TYPE')
})

test('on an SQPOLL Machine statMany runs as single statx ops with the same results', async (t) => {
  const m = machine(t, { sqpoll: true })
  const { paths } = place(t)
  const got = await m.statMany(paths, { lstat: true })
  for (let i = 0; i < paths.length; i++) same(t, got[i], await nodeOutcome(() => fsp.lstat(paths[i])), paths[i])
})

test.serial('statMany aborted, timed out or destroyed midway leaks no fd and no slot', async (t) => {
  const { Machine } = await import('uring-machine')
  const { dir } = place(t)
  const paths = Array.from({ length: 20_000 }, (_, i) => join(dir, `x${i % 100}`, 'deeper'))
  const before = openFds()
  const m = new Machine({ entries: 8 })
  const ac = new AbortController()
  const aborted = m.statMany(paths, { signal: ac.signal })
  setImmediate(() => ac.abort())
  t.is((await t.throwsAsync(aborted)).name, 'AbortError')
  t.is((await t.throwsAsync(m.statMany(paths, { signal: AbortSignal.abort() }))).name, 'AbortError')
  const timed = await m.statMany(paths, { timeout: 1 }).then(() => 'done', (e) => e)
  t.true(timed === 'done' || timed.code === 'ETIMEDOUT', String(timed))
  t.is(m.metrics().pending, 0)
  const inFlight = m.statMany(paths)
  await sleep(0)
  await m.destroy()
  const e = await inFlight.then(() => 'done', (e) => e)
  t.true(e === 'done' || e.code === 'ERR_MACHINE_DESTROYED', String(e))
  t.is(openFds(), before)
})

test.serial('forced GC with many statMany calls in flight corrupts nothing', async (t) => {
  const m = machine(t)
  const { paths } = place(t)
  const want = await Promise.all(paths.map((p) => nodeOutcome(() => fsp.lstat(p))))
  for (let round = 0; round < 5; round++) {
    const calls = Array.from({ length: 50 }, () => m.statMany(paths, { lstat: true }))
    globalThis.gc()
    for (const got of await Promise.all(calls)) {
      for (let i = 0; i < paths.length; i++) t.is(got[i] instanceof Error ? got[i].code : got[i].ino, want[i] instanceof Error ? want[i].code : want[i].ino)
    }
  }
})

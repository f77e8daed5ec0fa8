// install()'s further routes (install-more.ts), each call made once through
// Node's own function (taken before any routing) and once routed, from the
// same state of the disk, side by side: values, callback argument lists,
// whether a call throws at once, error class, code, errno, syscall, path,
// dest, message and own-key order, and what is on disk afterwards.
import test from 'ava'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { spawnSync } from 'node:child_process'
import { install, uninstall, runWithScheduler, UringScheduler } from 'uring-machine'
import { tempDir, routed, ringOps } from './helpers.mjs'

const FNS = ['fsync', 'fdatasync', 'ftruncate', 'truncate', 'fstat', 'readv', 'writev', 'link', 'symlink', 'copyFile', 'mkdir', 'rm', 'open', 'read', 'write', 'close', 'appendFile']
const PFNS = ['appendFile', 'truncate', 'link', 'symlink', 'copyFile', 'mkdir', 'rm', 'readFile', 'writeFile', 'open']
// Node's own functions, taken before any routing.
const own = Object.fromEntries(FNS.map((n) => [n, fs[n]]))
const ownP = Object.fromEntries(PFNS.map((n) => [n, fsp[n]]))
// Node's own FileHandle methods, from a handle opened before install().
const FH_METHODS = ['read', 'write', 'readv', 'writev', 'stat', 'truncate', 'sync', 'datasync', 'readFile', 'writeFile', 'appendFile']
const fhProto = await (async () => { const h = await fsp.open(new URL(import.meta.url)); const p = Object.getPrototypeOf(h); await h.close(); return p })()
const ownFh = Object.fromEntries(FH_METHODS.map((n) => [n, fhProto[n]]))

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
  // Times and inode numbers left out: each run makes its files anew. Their keys are compared.
  if (v instanceof fs.Stats) return { stats: Object.fromEntries(Object.entries(v).filter(([k]) => !/time|^ino$/.test(k))), keys: Object.keys(v) }
  if (Array.isArray(v)) return { array: v.map(shape) }
  if (v !== null && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v)
    return { object: Object.fromEntries(Object.entries(v).filter(([k]) => !/time|^ino$/.test(k)).map(([k, x]) => [k, shape(x)])), keys: Object.keys(v), proto: proto === null ? null : proto.constructor?.name }
  }
  return { value: typeof v === 'bigint' ? `${v}n` : v }
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

/** The files under `dir`: name to [kind, mode, content]. */
function snapshot (dir) {
  const out = {}
  for (const name of fs.readdirSync(dir).sort()) {
    const p = join(dir, name)
    const st = fs.lstatSync(p)
    out[name] = [st.isSymbolicLink() ? `link ${fs.readlinkSync(p)}` : st.isDirectory() ? `dir ${JSON.stringify(snapshot(p))}` : 'file', (st.mode & 0o7777).toString(8), st.isFile() ? fs.readFileSync(p, 'utf8') : null, st.nlink]
  }
  return out
}

/**
 * Each case: `setup(dir)` makes the state, `call(fns, dir, ctx)` makes the
 * call and returns viaCallback/viaPromise's record. Run routed, then on
 * Node's own from the same state; the records and the disk must match.
 * Returns the ring ops the routed calls made.
 */
async function sideBySide (t, s, cases, fns) {
  let ops = 0
  const dir = tempDir(t)
  for (const [what, setup, call] of cases) {
    const run = async (f, count) => {
      const root = join(dir, 'x') // the same path for both runs: messages name it
      fs.rmSync(root, { recursive: true, force: true })
      fs.mkdirSync(root)
      const ctx = { fds: [] }
      await setup(root)
      let r
      const n = await ringOps(s, async () => { r = await call(f, root, ctx) })
      if (count) ops += n
      for (const fd of ctx.fds) try { fs.closeSync(fd) } catch {}
      const disk = snapshot(root)
      fs.rmSync(root, { recursive: true, force: true })
      return { r, disk }
    }
    const mine = await run(fns.routed, true)
    const theirs = await run(fns.own, false)
    t.deepEqual(mine, theirs, what)
  }
  return ops
}

const CB = { routed: fs, own }
const PR = { routed: fsp, own: ownP }

const file = (dir, name = 'f', data = 'hello, world', mode = 0o644) => { fs.writeFileSync(join(dir, name), data, { mode }); fs.chmodSync(join(dir, name), mode) }
const openFd = (dir, ctx, name = 'f', flags = 'r+') => { const fd = fs.openSync(join(dir, name), flags); ctx.fds.push(fd); return fd }
const closedFd = () => { const fd = fs.openSync('/dev/null', 'r'); fs.closeSync(fd); return fd }

routed('fsync, fdatasync, ftruncate, fstat (callback): valid calls, bad fds, bad arguments', async (t, s, label) => {
  const cases = []
  for (const name of ['fsync', 'fdatasync']) {
    cases.push(
      [`${name}`, file, (f, d, c) => viaCallback((cb) => f[name](openFd(d, c), cb))],
      [`${name} of a directory`, () => {}, (f, d, c) => viaCallback((cb) => f[name](openFd(d, c, '.', 'r'), cb))],
      [`${name}, bad fd`, () => {}, (f) => viaCallback((cb) => f[name](closedFd(), cb))],
      [`${name}, fractional fd`, () => {}, (f) => viaCallback((cb) => f[name](1.5, cb))],
      [`${name}, no callback`, file, (f, d, c) => viaCallback(() => f[name](openFd(d, c)))]
    )
  }
  cases.push(
    ['ftruncate', file, (f, d, c) => viaCallback((cb) => f.ftruncate(openFd(d, c), 5, cb))],
    ['ftruncate, no length', file, (f, d, c) => viaCallback((cb) => f.ftruncate(openFd(d, c), cb))],
    ['ftruncate, longer', file, (f, d, c) => viaCallback((cb) => f.ftruncate(openFd(d, c), 20, cb))],
    ['ftruncate, negative length', file, (f, d, c) => viaCallback((cb) => f.ftruncate(openFd(d, c), -1, cb))],
    ['ftruncate, length a string', file, (f, d, c) => viaCallback((cb) => f.ftruncate(openFd(d, c), '3', cb))],
    ['ftruncate, read-only fd', file, (f, d, c) => viaCallback((cb) => f.ftruncate(openFd(d, c, 'f', 'r'), 2, cb))],
    ['ftruncate, bad fd', () => {}, (f) => viaCallback((cb) => f.ftruncate(closedFd(), 2, cb))],
    ['fstat', file, (f, d, c) => viaCallback((cb) => f.fstat(openFd(d, c), cb))],
    ['fstat, bigint', file, (f, d, c) => viaCallback((cb) => f.fstat(openFd(d, c), { bigint: true }, cb))],
    ['fstat, bigint not a boolean', file, (f, d, c) => viaCallback((cb) => f.fstat(openFd(d, c), { bigint: 'x' }, cb))],
    ['fstat, bad fd', () => {}, (f) => viaCallback((cb) => f.fstat(closedFd(), cb))],
    ['fstat, fd a string', () => {}, (f) => viaCallback((cb) => f.fstat('3', cb))]
  )
  const ops = await sideBySide(t, s, cases, CB)
  if (label === 'UringScheduler') t.true(ops >= 12, `the valid calls reached the ring (${ops} ops)`)
})

routed('truncate, callback and promise: paths, missing files, directories, lengths', async (t, s, label) => {
  const cases = []
  for (const [form, call] of [['callback', (f, ...a) => viaCallback((cb) => f.truncate(...a, cb))], ['promise', (f, ...a) => viaPromise(() => f.truncate(...a))]]) {
    const fns = form === 'callback' ? 'cb' : 'p'
    cases.push(
      [`${fns}: truncate`, file, (f, d) => call(f, join(d, 'f'), 4)],
      [`${fns}: no length`, file, (f, d) => call(f, join(d, 'f'))],
      [`${fns}: missing file`, () => {}, (f, d) => call(f, join(d, 'nope'), 1)],
      [`${fns}: a directory`, () => {}, (f, d) => call(f, d, 1)],
      [`${fns}: negative length`, file, (f, d) => call(f, join(d, 'f'), -3)],
      [`${fns}: length 2^53`, file, (f, d) => call(f, join(d, 'f'), 2 ** 53)]
    )
  }
  const ops = await sideBySide(t, s, cases.filter((c) => c[0].startsWith('cb')), CB) +
    await sideBySide(t, s, cases.filter((c) => c[0].startsWith('p')), PR)
  if (label === 'UringScheduler') t.true(ops >= 9, `the valid calls reached the ring (${ops} ops)`)
})

routed('readv / writev (callback): positions, bad fds, empty and bad arrays; the callback gets (err, bytes, buffers)', async (t, s, label) => {
  const bufs = () => [Buffer.alloc(3), Buffer.alloc(4)]
  const cases = [
    ['readv', file, (f, d, c) => viaCallback((cb) => f.readv(openFd(d, c), bufs(), cb))],
    ['readv at 2', file, (f, d, c) => viaCallback((cb) => f.readv(openFd(d, c), bufs(), 2, cb))],
    ['readv, position null', file, (f, d, c) => viaCallback((cb) => f.readv(openFd(d, c), bufs(), null, cb))],
    ['readv, position a string', file, (f, d, c) => viaCallback((cb) => f.readv(openFd(d, c), bufs(), '2', cb))],
    ['readv, empty array', file, (f, d, c) => viaCallback((cb) => f.readv(openFd(d, c), [], cb))],
    ['readv, not an array', file, (f, d, c) => viaCallback((cb) => f.readv(openFd(d, c), Buffer.alloc(3), cb))],
    ['readv, bad fd', () => {}, (f) => viaCallback((cb) => f.readv(closedFd(), bufs(), cb))],
    ['readv of a directory', () => {}, (f, d, c) => viaCallback((cb) => f.readv(openFd(d, c, '.', 'r'), bufs(), cb))],
    ['writev', file, (f, d, c) => viaCallback((cb) => f.writev(openFd(d, c), [Buffer.from('AB'), Buffer.from('CD')], cb))],
    ['writev at 3', file, (f, d, c) => viaCallback((cb) => f.writev(openFd(d, c), [Buffer.from('AB'), Buffer.from('CD')], 3, cb))],
    ['writev, append fd', file, (f, d, c) => viaCallback((cb) => f.writev(openFd(d, c, 'f', 'a'), [Buffer.from('!')], cb))],
    ['writev, read-only fd', file, (f, d, c) => viaCallback((cb) => f.writev(openFd(d, c, 'f', 'r'), [Buffer.from('!')], cb))],
    ['writev, bad fd', () => {}, (f) => viaCallback((cb) => f.writev(closedFd(), [Buffer.from('!')], cb))]
  ]
  const ops = await sideBySide(t, s, cases, CB)
  if (label === 'UringScheduler') t.true(ops >= 6, `the valid calls reached the ring (${ops} ops)`)
})

routed('link and symlink, callback and promise: new names, existing names, missing targets, types', async (t, s, label) => {
  const cases = []
  for (const [fns, call] of [['cb', (f, name, ...a) => viaCallback((cb) => f[name](...a, cb))], ['p', (f, name, ...a) => viaPromise(() => f[name](...a))]]) {
    cases.push(
      [`${fns}: link`, file, (f, d) => call(f, 'link', join(d, 'f'), join(d, 'g'))],
      [`${fns}: link, name taken`, (d) => { file(d); file(d, 'g') }, (f, d) => call(f, 'link', join(d, 'f'), join(d, 'g'))],
      [`${fns}: link, missing source`, () => {}, (f, d) => call(f, 'link', join(d, 'nope'), join(d, 'g'))],
      [`${fns}: link of a directory`, (d) => fs.mkdirSync(join(d, 'sub')), (f, d) => call(f, 'link', join(d, 'sub'), join(d, 'g'))],
      [`${fns}: link, path a number`, () => {}, (f, d) => call(f, 'link', 1, join(d, 'g'))],
      [`${fns}: symlink`, file, (f, d) => call(f, 'symlink', 'f', join(d, 'l'))],
      [`${fns}: symlink to nothing`, () => {}, (f, d) => call(f, 'symlink', 'nowhere', join(d, 'l'))],
      [`${fns}: symlink, name taken`, file, (f, d) => call(f, 'symlink', 'x', join(d, 'f'))],
      [`${fns}: symlink, type file`, file, (f, d) => call(f, 'symlink', 'f', join(d, 'l'), 'file')],
      [`${fns}: symlink, in a missing directory`, () => {}, (f, d) => call(f, 'symlink', 'f', join(d, 'no', 'l'))]
    )
  }
  const ops = await sideBySide(t, s, cases.filter((c) => c[0].startsWith('cb')), CB) +
    await sideBySide(t, s, cases.filter((c) => c[0].startsWith('p')), PR)
  if (label === 'UringScheduler') t.true(ops >= 6, `the valid calls reached the ring (${ops} ops)`)
})

routed('copyFile, callback and promise: modes, EXCL, FICLONE, FICLONE_FORCE, same file, missing paths', async (t, s, label) => {
  const { COPYFILE_EXCL: EXCL, COPYFILE_FICLONE: CLONE, COPYFILE_FICLONE_FORCE: FORCE } = fs.constants
  const cases = []
  for (const [fns, call] of [['cb', (f, ...a) => viaCallback((cb) => f.copyFile(...a, cb))], ['p', (f, ...a) => viaPromise(() => f.copyFile(...a))]]) {
    cases.push(
      [`${fns}: copy`, (d) => file(d, 'f', 'x'.repeat(200_000), 0o640), (f, d) => call(f, join(d, 'f'), join(d, 'g'))],
      [`${fns}: copy, mode 0`, (d) => file(d, 'f', 'abc', 0o600), (f, d) => call(f, join(d, 'f'), join(d, 'g'), 0)],
      [`${fns}: over a longer file`, (d) => { file(d, 'f', 'short', 0o644); file(d, 'g', 'a much longer file', 0o600) }, (f, d) => call(f, join(d, 'f'), join(d, 'g'))],
      [`${fns}: EXCL, new`, file, (f, d) => call(f, join(d, 'f'), join(d, 'g'), EXCL)],
      [`${fns}: EXCL, taken`, (d) => { file(d); file(d, 'g', 'other') }, (f, d) => call(f, join(d, 'f'), join(d, 'g'), EXCL)],
      [`${fns}: FICLONE`, file, (f, d) => call(f, join(d, 'f'), join(d, 'g'), CLONE)],
      [`${fns}: FICLONE | EXCL`, file, (f, d) => call(f, join(d, 'f'), join(d, 'g'), CLONE | EXCL)],
      [`${fns}: FICLONE_FORCE`, file, (f, d) => call(f, join(d, 'f'), join(d, 'g'), FORCE)],
      [`${fns}: mode 8`, file, (f, d) => call(f, join(d, 'f'), join(d, 'g'), 8)],
      [`${fns}: mode a string`, file, (f, d) => call(f, join(d, 'f'), join(d, 'g'), '1')],
      [`${fns}: the same file`, file, (f, d) => call(f, join(d, 'f'), join(d, 'f'))],
      [`${fns}: missing source`, () => {}, (f, d) => call(f, join(d, 'nope'), join(d, 'g'))],
      [`${fns}: missing destination directory`, file, (f, d) => call(f, join(d, 'f'), join(d, 'no', 'g'))],
      [`${fns}: source a directory`, (d) => fs.mkdirSync(join(d, 'sub')), (f, d) => call(f, join(d, 'sub'), join(d, 'g'))],
      [`${fns}: empty source`, (d) => file(d, 'f', ''), (f, d) => call(f, join(d, 'f'), join(d, 'g'))]
    )
  }
  const ops = await sideBySide(t, s, cases.filter((c) => c[0].startsWith('cb')), CB) +
    await sideBySide(t, s, cases.filter((c) => c[0].startsWith('p')), PR)
  // One ring op per valid call: the whole copyFile runs in the core (Machine.copyFile).
  if (label === 'UringScheduler') t.true(ops >= 20, `the valid calls reached the ring (${ops} ops)`)
})

routed('mkdir { recursive: true }, callback and promise: new trees, existing ones, files in the way, relative paths', async (t, s, label) => {
  const cases = []
  for (const [fns, call] of [['cb', (f, ...a) => viaCallback((cb) => f.mkdir(...a, cb))], ['p', (f, ...a) => viaPromise(() => f.mkdir(...a))]]) {
    cases.push(
      [`${fns}: a new tree`, () => {}, (f, d) => call(f, join(d, 'a', 'b', 'c'), { recursive: true })],
      [`${fns}: with a mode`, () => {}, (f, d) => call(f, join(d, 'a', 'b'), { recursive: true, mode: 0o700 })],
      [`${fns}: one level`, () => {}, (f, d) => call(f, join(d, 'a'), { recursive: true })],
      [`${fns}: all there`, (d) => fs.mkdirSync(join(d, 'a', 'b'), { recursive: true }), (f, d) => call(f, join(d, 'a', 'b'), { recursive: true })],
      [`${fns}: half there`, (d) => fs.mkdirSync(join(d, 'a')), (f, d) => call(f, join(d, 'a', 'b', 'c'), { recursive: true })],
      [`${fns}: a file in the way`, file, (f, d) => call(f, join(d, 'f', 'b'), { recursive: true })],
      [`${fns}: a file at the end`, file, (f, d) => call(f, join(d, 'f'), { recursive: true })],
      [`${fns}: trailing slash`, () => {}, (f, d) => call(f, join(d, 'a', 'b') + '/', { recursive: true })],
      [`${fns}: dot dot`, () => {}, (f, d) => call(f, join(d, 'a') + '/../b', { recursive: true })],
      [`${fns}: recursive false`, () => {}, (f, d) => call(f, join(d, 'a'), { recursive: false })],
      [`${fns}: recursive a string`, () => {}, (f, d) => call(f, join(d, 'a'), { recursive: 'yes' })],
      [`${fns}: mode a string`, () => {}, (f, d) => call(f, join(d, 'a', 'b'), { recursive: true, mode: '700' })],
      [`${fns}: the root`, () => {}, (f) => call(f, '/', { recursive: true })]
    )
  }
  const ops = await sideBySide(t, s, cases.filter((c) => c[0].startsWith('cb')), CB) +
    await sideBySide(t, s, cases.filter((c) => c[0].startsWith('p')), PR)
  if (label === 'UringScheduler') t.true(ops >= 10, `the valid calls reached the ring (${ops} ops)`)
  // Relative: from a working directory of our own.
  const cwd = process.cwd()
  const dir = tempDir(t)
  process.chdir(dir)
  try {
    t.deepEqual(await viaPromise(() => fsp.mkdir('r/s', { recursive: true })), await viaPromise(() => ownP.mkdir('q/s', { recursive: true }).then((v) => v.replace('q', 'r'))))
  } finally { process.chdir(cwd) }
})

routed('rm, callback and promise: files, symlinks, missing paths with and without force, directories', async (t, s, label) => {
  const cases = []
  for (const [fns, call] of [['cb', (f, ...a) => viaCallback((cb) => f.rm(...a, cb))], ['p', (f, ...a) => viaPromise(() => f.rm(...a))]]) {
    cases.push(
      [`${fns}: a file`, file, (f, d) => call(f, join(d, 'f'))],
      [`${fns}: a file, force`, file, (f, d) => call(f, join(d, 'f'), { force: true })],
      [`${fns}: a symlink to a directory`, (d) => { fs.mkdirSync(join(d, 'sub')); fs.symlinkSync('sub', join(d, 'l')) }, (f, d) => call(f, join(d, 'l'))],
      [`${fns}: missing`, () => {}, (f, d) => call(f, join(d, 'nope'))],
      [`${fns}: missing, force`, () => {}, (f, d) => call(f, join(d, 'nope'), { force: true })],
      [`${fns}: in a missing directory, force`, () => {}, (f, d) => call(f, join(d, 'no', 'f'), { force: true })],
      [`${fns}: a directory`, (d) => fs.mkdirSync(join(d, 'sub')), (f, d) => call(f, join(d, 'sub'))],
      [`${fns}: a directory, recursive`, (d) => { fs.mkdirSync(join(d, 'sub')); file(join(d, 'sub')) }, (f, d) => call(f, join(d, 'sub'), { recursive: true })],
      [`${fns}: force a string`, file, (f, d) => call(f, join(d, 'f'), { force: 'x' })],
      [`${fns}: maxRetries`, file, (f, d) => call(f, join(d, 'f'), { maxRetries: 1 })]
    )
  }
  const ops = await sideBySide(t, s, cases.filter((c) => c[0].startsWith('cb')), CB) +
    await sideBySide(t, s, cases.filter((c) => c[0].startsWith('p')), PR)
  if (label === 'UringScheduler') t.true(ops >= 8, `the valid calls reached the ring (${ops} ops)`)
})

routed('fs.promises.appendFile: data, encodings, flags, modes, missing directories', async (t, s, label) => {
  const cases = [
    ['append', file, (f, d) => viaPromise(() => f.appendFile(join(d, 'f'), '!'))],
    ['append a Buffer', file, (f, d) => viaPromise(() => f.appendFile(join(d, 'f'), Buffer.from('!!')))],
    ['a new file, mode', () => {}, (f, d) => viaPromise(() => f.appendFile(join(d, 'n'), 'x', { mode: 0o600 }))],
    ['encoding hex', file, (f, d) => viaPromise(() => f.appendFile(join(d, 'f'), '2122', 'hex'))],
    ['flag w', file, (f, d) => viaPromise(() => f.appendFile(join(d, 'f'), 'w', { flag: 'w' }))],
    ['bad flag', file, (f, d) => viaPromise(() => f.appendFile(join(d, 'f'), 'w', { flag: 'q' }))],
    ['bad encoding', file, (f, d) => viaPromise(() => f.appendFile(join(d, 'f'), 'w', 'nope'))],
    ['missing directory', () => {}, (f, d) => viaPromise(() => f.appendFile(join(d, 'no', 'f'), 'x'))],
    ['a directory', () => {}, (f, d) => viaPromise(() => f.appendFile(d, 'x'))],
    ['data a number', file, (f, d) => viaPromise(() => f.appendFile(join(d, 'f'), 42))]
  ]
  const ops = await sideBySide(t, s, cases, PR)
  // One op chain (open, write, close) per call that reaches the kernel.
  if (label === 'UringScheduler') t.true(ops >= 7, `the valid calls reached the ring (${ops} ops)`)
})

routed('FileHandle: read, write, readv, writev, stat, truncate, sync, datasync, readFile, writeFile, appendFile as Node\'s own, valid and invalid forms', async (t, s, label) => {
  const h0 = await fsp.open(new URL(import.meta.url)) // teaches install() FileHandle.prototype
  await h0.close()
  for (const name of FH_METHODS) t.not(fhProto[name], ownFh[name], `FileHandle.prototype.${name} is routed`)
  t.deepEqual(Reflect.ownKeys(fhProto.read), Reflect.ownKeys(ownFh.read))
  t.is(fhProto.read.length, ownFh.read.length)
  const handle = async (d, c, flags = 'r+', name = 'f') => { const h = await fsp.open(join(d, name), flags); c.handles = [...(c.handles ?? []), h]; return h }
  const closing = (fn) => async (f, d, c) => { const r = await fn(f, d, c); for (const h of c.handles ?? []) await h.close(); return r }
  const m = (name) => (f) => f === 'routed' ? fhProto[name] : ownFh[name]
  const call = (name, ...a) => closing(async (f, d, c) => { const h = await handle(d, c); return viaPromise(() => m(name)(f).call(h, ...a)) })
  const cases = [
    ['read()', call('read')],
    ['read(buffer)', call('read', Buffer.alloc(4))],
    ['read(buffer, 1, 2, 3)', call('read', Buffer.alloc(4), 1, 2, 3)],
    ['read(buffer, { position: 2 })', call('read', Buffer.alloc(4), { position: 2 })],
    ['read(buffer, 0, 4, null)', call('read', Buffer.alloc(4), 0, 4, null)],
    ['read(buffer, 0, 4, -1)', call('read', Buffer.alloc(4), 0, 4, -1)],
    ['read(buffer, 0, 4, 2n)', call('read', Buffer.alloc(4), 0, 4, 2n)],
    ['read({ buffer })', call('read', { buffer: Buffer.alloc(3) })],
    ['read(empty buffer)', call('read', Buffer.alloc(0))],
    ['read(buffer, 0, 0)', call('read', Buffer.alloc(4), 0, 0)],
    ['read(buffer, 3, 4)', call('read', Buffer.alloc(4), 3, 4)],
    ['read(buffer, 1.5)', call('read', Buffer.alloc(4), 1.5)],
    ['read(buffer, 0, 2, 1.5)', call('read', Buffer.alloc(4), 0, 2, 1.5)],
    ['read("x")', call('read', 'x')],
    ['read(Uint16Array)', call('read', new Uint16Array(2))],
    ['write(buffer)', call('write', Buffer.from('AB'))],
    ['write(buffer, 0, 1, 5)', call('write', Buffer.from('AB'), 0, 1, 5)],
    ['write(buffer, { position: 3 })', call('write', Buffer.from('AB'), { position: 3 })],
    ['write(string)', call('write', 'str')],
    ['write(string, 4)', call('write', 'str', 4)],
    ['write(string, 4, hex)', call('write', '4142', 4, 'hex')],
    ['write(string, null, bad)', call('write', 'str', null, 'bad')],
    ['write(odd hex)', call('write', 'abc', 0, 'hex')],
    ['write(odd HEX)', call('write', 'abc', 0, 'HEX')],
    ['writeFile(odd hex)', call('writeFile', 'abc', 'hex')],
    ['appendFile(odd hex)', call('appendFile', 'abc', { encoding: 'hex' })],
    ['write(empty string)', call('write', '')],
    ['write(empty buffer)', call('write', Buffer.alloc(0))],
    ['write(number)', call('write', 42)],
    ['write(buffer, 0, 9)', call('write', Buffer.from('AB'), 0, 9)],
    ['readv', call('readv', [Buffer.alloc(2), Buffer.alloc(3)])],
    ['readv at 3', call('readv', [Buffer.alloc(2), Buffer.alloc(3)], 3)],
    ['readv []', call('readv', [])],
    ['readv not an array', call('readv', Buffer.alloc(2))],
    ['writev', call('writev', [Buffer.from('a'), Buffer.from('b')])],
    ['writev at 2', call('writev', [Buffer.from('a'), Buffer.from('b')], 2)],
    ['writev []', call('writev', [])],
    ['stat()', call('stat')],
    ['stat({ bigint: true })', call('stat', { bigint: true })],
    ['stat({ bigint: 1 })', call('stat', { bigint: 1 })],
    ['truncate()', call('truncate')],
    ['truncate(3)', call('truncate', 3)],
    ['truncate(-1)', call('truncate', -1)],
    ['truncate("3")', call('truncate', '3')],
    ['sync()', call('sync')],
    ['datasync()', call('datasync')],
    ['readFile()', call('readFile')],
    ['readFile(utf8)', call('readFile', 'utf8')],
    ['readFile({ encoding: hex })', call('readFile', { encoding: 'hex' })],
    ['readFile(bad encoding)', call('readFile', 'nope')],
    ['readFile({ signal })', call('readFile', { signal: new AbortController().signal })],
    ['readFile after a read', closing(async (f, d, c) => { const h = await handle(d, c); await h.read(Buffer.alloc(5), 0, 5, null); return viaPromise(() => m('readFile')(f).call(h)) })],
    ['readFile of a directory', closing(async (f, d, c) => { const h = await fsp.open(d, 'r'); c.handles = [h]; return viaPromise(() => m('readFile')(f).call(h)) })],
    ['readFile of /proc', closing(async (f, d, c) => { const h = await fsp.open('/proc/self/stat', 'r'); c.handles = [h]; return viaPromise(async () => (await m('readFile')(f).call(h, 'utf8')).split(' ')[1]) })],
    ['writeFile(string)', call('writeFile', 'new')],
    ['writeFile(Buffer)', call('writeFile', Buffer.from('buf'))],
    ['writeFile(string, hex)', call('writeFile', '414243', 'hex')],
    ['writeFile(string, { encoding: latin1 })', call('writeFile', '\u00e9', { encoding: 'latin1' })],
    ['writeFile(empty)', call('writeFile', '')],
    ['writeFile(number)', call('writeFile', 42)],
    ['writeFile(big)', call('writeFile', Buffer.alloc(1.5 * 1024 * 1024, 'z'))],
    ['writeFile to a read-only handle', closing(async (f, d, c) => { const h = await handle(d, c, 'r'); return viaPromise(() => m('writeFile')(f).call(h, 'x')) })],
    ['appendFile(string)', closing(async (f, d, c) => { const h = await handle(d, c, 'a'); return viaPromise(() => m('appendFile')(f).call(h, '+more')) })],
    ['appendFile(bad encoding)', call('appendFile', 'x', 'nope')],
    ['read of a directory', closing(async (f, d, c) => { const h = await fsp.open(d, 'r'); c.handles = [h]; return viaPromise(() => m('read')(f).call(h, Buffer.alloc(2), 0, 2, 0)) })],
    ['write to a read-only handle', closing(async (f, d, c) => { const h = await handle(d, c, 'r'); return viaPromise(() => m('write')(f).call(h, Buffer.from('x'), 0, 1, 0)) })],
    ['truncate of a read-only handle', closing(async (f, d, c) => { const h = await handle(d, c, 'r'); return viaPromise(() => m('truncate')(f).call(h, 1)) })]
  ]
  // Called on what is no FileHandle: Node's own answer.
  for (const name of FH_METHODS) {
    for (const [kind, self] of [['{}', {}], ['{ fd: 0 }', { fd: 0 }], ['a handle\'s prototype child', Object.create(fhProto, { fd: { value: 0 } })]]) {
      cases.push([`${name} on ${kind}`, async (f) => viaPromise(() => m(name)(f).call(self, Buffer.from('x'), 0, 1, 0))])
    }
  }
  // After close: Node's EBADF 'file closed', from every method.
  for (const name of FH_METHODS) {
    cases.push([`${name} after close`, async (f, d) => {
      const h = await fsp.open(join(d, 'f'), 'r+')
      await h.close()
      const a = name === 'read' ? [Buffer.alloc(2)] : name === 'write' || name === 'writeFile' || name === 'appendFile' ? [Buffer.from('x')] : name === 'readv' || name === 'writev' ? [[Buffer.alloc(1)]] : []
      return viaPromise(() => m(name)(f).call(h, ...a))
    }])
  }
  const ops = await sideBySide(t, s, cases.map(([w, call]) => [w, file, call]), { routed: 'routed', own: 'own' })
  if (label === 'UringScheduler') t.true(ops >= 35, `the valid calls reached the ring (${ops} ops)`)
})

routed('FileHandle: close() while ops are in flight waits for them, emits \'close\' at once, and a second close() is a no-op, as Node\'s', async (t, s, label) => {
  const dir = tempDir(t)
  fs.writeFileSync(join(dir, 'f'), 'x'.repeat(1000))
  const run = async (read) => {
    const h = await fsp.open(join(dir, 'f'), 'r')
    const events = []
    h.on('close', () => events.push(`close event, fd ${h.fd === -1 ? -1 : 'open'}`))
    const reads = [read(h), read(h)].map((p) => p.then((r) => events.push(`read ${r.bytesRead}`)))
    const c1 = h.close()
    events.push(`after close(), fd ${h.fd === -1 ? -1 : 'open'}`)
    const c2 = h.close()
    events.push(`same promise: ${c1 === c2}`)
    await Promise.all([...reads, c1.then(() => events.push('closed')), c2])
    const again = await viaPromise(() => h.close())
    events.push(`fd ${h.fd}`)
    return { events, again, afterRead: await viaPromise(() => read(h)) }
  }
  let mine
  const ops = await ringOps(s, async () => { mine = await run((h) => h.read(Buffer.alloc(10), 0, 10, 0)) })
  const theirs = await run((h) => ownFh.read.call(h, Buffer.alloc(10), 0, 10, 0))
  t.deepEqual(mine, theirs)
  if (label === 'UringScheduler') t.true(ops >= 2, 'the reads were the ring\'s')
})

routed('FileHandle: createReadStream, createWriteStream, readLines and Symbol.asyncDispose run over the routed methods', async (t, s, label) => {
  const dir = tempDir(t)
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}`)
  fs.writeFileSync(join(dir, 'f'), lines.join('\n'))
  let got
  const ops = await ringOps(s, async () => {
    const h = await fsp.open(join(dir, 'f'))
    got = []
    for await (const l of h.readLines()) got.push(l)
    t.is(h.fd, -1, 'readLines closed the handle')
    const w = await fsp.open(join(dir, 'g'), 'w')
    const r = await fsp.open(join(dir, 'f'))
    await pipeline(r.createReadStream({ highWaterMark: 1024 }), w.createWriteStream())
    t.is(r.fd, -1)
    t.is(w.fd, -1)
    const d = await fsp.open(join(dir, 'f'))
    await d[Symbol.asyncDispose]()
    t.is(d.fd, -1)
  })
  t.deepEqual(got, lines)
  t.is(fs.readFileSync(join(dir, 'g'), 'utf8'), lines.join('\n'))
  if (label === 'UringScheduler') t.true(ops >= 20, `the streams read and wrote through the ring (${ops} ops)`)
})

routed('fs.createReadStream / createWriteStream reach the ring through the routed fs.open, read, write, writev and close', async (t, s, label) => {
  const dir = tempDir(t)
  const data = Buffer.alloc(300_000, 'abcdefgh')
  fs.writeFileSync(join(dir, 'f'), data)
  const hash = () => createHash('sha256')
  let digest
  const ops = await ringOps(s, async () => {
    const h = hash()
    await pipeline(fs.createReadStream(join(dir, 'f')), h)
    digest = h.digest('hex')
    const w = fs.createWriteStream(join(dir, 'g'))
    for (let i = 0; i < 50; i++) w.write(`chunk ${i}\n`)
    await new Promise((resolve, reject) => w.end('end', resolve).on('error', reject))
  })
  t.is(digest, hash().update(data).digest('hex'))
  t.is(fs.readFileSync(join(dir, 'g'), 'utf8'), Array.from({ length: 50 }, (_, i) => `chunk ${i}\n`).join('') + 'end')
  // 300 kB in 64 KiB reads: open, 5 reads and the one at the end, close; then the writes.
  if (label === 'UringScheduler') t.true(ops >= 10, `the streams' calls reached the ring (${ops} ops)`)
  // The errors are Node's: a missing file.
  const err = async (make) => new Promise((resolve) => make().on('error', (e) => resolve(shape(e))))
  t.deepEqual(await err(() => fs.createReadStream(join(dir, 'nope'))), await err(() => fs.createReadStream(join(dir, 'nope'), { fs: { open: own.open, read: own.read, close: own.close } })))
})

// Item 12: what Node's own test-fs-promises-file-handle-op-errors.js does,
// with FileHandle.prototype reached through a handle instead of internals.
routed('a patched FileHandle.prototype is seen by fs.promises.readFile, writeFile, appendFile and truncate, as without install()', async (t, s, label) => {
  const dir = tempDir(t)
  const f = join(dir, 'f')
  await fsp.writeFile(f, 'content') // routed, before any handle was opened here
  const original = Object.getOwnPropertyDescriptor(fhProto, 'fd')
  const run = async (fns) => {
    const out = []
    for (const op of [() => fns.readFile(f), () => fns.writeFile(f, '123'), () => fns.appendFile(f, '4'), () => fns.truncate(f)]) {
      let closed = 0
      Object.defineProperty(fhProto, 'fd', {
        configurable: true,
        get () {
          const close = this.close
          this.close = (...a) => { closed++; return close.apply(this, a) }
          throw Object.assign(new Error('INTERNAL_ERROR'), { code: 123 })
        }
      })
      try { out.push({ r: await viaPromise(op), closed: closed > 0 }) } finally { Object.defineProperty(fhProto, 'fd', original) }
    }
    return out
  }
  const mine = await run(fsp)
  const theirs = await run(ownP)
  t.deepEqual(mine, theirs)
  t.true(theirs.every((x) => x.r.rejected?.error.code === 123), 'Node\'s own saw the patched getter')
  // Unpatched again: routed again.
  const ops = await ringOps(s, () => fsp.readFile(f))
  // One op chain: readFile goes through Machine.readFile.
  if (label === 'UringScheduler') t.true(ops >= 1, 'readFile is routed again once the prototype is Node\'s')
})

test.serial('uninstall() restores FileHandle.prototype and every function install-more.ts patched', async (t) => {
  const before = { ...Object.fromEntries(FNS.map((n) => [n, fs[n]])), ...Object.fromEntries(PFNS.map((n) => [`p.${n}`, fsp[n]])), ...Object.fromEntries(FH_METHODS.map((n) => [`fh.${n}`, fhProto[n]])) }
  const s = new UringScheduler()
  install()
  await runWithScheduler(s, async () => { const h = await fsp.open(new URL(import.meta.url)); await h.close() })
  t.true(fhProto.read !== before['fh.read'])
  uninstall()
  await s.close()
  const after = { ...Object.fromEntries(FNS.map((n) => [n, fs[n]])), ...Object.fromEntries(PFNS.map((n) => [`p.${n}`, fsp[n]])), ...Object.fromEntries(FH_METHODS.map((n) => [`fh.${n}`, fhProto[n]])) }
  t.deepEqual(Object.keys(after).filter((k) => after[k] !== before[k]), [])
  t.is(fs.fsync, own.fsync)
})

// A FileHandle left unclosed is closed on GC by Node, with Node's warning,
// after routed reads as after Node's own.
test('an unclosed FileHandle used through the ring is closed on GC with Node\'s own warning', (t) => {
  const dir = tempDir(t)
  const probe = join(dir, 'probe.mjs')
  fs.writeFileSync(join(dir, 'f'), 'gc')
  fs.writeFileSync(probe, `
    import fsp from 'node:fs/promises'
    import { install, runWithScheduler, UringScheduler } from ${JSON.stringify(import.meta.resolve('uring-machine'))}
    const s = new UringScheduler()
    if (process.argv[2] === 'routed') install()
    let fd
    await runWithScheduler(s, async () => {
      let h = await fsp.open(${JSON.stringify(join(dir, 'f'))})
      fd = h.fd
      const { bytesRead } = await h.read(Buffer.alloc(2), 0, 2, 0)
      if (bytesRead !== 2) throw new Error('read ' + bytesRead)
      h = null
    })
    const warnings = []
    process.on('warning', (w) => warnings.push([w.name, w.code, w.message.replace(String(fd), 'N')]))
    for (let i = 0; i < 20 && warnings.length === 0; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)) }
    const ops = s.machine.metrics().opsCompleted
    await s.close()
    process.stdout.write(JSON.stringify({ warnings, ops: ops > 0 }))
  `)
  const run = (...args) => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--no-deprecation', probe, ...args], { encoding: 'utf8' })
    t.is(r.status, 0, r.stderr)
    return JSON.parse(r.stdout)
  }
  const mine = run('routed')
  const theirs = run('own')
  t.deepEqual(mine.warnings, theirs.warnings)
  t.true(mine.ops, 'the routed read was the ring\'s')
  t.true(theirs.warnings.length > 0, 'Node closed the handle on GC, with its warning')
})

// Machine.copyFile against fs.promises.copyFile on the same inputs: the
// results, the copies, their modes and the errors must be the same; an
// abort, a timeout or a destroy midway leaks no fd and leaves no half copy.
import test from 'ava'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { join } from 'node:path'
import { AbortError, Machine } from 'uring-machine'
import { machine, tempDir, openFds, sleep } from './helpers.mjs'

const { COPYFILE_EXCL, COPYFILE_FICLONE, COPYFILE_FICLONE_FORCE } = fs.constants

/** What a copyFile did: its error's fields (or 'ok'), and the destination's bytes and mode. */
async function outcome (p, dest) {
  let res = 'ok'
  try { await p } catch (e) { res = { name: e.constructor.name, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, dest: e.dest } }
  let file = null
  try { const st = fs.statSync(dest); file = { mode: st.mode, data: st.isFile() ? fs.readFileSync(dest).toString('hex') : 'dir' } } catch {}
  return { res, file }
}

/** Runs `setup(dir)` twice, then copyFile(src, dest, mode) once with Node's, once with the Machine's. */
async function both (t, m, name, setup, src, dest, mode) {
  const a = join(tempDir(t), 'node')
  const b = join(tempDir(t), 'ring')
  fs.mkdirSync(a)
  fs.mkdirSync(b)
  setup(a)
  setup(b)
  const at = (d, p) => p.startsWith('/') ? p : join(d, p)
  const node = await outcome(fs.promises.copyFile(at(a, src), at(a, dest), mode), at(a, dest))
  const ring = await outcome(m.copyFile(at(b, src), at(b, dest), mode), at(b, dest))
  const strip = (o) => JSON.parse(JSON.stringify(o).replaceAll(a, 'D').replaceAll(b, 'D'))
  t.deepEqual(strip(ring), strip(node), name)
}

test.serial('copyFile gives what fs.promises.copyFile gives', async (t) => {
  const m = machine(t)
  const big = randomBytes((1 << 20) * 3 + 5)
  const mk = (files) => (d) => { for (const [n, v, mode] of files) { if (v === 'dir') fs.mkdirSync(join(d, n)); else fs.writeFileSync(join(d, n), v, { mode: mode ?? 0o644 }) } }
  const before = openFds()
  await both(t, m, 'a small file', mk([['s', 'hello']]), 's', 'd', 0)
  await both(t, m, 'an empty file', mk([['s', '']]), 's', 'd', 0)
  await both(t, m, 'larger than one chunk', mk([['s', big]]), 's', 'd', 0)
  await both(t, m, 'the mode of the source', mk([['s', 'x', 0o751]]), 's', 'd', 0)
  await both(t, m, 'over a longer file', mk([['s', 'ab'], ['d', 'a much longer file']]), 's', 'd', 0)
  await both(t, m, 'EXCL over a file', mk([['s', 'ab'], ['d', 'kept']]), 's', 'd', COPYFILE_EXCL)
  await both(t, m, 'EXCL to a new file', mk([['s', 'ab']]), 's', 'd', COPYFILE_EXCL)
  await both(t, m, 'FICLONE', mk([['s', big]]), 's', 'd', COPYFILE_FICLONE)
  await both(t, m, 'FICLONE_FORCE (this filesystem cannot clone: the ioctl fails)', mk([['s', 'ab']]), 's', 'd', COPYFILE_FICLONE_FORCE)
  await both(t, m, 'a missing source', mk([]), 'nope', 'd', 0)
  await both(t, m, 'a missing directory of the destination', mk([['s', 'ab']]), 's', 'no/d', 0)
  await both(t, m, 'the same file', mk([['s', 'same']]), 's', 's', 0)
  await both(t, m, 'a directory source (the destination removed)', mk([['s', 'dir'], ['d', 'old']]), 's', 'd', 0)
  await both(t, m, 'a directory destination', mk([['s', 'ab'], ['d', 'dir']]), 's', 'd', 0)
  await both(t, m, 'a destination nobody may write (/proc)', mk([['s', 'ab']]), 's', '/proc/version', 0)
  await both(t, m, 'a source nobody may read (/proc)', mk([]), '/proc/self/mem', 'd', 0)
  t.is(openFds(), before, 'no fd left behind')
  t.is(m.metrics().pending, 0)
})

test.serial('copyFile checks its arguments as Node does', async (t) => {
  const m = machine(t)
  t.throws(() => m.copyFile(1, 'd'), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => m.copyFile('s', 'd', 8), { code: 'ERR_OUT_OF_RANGE' })
})

test.serial('copyFile aborted, timed out or destroyed midway leaks no fd and leaves no half copy', async (t) => {
  const dir = tempDir(t)
  const src = join(dir, 'big')
  fs.writeFileSync(src, randomBytes(32 << 20))
  const m = machine(t)
  await m.copyFile(src, join(dir, 'warm'))
  const before = openFds()
  let aborted = 0
  for (let i = 0; i < 12; i++) {
    const ac = new AbortController()
    const p = m.copyFile(src, join(dir, `a${i}`), 0, { signal: ac.signal })
    await sleep(i % 4)
    ac.abort()
    try { await p } catch (e) { t.true(e instanceof AbortError); aborted++ }
  }
  t.true(aborted > 0)
  const timed = await m.copyFile(src, join(dir, 't'), 0, { timeout: 1 }).then(() => null, (e) => e)
  if (timed !== null) t.like(timed, { code: 'ETIMEDOUT', syscall: 'copyfile' })
  await sleep(10)
  t.is(openFds(), before, 'no fd, no pipe left behind')
  t.is(m.metrics().pending, 0)
  // Every copy that did not finish was removed; those that finished are whole.
  for (const f of fs.readdirSync(dir).filter((f) => f !== 'big')) t.is(fs.statSync(join(dir, f)).size, 32 << 20, f)
  const m2 = new Machine()
  const held = openFds()
  const p = m2.copyFile(src, join(dir, 'destroyed'))
  await sleep(2)
  m2.destroy?.() ?? m2.close?.()
  const r = await p.then(() => 'ok', (e) => e.code)
  t.true(r === 'ok' || r === 'ERR_MACHINE_DESTROYED', String(r))
  await sleep(50)
  t.true(openFds() <= held, 'the destroyed Machine left no fd')
})

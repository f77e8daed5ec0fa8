// A Machine never acts with credentials its process no longer has. An SQPOLL
// ring's kernel thread keeps its creator's credentials, so an SQPOLL Machine
// refuses every op once the process's credentials change; a default Machine
// acts with whatever its thread has when it submits. Each case runs in a
// child process, as root, that drops to nobody.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers.mjs'

const root = process.getuid?.() === 0
const asRoot = root ? test : test.skip
const skipNote = root ? '' : ' (skipped: needs root to change credentials)'
const entry = fileURLToPath(new URL('../packages/uring-machine/dist/index.js', import.meta.url))

/** A 0700 root directory holding a 0600 secret. */
function secretPlace (t) {
  const dir = tempDir(t)
  chmodSync(dir, 0o755)
  const vault = join(dir, 'vault')
  mkdirSync(vault, { mode: 0o700 })
  const secret = join(vault, 'secret')
  writeFileSync(secret, 'root only', { mode: 0o600 })
  const open = join(dir, 'open')
  writeFileSync(open, 'anyone', { mode: 0o644 })
  return { vault, secret, open }
}

/** Runs `body` (an async function's source) in a child; returns what it printed as JSON. */
function child (body, env) {
  const script = `
    const { Machine } = require(${JSON.stringify(entry)})
    const outcome = (p) => p.then((v) => ({ ok: typeof v === 'number' ? 'number' : String(v) }), (e) => ({ code: e.code, message: e.message, syscall: e.syscall }))
    ;(async () => { ${body} })().then((r) => { console.log(JSON.stringify(r)); process.exit(0) }, (e) => { console.error(e); process.exit(1) })
  `
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 })
  if (r.status !== 0) throw new Error(`child failed (${r.status} ${r.signal}): ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

asRoot('an SQPOLL Machine refuses ops after setuid; a default Machine gets EACCES' + skipNote, (t) => {
  const { vault, secret } = secretPlace(t)
  const r = child(`
    const sq = new Machine({ sqpoll: 50 })
    const plain = new Machine()
    const before = await outcome(sq.open(process.env.SECRET))
    process.setgroups([]); process.setgid(65534); process.setuid(65534)
    const res = {
      before,
      sqOpen: await outcome(sq.open(process.env.SECRET)),
      sqMkdir: await outcome(sq.mkdir(process.env.VAULT + '/made')),
      plainOpen: await outcome(plain.open(process.env.SECRET)),
      plainMkdir: await outcome(plain.mkdir(process.env.VAULT + '/made')),
      // The kernel's submission thread shows as a task of this process.
      sqpoll: require('node:fs').readdirSync('/proc/self/task').some((id) => {
        try { return require('node:fs').readFileSync('/proc/self/task/' + id + '/comm', 'utf8').startsWith('iou-sqp') } catch { return false }
      })
    }
    await sq.destroy(); await plain.destroy()
    return res
  `, { SECRET: secret, VAULT: vault })
  t.true(r.sqpoll, 'the Machine really is SQPOLL')
  t.is(r.before.ok, 'number', 'as root the SQPOLL Machine opens the secret')
  for (const k of ['sqOpen', 'sqMkdir']) {
    t.is(r[k].code, 'EPERM', k)
    t.regex(r[k].message, /credentials changed since this SQPOLL Machine was made/, k)
  }
  t.is(r.sqOpen.syscall, 'open')
  t.is(r.plainOpen.code, 'EACCES')
  t.is(r.plainMkdir.code, 'EACCES')
})

asRoot('an op queued before setuid in the same turn is refused, not run as root' + skipNote, (t) => {
  const { vault } = secretPlace(t)
  const r = child(`
    const sq = new Machine({ sqpoll: 50 })
    await sq.nop()
    const queued = outcome(sq.mkdir(process.env.VAULT + '/queued'))
    process.setuid(65534)
    return { queued: await queued, made: require('node:fs').existsSync(process.env.VAULT + '/queued') }
  `, { VAULT: vault })
  t.is(r.queued.code, 'EPERM')
  t.false(r.made, 'the directory was not made with root credentials')
})

asRoot('a change of supplementary groups alone is a change' + skipNote, (t) => {
  const r = child(`
    const sq = new Machine({ sqpoll: 50 })
    const before = await outcome(sq.nop())
    process.setgroups([12345])
    return { before, after: await outcome(sq.nop()) }
  `)
  t.is(r.before.ok, 'undefined')
  t.is(r.after.code, 'EPERM')
})

asRoot('an SQPOLL Machine made after setuid acts as the new user' + skipNote, (t) => {
  const { secret, open } = secretPlace(t)
  const r = child(`
    process.setuid(65534)
    const sq = new Machine({ sqpoll: 50 })
    const res = { open: await outcome(sq.open(process.env.OPEN)), secret: await outcome(sq.open(process.env.SECRET)) }
    await sq.destroy()
    return res
  `, { SECRET: secret, OPEN: open })
  t.is(r.open.ok, 'number')
  t.is(r.secret.code, 'EACCES')
})

asRoot('an op the kernel took before setuid runs on' + skipNote, (t) => {
  const r = child(`
    const { pipe } = require(${JSON.stringify(entry)})
    const sq = new Machine({ sqpoll: 50 })
    const [rd, wr] = pipe()
    const buf = Buffer.alloc(5)
    const reading = outcome(sq.read(rd, buf))
    await sq.nop() // a turn later the read is in the kernel
    process.setuid(65534)
    require('node:fs').writeSync(wr, 'hello')
    const res = { read: await reading, data: buf.toString(), after: await outcome(sq.nop()) }
    await sq.destroy()
    return res
  `)
  t.is(r.read.ok, 'number')
  t.is(r.data, 'hello')
  t.is(r.after.code, 'EPERM')
})

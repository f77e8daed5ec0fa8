// cancel.test.mjs's "connect: a timeout cancels it with ETIMEDOUT" (hung
// once on Node 24: the connect blocked in an io-wq worker in
// unix_wait_for_peer, its 30 ms linked timeout never took effect), repeated:
//   node scripts/hunt/connect-timeout.mjs [N]
// A round settled late (> 500 ms) was ended by the Machine's backstop
// timer. One that does not settle in 2 s is reported, then a NOP (an enter
// that runs deferred task work: a wake missed on this side would show here)
// and a cancelFd (the kernel finds and cancels the op) are tried.
import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Machine, constants as C } from 'uring-machine'

const n = Number(process.argv[2] ?? 500)
const dir = mkdtempSync(join(tmpdir(), 'um-ct-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
let stuck = 0
let late = 0
for (let i = 0; i < n; i++) {
  const m = new Machine()
  const upath = join(dir, `s${i}`)
  const ul = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
  await m.bind(ul, { path: upath })
  await m.listen(ul, 0)
  const queued = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
  await m.connect(queued, { path: upath })
  const s = await m.socket(C.AF_UNIX, C.SOCK_STREAM)
  const t0 = Date.now()
  const p = m.connect(s, { path: upath }, { timeout: 30 }).then(() => 'connected', (e) => e.code)
  p.then(() => { if (Date.now() - t0 > 500) { late++; console.log(`round ${i}: settled after ${Date.now() - t0} ms (the backstop, not the kernel's timeout)`) } })
  let r = await Promise.race([p, new Promise((resolve) => setTimeout(() => resolve('STUCK'), 2000))])
  if (r === 'STUCK') {
    stuck++
    console.log(`round ${i}: no result after 2 s; metrics ${JSON.stringify(m.metrics())}`)
    for (const tid of readdirSync('/proc/self/task')) {
      const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()
      if (!comm.startsWith('iou-')) continue
      let stack = ''
      try { stack = readFileSync(`/proc/self/task/${tid}/stack`, 'utf8').split('\n').slice(0, 3).join(' | ') } catch {}
      console.log(`  ${tid} ${comm} ${readFileSync(`/proc/self/task/${tid}/wchan`, 'utf8')} ${stack}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
    console.log(`round ${i}: a second later: enters ${m.metrics().enters}`)
    await m.nop()
    r = await Promise.race([p, new Promise((resolve) => setTimeout(() => resolve('STILL STUCK'), 2000))])
    console.log(`round ${i}: after a NOP: ${r}`)
    if (r === 'STILL STUCK') {
      // An explicit ASYNC_CANCEL by fd: does the kernel find the op at all?
      const found = await m.cancelFd(s).catch((e) => e.code)
      r = await Promise.race([p, new Promise((resolve) => setTimeout(() => resolve('STILL STUCK'), 2000))])
      console.log(`round ${i}: after cancelFd (found ${found}): ${r}`)
    }
  } else if (r !== 'ETIMEDOUT') {
    console.log(`round ${i}: ${r}`)
  }
  await m.destroy()
  for (const fd of [ul, queued, s]) { try { (await import('node:fs')).closeSync(fd) } catch {} }
  if ((i + 1) % 100 === 0) console.log(`connect-timeout: ${i + 1} of ${n}, ${stuck} stuck, ${late} late`)
}

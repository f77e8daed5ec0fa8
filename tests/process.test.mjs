// Child processes through the ring: spawn, wait, kill, pipes, no zombies,
// and node:child_process's children left for libuv to reap.
import test from 'ava'
import { spawn as cpSpawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { Machine, constants as C, AbortError } from 'uring-machine'
import { machine, closeAll, sleep, when } from './helpers.mjs'

const hasWaitid = Machine.probe().ops.waitid === true
const waitidTest = when(hasWaitid, 'no IORING_OP_WAITID (kernel 6.7+)')

/** Whether `pid` is a zombie (or gone): a child left unreaped shows state Z. */
function state (pid) {
  try { return /State:\s+(\w)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1] } catch { return 'gone' }
}

async function readAll (m, fd) {
  const parts = []
  const buf = Buffer.alloc(4096)
  for (;;) {
    const n = await m.read(fd, buf)
    if (n === 0) return Buffer.concat(parts).toString()
    parts.push(Buffer.from(buf.subarray(0, n)))
  }
}

waitidTest('spawn + wait: exit codes, stdout through a pipe, cwd and env, no zombie', async (t) => {
  const m = machine(t)
  const p = m.spawn('sh', ['-c', 'pwd; echo "$GREETING"; exit 7'], { cwd: '/tmp', env: { GREETING: 'hi' }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.true(p.pid > 0 && p.pidfd > 2)
  t.is(p.stdin, null)
  t.is(await readAll(m, p.stdout), '/tmp\nhi\n')
  closeAll(p.stdout)
  t.deepEqual(await p.wait(), { pid: p.pid, code: C.CLD_EXITED, exitCode: 7, signal: null })
  t.is(p.wait(), p.wait(), 'one wait, shared')
  t.is(state(p.pid), 'gone', 'reaped: no zombie')
  t.throws(() => p.kill(), { code: 'ERR_INVALID_STATE' })
})

waitidTest('kill signals through the pidfd; stdin through a pipe', async (t) => {
  const m = machine(t)
  const s = m.spawn('sleep', ['30'], { stdio: 'ignore' })
  s.kill('SIGKILL')
  t.like(await s.wait(), { exitCode: null, signal: 'SIGKILL', code: C.CLD_KILLED })
  const cat = m.spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] })
  await m.write(cat.stdin, Buffer.from('echo back'))
  closeAll(cat.stdin)
  t.is(await readAll(m, cat.stdout), 'echo back')
  closeAll(cat.stdout)
  t.like(await cat.wait(), { exitCode: 0 })
})

waitidTest.serial('200 spawns, 16 at a time, all reaped', async (t) => {
  const m = machine(t)
  const pids = []
  let next = 0
  const worker = async () => {
    while (next < 200) {
      next++
      const p = m.spawn('true', [], { stdio: 'ignore' })
      pids.push(p.pid)
      t.is((await p.wait()).exitCode, 0)
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  t.is(pids.length, 200)
  t.true(pids.every((pid) => state(pid) !== 'Z'), 'no zombies')
})

waitidTest('children of node:child_process are observed, not reaped: libuv still sees them exit', async (t) => {
  const m = machine(t)
  // The child exits only when its stdin ends, after the waitid is in the
  // kernel: a child that exits first may be reaped by libuv before the
  // waitid starts, which then rightly fails with ECHILD (seen under load).
  const cp = cpSpawn('sh', ['-c', 'read x; exit 4'], { stdio: ['pipe', 'ignore', 'ignore'] })
  const exited = new Promise((resolve) => cp.on('exit', (code) => resolve(code)))
  const waited = m.waitid(C.P_PID, cp.pid)
  await sleep(20)
  cp.stdin.end()
  // The observing waitid and libuv's reap race once the child exits (the
  // kernel retries the waitid as task work, libuv reaps from its SIGCHLD
  // watcher): libuv winning is ECHILD, as documented.
  const seen = await waited.catch((e) => e)
  if (seen instanceof Error) t.is(seen.code, 'ECHILD', 'libuv reaped first')
  else t.like(seen, { pid: cp.pid, exitCode: 4 })
  t.is(await exited, 4, "child_process still got the child's exit")
  t.is(await m.waitid(C.P_PID, 1, C.WEXITED | C.WNOHANG).catch((e) => e.code), 'ECHILD', 'not our child')
})

waitidTest('waiting takes a timeout and an AbortSignal; pidfd helpers', async (t) => {
  const m = machine(t)
  const s = m.spawn('sleep', ['30'], { stdio: 'ignore' })
  await t.throwsAsync(m.waitid(C.P_PIDFD, s.pidfd, C.WEXITED, { timeout: 20 }), { code: 'ETIMEDOUT' })
  await t.throwsAsync(s.wait({ signal: AbortSignal.timeout(20) }), { instanceOf: AbortError })
  t.is(await m.waitid(C.P_PIDFD, s.pidfd, C.WEXITED | C.WNOHANG), null, 'still running')
  const fd = m.pidfdOpen(s.pid)
  m.pidfdSendSignal(fd, 'SIGTERM')
  closeAll(fd)
  t.like(await s.wait(), { signal: 'SIGTERM' })
  t.throws(() => m.pidfdOpen(2 ** 22 + 12345), { code: 'ESRCH' })
  t.throws(() => m.pidfdSendSignal(0, 'SIGNOPE'), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.spawn('/no/such/binary'), { code: 'ENOENT' })
  await sleep(1)
  t.is(m.metrics().pending, 0)
  void existsSync
})

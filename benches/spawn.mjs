// Processes: spawn + wait of /bin/true, 200 per run, 16 at once (16
// lanes, each spawning and waiting until 200 have been started in all).
// The Machine's `m.spawn(file, [], { stdio: 'ignore' })` + `await
// child.wait()` (posix_spawn, a pidfd, waitid through the ring) against
// node:child_process's `spawn(file, [], { stdio: 'ignore' })` awaiting its
// 'exit' event (libuv: a plain fork, clone without CLONE_VM, then exec;
// reaped by its SIGCHLD handler). posix_spawn shares the parent's memory
// until the exec (clone3 CLONE_VM | CLONE_VFORK, seen with strace); a fork
// copies the page tables, so its cost grows with this process's memory:
// the rows' notes give the RSS.
//
// After every run (warm-ups included) this process's children are read
// from /proc: a zombie (state Z) fails the benchmark, as does a run that
// leaves file descriptors behind (a pidfd not closed, say).
import { spawn as cpSpawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { Machine } from 'uring-machine'
import { alternate, median, now } from './lib.mjs'

export const TOTAL = 200
export const CONCURRENCY = 16
const FILE = '/bin/true'

/** The state letter of process `pid` (R, S, Z...), or undefined once it is gone. */
function stateOf (pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0]
  } catch {
    return undefined
  }
}

/**
 * This process's children (of any of its threads) with their states, from
 * /proc/<pid>/task/<tid>/children, or, where the kernel has no such file,
 * by scanning /proc for processes whose parent is this one.
 */
export function children () {
  const pids = new Set()
  let scan = false
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    let list
    try {
      list = readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8')
    } catch (err) {
      if (err.code === 'ENOENT' && pids.size === 0) { scan = true; break } // no CONFIG_PROC_CHILDREN
      continue // the thread ended meanwhile
    }
    for (const p of list.trim().split(/\s+/)) if (p !== '') pids.add(Number(p))
  }
  if (scan) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue
      try {
        const s = readFileSync(`/proc/${name}/stat`, 'utf8')
        if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) pids.add(Number(name))
      } catch {}
    }
  }
  return [...pids].map((pid) => ({ pid, state: stateOf(pid) })).filter((c) => c.state !== undefined)
}

function openFds () {
  return readdirSync('/proc/self/fd').length
}

/** Fails loudly if a zombie is left, or if the run left fds open. */
function checkAfterRun (name, fdsBefore) {
  const kids = children()
  const zombies = kids.filter((c) => c.state === 'Z')
  if (zombies.length > 0) {
    throw new Error(`${name}: ${zombies.length} zombie child(ren) left after the run (pids ${zombies.map((c) => c.pid).join(', ')}): a child was not reaped`)
  }
  const fds = openFds() - fdsBefore
  if (fds >= CONCURRENCY) throw new Error(`${name}: ${fds} more fds open after the run than before it (leaked pidfds or pipes?)`)
  return { others: kids.length, fds }
}

/** 16 lanes spawning and awaiting `once(lane)` until `TOTAL` have been started. */
async function lanes (name, once) {
  const fds0 = openFds()
  let started = 0
  let failed = 0
  const calls = [] // ms in the synchronous spawn call
  const lifetimes = [] // ms from the spawn call to the exit seen
  async function lane () {
    while (started < TOTAL) {
      started++
      const t = now()
      const { exited, called } = once()
      calls.push(called - t)
      const code = await exited
      lifetimes.push(now() - t)
      if (code !== 0) failed++
    }
  }
  const t0 = now()
  await Promise.all(Array.from({ length: CONCURRENCY }, lane))
  const seconds = (now() - t0) / 1000
  if (failed !== 0) throw new Error(`${name}: ${failed} of ${started} children did not exit with 0`)
  const after = checkAfterRun(name, fds0)
  const info = `last round: spawn call (synchronous, blocks the loop) median ${(1000 * median(calls)).toFixed(0)} us, ` +
    `spawn to exit seen median ${(1000 * median(lifetimes)).toFixed(0)} us; no zombie left (checked after every run)` +
    (after.others > 0 ? `; ${after.others} other live children` : '') +
    `; this process's RSS ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MiB`
  return { ops: started, seconds, info }
}

export async function spawnBench ({ rounds, log }) {
  let m
  const contenders = [
    {
      name: 'Machine `m.spawn`',
      note: '`m.spawn(file, [], { stdio: \'ignore\' })`, `await child.wait()`: posix_spawn, pidfd, waitid through the ring',
      setup: async () => { m = new Machine() },
      run: () => lanes('m.spawn', () => {
        const c = m.spawn(FILE, [], { stdio: 'ignore' })
        const called = now()
        return { called, exited: c.wait().then((s) => s.exitCode) }
      }),
      teardown: async () => { await m?.destroy() }
    },
    {
      name: 'child_process.spawn',
      note: '`spawn(file, [], { stdio: \'ignore\' })`, awaiting \'exit\'',
      run: () => lanes('child_process.spawn', () => {
        const c = cpSpawn(FILE, [], { stdio: 'ignore' })
        const called = now()
        const exited = new Promise((resolve, reject) => {
          c.once('exit', (code, signal) => resolve(signal === null ? code : signal))
          c.once('error', reject)
        })
        return { called, exited }
      })
    }
  ]
  log(`spawn, ${TOTAL} x ${FILE}, ${CONCURRENCY} at once`)
  return [await alternate({
    title: `Processes: spawn + wait of ${FILE}, ${TOTAL} per run, ${CONCURRENCY} at once`,
    unit: 'spawns',
    baseline: 'child_process.spawn',
    note: `Each run: ${CONCURRENCY} lanes, each spawning \`${FILE}\` (stdio ignored) and waiting for its exit, until ${TOTAL} have been started; ` +
      'every child must exit with 0. After every run this process\'s children are read from /proc: a zombie fails the benchmark.',
    contenders,
    rounds,
    runTimeoutMs: 30_000,
    log
  })]
}

// Every Scheduler passes the same conformance suite (conformance.mjs):
// UringScheduler, NodeScheduler, NodeScheduler in a process where io_uring
// is denied, and a recording scheduler that checks which hooks run.
import test from 'ava'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { UringScheduler, NodeScheduler, defaultScheduler, schedule, setScheduler, currentScheduler, runWithScheduler, TaskMutex } from 'uring-machine'
import { behaviours, run } from './conformance.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

for (const [label, make] of [['UringScheduler', () => new UringScheduler()], ['NodeScheduler', () => new NodeScheduler()]]) {
  for (const name of Object.keys(behaviours)) {
    test(`${label}: ${name}`, async (t) => {
      await run(make, name)
      t.pass()
    })
  }
}

// The recording scheduler runs the whole suite too, and every behaviour
// must reach the scheduler through its hooks.
for (const name of Object.keys(behaviours)) {
  test(`RecordingScheduler: ${name}`, async (t) => {
    const { scheduler, calls } = recording()
    await run(() => scheduler, name)
    t.true(calls.some((c) => c !== 'close'), `hooks called: ${calls.join(', ')}`)
  })
}

test.serial('NodeScheduler passes the suite where io_uring is denied (seccomp), and is the default there', async (t) => {
  const helper = join(root, 'target', 'release', 'deny-io-uring')
  t.true(existsSync(helper), 'built by npm run build:native')
  const { stdout } = await promisify(execFile)(helper, ['--errno', 'EPERM', '--', process.execPath, join(root, 'tests', 'conformance.mjs'), 'node'], { cwd: root, timeout: 120_000 })
  const results = JSON.parse(stdout.trim().split('\n').pop())
  for (const [name, r] of Object.entries(results)) t.is(r, 'ok', name)
  t.is(Object.keys(results).length, Object.keys(behaviours).length)
  const chosen = await promisify(execFile)(helper, ['--errno', 'EPERM', '--', process.execPath, '-e',
    "const { defaultScheduler } = require('uring-machine'); const d = defaultScheduler(); console.log(JSON.stringify([d.scheduler.name, d.reason]))"], { cwd: root })
  const [name, reason] = JSON.parse(chosen.stdout)
  t.is(name, 'node')
  t.regex(reason, /io_uring is unavailable/)
})

test('the default scheduler here is io_uring, and says so', (t) => {
  const d = defaultScheduler()
  t.is(d.scheduler.name, 'uring')
  t.is(d.reason, 'io_uring is available')
  return d.scheduler.close()
})

/** A UringScheduler that records every hook called on it. */
function recording () {
  const calls = []
  class Recording extends UringScheduler {}
  for (let proto = UringScheduler.prototype; proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || Object.hasOwn(Recording.prototype, name) || typeof proto[name] !== 'function') continue
      const original = proto[name]
      Recording.prototype[name] = function (...args) {
        calls.push(name)
        return original.apply(this, args)
      }
    }
  }
  return { scheduler: new Recording(), calls }
}

test('the recording scheduler sees the hooks each operation uses', async (t) => {
  const { scheduler: s, calls } = recording()
  await runWithScheduler(s, async () => {
    const mu = new TaskMutex()
    await mu.lock()
    const waiter = schedule(() => mu.lock())
    await new Promise((resolve) => setTimeout(resolve, 10))
    mu.unlock()
    await waiter.join()
    t.true(calls.includes('fiber'))
    t.true(calls.includes('block') && calls.includes('unblock'), calls.join(','))
    calls.length = 0
    await s.kernelSleep(1)
    await s.timeoutAfter(100, () => s.kernelSleep(1))
    t.deepEqual(calls, ['kernelSleep', 'timeoutAfter', 'kernelSleep'])
  })
  await s.close()
})

test.serial('setScheduler, currentScheduler, runWithScheduler; schedule needs a scheduler', async (t) => {
  t.is(currentScheduler(), null)
  t.throws(() => schedule(() => 1), { code: 'ERR_NO_SCHEDULER' })
  const a = new UringScheduler()
  const b = new NodeScheduler()
  setScheduler(a)
  try {
    t.is(currentScheduler(), a)
    await runWithScheduler(b, async () => {
      t.is(currentScheduler(), b)
      await new Promise((resolve) => setTimeout(resolve, 1))
      t.is(currentScheduler(), b, 'across awaits')
      t.is(await schedule(() => currentScheduler()).join(), b)
    })
    t.is(currentScheduler(), a)
  } finally {
    setScheduler(null)
    await a.close()
    await b.close()
  }
  await t.throwsAsync(async () => a.fiber(() => 1), { code: 'ERR_SCHEDULER_CLOSED' })
})

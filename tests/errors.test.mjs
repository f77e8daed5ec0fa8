// Every error the package makes comes from one module (errors.ts); this
// pins, through the public API, the class, `code` and wording of the ones
// that used to be made elsewhere (tasks, sync, schedulers, process, the
// mutex protocol, streams), so moving them cannot change what callers see.
import test from 'ava'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  Machine, Mutex, NodeScheduler, schedule, runWithScheduler, setScheduler,
  TaskMutex, Semaphore, TaskQueue, Barrier, AbortError
} from 'uring-machine'

const uring = Machine.isSupported()
const needsUring = uring ? test : test.skip
const why = uring ? '' : ` (skipped: ${Machine.unavailableReason()})`

function pinned (t, fn, { instanceOf = Error, code, message }) {
  const err = t.throws(fn, { instanceOf, message })
  t.is(err.code, code)
  return err
}

test('ERR_NO_SCHEDULER: schedule() outside any scheduler', (t) => {
  setScheduler(null)
  pinned(t, () => schedule(() => {}), { code: 'ERR_NO_SCHEDULER', message: 'No scheduler: call setScheduler() or runWithScheduler() first' })
})

test('ERR_OUT_OF_RANGE: Semaphore, TaskQueue and Barrier sizes, worded as Node words it', (t) => {
  pinned(t, () => new Semaphore(-1), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE', message: 'The value of "permits" is out of range. It must be an integer >= 0. Received -1' })
  pinned(t, () => new TaskQueue(0), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE', message: 'The value of "capacity" is out of range. It must be an integer >= 1 or Infinity. Received 0' })
  pinned(t, () => new Barrier(1.5), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE', message: 'The value of "parties" is out of range. It must be an integer >= 1. Received 1.5' })
})

test('ERR_INVALID_STATE: a TaskMutex unlocked while free', (t) => {
  pinned(t, () => new TaskMutex().unlock(), { code: 'ERR_INVALID_STATE', message: 'The mutex is not locked' })
})

test('scheduler errors: cancelled task, closed scheduler, unsupported hook, non-function work, double block, timeoutAfter', async (t) => {
  const s = new NodeScheduler()
  // ERR_TASK_CANCELLED is the reason a task's signal aborts with by default.
  const task = runWithScheduler(s, () => schedule((tk) => sleep(10_000, undefined, { signal: tk.signal })))
  task.cancel()
  t.is(task.signal.reason.code, 'ERR_TASK_CANCELLED')
  t.is(task.signal.reason.message, 'The task was cancelled')
  await t.throwsAsync(task.join())

  const unsupported = await t.throwsAsync(s.socketAccept(0), { message: /^node scheduler cannot serve socketAccept: / })
  t.is(unsupported.code, 'ERR_SCHEDULER_UNSUPPORTED')

  const notFn = await t.throwsAsync(s.blockingOperationWait(42), { instanceOf: TypeError, message: 'The "work" argument must be of type function' })
  t.is(notFn.code, 'ERR_INVALID_ARG_TYPE')

  const blocker = {}
  const first = s.block(blocker, 1000)
  const twice = await t.throwsAsync(s.block(blocker), { message: 'something already blocks on this blocker' })
  t.is(twice.code, 'ERR_INVALID_STATE')
  t.true(s.unblock(blocker))
  t.true(await first)

  let reason
  const timedOut = await t.throwsAsync(runWithScheduler(s, () => s.timeoutAfter(20, () => s.block({}).catch((err) => {
    reason = err.cause
    throw err
  }))), { message: 'ETIMEDOUT: operation timed out after 20 ms, timeoutAfter' })
  t.is(timedOut.code, 'ETIMEDOUT')
  t.is(timedOut.syscall, 'timeoutAfter')
  // What the waiting hook saw: an AbortError whose cause is the timer's reason.
  t.is(reason.code, 'ETIMEDOUT')
  t.is(reason.message, 'timed out after 20 ms')

  await s.close()
  pinned(t, () => s.fiber(() => {}), { code: 'ERR_SCHEDULER_CLOSED', message: 'the node scheduler is closed' })
})

needsUring(`ERR_INVALID_STATE: unlock of a free Mutex; kill of a reaped Subprocess${why}`, async (t) => {
  const m = new Machine()
  try {
    pinned(t, () => m.unlock(new Mutex()), { code: 'ERR_INVALID_STATE', message: 'unlock of a Mutex that is not locked' })
    const child = m.spawn('true')
    await child.wait()
    pinned(t, () => child.kill(), { code: 'ERR_INVALID_STATE', message: 'the process has been waited for' })
  } finally {
    await m.destroy()
  }
})

needsUring(`ABORT_ERR: an op refused or cancelled by its signal, with the signal's reason as cause${why}`, async (t) => {
  const m = new Machine()
  try {
    const before = new AbortController()
    before.abort('early')
    const refused = await t.throwsAsync(m.nop({ signal: before.signal }), { instanceOf: AbortError })
    t.is(refused.code, 'ABORT_ERR')
    t.is(refused.cause, 'early')
    const during = new AbortController()
    const p = m.sleep(10_000, { signal: during.signal })
    during.abort('late')
    const cancelled = await t.throwsAsync(p, { instanceOf: AbortError })
    t.is(cancelled.code, 'ABORT_ERR')
    t.is(cancelled.cause, 'late')
  } finally {
    await m.destroy()
  }
})

needsUring(`a stream's next() called twice at once: ERR_INVALID_STATE${why}`, async (t) => {
  const m = new Machine()
  const [r, w] = m.pipe()
  try {
    const it = m.readMulti(r)
    const first = it.next()
    const err = await t.throwsAsync(it.next(), { message: 'next() called again before the previous call settled' })
    t.is(err.code, 'ERR_INVALID_STATE')
    await m.write(w, Buffer.from('x'))
    t.false((await first).done)
    await it.return()
  } finally {
    await m.close(w)
    await m.close(r)
    await m.destroy()
  }
})

// The scheduler conformance suite: behaviours every Scheduler must show,
// written once with node:assert so they run under ava (scheduler.test.mjs)
// and standalone in a child where io_uring is denied (run this file with
// an implementation's name). Ported in spirit from Ruby's test/fiber
// scheduler tests: many tasks on pipes and sockets, timeouts, closing under
// a reader, sleep order, mutex/condition/queue, process wait, resolution,
// blocking operations, interruption, close waiting for its tasks.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, closeSync, writeSync, openSync, fstatSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  UringScheduler, NodeScheduler, runWithScheduler, schedule, socketpair, pipe, constants as C,
  TaskMutex, Condition, TaskQueue, Semaphore, Barrier, Notification, AbortError, Task
} from 'uring-machine'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const isOpen = (fd) => { try { fstatSync(fd); return true } catch { return false } }

export const behaviours = {
  async 'read and write over socketpairs with many tasks' (s) {
    const pairs = Array.from({ length: 16 }, () => socketpair())
    try {
      const tasks = pairs.map(([a, b], i) => schedule(async () => {
        const msg = Buffer.from(`message ${i}`)
        const reader = schedule(async () => {
          const buf = Buffer.alloc(64)
          let n = 0
          while (n < msg.length) n += await s.ioRead(b, buf, n)
          return buf.subarray(0, n).toString()
        })
        await s.kernelSleep(i % 4)
        for (let n = 0; n < msg.length;) n += await s.ioWrite(a, msg, n)
        return reader.join()
      }))
      const got = await Promise.all(tasks.map((t) => t.join()))
      got.forEach((g, i) => assert.equal(g, `message ${i}`))
    } finally {
      for (const [a, b] of pairs) { closeSync(a); closeSync(b) }
    }
  },

  async 'read and write over pipes with many tasks, 64 KiB each' (s) {
    const pipes = Array.from({ length: 8 }, () => pipe())
    try {
      const tasks = pipes.map(([r, w], i) => schedule(async () => {
        const data = Buffer.alloc(65536, i)
        const writer = schedule(async () => { for (let n = 0; n < data.length;) n += await s.ioWrite(w, data, n, Math.min(4096, data.length - n)) })
        const buf = Buffer.alloc(data.length)
        for (let n = 0; n < data.length;) n += await s.ioRead(r, buf, n)
        await writer.join()
        return buf.equals(data)
      }))
      for (const t of tasks) assert.equal(await t.join(), true)
    } finally {
      for (const [r, w] of pipes) { closeSync(r); closeSync(w) }
    }
  },

  async 'pread and pwrite at offsets; open, stat, rename, unlink, mkdir' (s) {
    const dir = mkdtempSync(join(tmpdir(), 'um-sched-'))
    try {
      const path = join(dir, 'f')
      writeFileSync(path, '0123456789')
      const fd = await s.ioOpen(path, C.O_RDWR)
      const buf = Buffer.alloc(4)
      assert.equal(await s.ioPread(fd, buf, 3), 4)
      assert.equal(buf.toString(), '3456')
      assert.equal(await s.ioPwrite(fd, Buffer.from('xxABxx'), 8, 2, 2), 2)
      assert.equal(readFileSync(path, 'utf8'), '01234567AB')
      const st = await s.ioStat(fd)
      assert.equal(st.size, 10)
      assert.equal(st.isFile(), true)
      await s.ioClose(fd)
      await s.ioMkdir(join(dir, 'd'))
      assert.equal((await s.ioStat(join(dir, 'd'))).isDirectory(), true)
      await s.ioRename(path, join(dir, 'g'))
      await s.ioUnlink(join(dir, 'g'))
      await s.ioUnlink(join(dir, 'd'), true)
      await assert.rejects(s.ioStat(path), { code: 'ENOENT' })
      await assert.rejects(s.ioOpen(join(dir, 'none'), C.O_RDONLY), { code: 'ENOENT', syscall: 'open' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },

  async 'timeoutAfter interrupts a read, and the fd still works' (s) {
    const [r, w] = pipe()
    try {
      await assert.rejects(s.timeoutAfter(30, () => s.ioRead(r, Buffer.alloc(8))), { code: 'ETIMEDOUT' })
      writeSync(w, 'ok')
      const buf = Buffer.alloc(8)
      assert.equal(await s.timeoutAfter(1000, () => s.ioRead(r, buf)), 2)
    } finally { closeSync(r); closeSync(w) }
  },

  async 'closing an fd while another task reads it ends the read with ECANCELED' (s) {
    const [a, b] = socketpair()
    try {
      const reader = schedule(() => s.ioRead(b, Buffer.alloc(8)))
      await sleep(20)
      await s.ioClose(b)
      await assert.rejects(reader.join(), { code: 'ECANCELED' })
    } finally { closeSync(a) }
  },

  async 'sleeps end in order of their length' (s) {
    const order = []
    // Far apart: Node's own timers keep order across durations only when the loop is on time.
    const tasks = [120, 10, 60].map((ms) => schedule(async () => { await s.kernelSleep(ms); order.push(ms) }))
    await Promise.all(tasks.map((t) => t.join()))
    assert.deepEqual(order, [10, 60, 120])
  },

  async 'mutex: no interleaving, FIFO order; condition wakes a waiter' (s) {
    const mu = new TaskMutex()
    const log = []
    const tasks = [1, 2, 3].map((i) => schedule(() => mu.synchronize(async () => { log.push(i); await s.kernelSleep(5); log.push(-i) })))
    await Promise.all(tasks.map((t) => t.join()))
    assert.deepEqual(log, [1, -1, 2, -2, 3, -3])
    const cond = new Condition()
    let ready = false
    const waiter = schedule(async () => {
      await mu.lock()
      while (!ready) await cond.wait(mu)
      mu.unlock()
      return 'woken'
    })
    await sleep(10)
    await mu.lock()
    ready = true
    cond.signal()
    mu.unlock()
    assert.equal(await waiter.join(), 'woken')
  },

  async 'queue: pop waits, times out, and hands values over in order' (s) {
    const q = new TaskQueue(2)
    await assert.rejects(schedule(() => q.pop({ timeout: 20 })).join(), { code: 'ETIMEDOUT' })
    const consumer = schedule(async () => { const got = []; for (let i = 0; i < 10; i++) got.push(await q.pop()); return got })
    const producer = schedule(async () => { for (let i = 0; i < 10; i++) await q.push(i) })
    await producer.join()
    assert.deepEqual(await consumer.join(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    const sem = new Semaphore(1)
    await sem.acquire()
    await assert.rejects(sem.acquire({ timeout: 10 }), { code: 'ETIMEDOUT' })
    sem.release()
    const barrier = new Barrier(3)
    const n = new Notification()
    const ts = [0, 1, 2].map(() => schedule(async () => { await barrier.wait(); await n.wait(); return 1 }))
    await sleep(10)
    n.notify()
    for (const t of ts) assert.equal(await t.join(), 1)
  },

  async 'process wait of a real child' (s) {
    const child = await s.processSpawn('/bin/sh', ['-c', 'exit 3'])
    const st = await child.wait()
    assert.equal(st.pid, child.pid)
    assert.equal(st.exitCode, 3)
    assert.equal(st.signal, null)
  },

  async 'address resolution: numeric, localhost, an invalid name' (s) {
    assert.deepEqual(await s.addressResolve('127.0.0.1'), ['127.0.0.1'])
    const local = await s.addressResolve('localhost')
    assert.ok(local.length > 0 && local.every((a) => a === '127.0.0.1' || a === '::1'), String(local))
    await assert.rejects(s.addressResolve('bad name!'), (e) => ['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL'].includes(e.code))
  },

  async 'a blocking operation runs off the loop while other tasks go on' (s) {
    // The work blocks until this thread's loop, still running, tells it to
    // stop: had it run here, the loop could never have done so.
    const word = new Int32Array(new SharedArrayBuffer(4))
    const working = s.blockingOperationWait((sab) => {
      const w = new Int32Array(sab)
      Atomics.wait(w, 0, 0, 20_000)
      return Atomics.load(w, 0)
    }, word.buffer)
    await sleep(20)
    Atomics.store(word, 0, 7)
    Atomics.notify(word, 0)
    assert.equal(await working, 7)
    const t = schedule(() => s.blockingOperationWait(() => { const end = Date.now() + 5000; while (Date.now() < end); }))
    await sleep(20)
    t.cancel()
    await assert.rejects(t.join(), AbortError)
  },

  async 'interrupting and cancelling tasks; children go with their parent' (s) {
    const [r, w] = pipe()
    try {
      const boom = new Error('boom')
      const t1 = schedule(() => s.ioRead(r, Buffer.alloc(4)))
      await sleep(10)
      s.fiberInterrupt(t1, boom)
      await assert.rejects(t1.join(), (e) => e === boom)
      assert.equal(t1.status, 'cancelled')
      let child
      const parent = schedule(async () => {
        child = schedule(() => s.kernelSleep())
        await s.kernelSleep()
      })
      await sleep(10)
      assert.ok(child instanceof Task)
      parent.cancel()
      await assert.rejects(parent.join(), AbortError)
      assert.equal(child.status, 'cancelled')
      // A scope waits for its children.
      const order = []
      const scope = schedule(async () => {
        schedule(async () => { await s.kernelSleep(20); order.push('child') })
        order.push('parent body done')
      })
      await scope.join()
      order.push('scope joined')
      assert.deepEqual(order, ['parent body done', 'child', 'scope joined'])
    } finally { closeSync(r); closeSync(w) }
  },

  async 'ioWait and ioSelect report readiness, and false / empty sets on timeout' (s) {
    const [r, w] = pipe()
    const [r2, w2] = pipe()
    try {
      assert.equal(await s.ioWait(r, C.POLLIN, 20), false)
      writeSync(w, 'x')
      assert.ok((await s.ioWait(r, C.POLLIN, 1000)) & C.POLLIN)
      const sel = await s.ioSelect([r, r2], [], [], 1000)
      assert.deepEqual(sel.read, [r])
      const none = await s.ioSelect([r2], [], [], 20)
      assert.deepEqual(none, { read: [], write: [], except: [] })
    } finally { for (const fd of [r, w, r2, w2]) closeSync(fd) }
  },

  async 'copy moves bytes from a pipe or a file, with and without length, and leaves both fds open' (s) {
    const dir = mkdtempSync(join(tmpdir(), 'um-sched-'))
    const [r, w] = pipe()
    const open = [r, w]
    try {
      const fd = await s.ioOpen(join(dir, 'out'), C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o644)
      open.push(fd)
      writeSync(w, 'copied through ')
      // With a length: exactly that much is taken from the source.
      assert.equal(await s.copy(r, fd, 7), 7)
      assert.ok(isOpen(r), 'the source stays open')
      assert.ok(isOpen(fd), 'the destination stays open')
      writeSync(w, 'the scheduler')
      closeSync(w)
      open.splice(1, 1)
      // Without: to the end of the source.
      assert.equal(await s.copy(r, fd), 21)
      assert.ok(isOpen(r))
      assert.ok(isOpen(fd))
      assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'copied through the scheduler')
      // A file source, read from its position on.
      const src = openSync(join(dir, 'out'), 'r')
      open.push(src)
      const fd2 = await s.ioOpen(join(dir, 'out2'), C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o644)
      open.push(fd2)
      assert.equal(await s.copy(src, fd2, 6), 6)
      assert.ok(isOpen(src))
      assert.ok(isOpen(fd2))
      assert.equal(await s.copy(src, fd2), 22)
      assert.ok(isOpen(src))
      assert.ok(isOpen(fd2))
      assert.equal(readFileSync(join(dir, 'out2'), 'utf8'), 'copied through the scheduler')
      // A failure says how much arrived.
      const [r2, w2] = pipe()
      open.push(r2, w2)
      writeSync(w2, 'lost')
      const readOnly = openSync(join(dir, 'out2'), 'r')
      open.push(readOnly)
      await assert.rejects(s.copy(r2, readOnly), { code: 'EBADF', bytesCopied: 0 })
    } finally {
      for (const fd of open) if (isOpen(fd)) closeSync(fd)
      rmSync(dir, { recursive: true, force: true })
    }
  },

  async 'an fd number reused after a close the scheduler did not see is served as what it is now' (s) {
    // Closed with fs.closeSync, not ioClose: the scheduler never hears of it.
    // The kernel hands out the lowest free number, so opening a few times
    // lands on one the old fd had (other tests may hold the lower ones).
    const reuse = (numbers, make) => {
      const extra = []
      try {
        for (;;) {
          const fds = make()
          if (fds.some((fd) => numbers.includes(fd))) return fds
          extra.push(...fds)
          // Past them: another thread took the numbers meanwhile.
          if (Math.min(...fds) > Math.max(...numbers)) assert.fail(`no new fd landed on ${numbers}`)
        }
      } finally { for (const fd of extra) closeSync(fd) }
    }
    const dir = mkdtempSync(join(tmpdir(), 'um-sched-'))
    const path = join(dir, 'f')
    const content = Buffer.alloc(200, '.')
    content.write('HERE', 100)
    writeFileSync(path, content)
    const open = []
    try {
      // A file's number, now a pipe: a read waits for data (and can be
      // cancelled), rather than blocking a thread in read(2).
      const file = openSync(path, 'r')
      const buf = Buffer.alloc(4)
      assert.equal(await s.ioRead(file, buf), 4)
      closeSync(file)
      const [r, w] = reuse([file], () => pipe())
      open.push(r, w)
      // Only a read stuck in read(2) is still there to take this.
      const unstick = setTimeout(() => writeSync(w, 'late'), 2000)
      try {
        await assert.rejects(s.timeoutAfter(30, () => s.ioRead(r, buf)), { code: 'ETIMEDOUT' })
      } finally { clearTimeout(unstick) }
      assert.equal(await s.ioWrite(w, Buffer.from('ok')), 2)
      assert.equal(await s.ioRead(r, buf), 2)
      assert.equal(buf.subarray(0, 2).toString(), 'ok')
      // A position means nothing to a pipe, here as in io_uring.
      assert.equal(await s.ioPwrite(w, Buffer.from('at'), 100), 2)
      assert.equal(await s.ioPread(r, buf, 100), 2)
      assert.equal(buf.subarray(0, 2).toString(), 'at')
      // A pipe's number, now a file: positional ops keep their position.
      open.length = 0
      closeSync(r)
      closeSync(w)
      const [fd] = reuse([r, w], () => [openSync(path, 'r+')])
      open.push(fd)
      assert.equal(await s.ioPread(fd, buf, 100), 4)
      assert.equal(buf.toString(), 'HERE')
      assert.equal(await s.ioPwrite(fd, Buffer.from('DATA'), 150), 4)
      const now = readFileSync(path)
      assert.equal(now.length, 200)
      assert.equal(now.subarray(150, 154).toString(), 'DATA')
      assert.equal(now.subarray(0, 4).toString(), '....')
    } finally {
      for (const fd of open) closeSync(fd)
      rmSync(dir, { recursive: true, force: true })
    }
  },

  async 'a failing child cancels its siblings and what its parent waits in; the parent fails with its error' (s) {
    const boom = new Error('boom')
    const parentWaiting = new Notification()
    let sibling, failing, parentWait
    const parent = schedule(async () => {
      sibling = schedule(() => s.kernelSleep(1500))
      failing = schedule(async () => { await parentWaiting.wait(); throw boom })
      const sleeping = s.kernelSleep(1500)
      parentWaiting.notify()
      try {
        await sleeping
        parentWait = 'slept'
      } catch (err) {
        parentWait = err
      }
      return 'the body caught it and returned'
    })
    await assert.rejects(parent.join(), (e) => e === boom)
    assert.equal(parent.status, 'failed')
    assert.equal(failing.status, 'failed')
    assert.equal(parent.signal.reason, boom)
    // The sleeps ended by the scope's abort, whose reason is the child's error.
    assert.ok(parentWait instanceof AbortError && parentWait.cause === boom, `the parent's own sleep: ${parentWait}`)
    assert.equal(sibling.status, 'cancelled')
    await assert.rejects(sibling.join(), (e) => e instanceof AbortError && e.cause === boom)
    // A body that lets the AbortError through fails with the child's error, not the AbortError.
    const parent2 = schedule(async () => {
      schedule(async () => { await s.yield(); throw boom })
      await s.kernelSleep(1500)
    })
    await assert.rejects(parent2.join(), (e) => e === boom)
    assert.equal(parent2.status, 'failed')
  },

  async 'a child failing after its parent\'s body returned cancels its siblings; the parent fails with its error' (s) {
    const boom = new Error('boom')
    const returned = new Notification()
    let sibling, failing, statusThen
    const parent = schedule(async () => {
      sibling = schedule(() => s.kernelSleep(1500))
      failing = schedule(async () => { await returned.wait(); statusThen = parent.status; throw boom })
      returned.notify()
      return 'value'
    })
    await assert.rejects(parent.join(), (e) => e === boom)
    assert.equal(statusThen, 'running', 'a task whose body has returned runs until its children have settled')
    assert.equal(parent.status, 'failed')
    assert.equal(failing.status, 'failed')
    assert.equal(sibling.status, 'cancelled')
    await assert.rejects(sibling.join(), (e) => e instanceof AbortError && e.cause === boom)
  },

  async 'a body that throws cancels its children with its error; the first failure wins and beats a cancellation; a cancelled child is no failure' (s) {
    const oops = new Error('oops')
    const late = new Error('late')
    let child, cleanup
    const parent = schedule(async () => {
      child = schedule(() => s.kernelSleep(1500))
      // Throws while being cancelled: that error is cancellation fallout, dropped.
      cleanup = schedule(async () => { try { await s.kernelSleep(1500) } catch { throw late } })
      await s.yield()
      throw oops
    })
    await assert.rejects(parent.join(), (e) => e === oops)
    assert.equal(parent.status, 'failed')
    assert.equal(child.status, 'cancelled')
    await assert.rejects(child.join(), (e) => e instanceof AbortError && e.cause === oops)
    assert.equal(cleanup.status, 'cancelled')
    await assert.rejects(cleanup.join(), (e) => e instanceof AbortError && e.cause === oops)
    // A failure beats a cancellation: the child fails (its error comes
    // first), its own child then cancels the parent, and the parent still
    // fails with the child's error.
    const top = schedule(async (self) => {
      schedule(async () => {
        schedule(async () => { try { await s.kernelSleep(1500) } finally { self.cancel() } })
        await s.yield()
        throw oops
      })
      await s.kernelSleep(1500)
    })
    await assert.rejects(top.join(), (e) => e === oops)
    assert.equal(top.status, 'failed')
    // Cancelling one child is not a failure: its parent and siblings go on.
    // A task that catches its cancellation and returns is done.
    const why = new Error('why')
    let kept, absorbs
    const scope = schedule(async () => {
      const gone = schedule(() => s.kernelSleep())
      absorbs = schedule(async () => { try { await s.kernelSleep() } catch { return 'absorbed' } })
      kept = schedule(async () => { await s.kernelSleep(1); return 'kept' })
      await s.yield()
      gone.cancel(why)
      absorbs.cancel()
      await assert.rejects(gone.join(), (e) => e instanceof AbortError && e.cause === why)
      assert.equal(gone.status, 'cancelled')
      assert.equal(await absorbs.join(), 'absorbed')
      return 'scope'
    })
    assert.equal(await scope.join(), 'scope')
    assert.equal(scope.status, 'done')
    assert.equal(absorbs.status, 'done')
    assert.equal(kept.status, 'done')
  },

  async 'close waits for its tasks' (s) {
    let done = false
    schedule(async () => { await s.kernelSleep(30); done = true })
    await s.close()
    assert.equal(done, true)
  }
}

/** Runs one behaviour on a fresh scheduler made by `make`. */
export async function run (make, name) {
  const s = make()
  try {
    await runWithScheduler(s, () => behaviours[name](s))
  } finally {
    await s.close()
  }
}

// Standalone: `node tests/conformance.mjs node` prints one JSON line of results.
if (import.meta.url === `file://${process.argv[1]}`) {
  const make = process.argv[2] === 'uring' ? () => new UringScheduler() : () => new NodeScheduler()
  const results = {}
  for (const name of Object.keys(behaviours)) {
    try {
      await run(make, name)
      results[name] = 'ok'
    } catch (err) {
      results[name] = `${err?.code ?? ''} ${err?.message ?? err}`
    }
  }
  console.log(JSON.stringify(results))
}

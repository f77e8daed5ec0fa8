// The scheduler: (1) what its hooks cost over the Machine, (2) the workloads
// of UringMachine's benchmark suite (pipe groups, socketpair groups, a mutex
// around I/O, a queue) on plain Node, NodeScheduler, UringScheduler and the
// Machine. The unmodified scripts, with install() and without, are
// benches/unmodified.mjs.
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {
  Machine, UringScheduler, NodeScheduler, runWithScheduler, schedule, socketpair, pipe,
  TaskMutex, TaskQueue, constants as C
} from 'uring-machine'
import { alternate, dataDir, ensureFile, now } from './lib.mjs'

const BLOCK = 4096

/** 1. Random 4 KiB preads, 64 in flight: ioPread in 64 tasks vs m.read in 64 async loops. */
async function hookOverhead ({ quick, rounds, log }) {
  const file = ensureFile(256 << 20, log)
  const blocks = (256 << 20) / BLOCK
  const count = quick ? 50_000 : 200_000
  const s = new UringScheduler()
  const m = s.machine
  let fd = -1
  // 64 loops, each started by `start` (a plain call, or schedule()).
  const loops = async (read, start) => {
    let done = 0
    const one = async () => {
      const buf = Buffer.alloc(BLOCK)
      while (done < count) {
        done++
        const n = await read(buf, ((Math.random() * blocks) | 0) * BLOCK)
        if (n !== BLOCK) throw new Error(`short read ${n}`)
      }
    }
    const t0 = now()
    await Promise.all(Array.from({ length: 64 }, () => start(one)))
    return { ops: count, seconds: (now() - t0) / 1000 }
  }
  return alternate({
    title: 'Scheduler hook overhead: 4 KiB random reads, 64 in flight',
    unit: 'reads',
    baseline: 'Machine `m.read`',
    note: `Each round: ${count.toLocaleString('en-US')} reads of a page-cached 256 MiB file at random 4 KiB offsets, by 64 concurrent loops. Both on the same Machine.`,
    contenders: [
      {
        name: 'Machine `m.read`',
        note: '64 async loops calling m.read(fd, buf, { position })',
        setup: async () => { fd = await m.open(file, 'r') },
        run: () => loops((buf, position) => m.read(fd, buf, { position }), (f) => f())
      },
      {
        name: 'Machine `m.read` in tasks',
        note: 'the same m.read loops, each started with schedule() inside runWithScheduler: what running in tasks (their AsyncLocalStorage context) costs by itself',
        run: () => runWithScheduler(s, () => loops((buf, position) => m.read(fd, buf, { position }), (f) => schedule(f).join()))
      },
      {
        name: 'UringScheduler `ioPread` in tasks',
        note: '64 tasks (schedule) calling s.ioPread(fd, buf, position): the hook reads the current task\'s signal from AsyncLocalStorage and passes it to m.read',
        run: () => runWithScheduler(s, () => loops((buf, position) => s.ioPread(fd, buf, position), (f) => schedule(f).join())),
        teardown: async () => { await m.close(fd); await s.close() }
      }
    ],
    rounds,
    log
  })
}

/** A plain-Node pair of streams over fds (net.Socket wraps pipes and socketpairs). */
function nodePair (readFd, writeFd) {
  const r = new net.Socket({ fd: readFd, readable: true, writable: false })
  const w = new net.Socket({ fd: writeFd, readable: false, writable: true })
  return { r, w }
}

/** 2a/2b: `groups` channels, each a writer and a reader task moving `msgs` messages of 64 B. */
async function groupsBench ({ kind, quick, rounds, log }) {
  const groups = 50
  const msgs = quick ? 200 : 1000
  const MSG = 64
  const total = groups * msgs
  const make = () => Array.from({ length: groups }, () => kind === 'pipe' ? pipe() : socketpair())
  const viaHooks = (make) => async () => {
    const s = make()
    const chans = makeChannels()
    const t0 = now()
    await runWithScheduler(s, async () => {
      const tasks = chans.map(([r, w]) => schedule(async () => {
        const reader = schedule(async () => {
          const buf = Buffer.alloc(MSG * 16)
          let got = 0
          while (got < msgs * MSG) {
            const n = await s.ioRead(r, buf)
            if (n === 0) throw new Error('early EOF')
            got += n
          }
        })
        const out = Buffer.alloc(MSG, 7)
        for (let i = 0; i < msgs; i++) for (let n = 0; n < MSG;) n += await s.ioWrite(w, out, n)
        await reader.join()
      }))
      for (const t of tasks) await t.join()
    })
    const seconds = (now() - t0) / 1000
    closeChannels(chans)
    await s.close()
    return { ops: total, seconds }
  }
  const makeChannels = () => {
    const list = make()
    // socketpair gives [a, b]: write on a, read on b; pipe gives [r, w].
    return kind === 'pipe' ? list : list.map(([a, b]) => [b, a])
  }
  const closeChannels = (chans) => { for (const [r, w] of chans) { try { fs.closeSync(r) } catch {} try { fs.closeSync(w) } catch {} } }
  let m
  return alternate({
    title: `${kind === 'pipe' ? 'Pipe' : 'Socketpair'} groups: ${groups} writer/reader pairs, ${msgs.toLocaleString('en-US')} messages of ${MSG} B each`,
    unit: 'msgs',
    baseline: 'plain Node (net.Socket on the fds)',
    note: `Each run: ${groups} ${kind === 'pipe' ? 'pipes' : 'socketpairs'}, a writer and a reader per channel, ${total.toLocaleString('en-US')} messages in all (UringMachine's "${kind} groups" workload).`,
    contenders: [
      {
        name: 'plain Node (net.Socket on the fds)',
        note: 'new net.Socket({ fd }) on both ends: write() and \'data\' events',
        run: async () => {
          const chans = makeChannels()
          const t0 = now()
          await Promise.all(chans.map(([rfd, wfd]) => new Promise((resolve, reject) => {
            const { r, w } = nodePair(rfd, wfd)
            let got = 0
            r.on('data', (d) => { got += d.length; if (got >= msgs * MSG) { r.destroy(); w.destroy(); resolve() } })
            r.on('error', reject)
            const out = Buffer.alloc(MSG, 7)
            let i = 0
            const pump = () => { while (i < msgs) { i++; if (!w.write(out)) return w.once('drain', pump) } }
            pump()
          })))
          return { ops: total, seconds: (now() - t0) / 1000 }
        }
      },
      { name: 'NodeScheduler', note: 'tasks calling s.ioWrite / s.ioRead (non-blocking fds read when poll(2) says ready)', run: viaHooks(() => new NodeScheduler()) },
      { name: 'UringScheduler', note: 'tasks calling s.ioWrite / s.ioRead on a Machine', run: viaHooks(() => new UringScheduler()) },
      {
        name: 'Machine',
        note: 'plain async functions calling m.write / m.read',
        setup: async () => { m = new Machine() },
        run: async () => {
          const chans = makeChannels()
          const t0 = now()
          await Promise.all(chans.map(async ([r, w]) => {
            const reading = (async () => {
              const buf = Buffer.alloc(MSG * 16)
              let got = 0
              while (got < msgs * MSG) got += await m.read(r, buf)
            })()
            const out = Buffer.alloc(MSG, 7)
            for (let i = 0; i < msgs; i++) for (let n = 0; n < MSG;) n += await m.write(w, out, { offset: n })
            await reading
          }))
          const seconds = (now() - t0) / 1000
          closeChannels(chans)
          return { ops: total, seconds }
        },
        teardown: () => m.destroy()
      }
    ],
    rounds,
    log
  })
}

/** 2c/2d: a mutex around file writes, and a queue between tasks. */
async function syncBench ({ quick, rounds, log }) {
  const tasks = 10
  const writes = quick ? 500 : 2000
  const file = path.join(dataDir, 'mutex-io.bin')
  fs.mkdirSync(dataDir, { recursive: true })
  const mutexRun = (make) => async () => {
    const s = make()
    const fd = fs.openSync(file, 'w')
    const mu = new TaskMutex()
    const buf = Buffer.alloc(256, 1)
    const t0 = now()
    await runWithScheduler(s, async () => {
      const ts = Array.from({ length: tasks }, () => schedule(async () => {
        for (let i = 0; i < writes; i++) await mu.synchronize(() => s.ioWrite(fd, buf))
      }))
      for (const t of ts) await t.join()
    })
    const seconds = (now() - t0) / 1000
    fs.closeSync(fd)
    await s.close()
    return { ops: tasks * writes, seconds }
  }
  const mutexTable = await alternate({
    title: `Mutex around I/O: ${tasks} tasks, each ${writes.toLocaleString('en-US')} locked 256 B appends to one file`,
    unit: 'writes',
    baseline: 'plain Node (promise chain as lock)',
    note: 'UringMachine\'s "mutex around I/O" workload: every write happens with the lock held.',
    contenders: [
      {
        name: 'plain Node (promise chain as lock)',
        note: 'a promise chain serialising fs.promises FileHandle.write calls',
        run: async () => {
          const fh = await fs.promises.open(file, 'w')
          const buf = Buffer.alloc(256, 1)
          let chain = Promise.resolve()
          const t0 = now()
          await Promise.all(Array.from({ length: tasks }, async () => {
            for (let i = 0; i < writes; i++) {
              const mine = chain.then(() => fh.write(buf))
              chain = mine.then(() => {}, () => {})
              await mine
            }
          }))
          const seconds = (now() - t0) / 1000
          await fh.close()
          return { ops: tasks * writes, seconds }
        }
      },
      { name: 'NodeScheduler', note: 'TaskMutex.synchronize around s.ioWrite (fs.write on the thread pool)', run: mutexRun(() => new NodeScheduler()) },
      { name: 'UringScheduler', note: 'TaskMutex.synchronize around s.ioWrite (a ring write)', run: mutexRun(() => new UringScheduler()) }
    ],
    rounds,
    log
  })
  const items = quick ? 50_000 : 200_000
  const queueRun = (make) => async () => {
    const s = make()
    const q = new TaskQueue(64)
    const t0 = now()
    await runWithScheduler(s, async () => {
      const consumer = schedule(async () => { for (let i = 0; i < items; i++) await q.pop() })
      const producer = schedule(async () => { for (let i = 0; i < items; i++) await q.push(i) })
      await producer.join()
      await consumer.join()
    })
    const seconds = (now() - t0) / 1000
    await s.close()
    return { ops: items, seconds }
  }
  const queueTable = await alternate({
    title: `Queue between tasks: ${items.toLocaleString('en-US')} items through a 64-slot TaskQueue`,
    unit: 'items',
    baseline: 'UringScheduler',
    note: 'UringMachine\'s queue workload, within one thread: a producer task and a consumer task. (No I/O: block/unblock are the same JS code on both schedulers; for threads, see the Queue benchmark.)',
    contenders: [
      { name: 'NodeScheduler', note: 'TaskQueue push/pop', run: queueRun(() => new NodeScheduler()) },
      { name: 'UringScheduler', note: 'TaskQueue push/pop', run: queueRun(() => new UringScheduler()) }
    ],
    rounds,
    log
  })
  return [mutexTable, queueTable]
}

export async function schedulerBench ({ quick, rounds, log }) {
  const out = [await hookOverhead({ quick, rounds, log })]
  out.push(await groupsBench({ kind: 'pipe', quick, rounds, log }))
  out.push(await groupsBench({ kind: 'socketpair', quick, rounds, log }))
  out.push(...await syncBench({ quick, rounds, log }))
  return out
}

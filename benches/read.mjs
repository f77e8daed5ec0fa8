// 4 KiB random reads from a page-cached 256 MiB file, 64 in flight, one JS
// thread: Machine `m.read` vs FileHandle.read vs fs.read (callbacks) vs the
// Rust floor (the core ring) vs tokio-uring (benches/rust). Every contender
// reads the same sequence of block-aligned offsets (xorshift32 from one
// seed; the floor and the peer compute the same sequence).
import fs from 'node:fs'
import path from 'node:path'
import { Machine } from 'uring-machine'
import { alternate, ensureFile, now, runFloor } from './lib.mjs'

export const FILE_SIZE = 256 * 2 ** 20
export const BLOCK = 4096
export const DEPTH = 64
export const SEED = 0x2545f491

/** The first `count` block indices of xorshift32(seed) modulo `blocks` (as floor.rs). */
export function blockIndices (count, blocks, seed = SEED) {
  const out = new Uint32Array(count)
  let x = seed >>> 0
  for (let i = 0; i < count; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x % blocks
  }
  return out
}

/** The benchmark's 256 MiB file of random bytes (made once). */
export function ensureReadFile (log) {
  return ensureFile(FILE_SIZE, log)
}

/** Reads the whole file once so that every contender reads from the page cache. */
export function warmPageCache (file) {
  const chunk = Buffer.allocUnsafe(1 << 20)
  const fd = fs.openSync(file, 'r')
  try {
    let off = 0
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, off)
      if (n <= 0) break
      off += n
    }
  } finally {
    fs.closeSync(fd)
  }
}

function short (n, who) {
  return new Error(`${who}: short read (${n} of ${BLOCK} bytes)`)
}

/** `depth` async loops, each awaiting `readOne(buf, position)` in turn. */
async function promiseLoops (depth, idx, count, maxMs, who, readOne) {
  const deadline = now() + maxMs
  let issued = 0
  let stop = false
  async function loop () {
    const buf = Buffer.alloc(BLOCK)
    while (!stop && issued < count) {
      const pos = idx[issued++] * BLOCK
      if ((issued & 1023) === 0 && now() > deadline) stop = true
      const n = await readOne(buf, pos)
      if (n !== BLOCK) throw short(n, who)
    }
  }
  const t0 = now()
  const loops = []
  for (let i = 0; i < depth; i++) loops.push(loop())
  await Promise.all(loops)
  return { ops: issued, seconds: (now() - t0) / 1000 }
}

/** `depth` chains of fs.read callbacks. */
function callbackChains (fd, depth, idx, count, maxMs) {
  return new Promise((resolve, reject) => {
    const deadline = now() + maxMs
    let issued = 0
    let running = depth
    let failed = false
    const t0 = now()
    function chain () {
      const buf = Buffer.alloc(BLOCK)
      const next = () => {
        if (failed || issued >= count) {
          if (--running === 0 && !failed) resolve({ ops: issued, seconds: (now() - t0) / 1000 })
          return
        }
        const pos = idx[issued++] * BLOCK
        if ((issued & 1023) === 0 && now() > deadline) count = issued
        fs.read(fd, buf, 0, BLOCK, pos, onRead)
      }
      const onRead = (err, n) => {
        if (err || n !== BLOCK) {
          if (!failed) {
            failed = true
            reject(err ?? short(n, 'fs.read'))
          }
          return
        }
        next()
      }
      next()
    }
    for (let i = 0; i < depth; i++) chain()
  })
}

/** Checks that `m.read` returns the file's bytes at a sample of the offsets. */
async function verify (m, fd, file, idx) {
  const want = Buffer.alloc(BLOCK)
  const sfd = fs.openSync(file, 'r')
  try {
    await Promise.all(Array.from(idx.subarray(0, 256), async (block) => {
      const got = Buffer.alloc(BLOCK)
      const n = await m.read(fd, got, { position: block * BLOCK })
      fs.readSync(sfd, want, 0, BLOCK, block * BLOCK)
      if (n !== BLOCK || !got.equals(want)) throw new Error(`m.read at block ${block}: wrong bytes (${n} read)`)
    }))
  } finally {
    fs.closeSync(sfd)
  }
}

export async function readBench ({ quick, floor, peers = { error: 'not built' }, rounds, log }) {
  const file = ensureReadFile(log)
  log(`warming the page cache (reading ${path.basename(file)} once)`)
  warmPageCache(file)
  // Each run lasts about `maxMs`, over a prefix of one offsets sequence:
  // the contenders differ ~15x in speed, and a common count would time the
  // fast ones over windows too short for a noisy machine.
  const count = quick ? 500_000 : 3_000_000
  const maxMs = quick ? 250 : 1_000
  const blocks = FILE_SIZE / BLOCK
  const idx = blockIndices(count, blocks)

  let fh, cfd
  /** A Machine contender: `options` are the Machine's (the ways a ring can use the other core). */
  const machine = (name, note, options) => {
    let m, mfd
    return {
      name,
      note,
      setup: async () => {
        m = new Machine({ entries: 256, ...options })
        mfd = await m.open(file, 'r')
        await verify(m, mfd, file, idx)
      },
      run: async () => {
        const before = m.metrics()
        const res = await promiseLoops(DEPTH, idx, count, maxMs, 'm.read', (buf, position) => m.read(mfd, buf, { position }))
        const after = m.metrics()
        const enters = after.enters - before.enters
        res.info = `last round: ${(res.ops / Math.max(1, enters)).toFixed(1)} reads per io_uring_enter`
        return res
      },
      teardown: async () => {
        if (mfd !== undefined) await m.close(mfd)
        await m?.destroy()
      }
    }
  }
  const contenders = [
    machine('Machine `m.read`', `${DEPTH} async loops, entries 256`, {}),
    machine('Machine, offload', `${DEPTH} async loops, \`offload: true\` (IOSQE_ASYNC: io-wq threads copy on the other core)`, { offload: true }),
    machine('Machine, SQPOLL', `${DEPTH} async loops, \`sqpoll: true\` (a kernel thread submits, and copies, on the other core)`, { sqpoll: true }),
    {
      name: 'FileHandle.read',
      note: `fs.promises, ${DEPTH} async loops`,
      setup: async () => { fh = await fs.promises.open(file, 'r') },
      run: () => promiseLoops(DEPTH, idx, count, maxMs, 'FileHandle.read', async (buf, position) => (await fh.read(buf, 0, BLOCK, position)).bytesRead),
      teardown: async () => { await fh?.close() }
    },
    {
      name: 'fs.read',
      note: `callbacks, ${DEPTH} in flight, libuv threadpool of ${process.env.UV_THREADPOOL_SIZE ?? 4}`,
      setup: async () => { cfd = fs.openSync(file, 'r') },
      run: () => callbackChains(cfd, DEPTH, idx, count, maxMs),
      teardown: async () => { if (cfd !== undefined) fs.closeSync(cfd) }
    },
    {
      name: 'Rust floor',
      note: `core Ring, ${DEPTH} in flight, BufferPool, in its own process (no Node)`,
      skip: floor.error,
      run: async () => {
        const r = await runFloor(floor.bin, ['read', file, DEPTH, count, BLOCK, '--seed', SEED, '--max-seconds', maxMs / 1000], maxMs + 30_000)
        return { ops: r.ops, seconds: r.seconds }
      }
    },
    {
      name: 'tokio-uring',
      note: `Rust, tokio-uring 0.5, ${DEPTH} tasks awaiting File::read_at, entries 256, in its own process`,
      skip: peers.error,
      run: async () => {
        const r = await runFloor(peers.bin, ['read', file, DEPTH, count, BLOCK, '--seed', SEED, '--max-seconds', maxMs / 1000], maxMs + 30_000)
        return { ops: r.ops, seconds: r.seconds }
      }
    }
  ]
  log('random reads')
  return [await alternate({
    title: `4 KiB random reads, ${DEPTH} in flight, page-cached ${FILE_SIZE >> 20} MiB file`,
    baseline: 'FileHandle.read',
    note: `Each run: ${maxMs / 1000} s of reads (at most ${count.toLocaleString('en-US')}), every contender starting from the same precomputed sequence of block-aligned random offsets. ` +
      'JS contenders share one JS thread; the Rust floor and tokio-uring run the same offsets, each in its own process.',
    contenders,
    rounds,
    log
  })]
}

// Bulk copies of a page-cached file, one JS thread for the senders:
//
// 1. File to TCP: the whole file to a loopback sink, over a fresh
//    connection per run. Machine `m.copy(fileFd, socketFd)` (splice through
//    a kernel pipe) vs `stream.pipeline(fs.createReadStream, socket)` vs a
//    read/send loop on the Machine (m.read into a 256 KiB buffer, m.send
//    until all of it is sent). The sink is a node:net server in a worker
//    thread: it counts and discards what arrives, and samples bytes at
//    fixed offsets, which are checked against the file after every run.
// 2. File to file: Machine `m.copy(src, dst)` vs fs.promises.copyFile vs
//    `stream.pipeline(createReadStream, createWriteStream)`. Each
//    destination is checked (size, sampled blocks) and deleted after its
//    run, outside the timing.
//
// 512 MiB files (--quick: 64 MiB) and the harness's rounds (7; --quick 3):
// ~20-25 s in all on a quiet 2-core machine (--quick ~2 s).
//
// This file is also the sink worker's entry (run with `workerData.copySink`).
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { Machine, constants as C } from 'uring-machine'
import { alternate, bounded, dataDir, ensureFile, now } from './lib.mjs'
import { blockIndices, warmPageCache } from './read.mjs'

export const FILE_MIB = 512
export const QUICK_FILE_MIB = 64
export const RW_CHUNK = 256 * 1024
const HOST = '127.0.0.1'
const SAMPLES = 512 // bytes the TCP sink samples per connection
const CHECK_BLOCKS = 16 // 4 KiB blocks compared per file copy (plus the last one)
const MiB = 2 ** 20


/** Sorted byte offsets spread pseudo-randomly over `size` bytes (each in a different place of its page). */
function sampleOffsets (count, size) {
  const blocks = size / 4096
  return Float64Array.from(blockIndices(count, blocks, 0x9e3779b9), (b) => b * 4096 + (b * 2654435761 >>> 20) % 4096).sort()
}

/** The bytes of `file` at `offsets`. */
function bytesAt (file, offsets) {
  const out = new Uint8Array(offsets.length)
  const one = Buffer.alloc(1)
  const fd = fs.openSync(file, 'r')
  try {
    offsets.forEach((off, i) => {
      if (fs.readSync(fd, one, 0, 1, off) !== 1) throw new Error(`${file}: nothing at ${off}`)
      out[i] = one[0]
    })
  } finally {
    fs.closeSync(fd)
  }
  return out
}

// ------------------------------------------------------------ the TCP sink

/** The worker: a node:net server counting and discarding bytes, one report per connection. */
function sinkMain () {
  const offsets = workerData.offsets
  const server = net.createServer((s) => {
    let n = 0
    let k = 0
    const got = new Uint8Array(offsets.length)
    s.on('data', (d) => {
      const end = n + d.length
      while (k < offsets.length && offsets[k] < end) { got[k] = d[offsets[k] - n]; k++ }
      n = end
    })
    s.on('end', () => {
      parentPort.postMessage({ type: 'done', bytes: n, samples: got, sampled: k })
      s.end()
    })
    s.on('error', (err) => parentPort.postMessage({ type: 'error', message: err.stack ?? String(err) }))
  })
  server.on('error', (err) => parentPort.postMessage({ type: 'error', message: err.stack ?? String(err) }))
  server.listen(0, HOST, () => parentPort.postMessage({ type: 'listening', port: server.address().port }))
  parentPort.on('message', (msg) => {
    if (msg.cmd === 'close') server.close(() => parentPort.close())
  })
}

/** The main thread's side of the sink worker. */
class Sink {
  worker = undefined
  port = 0
  failure = undefined
  closing = false
  waiting = undefined // { resolve, reject } of the connection being counted
  listening = undefined

  constructor (file, size) {
    this.size = size
    this.offsets = sampleOffsets(SAMPLES, size)
    this.expected = bytesAt(file, this.offsets)
  }

  async start () {
    const w = this.worker = new Worker(fileURLToPath(import.meta.url), { workerData: { copySink: true, offsets: this.offsets } })
    const listening = new Promise((resolve, reject) => { this.listening = { resolve, reject } })
    w.on('message', (msg) => this.#onMessage(msg))
    w.on('error', (err) => this.#fail(err))
    w.on('exit', (code) => { if (!this.closing) this.#fail(new Error(`sink worker exited (code ${code}) during the benchmark`)) })
    this.port = await bounded(listening, 10_000, 'sink: listen')
  }

  #onMessage (msg) {
    if (msg.type === 'listening') return this.listening.resolve(msg.port)
    if (msg.type === 'error') return this.#fail(new Error(`sink worker: ${msg.message}`))
    const w = this.waiting
    if (w === undefined) return this.#fail(new Error('sink: a connection ended that no run was waiting for'))
    this.waiting = undefined
    if (msg.bytes !== this.size) return w.reject(new Error(`sink counted ${msg.bytes} bytes of ${this.size}`))
    for (let i = 0; i < this.offsets.length; i++) {
      if (msg.samples[i] !== this.expected[i]) return w.reject(new Error(`sink: wrong byte at offset ${this.offsets[i]} (${msg.samples[i]}, the file has ${this.expected[i]})`))
    }
    w.resolve(msg.bytes)
  }

  #fail (err) {
    this.failure ??= err
    this.listening?.reject(err)
    const w = this.waiting
    this.waiting = undefined
    w?.reject(err)
  }

  /** Resolves when the next connection has ended with every byte counted (and sampled bytes right). */
  counted () {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.waiting !== undefined) return Promise.reject(new Error('sink: two runs at once'))
    const p = new Promise((resolve, reject) => { this.waiting = { resolve, reject } })
    p.catch(() => {}) // a run that fails first never awaits it
    return p
  }

  async close () {
    const w = this.worker
    if (w === undefined) return
    this.closing = true
    const exited = new Promise((resolve) => {
      if (w.threadId === -1) resolve()
      else w.once('exit', resolve)
    })
    w.postMessage({ cmd: 'close' })
    try {
      await bounded(exited, 5_000, 'sink worker: exit')
    } catch {
      await w.terminate()
    }
  }
}

// ------------------------------------------------------------ file to TCP

async function machineConnect (m, port) {
  const fd = await m.socket(C.AF_INET, C.SOCK_STREAM)
  try {
    await m.connect(fd, { address: HOST, port })
  } catch (err) {
    await m.close(fd)
    throw err
  }
  return fd
}

/** Ring ops and io_uring_enter calls between two `metrics()`. */
function ringInfo (before, after) {
  return `last round: ${after.opsCompleted - before.opsCompleted} ring ops, ${after.enters - before.enters} io_uring_enter`
}

function tcpContenders (file, size, sink) {
  let mc, mr
  const buf = Buffer.alloc(RW_CHUNK)
  return [
    {
      name: 'Machine `m.copy`',
      note: 'm.socket + m.connect; `m.copy(fileFd, socketFd)`: splice file to pipe, pipe to socket, 1 MiB a step; then m.shutdown',
      setup: async () => { mc = new Machine() },
      run: async () => {
        const m = mc
        const counted = sink.counted()
        const sock = await machineConnect(m, sink.port)
        try {
          const before = m.metrics()
          const t0 = now()
          const src = await m.open(file, 'r')
          let n
          try {
            n = await m.copy(src, sock)
          } finally {
            await m.close(src)
          }
          await m.shutdown(sock, C.SHUT_WR)
          await counted
          const seconds = (now() - t0) / 1000
          if (n !== size) throw new Error(`m.copy resolved ${n} bytes of ${size}`)
          return { ops: size / MiB, seconds, info: ringInfo(before, m.metrics()) }
        } finally {
          await m.close(sock)
        }
      },
      teardown: async () => { await mc?.destroy() }
    },
    {
      name: 'stream.pipeline',
      note: 'stream.pipeline(fs.createReadStream(path), socket) on a net.connect socket; default highWaterMark (64 KiB reads on the libuv threadpool)',
      run: async () => {
        const counted = sink.counted()
        const sock = await new Promise((resolve, reject) => {
          const s = net.connect(sink.port, HOST)
          s.once('error', reject)
          s.once('connect', () => { s.off('error', reject); resolve(s) })
        })
        try {
          const t0 = now()
          await pipeline(fs.createReadStream(file), sock)
          await counted
          return { ops: size / MiB, seconds: (now() - t0) / 1000 }
        } finally {
          sock.destroy()
        }
      }
    },
    {
      name: 'Machine read/send loop',
      note: `m.read of ${RW_CHUNK / 1024} KiB at a time into one buffer, then m.send until all of it is sent; one op in flight`,
      setup: async () => { mr = new Machine() },
      run: async () => {
        const m = mr
        const counted = sink.counted()
        const sock = await machineConnect(m, sink.port)
        try {
          const before = m.metrics()
          const t0 = now()
          const src = await m.open(file, 'r')
          let pos = 0
          try {
            for (;;) {
              const n = await m.read(src, buf, { position: pos })
              if (n === 0) break
              pos += n
              if (pos > size) throw new Error(`m.read: ${pos} bytes read from a ${size}-byte file`)
              for (let off = 0; off < n;) {
                const k = await m.send(sock, buf, { offset: off, length: n - off })
                if (k <= 0) throw new Error(`m.send sent ${k} bytes`)
                off += k
              }
            }
          } finally {
            await m.close(src)
          }
          await m.shutdown(sock, C.SHUT_WR)
          await counted
          const seconds = (now() - t0) / 1000
          if (pos !== size) throw new Error(`read ${pos} bytes of ${size}`)
          return { ops: size / MiB, seconds, info: ringInfo(before, m.metrics()) }
        } finally {
          await m.close(sock)
        }
      },
      teardown: async () => { await mr?.destroy() }
    }
  ]
}

// ------------------------------------------------------------ file to file

/** 4 KiB blocks of `file` to compare copies with: sampled ones and the last. */
function checkBlocks (file, size) {
  const blocks = size / 4096
  const idx = [...new Set([...blockIndices(CHECK_BLOCKS, blocks, 0x7f4a7c15), 0, blocks - 1])]
  const fd = fs.openSync(file, 'r')
  try {
    return idx.map((b) => {
      const want = Buffer.alloc(4096)
      fs.readSync(fd, want, 0, 4096, b * 4096)
      return { pos: b * 4096, want }
    })
  } finally {
    fs.closeSync(fd)
  }
}

/** Checks `dst` against the source (size, sampled blocks), then deletes it. */
function checkAndDelete (dst, size, blocks, who) {
  try {
    const got = fs.statSync(dst).size
    if (got !== size) throw new Error(`${who}: the copy has ${got} bytes, the source ${size}`)
    const fd = fs.openSync(dst, 'r')
    try {
      const buf = Buffer.alloc(4096)
      for (const { pos, want } of blocks) {
        const n = fs.readSync(fd, buf, 0, 4096, pos)
        if (n !== 4096 || !buf.equals(want)) throw new Error(`${who}: the copy differs from the source in the 4 KiB at ${pos}`)
      }
    } finally {
      fs.closeSync(fd)
    }
  } finally {
    fs.rmSync(dst, { force: true })
  }
}

function fileContenders (file, size) {
  const blocks = checkBlocks(file, size)
  const dst = path.join(dataDir, `copy-dst-${process.pid}.bin`)
  fs.rmSync(dst, { force: true })
  let m
  // Timed: opening both files, the copy, closing both. Not timed: the check and the delete.
  const timed = async (who, copy) => {
    const t0 = now()
    await copy()
    const seconds = (now() - t0) / 1000
    checkAndDelete(dst, size, blocks, who)
    return { ops: size / MiB, seconds }
  }
  return [
    {
      name: 'Machine `m.copy`',
      note: 'm.open both; `m.copy(src, dst)`: splice file to pipe, pipe to file, 1 MiB a step; m.close both',
      setup: async () => { m = new Machine() },
      run: async () => {
        let n, before
        const res = await timed('m.copy', async () => {
          before = m.metrics()
          const src = await m.open(file, 'r')
          try {
            const out = await m.open(dst, 'w')
            try {
              n = await m.copy(src, out)
            } finally {
              await m.close(out)
            }
          } finally {
            await m.close(src)
          }
        })
        if (n !== size) throw new Error(`m.copy resolved ${n} bytes of ${size}`)
        res.info = ringInfo(before, m.metrics())
        return res
      },
      teardown: async () => {
        await m?.destroy()
        fs.rmSync(dst, { force: true })
      }
    },
    {
      name: 'fs.promises.copyFile',
      note: 'libuv: open, ftruncate(dst, 0), one copy_file_range for the whole file (in-kernel copy; no reflink on ext4), close',
      run: () => timed('copyFile', () => fs.promises.copyFile(file, dst))
    },
    {
      name: 'stream.pipeline',
      note: 'stream.pipeline(fs.createReadStream(src), fs.createWriteStream(dst)); default highWaterMark (64 KiB reads and writes on the libuv threadpool)',
      run: () => timed('stream.pipeline', () => pipeline(fs.createReadStream(file), fs.createWriteStream(dst)))
    }
  ]
}

// ------------------------------------------------------------ the benchmark

export async function copyBench ({ quick, rounds, log }) {
  const size = (quick ? QUICK_FILE_MIB : FILE_MIB) * MiB
  const file = ensureFile(size, log)
  log(`warming the page cache (reading ${path.basename(file)} once)`)
  warmPageCache(file)
  const tables = []

  const sink = new Sink(file, size)
  try {
    await sink.start()
    log('copy: file to TCP')
    tables.push(await alternate({
      title: `File to TCP: page-cached ${size / MiB} MiB file to a loopback sink`,
      unit: 'MiB',
      baseline: 'stream.pipeline',
      note: `Each run sends the whole file over a fresh connection to 127.0.0.1 (connecting is not timed), from opening the file until the sink reports the connection's end with all ${size / MiB} MiB counted. ` +
        `The sink is a node:net server in a worker thread (its own event loop, so its reading does not share the senders' JS thread): it counts and discards the bytes ('data' events of at most 64 KiB, default options) and samples ${SAMPLES} bytes at fixed offsets, checked against the file after every run. ` +
        'Default socket options on both sides.',
      contenders: tcpContenders(file, size, sink),
      rounds,
      runTimeoutMs: 60_000, // a 512 MiB run took up to 18 s on a host with 50% CPU steal
      log
    }))
  } finally {
    await sink.close()
  }

  log('copy: file to file')
  tables.push(await alternate({
    title: `File to file: page-cached ${size / MiB} MiB file to a new file`,
    unit: 'MiB',
    baseline: 'fs.promises.copyFile',
    note: `Each run copies the whole file to a new file in benches/.data (ext4 here), timed from opening both files until both are closed; the copy is then checked (size, ${CHECK_BLOCKS + 2} sampled 4 KiB blocks) and deleted, outside the timing. ` +
      'Nothing is fsynced: the copies are page-cache writes, deleted before writeback would start, except that closing a file that was ftruncated to 0 (copyFile does that to its destination) makes ext4 start writeback at close (auto_da_alloc), inside copyFile\'s timing ' +
      '(strace -T of copyFile on this machine, 512 MiB, measured apart from this harness: copy_file_range 0.24-0.30 s, then close(dst) 0.25-0.29 s; the delete afterwards waits for that writeback).',
    contenders: fileContenders(file, size),
    rounds,
    runTimeoutMs: 60_000,
    log
  }))
  return tables
}

if (!isMainThread && workerData?.copySink === true) sinkMain()

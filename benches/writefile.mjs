// writeFile of many small files, 64 in flight: Machine.writeFile (one op
// chain per file: open, write, close on a direct descriptor, one
// submission, one promise; the write and close go to io-wq at once) against fs.promises.writeFile and
// fs.writeFileSync in a loop; and statMany of 10k paths (one native call)
// against fs.promises.stat of each, 64 in flight. Side by side in one process.
import { mkdirSync, writeFileSync } from 'node:fs'
import { writeFile as writeFileP, stat as statP } from 'node:fs/promises'
import path from 'node:path'
import { Machine } from 'uring-machine'
import { alternate, dataDir } from './lib.mjs'

const FILES = 10_000
const SIZE = 4096
const DEPTH = 64
const DATA = Buffer.alloc(SIZE, 0x61)

/** Writes DATA to every path once from DEPTH concurrent loops. */
async function writeAll (paths, write) {
  let next = 0
  async function loop () {
    while (next < paths.length) await write(paths[next++], DATA)
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: DEPTH }, loop))
  return { ops: paths.length, seconds: (performance.now() - t0) / 1000 }
}

function writeAllSync (paths) {
  const t0 = performance.now()
  for (const p of paths) writeFileSync(p, DATA)
  return { ops: paths.length, seconds: (performance.now() - t0) / 1000 }
}

async function statAll (paths, stat) {
  let next = 0
  let size = 0
  async function loop () {
    while (next < paths.length) {
      const st = await stat(paths[next++])
      size += st.size
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: DEPTH }, loop))
  if (size !== paths.length * SIZE) throw new Error(`stat sizes sum to ${size}`)
  return { ops: paths.length, seconds: (performance.now() - t0) / 1000 }
}

export async function writeFileBench ({ quick, rounds, log }) {
  const n = quick ? 2_000 : FILES
  // Each contender writes its own set of files (truncating them each run).
  const dirs = ['m', 'p', 's'].map((k) => path.join(dataDir, `write-${n}x${SIZE}`, k))
  for (const d of dirs) mkdirSync(d, { recursive: true })
  const [mine, prom, sync] = dirs.map((d) => Array.from({ length: n }, (_, i) => path.join(d, `f${i}`)))
  let m
  const contenders = [
    {
      name: 'Machine.writeFile',
      note: `${DEPTH} async loops; one chain per file`,
      setup: async () => { m = new Machine() },
      warmup: () => writeAll(mine, (p, d) => m.writeFile(p, d)),
      run: () => writeAll(mine, (p, d) => m.writeFile(p, d)),
      teardown: async () => { await m?.destroy() }
    },
    { name: 'fs.promises.writeFile', note: `${DEPTH} async loops`, warmup: () => writeAll(prom, writeFileP), run: () => writeAll(prom, writeFileP) },
    { name: 'fs.writeFileSync loop', note: 'one loop, nothing in flight', warmup: () => writeAllSync(sync), run: () => writeAllSync(sync) }
  ]
  log(`writeFile, ${n} files of ${SIZE} bytes, ${DEPTH} in flight`)
  const write = await alternate({
    title: `writeFile of ${n.toLocaleString('en-US')} files of 4 KiB, ${DEPTH} in flight`,
    unit: 'files',
    baseline: 'fs.promises.writeFile',
    note: `Each run replaces every file (O_TRUNC; page cache, no fsync). Machine.writeFile: one submission of linked open, write, close on a direct descriptor per file (write and close with IOSQE_ASYNC); one promise per file. fs.*: Node ${process.version} on libuv's thread pool.`,
    contenders,
    rounds,
    log
  })
  let s
  const statContenders = [
    {
      name: 'Machine.statMany',
      note: `one call for all ${n} paths`,
      setup: async () => { s = new Machine() },
      warmup: () => statMany(s, mine),
      run: () => statMany(s, mine),
      teardown: async () => { await s?.destroy() }
    },
    { name: 'fs.promises.stat', note: `${DEPTH} async loops`, warmup: () => statAll(mine, statP), run: () => statAll(mine, statP) }
  ]
  const stat = await alternate({
    title: `stat of ${n.toLocaleString('en-US')} paths: statMany vs fs.promises.stat`,
    unit: 'paths',
    baseline: 'fs.promises.stat',
    note: 'Machine.statMany: one native call and one promise, independent statx ops submitted in windows of up to 128. fs.promises.stat: one promise per path on the thread pool.',
    contenders: statContenders,
    rounds,
    log
  })
  return [write, stat]
}

async function statMany (m, paths) {
  const t0 = performance.now()
  const all = await m.statMany(paths)
  const seconds = (performance.now() - t0) / 1000
  let size = 0
  for (const st of all) size += st.size
  if (size !== paths.length * SIZE) throw new Error(`statMany sizes sum to ${size}`)
  return { ops: paths.length, seconds }
}

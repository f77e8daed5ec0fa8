// copyFile of many 256 KiB files, 32 in flight: Machine.copyFile (the
// whole copyFile in the core: open, statx, open, statx, truncate (an SQE
// in io-wq), fchmod, one linked splice pair through a pipe the ring keeps
// for the next copy, closes (SQEs in io-wq); one promise per file) against
// fs.promises.copyFile, fs.copyFile (libuv's thread pool: open, fstat,
// open, fstat, ftruncate, fchmod, copy_file_range, close, close) and
// fs.copyFileSync in a loop, side by side in one process.
import { mkdirSync, writeFileSync, existsSync, copyFileSync, copyFile as copyFileCb, statSync } from 'node:fs'
import { copyFile as copyFileP } from 'node:fs/promises'
import path from 'node:path'
import { Machine } from 'uring-machine'
import { alternate, dataDir } from './lib.mjs'

const FILES = 1_000
const SIZE = 256 * 1024
const DEPTH = 32

/** FILES source files of SIZE bytes each, made once under benches/.data; and a directory for the copies. */
function ensureFiles (log) {
  const dir = path.join(dataDir, `copy-${FILES}x${SIZE}`)
  const last = path.join(dir, `f${FILES - 1}`)
  if (!existsSync(last)) {
    log(`making ${FILES} files of ${SIZE} bytes in ${dir}`)
    mkdirSync(dir, { recursive: true })
    for (let i = 0; i < FILES; i++) writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(SIZE, i & 0xff))
  }
  const out = path.join(dataDir, `copy-${FILES}x${SIZE}-out`)
  mkdirSync(out, { recursive: true })
  return Array.from({ length: FILES }, (_, i) => [path.join(dir, `f${i}`), path.join(out, `f${i}`)])
}

function check (pairs) {
  const st = statSync(pairs[pairs.length - 1][1])
  if (st.size !== SIZE) throw new Error(`copied ${st.size} bytes, expected ${SIZE}`)
}

/** Copies every file once with `copy` from DEPTH concurrent loops (over the copies of the round before). */
async function copyAll (pairs, copy) {
  let next = 0
  async function loop () {
    while (next < pairs.length) {
      const [s, d] = pairs[next++]
      await copy(s, d)
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: DEPTH }, loop))
  const seconds = (performance.now() - t0) / 1000
  check(pairs)
  return { ops: pairs.length, seconds }
}

function copyAllSync (pairs) {
  const t0 = performance.now()
  for (const [s, d] of pairs) copyFileSync(s, d)
  const seconds = (performance.now() - t0) / 1000
  check(pairs)
  return { ops: pairs.length, seconds }
}

const cb = (s, d) => new Promise((resolve, reject) => copyFileCb(s, d, (err) => err ? reject(err) : resolve()))

export async function copyFileBench ({ quick, rounds, log }) {
  const pairs = ensureFiles(log)
  const use = quick ? pairs.slice(0, 200) : pairs
  let m
  const contenders = [
    {
      name: 'Machine.copyFile',
      note: `${DEPTH} async loops; the whole copyFile in the core`,
      setup: async () => { m = new Machine() },
      warmup: () => copyAll(use, (s, d) => m.copyFile(s, d)),
      run: () => copyAll(use, (s, d) => m.copyFile(s, d)),
      teardown: async () => { await m?.destroy() }
    },
    { name: 'fs.promises.copyFile', note: `${DEPTH} async loops`, warmup: () => copyAll(use, copyFileP), run: () => copyAll(use, copyFileP) },
    { name: 'fs.copyFile', note: `${DEPTH} async loops over the callback API`, warmup: () => copyAll(use, cb), run: () => copyAll(use, cb) },
    { name: 'fs.copyFileSync loop', note: 'one loop, nothing in flight', warmup: () => copyAllSync(use), run: () => copyAllSync(use) }
  ]
  log(`copyFile, ${use.length} files of ${SIZE} bytes, ${DEPTH} in flight`)
  return [await alternate({
    title: `copyFile of ${use.length.toLocaleString('en-US')} files of 256 KiB, ${DEPTH} in flight`,
    unit: 'files',
    baseline: 'fs.promises.copyFile',
    note: `Each run copies every file once over the copies of the run before (sources in the page cache). Machine.copyFile: libuv's steps as SQEs the ring submits one after another in the core, the data by one linked splice pair through a pooled pipe; truncate and closes SQEs in io-wq, fchmod a plain syscall; one promise per file. fs.*: Node ${process.version} on libuv's thread pool (copy_file_range).`,
    contenders,
    rounds,
    log
  })]
}

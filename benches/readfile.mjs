// readFile of many small files, 64 in flight: Machine.readFile (one op
// chain per file: open, read, read to EOF on a direct descriptor, one
// submission, one promise) against fs.promises.readFile, fs.readFile (libuv's
// thread pool: open, fstat, read, close per file) and fs.readFileSync in a
// loop, side by side in one process; and, each in its own process, the same
// load on the core ring with no Node (the Rust floor: Chain::read_file_into)
// and on tokio-uring (open, read to EOF, close per file; benches/rust).
import { mkdirSync, writeFileSync, existsSync, readFileSync, readFile as readFileCb } from 'node:fs'
import { readFile as readFileP } from 'node:fs/promises'
import path from 'node:path'
import { Machine } from 'uring-machine'
import { alternate, dataDir, runFloor } from './lib.mjs'

const FILES = 10_000
const SIZE = 4096
const DEPTH = 64

/** FILES files of SIZE bytes each, made once under benches/.data. */
function ensureFiles (log) {
  const dir = path.join(dataDir, `small-${FILES}x${SIZE}`)
  const last = path.join(dir, `f${FILES - 1}`)
  if (!existsSync(last)) {
    log(`making ${FILES} files of ${SIZE} bytes in ${dir}`)
    mkdirSync(dir, { recursive: true })
    for (let i = 0; i < FILES; i++) writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(SIZE, i & 0xff))
  }
  return Array.from({ length: FILES }, (_, i) => path.join(dir, `f${i}`))
}

/** Reads every file once with `read` from DEPTH concurrent loops; checks the sizes. */
async function readAll (paths, read) {
  let next = 0
  let bytes = 0
  async function loop () {
    while (next < paths.length) {
      const data = await read(paths[next++])
      bytes += data.length
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: DEPTH }, loop))
  const seconds = (performance.now() - t0) / 1000
  if (bytes !== paths.length * SIZE) throw new Error(`read ${bytes} bytes, expected ${paths.length * SIZE}`)
  return { ops: paths.length, seconds }
}

function readAllSync (paths) {
  const t0 = performance.now()
  let bytes = 0
  for (const p of paths) bytes += readFileSync(p).length
  const seconds = (performance.now() - t0) / 1000
  if (bytes !== paths.length * SIZE) throw new Error(`read ${bytes} bytes, expected ${paths.length * SIZE}`)
  return { ops: paths.length, seconds }
}

/**
 * A timed run right after an untimed pass of the same contender. The
 * rounds keep the contenders' cyclic order, so each always runs right
 * after the same one, and the one after the Rust contenders (processes
 * of their own that leave the caches full of their data) paid for it in
 * every round: in --quick runs, with fs.readFileSync loop moved to that
 * place, it went from 7.8-8.2 to 10.0-10.2 us per file, and
 * Machine.readFile, there before, from 7.3-7.8 to 7.1-7.4.
 */
const settled = (run) => async () => {
  await run()
  return run()
}

const cb = (p) => new Promise((resolve, reject) => readFileCb(p, (err, data) => err ? reject(err) : resolve(data)))

/** A contender that runs `readfile` of the first `use.length` files in a Rust binary. */
function rustContender (name, built, note, dir, files) {
  return {
    name,
    note,
    skip: built.error,
    run: async () => {
      const r = await runFloor(built.bin, ['readfile', dir, files, SIZE, DEPTH], 60_000)
      return { ops: r.ops, seconds: r.seconds }
    }
  }
}

export async function readFileBench ({ quick, floor = { error: 'not built' }, peers = { error: 'not built' }, rounds, log }) {
  const paths = ensureFiles(log)
  const use = quick ? paths.slice(0, 2_000) : paths
  const rust = (name, built, note) => rustContender(name, built, note, path.dirname(use[0]), use.length)
  let m
  const contenders = [
    {
      name: 'Machine.readFile',
      note: `${DEPTH} async loops; one chain per file`,
      setup: async () => { m = new Machine() },
      warmup: () => readAll(use, (p) => m.readFile(p)),
      run: settled(() => readAll(use, (p) => m.readFile(p))),
      teardown: async () => { await m?.destroy() }
    },
    { name: 'fs.promises.readFile', note: `${DEPTH} async loops`, warmup: () => readAll(use, readFileP), run: settled(() => readAll(use, readFileP)) },
    { name: 'fs.readFile', note: `${DEPTH} async loops over the callback API`, warmup: () => readAll(use, cb), run: settled(() => readAll(use, cb)) },
    { name: 'fs.readFileSync loop', note: 'one loop, nothing in flight', warmup: () => readAllSync(use), run: settled(() => readAllSync(use)) },
    rust('Rust floor', floor, `core Ring, ${DEPTH} chains in flight (Chain::read_file_into, pooled buffers), in its own process (no Node)`),
    rust('tokio-uring', peers, `Rust, tokio-uring 0.5, ${DEPTH} tasks: open, read_at 64 KiB to EOF, close per file, in its own process`)
  ]
  log(`readFile, ${use.length} files of ${SIZE} bytes, ${DEPTH} in flight`)
  return [await alternate({
    title: `readFile of ${use.length.toLocaleString('en-US')} files of 4 KiB, ${DEPTH} in flight`,
    unit: 'files',
    baseline: 'fs.promises.readFile',
    note: `Each run reads every file once (page cache warm after the warm-up), right after an untimed pass of its own for the contenders in this process (the Rust ones are processes of their own, cold each run). Machine.readFile: one submission of linked open, read, read (EOF) on a direct descriptor per file, and the close of its slot in the next one; one promise per file. fs.*: Node ${process.version} on libuv's thread pool.`,
    contenders,
    rounds,
    log
  })]
}

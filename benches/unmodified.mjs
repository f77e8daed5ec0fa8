// "Unmodified scripts": plain Node code over many small files. The
// workloads below (scan, handles, hashes) use node:fs and never mention
// uring-machine; each is measured as it is and routed by install(), side
// by side in one run, as `node benches/run.mjs unmodified` or alone:
//   node benches/unmodified.mjs [--quick] [--rounds N]
import { createReadStream } from 'node:fs'
import { readFile, stat, open } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { pipeline } from 'node:stream/promises'

/** `worker(file)` over `files`, `concurrency` at a time. */
async function each (files, concurrency, worker) {
  let next = 0
  const loop = async () => {
    while (next < files.length) await worker(files[next++])
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
}

/** stat + readFile of each file: the bytes read. */
export async function scan (files, concurrency = 64) {
  let bytes = 0
  await each(files, concurrency, async (f) => {
    const st = await stat(f)
    const data = await readFile(f)
    if (data.length !== st.size) throw new Error(`${f}: read ${data.length} bytes of ${st.size}`)
    bytes += data.length
  })
  return bytes
}

/** A FileHandle per file: open, read to the end in 4 KiB reads, close. The bytes read. */
export async function handles (files, concurrency = 64) {
  let bytes = 0
  await each(files, concurrency, async (f) => {
    const h = await open(f, 'r')
    try {
      const buf = Buffer.allocUnsafe(4096)
      for (;;) {
        const { bytesRead } = await h.read(buf, 0, buf.length, null)
        if (bytesRead === 0) break
        bytes += bytesRead
      }
    } finally {
      await h.close()
    }
  })
  return bytes
}

/** fs.createReadStream of each file piped into a sha256: the digests, xor-folded into one byte. */
export async function hashes (files, concurrency = 64) {
  let fold = 0
  await each(files, concurrency, async (f) => {
    const h = createHash('sha256')
    await pipeline(createReadStream(f), h)
    fold ^= h.digest()[0]
  })
  return fold
}

/** `n` small files (100-999 B) under benches/.data, made once. */
export async function smallFiles (n) {
  const fs = await import('node:fs')
  const path = await import('node:path')
  const { dataDir } = await import('./lib.mjs')
  const dir = path.join(dataDir, 'small-files')
  fs.mkdirSync(dir, { recursive: true })
  const files = []
  for (let i = 0; i < n; i++) {
    const f = path.join(dir, `f${i}.txt`)
    if (!fs.existsSync(f)) fs.writeFileSync(f, Buffer.alloc(100 + (i % 900), i & 0xff))
    files.push(f)
  }
  return files
}

/** One workload of this file over `files`, as it is and routed by install(), side by side. */
export async function unmodifiedTable ({ what, fn, routedNote, files, rounds, log }) {
  const { install, uninstall, runWithScheduler, UringScheduler } = await import('uring-machine')
  const { alternate, now } = await import('./lib.mjs')
  const n = files.length
  let s
  return alternate({
    title: `An unmodified script: ${what}, ${n.toLocaleString('en-US')} small files (100-999 B), 64 at a time`,
    unit: 'files',
    baseline: 'without install()',
    note: 'benches/unmodified.mjs; the workload never mentions uring-machine. Files page-cached.',
    contenders: [
      { name: 'without install()', note: 'Node\'s own (libuv thread pool)', run: async () => { const t0 = now(); await fn(files); return { ops: n, seconds: (now() - t0) / 1000 } } },
      {
        name: 'with install(), UringScheduler',
        note: routedNote,
        setup: async () => { s = new UringScheduler() },
        run: async () => {
          install()
          try {
            const t0 = now()
            await runWithScheduler(s, () => fn(files))
            return { ops: n, seconds: (now() - t0) / 1000 }
          } finally {
            uninstall()
          }
        },
        teardown: () => s.close()
      }
    ],
    rounds,
    log
  })
}

/** The workloads above, routed: [what, the workload, what install() does with it]. */
export const UNMODIFIED = [
  ['stat + readFile (fs/promises)', scan, 'routed: stat = one statx; readFile = one op chain (open, read, read to EOF) on the ring'],
  ['FileHandle: open, read to the end, close (fs.promises.open)', handles, 'open and close are Node\'s own (a FileHandle is Node\'s); the reads go to the ring'],
  ['fs.createReadStream piped to a sha256', hashes, 'routed through fs.open, fs.read and fs.close: open, 2 reads, close on the ring']
]

/** The benchmark of benches/run.mjs: each workload over 10k small files (2k with --quick), with install() and without. */
export async function unmodifiedBench ({ quick, rounds, log }) {
  const files = await smallFiles(quick ? 2000 : 10_000)
  const tables = []
  for (const [what, fn, routedNote] of UNMODIFIED) tables.push(await unmodifiedTable({ what, fn, routedNote, files, rounds, log }))
  return tables
}

// The harness: only when run as a script. Its pieces above load
// uring-machine only when called, so the workloads' module never does.
if (import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1] ?? '').href) {
  const { markdown, machineInfo } = await import('./lib.mjs')
  const quick = process.argv.includes('--quick')
  const ri = process.argv.indexOf('--rounds')
  const rounds = ri > 0 ? Number(process.argv[ri + 1]) : quick ? 3 : 7
  console.log(JSON.stringify(machineInfo()))
  for (const table of await unmodifiedBench({ quick, rounds, log: (m) => console.error(m) })) console.log(markdown(table))
}

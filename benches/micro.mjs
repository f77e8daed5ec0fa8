// Micro-benchmarks with benny (benchmark.js underneath: it picks the
// iteration count, runs samples until its margin of error settles, and
// reports ops/s ± margin): one NOP round trip, an uncontended Mutex
// lock/unlock, what argument validation costs (a call refused by it against
// an empty call and a NOP), and one readFile of a 4 KiB file against
// fs.promises.readFile.
//
//   node benches/micro.mjs            every suite; saves benny's JSON to benches/results/
//   node benches/micro.mjs nop mutex  only these (nop, mutex, validation, readfile)
//
// Each suite's JSON is benches/results/micro-<suite>-node<major>.json (one
// file per suite and Node major). These are one process's figures on a
// noisy host: the side-by-side, alternating benches (run.mjs) are the ones
// the targets are checked on.
import { mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import b from 'benny'
import { Machine, Mutex } from 'uring-machine'
import { benchDir, dataDir } from './lib.mjs'

const resultsDir = path.join(benchDir, 'results')
const major = process.versions.node.split('.')[0]
// benchmark.js defaults (5 s per case) would make a suite take half a minute.
const cfg = { maxTime: 2, minSamples: 10 }

function suite (name, title, ...cases) {
  return b.suite(
    title,
    ...cases,
    b.cycle(),
    b.complete(),
    b.save({ file: `micro-${name}-node${major}`, folder: resultsDir, format: 'json', details: false })
  )
}

const SUITES = {
  nop: (m) => suite('nop', `NOP round trip, one in flight (Node ${process.version})`,
    b.add('await m.nop()', async () => { await m.nop() }, cfg)),
  mutex: (m) => {
    const mu = new Mutex()
    return suite('mutex', `Mutex, uncontended lock/unlock (Node ${process.version})`,
      b.add('await m.lock(mu); m.unlock(mu)', async () => { await m.lock(mu); m.unlock(mu) }, cfg),
      b.add('mu.tryLock(); m.unlock(mu) (no await)', () => { if (mu.tryLock()) m.unlock(mu) }, cfg))
  },
  validation: (m) => {
    const buf = Buffer.alloc(16)
    const noop = () => {}
    return suite('validation', `Validation overhead (Node ${process.version})`,
      b.add('empty JS call', () => { noop(buf) }, cfg),
      b.add('m.read refused by validation (fd not a number: TypeError, caught)', () => {
        try { m.read('not an fd', buf) } catch (err) { if (err.code !== 'ERR_INVALID_ARG_TYPE') throw err }
      }, cfg),
      b.add('await m.nop() (validated, submitted, completed)', async () => { await m.nop() }, cfg))
  },
  readfile: (m) => {
    const file = path.join(dataDir, 'micro-4k.bin')
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(file, Buffer.alloc(4096, 7))
    return suite('readfile', `One readFile of a 4 KiB file, one in flight (Node ${process.version})`,
      b.add('Machine.readFile', async () => { if ((await m.readFile(file)).length !== 4096) throw new Error('short') }, cfg),
      b.add('fs.promises.readFile', async () => { if ((await readFile(file)).length !== 4096) throw new Error('short') }, cfg))
  }
}

async function main (argv) {
  const names = argv.length > 0 ? argv : Object.keys(SUITES)
  for (const n of names) if (!Object.hasOwn(SUITES, n)) throw new Error(`unknown suite ${n} (${Object.keys(SUITES).join(', ')})`)
  const m = new Machine()
  try {
    for (const n of names) await SUITES[n](m)
  } finally {
    await m.destroy()
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err)
  process.exitCode = 1
})

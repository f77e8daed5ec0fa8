// NOP round trip through the bridge: `await m.nop()` from DEPTH concurrent
// async loops, against the Rust floor keeping DEPTH NOPs in flight on a
// core Ring in its own process.
import { Machine } from 'uring-machine'
import { alternate, now, runFloor } from './lib.mjs'

/** Keeps `depth` nops in flight until `count` have been issued or `maxMs` passed. */
export async function machineNops (m, depth, count, maxMs) {
  const before = m.metrics()
  const deadline = now() + maxMs
  let issued = 0
  let stop = false
  async function loop () {
    while (!stop && issued < count) {
      issued++
      if ((issued & 1023) === 0 && now() > deadline) stop = true
      await m.nop()
    }
  }
  const t0 = now()
  const loops = []
  for (let i = 0; i < depth; i++) loops.push(loop())
  await Promise.all(loops)
  const seconds = (now() - t0) / 1000
  const after = m.metrics()
  const enters = after.enters - before.enters
  const batches = after.completionBatches - before.completionBatches
  return { ops: issued, seconds, info: `last round: ${(issued / Math.max(1, enters)).toFixed(1)} ops per io_uring_enter, ${(issued / Math.max(1, batches)).toFixed(1)} per completion batch` }
}

export async function nopBench ({ quick, floor, rounds, log }) {
  const tables = []
  for (const depth of [64, 1024]) {
    // Each run lasts about `maxMs` (the contenders differ ~4x in speed, so a
    // common count would time the floor over a far shorter window).
    const count = quick ? 5_000_000 : 50_000_000
    const maxMs = quick ? 250 : 1_000
    const entries = Math.max(256, depth)
    let m
    const contenders = [
      {
        name: 'Machine `await m.nop()`',
        note: `${depth} async loops, entries ${entries}`,
        setup: async () => { m = new Machine({ entries }) },
        warmup: () => machineNops(m, depth, count, maxMs),
        run: () => machineNops(m, depth, count, maxMs),
        teardown: async () => { await m?.destroy() }
      },
      {
        name: 'Rust floor',
        note: `core Ring, ${depth} in flight, entries ${entries}, in its own process (no Node)`,
        skip: floor.error,
        warmup: () => runFloor(floor.bin, ['nop', depth, count, '--max-seconds', maxMs / 1000], maxMs + 30_000),
        run: async () => {
          const r = await runFloor(floor.bin, ['nop', depth, count, '--max-seconds', maxMs / 1000], maxMs + 30_000)
          return { ops: r.ops, seconds: r.seconds }
        }
      }
    ]
    log(`nop, ${depth} in flight`)
    tables.push(await alternate({
      title: `NOP round trip, ${depth} in flight`,
      baseline: 'Rust floor',
      note: `Each run: ${maxMs / 1000} s of NOPs (at most ${count.toLocaleString('en-US')}). ` +
        'Machine: one JS thread, every NOP is a promise settled by the bridge. Rust floor: the same NOPs on a core Ring with no Node, timed inside its own process.',
      contenders,
      rounds,
      log
    }))
  }
  return tables
}

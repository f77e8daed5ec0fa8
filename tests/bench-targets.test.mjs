// The benchmark harness's verdicts (benches/run.mjs targets()): each
// issue's target is checked at the ratio the issue names, from the paired
// per-round ratios of the table's own samples.
import test from 'ava'
import { targets } from '../benches/run.mjs'

const table = (title, rows) => ({ title, unit: 'files', rows: Object.entries(rows).map(([name, samples]) => ({ name, samples, opsPerSec: samples[1] })) })
const verdict = (tables, start) => targets(tables).find((t) => t.target.startsWith(start))

test('the unmodified script must reach 3x, copyFile 2x, writeFile 4x, readFile 5x and readFileSync', (t) => {
  const at = (x) => [
    table('An unmodified script: stat + readFile, 10,000 small files (100-999 B), 64 at a time', { 'without install()': [100, 100, 100], 'with install(), UringScheduler': [100 * x, 100 * x, 100 * x] }),
    table('copyFile of 1,000 files of 256 KiB, 32 in flight', { 'Machine.copyFile': [10 * x, 10 * x, 10 * x], 'fs.promises.copyFile': [10, 10, 10] }),
    table('writeFile of 10,000 files of 4 KiB, 64 in flight', { 'Machine.writeFile': [x, x, x], 'fs.promises.writeFile': [1, 1, 1] }),
    table('readFile of 10,000 files of 4 KiB, 64 in flight', { 'Machine.readFile': [x, x, x], 'fs.promises.readFile': [1, 1, 1], 'fs.readFileSync loop': [2, 2, 2] })
  ]
  const low = at(1.9)
  const mid = at(2.9)
  const high = at(5.1)
  t.false(verdict(low, 'Unmodified script').met)
  t.false(verdict(mid, 'Unmodified script').met, '2.9x is short of 3x')
  t.true(verdict(high, 'Unmodified script').met)
  t.regex(verdict(mid, 'Unmodified script').target, />= 3x/)
  t.false(verdict(low, 'copyFile').met)
  t.true(verdict(mid, 'copyFile').met)
  t.false(verdict(mid, 'writeFile').met)
  t.true(verdict(high, 'writeFile').met)
  t.false(verdict(mid, 'readFile of small files: Machine.readFile >= 5x').met)
  t.true(verdict(high, 'readFile of small files: Machine.readFile >= 5x').met)
  t.false(verdict(low, 'readFile of small files: Machine.readFile >= 1x fs.readFileSync').met, '1.9 is behind readFileSync at 2')
  t.true(verdict(mid, 'readFile of small files: Machine.readFile >= 1x fs.readFileSync').met)
})

test('every missed target of these tables has its reason in the report', async (t) => {
  const { WHY } = await import('../benches/run.mjs')
  const one = { 'without install()': [1, 1, 1], 'with install(), UringScheduler': [1, 1, 1], 'Machine.copyFile': [1, 1, 1], 'fs.promises.copyFile': [1, 1, 1], 'Machine.writeFile': [1, 1, 1], 'fs.promises.writeFile': [1, 1, 1], 'Machine.readFile': [1, 1, 1], 'fs.promises.readFile': [1, 1, 1], 'fs.readFileSync loop': [2, 2, 2] }
  const missed = targets(['An unmodified script: x', 'copyFile of x', 'writeFile of x', 'readFile of x'].map((title) => table(title, one))).filter((x) => !x.met)
  t.is(missed.length, 5)
  for (const m of missed) t.truthy(Object.keys(WHY).find((k) => m.target.startsWith(k)), m.target)
})

// benches/chart.mjs: the ratio chart is drawn by vega-lite and vega in
// Node, as SVG, from saved run results (no canvas package installed).
import test from 'ava'
import { createRequire } from 'node:module'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ratioData, renderChart, writeChart } from '../benches/chart.mjs'

const run = (node, machineRatio) => ({
  info: { node },
  tables: [{
    title: '4 KiB random reads',
    baseline: 'FileHandle.read',
    rows: [
      { name: 'Machine `m.read`', ratio: machineRatio },
      { name: 'FileHandle.read', ratio: 1 },
      { name: 'tokio-uring', ratio: 9.5 },
      { name: 'skipped one', ratio: NaN }
    ]
  }]
})

test('ratioData: one datum per contender and run, baselines and missing ratios left out', (t) => {
  const data = ratioData([run('v20.20.2', 6), run('v24.22.3', 5), run('v24.22.3', 4)])
  t.deepEqual(data.map((d) => `${d.run}|${d.contender}|${d.ratio}`), [
    'Node v20.20.2|Machine m.read|6',
    'Node v20.20.2|tokio-uring|9.5',
    'Node v24.22.3, run 1|Machine m.read|5',
    'Node v24.22.3, run 1|tokio-uring|9.5',
    'Node v24.22.3, run 2|Machine m.read|4',
    'Node v24.22.3, run 2|tokio-uring|9.5'
  ])
  t.is(data[0].bench, '4 KiB random reads (vs FileHandle.read)')
})

test('renderChart draws an SVG naming every contender, with no canvas package', async (t) => {
  const require = createRequire(import.meta.url)
  t.throws(() => require.resolve('canvas'), { code: 'MODULE_NOT_FOUND' })
  const svg = await renderChart([run('v20.20.2', 6.25)])
  t.true(svg.startsWith('<svg'))
  t.true(svg.includes('Machine m.read'))
  t.true(svg.includes('tokio-uring'))
  t.true(svg.includes('6.25'))
  t.false(svg.includes('skipped one'))
  await t.throwsAsync(renderChart([{ info: {}, tables: [] }]), { message: 'no ratios to chart' })
})

test('writeChart re-draws from saved JSON files', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const saved = path.join(dir, 'run.json')
  writeFileSync(saved, JSON.stringify(run('v24.22.3', 3)))
  const out = await writeChart([saved], path.join(dir, 'sub', 'ratios.svg'))
  t.regex(readFileSync(out, 'utf8'), /^<svg[^]*tokio-uring[^]*<\/svg>$/)
})

// The ratio chart: every contender of every table against its table's
// baseline (the paired ratio of run.mjs), as an SVG drawn by vega-lite and
// vega in Node (view.toSVG(): no canvas, no browser).
//
//   node benches/chart.mjs                       benches/results/run.json -> benches/ratios.svg
//   node benches/chart.mjs A.json B.json -o X.svg several saved runs in one chart
//
// A saved run is what `node benches/run.mjs` writes with --json FILE (a
// full run writes benches/results/run.json): { info, tables }. Runs are
// told apart by their Node version (and their order, should several share it).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import * as vega from 'vega'
import * as vl from 'vega-lite'
import { benchDir } from './lib.mjs'

export const defaultResults = path.join(benchDir, 'results', 'run.json')
export const defaultChart = path.join(benchDir, 'ratios.svg')

/** One datum per contender (baselines left out) per table per run. */
export function ratioData (runs) {
  const seen = new Map()
  const names = runs.map((r) => {
    const node = r.info?.node ?? 'unknown Node'
    const twins = runs.filter((o) => (o.info?.node ?? 'unknown Node') === node).length
    const k = (seen.get(node) ?? 0) + 1
    seen.set(node, k)
    return twins > 1 ? `Node ${node}, run ${k}` : `Node ${node}`
  })
  const data = []
  runs.forEach((r, i) => {
    for (const t of r.tables) {
      for (const row of t.rows) {
        if (row.name === t.baseline || !Number.isFinite(row.ratio)) continue
        data.push({ bench: `${t.title} (vs ${t.baseline})`, contender: row.name.replace(/`/g, ''), ratio: row.ratio, run: names[i] })
      }
    }
  })
  return data
}

/** The vega-lite spec of the chart. */
export function chartSpec (data) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Each contender against its table\'s baseline (median of per-round ratios; 1 = as fast)', anchor: 'start' },
    data: { values: data },
    facet: { row: { field: 'bench', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top', labelFontWeight: 'bold', labelLimit: 700 } } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 520,
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          encoding: {
            y: { field: 'contender', type: 'nominal', title: null, sort: null, axis: { labelLimit: 260 } },
            yOffset: { field: 'run', type: 'nominal' },
            x: { field: 'ratio', type: 'quantitative', title: 'times the baseline' },
            color: { field: 'run', type: 'nominal', title: 'run', sort: null, legend: { labelLimit: 300 } }
          }
        },
        {
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 9 },
          encoding: {
            y: { field: 'contender', type: 'nominal', sort: null },
            yOffset: { field: 'run', type: 'nominal' },
            x: { field: 'ratio', type: 'quantitative' },
            text: { field: 'ratio', type: 'quantitative', format: '.2f' }
          }
        },
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { x: { datum: 1 } } }
      ]
    },
    config: { font: 'sans-serif', background: 'white' }
  }
}

/** The SVG text of the chart of `runs` (saved results). */
export async function renderChart (runs) {
  const data = ratioData(runs)
  if (data.length === 0) throw new Error('no ratios to chart')
  // Its one warning (independent y scales of a faceted layer share their
  // fields) is about this very layout: not worth a line per table.
  const { spec } = vl.compile(chartSpec(data), { logger: vega.logger(vega.Error) })
  const view = new vega.View(vega.parse(spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** Renders the runs saved in `files` into `out`. */
export async function writeChart (files = [defaultResults], out = defaultChart) {
  const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')))
  const svg = await renderChart(runs)
  mkdirSync(path.dirname(out), { recursive: true })
  writeFileSync(out, svg)
  return out
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2)
  let out = defaultChart
  const files = []
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-o') out = path.resolve(args[++i] ?? '')
    else files.push(path.resolve(args[i]))
  }
  writeChart(files.length > 0 ? files : [defaultResults], out).then(
    (f) => console.error(`wrote ${path.relative(process.cwd(), f)}`),
    (err) => { console.error(err); process.exitCode = 1 }
  )
}

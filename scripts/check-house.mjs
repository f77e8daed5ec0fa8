#!/usr/bin/env node
// The house check: the file-level rules of DESIGN.md that no compiler
// checks. It prints one line per problem, naming the file, and exits 1 if
// there is any (0 when the house is in order). `.ci/run` counts it as one
// check. Usage: node scripts/check-house.mjs [repository root]
//
// (a) Size. A source file in crates/*/src or packages/*/src longer than
//     500 lines must say why at its top: a comment line starting with
//     `// size:` (TypeScript, Rust) or `//! size:` (a Rust module's inner
//     doc) followed by the reason, among its first 20 lines. For example
//         // size: the public API's documentation; each method delegates
//     A file without it is reported with its line count.
//
// (b) TypeScript import circles among the modules of
//     packages/uring-machine/src, from `import ... from './x'` and
//     `export ... from './x'` (and `import './x'`). './x' is x.ts or
//     x/index.ts. Type-only imports (`import type`, `export type`, or every
//     named specifier marked `type`) are not edges: tsc erases them, so
//     they cannot make a load-order circle, and an interface and the class
//     that implements its callers may name each other (Scheduler and
//     Task). They are listed as notes when they close a circle, never as
//     failures. Lazy `require()` calls inside functions are not edges.
//
// (c) Rust module circles within each crate, from `crate::` paths: `use
//     crate::a::b`, `use crate::{a, b::c}`, and `crate::a::f()` written
//     inline. A file is a module (lib.rs the root, x.rs and x/mod.rs
//     module x, x/y.rs module x::y); a path names the longest module that
//     prefixes it. Relative paths (`super::`, `self::`, a child named from
//     its parent) are not edges: a parent and its children are one unit.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs'
import { join, relative, dirname, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'))
const MAX_LINES = 500
const MARKER = /^\s*\/\/!? size:\s*\S/
const problems = []
const notes = []
const rel = (p) => relative(root, p).split(sep).join('/')

function walk (dir, ext, out = []) {
  if (!existsSync(dir)) return out
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p, ext, out)
    else if (ext.some((e) => name.endsWith(e)) && !name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

function subdirs (dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir).sort().map((n) => join(dir, n)).filter((p) => statSync(p).isDirectory())
}

/** Every cycle's members, one list per strongly connected component of more than one node (Tarjan). */
function circles (graph) {
  let index = 0
  const stack = []
  const on = new Set()
  const idx = new Map()
  const low = new Map()
  const out = []
  const visit = (v) => {
    idx.set(v, index); low.set(v, index); index++
    stack.push(v); on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))) } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
    }
    if (low.get(v) === idx.get(v)) {
      const scc = []
      let w
      do { w = stack.pop(); on.delete(w); scc.push(w) } while (w !== v)
      if (scc.length > 1) out.push(scc)
    }
  }
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v)
  return out
}

/** One cycle through `start` inside `members` (a BFS back to it), for the report. */
function cycleThrough (graph, members, start) {
  const inside = new Set(members)
  const prev = new Map([[start, null]])
  const queue = [start]
  while (queue.length > 0) {
    const v = queue.shift()
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!inside.has(w)) continue
      if (w === start) {
        const path = [start]
        for (let x = v; x !== start; x = prev.get(x)) path.splice(1, 0, x)
        return [...path, start]
      }
      if (!prev.has(w)) { prev.set(w, v); queue.push(w) }
    }
  }
  return [start, start]
}

// --- (a) sizes ---------------------------------------------------------------
const sources = [
  ...subdirs(join(root, 'crates')).flatMap((c) => walk(join(c, 'src'), ['.rs'])),
  ...subdirs(join(root, 'packages')).flatMap((p) => walk(join(p, 'src'), ['.ts', '.mts', '.cts', '.js', '.mjs']))
]
for (const file of sources) {
  const lines = readFileSync(file, 'utf8').split('\n')
  const count = lines.at(-1) === '' ? lines.length - 1 : lines.length
  if (count > MAX_LINES && !lines.slice(0, 20).some((l) => MARKER.test(l))) {
    problems.push(`${rel(file)}: ${count} lines (over ${MAX_LINES}) and no "// size: <reason>" line at its top`)
  }
}

// --- (b) TypeScript import circles -------------------------------------------
const IMPORT = /^\s*(import|export)\s+(type\s+)?([\w$]+\s*,\s*)?(\{[^}]*\}|\*\s+as\s+[\w$]+|\*|[\w$]+)\s+from\s+['"]([^'"]+)['"]/gm
const BARE_IMPORT = /^\s*import\s+['"]([^'"]+)['"]/gm
for (const pkg of subdirs(join(root, 'packages'))) {
  const src = join(pkg, 'src')
  const files = walk(src, ['.ts'])
  if (files.length === 0) continue
  const runtime = new Map()
  const all = new Map()
  const resolveTs = (from, spec) => {
    const base = resolve(dirname(from), spec)
    for (const cand of [base + '.ts', join(base, 'index.ts'), base]) if (existsSync(cand) && statSync(cand).isFile()) return cand
    return null
  }
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    runtime.set(file, new Set())
    all.set(file, new Set())
    const add = (spec, typeOnly) => {
      if (!spec.startsWith('.')) return
      const target = resolveTs(file, spec)
      if (target === null) { problems.push(`${rel(file)}: imports '${spec}', which is no module of ${rel(src)}`); return }
      all.get(file).add(target)
      if (!typeOnly) runtime.get(file).add(target)
    }
    for (const m of text.matchAll(IMPORT)) {
      const [, , typeKw, defaultName, clause, spec] = m
      let typeOnly = typeKw !== undefined
      if (!typeOnly && defaultName === undefined && clause.startsWith('{')) {
        const names = clause.slice(1, -1).split(',').map((s) => s.trim()).filter((s) => s !== '')
        typeOnly = names.length > 0 && names.every((s) => s.startsWith('type '))
      }
      add(spec, typeOnly)
    }
    for (const m of text.matchAll(BARE_IMPORT)) add(m[1], false)
  }
  for (const scc of circles(runtime)) {
    const start = [...scc].sort()[0]
    problems.push(`${rel(start)}: import circle ${cycleThrough(runtime, scc, start).map(rel).join(' -> ')}`)
  }
  for (const scc of circles(all)) {
    const start = [...scc].sort()[0]
    const cycle = cycleThrough(all, scc, start)
    const isRuntime = cycle.slice(1).every((f, i) => runtime.get(cycle[i]).has(f))
    if (!isRuntime) notes.push(`${rel(start)}: type-only circle ${cycle.map(rel).join(' -> ')} (erased by tsc; not a failure)`)
  }
}

// --- (c) Rust module circles ---------------------------------------------------
/** The full paths of a use tree's leaves: `a::{b, c::{d, e}}` -> a::b, a::c::d, a::c::e. */
function useTreeAt (text, i) {
  const paths = []
  const segs = []
  for (;;) {
    const m = /^\s*([A-Za-z_][\w]*)\s*/.exec(text.slice(i))
    if (m !== null && text.slice(i + m[0].length, i + m[0].length + 2) === '::') {
      segs.push(m[1]); i += m[0].length + 2; continue
    }
    if (m !== null) { segs.push(m[1]); paths.push(segs); return paths }
    const g = /^\s*\{/.exec(text.slice(i))
    if (g === null) { paths.push(segs); return paths }
    // A group: split at top-level commas.
    let depth = 0
    let j = i + g[0].length
    let start = j
    for (; j < text.length; j++) {
      const ch = text[j]
      if (ch === '{') depth++
      else if (ch === '}') {
        if (depth === 0) break
        depth--
      } else if (ch === ',' && depth === 0) {
        for (const p of useTreeAt(text.slice(start, j), 0)) paths.push([...segs, ...p])
        start = j + 1
      }
    }
    if (text.slice(start, j).trim() !== '') for (const p of useTreeAt(text.slice(start, j), 0)) paths.push([...segs, ...p])
    return paths
  }
}

for (const crate of subdirs(join(root, 'crates'))) {
  const src = join(crate, 'src')
  const files = walk(src, ['.rs'])
  if (files.length === 0) continue
  const modOf = new Map()
  const fileOf = new Map()
  for (const file of files) {
    const parts = relative(src, file).split(sep)
    const last = parts.pop().replace(/\.rs$/, '')
    if (parts.length === 0 && (last === 'lib' || last === 'main')) modOf.set(file, '')
    else modOf.set(file, [...parts, ...(last === 'mod' ? [] : [last])].join('::'))
    fileOf.set(modOf.get(file), file)
  }
  const graph = new Map()
  for (const file of files) {
    const from = modOf.get(file)
    const edges = new Set()
    graph.set(file, edges)
    // Line comments out (doc comments name paths too); strings are left alone.
    const text = readFileSync(file, 'utf8').replace(/(^|[^:"\\])\/\/.*$/gm, '$1')
    for (const m of text.matchAll(/(?<![\w$])crate::/g)) {
      for (const path of useTreeAt(text, m.index + m[0].length)) {
        let best = ''
        for (let n = path.length; n > 0; n--) {
          const name = path.slice(0, n).join('::')
          if (fileOf.has(name)) { best = name; break }
        }
        if (best !== '' && best !== from) edges.add(fileOf.get(best))
      }
    }
  }
  for (const scc of circles(graph)) {
    const start = [...scc].sort()[0]
    problems.push(`${rel(start)}: module circle ${cycleThrough(graph, scc, start).map(rel).join(' -> ')}`)
  }
}

for (const n of notes) console.log(`house: note: ${n}`)
for (const p of problems) console.log(`house: ${p}`)
console.log(problems.length === 0 ? `house: in order (${sources.length} source files)` : `house: ${problems.length} problem${problems.length === 1 ? '' : 's'}`)
process.exitCode = problems.length === 0 ? 0 : 1

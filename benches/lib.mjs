// Shared benchmark machinery: timing, alternation of contenders, bounded
// runs, the Rust floor, machine info and Markdown tables.
//
// A benchmark is a list of contenders measured side by side in one process
// run: every round runs each contender once, in an order that rotates from
// round to round, so that drift on a shared, noisy machine (frequency,
// neighbours, page cache) lands on every contender alike. What is reported
// is the median over rounds, and ratios to a baseline named in the table.
import { execFile, spawnSync } from 'node:child_process'
import fs, { existsSync, readFileSync } from 'node:fs'
import { randomFillSync } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const benchDir = path.dirname(fileURLToPath(import.meta.url))
export const repoDir = path.dirname(benchDir)
export const dataDir = path.join(benchDir, '.data')

export const now = () => performance.now()

export function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** Rejects if `promise` has not settled after `ms`: nothing may hang a run. */
export function bounded (promise, ms, label) {
  let timer
  const watchdog = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no result after ${Math.round(ms / 1000)} s (stalled)`)), ms)
  })
  return Promise.race([promise, watchdog]).finally(() => clearTimeout(timer))
}

/**
 * Runs `contenders` for `rounds` rounds, alternating. A contender is
 * `{ name, note?, setup?, warmup?, run, teardown?, skip? }`; `run(round)`
 * resolves `{ ops, seconds, info? }`. One untimed warm-up run (`warmup`,
 * or `run` itself) precedes the rounds, for the JIT and the caches.
 * Resolves a table: `{ title, unit, baseline, note, rows }`.
 */
export async function alternate ({ title, unit = 'ops', baseline, note, contenders, rounds, runTimeoutMs = 60_000, log = () => {} }) {
  const live = contenders.filter((c) => !c.skip)
  const samples = new Map(contenders.map((c) => [c, []]))
  const infos = new Map()
  const ready = []
  let failure
  try {
    for (const c of live) {
      ready.push(c) // torn down even if its setup fails halfway
      if (c.setup !== undefined) await bounded(c.setup(), runTimeoutMs, `${c.name}: setup`)
      await bounded((c.warmup ?? c.run)(-1), runTimeoutMs, `${c.name}: warm-up`)
    }
    for (let r = 0; r < rounds; r++) {
      const order = live.map((_, i) => live[(i + r) % live.length])
      for (const c of order) {
        const res = await bounded(c.run(r), runTimeoutMs, `${c.name}: round ${r + 1}`)
        if (!(res.ops > 0) || !(res.seconds > 0)) throw new Error(`${c.name}: empty run (${res.ops} ${unit} in ${res.seconds} s)`)
        samples.get(c).push(res.ops / res.seconds)
        if (res.info !== undefined) infos.set(c, res.info)
        log(`  round ${r + 1}/${rounds} ${c.name}: ${fmtRate(res.ops / res.seconds)} ${unit}/s (${res.ops} in ${res.seconds.toFixed(3)} s)`)
      }
    }
  } catch (err) {
    failure = err
  }
  for (const c of ready.reverse()) {
    try {
      if (c.teardown !== undefined) await bounded(c.teardown(), runTimeoutMs, `${c.name}: teardown`)
    } catch (err) {
      failure ??= err
    }
  }
  if (failure !== undefined) throw failure
  const base = contenders.find((c) => c.name === baseline)
  const baseSamples = base !== undefined ? samples.get(base) : []
  const rows = contenders.map((c) => {
    const s = samples.get(c)
    const rate = median(s)
    return {
      name: c.name,
      note: [c.note, c.skip, infos.get(c)].filter(Boolean).join('; '),
      opsPerSec: rate,
      nsPerOp: 1e9 / rate,
      ratio: pairedRatio(s, baseSamples),
      min: Math.min(...s),
      max: Math.max(...s),
      samples: s
    }
  })
  return { title, unit, baseline, note, rounds, rows }
}

/**
 * How many times faster `a` is than `b`: the median of the per-round ratios
 * (both ran in the same round, close in time), so that drift of a shared
 * machine between rounds cancels out.
 */
export function pairedRatio (a, b) {
  const n = Math.min(a.length, b.length)
  if (n === 0) return NaN
  const r = []
  for (let i = 0; i < n; i++) r.push(a[i] / b[i])
  return median(r)
}

/** The row of `table` named `name` (or whose name starts with it). */
export function row (table, name) {
  return table?.rows.find((r) => r.name === name || r.name.startsWith(name))
}

export function fmtRate (x) {
  if (!Number.isFinite(x)) return 'n/a'
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`
  return x.toFixed(0)
}

export function fmtNs (x) {
  if (!Number.isFinite(x)) return 'n/a'
  if (x >= 1e4) return x.toFixed(0)
  return x.toFixed(x >= 100 ? 0 : 1)
}

export function fmtRatio (x) {
  if (!Number.isFinite(x)) return 'n/a'
  return `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}x`
}

/** A table as Markdown. */
export function markdown (t) {
  const unit = t.unit
  const lines = []
  lines.push(`### ${t.title}`, '')
  if (t.note) lines.push(t.note, '')
  lines.push(`| contender | ${unit}/s (median) | ns/${unit === 'ops' ? 'op' : unit.replace(/s$/, '')} | ratio to ${t.baseline} | spread over ${t.rounds} rounds (${unit}/s) | notes |`)
  lines.push('|---|---:|---:|---:|---|---|')
  for (const r of t.rows) {
    const spread = r.samples.length > 0 ? `${fmtRate(r.min)} - ${fmtRate(r.max)}` : 'n/a'
    lines.push(`| ${r.name} | ${fmtRate(r.opsPerSec)} | ${fmtNs(r.nsPerOp)} | ${fmtRatio(r.ratio)} | ${spread} | ${r.note.replace(/\|/g, '/')} |`)
  }
  lines.push('')
  return lines.join('\n')
}

// ---------------------------------------------------------------- the floor

function targetDir () {
  return process.env.CARGO_TARGET_DIR !== undefined ? path.resolve(repoDir, process.env.CARGO_TARGET_DIR) : path.join(repoDir, 'target')
}

/**
 * Builds crates/core/examples/floor.rs (a no-op when up to date) and
 * returns the binary's path, or `{ error }` when there is none.
 */
export function buildFloor ({ log = () => {} } = {}) {
  const bin = path.join(targetDir(), 'release', 'examples', 'floor')
  log('building the Rust floor (cargo build --release --example floor)')
  const res = spawnSync('cargo', ['build', '--release', '--quiet', '--example', 'floor', '-p', 'uring-machine-core'], {
    cwd: repoDir,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 300_000
  })
  if (res.status !== 0) {
    const why = res.error?.message ?? res.stderr?.toString().trim().split('\n').slice(-3).join(' ')
    if (existsSync(bin)) {
      log(`cargo failed (${why}); using the existing ${bin}`)
      return { bin }
    }
    return { error: `Rust floor not built: ${why}` }
  }
  return existsSync(bin) ? { bin } : { error: `Rust floor not found at ${bin}` }
}

/**
 * Builds benches/rust (the peers: tokio-uring on the floor's loads, a
 * cargo package of its own, so the workspace's tests never build tokio) and
 * returns its binary's path, or `{ error }`. A no-op when up to date.
 */
export function buildPeers ({ log = () => {} } = {}) {
  const dir = path.join(benchDir, 'rust')
  const bin = path.join(dir, 'target', 'release', 'peers')
  log('building the Rust peers (cargo build --release in benches/rust)')
  const res = spawnSync('cargo', ['build', '--release', '--quiet', '--locked'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 600_000,
    env: { ...process.env, CARGO_TARGET_DIR: path.join(dir, 'target') }
  })
  if (res.status !== 0) {
    const why = res.error?.message ?? res.stderr?.toString().trim().split('\n').slice(-3).join(' ')
    if (existsSync(bin)) {
      log(`cargo failed (${why}); using the existing ${bin}`)
      return { bin }
    }
    return { error: `Rust peers not built: ${why}` }
  }
  return existsSync(bin) ? { bin } : { error: `Rust peers not found at ${bin}` }
}

/** Runs the floor binary (or the peers', same arguments) with `args`; resolves its JSON line. */
export function runFloor (bin, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(bin, args.map(String), { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`floor ${args.join(' ')}: ${err.message} ${stderr}`.trim()))
        return
      }
      try {
        const line = stdout.trim().split('\n').pop()
        resolve(JSON.parse(line))
      } catch (e) {
        reject(new Error(`floor ${args.join(' ')}: bad output ${JSON.stringify(stdout)}`))
      }
    })
  })
}

// ------------------------------------------------------------- machine info

export function machineInfo () {
  let cpu = 'unknown'
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m) cpu = m[1].trim()
  } catch {}
  if (cpu === 'unknown') cpu = os.cpus()[0]?.model ?? 'unknown'
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
  let commit = 'unknown'
  const git = spawnSync('git', ['describe', '--always', '--dirty', '--exclude', '*'], { cwd: repoDir, encoding: 'utf8', timeout: 10_000 })
  if (git.status === 0) commit = git.stdout.trim()
  return {
    cpu,
    cores,
    commit,
    load: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    kernel: os.release(),
    node: process.version,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  }
}

const MiB = 2 ** 20

/** Creates `random-<n>m.bin` (random content) in benches/.data once; returns its path. */
export function ensureFile (size, log) {
  const file = path.join(dataDir, `random-${size / MiB}m.bin`)
  try {
    if (fs.statSync(file).size === size) return file
  } catch {}
  log(`creating ${path.relative(process.cwd(), file)} (${size / MiB} MiB of random bytes)`)
  const t0 = now()
  fs.mkdirSync(dataDir, { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  const chunk = Buffer.allocUnsafe(MiB)
  const fd = fs.openSync(tmp, 'w')
  try {
    for (let off = 0; off < size; off += chunk.length) {
      randomFillSync(chunk)
      fs.writeSync(fd, chunk, 0, chunk.length, off)
    }
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
  log(`  created in ${((now() - t0) / 1000).toFixed(1)} s`)
  return file
}

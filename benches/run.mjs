// Entry of `npm run bench`: every benchmark, contenders side by side.
//
//   node benches/run.mjs                 all benchmarks, full size; writes benches/RESULTS.md
//   node benches/run.mjs --quick         shorter rounds; prints only
//   node benches/run.mjs read echo       only these (nop, read, echo, mutex, copy, queue, spawn, scheduler, readfile, copyfile, writefile, unmodified); prints only
//   node benches/run.mjs --rounds 9      rounds per benchmark (default 7, --quick 3)
//   node benches/run.mjs --json F.json   also save the tables as JSON (for benches/chart.mjs)
//
// A full run also saves benches/results/run.json and draws its ratios into
// benches/ratios.svg (benches/chart.mjs re-draws it from the saved JSON).
//
// Each benchmark alternates its contenders over rounds (see lib.mjs) and
// reports the median, ns per op, and the ratio to a named baseline.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { Machine } from 'uring-machine'
import { benchDir, buildFloor, buildPeers, fmtNs, fmtRate, fmtRatio, machineInfo, markdown, pairedRatio, row } from './lib.mjs'
import { nopBench } from './nop.mjs'
import { readBench } from './read.mjs'
import { echoBench } from './echo.mjs'
import { mutexBench } from './mutex.mjs'
import { copyBench } from './copy.mjs'
import { schedulerBench } from './scheduler.mjs'
import { queueBench } from './queue.mjs'
import { spawnBench } from './spawn.mjs'
import { readFileBench } from './readfile.mjs'
import { defaultChart, defaultResults, writeChart } from './chart.mjs'
import { copyFileBench } from './copyfile.mjs'
import { writeFileBench } from './writefile.mjs'
import { unmodifiedBench } from './unmodified.mjs'

export const BENCHES = { nop: nopBench, read: readBench, echo: echoBench, mutex: mutexBench, copy: copyBench, queue: queueBench, spawn: spawnBench, scheduler: schedulerBench, readfile: readFileBench, copyfile: copyFileBench, writefile: writeFileBench, unmodified: unmodifiedBench }

function usage (message) {
  return Object.assign(new Error(`${message}\nusage: node benches/run.mjs [--quick] [--rounds N] [--verbose] [--json FILE] [${Object.keys(BENCHES).join('|')} ...]`), { usage: true })
}

function parseArgs (argv) {
  const opts = { quick: false, rounds: undefined, only: [], verbose: false, json: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') opts.quick = true
    else if (a === '--verbose' || a === '-v') opts.verbose = true
    else if (a === '--rounds') opts.rounds = Number(argv[++i])
    else if (a === '--json') { opts.json = argv[++i]; if (!opts.json) throw usage('--json takes a file name') }
    else if (Object.hasOwn(BENCHES, a)) { if (!opts.only.includes(a)) opts.only.push(a) }
    else throw usage(`unknown argument ${JSON.stringify(a)} (benchmarks: ${Object.keys(BENCHES).join(', ')}; options: --quick, --rounds N, --verbose, --json FILE)`)
  }
  if (opts.rounds !== undefined && !(Number.isInteger(opts.rounds) && opts.rounds >= 1 && opts.rounds <= 50)) throw usage('--rounds takes an integer from 1 to 50')
  return opts
}

/** The issue's targets, checked against the measured tables. */
export function targets (tables) {
  const byTitle = (start) => tables.find((t) => t.title.startsWith(start))
  const out = []
  const ratio = (table, a, b) => pairedRatio(row(table, a)?.samples ?? [], row(table, b)?.samples ?? [])
  const read = byTitle('4 KiB random reads')
  if (read !== undefined) {
    const machine = 'Machine'
    for (const [other, want] of [['FileHandle.read', 4], ['fs.read', 2], ['tokio-uring', 1], ['Rust floor', 0.5]]) {
      if (row(read, other) === undefined || row(read, other).samples.length === 0) continue
      const x = ratio(read, machine, other)
      out.push({ target: `Random reads: Machine >= ${want}x ${other}`, measured: `${fmtRatio(x)} (${fmtRate(row(read, machine).opsPerSec)} vs ${fmtRate(row(read, other)?.opsPerSec)} reads/s)`, met: x >= want })
    }
  }
  const echo = byTitle('TCP echo')
  if (echo !== undefined) {
    const x = ratio(echo, 'Machine', 'node:net')
    const fl = ratio(echo, 'Rust floor', 'node:net')
    const ref = Number.isFinite(fl) ? `; the Rust floor on the same load: ${fmtRatio(fl)} node:net, Machine = ${fmtRatio(x / fl)} of it` : ''
    out.push({ target: 'TCP echo: Machine >= 2x node:net', measured: `${fmtRatio(x)} (${fmtRate(row(echo, 'Machine').opsPerSec)} vs ${fmtRate(row(echo, 'node:net').opsPerSec)} msgs/s${ref})`, met: x >= 2 })
    const ms = ratio(echo, 'Machine, multishot recv', 'Machine')
    if (Number.isFinite(ms)) {
      out.push({ target: 'TCP echo: multishot recv >= 1.2x single-shot recv', measured: `${fmtRatio(ms)} (${fmtRate(row(echo, 'Machine, multishot recv').opsPerSec)} vs ${fmtRate(row(echo, 'Machine').opsPerSec)} msgs/s)`, met: ms >= 1.2 })
    }
  }
  const mutexU = byTitle('Mutex, uncontended')
  if (mutexU !== undefined) {
    const r = row(mutexU, 'Machine Mutex')
    const ref = `Atomics.waitAsync mutex ${fmtNs(row(mutexU, 'Atomics.waitAsync mutex')?.nsPerOp)} ns; sync compareExchange + store, no await: ${fmtNs(row(mutexU, 'sync compareExchange')?.nsPerOp)} ns`
    out.push({ target: 'Mutex: uncontended lock+unlock < 50 ns', measured: `${fmtNs(r.nsPerOp)} ns per lock+unlock (${ref})`, met: r.nsPerOp < 50 })
  }
  const mutexC = byTitle('Mutex, contended')
  if (mutexC !== undefined) {
    const r = row(mutexC, 'Machine Mutex')
    const x = ratio(mutexC, 'Machine Mutex', 'Atomics.waitAsync mutex')
    // Throughput only counts as contended throughput if both workers got the lock.
    const starved = !(r.minShare >= 0.1)
    const share = Number.isFinite(r.minShare) ? `${(100 * r.minShare).toFixed(1)}%` : 'n/a'
    const measured = `${fmtRatio(x)} (${fmtRate(r.opsPerSec)} vs ${fmtRate(row(mutexC, 'Atomics.waitAsync mutex')?.opsPerSec)} increments/s); smallest share of one worker in a round: ${share}` +
      (starved ? ' (one worker was starved, so the rate is not that of a contended lock: not counted as met)' : '')
    out.push({ target: 'Mutex: contended >= 2x the Atomics.waitAsync mutex', measured, met: x >= 2 && !starved })
  }
  const copyTcp = byTitle('File to TCP')
  if (copyTcp !== undefined) {
    const x = ratio(copyTcp, 'Machine `m.copy`', 'stream.pipeline')
    const rw = ratio(copyTcp, 'Machine read/send loop', 'stream.pipeline')
    const measured = `${fmtRatio(x)} (${fmtRate(row(copyTcp, 'Machine `m.copy`').opsPerSec)} vs ${fmtRate(row(copyTcp, 'stream.pipeline')?.opsPerSec)} MiB/s; ` +
      `the Machine read/send loop: ${fmtRatio(rw)})`
    out.push({ target: 'Copy: file to TCP >= 3x stream.pipeline', measured, met: x >= 3 })
  }
  const queueT = byTitle('Queue, throughput')
  if (queueT !== undefined) {
    const q = row(queueT, 'Machine Queue')
    for (const [other, label] of [['MessagePort', 'MessagePort'], ['Atomics.waitAsync queue', 'the Atomics.waitAsync queue']]) {
      const x = ratio(queueT, 'Machine Queue', other)
      const o = row(queueT, other)
      out.push({ target: `Queue throughput: Queue >= 2x ${label}`, measured: `${fmtRatio(x)} (${fmtRate(q.opsPerSec)} vs ${fmtRate(o?.opsPerSec)} msgs/s; ${fmtNs(q.nsPerOp)} vs ${fmtNs(o?.nsPerOp)} ns per message)`, met: x >= 2 })
    }
  }
  const queueR = byTitle('Queue, round trip')
  if (queueR !== undefined) {
    // Faster is a shorter round trip: the other's median over the Queue's, paired by round.
    const q = row(queueR, 'Machine Queue')
    const us = (ns) => Number.isFinite(ns) ? (ns / 1000).toFixed(1) : 'n/a'
    for (const [other, label] of [['MessagePort', 'MessagePort'], ['Atomics.waitAsync queue', 'the Atomics.waitAsync queue']]) {
      const o = row(queueR, other)
      const x = pairedRatio(o?.rtts ?? [], q.rtts ?? [])
      out.push({ target: `Queue round trip: Queue >= 2x ${label}`, measured: `${fmtRatio(x)} (median round trip ${us(q.medianRtt)} vs ${us(o?.medianRtt)} us; mean ${us(q.nsPerOp)} vs ${us(o?.nsPerOp)} us)`, met: x >= 2 })
    }
  }
  const spawnT = byTitle('Processes: spawn + wait')
  if (spawnT !== undefined) {
    const x = ratio(spawnT, 'Machine `m.spawn`', 'child_process.spawn')
    const a = row(spawnT, 'Machine `m.spawn`')
    const b = row(spawnT, 'child_process.spawn')
    const us = (ns) => Number.isFinite(ns) ? (ns / 1000).toFixed(0) : 'n/a'
    out.push({ target: 'Processes: m.spawn >= 1.5x child_process.spawn', measured: `${fmtRatio(x)} (${fmtRate(a.opsPerSec)} vs ${fmtRate(b?.opsPerSec)} spawns/s; ${us(a.nsPerOp)} vs ${us(b?.nsPerOp)} us per spawn, 16 at once; no zombie left)`, met: x >= 1.5 })
  }
  for (const t of tables.filter((t) => t.title.startsWith('NOP round trip'))) {
    const r = row(t, 'Machine')
    const depth = /(\d+) in flight/.exec(t.title)?.[1]
    out.push({ target: `NOP round trip >= 2 M ops/s (${depth} in flight)`, measured: `${fmtRate(r.opsPerSec)} ops/s (${Math.round(r.nsPerOp)} ns/op; ${fmtRatio(r.ratio)} of the Rust floor)`, met: r.opsPerSec >= 2e6 })
  }
  const hooks = byTitle('Scheduler hook overhead')
  if (hooks !== undefined) {
    const x = ratio(hooks, 'UringScheduler `ioPread` in tasks', 'Machine `m.read`')
    const inTasks = ratio(hooks, 'Machine `m.read` in tasks', 'Machine `m.read`')
    out.push({ target: 'Scheduler hooks: within 10% of the Machine', measured: `${fmtRatio(x)} of the Machine's rate (${fmtRate(row(hooks, 'UringScheduler `ioPread` in tasks').opsPerSec)} vs ${fmtRate(row(hooks, 'Machine `m.read`').opsPerSec)} reads/s); m.read in the same tasks without the hook: ${fmtRatio(inTasks)}`, met: x >= 0.9 })
  }
  const files = byTitle('An unmodified script')
  if (files !== undefined) {
    const x = ratio(files, 'with install(), UringScheduler', 'without install()')
    out.push({ target: 'Unmodified script (stat + readFile of small files): install() >= 3x', measured: `${fmtRatio(x)} (${fmtRate(row(files, 'with install(), UringScheduler').opsPerSec)} vs ${fmtRate(row(files, 'without install()').opsPerSec)} files/s)`, met: x >= 3 })
  }
  const cf = byTitle('copyFile of')
  if (cf !== undefined) {
    const x = ratio(cf, 'Machine.copyFile', 'fs.promises.copyFile')
    out.push({ target: 'copyFile of 256 KiB files: Machine.copyFile >= 2x fs.promises.copyFile', measured: `${fmtRatio(x)} (${fmtRate(row(cf, 'Machine.copyFile').opsPerSec)} vs ${fmtRate(row(cf, 'fs.promises.copyFile')?.opsPerSec)} files/s)`, met: x >= 2 })
  }
  const wf = byTitle('writeFile of')
  if (wf !== undefined) {
    const x = ratio(wf, 'Machine.writeFile', 'fs.promises.writeFile')
    out.push({ target: 'writeFile of small files: Machine.writeFile >= 4x fs.promises.writeFile', measured: `${fmtRatio(x)} (${fmtRate(row(wf, 'Machine.writeFile').opsPerSec)} vs ${fmtRate(row(wf, 'fs.promises.writeFile')?.opsPerSec)} files/s)`, met: x >= 4 })
  }
  const rf = byTitle('readFile of')
  if (rf !== undefined) {
    for (const [other, want] of [['fs.promises.readFile', 5], ['fs.readFileSync loop', 1]]) {
      const x = ratio(rf, 'Machine.readFile', other)
      out.push({ target: `readFile of small files: Machine.readFile >= ${want}x ${other}`, measured: `${fmtRatio(x)} (${fmtRate(row(rf, 'Machine.readFile').opsPerSec)} vs ${fmtRate(row(rf, other)?.opsPerSec)} files/s)`, met: x >= want })
    }
  }
  return out
}

/** What the Machine adds to the Rust floor's cost per op, from the medians. */
export function overheads (tables) {
  const lines = []
  for (const t of tables) {
    const m = t.rows.find((r) => r.name.startsWith('Machine'))
    const f = t.rows.find((r) => r.name.startsWith('Rust floor'))
    if (m === undefined || f === undefined || !Number.isFinite(f.nsPerOp)) continue
    const unit = t.unit === 'ops' ? 'op' : t.unit.replace(/s$/, '')
    const d = m.nsPerOp - f.nsPerOp
    const why = d > 0
      ? 'JS, promises and the bridge, and the cache pressure they add'
      : 'the Machine was faster than its floor in the medians: noise of the machine dominates this difference'
    lines.push(`- ${t.title}: Machine ${fmtNs(m.nsPerOp)} ns per ${unit}, Rust floor ${fmtNs(f.nsPerOp)} ns; difference ${d < 0 ? '-' : ''}${fmtNs(Math.abs(d))} ns (${why}).`)
  }
  if (lines.length === 0) return ''
  return ['## Per-op cost over the Rust floor', '', ...lines, ''].join('\n')
}

function targetsMarkdown (list) {
  const lines = ['## Targets', '', '| target | measured (ratio: median of per-round ratios; rates: medians) | met |', '|---|---|---|']
  for (const t of list) lines.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`)
  lines.push('')
  const missed = list.filter((t) => !t.met)
  if (missed.length > 0) {
    lines.push('## Missed targets: by how much, and why', '')
    const seen = new Set()
    for (const t of missed) {
      const key = Object.keys(WHY).find((k) => t.target.startsWith(k))
      if (key === undefined || seen.has(key)) continue
      seen.add(key)
      lines.push(`- **${t.target}**: ${t.measured}. ${WHY[key]}`, '')
    }
  }
  return lines.join('\n')
}

// What profiling (perf, strace) and repeated runs of this harness on the
// project's machine showed about each target that can be missed. Figures
// from 2026-11-21: kernel 6.18, Node 20, 2 cores.
export const WHY = {
  'Random reads: Machine >= 4x FileHandle.read': 'Before the 4x target (when it was 8x), across full runs this ratio ranged 5.8x-7.9x (quick runs up to 8.5x): the host is noisy, and the Machine alone swings 430 k-740 k reads/s within one process. Where a read\'s ~1.6-2 us goes (perf): the kernel 53% (its copy from the page cache alone ~600 ns), V8 and Node (promises, microtasks, Node-API) ~23%, the addon ~10%, and the copy from the op\'s own buffer into the JS buffer ~6% (~110 ns). That copy is the memory rule (the kernel never writes into JS memory, so no GC, detach or worker exit can corrupt anything); zero-copy reads into registered or shared buffers are the way past it (kernel-features issue).',
  'Random reads: Machine >= 2x fs.read': 'fs.read runs on libuv\'s 4 pool threads, which spread the page-cache copies over both cores of this machine; one ring does them inline on the JS thread. On a quiet host (2026-12-04) fs.read reached 277-363 k/s and the Machine 1.40x-1.62x of it on both Nodes; with `sqpoll: true` the kernel\'s poll thread works on the other core and reached 1.92x-2.52x, but SQPOLL collapses when the host is loaded (3.5 k reads/s beside other jobs), runs no chains and keeps its creator\'s credentials, so it stays an opt-in. Beside other jobs fs.read swings 110 k-290 k reads/s within one run.',
  'Random reads: Machine >= 1x tokio-uring': 'tokio-uring is a Rust program on its own ring: no JavaScript, no promise, no bridge, no copy into a JS buffer per read. It runs the same kernel ops (one IORING_OP_READ per read, 64 in flight, one thread) and measured within about 10% of the core ring\'s Rust floor on every run (see the Peers section of RESULTS.md), so the Machine is behind it by what it adds to the floor: its JS, promises and bridge (1.4-3.0 us per read in the six runs of 2026-12-03 on a loaded host; where that goes is above). Passing it would need a read that costs the Machine less than a native program pays, which one JS thread on one ring cannot do; what can is moving work off the JS thread (SQPOLL, io-wq offload, a second ring), which the issue asks to measure next.',
  'Random reads: Machine >= 0.5x Rust floor': 'Across full runs 0.48x-0.62x; see above for where the Machine\'s extra ~0.8 us per read goes.',
  'TCP echo: Machine >= 2x node:net': 'The load is kernel-bound: the Rust floor, doing the same socket ops on a bare ring with no JS, spends 94% of its time in the kernel and reaches only 1.6x-2.7x node:net across runs; the Machine reaches 0.6-1.0x of the floor (1.4x-1.8x node:net). Two one-shot ops (send, recv) per message per side are the ceiling here; multishot recv with provided buffers (kernel-features issue) removes the recv re-submission.',
  'TCP echo: multishot recv >= 1.2x single-shot recv': 'A ping-pong of 64-byte messages gives multishot little to save: both variants make the same number of io_uring_enter calls and completion batches per message (counted: 11,373 enters for 60,000 messages either way), because every message still needs its send and a loop turn. What multishot removes is the recv SQE and, in the kernel, the failed first attempt and poll re-arm of each single-shot recv; what it adds in JS is an iterator step and a copy out of the staging view per chunk (the chunk must outlive the provided buffer, which goes straight back to the kernel). Back-to-back runs measured 0.97x-1.15x. Multishot pays more where data arrives in bursts on many sockets, which this lockstep load does not have.',
  'Scheduler hooks: within 10% of the Machine': 'Most of the gap is running in tasks at all, not the hook: the same m.read loops started as tasks (an AsyncLocalStorage context each) lose most of it on their own (see the "m.read in tasks" row; on Node 20 AsyncLocalStorage tracks every promise through async hooks). The hook adds reading the task\'s signal from that context and one Map insert and delete per op, so the task\'s cancel can reach the op: about 8% in a side-by-side test. Before one abort listener per signal replaced one per op, the hooks measured 0.66x.',
  'readFile of small files: Machine.readFile >= 5x fs.promises.readFile': 'fs.promises.readFile makes several pool round trips per file (open, fstat, read, read to EOF, close), each a promise; Machine.readFile is one chain (open, read, read to EOF on a direct descriptor) and one promise. On a quiet host (six full runs, 2026-12-04) 4.80x-6.09x on Node 20 and 4.09x-4.91x on Node 24, whose own fs.promises.readFile is faster; what a Machine.readFile still costs (about 1.6 us per file over the Rust floor, most of it the new Buffer and the promise) is in the readFile section of RESULTS.md.',
  'readFile of small files: Machine.readFile >= 1x fs.readFileSync loop': 'readFileSync does its four syscalls (open, statx, read, close) in a row on the JS thread with no promise, no event-loop turn and no completion to deliver: about what one chain costs the kernel. The Machine adds its JS, promise and bridge per file (about 1.6 us over the Rust floor, most of it the new Buffer it resolves with) and wins by less than that when the host is loaded; across the runs of 2026-12-03 0.84x-1.19x, of 2026-12-04 (ArrayBuffer delivery, each run after a pass of its own) 1.23x-1.28x in full runs.',
  'writeFile of small files: Machine.writeFile >= 4x fs.promises.writeFile': 'The kernel dominates both sides: on ext4 without a journal (/dev/vda here) rewriting a 4 KiB file is an open with O_TRUNC that frees the old block and waits on its discard, a write, and a close that starts writeback (auto_da_alloc after the truncate); measured with a C loop, 21-46 us per file at best for any caller, at 64 threads. The chain sends its write and close to io-wq (IOSQE_ASYNC) so both cores share that work; on a quiet host 1.40x-1.58x (Node 20) and 1.39x-1.61x (Node 24).',
  'copyFile of 256 KiB files: Machine.copyFile >= 2x fs.promises.copyFile': 'With Node\'s steps the kernel does the same work per file for both (the data copy, the truncate of the old copy waiting on its writeback, the close starting writeback: about 120 of the Machine\'s 175 us of CPU per file, perf), and both cores were saturated. The truncate and closes now run in io-wq, in parallel, not on the JS thread one after another; on a quiet host 1.02x-1.08x (Node 20) and 1.09x-1.10x (Node 24), up from 0.35x-0.95x. Writing over the old copy in place reached 2-3.5x but is not Node\'s behaviour (a reader would see old and new bytes mixed), so it was not kept.',
  'Unmodified script (stat + readFile of small files): install() >= 3x': 'Before op chains the routed script made five ring ops per file (statx for stat; open, statx, pread, close for readFile), five promises of JS, and measured 1.41x-1.56x. readFile is now one chain and one promise: on a quiet host (2026-12-04) 3.53x-4.17x on Node 20, met, and 2.02x-2.88x on Node 24, whose own fs/promises runs this script 2.2x faster than Node 20\'s (27.6-36.6 k against 11.3-16.7 k files/s) while the routed one gains less (77-81 k against 43-67 k).',
  'Mutex: uncontended lock+unlock < 50 ns': 'Not reachable with an `await` per lock on Node 20: awaiting an already-resolved promise costs 80-90 ns on its own here (a loop of `await p`), before any locking, and the synchronous floor (compareExchange + store, no await) is already 30-48 ns, because V8 calls Atomics.compareExchange, sub and load as builtins (~15 ns each around the locked instruction) instead of inlining them. perf of `await m.lock(mu); m.unlock(mu)` (145 ns per pair in that run): ~50% V8\'s await machinery (AsyncFunctionAwait, PerformPromiseThen, EnqueueMicrotask, RunMicrotasks, resuming the function), ~33% the three Atomics builtins (compareExchange in lock; sub, then a load that checks for unlocking a free mutex, in unlock), ~4% scavenges; no ring op (checked every run). The Atomics.waitAsync mutex is 10-40 ns faster: it has no load in unlock (~11 ns) and no argument checks (instanceof in lock and unlock, options). Only a synchronous path can be under 50 ns (`mu.tryLock()` + `m.unlock(mu)` measured ~46 ns).',
  'Mutex: contended >= 2x the Atomics.waitAsync mutex': 'A handoff costs about what it costs through Atomics.waitAsync: two workers ping-ponging through waits and wakes measured 49-66 us per handoff with m.futexWait/m.futexWake, 34-48 us with Atomics.waitAsync/notify and 18-24 us with blocking Atomics.wait on this 2-vCPU machine, so 2x the Atomics.waitAsync mutex is not to be expected from the same protocol; measured 1.2x with a fair split between the workers. (An earlier build queued the contended unlock\'s wake until the loop idled, and a holder looping on lock/unlock never idles: the other worker starved, 100%/0%. The wake is now submitted at unlock; the starvation check in this target guards against a relapse.)',
  'Copy: file to TCP >= 3x stream.pipeline': 'The receiver sets the pace, not m.copy: sending without a copy leaves the receiver\'s copy (tcp_recvmsg copies every byte into the sink\'s 64 KiB reads), and the node:net sink thread runs at ~100% of a core. Three full runs measured 1.8x-2.1x (m.copy 1.4-1.8 k MiB/s, stream.pipeline 780-920 MiB/s), and the Machine read/send loop, with two more copies in the sender, as fast or faster (1.9x-2.1x). Checked with throwaway C programs on the same machine (not part of this harness): into a node:net sink like this one, a synchronous C splice loop (file, pipe, socket, 1 MiB a step) reached 1.4-1.7 k MiB/s and a C read/write loop 1.8-2.4 k MiB/s, so no splice sender can pass ~2.2x stream.pipeline into this sink. Spliced data cost the sink more per byte than written data: 0.6-0.7 vs 0.45 ms of CPU per MiB; perf samples of the sink per 512 MiB: 6.2 k vs 4.1 k, its copy to user space (_copy_to_iter) +23% (it reads page-cache pages that are cold in the cache rather than socket buffers the sender has just written) and ~10x the softirq time. Into a C sink reading 1 MiB at a time, m.copy reached 2.8-3.7 k MiB/s against 0.6-0.9 k MiB/s for stream.pipeline (>= 3x) and 0.9-1.6 k MiB/s for the Machine read/send loop; a synchronous C splice loop reached 4.5-5.1 k MiB/s there. The gap to it: m.copy runs its splices one at a time (file to pipe, then pipe to socket; 1025 ops per 512 MiB, ~130-165 us each, each in an io-wq worker), so reading the file never overlaps sending; the Machine profile put 91-97% of the wall time inside the ops and 7-13 us per op outside them. On a host with ~50% CPU steal, one run measured 4.7x (650 vs 117 MiB/s): the JS-bound stream.pipeline suffered more.',
  'Queue throughput: Queue >= 2x MessagePort': 'Two full runs measured 0.94x-1.03x (240-260 k msgs/s each; the Atomics.waitAsync SPSC ring 1.0-1.1 M msgs/s). Counted with a throwaway script wrapping m.futexWait/m.futexWake (100 k messages, ~0.6 s): the main thread submitted 49-64 k futex wakes, each at once (an io_uring_enter: 69-80 k enters), and 92-94% of them woke nobody; the worker 33 k, 97% nobody. A Queue waiter stays counted (WAITING_CONSUMERS, or the mutex left CONTENDED) until its own JS resumes after the wake, so every push or unlock meanwhile wakes again; and a waiter\'s futex wait only reaches the kernel at its loop\'s next idle turn, while the wake is submitted at once, so the wake finds nobody and the wait comes back \'not-equal\' a loop turn later. The queue\'s mutex was contended on 13-15% of the operations of each side, ~8-9 us each (99% \'not-equal\'): ~20% of the producer\'s time; the producer slept on a full queue ~34% of the run, the consumer on an empty one 45-50%. On one thread, no waiter, a push+shift pair costs 1.8-2.4 us against 1.0 us for the SPSC ring (two lock/unlock pairs ~450 ns; a 64-byte slice out of a SharedArrayBuffer ~150 ns).',
  'Queue throughput: Queue >= 2x the Atomics.waitAsync queue': 'Two full runs measured 0.23x-0.25x. The SPSC ring has no lock, and its sleeping side is flagged only while it waits, so once a round is under way each side rarely sleeps (<= 0.01 waits per message) and a notify without a sleeper costs no syscall; the Queue pays the wakes, ring round trips and mutex contention described for the MessagePort target above.',
  'Queue round trip: Queue >= 2x MessagePort': 'Two full runs measured 1.01x-1.02x (median round trip 33-34 us for both). A round trip is two cross-thread wake-ups of a sleeping thread (2 ring ops per round trip on each side: a futex wait, a futex wake), and the wake-up dominates: two threads ping-ponging with blocking Atomics.wait/notify (no event loop, no promise) measured 18.3-18.5 us median per round trip on this 2-vCPU machine, so 2x MessagePort (~17 us) is below what any channel that sleeps can do here.',
  'Queue round trip: Queue >= 2x the Atomics.waitAsync queue': 'Two full runs measured 0.83x-0.85x (median 33-34 us vs 28 us): bound by the same two wake-ups (see above); the ring adds the Queue\'s lock and its wait registration to each.',
  'NOP round trip >= 2 M ops/s': 'Met at 2.6-3.5 M ops/s in most full runs; when missed, the Rust floor on the same run was also 20-35% below its usual 14 M ops/s (host load). The cost over the floor is JS: one promise, one await and one slot per op.'
}

function headerMarkdown (info, probe, opts) {
  return [
    '# uring-machine benchmarks', '',
    `Measured by \`node benches/run.mjs${opts.quick ? ' --quick' : ''}\` on ${info.date}.`, '',
    `- CPU: ${info.cpu}, ${info.cores} cores available, ${info.memory} RAM`,
    `- Kernel: ${info.kernel}`,
    `- Node: ${info.node}`,
    `- Commit: ${info.commit}; load average at start: ${info.load}`,
    `- Ring setup flags: ${probe?.setupFlags.join(' + ') || 'n/a'}`, '',
    'Each table measures its contenders side by side in one process run, alternating: every round runs each contender once, in an order rotating from round to round, after one untimed warm-up run each. ' +
    'Rates are medians over the rounds, ns per op their inverse; a ratio is the median over rounds of the ratio of the two contenders within the round (so it need not equal the ratio of the medians), against the baseline named in the column header. ' +
    'The machine is shared and noisy: compare ratios within a table, not absolute figures across runs.', ''
  ].join('\n')
}

export async function main (argv = process.argv.slice(2), { print = console.log, log = (s) => console.error(s), writeResults = true } = {}) {
  const opts = parseArgs(argv)
  const selected = opts.only.length > 0 ? opts.only : Object.keys(BENCHES)
  const full = opts.only.length === 0 && !opts.quick
  const rounds = opts.rounds ?? (opts.quick ? 3 : 7)
  const info = machineInfo()
  let probe
  try { probe = Machine.probe() } catch (err) {
    throw new Error(`io_uring is not usable here: ${err.message}`)
  }
  const header = headerMarkdown(info, probe, opts)
  print(header)

  const floor = buildFloor({ log })
  if (floor.error) log(floor.error)
  const peers = selected.some((n) => n === 'read' || n === 'readfile') ? buildPeers({ log }) : { error: 'not needed' }
  if (peers.error) log(peers.error)
  const progress = opts.verbose ? log : (s) => { if (!s.startsWith('  round')) log(s) }

  const tables = []
  for (const name of selected) {
    const t0 = performance.now()
    const got = await BENCHES[name]({ quick: opts.quick, floor, peers, rounds, log: progress })
    log(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    for (const t of got) {
      tables.push(t)
      print(markdown(t))
    }
  }
  const tgt = targets(tables)
  const omd = overheads(tables)
  const tmd = targetsMarkdown(tgt)
  if (omd !== '') print(omd)
  print(tmd)

  const saved = { info, rounds, tables }
  if (opts.json !== undefined) {
    writeFileSync(opts.json, JSON.stringify(saved, null, 1) + '\n')
    log(`saved ${opts.json}`)
  }
  if (full && writeResults) {
    mkdirSync(path.dirname(defaultResults), { recursive: true })
    writeFileSync(defaultResults, JSON.stringify(saved, null, 1) + '\n')
    log(`saved ${path.relative(process.cwd(), defaultResults)}; chart: ${path.relative(process.cwd(), await writeChart([defaultResults], defaultChart))}`)
    const file = path.join(benchDir, 'RESULTS.md')
    // The hand-written "Across runs" block (ranges over many runs) survives a rewrite.
    let kept = ''
    try { kept = readFileSync(file, 'utf8').match(/<!-- across-runs:start[^]*?<!-- across-runs:end -->\n/)?.[0] ?? '' } catch {}
    writeFileSync(file, [header, ...(kept === '' ? [] : [kept]), '## Results', '', ...tables.map(markdown), ...(omd === '' ? [] : [omd]), tmd].join('\n'))
    log(`wrote ${path.relative(process.cwd(), file)}`)
  }
  return { info, tables, targets: tgt }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err.usage === true ? err.message : err)
    process.exitCode = err.usage === true ? 2 : 1
  })
}

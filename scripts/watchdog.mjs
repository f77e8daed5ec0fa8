// Runs a command and, if it hangs, writes into the log what every process
// under it was doing before killing it:
//   node scripts/watchdog.mjs [--idle S] [--total S] [--label NAME] -- cmd [args...]
//
// It fires when the command prints nothing for --idle seconds (default 50:
// below ava's 60 s timeout, which would otherwise kill the hung worker and
// its stacks with it) or runs longer than --total seconds (default none).
// Then, for every process under the command (its descendants and anything
// left in its process group):
//   - the process and its threads: state, wchan and kernel stack (/proc);
//   - SIGUSR2 to processes that catch it (tests/diag.mjs does, in each ava
//     worker: it prints its Machines' metrics and libuv handles); a process
//     that does not catch SIGUSR2 is never sent one (it would die of it);
//   - every thread's native stack: gdb -p PID -batch -ex 'thread apply all bt';
// then SIGKILLs them, prints `  1 test failed (...)` (so the CI's closing
// line counts the hang) and exits 124.
//
// A command `node` is the Node running this script (so that under
// scripts/with-node.mjs the command runs on that Node, and the download of
// that Node happens before the watchdog, not under its idle timer).
//
// While nothing hangs it costs a pipe copy of the output and a 1 s timer.
// UM_WATCHDOG=0 runs the command without it; UM_WATCHDOG_IDLE and
// UM_WATCHDOG_TOTAL override the defaults.
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

const argv = process.argv.slice(2)
const opts = { idle: Number(process.env.UM_WATCHDOG_IDLE ?? 50), total: Number(process.env.UM_WATCHDOG_TOTAL ?? 0), label: '' }
while (argv.length > 0 && argv[0] !== '--') {
  const [flag, value] = [argv.shift(), argv.shift()]
  if (flag === '--idle') opts.idle = Number(value)
  else if (flag === '--total') opts.total = Number(value)
  else if (flag === '--label') opts.label = value
  else {
    console.error(`watchdog: unknown option ${flag}`)
    process.exit(2)
  }
}
argv.shift()
if (argv.length === 0) {
  console.error('usage: node scripts/watchdog.mjs [--idle S] [--total S] [--label NAME] -- cmd [args...]')
  process.exit(2)
}
const [cmd, ...args] = argv[0] === 'node' ? [process.execPath, ...argv.slice(1)] : argv
const label = opts.label || [cmd, ...args].join(' ')
const say = (line) => process.stdout.write(`watchdog: ${line}\n`)

if (process.env.UM_WATCHDOG === '0') {
  const r = spawnSync(cmd, args, { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}

const env = { ...process.env }
if (process.stdout.isTTY && env.FORCE_COLOR === undefined) env.FORCE_COLOR = '1'
// detached: its own process group, so strays left by it can be found and killed.
const child = spawn(cmd, args, { stdio: ['inherit', 'pipe', 'pipe'], detached: true, env })
const started = Date.now()
let last = started
let fired = false
child.stdout.on('data', (b) => { last = Date.now(); process.stdout.write(b) })
child.stderr.on('data', (b) => { last = Date.now(); process.stderr.write(b) })

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    try { process.kill(-child.pid, sig) } catch {}
  })
}

const timer = setInterval(() => {
  if (fired) return
  const now = Date.now()
  if (opts.idle > 0 && now - last > opts.idle * 1000) fire(`no output for ${opts.idle} s`)
  else if (opts.total > 0 && now - started > opts.total * 1000) fire(`still running after ${opts.total} s`)
}, 1000)

child.on('exit', (code, signal) => {
  if (fired) return
  clearInterval(timer)
  // Let the pipes drain before exiting with the child's status.
  const finish = () => process.exit(code ?? 128 + (signal ? osSignal(signal) : 1))
  let open = 2
  const done = () => { if (--open === 0) finish() }
  if (child.stdout.readableEnded) done(); else child.stdout.once('end', done)
  if (child.stderr.readableEnded) done(); else child.stderr.once('end', done)
  setTimeout(finish, 2000).unref()
})

function osSignal (name) {
  return { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 }[name] ?? 1
}

/** Every process: pid -> { ppid, pgid, state, comm }. */
function processes () {
  const all = new Map()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const f = stat.slice(close + 2).split(' ')
      all.set(Number(name), { state: f[0], ppid: Number(f[1]), pgid: Number(f[2]), comm })
    } catch {}
  }
  return all
}

/** The command's process tree, plus whatever is left in its process group. */
function involved () {
  const all = processes()
  const found = new Set([child.pid])
  let grew = true
  while (grew) {
    grew = false
    for (const [pid, p] of all) {
      if (!found.has(pid) && (found.has(p.ppid) || p.pgid === child.pid)) {
        found.add(pid)
        grew = true
      }
    }
  }
  return [...found].filter((pid) => all.has(pid)).map((pid) => ({ pid, ...all.get(pid) }))
}

function read (path) {
  try { return readFileSync(path, 'utf8') } catch (e) { return `(${e.code ?? e.message})` }
}

function catchesSigusr2 (pid) {
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(read(`/proc/${pid}/status`))
  return m !== null && (BigInt(`0x${m[1]}`) & (1n << 11n)) !== 0n // SIGUSR2 = 12
}

function describe (p) {
  const cmdline = read(`/proc/${p.pid}/cmdline`).split('\0').filter(Boolean).join(' ')
  let out = `\n--- pid ${p.pid} (ppid ${p.ppid}, pgid ${p.pgid}) ${p.comm} [${p.state}]: ${cmdline}\n`
  let tasks = []
  try { tasks = readdirSync(`/proc/${p.pid}/task`) } catch {}
  for (const tid of tasks) {
    const base = `/proc/${p.pid}/task/${tid}`
    const state = /^State:\s*(.*)$/m.exec(read(`${base}/status`))?.[1] ?? '?'
    const wchan = read(`${base}/wchan`).trim()
    out += `  tid ${tid} ${read(`${base}/comm`).trim()} [${state}] wchan=${wchan}\n`
    // Kernel stacks of the main thread and of threads not in an idle wait.
    if (tid !== String(p.pid) && /^(futex_do_wait|do_epoll_wait|ep_poll)$/.test(wchan)) continue
    const kstack = read(`${base}/stack`).trim()
    if (kstack && !kstack.startsWith('(')) out += kstack.split('\n').map((l) => `      ${l}`).join('\n') + '\n'
  }
  try {
    const fds = readdirSync(`/proc/${p.pid}/fd`).map((fd) => {
      try { return `${fd}->${readlinkSync(`/proc/${p.pid}/fd/${fd}`)}` } catch { return fd }
    })
    out += `  fds: ${fds.join(' ')}\n`
  } catch {}
  return out
}

function gdbAvailable () {
  return spawnSync('gdb', ['--version'], { stdio: 'ignore' }).status === 0
}

async function fire (reason) {
  fired = true
  clearInterval(timer)
  const secs = Math.round((Date.now() - started) / 1000)
  say(`${label}: ${reason} (after ${secs} s); dumping what every process under pid ${child.pid} is doing`)
  let procs = involved()
  for (const p of procs) process.stdout.write(describe(p))
  // Diagnostic hooks first, while the processes still run freely.
  const hooked = procs.filter((p) => catchesSigusr2(p.pid))
  for (const p of hooked) {
    say(`SIGUSR2 -> ${p.pid} (its diagnostic hook)`)
    try { process.kill(p.pid, 'SIGUSR2') } catch {}
  }
  if (hooked.length > 0) await new Promise((resolve) => setTimeout(resolve, 2000))
  if (gdbAvailable()) {
    procs = involved()
    for (const p of procs) {
      if (p.pid === process.pid) continue
      process.stdout.write(`\n--- gdb: pid ${p.pid} ${p.comm}\n`)
      const r = spawnSync('gdb', ['-p', String(p.pid), '-batch', '-nx', '-ex', 'set pagination off', '-ex', 'thread apply all bt'], {
        encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20
      })
      process.stdout.write((r.stdout ?? '') + (r.stderr ?? '').split('\n').filter((l) => !/^warning: |^Missing separate debuginfo|^Try: /.test(l)).join('\n') + '\n')
    }
  } else {
    say('gdb is not installed: no native stacks (apt-get install gdb)')
  }
  for (const p of involved()) {
    try { process.kill(p.pid, 'SIGKILL') } catch {}
  }
  try { process.kill(-child.pid, 'SIGKILL') } catch {}
  say(`${label}: killed after ${Math.round((Date.now() - started) / 1000)} s`)
  process.stdout.write(`  1 test failed (watchdog: ${label} hung: ${reason})\n`)
  process.exit(124)
}

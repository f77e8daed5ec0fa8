// Runs Node's own test/parallel tests of the APIs install() routes (fs,
// fs.promises, timers/promises, dns lookup) twice each: with plain `node`
// and with `node --import uring-machine/register`, and reports the tests
// that pass without the hook and fail with it.
//
//   node scripts/node-tests.mjs TREE [--node BIN] [--jobs N] [--timeout S]
//                                    [--match REGEX] [--json FILE]
//
// TREE is a checkout of Node's test tree (the directory holding test/),
// e.g. one extracted from denoland/node_test; its files are never copied
// here. The run happens in a network namespace with only loopback (the
// script re-executes itself under `unshare -n`), so no test can send a DNS
// query or anything else beyond this host. Each test gets its own
// NODE_TEST_DIR scratch directory and a timeout.
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { join, dirname, resolve } from 'node:path'
import { tmpdir, availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const register = join(root, 'packages', 'uring-machine', 'dist', 'register.js')

const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  if (i < 0) return dflt
  const v = argv[i + 1]
  argv.splice(i, 2)
  return v
}
const node = opt('node', process.execPath)
const jobs = Number(opt('jobs', Math.max(1, Math.min(4, availableParallelism()))))
const timeoutS = Number(opt('timeout', 60))
const match = new RegExp(opt('match', '.'))
const jsonOut = opt('json', undefined)
const tree = argv[0]
if (!tree || !existsSync(join(tree, 'test', 'parallel'))) {
  console.error('usage: node scripts/node-tests.mjs TREE (the directory holding test/parallel) [--node BIN] [--jobs N] [--timeout S] [--match REGEX] [--json FILE]')
  process.exit(2)
}
if (!existsSync(register)) {
  console.error(`${register} is missing: npm run build first`)
  process.exit(2)
}

// Into a network namespace with only loopback, once.
if (process.env.UM_NODE_TESTS_NETNS !== '1') {
  const r = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, UM_NODE_TESTS_NETNS: '1' } })
  if (r.error || r.status === null) {
    console.error(`cannot enter a network namespace (unshare -n): ${r.error?.message ?? r.signal}; not running tests that could reach the network`)
    process.exit(2)
  }
  process.exit(r.status)
}

/** The test files of the routed APIs. */
const ROUTED = /^test-(fs-.*|fs\.js|timers-(promises-.*|timeout-promisified|interval-promisified|immediate-promisified)|dns\.js|dns-lookup.*|dns-promises-exists|dns-default-verbatim-.*|dns-set-default-order|dns-perf_hooks)\.(js|mjs)$/
const parallel = join(resolve(tree), 'test', 'parallel')
const files = readdirSync(parallel).filter((f) => ROUTED.test(f) && match.test(f)).sort()

/** The `// Flags:` a Node test asks for. */
function flagsOf (file) {
  const m = /^\/\/ Flags:(.*)$/m.exec(readFileSync(join(parallel, file), 'utf8'))
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : []
}

let serial = 0
function run (file, hooked) {
  const id = ++serial
  const scratch = mkdtempSync(join(tmpdir(), 'um-node-test-'))
  const args = [...flagsOf(file), ...(hooked ? ['--import', register] : []), join(parallel, file)]
  return new Promise((resolveRun) => {
    const started = Date.now()
    const child = spawn(node, args, {
      cwd: resolve(tree),
      env: { ...process.env, NODE_TEST_DIR: scratch, TEST_THREAD_ID: String(id), NODE_DEBUG: '', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutS * 1000)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      rmSync(scratch, { recursive: true, force: true })
      const skipped = code === 0 && /^1\.\.0 # Skipped/m.test(out)
      resolveRun({ status: timedOut ? 'timeout' : skipped ? 'skip' : code === 0 ? 'pass' : 'fail', code, signal, ms: Date.now() - started, out: out.slice(-4000) })
    })
  })
}

const results = []
let next = 0
async function worker () {
  while (next < files.length) {
    const file = files[next++]
    const plain = await run(file, false)
    const hooked = await run(file, true)
    results.push({ file, plain, hooked })
    const mark = plain.status === hooked.status ? ' ' : plain.status === 'pass' ? '!' : '~'
    console.log(`${mark} ${file.padEnd(56)} plain ${plain.status.padEnd(7)} hooked ${hooked.status}`)
  }
}
const v = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
console.log(`# ${files.length} test files from ${parallel}, Node ${v}, ${jobs} at a time, ${timeoutS} s each`)
await Promise.all(Array.from({ length: jobs }, worker))
results.sort((a, b) => a.file.localeCompare(b.file))

const count = (which, status) => results.filter((r) => r[which].status === status).length
const regressions = results.filter((r) => r.plain.status === 'pass' && r.hooked.status !== 'pass')
console.log('')
for (const which of ['plain', 'hooked']) {
  console.log(`# ${which.padEnd(6)}: ${count(which, 'pass')} passed, ${count(which, 'fail')} failed, ${count(which, 'timeout')} timed out, ${count(which, 'skip')} skipped`)
}
console.log(`# ${regressions.length} pass without the hook and not with it${regressions.length ? ':' : ''}`)
for (const r of regressions) {
  console.log(`\n## ${r.file} (hooked: ${r.hooked.status}, exit ${r.hooked.code ?? r.hooked.signal})`)
  console.log(r.hooked.out.trim().split('\n').slice(-25).join('\n'))
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ node: v, results }, null, 1))
process.exit(regressions.length === 0 ? 0 : 1)

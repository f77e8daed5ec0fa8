// Where io_uring is unavailable, Machine says so instead of crashing. Tested
// for real: node runs as a child under target/release/deny-io-uring (crate
// crates/testkit, built by `npm run build:native`), a seccomp filter that
// makes io_uring_setup/enter/register fail with EPERM (what Docker's default
// profile does) or ENOSYS (what a kernel without io_uring says).
import test from 'ava'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const helperPath = join(root, 'target', 'release', 'deny-io-uring')

function helper () {
  if (!existsSync(helperPath)) {
    throw new Error(`${helperPath} is missing: build it with \`npm run build:native\` (or \`cargo build --release -p uring-machine-testkit\`)`)
  }
  return helperPath
}

// Runs in the child, from the repo root, so 'uring-machine' resolves through
// the node_modules workspace link. Prints one line of JSON.
const script = `
import { readFileSync } from 'node:fs'
import { Machine } from 'uring-machine'

const capture = (fn) => {
  try {
    fn()
    return { threw: false }
  } catch (e) {
    return { threw: true, isError: e instanceof Error, code: e?.code, message: String(e?.message) }
  }
}
const out = {
  resolved: import.meta.resolve('uring-machine'),
  seccomp: /^Seccomp:\\s*(\\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? null,
  isSupported: Machine.isSupported(),
  reason: Machine.unavailableReason(),
  probe: capture(() => Machine.probe()),
}
let m
out.construct = capture(() => { m = new Machine() })
if (m) await m.destroy()
console.log(JSON.stringify(out))
`

/** Runs the script under the filter (`errno`: 'EPERM' | 'ENOSYS') or, with null, without it. */
async function child (t, errno, env = {}) {
  const node = [process.execPath, '--input-type=module', '-e', script]
  const [file, args] = errno === null
    ? [node[0], node.slice(1)]
    : [helper(), ['--errno', errno, '--', ...node]]
  let r
  try {
    r = await run(file, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 })
  } catch (err) {
    // A non-zero exit (a crash, an uncaught throw) fails here, with its output.
    throw new Error(`child exited with ${err.code ?? err.signal}:\n${err.stdout}\n${err.stderr}`, { cause: err })
  }
  t.log(r.stdout.trim())
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  t.is(out.resolved, pathToFileURL(join(root, 'packages', 'uring-machine', 'dist', 'index.mjs')).href, 'uring-machine resolves to this workspace')
  return out
}

const seccompFiltered = '2' // /proc/self/status "Seccomp:" value for SECCOMP_MODE_FILTER

test('EPERM from io_uring_setup (a seccomp profile): unsupported, with the reason', async t => {
  const out = await child(t, 'EPERM')
  t.is(out.seccomp, seccompFiltered, 'the child runs under the seccomp filter')
  t.false(out.isSupported)
  t.is(typeof out.reason, 'string')
  t.regex(out.reason, /EPERM/)
  t.regex(out.reason, /seccomp/)

  t.true(out.construct.threw, 'new Machine() throws')
  t.true(out.construct.isError)
  t.is(out.construct.code, 'ERR_IO_URING_UNAVAILABLE')
  t.regex(out.construct.message, /^io_uring is unavailable: /)
  t.regex(out.construct.message, /EPERM/)
  t.regex(out.construct.message, /seccomp/)

  t.true(out.probe.threw, 'Machine.probe() throws')
  t.true(out.probe.isError)
  t.is(out.probe.code, 'ERR_IO_URING_UNAVAILABLE')
  t.is(out.probe.message, `io_uring is unavailable: ${out.reason}`)
})

test('ENOSYS from io_uring_setup (a kernel without io_uring): unsupported, with the reason', async t => {
  const out = await child(t, 'ENOSYS')
  t.is(out.seccomp, seccompFiltered, 'the child runs under the seccomp filter')
  t.false(out.isSupported)
  t.regex(out.reason, /kernel has no io_uring/)
  t.regex(out.reason, /ENOSYS/)

  t.true(out.construct.threw, 'new Machine() throws')
  t.true(out.construct.isError)
  t.is(out.construct.code, 'ERR_IO_URING_UNAVAILABLE')
  t.regex(out.construct.message, /kernel has no io_uring/)

  t.true(out.probe.threw, 'Machine.probe() throws')
  t.is(out.probe.code, 'ERR_IO_URING_UNAVAILABLE')
  t.regex(out.probe.message, /kernel has no io_uring/)
})

test('control: the same script without the filter finds io_uring', async t => {
  const out = await child(t, null)
  t.true(out.isSupported)
  t.is(out.reason, null)
  t.false(out.construct.threw, `new Machine() works: ${out.construct.message}`)
  t.false(out.probe.threw, `Machine.probe() works: ${out.probe.message}`)
})

test('node itself still runs under the filter, with libuv told to use io_uring', async t => {
  // UV_USE_IO_URING=1 makes libuv (Node 20.x) set up its own rings at
  // startup and for fs work; denied, it must fall back to its thread pool.
  const probeFs = `
import { readFile } from 'node:fs/promises'
const pkg = JSON.parse(await readFile('package.json', 'utf8'))
console.log(JSON.stringify({ name: pkg.name }))
`
  const r = await run(helper(), ['--', process.execPath, '--input-type=module', '-e', probeFs], {
    cwd: root,
    env: { ...process.env, UV_USE_IO_URING: '1' },
    encoding: 'utf8',
    timeout: 30_000,
  })
  t.deepEqual(JSON.parse(r.stdout), { name: 'uring-machine-workspace' })
})

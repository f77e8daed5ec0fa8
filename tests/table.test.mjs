// The op table's three expansions agree: the bridge registers one raw
// function per `js` entry of crates/core/src/table.rs (generated or, for
// msgRingFd, by hand), plus the few that make no op, and the TypeScript
// records (native.generated.ts, from the same table) name each of them.
import test from 'ava'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { OPS } = require('../packages/uring-machine/dist/native.generated.js')
// The package's own loader: whichever binary this platform loads.
const { binding } = require('../packages/uring-machine/dist/native.js')
// The few that make no table op: flush, hold/disown, sockName (getsockname/getpeername at once),
// the chains readFile/writeFile/batch/statMany (crates/node/src/ops/chain.rs) and the
// core copies copy/copyFile (crates/node/src/ops/copy.rs).
const NOT_OPS = ['flush', 'hold', 'disown', 'sockName', 'readFile', 'writeFile', 'batch', 'statMany', 'copy', 'copyFile']

test('the bridge registers every js entry of the op table, and beside them only the functions that make no table op', (t) => {
  const ring = new binding.Ring(8, -1, false, false, [], () => {})
  try {
    const fns = ring.functions()
    t.deepEqual(Object.keys(fns).sort(), [...Object.keys(OPS), ...NOT_OPS].sort())
    for (const name of Object.keys(fns)) t.is(typeof fns[name], 'function', name)
  } finally {
    ring.close()
  }
})

test('every record names a syscall among its syscalls, a result kind, a kernel and its JS arguments', (t) => {
  for (const [name, op] of Object.entries(OPS)) {
    t.true(op.syscalls.includes(op.syscall), name)
    t.true(Number.isInteger(op.result) && op.result >= 0 && op.result <= 6, name)
    t.regex(op.kernel, /^\d+\.\d+$/, name)
    // A multishot (STREAM, 5) takes no timeout; every other op ends with one.
    t.is(op.args.at(-1) === 'timeout', op.result !== 5, name)
  }
})

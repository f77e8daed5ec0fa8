// Run by the macOS and Windows CI jobs (and in the denying-profile job)
// from a project that installed the packed uring-machine: the package must
// install and load where io_uring cannot be had, say why, and fall back to
// NodeScheduler, which does the same work through Node's own I/O.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Machine, NodeScheduler, defaultScheduler } from 'uring-machine'

assert.equal(Machine.isSupported(), false, 'io_uring should be unavailable here')
const reason = Machine.unavailableReason()
assert.equal(typeof reason, 'string')
assert.ok(reason.length > 0)
console.log(`isSupported() false: ${reason}`)
assert.throws(() => new Machine(), /unavailable|io_uring|Linux/i)

const { scheduler, reason: why } = defaultScheduler()
assert.ok(scheduler instanceof NodeScheduler, `defaultScheduler picked ${scheduler.name}`)
console.log(`defaultScheduler: ${scheduler.name} (${why})`)

const s = new NodeScheduler()
const dir = mkdtempSync(join(tmpdir(), 'um-'))
try {
  const path = join(dir, 'f')
  writeFileSync(path, 'hello')
  const fd = await s.ioOpen(path, 0)
  const buf = Buffer.alloc(16)
  const n = await s.ioPread(fd, buf, 0)
  assert.equal(buf.subarray(0, n).toString(), 'hello')
  await s.ioClose(fd)
  await s.kernelSleep(1)
  assert.equal(readFileSync(path, 'utf8'), 'hello')
} finally {
  await s.close()
  rmSync(dir, { recursive: true, force: true })
}
console.log('NodeScheduler: open, pread, close, sleep ok')

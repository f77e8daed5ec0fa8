// A smoke test of one binary, run by .ci/dist's section 7 under a musl Node
// (URING_MACHINE_NATIVE_PATH names the binary; argv[2] is the built
// package's ESM entry): open/read/close, a NOP, a readFile on the ring.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const { Machine } = await import(process.argv[2])
assert.equal(Machine.unavailableReason(), null)
const self = fileURLToPath(import.meta.url)
const m = new Machine()
const fd = await m.open(self)
const buf = Buffer.alloc(32)
const n = await m.read(fd, buf, { position: 0 })
assert.equal(buf.subarray(0, n).toString(), readFileSync(self).subarray(0, n).toString())
await m.close(fd)
await m.nop()
assert.deepEqual(await m.readFile(self), readFileSync(self))
await m.destroy()
console.log(`musl smoke: ${process.version}, ${process.env.URING_MACHINE_NATIVE_PATH}: read ${n} bytes, nop, readFile`)

// Machine({ offload: true }): file reads and writes go to the kernel's
// io-wq worker threads at once (IOSQE_ASYNC). The workers are threads of
// this process named iou-wrk-*, so their appearance is what shows the
// flag reached the kernel; the data must be the same either way.
import test from 'ava'
import fs from 'node:fs'
import path from 'node:path'
import { Machine, constants as C, pipe } from 'uring-machine'
import { machine, tempDir } from './helpers.mjs'

function ioWorkers () {
  let n = 0
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      if (fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('iou-wrk')) n++
    } catch {}
  }
  return n
}

test.serial('offload is validated', (t) => {
  t.throws(() => new Machine({ offload: 1 }), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError, message: /options\.offload/ })
})

test.serial('offloaded reads and writes of a file move the same bytes, and run on io-wq workers', async (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'data')
  const data = Buffer.alloc(1 << 20)
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 12)) & 0xff
  const m = machine(t, { offload: true })
  const fd = await m.open(file, C.O_CREAT | C.O_RDWR, 0o600)
  await Promise.all(Array.from({ length: 256 }, (_, i) => m.write(fd, data.subarray(i * 4096, (i + 1) * 4096), { position: i * 4096 })))
  t.true(fs.readFileSync(file).equals(data))
  const got = Buffer.alloc(data.length)
  const reads = await Promise.all(Array.from({ length: 256 }, (_, i) => m.read(fd, got.subarray(i * 4096, (i + 1) * 4096), { position: i * 4096 })))
  t.deepEqual(new Set(reads), new Set([4096]))
  t.true(got.equals(data))
  t.true(ioWorkers() > 0, 'offloaded ops ran on io-wq worker threads')
  await m.close(fd)
})

test.serial('an offloaded read of a pipe waits for its data', async (t) => {
  const m = machine(t, { offload: true })
  const [r, w] = pipe()
  const buf = Buffer.alloc(5)
  const read = m.read(r, buf)
  await new Promise((resolve) => setTimeout(resolve, 20))
  fs.writeSync(w, 'hello')
  t.is(await read, 5)
  t.is(buf.toString(), 'hello')
  fs.closeSync(r)
  fs.closeSync(w)
})

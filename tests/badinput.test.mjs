// Wrong types and ranges for every op throw TypeError/RangeError with Node's
// codes, synchronously, before anything reaches the ring.
import test from 'ava'
import { constants as C, Queue as QueueUnderTest, Mutex as MutexUnderTest, TaskMutex as TaskMutexUnderTest } from 'uring-machine'
import { machine } from './helpers.mjs'

const buf = Buffer.alloc(8)
const addr = { address: '127.0.0.1', port: 1 }

// [call, expected code, error class]
const cases = {
  nop: [
    [(m) => m.nop(5), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.nop({ signal: {} }), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.nop({ timeout: -1 }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.nop({ timeout: '10' }), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.nop({ timeout: Infinity }), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  read: [
    [(m) => m.read('0', buf), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.read(-1, buf), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.read(1.5, buf), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.read(2 ** 31, buf), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.read(0, 'buf'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.read(0, new ArrayBuffer(8)), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.read(0, buf, { offset: 9 }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.read(0, buf, { offset: 4, length: 5 }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.read(0, buf, { length: -1 }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.read(0, buf, { position: -2 }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.read(0, buf, { position: 2n ** 60n }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.read(0, buf, { position: 'x' }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  write: [
    [(m) => m.write(0, 'text'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.write(0, buf, { length: 100 }), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  readv: [
    [(m) => m.readv(0, buf), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.readv(0, []), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.readv(0, [buf, 'x']), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.readv(0, Array(1025).fill(buf)), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  writev: [
    [(m) => m.writev(0, [1, 2]), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  open: [
    [(m) => m.open(42), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.open('/tmp/a\u0000b'), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.open(new URL('http://example.com/')), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.open('/tmp/x', 'rw'), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.open('/tmp/x', {}), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.open('/tmp/x', 'r', '999'), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.open('/tmp/x', 'r', -1), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  close: [[(m) => m.close(null), 'ERR_INVALID_ARG_TYPE', TypeError]],
  readFile: [
    [(m) => m.readFile(42), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.readFile('/tmp/a\u0000b'), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.readFile('/tmp/x', 5), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.readFile('/tmp/x', 'bogus'), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.readFile('/tmp/x', { flag: 'rw' }), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.readFile('/tmp/x', { signal: {} }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  writeFile: [
    [(m) => m.writeFile(42, 'x'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.writeFile('/tmp/x', 5), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.writeFile('/tmp/x', 'x', { mode: -1 }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.writeFile('/tmp/x', 'x', { flush: 'yes' }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  statx: [
    [(m) => m.statx({}), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.statx(-5), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.statx('/tmp', { bigint: 1 }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  fsync: [[(m) => m.fsync(undefined), 'ERR_INVALID_ARG_TYPE', TypeError]],
  socket: [
    [(m) => m.socket('inet', C.SOCK_STREAM), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.socket(C.AF_INET, -1), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  bind: [
    [(m) => m.bind(0, '127.0.0.1:80'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.bind(0, { address: 'localhost', port: 1 }), 'ERR_INVALID_IP_ADDRESS', TypeError],
    [(m) => m.bind(0, { address: '127.0.0.1', port: 70000 }), 'ERR_SOCKET_BAD_PORT', RangeError],
    [(m) => m.bind(0, { address: '127.0.0.1' }), 'ERR_SOCKET_BAD_PORT', RangeError],
    [(m) => m.bind(0, { path: '' }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.bind(0, { path: 'x'.repeat(200) }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.bind(0, { path: 5 }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  listen: [[(m) => m.listen(0, -1), 'ERR_OUT_OF_RANGE', RangeError]],
  accept: [[(m) => m.accept(0, { flags: 'x' }), 'ERR_INVALID_ARG_TYPE', TypeError]],
  connect: [[(m) => m.connect(0, { address: '::1::', port: 1 }), 'ERR_INVALID_IP_ADDRESS', TypeError]],
  send: [[(m) => m.send(0, buf, { flags: -1 }), 'ERR_OUT_OF_RANGE', RangeError]],
  recv: [[(m) => m.recv(0, {}), 'ERR_INVALID_ARG_TYPE', TypeError]],
  shutdown: [[(m) => m.shutdown(0, 3), 'ERR_OUT_OF_RANGE', RangeError]],
  sleep: [
    [(m) => m.sleep('1'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.sleep(-1), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.sleep(NaN), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  poll: [
    [(m) => m.poll(0, 'in'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.poll(0, 1 << 20), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  unlink: [[(m) => m.unlink(5), 'ERR_INVALID_ARG_TYPE', TypeError]],
  rmdir: [[(m) => m.rmdir('/tmp/a\u0000b'), 'ERR_INVALID_ARG_VALUE', TypeError]],
  rename: [
    [(m) => m.rename('/tmp/a', null), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.rename('/tmp/a', '/tmp/b', { flags: -1 }), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  mkdir: [[(m) => m.mkdir('/tmp/x', { mode: '9' }), 'ERR_INVALID_ARG_VALUE', TypeError]],
  symlink: [[(m) => m.symlink({}, '/tmp/x'), 'ERR_INVALID_ARG_TYPE', TypeError]],
  link: [[(m) => m.link('/tmp/x', 1), 'ERR_INVALID_ARG_TYPE', TypeError]],
  ftruncate: [
    [(m) => m.ftruncate(0, -1), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.ftruncate(0, '1'), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  fallocate: [
    [(m) => m.fallocate(0, 0, 0), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.fallocate(0, -1, 10), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  fadvise: [[(m) => m.fadvise(0, 0, 0, 9), 'ERR_OUT_OF_RANGE', RangeError]],
  futexWait: [
    [(m) => m.futexWait(new Int32Array(1), 0, 0), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.futexWait(new Int32Array(new SharedArrayBuffer(4)), 0, 2 ** 31), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  futexWake: [[(m) => m.futexWake(new Int32Array(new SharedArrayBuffer(4)), 1), 'ERR_OUT_OF_RANGE', RangeError]],
  lock: [[(m) => m.lock(new SharedArrayBuffer(4)), 'ERR_INVALID_ARG_TYPE', TypeError]],
  unlock: [[(m) => m.unlock(null), 'ERR_INVALID_ARG_TYPE', TypeError]],
  synchronize: [[(m) => m.synchronize(undefined, () => {}), 'ERR_INVALID_ARG_TYPE', TypeError]],
  push: [[(m) => m.push({}, Buffer.alloc(1)), 'ERR_INVALID_ARG_TYPE', TypeError]],
  unshift: [[(m) => m.unshift(new QueueUnderTest({ messageSize: 2 }), Buffer.alloc(3)), 'ERR_OUT_OF_RANGE', RangeError]],
  shift: [[(m) => m.shift(null), 'ERR_INVALID_ARG_TYPE', TypeError]],
  pop: [[(m) => m.pop(new QueueUnderTest(), { timeout: 0 }), 'ERR_OUT_OF_RANGE', RangeError]],
  pipe: [[(m) => m.pipe(10), 'ERR_OUT_OF_RANGE', RangeError]],
  waitid: [[(m) => m.waitid(9, 1), 'ERR_OUT_OF_RANGE', RangeError]],
  spawn: [
    [(m) => m.spawn(''), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.spawn('true', [1]), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.spawn('true', [], { stdio: ['pipe', -1, 'inherit'] }), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  pidfdOpen: [[(m) => m.pidfdOpen(0), 'ERR_OUT_OF_RANGE', RangeError]],
  pidfdSendSignal: [[(m) => m.pidfdSendSignal(0, {}), 'ERR_INVALID_ARG_VALUE', TypeError]],
  getxattr: [
    [(m) => m.getxattr('/tmp', 5), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.getxattr('/tmp', ''), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.getxattr(0, 'user.x', { size: 0 }), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  setxattr: [
    [(m) => m.setxattr('/tmp', 'user.x', 5), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.setxattr(0, 'user.x', 'v', { flags: 4 }), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  splice: [
    [(m) => m.splice(0, -5, 1, null, 10), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.splice(0, null, 1, null, 10, { flags: 99 }), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  tee: [[(m) => m.tee('0', 1, 1), 'ERR_INVALID_ARG_TYPE', TypeError]],
  copy: [[(m) => m.copy(0, 1, { length: -1 }), 'ERR_OUT_OF_RANGE', RangeError]],
  copyFile: [
    [(m) => m.copyFile(42, '/tmp/x'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.copyFile('/tmp/x', '/tmp/a\u0000b'), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.copyFile('/tmp/x', '/tmp/y', 8), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.copyFile('/tmp/x', '/tmp/y', 0, { signal: {} }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  appendFile: [
    [(m) => m.appendFile(42, 'x'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.appendFile('/tmp/x', 5), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.appendFile('/tmp/a\u0000b', 'x'), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.appendFile('/tmp/x', 'x', { flush: 1 }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  statMany: [
    [(m) => m.statMany('/tmp/x'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.statMany([42]), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.statMany(['/tmp/a\u0000b']), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.statMany(['/tmp/x'], { lstat: 1 }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  batch: [
    [(m) => m.batch().open(42), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.batch().open('/tmp/a\u0000b'), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.batch().open('/tmp/x').read('x'), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  select: [
    [(m) => m.select('3', []), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.select([1.5], []), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  setsockopt: [
    [(m) => m.setsockopt('1', 'SO_REUSEADDR', true), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.setsockopt(1, 'SO_LINGER', true), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.setsockopt(1, 'TCP_NODELAY', 'yes'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.setsockopt(1, 'SO_SNDBUF', 2 ** 31), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  getsockopt: [
    [(m) => m.getsockopt(-1, 'SO_REUSEADDR'), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.getsockopt(1, null), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.getsockopt(1, 'SO_RCVBUF', { timeout: 'x' }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  getsockname: [[(m) => m.getsockname(1.5), 'ERR_OUT_OF_RANGE', RangeError]],
  getpeername: [[(m) => m.getpeername(null), 'ERR_INVALID_ARG_TYPE', TypeError]],
  interval: [
    [(m) => m.interval('1'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.interval(0), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.interval(1, { timeout: 1 }), 'ERR_INVALID_ARG_VALUE', TypeError],
    [(m) => m.interval(1, { signal: 1 }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  recvMulti: [
    [(m) => m.recvMulti('1'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.recvMulti(1, { buffers: 6 }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.recvMulti(1, { bufferSize: 0 }), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.recvMulti(1, { highWaterMark: 'x' }), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.recvMulti(1, { signal: 1 }), 'ERR_INVALID_ARG_TYPE', TypeError]
  ],
  readMulti: [[(m) => m.readMulti(1, { buffers: 65536 }), 'ERR_OUT_OF_RANGE', RangeError]],
  acceptMulti: [
    [(m) => m.acceptMulti(null), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.acceptMulti(1, { highWaterMark: 0 }), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  resolve: [
    [(m) => m.resolve(), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.resolve('x', { family: '4' }), 'ERR_INVALID_ARG_VALUE', TypeError]
  ],
  post: [
    [(m) => m.post(null, 1), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.post({ fd: 3, id: 0 }, 1), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.post(m.address, 2 ** 31), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.post(m.address, 1.5), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  sendFd: [
    [(m) => m.sendFd({ fd: '3', id: 1 }, 0), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.sendFd(m.address, -1), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  receive: [[(m) => m.receive({ timeout: 0 }), 'ERR_OUT_OF_RANGE', RangeError]],
  registerBuffers: [
    [(m) => m.registerBuffers('1', 4096), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.registerBuffers(1, 0), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.registerBuffers(1025, 4096), 'ERR_OUT_OF_RANGE', RangeError],
    [(m) => m.registerBuffers(1024, 1 << 30), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  readFixed: [
    [(m) => m.readFixed(0, buf, 0), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.readFixed(0, m.registerBuffers(1, 8), 0, { length: 9 }), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  writeFixed: [[(m) => m.writeFixed(0, m.registerBuffers(1, 8), -1), 'ERR_OUT_OF_RANGE', RangeError]],
  sendZc: [
    [(m) => m.sendZc(0, 'x'), 'ERR_INVALID_ARG_TYPE', TypeError],
    [(m) => m.sendZc(0, buf, { offset: 9 }), 'ERR_OUT_OF_RANGE', RangeError]
  ],
  cancelFd: [[(m) => m.cancelFd('3'), 'ERR_INVALID_ARG_TYPE', TypeError]],
  sendZcFixed: [[(m) => m.sendZcFixed(0, m.registerBuffers(1, 8), 0, { flags: -1 }), 'ERR_OUT_OF_RANGE', RangeError]]
}

// synchronize and select are async functions: their bad arguments reject rather than throw.
const rejecting = new Set(['synchronize', 'select'])

for (const [op, list] of Object.entries(cases)) {
  test(`${op}: bad arguments throw before submitting`, async (t) => {
    const m = machine(t)
    for (const [call, code, cls] of list) {
      const err = rejecting.has(op)
        ? await t.throwsAsync(async () => call(m), { instanceOf: cls }, String(call))
        : t.throws(() => call(m), { instanceOf: cls }, String(call))
      t.is(err.code, code, String(call))
    }
    t.is(m.metrics().opsSubmitted, 0)
  })
}

test('every op of the contract is covered above', (t) => {
  const m = machine(t)
  const ops = Object.getOwnPropertyNames(Object.getPrototypeOf(m))
    .filter((n) => !['constructor', 'destroy', 'metrics', 'destroyed'].includes(n) && typeof m[n] === 'function')
  t.deepEqual(ops.sort(), Object.keys(cases).sort())
})

test('a detached buffer is refused up front', (t) => {
  const m = machine(t)
  const b = new Uint8Array(16)
  structuredClone(b.buffer, { transfer: [b.buffer] })
  t.throws(() => m.read(0, b), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.write(0, b), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.readv(0, [b]), { code: 'ERR_INVALID_ARG_VALUE' })
})

// Junk straight into the native functions: see hostile.test.mjs, which does it
// in a child process in a temp dir (junk strings become paths there).

// Views over a detached ArrayBuffer, of every kind: a DataView's offset and
// length throw a bare TypeError once detached, a typed array's read 0.
// Each is refused with ERR_INVALID_ARG_VALUE before anything touches it.
const detachedKinds = {
  DataView: () => new DataView(new ArrayBuffer(16)),
  Uint8Array: () => new Uint8Array(16),
  Int16Array: () => new Int16Array(8),
  Float64Array: () => new Float64Array(2),
  BigInt64Array: () => new BigInt64Array(2),
  Buffer: () => Buffer.from(new ArrayBuffer(16)),
  'Uint8Array at an offset': () => new Uint8Array(new ArrayBuffer(16), 4, 8)
}

function detached (make) {
  const v = make()
  structuredClone(v.buffer, { transfer: [v.buffer] })
  return v
}

const takesView = {
  read: (m, v) => m.read(0, v),
  write: (m, v) => m.write(0, v),
  recv: (m, v) => m.recv(0, v),
  send: (m, v) => m.send(0, v),
  sendZc: (m, v) => m.sendZc(0, v),
  'read with offset and length': (m, v) => m.read(0, v, { offset: 1, length: 1 }),
  readv: (m, v) => m.readv(0, [Buffer.alloc(4), v]),
  writev: (m, v) => m.writev(0, [v]),
  'setxattr value': (m, v) => m.setxattr('/tmp', 'user.x', v),
  'push (bytes queue)': (m, v) => m.push(new QueueUnderTest(), v)
}
// Paths take a Buffer/Uint8Array (a DataView or other typed array is a type error).
const takesPath = {
  open: (m, p) => m.open(p),
  readFile: (m, p) => m.readFile(p),
  writeFile: (m, p) => m.writeFile(p, 'x'),
  statx: (m, p) => m.statx(p),
  unlink: (m, p) => m.unlink(p),
  rmdir: (m, p) => m.rmdir(p),
  mkdir: (m, p) => m.mkdir(p),
  'copyFile from': (m, p) => m.copyFile(p, '/tmp/x'),
  'copyFile to': (m, p) => m.copyFile('/tmp/x', p),
  'rename from': (m, p) => m.rename(p, '/tmp/x'),
  'rename to': (m, p) => m.rename('/tmp/x', p),
  'symlink target': (m, p) => m.symlink(p, '/tmp/x'),
  link: (m, p) => m.link('/tmp/x', p),
  getxattr: (m, p) => m.getxattr(p, 'user.x'),
  'setxattr path': (m, p) => m.setxattr(p, 'user.x', 'v'),
  'bind to a unix path': (m, p) => m.bind(0, { path: p }),
  'connect to a unix path': (m, p) => m.connect(0, { path: p })
}

test('detached views of every kind are refused with ERR_INVALID_ARG_VALUE by every op that takes one', (t) => {
  const m = machine(t)
  for (const [op, call] of Object.entries(takesView)) {
    for (const [kind, make] of Object.entries(detachedKinds)) {
      const err = t.throws(() => call(m, detached(make)), { instanceOf: TypeError }, `${op}: ${kind}`)
      t.is(err.code, 'ERR_INVALID_ARG_VALUE', `${op}: ${kind}`)
      t.regex(err.message, /must not be a detached buffer/, `${op}: ${kind}`)
    }
  }
  for (const [op, call] of Object.entries(takesPath)) {
    for (const kind of ['Uint8Array', 'Buffer', 'Uint8Array at an offset']) {
      const err = t.throws(() => call(m, detached(detachedKinds[kind])), { instanceOf: TypeError }, `${op}: ${kind}`)
      t.is(err.code, 'ERR_INVALID_ARG_VALUE', `${op}: ${kind}`)
    }
    const err = t.throws(() => call(m, detached(detachedKinds.DataView)), { instanceOf: TypeError }, `${op}: DataView`)
    t.is(err.code, 'ERR_INVALID_ARG_TYPE', `${op}: DataView`)
  }
  t.is(m.metrics().opsSubmitted, 0)
})

test('a queue copies a message at the call: detaching it afterwards changes nothing', async (t) => {
  const m = machine(t)
  const q = new QueueUnderTest()
  const b = Buffer.from(new ArrayBuffer(4))
  b.set([1, 2, 3, 4])
  const pushed = m.push(q, b)
  structuredClone(b.buffer, { transfer: [b.buffer] })
  await pushed
  t.deepEqual([...await m.shift(q)], [1, 2, 3, 4])
})

test('NUL bytes in paths, URLs and spawn arguments: ERR_INVALID_ARG_VALUE, worded like Node', async (t) => {
  const m = machine(t)
  for (const p of ['/tmp/a\u0000b', Buffer.from('/tmp/a\u0000b'), new URL('file:///tmp/a%00b')]) {
    const err = t.throws(() => m.open(p), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
    t.regex(err.message, /^The argument 'path' must be a string, Uint8Array, or URL without null bytes\. Received /)
  }
  // What node:child_process.spawn throws for the same arguments.
  const { spawn } = await import('node:child_process')
  const same = [
    ['/bin/tr\u0000ue', []],
    ['/bin/true', ['a\u0000b']],
    ['/bin/true', ['ok', 'a\u0000b']],
    ['/bin/true', [], { env: { A: 'x\u0000y' } }],
    ['/bin/true', [], { env: { ['A\u0000']: 'x' } }]
  ]
  for (const args of same) {
    const ours = t.throws(() => m.spawn(...args), { instanceOf: TypeError })
    const node = t.throws(() => spawn(...args), { instanceOf: TypeError })
    t.is(ours.code, 'ERR_INVALID_ARG_VALUE')
    t.is(ours.code, node.code)
    t.is(ours.message, node.message)
  }
  // A dotted name is a property, in ERR_INVALID_ARG_TYPE's words as in Node's.
  // (Node's cwd takes more types, so only the words before them are compared.)
  const cwdType = t.throws(() => m.spawn('/bin/true', [], { cwd: 42 }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  const nodeCwdType = t.throws(() => spawn('/bin/true', [], { cwd: 42 }), { code: 'ERR_INVALID_ARG_TYPE' })
  const head = (e) => e.message.slice(0, e.message.indexOf(' must be'))
  t.is(head(cwdType), head(nodeCwdType))
  t.is(head(cwdType), 'The "options.cwd" property')
  // Node's cwd also takes a Uint8Array or URL, and says so; ours takes a string.
  const cwd = t.throws(() => m.spawn('/bin/true', [], { cwd: '/tmp\u0000x' }), { instanceOf: TypeError })
  t.is(cwd.code, t.throws(() => spawn('/bin/true', [], { cwd: '/tmp\u0000x' })).code)
  t.is(cwd.message, "The property 'options.cwd' must be a string without null bytes. Received '/tmp\\x00x'")
  // A value that cannot become a string (its conversion throws) is refused with a code too.
  t.throws(() => m.spawn('/bin/true', [], { env: { A: detached(detachedKinds.Uint8Array) } }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.is(m.metrics().opsSubmitted, 0)
})

test('synchronize with a non-function rejects with ERR_INVALID_ARG_TYPE before taking the lock', async (t) => {
  const m = machine(t)
  const mutex = new MutexUnderTest()
  for (const fn of [undefined, null, 5, 'fn', {}, Symbol('s'), detached(detachedKinds.DataView)]) {
    const err = await t.throwsAsync(m.synchronize(mutex, fn), { instanceOf: TypeError })
    t.is(err.code, 'ERR_INVALID_ARG_TYPE')
    const err2 = await t.throwsAsync(new TaskMutexUnderTest().synchronize(fn), { instanceOf: TypeError })
    t.is(err2.code, 'ERR_INVALID_ARG_TYPE')
  }
  t.is(mutex.locked, false, 'the lock was never taken')
})

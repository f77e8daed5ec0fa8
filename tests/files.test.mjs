import test from 'ava'
import { writeFileSync, readFileSync, symlinkSync, statSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Stats, BigIntStats, constants as C } from 'uring-machine'
import { machine, tempDir } from './helpers.mjs'

test.serial('open, read at positions and at the current position, close', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'a.txt')
  writeFileSync(path, 'hello, uring machine')
  const fd = await m.open(path)
  t.true(Number.isInteger(fd) && fd > 2)
  const buf = Buffer.alloc(32)
  t.is(await m.read(fd, buf, { position: 7, length: 5 }), 5)
  t.is(buf.subarray(0, 5).toString(), 'uring')
  // position null/undefined: the fd's own position, which advances
  t.is(await m.read(fd, buf, { length: 6 }), 6)
  t.is(await m.read(fd, buf, { offset: 6, length: 7, position: null }), 7)
  t.is(buf.subarray(0, 13).toString(), 'hello, uring ')
  // bigint positions and reads past the end
  t.is(await m.read(fd, buf, { position: 13n }), 7)
  t.is(await m.read(fd, buf, { position: 1000 }), 0)
  await m.close(fd)
  t.is((await t.throwsAsync(m.read(fd, buf), { code: 'EBADF' })).syscall, 'read')
})

test.serial('write, pwrite, writev and readv', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'w.bin')
  const fd = await m.open(path, 'w+', 0o600)
  t.is(statSync(path).mode & 0o777, 0o600)
  t.is(await m.write(fd, Buffer.from('0123456789')), 10)
  t.is(await m.write(fd, Buffer.from('xxABCxx'), { offset: 2, length: 3, position: 4 }), 3)
  t.is(await m.writev(fd, [Buffer.from('--'), new Uint8Array([0x41, 0x42]), Buffer.from('!')], { position: 10 }), 5)
  t.is(readFileSync(path, 'latin1'), '0123ABC789--AB!')
  const a = Buffer.alloc(4)
  const b = new Uint8Array(3)
  const c = Buffer.alloc(100)
  t.is(await m.readv(fd, [a, b, c], { position: 2 }), 13)
  t.is(a.toString(), '23AB')
  t.is(Buffer.from(b).toString(), 'C78')
  t.is(c.subarray(0, 6).toString(), '9--AB!')
  // writes take a copy at the call: changing the buffer afterwards changes nothing
  const src = Buffer.from('zz')
  const p = m.write(fd, src, { position: 0 })
  src.fill(0)
  await p
  t.is(readFileSync(path, 'latin1').slice(0, 2), 'zz')
  await m.fsync(fd)
  await m.fsync(fd, { datasync: true })
  await m.close(fd)
})

test.serial('DataView and other typed arrays as buffers', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'dv.bin')
  writeFileSync(path, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]))
  const fd = await m.open(path, C.O_RDONLY)
  const u32 = new Uint32Array(2)
  t.is(await m.read(fd, u32, { position: 0 }), 8)
  t.deepEqual([...new Uint8Array(u32.buffer)], [1, 2, 3, 4, 5, 6, 7, 8])
  const dv = new DataView(new ArrayBuffer(16), 4, 8)
  t.is(await m.read(fd, dv, { position: 0, offset: 2, length: 4 }), 4)
  t.is(dv.getUint8(2), 1)
  t.is(dv.getUint8(5), 4)
  await m.close(fd)
})

test.serial('open errors are SystemErrors with code, errno, syscall and path', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const missing = join(dir, 'missing')
  const err = await t.throwsAsync(m.open(missing))
  t.is(err.code, 'ENOENT')
  t.is(err.errno, -2)
  t.is(err.syscall, 'open')
  t.is(err.path, missing)
  t.is(err.message, `ENOENT: no such file or directory, open '${missing}'`)
  writeFileSync(join(dir, 'x'), '')
  await t.throwsAsync(m.open(join(dir, 'x'), 'wx'), { code: 'EEXIST' })
  await t.throwsAsync(m.open(dir, 'w'), { code: 'EISDIR' })
  await t.throwsAsync(m.open(join(dir, 'x', 'y')), { code: 'ENOTDIR' })
})

test.serial('paths may be strings, Buffers or file URLs; fds are close-on-exec', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'p.txt')
  writeFileSync(path, 'p')
  for (const p of [path, Buffer.from(path), pathToFileURL(path)]) {
    const fd = await m.open(p)
    const flags = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/flags:\s+(\d+)/)[1]
    t.truthy(parseInt(flags, 8) & C.O_CLOEXEC)
    await m.close(fd)
  }
})

test.serial('statx of a path, an fd, a symlink, with bigint', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const path = join(dir, 's.txt')
  writeFileSync(path, 'twelve bytes')
  symlinkSync(path, join(dir, 'link'))
  mkdirSync(join(dir, 'sub'))
  const node = statSync(path)
  const s = await m.statx(path)
  t.true(s instanceof Stats)
  t.true(s.isFile())
  t.false(s.isDirectory())
  for (const k of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'blksize', 'blocks', 'mtimeMs', 'ctimeMs']) {
    t.is(s[k], node[k], k)
  }
  t.is(s.mtime.getTime(), node.mtime.getTime())
  t.true((await m.statx(join(dir, 'sub'))).isDirectory())
  t.true((await m.statx(join(dir, 'link'), { followSymlinks: false })).isSymbolicLink())
  t.true((await m.statx(join(dir, 'link'))).isFile())
  const fd = await m.open(path)
  t.is((await m.statx(fd)).size, 12)
  const big = await m.statx(fd, { bigint: true })
  t.true(big instanceof BigIntStats)
  t.is(big.size, 12n)
  t.is(big.ino, statSync(path, { bigint: true }).ino)
  t.is(big.mtimeNs, statSync(path, { bigint: true }).mtimeNs)
  await m.close(fd)
  const err = await t.throwsAsync(m.statx(join(dir, 'nope')), { code: 'ENOENT' })
  t.is(err.syscall, 'statx')
  t.is(err.path, join(dir, 'nope'))
})

test.serial('reads in flight in parallel return the right bytes to the right buffers', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'big.bin')
  const data = Buffer.alloc(1 << 20)
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i)
  writeFileSync(path, data)
  const fd = await m.open(path)
  const offsets = Array.from({ length: 512 }, (_, i) => ((i * 7919) % 256) * 4096)
  const bufs = offsets.map(() => Buffer.alloc(4096))
  const counts = await Promise.all(offsets.map((pos, i) => m.read(fd, bufs[i], { position: pos })))
  t.true(counts.every((n) => n === 4096))
  t.true(offsets.every((pos, i) => bufs[i].equals(data.subarray(pos, pos + 4096))))
  await m.close(fd)
})

test.serial('large reads and writes (several MiB) round-trip exactly', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'large.bin')
  const data = Buffer.alloc(5 << 20)
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff
  const fd = await m.open(path, 'w+')
  t.is(await m.write(fd, data, { position: 0 }), data.length)
  const back = Buffer.alloc(data.length)
  t.is(await m.read(fd, back, { position: 0 }), data.length)
  t.true(back.equals(data))
  await m.close(fd)
})

test.serial('more completions than one delivery holds (6000 reads in flight) all land in the right buffers', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'many.bin')
  const data = Buffer.alloc(6000 * 8)
  for (let i = 0; i < 6000; i++) data.writeDoubleLE(i, i * 8)
  writeFileSync(path, data)
  const fd = await m.open(path)
  const bufs = Array.from({ length: 6000 }, () => Buffer.alloc(8))
  // Each read's continuation starts another op at once, so new ops take
  // slots while the rest of the batch is still being delivered.
  const follow = []
  await Promise.all(bufs.map((b, i) => m.read(fd, b, { position: i * 8 }).then((n) => {
    follow.push(m.nop())
    return n
  })))
  await Promise.all(follow)
  t.true(bufs.every((b, i) => b.readDoubleLE(0) === i))
  t.is(m.metrics().pending, 0)
  await m.close(fd)
})

// The rest of the filesystem: unlink, rmdir, rename, mkdir, symlink, link,
// ftruncate, fallocate, fadvise, against real files, checked with node:fs.
import test from 'ava'
import { writeFileSync, readFileSync, statSync, lstatSync, readlinkSync, existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { tmpdir } from 'node:os'
import { Machine, constants as C } from 'uring-machine'
import { machine, tempDir, when } from './helpers.mjs'

// Whether the temp filesystem keeps user xattrs (tmpfs does, some do not).
const xattrs = Machine.probe().ops.getxattr !== true
  ? 'no IORING_OP_GETXATTR (kernel 5.19+)'
  : await (async () => {
    const m = new Machine()
    const path = join(tmpdir(), `um-xattr-probe-${process.pid}`)
    writeFileSync(path, '')
    try {
      await m.setxattr(path, 'user.probe', 'x')
      return null
    } catch (err) {
      if (err.code === 'ENOTSUP' || err.code === 'EOPNOTSUPP') return `the temp filesystem has no user xattrs`
      throw err
    } finally {
      rmSync(path, { force: true })
      await m.destroy()
    }
  })()

test.serial('mkdir, rename, link, symlink, unlink and rmdir', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const d = join(dir, 'd')
  await m.mkdir(d, { mode: 0o750 })
  t.true(statSync(d).isDirectory())
  t.is(statSync(d).mode & 0o777, 0o750 & ~process.umask())
  await t.throwsAsync(m.mkdir(d), { code: 'EEXIST' })

  writeFileSync(join(dir, 'f'), 'data')
  await m.rename(join(dir, 'f'), join(d, 'g'))
  t.false(existsSync(join(dir, 'f')))
  t.is(readFileSync(join(d, 'g'), 'utf8'), 'data')

  await m.link(join(d, 'g'), join(dir, 'hard'))
  t.is(statSync(join(dir, 'hard')).nlink, 2)
  await m.symlink(join(d, 'g'), pathToFileURL(join(dir, 'soft')))
  t.true(lstatSync(join(dir, 'soft')).isSymbolicLink())
  t.is(readlinkSync(join(dir, 'soft')), join(d, 'g'))

  await t.throwsAsync(m.rmdir(d), { code: 'ENOTEMPTY' })
  await t.throwsAsync(m.unlink(d), { code: 'EISDIR' })
  for (const name of ['soft', 'hard', 'd/g']) await m.unlink(join(dir, name))
  await m.rmdir(d)
  t.false(existsSync(d))
  const gone = await t.throwsAsync(m.unlink(join(dir, 'nothing')), { code: 'ENOENT' })
  t.is(gone.syscall, 'unlink')
  t.is(gone.path, join(dir, 'nothing'))
})

test.serial('rename flags and errors carry path and dest like node:fs', async (t) => {
  const m = machine(t)
  const dir = tempDir(t)
  const [a, b] = [join(dir, 'a'), join(dir, 'b')]
  writeFileSync(a, 'A')
  writeFileSync(b, 'B')
  const err = await t.throwsAsync(m.rename(a, b, { flags: C.RENAME_NOREPLACE }), { code: 'EEXIST' })
  t.is(err.syscall, 'rename')
  t.is(err.path, a)
  t.is(err.dest, b)
  t.is(err.message, `EEXIST: file already exists, rename '${a}' -> '${b}'`)
  await m.rename(a, b, { flags: C.RENAME_EXCHANGE })
  t.is(readFileSync(a, 'utf8'), 'B')
  t.is(readFileSync(b, 'utf8'), 'A')
  const missing = await t.throwsAsync(m.link(join(dir, 'none'), join(dir, 'x')), { code: 'ENOENT' })
  t.is(missing.dest, join(dir, 'x'))
})

test.serial('ftruncate, fallocate and fadvise on an open file', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'sized')
  writeFileSync(path, '0123456789')
  const fd = await m.open(path, 'r+')
  await m.ftruncate(fd, 4)
  t.is(readFileSync(path, 'utf8'), '0123')
  await m.ftruncate(fd)
  t.is(statSync(path).size, 0)
  await m.fallocate(fd, 0, 1 << 16)
  t.is(statSync(path).size, 1 << 16)
  await m.fallocate(fd, 1 << 16, 1 << 16, { mode: C.FALLOC_FL_KEEP_SIZE })
  t.is(statSync(path).size, 1 << 16, 'KEEP_SIZE allocates without growing')
  await m.fadvise(fd, 0, 0, C.POSIX_FADV_SEQUENTIAL)
  await m.fadvise(fd, 0, 4096, C.POSIX_FADV_DONTNEED)
  await m.close(fd)
  await t.throwsAsync(m.ftruncate(fd, 1), { code: 'EBADF' })
})

when(xattrs === null, xattrs).serial('extended attributes by path and by fd', async (t) => {
  const m = machine(t)
  const path = join(tempDir(t), 'x')
  writeFileSync(path, 'data')
  await m.setxattr(path, 'user.note', 'hello')
  t.is((await m.getxattr(path, 'user.note')).toString(), 'hello')
  const fd = await m.open(path)
  await m.setxattr(fd, 'user.bytes', new Uint8Array([1, 2, 3]))
  t.deepEqual([...await m.getxattr(fd, 'user.bytes')], [1, 2, 3])
  t.deepEqual([...await m.getxattr(path, 'user.bytes')], [1, 2, 3], 'the same attribute by path')
  const missing = await t.throwsAsync(m.getxattr(path, 'user.none'), { code: 'ENODATA' })
  t.is(missing.syscall, 'getxattr')
  t.is(missing.path, path)
  await t.throwsAsync(m.setxattr(path, 'user.note', 'x', { flags: C.XATTR_CREATE }), { code: 'EEXIST' })
  await t.throwsAsync(m.setxattr(fd, 'user.new', 'x', { flags: C.XATTR_REPLACE }), { code: 'ENODATA' })
  await t.throwsAsync(m.getxattr(path, 'user.note', { size: 2 }), { code: 'ERANGE' })
  await m.close(fd)
})

// Compiled by `npm run test:types` (tsc --noEmit): the public typings accept
// the contract's calls and reject wrong ones.
import { Machine, Mutex, Queue, Subprocess, type ChildStatus, constants, AbortError, Stats, BigIntStats, type SystemError, type Probe, type Metrics, RegisteredBuffers, type LookupAddress, type SocketName, type SocketOption, type MachineAddress, type MachineMessage, type ReadFileOptions, type WriteFileOptions, type StatManyOptions, Batch, type BatchResult, type BatchError,
  type Scheduler, UringScheduler, NodeScheduler, defaultScheduler, Task, type TaskStatus, schedule, runWithScheduler, setScheduler, currentScheduler, currentTask,
  TaskMutex, TaskQueue, Condition, Semaphore, Barrier, Notification, socketpair, pipe, install, uninstall, installed } from 'uring-machine'

async function contract (): Promise<void> {
  const supported: boolean = Machine.isSupported()
  const probe: Probe = Machine.probe()
  const kernel: string = probe.kernel
  const hasRead: boolean | undefined = probe.ops.read
  const m = new Machine({ entries: 64, sqpoll: false })
  const opts = { signal: AbortSignal.timeout(1000), timeout: 500 }
  await m.nop(opts)
  const fd: number = await m.open('/etc/hostname', constants.O_RDONLY, 0o644, opts)
  const n: number = await m.read(fd, Buffer.alloc(16), { offset: 0, length: 8, position: 0n })
  await m.write(fd, new Uint8Array(4), { position: null })
  await m.readv(fd, [Buffer.alloc(4)], { position: 0 })
  await m.writev(fd, [Buffer.alloc(4)])
  const st: Stats = await m.statx('/etc/hostname')
  const big: BigIntStats = await m.statx(fd, { bigint: true })
  const size: bigint = big.size
  await m.fsync(fd, { datasync: true })
  await m.close(fd)
  const s: number = await m.socket(constants.AF_INET, constants.SOCK_STREAM)
  await m.bind(s, { address: '127.0.0.1', port: 0 })
  await m.bind(s, { path: '/tmp/x.sock' })
  await m.listen(s, 16)
  const c: number = await m.accept(s, { signal: opts.signal })
  await m.connect(c, { address: '::1', port: 80 })
  const sent: number = await m.send(c, Buffer.from('x'), { flags: constants.MSG_NOSIGNAL })
  const got: number = await m.recv(c, Buffer.alloc(4))
  await m.shutdown(c, constants.SHUT_RDWR)
  const option: SocketOption = 'TCP_NODELAY'
  await m.setsockopt(c, option, true)
  await m.setsockopt(c, 'SO_RCVBUF', 65536, { timeout: 100 })
  const optval: boolean | number = await m.getsockopt(c, 'SO_KEEPALIVE')
  const name: SocketName = m.getsockname(c)
  if ('port' in name) { const p: number = name.port; const f: 'IPv4' | 'IPv6' = name.family; void [p, f] }
  void [optval, m.getpeername(c)]
  await m.sleep(10)
  for await (const tick of m.interval(10, { signal: opts.signal })) { const n: number = tick; void n; break }
  const revents: number = await m.poll(c, constants.POLLIN)
  await m.mkdir('/tmp/d', { mode: 0o700 })
  await m.rename('/tmp/d', '/tmp/e', { flags: constants.RENAME_NOREPLACE })
  await m.symlink('/tmp/e', '/tmp/f')
  await m.link('/tmp/g', '/tmp/h')
  await m.unlink('/tmp/f')
  await m.rmdir('/tmp/e')
  await m.ftruncate(fd, 10)
  await m.fallocate(fd, 0, 4096, { mode: constants.FALLOC_FL_KEEP_SIZE })
  await m.fadvise(fd, 0, 0, constants.POSIX_FADV_SEQUENTIAL)
  await m.setxattr('/tmp/h', 'user.a', 'v', { flags: constants.XATTR_CREATE })
  const xv: Buffer = await m.getxattr(fd, 'user.a', { size: 256 })
  void xv
  const word = new Int32Array(new SharedArrayBuffer(8))
  const woke: 'ok' | 'not-equal' = await m.futexWait(word, 0, 0, { timeout: 10 })
  const n2: number = await m.futexWake(word, 0, 1)
  const mu = new Mutex()
  const again = new Mutex(mu.buffer)
  await m.lock(again, { signal: opts.signal })
  m.unlock(again)
  const r: number = await m.synchronize(mu, async () => 1)
  const q = new Queue({ capacity: 8, messageSize: 256, values: true })
  const q2 = new Queue(q.buffer)
  await m.push(q2, { any: 'value' })
  await m.unshift(q2, 1, { timeout: 5 })
  const first: unknown = await m.shift(q)
  const last: unknown = await m.pop(q, { signal: opts.signal })
  const qlen: number = q.length
  const child: Subprocess = m.spawn('sh', ['-c', 'exit 0'], { stdio: ['ignore', 'pipe', 'inherit'], cwd: '/tmp', env: { A: '1' } })
  const cst: ChildStatus = await child.wait()
  const maybe: ChildStatus | null = await m.waitid(constants.P_PID, 1, constants.WEXITED | constants.WNOHANG)
  child.stdout satisfies number | null
  void [woke, n2, r, first, last, qlen, cst.exitCode, maybe]
  for await (const chunk of m.recvMulti(c, { buffers: 8, bufferSize: 4096, highWaterMark: 65536, signal: opts.signal })) {
    const b: Buffer = chunk
    void b
  }
  for await (const conn of m.acceptMulti(fd, { highWaterMark: 16 })) m.close(conn)
  const piped: AsyncIterableIterator<Buffer> = m.readMulti(fd)
  const found: LookupAddress[] = await m.resolve('localhost', { family: 4, timeout: 1000 })
  const addr: MachineAddress = m.address
  await m.post(addr, 1)
  await m.sendFd(addr, fd, { signal: opts.signal })
  const msg: MachineMessage = await m.receive({ timeout: 10 })
  if (msg.type === 'fd') void msg.fd
  else void msg.value
  const reg: RegisteredBuffers = m.registerBuffers(4, 4096)
  const nf: number = await m.readFixed(fd, reg, 0, { position: 0 }) + await m.writeFixed(fd, reg, 1, { length: 10 })
  const zs: number = await m.sendZc(c, Buffer.alloc(4)) + await m.sendZcFixed(c, reg, 2, { flags: 0 })
  const views: readonly Buffer[] = reg.buffers
  reg.unregister()
  void [piped, found[0]?.family, nf, zs, views, reg.registered]
  const sched: Scheduler = new UringScheduler(m)
  const fallback: Scheduler = new NodeScheduler()
  const chosen: { scheduler: Scheduler, reason: string } = defaultScheduler()
  const task: Task<number> = runWithScheduler(sched, () => schedule(async (self: Task<number>) => { void self.signal; return await sched.ioRead(0, Buffer.alloc(1)) }))
  const joined: number = await task.join()
  task.cancel('why')
  const tstatus: TaskStatus = task.status
  const ready: number | false = await sched.ioWait(0, constants.POLLIN, 10)
  const addrs: string[] = await sched.addressResolve('localhost')
  const doubled: number = await sched.blockingOperationWait((x: number) => x * 2, 21)
  const tm = new TaskMutex()
  await tm.synchronize(async () => 1, { timeout: 5 })
  const tq = new TaskQueue<string>(4)
  await tq.push('x')
  const popped: string = await tq.pop({ timeout: 5 })
  void [new Condition(), new Semaphore(2), new Barrier(2), new Notification(), currentScheduler(), currentTask(), socketpair(), pipe(), installed()]
  setScheduler(null)
  install()
  uninstall()
  void [fallback, chosen.reason, joined, tstatus, ready, addrs, doubled, popped]
  const metrics: Metrics = m.metrics()
  const multi: number = metrics.multishotCompletions + metrics.messages
  void multi
  const pending: number = metrics.pending
  await m.destroy()
  await m[Symbol.asyncDispose]()
  try { await m.nop() } catch (e) {
    if (e instanceof AbortError) console.log(e.code)
    const se = e as SystemError
    console.log(se.errno, se.syscall, se.path)
  }
  void [supported, kernel, hasRead, n, st.isFile(), size, sent, got, revents, pending]

  // @ts-expect-error fd must be a number
  await m.read('3', Buffer.alloc(1))
  // @ts-expect-error an address needs a port or a path
  await m.connect(c, { address: '127.0.0.1' })
  // @ts-expect-error a stream takes no timeout
  m.interval(10, { timeout: 5 })
  // @ts-expect-error an option the API does not name
  await m.setsockopt(c, 'SO_LINGER', true)
  // @ts-expect-error bigint statx is BigIntStats, not Stats
  const wrong: Stats = await m.statx(fd, { bigint: true })
  void wrong
  const whole: Buffer | string = await m.readFile('/etc/hostname', { encoding: 'utf8', flag: 'r', signal: AbortSignal.timeout(1000) })
  const ropts: ReadFileOptions = { encoding: null }
  const wopts: WriteFileOptions = { flag: 'a', mode: 0o600, flush: true }
  await m.writeFile('/tmp/x', whole, wopts)
  void [await m.readFile('/etc/hostname', ropts), await m.readFile('/etc/hostname', 'latin1')]
  // @ts-expect-error writeFile's data is a string or bytes
  await m.writeFile('/tmp/x', 5)
  await m.appendFile('/tmp/x', 'more', { flush: true })
  const many: Array<Stats | SystemError> = await m.statMany(['/tmp', '/nope'], { lstat: true })
  const bigMany: Array<BigIntStats | SystemError> = await m.statMany(['/tmp'], { bigint: true })
  const smo: StatManyOptions = { lstat: false, timeout: 100 }
  void [many, bigMany, smo]
  const b: Batch = m.batch().open('/tmp/x', 'r').read(Buffer.alloc(4), { position: 0 }).statx('/tmp/x').close()
  const results: BatchResult[] = await b.submit({ signal: AbortSignal.timeout(1000) })
  void results
  const be = {} as BatchError
  const step: number = be.step
  void step
  // @ts-expect-error a batch step takes a buffer
  m.batch().open('/tmp/x').read('no')
}
void contract

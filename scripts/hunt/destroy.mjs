// The body of machine.test.mjs's "destroy settles pending ops" (which timed
// out once on Node 24), repeated in one process, N times (default 2000):
//   node scripts/hunt/destroy.mjs [N]
// Prints a line every 100 iterations (for the watchdog's idle timer) and
// exits 1 on a wrong result; a hang is the watchdog's to report.
import { closeSync, readFileSync, readlinkSync } from 'node:fs'
import { Machine, constants as C } from 'uring-machine'

const n = Number(process.argv[2] ?? 2000)

function localPort (fd) {
  const inode = /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${fd}`))[1]
  for (const line of readFileSync('/proc/self/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    if (cols[9] === inode) return parseInt(cols[1].split(':')[1], 16)
  }
  throw new Error('port not found')
}

async function expectDestroyed (p, what) {
  try { await p } catch (e) { if (e.code === 'ERR_MACHINE_DESTROYED') return; throw e }
  throw new Error(`${what} resolved after destroy`)
}

for (let i = 0; i < n; i++) {
  const m = new Machine()
  const server = await m.socket(C.AF_INET, C.SOCK_STREAM)
  await m.bind(server, { address: '127.0.0.1', port: 0 })
  await m.listen(server, 16)
  const client = await m.socket(C.AF_INET, C.SOCK_STREAM)
  const accepted = m.accept(server)
  await m.connect(client, { address: '127.0.0.1', port: localPort(server) })
  const conn = await accepted
  const done = m.nop()
  const pending = [m.sleep(60_000), m.recv(conn, Buffer.alloc(8)), m.accept(server), m.poll(conn, C.POLLPRI)]
  const d1 = m.destroy()
  if (m.destroy() !== d1 || !m.destroyed) throw new Error('destroy is not idempotent')
  await done
  for (const [k, p] of pending.entries()) await expectDestroyed(p, `op ${k}`)
  await d1
  await expectDestroyed(m.nop(), 'nop')
  if (m.metrics().pending !== 0) throw new Error('pending after destroy')
  for (const fd of [server, client, conn]) closeSync(fd)
  if ((i + 1) % 100 === 0) console.log(`destroy: ${i + 1} of ${n}`)
}

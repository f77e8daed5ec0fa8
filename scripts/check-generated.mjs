#!/usr/bin/env node
// The generated-files check: every file `npm run gen` writes is regenerated
// here, into memory, and compared with the checked-in one. A file that
// differs is named with its first differing line, and the check exits 1
// (0 when every file is what its source generates). `.ci/run` counts it as
// one check. Usage: node scripts/check-generated.mjs [repository root]
//
// Today one file: packages/uring-machine/src/native.generated.ts, from the
// op table (crates/core/src/table.rs) by crates/core/examples/gen_native.rs.
// Its fix is always `npm run gen`, then commit the result.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'))

const GENERATED = [
  {
    file: 'packages/uring-machine/src/native.generated.ts',
    command: ['cargo', ['run', '-q', '--release', '-p', 'uring-machine-core', '--example', 'gen_native', '--', '-']]
  }
]

let failed = 0
for (const { file, command: [cmd, args] } of GENERATED) {
  let want
  try {
    want = execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 })
  } catch (err) {
    console.log(`${file}: its generator failed (${cmd} ${args.join(' ')}): ${err.message.split('\n')[0]}`)
    failed++
    continue
  }
  const path = join(root, file)
  if (!existsSync(path)) {
    console.log(`${file}: missing; run npm run gen and commit it`)
    failed++
    continue
  }
  const have = readFileSync(path, 'utf8')
  if (have === want) continue
  const a = have.split('\n')
  const b = want.split('\n')
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  console.log(`${file}:${i + 1}: differs from what its source generates; run npm run gen and commit it`)
  console.log(`  checked in: ${i < a.length ? JSON.stringify(a[i]) : '(end of file)'}`)
  console.log(`  generated:  ${i < b.length ? JSON.stringify(b[i]) : '(end of file)'}`)
  failed++
}
if (failed === 0) console.log(`generated files: ${GENERATED.length} up to date`)
process.exit(failed === 0 ? 0 : 1)

// Builds the addon (crates/node) in release mode with @napi-rs/cli and puts
// it beside the package as uring-machine.<platform>.node, where the loader
// looks first; also builds the test helper (crates/testkit). The napi block
// of packages/uring-machine/package.json lists the targets the npm/ packages
// carry; this builds the host's. `--no-js` keeps our own loader
// (src/native.ts) and napi's generated typings go to target/, unused: the
// typed interface is src/native.ts, whose op functions' signatures are
// generated from the op table into src/native.generated.ts (npm run gen).
// Release builds for the npm packages are scripts/build-dist.sh's job.
import { spawnSync } from 'node:child_process'
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
if (!['x64', 'arm64'].includes(process.arch)) {
  console.error(`no uring-machine target for ${process.arch}`)
  process.exit(1)
}

run(process.execPath, [
  join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js'), 'build',
  '--platform', '--release', '--no-js',
  '--manifest-path', 'crates/node/Cargo.toml',
  '--package-json-path', 'packages/uring-machine/package.json',
  '--output-dir', 'packages/uring-machine',
  '--dts', '../../target/napi/index.d.ts'
])
run('cargo', ['build', '--release', '-p', 'uring-machine-testkit'])

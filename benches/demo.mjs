// What `npm start` runs: what this kernel's io_uring offers, one file read
// through a Machine, then every benchmark in --quick mode.
import path from 'node:path'
import { Machine } from 'uring-machine'
import { repoDir } from './lib.mjs'
import { main } from './run.mjs'

const INTERESTING = ['read', 'write', 'socket', 'bind', 'listen', 'futex_wait', 'waitid']

function showProbe () {
  const p = Machine.probe()
  const names = Object.keys(p.ops).sort()
  const have = names.filter((n) => p.ops[n])
  console.log('## io_uring on this machine\n')
  console.log(`- kernel: ${p.kernel}`)
  console.log(`- setup flags: ${p.setupFlags.join(' + ') || '(none)'}`)
  console.log(`- features: ${p.features.join(', ') || '(none)'}`)
  console.log(`- opcodes: ${have.length} of the ${names.length} known are supported`)
  console.log(`- ${INTERESTING.map((n) => `${n} ${p.ops[n] === true ? 'yes' : 'NO'}`).join(', ')}\n`)
}

/** The first line of `file`, read through `m` (open, pread, close). */
async function firstLine (m, file) {
  const fd = await m.open(file, 'r')
  try {
    const chunks = []
    const buf = Buffer.alloc(4096)
    for (let position = 0; position < 1 << 16;) {
      const n = await m.read(fd, buf, { position })
      if (n === 0) break
      const piece = buf.subarray(0, n)
      const nl = piece.indexOf(0x0a)
      chunks.push(Buffer.from(nl >= 0 ? piece.subarray(0, nl) : piece))
      if (nl >= 0) break
      position += n
    }
    return Buffer.concat(chunks).toString('utf8')
  } finally {
    await m.close(fd)
  }
}

async function showReadme () {
  const m = new Machine()
  try {
    console.log('## A file through the ring\n')
    for (const name of ['README.md', 'package.json']) {
      const file = path.join(repoDir, name)
      try {
        const line = await firstLine(m, file)
        console.log(`first line of ${name}, via m.open + m.read + m.close: ${JSON.stringify(line)}\n`)
        return
      } catch (err) {
        if (err.code !== 'ENOENT') throw err
        console.log(`${name}: ${err.code} (${err.message}), as a Node-style SystemError from the ring`)
      }
    }
  } finally {
    await m.destroy()
  }
}

const t0 = performance.now()
if (!Machine.isSupported()) {
  console.error(`io_uring cannot be used here: ${Machine.unavailableReason()}`)
  process.exit(1)
}
showProbe()
await showReadme()
console.log('## Benchmarks (--quick: short rounds, figures are indicative only)\n')
await main(['--quick'], { print: (s) => console.log(s), log: (s) => console.error(`  ${s}`) })
console.log(`demo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

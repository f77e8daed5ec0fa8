// glibc or musl, for picking the matching prebuilt binary. The same evidence
// detect-libc weighs, in its order, without spawning a process at load time:
// 1. ldd's script (a text file on both: musl's names musl, glibc's names
//    the GNU C Library); reading it costs microseconds.
// 2. Node's own report, when ldd is absent or says neither (distroless and
//    Nix images): glibcVersionRuntime is set only when Node runs on glibc,
//    and a musl Node has ld-musl/libc.musl among its shared objects. Network
//    details are left out so the report makes no DNS lookups.
// 3. The musl dynamic loader on disk.
// Otherwise glibc, the common case.
import { readFileSync, readdirSync } from 'node:fs'

export type LibcFamily = 'gnu' | 'musl'

let cached: LibcFamily | undefined

function fromLdd (): LibcFamily | null {
  try {
    const ldd = readFileSync('/usr/bin/ldd', 'latin1')
    if (ldd.includes('musl')) return 'musl'
    if (ldd.includes('GNU C Library') || ldd.includes('GLIBC')) return 'gnu'
  } catch {}
  return null
}

function fromReport (): LibcFamily | null {
  const report = process.report as (NodeJS.ProcessReport & { excludeNetwork: boolean | undefined }) | undefined
  if (report === undefined || typeof report.getReport !== 'function') return null
  const before = report.excludeNetwork
  try {
    report.excludeNetwork = true
    const r = report.getReport() as { header?: { glibcVersionRuntime?: string }, sharedObjects?: string[] }
    if (typeof r.header?.glibcVersionRuntime === 'string') return 'gnu'
    if (r.sharedObjects?.some((so) => so.includes('libc.musl-') || so.includes('ld-musl-')) === true) return 'musl'
  } catch {
  } finally {
    report.excludeNetwork = before
  }
  return null
}

function fromLoader (): LibcFamily | null {
  try {
    if (readdirSync('/lib').some((n) => n.startsWith('ld-musl-'))) return 'musl'
  } catch {}
  return null
}

export function familySync (): LibcFamily {
  cached ??= fromLdd() ?? fromReport() ?? fromLoader() ?? 'gnu'
  return cached
}

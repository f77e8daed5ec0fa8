// glibc or musl, for picking the matching prebuilt binary. Reads ldd's
// script rather than building a diagnostic report (which takes milliseconds).
import { readFileSync } from 'node:fs'

export function familySync (): 'gnu' | 'musl' {
  try {
    if (readFileSync('/usr/bin/ldd', 'latin1').includes('musl')) return 'musl'
  } catch {}
  return 'gnu'
}

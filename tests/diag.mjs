// Loaded into every ava worker (package.json "ava.require"): a diagnostic
// hook for scripts/watchdog.mjs. On SIGUSR2 it prints, to stderr, the
// metrics of every Machine of this thread the tests have touched, the
// process's libuv handles and active resources, and the test file. It is
// only reachable while the JS thread still runs its event loop (a hang
// waiting for a completion); a thread blocked in native code is what the
// watchdog's gdb stacks are for.
//
// Machines are found without touching the package: the first call of any
// Machine method on an instance records a WeakRef to it.
import { Machine } from 'uring-machine'

const seen = new WeakSet()
const machines = []
const proto = Machine.prototype
for (const name of Object.getOwnPropertyNames(proto)) {
  if (name === 'constructor') continue
  const d = Object.getOwnPropertyDescriptor(proto, name)
  if (typeof d.value !== 'function') continue
  const original = d.value
  const wrapped = {
    [name] (...args) {
      if (!seen.has(this) && this instanceof Machine) {
        seen.add(this)
        machines.push({ ref: new WeakRef(this), at: new Error('created').stack.split('\n').slice(2, 6).join(' | ') })
      }
      return original.apply(this, args)
    }
  }[name]
  Object.defineProperty(wrapped, 'length', { value: original.length })
  Object.defineProperty(proto, name, { ...d, value: wrapped })
}

process.on('SIGUSR2', () => {
  const lines = [`diag: pid ${process.pid} ${process.argv.slice(1).join(' ')}`]
  lines.push(`diag: active resources ${JSON.stringify(process.getActiveResourcesInfo())}`)
  for (const { ref, at } of machines) {
    const m = ref.deref()
    if (m === undefined) continue
    let metrics
    try { metrics = JSON.stringify(m.metrics()) } catch (e) { metrics = `(metrics threw ${e.message})` }
    lines.push(`diag: Machine destroyed=${m.destroyed} metrics=${metrics} first used at ${at}`)
  }
  try {
    const handles = process.report.getReport().libuv.map((h) => `${h.type}${h.is_active ? '+active' : ''}${h.is_referenced ? '+ref' : ''}${h.fd !== undefined ? `(fd ${h.fd})` : ''}`)
    lines.push(`diag: libuv handles ${handles.join(' ')}`)
  } catch {}
  process.stderr.write(lines.join('\n') + '\n')
})

// install(): a generated matrix of calls for every routed function, each
// run once through Node's own function (taken before any routing) and once
// routed, under UringScheduler and NodeScheduler, on identical fixture
// trees. Compared: values, callback argument lists (arity too), whether a
// call throws at once, error class chain, name, code, errno, syscall, path,
// dest, message and own-key order. One test per routed function and
// scheduler; a difference names the call.
//
// Data-driven: SPECS maps each name of install.ts's routedFunctions to the
// calls to make; a route added to install.ts fails here until it has an
// entry. The list of routed functions in the README (or docs/install.md)
// is checked against routedFunctions too.
import test from 'ava'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import timersPromises from 'node:timers/promises'
import dns from 'node:dns'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { install, uninstall, installed, runWithScheduler, UringScheduler, NodeScheduler } from 'uring-machine'
import { tempDir } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { routedFunctions } = require(join(require.resolve('uring-machine'), '..', 'install.js'))
const repo = join(fileURLToPath(import.meta.url), '..', '..')

const holders = { fs, 'fs.promises': fsp, 'timers/promises': timersPromises, 'dns.promises': dns.promises }
const split = (name) => { const i = name.lastIndexOf('.'); return [name.slice(0, i), name.slice(i + 1)] }
/** Node's own functions, taken before any routing. */
const own = Object.fromEntries(routedFunctions.map((n) => { const [h, f] = split(n); return [n, holders[h][f]] }))
/** The function as callers see it now (routed while install() is in force). */
const current = (n) => { const [h, f] = split(n); return holders[h][f] }

/** What is compared of a value; `root` (the fixture tree) is written <root>. */
function shape (v, root) {
  const clean = (x) => typeof x === 'string' ? x.split(root).join('<root>') : x
  if (v instanceof Error) {
    const e = {}
    for (const k of ['name', 'code', 'errno', 'syscall', 'path', 'dest', 'message']) if (k in v) e[k] = clean(v[k])
    const chain = []
    for (let p = Object.getPrototypeOf(v); p !== null; p = Object.getPrototypeOf(p)) chain.push(p.constructor.name)
    return { error: e, chain, ownKeys: Reflect.ownKeys(v).map(String) }
  }
  if (Buffer.isBuffer(v)) return { buffer: v.toString('hex') }
  if (v instanceof fs.Stats || v?.constructor?.name === 'BigIntStats') {
    // What does not depend on which tree or when: kind, size, mode, key order, value types.
    return { stats: v.constructor.name, keys: Object.keys(v), types: Object.values(v).map((x) => typeof x), size: v.size, mode: v.mode, kind: [v.isFile(), v.isDirectory(), v.isFIFO(), v.isSymbolicLink()] }
  }
  if (v !== null && typeof v === 'object') return { object: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x, root)])), keys: Object.keys(v) }
  return { value: clean(v) }
}

/** A call's outcome: what it threw at once, its callback's arguments, or what its promise settled with. */
function outcome (call, root, form) {
  // Keeps the loop alive meanwhile (an unref'd timer is all some calls hold).
  const keep = setInterval(() => {}, 1000)
  return new Promise((resolve) => {
    let returned = false
    const cb = (...args) => resolve({ sync: !returned, arity: args.length, args: args.map((a) => shape(a, root)) })
    let p
    try { p = call(cb); returned = true } catch (e) { resolve({ threw: shape(e, root) }); return }
    // A call given no callback: what it returned (Node's callbacks are optional in places).
    if (form === 'return') resolve({ returned: shape(p, root) })
    if (form === 'promise') Promise.resolve(p).then((v) => resolve({ resolved: shape(v, root) }), (e) => resolve({ rejected: shape(e, root) }))
  }).finally(() => clearInterval(keep))
}

/** The fixture tree: every kind of file, the same in each tree made. */
function makeTree (dir) {
  fs.mkdirSync(dir)
  fs.writeFileSync(join(dir, 'file'), 'hello, world\n')
  fs.writeFileSync(join(dir, 'empty'), '')
  fs.mkdirSync(join(dir, 'dir'))
  fs.mkdirSync(join(dir, 'full'))
  fs.writeFileSync(join(dir, 'full', 'x'), 'x')
  fs.symlinkSync('file', join(dir, 'link'))
  fs.symlinkSync('nowhere', join(dir, 'dangling'))
  const r = spawnSync('mkfifo', [join(dir, 'fifo')])
  if (r.status !== 0) throw new Error('mkfifo failed')
  return dir
}

// Path kinds. A fifo is never opened for reading (it would wait for a writer).
const PATHS = {
  file: (r) => join(r, 'file'),
  empty: (r) => join(r, 'empty'),
  dir: (r) => join(r, 'dir'),
  nonEmptyDir: (r) => join(r, 'full'),
  symlink: (r) => join(r, 'link'),
  dangling: (r) => join(r, 'dangling'),
  missing: (r) => join(r, 'missing'),
  missingParent: (r) => join(r, 'missing', 'x'),
  notDir: (r) => join(r, 'file', 'x'),
  fifo: (r) => join(r, 'fifo')
}
const readable = ['file', 'empty', 'dir', 'symlink', 'dangling', 'missing', 'notDir']
const BAD_PATHS = { number: 1, null: null, undefined, object: {}, nul: 'a\u0000b', empty: '' }
const cross = (...lists) => lists.reduce((acc, l) => acc.flatMap((a) => l.map((x) => [...a, x])), [[]])
const signals = () => ({ none: undefined, live: new AbortController().signal, aborted: AbortSignal.abort('why'), string: 'hello', object: {}, null: null })

/**
 * Each routed function's calls: [title, form, (fn, root) => call].
 * A call gets the function under test and the fixture root; for the
 * callback form it is given a callback.
 */
const SPECS = {
  'fs.promises.readFile': () => [
    ...cross([...readable, '/proc'], [undefined, 'utf8', 'hex', { encoding: 'latin1' }, { flag: 'r+' }, { flag: 'a+' }, { flag: 'bogus' }, { encoding: 'bogus' }, 5, { mode: 'x' }])
      .map(([k, o]) => [`${k} ${JSON.stringify(o)}`, 'promise', (f, r) => () => f(k === '/proc' ? '/proc/version' : PATHS[k](r), o)]),
    ...Object.entries(signals()).map(([what, signal]) => [`signal ${what}`, 'promise', (f, r) => () => f(PATHS.file(r), { signal })]),
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'promise', (f) => () => f(p)])
  ],
  'fs.readFile': () => [
    ...cross([...readable, '/proc'], [undefined, 'utf8', { encoding: 'base64' }, { flag: 'r+' }, { flag: 'wx' }, { encoding: 'bogus' }, 5])
      .map(([k, o]) => [`${k} ${JSON.stringify(o)}`, 'callback', (f, r) => (cb) => o === undefined ? f(k === '/proc' ? '/proc/version' : PATHS[k](r), cb) : f(k === '/proc' ? '/proc/version' : PATHS[k](r), o, cb)]),
    ...Object.entries(signals()).map(([what, signal]) => [`signal ${what}`, 'callback', (f, r) => (cb) => f(PATHS.file(r), { signal }, cb)]),
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'callback', (f) => (cb) => f(p, cb)]),
    ['no callback', 'return', (f, r) => () => f(PATHS.file(r))],
    ['callback not a function', 'callback', (f, r) => () => f(PATHS.file(r), {}, 'x')]
  ],
  'fs.promises.writeFile': () => [
    ...cross(['file', 'dir', 'symlink', 'dangling', 'missing', 'missingParent', 'notDir'], [undefined, 'utf8', 'hex', { flag: 'a' }, { flag: 'wx' }, { mode: 0o600 }, { mode: 'x' }, { flush: 'true' }, { flush: true }, { encoding: 'bogus' }])
      .map(([k, o]) => [`${k} ${JSON.stringify(o)}`, 'promise', (f, r) => () => f(PATHS[k](r), 'abcd', o)]),
    ...Object.entries({ string: 'text', buffer: Buffer.from('b'), u16: new Uint16Array([1, 2]), empty: Buffer.alloc(0), number: 5, object: {}, null: null })
      .map(([what, data]) => [`data ${what}`, 'promise', (f, r) => () => f(PATHS.file(r), data)]),
    ...Object.entries(signals()).map(([what, signal]) => [`signal ${what}`, 'promise', (f, r) => () => f(PATHS.file(r), 'x', { signal })])
  ],
  ...Object.fromEntries(['stat', 'lstat'].flatMap((name) => [
    [`fs.promises.${name}`, () => [
      ...cross(Object.keys(PATHS), [undefined, { bigint: true }, { bigint: false }, { throwIfNoEntry: false }, { bigint: 1 }])
        .map(([k, o]) => [`${k} ${JSON.stringify(o)}`, 'promise', (f, r) => () => f(PATHS[k](r), o)]),
      ['/proc/self', 'promise', (f) => () => f('/proc/self/fd')],
      ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'promise', (f) => () => f(p)])
    ]],
    [`fs.${name}`, () => [
      ...cross(Object.keys(PATHS), [undefined, { bigint: true }, { throwIfNoEntry: false }])
        .map(([k, o]) => [`${k} ${JSON.stringify(o)}`, 'callback', (f, r) => (cb) => o === undefined ? f(PATHS[k](r), cb) : f(PATHS[k](r), o, cb)]),
      ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'callback', (f) => (cb) => f(p, cb)]),
      ['no callback', 'return', (f, r) => () => f(PATHS.file(r))]
    ]]
  ])),
  'fs.promises.unlink': () => [
    ...Object.keys(PATHS).map((k) => [k, 'promise', (f, r) => () => f(PATHS[k](r))]),
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'promise', (f) => () => f(p)])
  ],
  'fs.promises.rmdir': () => [
    ...cross(Object.keys(PATHS), [undefined, {}, { recursive: false }])
      .map(([k, o]) => [`${k} ${JSON.stringify(o)}`, 'promise', (f, r) => () => o === undefined ? f(PATHS[k](r)) : f(PATHS[k](r), o)]),
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'promise', (f) => () => f(p)])
  ],
  'fs.promises.rename': () => [
    ...cross(['file', 'dir', 'symlink', 'missing', 'fifo'], ['missing', 'file', 'dir', 'nonEmptyDir', 'missingParent', 'notDir'])
      .map(([a, b]) => [`${a} -> ${b}`, 'promise', (f, r) => () => f(PATHS[a](r), PATHS[b](r))]),
    ['bad dest', 'promise', (f, r) => () => f(PATHS.file(r), 5)]
  ],
  'fs.promises.mkdir': () => [
    ...cross(['missing', 'file', 'dir', 'missingParent', 'notDir', 'dangling'], [undefined, 0o700, { recursive: true }, { mode: 0o700 }, '0700', -1])
      .map(([k, o]) => [`${k} ${JSON.stringify(o)}`, 'promise', (f, r) => () => o === undefined ? f(PATHS[k](r)) : f(PATHS[k](r), o)]),
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'promise', (f) => () => f(p)])
  ],
  'fs.open': () => [
    ...cross(['file', 'dir', 'symlink', 'dangling', 'missing', 'notDir'], [undefined, 'r', 'r+', 'w', 'wx', 'a+', 'bogus', fs.constants.O_RDONLY, 1.5], [undefined, 0o600, 'x'])
      .map(([k, fl, m]) => [`${k} ${fl} ${m}`, 'callback', (f, r) => (cb) => {
        const done = (err, fd) => { if (typeof fd === 'number') fs.closeSync(fd); cb(err, typeof fd) }
        return fl === undefined ? f(PATHS[k](r), done) : m === undefined ? f(PATHS[k](r), fl, done) : f(PATHS[k](r), fl, m, done)
      }]),
    ['no callback', 'return', (f, r) => () => f(PATHS.file(r), 'r')]
  ],
  'fs.close': () => [
    ['open fd', 'callback', (f, r) => (cb) => f(fs.openSync(PATHS.file(r), 'r'), cb)],
    ['closed fd', 'callback', (f, r) => (cb) => { const fd = fs.openSync(PATHS.file(r), 'r'); fs.closeSync(fd); return f(fd, cb) }],
    ...Object.entries({ negative: -1, fraction: 1.5, big: 2 ** 31, string: '1', null: null }).map(([what, fd]) => [`fd ${what}`, 'callback', (f) => (cb) => f(fd, cb)]),
    ['no callback', 'return', (f, r) => () => f(fs.openSync(PATHS.file(r), 'r'))]
  ],
  ...Object.fromEntries(['read', 'write'].map((name) => [`fs.${name}`, () => {
    const fdOf = (r) => fs.openSync(PATHS.file(r), 'r+')
    const huge = Buffer.allocUnsafe(2 ** 31 + 1) // never touched: address space
    const bufs = { buf5: () => Buffer.alloc(5), empty: () => Buffer.alloc(0), u8: () => new Uint8Array(5), dv: () => new DataView(new ArrayBuffer(5)), string: () => 'hello' }
    const positions = [null, undefined, -1, 0, 3, 100, 1.5, -2, 2n, 2 ** 53, '1']
    const calls = [
      ...cross(Object.keys(bufs), [[0, 5], [0, 0], [1, 3], [2, 5], [-1, 1], [0, 1.5]], positions)
        .map(([b, [o, l], p]) => [`${b} offset ${o} length ${l} position ${typeof p === 'bigint' ? `${p}n` : p}`, 'callback', (f, r) => (cb) => {
          const fd = fdOf(r)
          return f(fd, bufs[b](), o, l, p, (...a) => { fs.closeSync(fd); cb(...a) })
        }]),
      ['length above 2^31-1', 'callback', (f, r) => (cb) => f(fdOf(r), huge, 0, 2 ** 31, 0, cb)],
      ['bad fd', 'callback', (f, r) => (cb) => { const fd = fdOf(r); fs.closeSync(fd); return f(fd, Buffer.alloc(3), 0, 3, 0, cb) }],
      ['fd a string', 'callback', (f) => (cb) => f('1', Buffer.alloc(3), 0, 3, 0, cb)],
      ['short form (fd, buffer, cb)', 'callback', (f, r) => (cb) => f(fdOf(r), Buffer.alloc(3), cb)],
      ['options form', 'callback', (f, r) => (cb) => name === 'read' ? f(fdOf(r), { buffer: Buffer.alloc(3), position: 1 }, cb) : f(fdOf(r), Buffer.from('zz'), { position: 1 }, cb)],
      ['no callback', 'return', (f, r) => () => f(fdOf(r), Buffer.alloc(3), 0, 3, 0)],
      ['directory fd', 'callback', (f, r) => (cb) => f(fs.openSync(PATHS.dir(r), 'r'), Buffer.alloc(3), 0, 3, null, cb)],
      ['/proc fd', 'callback', (f) => (cb) => f(fs.openSync('/proc/version', name === 'read' ? 'r' : 'r'), Buffer.alloc(3), 0, 3, null, cb)],
      ['promisified', 'promise', (f, r) => () => promisify(f)(fdOf(r), Buffer.alloc(4), 0, 4, 1)]
    ]
    return calls
  }])),
  'timers/promises.setTimeout': () => [
    ...cross([undefined, 0, 1, 1.5, -1, '1', 1n, 2 ** 31, NaN], [undefined, 'v'])
      .map(([d, v]) => [`delay ${typeof d === 'bigint' ? '1n' : d} value ${v}`, 'promise', (f) => () => f(d, v)]),
    ...Object.entries({ null: null, array: [], string: 'x', empty: {}, refTrue: { ref: true }, refFalse: { ref: false }, refString: { ref: 'x' }, refNull: { ref: null } })
      .map(([what, o]) => [`options ${what}`, 'promise', (f) => () => f(1, 'v', o)]),
    ...Object.entries(signals()).map(([what, signal]) => [`signal ${what}`, 'promise', (f) => () => f(1, 'v', { signal })])
  ],
  'dns.promises.lookup': () => [
    // Literals and /etc/hosts' localhost only: nothing leaves this host.
    ...cross(['127.0.0.1', '::1', 'localhost'], [undefined, 0, 4, 6, 5, '4', null, { family: 4 }, { family: 6 }, { family: 'IPv4' }, { all: true }, { all: 'true' }, { all: true, family: 6 }, { hints: 'x' }, { verbatim: 'x' }, { order: 'x' }])
      .map(([h, o]) => [`${h} ${JSON.stringify(o)}`, 'promise', (f) => () => f(h, o)]),
    ...Object.entries({ number: 42, empty: '', null: null, object: {} }).map(([what, h]) => [`hostname ${what}`, 'promise', (f) => () => f(h)])
  ]
}

/** The functions whose calls change the tree: it is compared after each call. */
const mutates = new Set(['fs.promises.writeFile', 'fs.promises.unlink', 'fs.promises.rmdir', 'fs.promises.rename', 'fs.promises.mkdir', 'fs.open', 'fs.write'])
/** Every entry of a tree: path, kind, size, mode. */
function tree (r) {
  return fs.readdirSync(r, { recursive: true }).sort().map((p) => { const st = fs.lstatSync(join(r, p)); return `${p} ${st.mode.toString(8)} ${st.isFile() ? st.size : ''}` })
}

const schedulers = [['UringScheduler', () => new UringScheduler()], ['NodeScheduler', () => new NodeScheduler()]]

for (const name of routedFunctions) {
  for (const [label, make] of schedulers) {
    test.serial(`${label}: ${name}, its matrix of calls, routed and Node's own`, async (t) => {
      const spec = SPECS[name]
      if (spec === undefined) return t.fail(`${name} is routed by install.ts and has no spec in tests/parity-matrix.test.mjs`)
      const base = tempDir(t)
      const s = make()
      t.teardown(async () => { if (installed()) uninstall(); await s.close() })
      let n = 0
      let rootOwn, rootMine
      for (const [title, form, call] of spec()) {
        // A fresh pair of identical trees for each call that may change them.
        if (n === 0 || mutates.has(name)) {
          rootOwn = makeTree(join(base, `o${n}`))
          rootMine = makeTree(join(base, `m${n}`))
        }
        n++
        const theirs = await outcome(call(own[name], rootOwn), rootOwn, form)
        install()
        let mine
        try {
          mine = await runWithScheduler(s, () => outcome(call(current(name), rootMine), rootMine, form))
        } finally { uninstall() }
        t.deepEqual(mine, theirs, `${name}: ${title}`)
        if (mutates.has(name)) t.deepEqual(tree(rootMine), tree(rootOwn), `${name}: ${title}: the tree afterwards`)
      }
      t.log(`${n} calls`)
    })
  }
}

test.serial('routedFunctions is what install() replaces', (t) => {
  const before = Object.fromEntries(Object.entries(holders).map(([k, o]) => [k, { ...o }]))
  install()
  t.teardown(uninstall)
  const replaced = []
  for (const [k, o] of Object.entries(holders)) for (const [f, orig] of Object.entries(before[k])) if (typeof orig === 'function' && o[f] !== orig) replaced.push(`${k}.${f}`)
  t.deepEqual(replaced.sort(), [...routedFunctions].sort())
})

test('every routed function is in the documented list of routed functions', (t) => {
  const doc = [join(repo, 'docs', 'install.md'), join(repo, 'README.md')].find((p) => fs.existsSync(p) && /\*\*Routed:\*\*|^#+ Routed/m.test(fs.readFileSync(p, 'utf8')))
  if (doc === undefined) return t.fail('no routed list in docs/install.md or README.md')
  const text = fs.readFileSync(doc, 'utf8')
  const start = text.search(/\*\*Routed:\*\*|^#+ Routed/m)
  const rest = text.slice(start + 10)
  const end = rest.search(/\*\*Not routed|^#+ /m)
  const section = end < 0 ? rest : rest.slice(0, end)
  // `fs.promises.readFile`, `writeFile` ...: a bare name takes the module of the dotted one before it.
  const listed = new Set()
  let prefix = ''
  for (const [, code] of section.matchAll(/`([^`]+)`/g)) {
    for (const part of code.split('/').length > 1 && !code.startsWith('timers/') ? code.split('/') : [code]) {
      const m = /^([\w/]+(?:\.[\w]+)*)\.(\w+)$/.exec(part)
      if (m) { prefix = m[1]; listed.add(part) } else if (/^\w+$/.test(part) && prefix) listed.add(`${prefix}.${part}`)
    }
  }
  for (const name of routedFunctions) t.true(listed.has(name), `${name} is not in the routed list of ${doc}`)
})

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
import { PerformanceObserver } from 'node:perf_hooks'
import { join } from 'node:path'
import { promisify, isDeepStrictEqual } from 'node:util'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { install, uninstall, installed, runWithScheduler, UringScheduler, NodeScheduler } from 'uring-machine'
import { tempDir } from './helpers.mjs'

const require = createRequire(import.meta.url)
const dist = join(require.resolve('uring-machine'), '..')
const baseRouted = require(join(dist, 'install.js')).routedFunctions
const moreRouted = require(join(dist, 'install-more.js')).routedFunctions
/** Both lists: install.ts's and install-more.ts's (fs.promises.mkdir is in both: it is tested once). */
const routedFunctions = [...new Set([...baseRouted, ...moreRouted])]
const repo = join(fileURLToPath(import.meta.url), '..', '..')
const thisFile = fileURLToPath(import.meta.url)

/** Node's own fs.promises.open: every FileHandle of the matrix is opened with it, in both runs. */
const nodeOpen = fsp.open
/** FileHandle.prototype, from a handle of Node's own, before any install(). */
const fileHandleProto = await nodeOpen(thisFile, 'r').then(async (h) => { const p = Object.getPrototypeOf(h); await h.close(); return p })

const holders = { fs, 'fs.promises': fsp, 'timers/promises': timersPromises, 'dns.promises': dns.promises, 'FileHandle.prototype': fileHandleProto, 'PerformanceObserver.prototype': PerformanceObserver.prototype }
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

// --- What install-more.ts's specs share.
/** An argument left out (not passed as undefined). */
const OMIT = Symbol('omitted')
/** fds of each kind: [path kind, flags]. A fifo opened r+ does not wait for the other end. */
const FD_KINDS = { 'file r': ['file', 'r'], 'file r+': ['file', 'r+'], dir: ['dir', 'r'], fifo: ['fifo', 'r+'], '/proc': ['/proc', 'r'] }
/** fds that are none: one above any open (not a just-closed one, which the ring or libuv may reuse), and what is no fd. */
const BAD_FDS = { unused: 999999, negative: -1, fraction: 1.5, big: 2 ** 31, string: '1', null: null, undefined }
const pathOf = (r, k) => k === '/proc' ? '/proc/version' : PATHS[k](r)
/** Opens an fd of `k` with Node's openSync, gives `body` it and a callback that closes it first. */
function withFd (r, k, flags, cb, body) {
  const fd = fs.openSync(pathOf(r, k), flags)
  try { return body(fd, (...a) => { fs.closeSync(fd); cb(...a) }) } catch (e) { fs.closeSync(fd); throw e }
}
const LENGTHS = [['omitted', OMIT], ['undefined', undefined], ['0', 0], ['3', 3], ['100', 100], ['-1', -1], ['1.5', 1.5], ["'1'", '1'], ['null', null], ['1n', 1n], ['2^53', 2 ** 53], ['MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER]]
const VECTORS = {
  one: () => [Buffer.from('abcde')],
  two: () => [Buffer.from('ab'), Buffer.from('cde')],
  emptyArray: () => [],
  emptyBuffer: () => [Buffer.alloc(0)],
  u8AndDataView: () => [new Uint8Array([65, 66]), new DataView(new ArrayBuffer(2))],
  notArray: () => Buffer.from('ab'),
  strings: () => ['ab'],
  over1024: () => Array.from({ length: 1025 }, () => Buffer.from('z'))
}
const VPOSITIONS = [['omitted', OMIT], ['null', null], ['undefined', undefined], ['0', 0], ['3', 3], ['100', 100], ['-1', -1], ['1.5', 1.5], ["'1'", '1'], ['2n', 2n]]
/** A call in callback form (the callback last) or promise form. */
const call = (form, f, ...args) => form === 'callback' ? (cb) => f(...args, cb) : () => f(...args)
const COPY_MODES = [['omitted', OMIT], ['0', 0], ['EXCL', 1], ['FICLONE', 2], ['EXCL|FICLONE', 3], ['FICLONE_FORCE', 4], ['8', 8], ["'1'", '1']]
const DATA = { string: () => 'text', buffer: () => Buffer.from('b'), u16: () => new Uint16Array([0x4141, 0x4242]), dataView: () => new DataView(new ArrayBuffer(2)), empty: () => Buffer.alloc(0), emptyString: () => '', number: () => 5, object: () => ({}), null: () => null }
/** mkdir's matrix, recursive forms foremost (install-more.ts's). */
function mkdirCalls (form) {
  const rel = { deep: ['missing', 'a', 'b'], dot: ['missing', '.', 'x'], doubleSlash: ['missing', '', 'x'], trailingSlash: ['missing', 'x', ''], dotDot: ['dir', '..', 'missing', 'x'], underFile: ['file', 'a', 'b'], underDangling: ['dangling', 'a'], underSymlinkDir: ['dlink', 'a'] }
  return [
    ...cross(['missing', 'file', 'dir', 'missingParent', 'notDir', 'dangling', 'symlink', 'fifo'], [OMIT, { recursive: true }, { recursive: true, mode: 0o700 }, { recursive: true, mode: 'x' }, { recursive: true, mode: -1 }, { recursive: false }, 0o700, { recursive: 'yes' }, { recursive: true, other: 1 }])
      .map(([k, o]) => [`${k} ${o === OMIT ? 'no options' : JSON.stringify(o)}`, form, (f, r) => o === OMIT ? call(form, f, PATHS[k](r)) : call(form, f, PATHS[k](r), o)]),
    ...cross(Object.keys(rel), [{ recursive: true }, { recursive: true, mode: 0o750 }])
      .map(([k, o]) => [`${k} ${JSON.stringify(o)}`, form, (f, r) => { fs.symlinkSync('dir', join(r, 'dlink')); return call(form, f, [r, ...rel[k]].join('/'), o) }]),
    ['root, recursive', form, (f) => call(form, f, '/', { recursive: true })],
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}, recursive`, form, (f) => call(form, f, p, { recursive: true })]),
    ...(form === 'callback' ? [['no callback', 'return', (f, r) => () => f(PATHS.missing(r), { recursive: true })], ['callback not a function', 'callback', (f, r) => () => f(PATHS.missing(r), { recursive: true }, 'x')]] : [])
  ]
}
/** FileHandles of each kind: [path kind, flags]. */
const FH_KINDS = { 'file r+': ['file', 'r+'], 'file r': ['file', 'r'], 'file a': ['file', 'a'], 'file w': ['file', 'w'], empty: ['empty', 'r+'], dir: ['dir', 'r'], fifo: ['fifo', 'r+'], '/proc': ['/proc', 'r'] }
const FH_BUFS = { buf5: () => Buffer.alloc(5), empty: () => Buffer.alloc(0), u8: () => new Uint8Array(5), dataView: () => new DataView(new ArrayBuffer(5)), string: () => 'hello' }
const FH_POSITIONS = [['omitted', OMIT], ['null', null], ['-1', -1], ['0', 0], ['3', 3], ['100', 100], ['1.5', 1.5], ['2n', 2n], ['2^53', 2 ** 53], ["'1'", '1']]
/**
 * A FileHandle method's matrix: each [title, (handle) => args] on a handle
 * of each kind, opened by Node's own fs.promises.open and closed after;
 * and the method on a closed handle and on what is no FileHandle.
 */
function fileHandleCalls (list, kinds) {
  const on = (r, kind, body) => async () => {
    const [k, flags] = FH_KINDS[kind]
    const h = await nodeOpen(pathOf(r, k), flags)
    try { return await body(h) } finally { await h.close() }
  }
  const [, first] = list[0]
  return [
    ...kinds.flatMap((kind) => list.map(([title, args]) => [`${kind}: ${title}`, 'promise', (f, r) => on(r, kind, async (h) => f.call(h, ...(await args(h))))])),
    ['closed handle', 'promise', (f, r) => async () => { const h = await nodeOpen(PATHS.file(r), 'r+'); await h.close(); return f.call(h, ...(await first(h))) }],
    ['this not a FileHandle', 'promise', (f, r) => async () => f.call({ fd: 0 }, ...(await first(null)))]
  ]
}

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
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'promise', (f) => () => f(p)]),
    // install-more.ts's { recursive: true } route.
    ...mkdirCalls('promise')
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
  ],
  // --- install-more.ts's routes.
  ...Object.fromEntries(['fsync', 'fdatasync'].map((name) => [`fs.${name}`, () => [
    ...Object.entries(FD_KINDS).map(([what, [k, flags]]) => [`fd ${what}`, 'callback', (f, r) => (cb) => withFd(r, k, flags, cb, (fd, done) => f(fd, done))]),
    ...Object.entries(BAD_FDS).map(([what, fd]) => [`fd ${what}`, 'callback', (f) => (cb) => f(fd, cb)]),
    ['extra argument', 'callback', (f, r) => (cb) => withFd(r, 'file', 'r+', cb, (fd, done) => f(fd, {}, done))],
    ['no callback', 'return', (f, r) => () => f(fs.openSync(PATHS.file(r), 'r'))],
    ['promisified', 'promise', (f, r) => () => promisify(f)(fs.openSync(PATHS.file(r), 'r'))]
  ]])),
  'fs.ftruncate': () => [
    ...cross(['file r+', 'file r', 'dir', 'fifo'], LENGTHS).map(([w, [lt, len]]) => [`fd ${w} len ${lt}`, 'callback', (f, r) => (cb) => withFd(r, ...FD_KINDS[w], cb, (fd, done) => len === OMIT ? f(fd, done) : f(fd, len, done))]),
    ...Object.entries(BAD_FDS).map(([what, fd]) => [`fd ${what}`, 'callback', (f) => (cb) => f(fd, 0, cb)]),
    ['no callback', 'return', (f, r) => () => f(fs.openSync(PATHS.file(r), 'r+'), 1)]
  ],
  'fs.truncate': () => [
    ...cross(['file', 'empty', 'dir', 'symlink', 'dangling', 'missing', 'notDir', 'fifo'], LENGTHS).map(([k, [lt, len]]) => [`${k} len ${lt}`, 'callback', (f, r) => (cb) => len === OMIT ? f(PATHS[k](r), cb) : f(PATHS[k](r), len, cb)]),
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'callback', (f) => (cb) => f(p, 0, cb)]),
    ['fd for a path', 'callback', (f, r) => (cb) => withFd(r, 'file', 'r+', cb, (fd, done) => f(fd, 1, done))],
    ['no callback', 'return', (f, r) => () => f(PATHS.file(r), 1)]
  ],
  'fs.promises.truncate': () => [
    ...cross(['file', 'empty', 'dir', 'symlink', 'dangling', 'missing', 'notDir', 'fifo'], LENGTHS).map(([k, [lt, len]]) => [`${k} len ${lt}`, 'promise', (f, r) => () => len === OMIT ? f(PATHS[k](r)) : f(PATHS[k](r), len)]),
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'promise', (f) => () => f(p, 0)]),
    ['extra argument', 'promise', (f, r) => () => f(PATHS.file(r), 1, {})]
  ],
  'fs.fstat': () => [
    ...cross(Object.keys(FD_KINDS), [OMIT, undefined, null, { bigint: true }, { bigint: false }, { throwIfNoEntry: false }, { bigint: 1 }, 'x'])
      .map(([w, o]) => [`fd ${w} ${o === OMIT ? 'no options' : JSON.stringify(o)}`, 'callback', (f, r) => (cb) => withFd(r, ...FD_KINDS[w], cb, (fd, done) => o === OMIT ? f(fd, done) : f(fd, o, done))]),
    ...Object.entries(BAD_FDS).map(([what, fd]) => [`fd ${what}`, 'callback', (f) => (cb) => f(fd, cb)]),
    ['no callback', 'return', (f, r) => () => f(fs.openSync(PATHS.file(r), 'r'))]
  ],
  ...Object.fromEntries(['readv', 'writev'].map((name) => [`fs.${name}`, () => [
    ...cross(['file r+', 'file r', 'dir'], Object.keys(VECTORS), VPOSITIONS).map(([w, v, [pt, p]]) => [`fd ${w} buffers ${v} position ${pt}`, 'callback', (f, r) => (cb) => withFd(r, ...FD_KINDS[w], cb, (fd, done) => p === OMIT ? f(fd, VECTORS[v](), done) : f(fd, VECTORS[v](), p, done))]),
    ...Object.entries(BAD_FDS).map(([what, fd]) => [`fd ${what}`, 'callback', (f) => (cb) => f(fd, [Buffer.alloc(2)], 0, cb)]),
    ['no callback', 'return', (f, r) => () => f(fs.openSync(PATHS.file(r), 'r+'), [Buffer.alloc(2)], 0)],
    ['promisified', 'promise', (f, r) => () => promisify(f)(fs.openSync(PATHS.file(r), 'r+'), [Buffer.from('ab'), Buffer.alloc(2)], 1)]
  ]])),
  ...Object.fromEntries([['fs.link', 'callback'], ['fs.promises.link', 'promise']].map(([name, form]) => [name, () => [
    ...cross(['file', 'dir', 'symlink', 'dangling', 'missing', 'fifo', 'notDir'], ['missing', 'file', 'dir', 'dangling', 'missingParent', 'notDir'])
      .map(([a, b]) => [`${a} -> ${b}`, form, (f, r) => call(form, f, PATHS[a](r), PATHS[b](r))]),
    ...Object.entries(BAD_PATHS).flatMap(([what, p]) => [
      [`existing ${what}`, form, (f, r) => call(form, f, p, PATHS.missing(r))],
      [`new ${what}`, form, (f, r) => call(form, f, PATHS.file(r), p)]
    ]),
    ['extra argument', form, (f, r) => call(form, f, PATHS.file(r), PATHS.missing(r), {})],
    ...(form === 'callback' ? [['no callback', 'return', (f, r) => () => f(PATHS.file(r), PATHS.missing(r))]] : [])
  ]])),
  ...Object.fromEntries([['fs.symlink', 'callback'], ['fs.promises.symlink', 'promise']].map(([name, form]) => [name, () => [
    ...cross(['file', 'nowhere', 'abs', 'dirname', ''], ['missing', 'file', 'dir', 'dangling', 'missingParent', 'notDir'], [OMIT, undefined, null, 'file', 'dir', 'junction', 'bogus', 5])
      .map(([t, b, type]) => [`${t || '(empty)'} -> ${b} type ${type === OMIT ? 'omitted' : type}`, form, (f, r) => {
        const target = t === 'abs' ? PATHS.file(r) : t === 'dirname' ? 'dir' : t
        return type === OMIT ? call(form, f, target, PATHS[b](r)) : call(form, f, target, PATHS[b](r), type)
      }]),
    ...Object.entries(BAD_PATHS).flatMap(([what, p]) => [
      [`target ${what}`, form, (f, r) => call(form, f, p, PATHS.missing(r))],
      [`path ${what}`, form, (f) => call(form, f, 'file', p)]
    ]),
    ...(form === 'callback' ? [['no callback', 'return', (f, r) => () => f('file', PATHS.missing(r))]] : [])
  ]])),
  ...Object.fromEntries([['fs.copyFile', 'callback'], ['fs.promises.copyFile', 'promise']].map(([name, form]) => [name, () => [
    // A fifo is neither source nor destination: opening it would wait for the other end.
    ...cross(['file', 'empty', 'dir', 'symlink', 'dangling', 'missing', 'notDir'], ['missing', 'file', 'empty', 'dir', 'symlink', 'dangling', 'missingParent', 'notDir', 'same'], COPY_MODES)
      .map(([a, b, [mt, m]]) => [`${a} -> ${b} mode ${mt}`, form, (f, r) => {
        const dest = b === 'same' ? PATHS[a](r) : PATHS[b](r)
        return m === OMIT ? call(form, f, PATHS[a](r), dest) : call(form, f, PATHS[a](r), dest, m)
      }]),
    ['mode 0o640 source', form, (f, r) => { fs.chmodSync(PATHS.file(r), 0o640); return call(form, f, PATHS.file(r), PATHS.missing(r)) }],
    ...Object.entries(BAD_PATHS).flatMap(([what, p]) => [
      [`src ${what}`, form, (f, r) => call(form, f, p, PATHS.missing(r))],
      [`dest ${what}`, form, (f, r) => call(form, f, PATHS.file(r), p)]
    ]),
    ...(form === 'callback' ? [['no callback', 'return', (f, r) => () => f(PATHS.file(r), PATHS.missing(r))]] : [])
  ]])),
  ...Object.fromEntries([['fs.mkdir', 'callback']].map(([name, form]) => [name, () => mkdirCalls(form)])),
  ...Object.fromEntries([['fs.rm', 'callback'], ['fs.promises.rm', 'promise']].map(([name, form]) => [name, () => [
    ...cross(Object.keys(PATHS), [OMIT, undefined, null, {}, { force: true }, { recursive: true }, { force: true, recursive: true }, { force: 'x' }, { recursive: 1 }, { maxRetries: 1 }, 'x'])
      .map(([k, o]) => [`${k} ${o === OMIT ? 'no options' : JSON.stringify(o)}`, form, (f, r) => o === OMIT ? call(form, f, PATHS[k](r)) : call(form, f, PATHS[k](r), o)]),
    // No 'no callback' case: Node's own fs.rm then throws later, uncaught (callback is not a function).
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, form, (f) => call(form, f, p)])
  ]])),
  ...Object.fromEntries(['fs.writeFile', 'fs.appendFile'].map((name) => [name, () => [
    // A fifo would wait for a reader.
    ...cross(['file', 'empty', 'dir', 'symlink', 'dangling', 'missing', 'missingParent', 'notDir'], [OMIT, undefined, 'utf8', 'hex', 'bogus', { flag: 'a' }, { flag: 'w' }, { flag: 'wx' }, { flag: 'r' }, { mode: 0o600 }, { mode: 'x' }, { encoding: 'bogus' }, { flush: true }])
      .map(([k, o]) => [`${k} ${o === OMIT ? 'no options' : JSON.stringify(o)}`, 'callback', (f, r) => (cb) => o === OMIT ? f(PATHS[k](r), 'abcd', cb) : f(PATHS[k](r), 'abcd', o, cb)]),
    ...Object.entries(DATA).map(([what, data]) => [`data ${what}`, 'callback', (f, r) => (cb) => f(PATHS.file(r), data(), cb)]),
    ...Object.entries(signals()).map(([what, signal]) => [`signal ${what}`, 'callback', (f, r) => (cb) => f(PATHS.file(r), 'x', { signal }, cb)]),
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'callback', (f) => (cb) => f(p, 'x', cb)]),
    ['callback not a function', 'callback', (f, r) => () => f(PATHS.file(r), 'x', {}, 'x')]
  ]])),
  'fs.promises.appendFile': () => [
    // A fifo would wait for a reader.
    ...cross(['file', 'empty', 'dir', 'symlink', 'dangling', 'missing', 'missingParent', 'notDir'], [OMIT, undefined, null, 'utf8', 'hex', 'bogus', { flag: 'a' }, { flag: 'w' }, { flag: 'ax' }, { flag: 'r' }, { mode: 0o600 }, { mode: 'x' }, { encoding: 'bogus' }, { flush: true }])
      .map(([k, o]) => [`${k} ${o === OMIT ? 'no options' : JSON.stringify(o)}`, 'promise', (f, r) => () => o === OMIT ? f(PATHS[k](r), 'abcd') : f(PATHS[k](r), 'abcd', o)]),
    ...Object.entries(DATA).map(([what, data]) => [`data ${what}`, 'promise', (f, r) => () => f(PATHS.file(r), data())]),
    ['odd hex', 'promise', (f, r) => () => f(PATHS.file(r), 'abc', 'hex')],
    ...Object.entries(signals()).map(([what, signal]) => [`signal ${what}`, 'promise', (f, r) => () => f(PATHS.file(r), 'x', { signal })]),
    ...Object.entries(BAD_PATHS).map(([what, p]) => [`path ${what}`, 'promise', (f) => () => f(p, 'x')]),
    ['fd for a path', 'promise', (f, r) => () => { const fd = fs.openSync(PATHS.file(r), 'a'); return f(fd, 'x').finally(() => fs.closeSync(fd)) }]
  ],
  // --- FileHandle.prototype's methods, on handles of Node's own fs.promises.open.
  // No fractional length: Node's own read and write then abort the process
  // (node_file.cc: Assertion failed: args[3]->IsInt32()).
  // A position after an offset alone goes in with an undefined length: in
  // (buffer, offset, position) it would be the length, and a fractional one aborts.
  'FileHandle.prototype.read': () => fileHandleCalls([
    // No string buffer either: Node 20's own read aborts on one (a length of NaN).
    ...cross(Object.keys(FH_BUFS).filter((b) => b !== 'string'), [[OMIT], [0], [0, 5], [0, 0], [1, 3], [2, 5], [-1, 1], [0, 2 ** 31]], FH_POSITIONS)
      .map(([b, ol, [pt, p]]) => [`${b} ${ol.map(String).join(' ')} position ${pt}`, () => ol[0] === OMIT ? [FH_BUFS[b]()] : [FH_BUFS[b](), ...ol, ...(p === OMIT ? [] : ol.length === 1 ? [undefined, p] : [p])]]),
    ['no arguments', () => []],
    ...Object.entries({ buffer: { buffer: Buffer.alloc(4) }, position: { buffer: Buffer.alloc(4), position: 2 }, all: { buffer: Buffer.alloc(4), offset: 1, length: 2, position: 1 }, noBuffer: { length: 3 }, empty: {} })
      .map(([what, o]) => [`options ${what}`, () => [o]]),
    ['buffer, options', () => [Buffer.alloc(4), { offset: 1, position: 0 }]]
  ], ['file r+', 'empty', 'dir']),
  'FileHandle.prototype.write': () => fileHandleCalls([
    ...cross(Object.keys(FH_BUFS), [[OMIT], [0], [0, 5], [0, 0], [1, 3], [2, 5], [-1, 1]], FH_POSITIONS)
      .map(([b, ol, [pt, p]]) => [`${b} ${ol.map(String).join(' ')} position ${pt}`, () => ol[0] === OMIT ? [FH_BUFS[b]()] : [FH_BUFS[b](), ...ol, ...(p === OMIT ? [] : [p])]]),
    ...cross(['zz', '', 'abc', 'é'], [OMIT, null, 0, 3, -1, 1.5, '1'], [OMIT, 'utf8', 'hex', 'latin1', 'bogus', 5])
      .map(([str, p, enc]) => [`string ${JSON.stringify(str)} position ${String(p)} encoding ${String(enc)}`, () => enc === OMIT ? (p === OMIT ? [str] : [str, p]) : [str, p === OMIT ? undefined : p, enc]]),
    ['no arguments', () => []],
    ['buffer, options', () => [Buffer.from('zz'), { offset: 0, length: 2, position: 1 }]],
    ['number', () => [5]]
  ], ['file r+', 'file r', 'dir']),
  ...Object.fromEntries(['readv', 'writev'].map((name) => [`FileHandle.prototype.${name}`, () => fileHandleCalls([
    ...cross(Object.keys(VECTORS), VPOSITIONS).map(([v, [pt, p]]) => [`buffers ${v} position ${pt}`, () => p === OMIT ? [VECTORS[v]()] : [VECTORS[v](), p]]),
    ['no arguments', () => []],
    ['extra argument', () => [[Buffer.alloc(2)], 0, {}]]
  ], ['file r+', 'file r', 'dir'])])),
  'FileHandle.prototype.stat': () => fileHandleCalls([
    ...[OMIT, undefined, null, { bigint: true }, { bigint: false }, { bigint: 1 }, { throwIfNoEntry: false }, 'x'].map((o) => [o === OMIT ? 'no options' : JSON.stringify(o) ?? 'undefined', () => o === OMIT ? [] : [o]]),
    ['extra argument', () => [{}, {}]]
  ], ['file r+', 'dir', 'fifo']),
  'FileHandle.prototype.truncate': () => fileHandleCalls(
    LENGTHS.map(([lt, len]) => [`len ${lt}`, () => len === OMIT ? [] : [len]]).concat([['extra argument', () => [1, {}]]]),
    ['file r+', 'file r', 'empty', 'dir', 'fifo']),
  ...Object.fromEntries(['sync', 'datasync'].map((name) => [`FileHandle.prototype.${name}`, () => fileHandleCalls([
    ['no arguments', () => []],
    ['an argument', () => [{}]]
  ], ['file r+', 'file r', 'dir', 'fifo'])])),
  'FileHandle.prototype.readFile': () => fileHandleCalls([
    ...[OMIT, undefined, null, 'utf8', 'hex', 'bogus', 5, { encoding: 'base64' }, { encoding: null }, { encoding: 'bogus' }, { flag: 'r' }, { signal: AbortSignal.abort('why') }, { signal: new AbortController().signal }, { signal: 'x' }]
      .map((o) => [o === OMIT ? 'no options' : o?.signal !== undefined ? `signal ${typeof o.signal === 'string' ? 'string' : o.signal.aborted ? 'aborted' : 'live'}` : JSON.stringify(o) ?? 'undefined', () => o === OMIT ? [] : [o]]),
    ['extra argument', () => [undefined, {}]],
    ['after a read of 3', async (h) => { await fileHandleProto.read.call(h, Buffer.alloc(3), 0, 3, null); return [] }]
  ], ['file r+', 'empty', 'dir', '/proc', 'file w']),
  ...Object.fromEntries(['writeFile', 'appendFile'].map((name) => [`FileHandle.prototype.${name}`, () => fileHandleCalls([
    ...cross(Object.keys(DATA), [OMIT, undefined, null, 'utf8', 'hex', 'bogus', { encoding: 'latin1' }, { encoding: 'bogus' }, { flag: 'a' }, { mode: 0o600 }, { flush: true }, { signal: AbortSignal.abort('why') }])
      .map(([d, o]) => [`data ${d} ${o === OMIT ? 'no options' : o?.signal ? 'aborted signal' : JSON.stringify(o) ?? 'undefined'}`, () => o === OMIT ? [DATA[d]()] : [DATA[d](), o]]),
    ['odd hex', () => ['abc', 'hex']],
    ['no arguments', () => []],
    ['after a read of 3', async (h) => { await fileHandleProto.read.call(h, Buffer.alloc(3), 0, 3, null); return ['XY'] }]
  ], ['file r+', 'file r', 'file a', 'dir'])]))

}

/** The functions whose calls change the tree: it is compared after each call. */
const mutates = new Set(['fs.promises.writeFile', 'fs.writeFile', 'fs.appendFile', 'fs.promises.unlink', 'fs.promises.rmdir', 'fs.promises.rename', 'fs.promises.mkdir', 'fs.open', 'fs.write',
  'fs.ftruncate', 'fs.truncate', 'fs.writev', 'fs.link', 'fs.symlink', 'fs.copyFile', 'fs.mkdir', 'fs.rm',
  'fs.promises.appendFile', 'fs.promises.truncate', 'fs.promises.link', 'fs.promises.symlink', 'fs.promises.copyFile', 'fs.promises.rm',
  'FileHandle.prototype.write', 'FileHandle.prototype.writev', 'FileHandle.prototype.truncate', 'FileHandle.prototype.writeFile', 'FileHandle.prototype.appendFile'])
/** Every entry of a tree: path, kind, size, mode. */
function tree (r) {
  return fs.readdirSync(r, { recursive: true }).sort().map((p) => {
    const st = fs.lstatSync(join(r, p))
    const what = st.isFile() ? `${st.size} ${st.size <= 4096 ? fs.readFileSync(join(r, p)).toString('hex') : ''}` : st.isSymbolicLink() ? `-> ${fs.readlinkSync(join(r, p)).split(r).join('<root>')}` : ''
    return `${p} ${st.mode.toString(8)} ${what}`
  })
}

const schedulers = [['UringScheduler', () => new UringScheduler()], ['NodeScheduler', () => new NodeScheduler()]]

/**
 * Calls per test: a long matrix is cut into tests of this many, so that
 * each reports within seconds (CI's watchdog takes a minute's silence for
 * a hang, and a loaded host takes that for a thousand calls).
 */
const CHUNK = 150

for (const name of routedFunctions) {
  const spec = SPECS[name]
  const count = spec === undefined ? 0 : spec().length
  const parts = Math.max(1, Math.ceil(count / CHUNK))
  for (const [label, make] of schedulers) for (let part = 0; part < parts; part++) {
    const which = parts === 1 ? '' : ` ${part * CHUNK + 1}-${Math.min(count, (part + 1) * CHUNK)} of ${count}`
    test.serial(`${label}: ${name}, its matrix of calls${which}, routed and Node's own`, async (t) => {
      if (spec === undefined) return t.fail(`${name} is routed by install.ts or install-more.ts and has no spec in tests/parity-matrix.test.mjs`)
      const base = tempDir(t)
      const s = make()
      t.teardown(async () => { if (installed()) uninstall(); await s.close() })
      let n = 0
      let rootOwn, rootMine
      // A fresh spec each test: its signals and buffers are no other test's.
      for (const [title, form, call] of spec().slice(part * CHUNK, (part + 1) * CHUNK)) {
        // A fresh pair of identical trees for each call that may change them.
        if (n === 0 || mutates.has(name)) {
          rootOwn = makeTree(join(base, `o${n}`))
          rootMine = makeTree(join(base, `m${n}`))
        }
        n++
        const theirs = await outcome(call(own[name], rootOwn), rootOwn, form)
        install()
        // FileHandle.prototype is patched at the first fs.promises.open under install().
        if (name.startsWith('FileHandle.prototype.')) await fsp.open(thisFile, 'r').then((h) => h.close())
        let mine
        try {
          mine = await runWithScheduler(s, () => outcome(call(current(name), rootMine), rootMine, form))
        } finally { uninstall() }
        t.deepEqual(mine, theirs, `${name}: ${title}`)
        // ava shows a test's first failed assertion only: each difference is logged too.
        const json = (v) => JSON.stringify(v, (k, x) => typeof x === 'bigint' ? `${x}n` : x)
        if (!isDeepStrictEqual(mine, theirs)) t.log(`differs: ${name}: ${title}\n  Node's: ${json(theirs)}\n  routed: ${json(mine)}`)
        if (mutates.has(name)) {
          const [a, b] = [tree(rootMine), tree(rootOwn)]
          t.deepEqual(a, b, `${name}: ${title}: the tree afterwards`)
          if (!isDeepStrictEqual(a, b)) t.log(`differs: ${name}: ${title}: the tree afterwards\n  Node's: ${json(b)}\n  routed: ${json(a)}`)
        }
      }
      t.log(`${n} calls`)
    })
  }
}

/**
 * Replaced, not routed (docs/install.md): fs.promises.open is wrapped to
 * learn FileHandle.prototype at the first open, and stays Node's;
 * PerformanceObserver's observe and disconnect are wrapped to learn who
 * observes 'dns' (their lookups are then Node's own).
 */
const replacedNotRouted = ['fs.promises.open', 'PerformanceObserver.prototype.observe', 'PerformanceObserver.prototype.disconnect']

test.serial('routedFunctions is what install() replaces', async (t) => {
  const before = Object.fromEntries(Object.entries(holders).map(([k, o]) => [k, Object.fromEntries(Reflect.ownKeys(o).filter((f) => typeof f === 'string').map((f) => [f, Object.getOwnPropertyDescriptor(o, f).value]))]))
  install()
  t.teardown(uninstall)
  // FileHandle.prototype's methods are patched at the first fs.promises.open under install().
  await fsp.open(thisFile, 'r').then((h) => h.close())
  const replaced = []
  for (const [k, o] of Object.entries(holders)) for (const [f, orig] of Object.entries(before[k])) if (typeof orig === 'function' && Object.getOwnPropertyDescriptor(o, f)?.value !== orig) replaced.push(`${k}.${f}`)
  t.deepEqual(replaced.sort(), [...routedFunctions, ...replacedNotRouted].sort())
  uninstall()
  const after = []
  for (const [k, o] of Object.entries(holders)) for (const [f, orig] of Object.entries(before[k])) if (typeof orig === 'function' && Object.getOwnPropertyDescriptor(o, f)?.value !== orig) after.push(`${k}.${f}`)
  t.deepEqual(after, [], 'uninstall() restores every one')
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
  // An item that starts "callback and promise" names both fs.x and fs.promises.x;
  // one that starts with `FileHandle` names FileHandle.prototype.x.
  const listed = new Set()
  for (const item of section.split(/^- /m)) {
    const both = /^callback and promise/.test(item)
    const handle = /^`FileHandle`/.test(item)
    let prefix = ''
    for (const [, code] of item.matchAll(/`([^`]+)`/g)) {
      for (const part of code.split('/').length > 1 && !code.startsWith('timers/') ? code.split('/') : [code]) {
        const m = /^([\w/]+(?:\.[\w]+)*)\.(\w+)$/.exec(part)
        if (m) { prefix = m[1]; listed.add(part) } else if (/^\w+$/.test(part) && prefix) listed.add(`${prefix}.${part}`)
        if (/^\w+$/.test(part) && handle) listed.add(`FileHandle.prototype.${part}`)
        const bare = m ? m[2] : /^\w+$/.test(part) ? part : undefined
        if (both && bare !== undefined) { listed.add(`fs.${bare}`); listed.add(`fs.promises.${bare}`) }
      }
    }
  }
  for (const name of routedFunctions) t.true(listed.has(name), `${name} is not in the routed list of ${doc}`)
})

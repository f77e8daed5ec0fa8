// Whole-file calls on op chains (crates/core/src/chain.rs): readFile,
// writeFile and appendFile, each one native call, one submission of linked ops on a
// direct descriptor and one promise. Where the ring runs no chains (a
// kernel before 5.19, an SQPOLL ring) they fall back to single ops with
// the same results.
import { constants as osConstants } from 'node:os'
import * as E from '../errors'
import * as V from '../validate'
import { type Engine, READ_FILE, WRITE_FILE } from '../completion'
import * as F from './fs'

const ENOSYS = -osConstants.errno.ENOSYS

export interface ReadFileOptions {
  /** Decode the data: resolve with a string instead of a Buffer. */
  encoding?: BufferEncoding | null
  /** open flags, as fs.open takes them; default 'r'. */
  flag?: string | number
  signal?: AbortSignal
}

export interface WriteFileOptions {
  /** How a string `data` becomes bytes; default 'utf8'. */
  encoding?: BufferEncoding | null
  /** open flags, as fs.open takes them; default 'w'. */
  flag?: string | number
  /** The file's mode, should the call create it; default 0o666. */
  mode?: number | string
  /** fsync the file before closing it; default false. */
  flush?: boolean
  signal?: AbortSignal
}

interface Bag { encoding?: unknown, flag?: unknown, mode?: unknown, flush?: unknown, signal?: unknown }

/** Node's getOptions: a string is the encoding; checks encoding and signal as Node does. */
function bag (options: unknown, defaults: Bag): Bag {
  if (options === undefined || options === null) return defaults
  if (typeof options !== 'string' && typeof options !== 'object') throw E.invalidArgType('options', 'one of type string or object', options)
  const o = (typeof options === 'string' ? { encoding: options } : options) as Bag
  const b: Bag = { encoding: o.encoding ?? defaults.encoding, flag: o.flag ?? defaults.flag, mode: o.mode, flush: o.flush, signal: o.signal }
  const enc = b.encoding
  if (enc !== 'buffer' && enc !== undefined && enc !== null && enc !== '' && (typeof enc !== 'string' || !Buffer.isEncoding(enc))) {
    throw E.invalidArgValue('encoding', enc, 'is invalid encoding')
  }
  if (b.signal !== undefined && !(b.signal instanceof AbortSignal)) {
    throw E.invalidArgType('options.signal', 'an instance of AbortSignal', b.signal)
  }
  return b
}

function encodingOf (b: Bag): BufferEncoding | null {
  const e = b.encoding
  return typeof e === 'string' && e !== '' && e !== 'buffer' ? e as BufferEncoding : null
}

export function readFile (c: Engine, path: string | Buffer | URL, options?: ReadFileOptions | BufferEncoding): Promise<Buffer | string> {
  const p = V.path(path)
  const b = bag(options, { flag: 'r' })
  const flags = V.openFlags(b.flag)
  const encoding = encodingOf(b)
  const o: V.OpOptions = b.signal === undefined ? {} : { signal: b.signal as AbortSignal }
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, 'open', { path: E.pathText(p) })
  const slot = ring.readFile(p, flags, 0o666)
  const done = slot === ENOSYS
    ? readBySingleOps(c, p, flags, o)
    : c.track(slot, READ_FILE, 'open', -1, { path: E.pathText(p) }, o) as Promise<Buffer>
  return encoding === null ? done : done.then((data) => data.toString(encoding))
}

export function writeFile (c: Engine, path: string | Buffer | URL, data: string | ArrayBufferView, options?: WriteFileOptions | BufferEncoding): Promise<void> {
  return writeWith(c, path, data, options, 'w')
}

/** Node's appendFile: writeFile with flag 'a' by default (open, write, fsync with `flush`, close: one chain). */
export function appendFile (c: Engine, path: string | Buffer | URL, data: string | ArrayBufferView, options?: WriteFileOptions | BufferEncoding): Promise<void> {
  return writeWith(c, path, data, options, 'a')
}

function writeWith (c: Engine, path: string | Buffer | URL, data: string | ArrayBufferView, options: WriteFileOptions | BufferEncoding | undefined, flag: 'w' | 'a'): Promise<void> {
  const p = V.path(path)
  const b = bag(options, { encoding: 'utf8', flag })
  const flags = V.openFlags(b.flag)
  const mode = V.mode(b.mode)
  if (b.flush !== undefined && typeof b.flush !== 'boolean') throw E.invalidArgType('options.flush', 'of type boolean', b.flush)
  let bytes: Uint8Array
  if (typeof data === 'string') bytes = Buffer.from(data, encodingOf(b) ?? 'utf8')
  else if (ArrayBuffer.isView(data)) bytes = V.bytes(V.view(data, 'data'))
  else throw E.invalidArgType('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data)
  const o: V.OpOptions = b.signal === undefined ? {} : { signal: b.signal as AbortSignal }
  const ring = c.ready(o)
  if (ring === null) return c.refuse(o, 'open', { path: E.pathText(p) })
  const slot = ring.writeFile(p, flags, mode, bytes, 0, bytes.byteLength, b.flush === true)
  if (slot === ENOSYS) return writeBySingleOps(c, p, flags, mode, bytes, b.flush === true, o)
  return c.track(slot, WRITE_FILE, 'open', -1, { path: E.pathText(p) }, o) as Promise<void>
}

/** Node's readFile loop for files of unknown size, on single ops: read 64 KiB chunks to EOF. */
async function readBySingleOps (c: Engine, p: string | Uint8Array, flags: number, o: V.OpOptions): Promise<Buffer> {
  const fd = await F.open(c, p as string, flags, 0o666, o)
  const held = F.hold(c, fd)
  try {
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024)
      const n = await F.read(c, fd, chunk, { position: -1, signal: o.signal })
      if (n === 0) break
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n))
      total += n
    }
    return Buffer.concat(chunks, total)
  } finally {
    await F.closeHeld(c, fd, held).catch(() => {})
  }
}

async function writeBySingleOps (c: Engine, p: string | Uint8Array, flags: number, mode: number, bytes: Uint8Array, flush: boolean, o: V.OpOptions): Promise<void> {
  const fd = await F.open(c, p as string, flags, mode, o)
  const held = F.hold(c, fd)
  let closed = false
  try {
    let at = 0
    while (at < bytes.byteLength) at += await F.write(c, fd, bytes.subarray(at), { position: -1, signal: o.signal })
    if (flush) await F.fsync(c, fd)
    closed = true
    await F.closeHeld(c, fd, held)
  } finally {
    if (!closed) await F.closeHeld(c, fd, held).catch(() => {})
  }
}

// statx results in the shape of Node's fs.Stats / fs.BigIntStats.
import { binding } from './native'
import { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK } from './constants'

// The order the native statx writes its fields in (crates/core/src/stat.rs).
const FIELDS = binding !== null ? binding.statFields() : []
const at = (name: string): number => FIELDS.indexOf(name)
const I = {
  dev: at('dev'), ino: at('ino'), mode: at('mode'), nlink: at('nlink'), uid: at('uid'), gid: at('gid'),
  rdev: at('rdev'), size: at('size'), blksize: at('blksize'), blocks: at('blocks'),
  atimeMs: at('atimeMs'), mtimeMs: at('mtimeMs'), ctimeMs: at('ctimeMs'), birthtimeMs: at('birthtimeMs'),
  atimeNs: at('atimeNs'), mtimeNs: at('mtimeNs'), ctimeNs: at('ctimeNs'), birthtimeNs: at('birthtimeNs')
}

abstract class StatsBase<T extends number | bigint> {
  abstract readonly mode: T
  #type (): number {
    return Number(this.mode) & S_IFMT
  }

  isFile (): boolean { return this.#type() === S_IFREG }
  isDirectory (): boolean { return this.#type() === S_IFDIR }
  isSymbolicLink (): boolean { return this.#type() === S_IFLNK }
  isFIFO (): boolean { return this.#type() === S_IFIFO }
  isSocket (): boolean { return this.#type() === S_IFSOCK }
  isCharacterDevice (): boolean { return this.#type() === S_IFCHR }
  isBlockDevice (): boolean { return this.#type() === S_IFBLK }
}

/** Like fs.Stats: numbers, times in ms and as Dates. */
export class Stats extends StatsBase<number> {
  readonly dev: number
  readonly ino: number
  readonly mode: number
  readonly nlink: number
  readonly uid: number
  readonly gid: number
  readonly rdev: number
  readonly size: number
  readonly blksize: number
  readonly blocks: number
  readonly atimeMs: number
  readonly mtimeMs: number
  readonly ctimeMs: number
  readonly birthtimeMs: number
  readonly atime: Date
  readonly mtime: Date
  readonly ctime: Date
  readonly birthtime: Date

  /** @internal */
  constructor (f: Float64Array) {
    super()
    this.dev = f[I.dev]!
    this.ino = f[I.ino]!
    this.mode = f[I.mode]!
    this.nlink = f[I.nlink]!
    this.uid = f[I.uid]!
    this.gid = f[I.gid]!
    this.rdev = f[I.rdev]!
    this.size = f[I.size]!
    this.blksize = f[I.blksize]!
    this.blocks = f[I.blocks]!
    this.atimeMs = f[I.atimeMs]!
    this.mtimeMs = f[I.mtimeMs]!
    this.ctimeMs = f[I.ctimeMs]!
    this.birthtimeMs = f[I.birthtimeMs]!
    // Rounded, as fs.Stats does.
    this.atime = new Date(Math.round(this.atimeMs))
    this.mtime = new Date(Math.round(this.mtimeMs))
    this.ctime = new Date(Math.round(this.ctimeMs))
    this.birthtime = new Date(Math.round(this.birthtimeMs))
  }
}

/** Like fs.BigIntStats: bigints, with nanosecond times. */
export class BigIntStats extends StatsBase<bigint> {
  readonly dev: bigint
  readonly ino: bigint
  readonly mode: bigint
  readonly nlink: bigint
  readonly uid: bigint
  readonly gid: bigint
  readonly rdev: bigint
  readonly size: bigint
  readonly blksize: bigint
  readonly blocks: bigint
  readonly atimeMs: bigint
  readonly mtimeMs: bigint
  readonly ctimeMs: bigint
  readonly birthtimeMs: bigint
  readonly atimeNs: bigint
  readonly mtimeNs: bigint
  readonly ctimeNs: bigint
  readonly birthtimeNs: bigint
  readonly atime: Date
  readonly mtime: Date
  readonly ctime: Date
  readonly birthtime: Date

  /** @internal */
  constructor (f: BigInt64Array) {
    super()
    this.dev = f[I.dev]!
    this.ino = f[I.ino]!
    this.mode = f[I.mode]!
    this.nlink = f[I.nlink]!
    this.uid = f[I.uid]!
    this.gid = f[I.gid]!
    this.rdev = f[I.rdev]!
    this.size = f[I.size]!
    this.blksize = f[I.blksize]!
    this.blocks = f[I.blocks]!
    this.atimeMs = f[I.atimeMs]!
    this.mtimeMs = f[I.mtimeMs]!
    this.ctimeMs = f[I.ctimeMs]!
    this.birthtimeMs = f[I.birthtimeMs]!
    this.atimeNs = f[I.atimeNs]!
    this.mtimeNs = f[I.mtimeNs]!
    this.ctimeNs = f[I.ctimeNs]!
    this.birthtimeNs = f[I.birthtimeNs]!
    this.atime = new Date(Number(this.atimeMs))
    this.mtime = new Date(Number(this.mtimeMs))
    this.ctime = new Date(Number(this.ctimeMs))
    this.birthtime = new Date(Number(this.birthtimeMs))
  }
}

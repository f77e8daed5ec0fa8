// statx results in the shape of Node's fs.Stats / fs.BigIntStats.
import { binding } from './native'
import { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK } from './constants'

// The order the native statx writes its fields in (crates/core/src/stat.rs).
const FIELDS = binding !== null ? binding.statFields() : []

const INDEX = new Map(FIELDS.map((name, i) => [name, i]))

/** Copies the named fields out of the native array (in its order). */
function fill (target: object, f: ArrayLike<number | bigint>, names: readonly string[]): void {
  const t = target as Record<string, number | bigint>
  for (const name of names) t[name] = f[INDEX.get(name)!]!
}

const COMMON = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blksize', 'blocks',
  'atimeMs', 'mtimeMs', 'ctimeMs', 'birthtimeMs'] as const
const NANOS = ['atimeNs', 'mtimeNs', 'ctimeNs', 'birthtimeNs'] as const

abstract class StatsBase<T extends number | bigint> {
  declare abstract readonly mode: T
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
  declare readonly dev: number
  declare readonly ino: number
  declare readonly mode: number
  declare readonly nlink: number
  declare readonly uid: number
  declare readonly gid: number
  declare readonly rdev: number
  declare readonly size: number
  declare readonly blksize: number
  declare readonly blocks: number
  declare readonly atimeMs: number
  declare readonly mtimeMs: number
  declare readonly ctimeMs: number
  declare readonly birthtimeMs: number
  readonly atime: Date
  readonly mtime: Date
  readonly ctime: Date
  readonly birthtime: Date

  /** @internal */
  constructor (f: Float64Array) {
    super()
    fill(this, f, COMMON)
    // Rounded, as fs.Stats does.
    this.atime = new Date(Math.round(this.atimeMs))
    this.mtime = new Date(Math.round(this.mtimeMs))
    this.ctime = new Date(Math.round(this.ctimeMs))
    this.birthtime = new Date(Math.round(this.birthtimeMs))
  }
}

/** Like fs.BigIntStats: bigints, with nanosecond times. */
export class BigIntStats extends StatsBase<bigint> {
  declare readonly dev: bigint
  declare readonly ino: bigint
  declare readonly mode: bigint
  declare readonly nlink: bigint
  declare readonly uid: bigint
  declare readonly gid: bigint
  declare readonly rdev: bigint
  declare readonly size: bigint
  declare readonly blksize: bigint
  declare readonly blocks: bigint
  declare readonly atimeMs: bigint
  declare readonly mtimeMs: bigint
  declare readonly ctimeMs: bigint
  declare readonly birthtimeMs: bigint
  declare readonly atimeNs: bigint
  declare readonly mtimeNs: bigint
  declare readonly ctimeNs: bigint
  declare readonly birthtimeNs: bigint
  readonly atime: Date
  readonly mtime: Date
  readonly ctime: Date
  readonly birthtime: Date

  /** @internal */
  constructor (f: BigInt64Array) {
    super()
    fill(this, f, COMMON)
    fill(this, f, NANOS)
    this.atime = new Date(Number(this.atimeMs))
    this.mtime = new Date(Number(this.mtimeMs))
    this.ctime = new Date(Number(this.ctimeMs))
    this.birthtime = new Date(Number(this.birthtimeMs))
  }
}

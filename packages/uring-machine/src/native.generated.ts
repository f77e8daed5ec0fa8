// Generated from the op table (crates/core/src/table.rs) by `npm run gen`
// (crates/core/examples/gen_native.rs). Do not edit: CI's
// scripts/check-generated.mjs fails when this file differs from what the
// table generates.

// The result kinds: how completion.ts settles an op's promise.
/** settles with undefined */
export const VOID = 0
/** settles with the result */
export const NUMBER = 1
/** statx fields written to the typed array at dsts[slot] */
export const STAT = 2
/** true when woken, false if the word differed (-EAGAIN) */
export const FUTEX_WAIT = 3
/** [pid, code, status] written to the Float64Array at dsts[slot] */
export const CHILD = 4
/** multishot: each completion but the last flagged MORE */
export const STREAM = 5
/** addresses pushed onto the array at dsts[slot] */
export const RESOLVE = 6
export type ResultKind = 0 | 1 | 2 | 3 | 4 | 5 | 6

/**
 * The op functions the op table declares (crates/node/src/ops/gen.rs); each
 * returns the op's slot or a negative code. Every one but a multishot
 * (Stream) one takes a trailing timeout in ms (0: none).
 */
export interface TableOps {
  /** nop (Nop, kernel 5.1) */
  nop (timeout: number): number
  /** read (Read, kernel 5.6) */
  read (fd: number, view: ArrayBufferView, offset: number, length: number, position: number, timeout: number): number
  /** write (Write, kernel 5.6) */
  write (fd: number, view: ArrayBufferView, offset: number, length: number, position: number, timeout: number): number
  /** readv (Readv, kernel 5.1) */
  readv (fd: number, views: readonly ArrayBufferView[], position: number, timeout: number): number
  /** writev (Writev, kernel 5.1) */
  writev (fd: number, views: readonly ArrayBufferView[], position: number, timeout: number): number
  /** open (Open, kernel 5.6) */
  open (path: string | Uint8Array, flags: number, mode: number, timeout: number): number
  /** close (Close, kernel 5.6) */
  close (fd: number, timeout: number): number
  /** statx (Statx, kernel 5.6) */
  statx (dirfd: number, path: string | Uint8Array, flags: number, mask: number, timeout: number): number
  /** fsync | fdatasync (Fsync, kernel 5.1) */
  fsync (fd: number, datasync: boolean, timeout: number): number
  /** socket (Socket, kernel 5.19) */
  socket (domain: number, ty: number, protocol: number, timeout: number): number
  /** bind (Bind, kernel 6.11) */
  bind (fd: number, host: string | Uint8Array, port: number, timeout: number): number
  /** listen (Listen, kernel 6.11) */
  listen (fd: number, backlog: number, timeout: number): number
  /** setsockopt (SetSockOpt, kernel 6.7) */
  setsockopt (fd: number, level: number, optname: number, value: number, timeout: number): number
  /** getsockopt (GetSockOpt, kernel 6.7) */
  getsockopt (fd: number, level: number, optname: number, view: ArrayBufferView, offset: number, length: number, timeout: number): number
  /** accept (Accept, kernel 5.5) */
  accept (fd: number, flags: number, timeout: number): number
  /** connect (Connect, kernel 5.5) */
  connect (fd: number, host: string | Uint8Array, port: number, timeout: number): number
  /** send (Send, kernel 5.6) */
  send (fd: number, view: ArrayBufferView, offset: number, length: number, flags: number, timeout: number): number
  /** recv (Recv, kernel 5.6) */
  recv (fd: number, view: ArrayBufferView, offset: number, length: number, flags: number, timeout: number): number
  /** shutdown (Shutdown, kernel 5.11) */
  shutdown (fd: number, how: number, timeout: number): number
  /** sleep (Sleep, kernel 5.4) */
  sleep (ms: number, timeout: number): number
  /** interval (Interval, kernel 6.4) */
  interval (ms: number): number
  /** poll (Poll, kernel 5.1) */
  poll (fd: number, events: number, timeout: number): number
  /** unlink | rmdir (Unlink, kernel 5.11) */
  unlink (path: string | Uint8Array, flags: number, timeout: number): number
  /** rename (Rename, kernel 5.11) */
  rename (from: string | Uint8Array, to: string | Uint8Array, flags: number, timeout: number): number
  /** mkdir (Mkdir, kernel 5.15) */
  mkdir (path: string | Uint8Array, mode: number, timeout: number): number
  /** symlink (Symlink, kernel 5.15) */
  symlink (target: string | Uint8Array, path: string | Uint8Array, timeout: number): number
  /** link (Link, kernel 5.15) */
  link (from: string | Uint8Array, to: string | Uint8Array, timeout: number): number
  /** ftruncate (Ftruncate, kernel 6.9) */
  ftruncate (fd: number, len: number, timeout: number): number
  /** fallocate (Fallocate, kernel 5.6) */
  fallocate (fd: number, mode: number, offset: number, len: number, timeout: number): number
  /** fadvise (Fadvise, kernel 5.6) */
  fadvise (fd: number, offset: number, len: number, advice: number, timeout: number): number
  /** futex_wait (FutexWait, kernel 6.7) */
  futexWait (word: Int32Array, index: number, expected: number, timeout: number): number
  /** futex_wake (FutexWake, kernel 6.7) */
  futexWake (word: Int32Array, index: number, count: number, timeout: number): number
  /** splice (Splice, kernel 5.7) */
  splice (fdIn: number, offIn: number, fdOut: number, offOut: number, len: number, flags: number, timeout: number): number
  /** tee (Tee, kernel 5.8) */
  tee (fdIn: number, fdOut: number, len: number, flags: number, timeout: number): number
  /** getxattr (GetXattr, kernel 5.19) */
  getxattr (path: string | Uint8Array, name: string, view: ArrayBufferView, offset: number, length: number, timeout: number): number
  /** fgetxattr (FGetXattr, kernel 5.19) */
  fgetxattr (fd: number, name: string, view: ArrayBufferView, offset: number, length: number, timeout: number): number
  /** setxattr (SetXattr, kernel 5.19) */
  setxattr (path: string | Uint8Array, name: string, view: ArrayBufferView, offset: number, length: number, flags: number, timeout: number): number
  /** fsetxattr (FSetXattr, kernel 5.19) */
  fsetxattr (fd: number, name: string, view: ArrayBufferView, offset: number, length: number, flags: number, timeout: number): number
  /** waitid (WaitId, kernel 6.7) */
  waitid (idtype: number, id: number, options: number, timeout: number): number
  /** recv (RecvMulti, kernel 6.0) */
  recvMulti (fd: number, group: number, flags: number): number
  /** read (ReadMulti, kernel 6.7) */
  readMulti (fd: number, group: number): number
  /** accept (AcceptMulti, kernel 5.19) */
  acceptMulti (fd: number, flags: number): number
  /** read (ReadFixed, kernel 5.1) */
  readFixed (fd: number, id: number, index: number, offset: number, length: number, position: number, timeout: number): number
  /** write (WriteFixed, kernel 5.1) */
  writeFixed (fd: number, id: number, index: number, offset: number, length: number, position: number, timeout: number): number
  /** send (SendZc, kernel 6.0) */
  sendZc (fd: number, view: ArrayBufferView, offset: number, length: number, flags: number, timeout: number): number
  /** send (SendZc, kernel 6.0) */
  sendZcFixed (fd: number, id: number, index: number, offset: number, length: number, flags: number, timeout: number): number
  /** msg_ring (MsgRing, kernel 5.18) */
  msgRing (target: number, to: number, value: number, timeout: number): number
  /** msg_ring (MsgRing, kernel 5.18) */
  msgRingFd (target: number, to: number, fd: number, timeout: number): number
  /** getaddrinfo (Resolve, kernel 5.18) */
  resolve (host: string, family: number, timeout: number): number
  /** async_cancel (CancelFd, kernel 5.19) */
  cancelFd (fd: number, timeout: number): number
}

/** What the op table says of one js function. */
export interface OpInfo {
  /** The `syscall` of its errors (the first, when the op picks one of several). */
  readonly syscall: string
  readonly syscalls: readonly string[]
  readonly result: ResultKind
  /** The oldest kernel whose io_uring has the op. */
  readonly kernel: string
  readonly opcode: number
  /** The JS arguments, in the order the bridge reads them. */
  readonly args: readonly string[]
}

/** Every js function of the op table, by name. */
export const OPS = {
  nop: { syscall: 'nop', syscalls: ['nop'], result: VOID, kernel: '5.1', opcode: 0, args: ['timeout'] },
  read: { syscall: 'read', syscalls: ['read'], result: NUMBER, kernel: '5.6', opcode: 22, args: ['fd', 'view', 'offset', 'length', 'position', 'timeout'] },
  write: { syscall: 'write', syscalls: ['write'], result: NUMBER, kernel: '5.6', opcode: 23, args: ['fd', 'view', 'offset', 'length', 'position', 'timeout'] },
  readv: { syscall: 'readv', syscalls: ['readv'], result: NUMBER, kernel: '5.1', opcode: 1, args: ['fd', 'views', 'position', 'timeout'] },
  writev: { syscall: 'writev', syscalls: ['writev'], result: NUMBER, kernel: '5.1', opcode: 2, args: ['fd', 'views', 'position', 'timeout'] },
  open: { syscall: 'open', syscalls: ['open'], result: NUMBER, kernel: '5.6', opcode: 18, args: ['path', 'flags', 'mode', 'timeout'] },
  close: { syscall: 'close', syscalls: ['close'], result: VOID, kernel: '5.6', opcode: 19, args: ['fd', 'timeout'] },
  statx: { syscall: 'statx', syscalls: ['statx'], result: STAT, kernel: '5.6', opcode: 21, args: ['dirfd', 'path', 'flags', 'mask', 'timeout'] },
  fsync: { syscall: 'fsync', syscalls: ['fsync', 'fdatasync'], result: VOID, kernel: '5.1', opcode: 3, args: ['fd', 'datasync', 'timeout'] },
  socket: { syscall: 'socket', syscalls: ['socket'], result: NUMBER, kernel: '5.19', opcode: 45, args: ['domain', 'ty', 'protocol', 'timeout'] },
  bind: { syscall: 'bind', syscalls: ['bind'], result: VOID, kernel: '6.11', opcode: 56, args: ['fd', 'host', 'port', 'timeout'] },
  listen: { syscall: 'listen', syscalls: ['listen'], result: VOID, kernel: '6.11', opcode: 57, args: ['fd', 'backlog', 'timeout'] },
  setsockopt: { syscall: 'setsockopt', syscalls: ['setsockopt'], result: VOID, kernel: '6.7', opcode: 46, args: ['fd', 'level', 'optname', 'value', 'timeout'] },
  getsockopt: { syscall: 'getsockopt', syscalls: ['getsockopt'], result: NUMBER, kernel: '6.7', opcode: 46, args: ['fd', 'level', 'optname', 'view', 'offset', 'length', 'timeout'] },
  accept: { syscall: 'accept', syscalls: ['accept'], result: NUMBER, kernel: '5.5', opcode: 13, args: ['fd', 'flags', 'timeout'] },
  connect: { syscall: 'connect', syscalls: ['connect'], result: VOID, kernel: '5.5', opcode: 16, args: ['fd', 'host', 'port', 'timeout'] },
  send: { syscall: 'send', syscalls: ['send'], result: NUMBER, kernel: '5.6', opcode: 26, args: ['fd', 'view', 'offset', 'length', 'flags', 'timeout'] },
  recv: { syscall: 'recv', syscalls: ['recv'], result: NUMBER, kernel: '5.6', opcode: 27, args: ['fd', 'view', 'offset', 'length', 'flags', 'timeout'] },
  shutdown: { syscall: 'shutdown', syscalls: ['shutdown'], result: VOID, kernel: '5.11', opcode: 34, args: ['fd', 'how', 'timeout'] },
  sleep: { syscall: 'sleep', syscalls: ['sleep'], result: VOID, kernel: '5.4', opcode: 11, args: ['ms', 'timeout'] },
  interval: { syscall: 'interval', syscalls: ['interval'], result: STREAM, kernel: '6.4', opcode: 11, args: ['ms'] },
  poll: { syscall: 'poll', syscalls: ['poll'], result: NUMBER, kernel: '5.1', opcode: 6, args: ['fd', 'events', 'timeout'] },
  unlink: { syscall: 'unlink', syscalls: ['unlink', 'rmdir'], result: VOID, kernel: '5.11', opcode: 36, args: ['path', 'flags', 'timeout'] },
  rename: { syscall: 'rename', syscalls: ['rename'], result: VOID, kernel: '5.11', opcode: 35, args: ['from', 'to', 'flags', 'timeout'] },
  mkdir: { syscall: 'mkdir', syscalls: ['mkdir'], result: VOID, kernel: '5.15', opcode: 37, args: ['path', 'mode', 'timeout'] },
  symlink: { syscall: 'symlink', syscalls: ['symlink'], result: VOID, kernel: '5.15', opcode: 38, args: ['target', 'path', 'timeout'] },
  link: { syscall: 'link', syscalls: ['link'], result: VOID, kernel: '5.15', opcode: 39, args: ['from', 'to', 'timeout'] },
  ftruncate: { syscall: 'ftruncate', syscalls: ['ftruncate'], result: VOID, kernel: '6.9', opcode: 55, args: ['fd', 'len', 'timeout'] },
  fallocate: { syscall: 'fallocate', syscalls: ['fallocate'], result: VOID, kernel: '5.6', opcode: 17, args: ['fd', 'mode', 'offset', 'len', 'timeout'] },
  fadvise: { syscall: 'fadvise', syscalls: ['fadvise'], result: VOID, kernel: '5.6', opcode: 24, args: ['fd', 'offset', 'len', 'advice', 'timeout'] },
  futexWait: { syscall: 'futex_wait', syscalls: ['futex_wait'], result: FUTEX_WAIT, kernel: '6.7', opcode: 51, args: ['word', 'index', 'expected', 'timeout'] },
  futexWake: { syscall: 'futex_wake', syscalls: ['futex_wake'], result: NUMBER, kernel: '6.7', opcode: 52, args: ['word', 'index', 'count', 'timeout'] },
  splice: { syscall: 'splice', syscalls: ['splice'], result: NUMBER, kernel: '5.7', opcode: 30, args: ['fdIn', 'offIn', 'fdOut', 'offOut', 'len', 'flags', 'timeout'] },
  tee: { syscall: 'tee', syscalls: ['tee'], result: NUMBER, kernel: '5.8', opcode: 33, args: ['fdIn', 'fdOut', 'len', 'flags', 'timeout'] },
  getxattr: { syscall: 'getxattr', syscalls: ['getxattr'], result: NUMBER, kernel: '5.19', opcode: 44, args: ['path', 'name', 'view', 'offset', 'length', 'timeout'] },
  fgetxattr: { syscall: 'fgetxattr', syscalls: ['fgetxattr'], result: NUMBER, kernel: '5.19', opcode: 43, args: ['fd', 'name', 'view', 'offset', 'length', 'timeout'] },
  setxattr: { syscall: 'setxattr', syscalls: ['setxattr'], result: VOID, kernel: '5.19', opcode: 42, args: ['path', 'name', 'view', 'offset', 'length', 'flags', 'timeout'] },
  fsetxattr: { syscall: 'fsetxattr', syscalls: ['fsetxattr'], result: VOID, kernel: '5.19', opcode: 41, args: ['fd', 'name', 'view', 'offset', 'length', 'flags', 'timeout'] },
  waitid: { syscall: 'waitid', syscalls: ['waitid'], result: CHILD, kernel: '6.7', opcode: 50, args: ['idtype', 'id', 'options', 'timeout'] },
  recvMulti: { syscall: 'recv', syscalls: ['recv'], result: STREAM, kernel: '6.0', opcode: 27, args: ['fd', 'group', 'flags'] },
  readMulti: { syscall: 'read', syscalls: ['read'], result: STREAM, kernel: '6.7', opcode: 49, args: ['fd', 'group'] },
  acceptMulti: { syscall: 'accept', syscalls: ['accept'], result: STREAM, kernel: '5.19', opcode: 13, args: ['fd', 'flags'] },
  readFixed: { syscall: 'read', syscalls: ['read'], result: NUMBER, kernel: '5.1', opcode: 4, args: ['fd', 'id', 'index', 'offset', 'length', 'position', 'timeout'] },
  writeFixed: { syscall: 'write', syscalls: ['write'], result: NUMBER, kernel: '5.1', opcode: 5, args: ['fd', 'id', 'index', 'offset', 'length', 'position', 'timeout'] },
  sendZc: { syscall: 'send', syscalls: ['send'], result: NUMBER, kernel: '6.0', opcode: 47, args: ['fd', 'view', 'offset', 'length', 'flags', 'timeout'] },
  sendZcFixed: { syscall: 'send', syscalls: ['send'], result: NUMBER, kernel: '6.0', opcode: 47, args: ['fd', 'id', 'index', 'offset', 'length', 'flags', 'timeout'] },
  msgRing: { syscall: 'msg_ring', syscalls: ['msg_ring'], result: VOID, kernel: '5.18', opcode: 40, args: ['target', 'to', 'value', 'timeout'] },
  msgRingFd: { syscall: 'msg_ring', syscalls: ['msg_ring'], result: VOID, kernel: '5.18', opcode: 40, args: ['target', 'to', 'fd', 'timeout'] },
  resolve: { syscall: 'getaddrinfo', syscalls: ['getaddrinfo'], result: RESOLVE, kernel: '5.18', opcode: 40, args: ['host', 'family', 'timeout'] },
  cancelFd: { syscall: 'async_cancel', syscalls: ['async_cancel'], result: NUMBER, kernel: '5.19', opcode: 14, args: ['fd', 'timeout'] },
} as const satisfies Record<keyof TableOps, OpInfo>

// TCP echo on loopback: 32 connections each ping-ponging 64-byte messages
// (send 64 bytes, wait until all 64 have come back, repeat). Server and
// clients live in this process, on one JS thread: all on the Machine, or
// all on node:net.
import net from 'node:net'
import { Machine, constants as C } from 'uring-machine'
import { alternate, bounded, now, runFloor } from './lib.mjs'

export const CONNS = 32
export const MSG = 64
const HOST = '127.0.0.1'

/** A port that was free a moment ago (the Machine has no getsockname). */
function freePort () {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, HOST, () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/**
 * Server and clients on one Machine. `multishot`: every connection (server
 * and client side) receives through one multishot recv with provided
 * buffers (`m.recvMulti`) instead of a recv op per message.
 */
export class MachineEcho {
  constructor ({ multishot = false } = {}) {
    this.multishot = multishot
  }

  m = undefined
  /** Per client fd, its recvMulti iterator (multishot mode). */
  streams = new Map()
  listenFd = -1
  clients = []
  accepting = new AbortController()
  acceptLoop = undefined
  servers = []
  serverError = undefined

  async setup () {
    const m = this.m = new Machine({ entries: 256 })
    let port
    for (let attempt = 0; ; attempt++) {
      port = await freePort()
      const fd = await m.socket(C.AF_INET, C.SOCK_STREAM)
      try {
        await m.bind(fd, { address: HOST, port })
        await m.listen(fd, 511)
        this.listenFd = fd
        break
      } catch (err) {
        await m.close(fd)
        if (err.code !== 'EADDRINUSE' || attempt >= 10) throw err
      }
    }
    this.acceptLoop = this.#accept().catch((err) => { this.serverError ??= err })
    for (let i = 0; i < CONNS; i++) {
      const fd = await m.socket(C.AF_INET, C.SOCK_STREAM)
      this.clients.push(fd)
      await m.connect(fd, { address: HOST, port })
    }
    // Every connection accepted and echoing before the first round.
    await this.run(CONNS * 4, 10_000)
  }

  async #accept () {
    for (;;) {
      let fd
      try {
        fd = await this.m.accept(this.listenFd, { signal: this.accepting.signal })
      } catch (err) {
        if (this.accepting.signal.aborted) return
        throw err
      }
      this.servers.push(this.#serve(fd).catch((err) => { this.serverError ??= err }))
    }
  }

  async #serve (fd) {
    const m = this.m
    const buf = Buffer.alloc(4096)
    try {
      if (this.multishot) {
        for await (const chunk of m.recvMulti(fd, { buffers: 16, bufferSize: 4096 })) {
          for (let off = 0; off < chunk.length;) off += await m.send(fd, chunk, { offset: off, length: chunk.length - off })
        }
        return
      }
      for (;;) {
        const n = await m.recv(fd, buf)
        if (n <= 0) break
        for (let off = 0; off < n;) off += await m.send(fd, buf, { offset: off, length: n - off })
      }
    } finally {
      await m.close(fd)
    }
  }

  async run (count, maxMs) {
    const m = this.m
    const before = m.metrics()
    const deadline = now() + maxMs
    let issued = 0
    let stop = false
    const client = async (fd, i) => {
      const out = Buffer.alloc(MSG, 0x41 + (i % 26)) // one letter per connection
      const back = Buffer.alloc(MSG)
      let stream = this.streams.get(fd)
      if (this.multishot && stream === undefined) {
        stream = m.recvMulti(fd, { buffers: 16, bufferSize: 4096 })
        this.streams.set(fd, stream)
      }
      while (!stop && issued < count) {
        issued++
        if ((issued & 1023) === 0 && now() > deadline) stop = true
        for (let off = 0; off < MSG;) off += await m.send(fd, out, { offset: off, length: MSG - off })
        for (let got = 0; got < MSG;) {
          if (stream !== undefined) {
            const { value, done } = await stream.next()
            if (done) throw new Error('echo server closed the connection')
            if (got + value.length > MSG) throw new Error(`echo sent back ${got + value.length} bytes for ${MSG}`)
            value.copy(back, got)
            got += value.length
            continue
          }
          const n = await m.recv(fd, back, { offset: got, length: MSG - got })
          if (n === 0) throw new Error('echo server closed the connection')
          got += n
        }
        if (!back.equals(out)) throw new Error(`connection ${i}: the echo differs from what was sent`)
      }
    }
    const t0 = now()
    await Promise.all(this.clients.map(client))
    const seconds = (now() - t0) / 1000
    if (this.serverError !== undefined) throw this.serverError
    const after = m.metrics()
    const ops = after.opsCompleted - before.opsCompleted
    const enters = after.enters - before.enters
    return { ops: issued, seconds, info: `last round: ${(ops / Math.max(1, enters)).toFixed(1)} ops per io_uring_enter` }
  }

  async teardown () {
    const m = this.m
    if (m === undefined) return
    try {
      // Clients go first: each server loop then reads EOF and closes its
      // side. shutdown() also ends a client recv left pending by a failed run.
      await Promise.all(this.clients.map(async (fd) => {
        await this.streams.get(fd)?.return()
        await m.shutdown(fd, C.SHUT_RDWR).catch(() => {})
        await m.close(fd)
      }))
      await bounded(Promise.all(this.servers), 10_000, 'Machine echo servers closing')
      this.accepting.abort()
      await this.acceptLoop
      if (this.listenFd >= 0) await m.close(this.listenFd)
    } finally {
      await m.destroy()
    }
    if (this.serverError !== undefined) throw this.serverError
  }
}

/** Server and clients on node:net. */
export class NetEcho {
  server = undefined
  clients = []
  serverError = undefined

  async setup () {
    const server = this.server = net.createServer((s) => {
      s.on('data', (d) => s.write(d))
      s.on('error', (err) => { this.serverError ??= err })
    })
    server.on('error', (err) => { this.serverError ??= err })
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, HOST, () => { server.off('error', reject); resolve() })
    })
    const { port } = server.address()
    for (let i = 0; i < CONNS; i++) {
      const sock = await new Promise((resolve, reject) => {
        const s = net.connect(port, HOST)
        s.once('error', reject)
        s.once('connect', () => { s.off('error', reject); resolve(s) })
      })
      sock.on('error', (err) => { this.serverError ??= err })
      this.clients.push(sock)
    }
    await this.run(CONNS * 4, 10_000)
  }

  run (count, maxMs) {
    const deadline = now() + maxMs
    let issued = 0
    let stop = false
    const client = (sock, i) => new Promise((resolve, reject) => {
      const letter = 0x41 + (i % 26) // one letter per connection
      const msg = Buffer.alloc(MSG, letter)
      let got = 0
      const finish = (err) => {
        sock.off('data', onData)
        sock.off('close', onClose)
        if (err) reject(err)
        else resolve()
      }
      const send = () => {
        if (stop || issued >= count) return finish()
        issued++
        if ((issued & 1023) === 0 && now() > deadline) stop = true
        sock.write(msg)
      }
      const onData = (d) => {
        if (d[0] !== letter || d[d.length - 1] !== letter) return finish(new Error(`connection ${i}: the echo differs from what was sent`))
        got += d.length
        if (got > MSG) return finish(new Error(`echo sent back ${got} bytes for ${MSG}`))
        if (got === MSG) {
          got = 0
          send()
        }
      }
      const onClose = () => finish(new Error('echo connection closed'))
      sock.on('data', onData)
      sock.on('close', onClose)
      send()
    })
    const t0 = now()
    return Promise.all(this.clients.map(client)).then(() => {
      if (this.serverError !== undefined) throw this.serverError
      return { ops: issued, seconds: (now() - t0) / 1000 }
    })
  }

  async teardown () {
    for (const s of this.clients) s.end()
    if (this.server !== undefined) {
      await bounded(new Promise((resolve) => this.server.close(() => resolve())), 10_000, 'node:net echo server closing')
    }
    for (const s of this.clients) s.destroy()
  }
}

export async function echoBench ({ quick, floor, rounds, log }) {
  const count = quick ? 20_000 : 100_000
  const maxMs = quick ? 1_000 : 3_000
  const me = new MachineEcho()
  const mm = new MachineEcho({ multishot: true })
  const ne = new NetEcho()
  log('tcp echo')
  return [await alternate({
    title: `TCP echo on loopback, ${CONNS} connections, ${MSG}-byte messages`,
    unit: 'msgs',
    baseline: 'node:net',
    note: `Each round: up to ${count.toLocaleString('en-US')} messages in all (at most ${maxMs / 1000} s per run); a message is ${MSG} bytes sent by a client and the same ${MSG} bytes received back. ` +
      'Server and clients run in this process on one JS thread; sockets on 127.0.0.1, default socket options on both sides (Nagle on; a ping-pong never waits on it).',
    contenders: [
      {
        name: 'Machine',
        note: 'accept/recv/send and client send/recv all through one Machine (entries 256)',
        setup: () => me.setup(),
        run: () => me.run(count, maxMs),
        teardown: () => me.teardown()
      },
      {
        name: 'Machine, multishot recv',
        note: 'the same, but every connection (both ends) receives through one m.recvMulti stream (16 provided buffers of 4 KiB) instead of a recv op per message',
        setup: () => mm.setup(),
        run: () => mm.run(count, maxMs),
        teardown: () => mm.teardown()
      },
      {
        name: 'node:net',
        note: "net.createServer echoing with socket.write on 'data'; net.connect clients",
        setup: () => ne.setup(),
        run: () => ne.run(count, maxMs),
        teardown: () => ne.teardown()
      },
      {
        name: 'Rust floor (reference)',
        note: 'the same load (server and clients) on one core Ring: socket/connect/accept/send/recv, in its own process (no Node)',
        skip: floor?.error,
        run: async () => {
          const r = await runFloor(floor.bin, ['echo', CONNS, count, MSG, '--max-seconds', maxMs / 1000], maxMs + 30_000)
          return { ops: r.ops, seconds: r.seconds }
        }
      }
    ],
    rounds,
    log
  })]
}

//! size: one load per subcommand, each as the JS bench it mirrors; split
//! it into modules when another load joins.
//!
//! The Rust floor: the same loads the JS benchmarks run, driven straight on
//! a core `Ring` with no Node, no bridge and no promises. What the bridge
//! costs is the distance between this and the `Machine`.
//!
//! ```text
//! floor nop DEPTH COUNT [--max-seconds S]
//! floor read PATH DEPTH COUNT BLOCK [--seed N] [--max-seconds S]
//! floor echo CONNS COUNT MSG [--max-seconds S]
//! floor readfile DIR FILES SIZE DEPTH
//! ```
//!
//! `nop` keeps DEPTH NOPs in flight until COUNT have completed. `read` keeps
//! DEPTH reads of BLOCK bytes in flight, each at a random block-aligned
//! offset over the whole file (xorshift32 from `--seed`, the same sequence
//! `benches/read.mjs` precomputes for the JS contenders), reusing buffers
//! through a `BufferPool`. Both stop early, with what completed, once
//! `--max-seconds` have passed (default 30). `echo` is `benches/echo.mjs`'s
//! load on one ring: CONNS loopback connections, each client sending MSG
//! bytes and waiting for them to come back, COUNT messages in all, with the
//! echo server on the same ring (ops = messages). Prints one JSON line:
//! `{"ops":..,"seconds":..,"opsPerSec":..,"nsPerOp":..,...}`.
//!
//! `readfile` is `benches/readfile.mjs`'s load: every file `DIR/f0` ..
//! `DIR/f<FILES-1>` read once, DEPTH at a time, each by one
//! [`Chain::read_file_into`] (open, read, read to EOF on a direct
//! descriptor, then its close) whose buffers come back from a pool; each
//! must hold SIZE bytes (ops = files).
//!
//! Build: `cargo build --release --example floor`.

use std::ffi::CString;
use std::fs::File;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::process::exit;
use std::time::{Duration, Instant};

use uring_machine_core::chain::READ_FILE_CHUNK;
use uring_machine_core::{BufferPool, Chain, Completion, Config, Op, OpOptions, Ring, SockAddr};

/// Marsaglia's xorshift32; `benches/read.mjs` computes the same sequence.
struct XorShift32(u32);

impl XorShift32 {
    fn new(seed: u32) -> Self {
        XorShift32(if seed == 0 { 0x9e37_79b9 } else { seed })
    }

    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

struct Args {
    positional: Vec<String>,
    seed: u32,
    max_seconds: f64,
}

fn usage() -> ! {
    eprintln!("usage: floor nop DEPTH COUNT [--max-seconds S]");
    eprintln!("       floor read PATH DEPTH COUNT BLOCK [--seed N] [--max-seconds S]");
    eprintln!("       floor echo CONNS COUNT MSG [--max-seconds S]");
    eprintln!("       floor readfile DIR FILES SIZE DEPTH");
    exit(2)
}

fn parse_args() -> Args {
    let mut args = Args { positional: Vec::new(), seed: 1, max_seconds: 30.0 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => args.seed = it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--max-seconds" => args.max_seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "-h" | "--help" => usage(),
            _ => args.positional.push(a),
        }
    }
    args
}

fn num<T: std::str::FromStr>(s: Option<&String>, what: &str) -> T {
    match s.and_then(|v| v.parse().ok()) {
        Some(v) => v,
        None => {
            eprintln!("floor: bad or missing {what}");
            usage()
        }
    }
}

/// Makes an op for the `i`-th submission.
trait Load {
    fn op(&mut self, i: u64) -> Op;
    /// Checks a completion and takes back what it owned.
    fn done(&mut self, c: Completion);
}

struct Nops;

impl Load for Nops {
    fn op(&mut self, _i: u64) -> Op {
        Op::Nop
    }

    fn done(&mut self, c: Completion) {
        if c.result != 0 {
            eprintln!("floor: nop failed: {}", c.result);
            exit(1);
        }
    }
}

struct Reads {
    fd: i32,
    block: usize,
    blocks: u32,
    rng: XorShift32,
    pool: BufferPool,
}

impl Load for Reads {
    fn op(&mut self, _i: u64) -> Op {
        let index = self.rng.next() % self.blocks;
        let position = index as u64 * self.block as u64;
        Op::Read { fd: self.fd, buf: self.pool.take(self.block), position }
    }

    fn done(&mut self, c: Completion) {
        if c.result != self.block as i32 {
            eprintln!("floor: read returned {} (wanted {})", c.result, self.block);
            exit(1);
        }
        let pool = &mut self.pool;
        if let Some(op) = c.op {
            op.recycle(|b| pool.give(b));
        }
    }
}

struct Outcome {
    ops: u64,
    seconds: f64,
    enters: u64,
}

/// Keeps `depth` ops in flight until `count` have completed (or time is up).
fn drive(load: &mut dyn Load, depth: u64, count: u64, max: Duration) -> Outcome {
    let entries = depth.clamp(256, 32768) as u32;
    let mut ring = Ring::new(&{
        let mut c = Config::default();
        c.entries = entries;
        c.offload = std::env::var_os("FLOOR_OFFLOAD").is_some();
        if std::env::var_os("FLOOR_SQPOLL").is_some() {
            c.sqpoll = Some(1000);
        }
        c
    })
    .unwrap_or_else(|e| {
        eprintln!("floor: io_uring setup failed: {e}");
        exit(1)
    });
    let opts = OpOptions::default();
    let mut done: Vec<Completion> = Vec::with_capacity(depth as usize);
    let mut submitted = 0u64;
    let mut completed = 0u64;
    let mut limit = count;

    let start = Instant::now();
    let deadline = start + max;
    while submitted < depth.min(limit) {
        ring.submit(load.op(submitted), &opts).unwrap_or_else(|e| {
            eprintln!("floor: submit failed: {e}");
            exit(1)
        });
        submitted += 1;
    }
    let mut next_check = 4096u64;
    while completed < submitted {
        if let Err(e) = ring.wait(Some(Duration::from_secs(5))) {
            eprintln!("floor: wait failed: {e}");
            exit(1);
        }
        ring.reap(&mut done);
        for c in done.drain(..) {
            load.done(c);
            completed += 1;
            if submitted < limit {
                ring.submit(load.op(submitted), &opts).unwrap_or_else(|e| {
                    eprintln!("floor: submit failed: {e}");
                    exit(1)
                });
                submitted += 1;
            }
        }
        if completed >= next_check {
            next_check = completed + 4096;
            if Instant::now() >= deadline {
                limit = submitted; // stop issuing; drain what is in flight
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Outcome { ops: completed, seconds, enters: ring.metrics().enters }
}

fn fail(what: &str, res: i32) -> ! {
    eprintln!("floor: {what} failed: {}", std::io::Error::from_raw_os_error(-res));
    exit(1)
}

fn submit(ring: &mut Ring, op: Op) -> u32 {
    match ring.submit(op, &OpOptions::default()) {
        Ok(id) => id.index(),
        Err(e) => {
            eprintln!("floor: submit failed: {e}");
            exit(1)
        }
    }
}

/// Submits `op`, waits for it alone, and returns its completion.
fn run_one(ring: &mut Ring, op: Op) -> Completion {
    submit(ring, op);
    let mut done = Vec::new();
    while done.is_empty() {
        if let Err(e) = ring.wait(Some(Duration::from_secs(5))) {
            eprintln!("floor: wait failed: {e}");
            exit(1);
        }
        ring.reap(&mut done);
    }
    done.pop().expect("one completion")
}

/// What a slot's op is doing in the echo load.
#[derive(Clone, Copy)]
enum Role {
    Idle,
    /// Client `i` is sending its message.
    ClientSend(usize),
    /// Client `i` is receiving the echo.
    ClientRecv(usize),
    ServerRecv(usize),
    ServerSend(usize),
}

/// CONNS client/server pairs on one ring ping-ponging MSG-byte messages.
fn echo(conns: usize, count: u64, msg: usize, max: Duration) -> Outcome {
    let mut ring = Ring::new(&Config::default()).unwrap_or_else(|e| {
        eprintln!("floor: io_uring setup failed: {e}");
        exit(1)
    });
    // The listening socket comes from std (the ring has no getsockname);
    // connections are accepted and made through the ring.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| {
        eprintln!("floor: listen failed: {e}");
        exit(1)
    });
    let port = listener.local_addr().expect("bound").port();
    let lfd = listener.into_raw_fd();
    let mut clients = Vec::with_capacity(conns);
    let mut servers = Vec::with_capacity(conns);
    for _ in 0..conns {
        let c = run_one(&mut ring, Op::Socket { domain: libc::AF_INET, ty: libc::SOCK_STREAM, protocol: 0 });
        if c.result < 0 {
            fail("socket", c.result);
        }
        let fd = c.result;
        let addr = Box::new(SockAddr::inet("127.0.0.1", port).expect("address"));
        let c = run_one(&mut ring, Op::Connect { fd, addr });
        if c.result < 0 {
            fail("connect", c.result);
        }
        let a = run_one(&mut ring, Op::Accept { fd: lfd, flags: 0 });
        if a.result < 0 {
            fail("accept", a.result);
        }
        clients.push(fd);
        servers.push(a.result);
    }

    let mut pool = BufferPool::default();
    let payload = vec![0x61u8; msg];
    let mut roles: Vec<Role> = Vec::new();
    let mut got = vec![0usize; conns];
    let set = |roles: &mut Vec<Role>, slot: u32, role: Role| {
        let i = slot as usize;
        if roles.len() <= i {
            roles.resize(i + 1, Role::Idle);
        }
        roles[i] = role;
    };
    let start = Instant::now();
    let deadline = start + max;
    let mut issued = 0u64;
    let mut completed = 0u64;
    let mut limit = count;
    for (j, &fd) in servers.iter().enumerate() {
        let slot = submit(&mut ring, Op::Recv { fd, buf: pool.take(4096), flags: 0 });
        set(&mut roles, slot, Role::ServerRecv(j));
    }
    for (i, &fd) in clients.iter().enumerate() {
        if issued < limit {
            issued += 1;
            let slot = submit(&mut ring, Op::Send { fd, buf: pool.copy_of(&payload), flags: 0 });
            set(&mut roles, slot, Role::ClientSend(i));
        }
    }
    let mut done: Vec<Completion> = Vec::with_capacity(4 * conns);
    // A reaped op's slot is free again, so a submission made while handling
    // one completion can take the slot of a later one in the same batch:
    // look every role up before handling any.
    let mut batch: Vec<(Role, Completion)> = Vec::with_capacity(4 * conns);
    let mut next_check = 1024u64;
    while completed < issued {
        if let Err(e) = ring.wait(Some(Duration::from_secs(5))) {
            eprintln!("floor: wait failed: {e}");
            exit(1);
        }
        ring.reap(&mut done);
        batch.extend(done.drain(..).map(|c| (roles[c.id.index() as usize], c)));
        for (role, c) in batch.drain(..) {
            let res = c.result;
            match (role, c.op.expect("single-shot ops")) {
                (Role::ClientSend(i), Op::Send { buf, .. }) => {
                    if res < 0 {
                        fail("client send", res);
                    }
                    if (res as usize) < buf.len() {
                        let rest = pool.copy_of(&buf[res as usize..]);
                        pool.give(buf);
                        let slot = submit(&mut ring, Op::Send { fd: clients[i], buf: rest, flags: 0 });
                        set(&mut roles, slot, Role::ClientSend(i));
                    } else {
                        pool.give(buf);
                        got[i] = 0;
                        let slot = submit(&mut ring, Op::Recv { fd: clients[i], buf: pool.take(msg), flags: 0 });
                        set(&mut roles, slot, Role::ClientRecv(i));
                    }
                }
                (Role::ClientRecv(i), Op::Recv { buf, .. }) => {
                    if res <= 0 {
                        fail("client recv", if res == 0 { -libc::ECONNRESET } else { res });
                    }
                    pool.give(buf);
                    got[i] += res as usize;
                    if got[i] < msg {
                        let slot =
                            submit(&mut ring, Op::Recv { fd: clients[i], buf: pool.take(msg - got[i]), flags: 0 });
                        set(&mut roles, slot, Role::ClientRecv(i));
                    } else {
                        completed += 1;
                        if issued < limit {
                            issued += 1;
                            let slot =
                                submit(&mut ring, Op::Send { fd: clients[i], buf: pool.copy_of(&payload), flags: 0 });
                            set(&mut roles, slot, Role::ClientSend(i));
                        }
                    }
                }
                (Role::ServerRecv(j), Op::Recv { buf, .. }) => {
                    if res < 0 {
                        fail("server recv", res);
                    }
                    if res == 0 {
                        pool.give(buf);
                        continue;
                    }
                    let echo = pool.copy_of(&buf[..res as usize]);
                    pool.give(buf);
                    let slot = submit(&mut ring, Op::Send { fd: servers[j], buf: echo, flags: 0 });
                    set(&mut roles, slot, Role::ServerSend(j));
                }
                (Role::ServerSend(j), Op::Send { buf, .. }) => {
                    if res < 0 {
                        fail("server send", res);
                    }
                    if (res as usize) < buf.len() {
                        let rest = pool.copy_of(&buf[res as usize..]);
                        pool.give(buf);
                        let slot = submit(&mut ring, Op::Send { fd: servers[j], buf: rest, flags: 0 });
                        set(&mut roles, slot, Role::ServerSend(j));
                    } else {
                        pool.give(buf);
                        let slot = submit(&mut ring, Op::Recv { fd: servers[j], buf: pool.take(4096), flags: 0 });
                        set(&mut roles, slot, Role::ServerRecv(j));
                    }
                }
                _ => {
                    eprintln!("floor: unexpected completion");
                    exit(1);
                }
            }
        }
        if completed >= next_check {
            next_check = completed + 1024;
            if Instant::now() >= deadline {
                limit = issued;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let enters = ring.metrics().enters;
    // Dropping the ring cancels the servers' pending recvs and waits for them.
    drop(ring);
    for fd in clients.into_iter().chain(servers).chain([lfd]) {
        // SAFETY: these fds are ours and nothing references them any more.
        unsafe { libc::close(fd) };
    }
    Outcome { ops: completed, seconds, enters }
}

/// DEPTH readFile chains in flight until every file was read once.
fn read_files(dir: &str, files: u64, size: usize, depth: u64) -> Outcome {
    let mut ring = Ring::new(&Config::default()).unwrap_or_else(|e| {
        eprintln!("floor: io_uring setup failed: {e}");
        exit(1)
    });
    if !ring.supports_chains() {
        eprintln!("floor: this kernel runs no chains (a sparse file table needs 5.19)");
        exit(1);
    }
    let opts = OpOptions::default();
    // Pooled, as the bridge's readFile does.
    let mut pool = BufferPool::default();
    let chain = |i: u64, pool: &mut BufferPool| {
        let path = CString::new(format!("{dir}/f{i}")).expect("no NUL in a path");
        let bufs = [pool.take(READ_FILE_CHUNK), pool.take(READ_FILE_CHUNK)];
        Chain::read_file_into(path, libc::O_RDONLY, 0, bufs)
    };
    let mut done: Vec<Completion> = Vec::with_capacity(depth as usize);
    let (mut submitted, mut completed) = (0u64, 0u64);
    let start = Instant::now();
    while submitted < depth.min(files) {
        let c = chain(submitted, &mut pool);
        ring.submit_chain(c, &opts).unwrap_or_else(|e| {
            eprintln!("floor: submit failed: {e}");
            exit(1)
        });
        submitted += 1;
    }
    while completed < submitted {
        if let Err(e) = ring.wait(Some(Duration::from_secs(5))) {
            eprintln!("floor: wait failed: {e}");
            exit(1);
        }
        ring.reap(&mut done);
        for c in done.drain(..) {
            let Some(ch) = c.chain else { continue };
            if ch.result() != size as i32 {
                eprintln!("floor: readFile returned {} (wanted {size})", ch.result());
                exit(1);
            }
            ch.recycle(|b| pool.give(b));
            completed += 1;
            if submitted < files {
                let next = chain(submitted, &mut pool);
                ring.submit_chain(next, &opts).unwrap_or_else(|e| {
                    eprintln!("floor: submit failed: {e}");
                    exit(1)
                });
                submitted += 1;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Outcome { ops: completed, seconds, enters: ring.metrics().enters }
}

fn main() {
    let args = parse_args();
    let p = &args.positional;
    let max = Duration::from_secs_f64(args.max_seconds.max(0.001));
    let (name, depth, out) = match p.first().map(String::as_str) {
        Some("nop") => {
            let depth: u64 = num(p.get(1), "DEPTH");
            let count: u64 = num(p.get(2), "COUNT");
            (String::from("nop"), depth, drive(&mut Nops, depth.max(1), count, max))
        }
        Some("read") => {
            let path = p.get(1).unwrap_or_else(|| usage());
            let depth: u64 = num(p.get(2), "DEPTH");
            let count: u64 = num(p.get(3), "COUNT");
            let block: usize = num(p.get(4), "BLOCK");
            let file = File::open(path).unwrap_or_else(|e| {
                eprintln!("floor: {path}: {e}");
                exit(1)
            });
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            let blocks = size / block.max(1) as u64;
            if block == 0 || blocks == 0 || blocks > u32::MAX as u64 {
                eprintln!("floor: {path} holds {blocks} blocks of {block} bytes");
                exit(1);
            }
            let mut load = Reads {
                fd: file.as_raw_fd(),
                block,
                blocks: blocks as u32,
                rng: XorShift32::new(args.seed),
                pool: BufferPool::default(),
            };
            let out = drive(&mut load, depth.max(1), count, max);
            drop(file);
            (String::from("read"), depth, out)
        }
        Some("readfile") => {
            let dir = p.get(1).unwrap_or_else(|| usage());
            let files: u64 = num(p.get(2), "FILES");
            let size: usize = num(p.get(3), "SIZE");
            let depth: u64 = num(p.get(4), "DEPTH");
            (String::from("readfile"), depth, read_files(dir, files, size, depth.max(1)))
        }
        Some("echo") => {
            let conns: usize = num(p.get(1), "CONNS");
            let count: u64 = num(p.get(2), "COUNT");
            let msg: usize = num(p.get(3), "MSG");
            if conns == 0 || msg == 0 || msg > 1 << 20 {
                usage();
            }
            (String::from("echo"), conns as u64, echo(conns, count, msg, max))
        }
        _ => usage(),
    };
    let ops_per_sec = if out.seconds > 0.0 { out.ops as f64 / out.seconds } else { 0.0 };
    let ns_per_op = if out.ops > 0 { out.seconds * 1e9 / out.ops as f64 } else { 0.0 };
    println!(
        "{{\"bench\":\"{name}\",\"depth\":{depth},\"ops\":{},\"seconds\":{:.6},\"opsPerSec\":{:.1},\"nsPerOp\":{:.2},\"enters\":{}}}",
        out.ops, out.seconds, ops_per_sec, ns_per_op, out.enters
    );
}

//! The Rust floor: the same loads the JS benchmarks run, driven straight on
//! a core `Ring` with no Node, no bridge and no promises. What the bridge
//! costs is the distance between this and the `Machine`.
//!
//! ```text
//! floor nop DEPTH COUNT [--max-seconds S]
//! floor read PATH DEPTH COUNT BLOCK [--seed N] [--max-seconds S]
//! ```
//!
//! `nop` keeps DEPTH NOPs in flight until COUNT have completed. `read` keeps
//! DEPTH reads of BLOCK bytes in flight, each at a random block-aligned
//! offset over the whole file (xorshift32 from `--seed`, the same sequence
//! `benches/read.mjs` precomputes for the JS contenders), reusing buffers
//! through a `BufferPool`. Both stop early, with what completed, once
//! `--max-seconds` have passed (default 30). Prints one JSON line:
//! `{"ops":..,"seconds":..,"opsPerSec":..,"nsPerOp":..,...}`.
//!
//! Build: `cargo build --release --example floor`.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::exit;
use std::time::{Duration, Instant};

use uring_machine_core::{BufferPool, Completion, Config, Op, OpOptions, Ring};

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
    exit(2)
}

fn parse_args() -> Args {
    let mut args = Args { positional: Vec::new(), seed: 1, max_seconds: 30.0 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => args.seed = it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--max-seconds" => {
                args.max_seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage())
            }
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
        c.op.recycle(|b| pool.give(b));
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
    let mut ring = Ring::new(&Config { entries, ..Config::default() }).unwrap_or_else(|e| {
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
        _ => usage(),
    };
    let ops_per_sec = if out.seconds > 0.0 { out.ops as f64 / out.seconds } else { 0.0 };
    let ns_per_op = if out.ops > 0 { out.seconds * 1e9 / out.ops as f64 } else { 0.0 };
    println!(
        "{{\"bench\":\"{name}\",\"depth\":{depth},\"ops\":{},\"seconds\":{:.6},\"opsPerSec\":{:.1},\"nsPerOp\":{:.2},\"enters\":{}}}",
        out.ops, out.seconds, ops_per_sec, ns_per_op, out.enters
    );
}

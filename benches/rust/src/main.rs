//! tokio-uring on the loads of the core ring's floor
//! (crates/core/examples/floor.rs), with the same arguments and the same
//! JSON line, so that benches/read.mjs and benches/readfile.mjs run it as
//! one more contender beside the Machine, node:fs and the floor.
//!
//! ```text
//! peers read PATH DEPTH COUNT BLOCK [--seed N] [--max-seconds S]
//! peers readfile DIR FILES SIZE DEPTH
//! ```
//!
//! `read`: DEPTH tasks on one tokio-uring runtime, each awaiting
//! `File::read_at` of BLOCK bytes in turn, at the block-aligned offsets of
//! xorshift32 from `--seed` (the floor's and read.mjs's sequence), until
//! COUNT were issued or `--max-seconds` passed. `readfile`: DEPTH tasks
//! reading `DIR/f0` .. `DIR/f<FILES-1>` once each as Node's readFile does
//! for a file of unknown size: open, read 64 KiB until a read returns 0,
//! close; each file must hold SIZE bytes (ops = files). Buffers are reused
//! per task, as the floor reuses its pool's.

use std::cell::Cell;
use std::process::exit;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio_uring::fs::File;

/// Marsaglia's xorshift32, the sequence of floor.rs and read.mjs.
struct XorShift32(u32);

impl XorShift32 {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

fn usage() -> ! {
    eprintln!("usage: peers read PATH DEPTH COUNT BLOCK [--seed N] [--max-seconds S]");
    eprintln!("       peers readfile DIR FILES SIZE DEPTH");
    exit(2)
}

fn die(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("peers: {what}: {e}");
    exit(1)
}

fn num<T: std::str::FromStr>(s: Option<&String>, what: &str) -> T {
    s.and_then(|v| v.parse().ok()).unwrap_or_else(|| die("bad or missing argument", what))
}

/// What the tasks share: they all run on the runtime's one thread.
struct Shared {
    issued: Cell<u64>,
    limit: Cell<u64>,
    rng: Cell<u32>,
}

async fn random_reads(path: String, depth: u64, count: u64, block: usize, seed: u32, max: Duration) -> (u64, f64) {
    let file = Rc::new(File::open(&path).await.unwrap_or_else(|e| die(&path, e)));
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let blocks = size / block.max(1) as u64;
    if block == 0 || blocks == 0 || blocks > u32::MAX as u64 {
        die(&path, format!("{blocks} blocks of {block} bytes"));
    }
    let shared = Rc::new(Shared { issued: Cell::new(0), limit: Cell::new(count), rng: Cell::new(seed) });
    let start = Instant::now();
    let deadline = start + max;
    let mut tasks = Vec::new();
    for _ in 0..depth {
        let (file, shared) = (file.clone(), shared.clone());
        tasks.push(tokio_uring::spawn(async move {
            let mut buf = vec![0u8; block];
            while shared.issued.get() < shared.limit.get() {
                let n = shared.issued.get() + 1;
                shared.issued.set(n);
                if n % 4096 == 0 && Instant::now() >= deadline {
                    shared.limit.set(n);
                }
                let mut rng = XorShift32(shared.rng.get());
                let index = rng.next() as u64 % blocks;
                shared.rng.set(rng.0);
                let (res, b) = file.read_at(buf, index * block as u64).await;
                buf = b;
                match res {
                    Ok(got) if got == block => {}
                    Ok(got) => die("read", format!("{got} of {block} bytes")),
                    Err(e) => die("read", e),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap_or_else(|e| die("task", e));
    }
    let seconds = start.elapsed().as_secs_f64();
    match Rc::try_unwrap(file) {
        Ok(f) => f.close().await.unwrap_or_else(|e| die("close", e)),
        Err(_) => die("close", "file still shared"),
    }
    (shared.issued.get(), seconds)
}

async fn read_files(dir: String, files: u64, size: usize, depth: u64) -> (u64, f64) {
    let next = Rc::new(Cell::new(0u64));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..depth {
        let (next, dir) = (next.clone(), dir.clone());
        tasks.push(tokio_uring::spawn(async move {
            let mut buf = Vec::with_capacity(64 * 1024);
            while next.get() < files {
                let i = next.get();
                next.set(i + 1);
                let path = format!("{dir}/f{i}");
                let file = File::open(&path).await.unwrap_or_else(|e| die(&path, e));
                let mut total = 0usize;
                loop {
                    buf.clear();
                    let (res, b) = file.read_at(buf, total as u64).await;
                    buf = b;
                    match res {
                        Ok(0) => break,
                        Ok(n) => total += n,
                        Err(e) => die(&path, e),
                    }
                }
                file.close().await.unwrap_or_else(|e| die(&path, e));
                if total != size {
                    die(&path, format!("{total} bytes read (wanted {size})"));
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap_or_else(|e| die("task", e));
    }
    (next.get(), start.elapsed().as_secs_f64())
}

fn main() {
    let mut positional = Vec::new();
    let (mut seed, mut max_seconds) = (0x2545_f491u32, 30.0f64);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => seed = num(it.next().as_ref(), "--seed"),
            "--max-seconds" => max_seconds = num(it.next().as_ref(), "--max-seconds"),
            "-h" | "--help" => usage(),
            _ => positional.push(a),
        }
    }
    let p = &positional;
    let max = Duration::from_secs_f64(max_seconds.max(0.001));
    // 256 entries, as the Machine of read.mjs and the floor's ring.
    let mut builder = tokio_uring::builder();
    let runtime = builder.entries(256);
    let (name, depth, (ops, seconds)) = match p.first().map(String::as_str) {
        Some("read") => {
            let path = p.get(1).unwrap_or_else(|| usage()).clone();
            let depth: u64 = num(p.get(2), "DEPTH");
            let count: u64 = num(p.get(3), "COUNT");
            let block: usize = num(p.get(4), "BLOCK");
            let seed = if seed == 0 { 0x9e37_79b9 } else { seed };
            ("read", depth, runtime.start(random_reads(path, depth.max(1), count, block, seed, max)))
        }
        Some("readfile") => {
            let dir = p.get(1).unwrap_or_else(|| usage()).clone();
            let files: u64 = num(p.get(2), "FILES");
            let size: usize = num(p.get(3), "SIZE");
            let depth: u64 = num(p.get(4), "DEPTH");
            ("readfile", depth, runtime.start(read_files(dir, files, size, depth.max(1))))
        }
        _ => usage(),
    };
    let ops_per_sec = if seconds > 0.0 { ops as f64 / seconds } else { 0.0 };
    let ns_per_op = if ops > 0 { seconds * 1e9 / ops as f64 } else { 0.0 };
    println!(
        "{{\"bench\":\"{name}\",\"peer\":\"tokio-uring\",\"depth\":{depth},\"ops\":{ops},\"seconds\":{seconds:.6},\"opsPerSec\":{ops_per_sec:.1},\"nsPerOp\":{ns_per_op:.2}}}"
    );
}

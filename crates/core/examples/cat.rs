//! Copies a file to stdout through the ring, with several reads in flight
//! and writes issued in order: the core used from Rust, without Node.
//!
//!     cargo run --example cat -- /etc/os-release

use std::collections::BTreeMap;
use std::ffi::CString;
use std::time::Duration;

use uring_machine_core::{BufferPool, Completion, Config, Op, OpOptions, Output, Ring};

const CHUNK: usize = 64 * 1024;
const DEPTH: usize = 8;

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/etc/os-release".into());
    let mut ring = Ring::new(&Config::default())?;
    let mut pool = BufferPool::default();
    let features = ring.features();
    eprintln!("kernel {}, flags {:?}", features.kernel, features.setup_flags);

    let open = Op::Open { dirfd: libc::AT_FDCWD, path: CString::new(path.clone())?, flags: libc::O_RDONLY, mode: 0 };
    let mut done = Vec::new();
    let fd = run_one(&mut ring, open, &mut done)?;

    // Reads at increasing offsets; their data goes out strictly in order.
    let mut next_read = 0u64;
    let mut next_write = 0u64;
    let mut reads = BTreeMap::new(); // op index -> offset
    let mut ready: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut eof = false;
    loop {
        while !eof && reads.len() < DEPTH {
            let op = Op::Read { fd, buf: pool.take(CHUNK), position: next_read };
            let id = ring
                .submit(op, &OpOptions::with_timeout(Some(Duration::from_secs(5))))
                .map_err(std::io::Error::other)?;
            reads.insert(id.index(), next_read);
            next_read += CHUNK as u64;
        }
        if reads.is_empty() {
            break;
        }
        if done.is_empty() {
            ring.wait(None)?;
            ring.reap(&mut done);
        }
        for c in std::mem::take(&mut done) {
            let offset = reads.remove(&c.id.index()).expect("a read of ours");
            if c.result < 0 {
                return Err(std::io::Error::from_raw_os_error(-c.result));
            }
            if let Output::Bytes(bytes) = c.output() {
                if bytes.len() < CHUNK {
                    eof = true;
                }
                ready.insert(offset, bytes.to_vec());
            }
            c.op.unwrap().recycle(|b| pool.give(b));
        }
        while let Some(bytes) = ready.remove(&next_write) {
            next_write += CHUNK as u64;
            if !bytes.is_empty() {
                let n = bytes.len();
                let written = run_one(&mut ring, Op::Write { fd: 1, buf: bytes, position: u64::MAX }, &mut done)?;
                assert_eq!(written as usize, n, "short write to stdout");
            }
        }
    }
    run_one(&mut ring, Op::Close { fd }, &mut done)?;
    let m = ring.metrics();
    eprintln!("{} ops, {} kernel enters", m.ops_completed, m.enters);
    Ok(())
}

/// Submits one op and waits for it; other ops that complete meanwhile are
/// left in `others` for their owner.
fn run_one(ring: &mut Ring, op: Op, others: &mut Vec<Completion>) -> std::io::Result<i32> {
    let id = ring.submit(op, &OpOptions::default()).map_err(std::io::Error::other)?;
    loop {
        ring.wait(None)?;
        ring.reap(others);
        if let Some(i) = others.iter().position(|c| c.id == id) {
            let c = others.swap_remove(i);
            return if c.result < 0 { Err(std::io::Error::from_raw_os_error(-c.result)) } else { Ok(c.result) };
        }
    }
}

//! Chains against the real kernel: linked steps on a direct descriptor,
//! failures at each step, a chain in flight when the ring drops, and no
//! fd or file-table slot left behind.

mod common;

use std::ffi::CString;
use std::time::{Duration, Instant};

use common::{open_fds, scratch, serial};
use uring_machine_core::{Chain, Completion, Config, OpId, OpOptions, Ring, Stat, Step, CURRENT_POSITION};

const ECANCELED: i32 = -libc::ECANCELED;

/// A ring that runs chains, or `None` (with a visible skip) where the
/// kernel lacks a sparse file table (before 5.19).
fn ring() -> Option<Ring> {
    let mut r = Ring::new(&Config::default()).expect("io_uring available");
    if !r.supports_chains() {
        eprintln!("SKIP: this kernel's io_uring runs no chains (a sparse file table needs 5.19)");
        return None;
    }
    Some(r)
}

/// The tests count /proc/self/fd, which is the whole process's: they run
/// one at a time.
fn run(ring: &mut Ring, id: OpId) -> Completion {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut done = Vec::new();
    loop {
        ring.flush().unwrap();
        ring.reap(&mut done);
        if let Some(i) = done.iter().position(|c| c.id == id) {
            let c = done.swap_remove(i);
            assert!(done.is_empty(), "only this chain was in flight");
            return c;
        }
        assert!(Instant::now() < deadline, "chain did not complete");
        ring.wait(Some(Duration::from_millis(50))).unwrap();
    }
}

/// Runs the ring until nothing is in flight (background closes included).
fn settle(ring: &mut Ring) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut done = Vec::new();
    while ring.in_flight() > 0 {
        ring.flush().unwrap();
        ring.reap(&mut done);
        assert!(Instant::now() < deadline, "ring did not settle");
        if ring.in_flight() > 0 {
            ring.wait(Some(Duration::from_millis(20))).unwrap();
        }
    }
}

fn go(ring: &mut Ring, chain: Chain) -> Box<Chain> {
    let id = ring.submit_chain(chain, &OpOptions::default()).unwrap();
    let c = run(ring, id);
    assert!(!c.more());
    let chain = c.chain.expect("a chain's completion carries it");
    assert_eq!(c.result, chain.result());
    chain
}

fn path(p: &std::path::Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

fn read(n: usize) -> Step {
    Step::Read { buf: vec![0; n], position: CURRENT_POSITION }
}

fn write(data: &[u8]) -> Step {
    Step::Write { buf: data.to_vec(), position: 0 }
}

fn open(p: &std::path::Path, flags: i32) -> Step {
    Step::Open { path: path(p), flags, mode: 0o644 }
}

#[test]
fn a_chain_opens_reads_stats_and_closes_in_one_submission() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let p = scratch("ok", b"hello chains");
    let stat = Step::Statx { path: path(&p), flags: 0, mask: libc::STATX_SIZE, buf: Box::<Stat>::default() };
    let chain = go(&mut ring, Chain::new(vec![open(&p, libc::O_RDONLY), stat, read(64), Step::Close]).unwrap());
    assert_eq!(chain.results(), &[0, 0, 12, 0]);
    assert_eq!(chain.error(), None);
    match (&chain.steps()[1], &chain.steps()[2]) {
        (Step::Statx { buf, .. }, Step::Read { buf: data, .. }) => {
            assert_eq!(buf.size(), 12);
            assert_eq!(&data[..12], b"hello chains");
        }
        _ => unreachable!(),
    }
    settle(&mut ring);
    assert_eq!(ring.free_file_slots(), ring.file_slots());
    assert_eq!(ring.metrics().chain_cleanups, 0, "the chain's own close emptied the slot");
}

#[test]
fn a_chain_writes_fsyncs_and_closes() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let p = scratch("written", b"");
    let steps = vec![
        open(&p, libc::O_WRONLY | libc::O_TRUNC),
        Step::Write { buf: b"abc".to_vec(), position: CURRENT_POSITION },
        Step::Write { buf: b"def".to_vec(), position: CURRENT_POSITION },
        Step::Fsync { datasync: false },
        Step::Close,
    ];
    let chain = go(&mut ring, Chain::new(steps).unwrap());
    assert_eq!(chain.results(), &[0, 3, 3, 0, 0]);
    assert_eq!(std::fs::read(&p).unwrap(), b"abcdef");
}

#[test]
fn a_missing_file_fails_the_open_and_cancels_the_rest() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let p = std::env::temp_dir().join("um-chain-surely-missing");
    let chain = go(&mut ring, Chain::new(vec![open(&p, libc::O_RDONLY), read(16), Step::Close]).unwrap());
    assert_eq!(chain.results(), &[-libc::ENOENT, ECANCELED, ECANCELED]);
    assert_eq!(chain.error(), Some((-libc::ENOENT, "open")));
    settle(&mut ring);
    assert_eq!(ring.free_file_slots(), ring.file_slots());
}

#[test]
fn a_read_of_a_directory_fails_eisdir_and_the_close_still_runs() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let dir = std::env::temp_dir();
    let chain = go(&mut ring, Chain::new(vec![open(&dir, libc::O_RDONLY), read(16), Step::Close]).unwrap());
    assert_eq!(chain.results(), &[0, -libc::EISDIR, 0], "the close is hard-linked to the read");
    assert_eq!(chain.error(), Some((-libc::EISDIR, "read")));
    settle(&mut ring);
    assert_eq!(ring.metrics().chain_cleanups, 0);
    assert_eq!(ring.free_file_slots(), ring.file_slots());
}

#[test]
fn a_failure_midway_cancels_the_steps_after_it_and_the_ring_empties_the_slot() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let p = scratch("midway", b"0123456789");
    // The read fails (the file is write-only), the write after it is
    // cancelled and so is the close: the ring empties the slot itself.
    let steps =
        vec![open(&p, libc::O_WRONLY), read(4), Step::Write { buf: b"never".to_vec(), position: 0 }, Step::Close];
    let chain = go(&mut ring, Chain::new(steps).unwrap());
    assert_eq!(chain.results(), &[0, -libc::EBADF, ECANCELED, ECANCELED]);
    assert_eq!(chain.error(), Some((-libc::EBADF, "read")));
    settle(&mut ring);
    assert_eq!(std::fs::read(&p).unwrap(), b"0123456789", "the cancelled write never ran");
    assert_eq!(ring.free_file_slots(), ring.file_slots());
}

#[test]
fn a_chain_without_a_close_is_closed_by_the_ring() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let p = scratch("noclose", b"x");
    let chain = go(&mut ring, Chain::new(vec![open(&p, libc::O_RDONLY), read(1)]).unwrap());
    assert_eq!(chain.results(), &[0, 1]);
    settle(&mut ring);
    assert_eq!(ring.free_file_slots(), ring.file_slots());
}

#[test]
fn chains_that_break_the_rules_are_refused() {
    let _serial = serial();
    let p = std::path::Path::new("/");
    assert!(Chain::new(vec![]).is_none());
    assert!(Chain::new(vec![read(1)]).is_none(), "an open comes first");
    assert!(Chain::new(vec![open(p, 0), open(p, 0)]).is_none());
    assert!(Chain::new(vec![open(p, 0), Step::Close, read(1)]).is_none(), "a close comes last");
}

fn read_file(ring: &mut Ring, p: &std::path::Path) -> Box<Chain> {
    go(ring, Chain::read_file(path(p), libc::O_RDONLY, 0o666))
}

fn bytes(chain: &Chain) -> Vec<u8> {
    chain.data().flat_map(|s| s.iter().copied()).collect()
}

#[test]
fn read_file_reads_small_empty_and_large_files() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    for len in [0usize, 1, 4096, 65536, 65537, 131072, 3 << 20] {
        let content: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let p = scratch(&format!("rf-{len}"), &content);
        let chain = read_file(&mut ring, &p);
        assert_eq!(chain.error(), None, "len {len}");
        assert_eq!(chain.len(), len);
        assert_eq!(chain.result(), len as i32);
        assert!(bytes(&chain) == content, "len {len}");
    }
    settle(&mut ring);
    assert_eq!(ring.free_file_slots(), ring.file_slots());
}

#[test]
fn read_file_reads_proc_files_and_fifos_to_eof() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let chain = read_file(&mut ring, std::path::Path::new("/proc/self/status"));
    let text = String::from_utf8(bytes(&chain)).unwrap();
    assert!(text.starts_with("Name:") && text.contains("VmRSS"), "{text}");

    let fifo = std::env::temp_dir().join(format!("um-chain-fifo-{}", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let c = path(&fifo);
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let f2 = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new().write(true).open(&f2).unwrap();
        use std::io::Write;
        for i in 0..50 {
            w.write_all(&vec![b'a' + (i % 26) as u8; 3000]).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let chain = read_file(&mut ring, &fifo);
    writer.join().unwrap();
    assert_eq!(chain.error(), None);
    assert_eq!(chain.len(), 150_000, "read until the writer closed");
    std::fs::remove_file(&fifo).unwrap();
}

#[test]
fn read_file_reports_missing_files_and_directories_like_node() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let chain = read_file(&mut ring, std::path::Path::new("/nonexistent/um-chain"));
    assert_eq!(chain.error(), Some((-libc::ENOENT, "open")));
    assert_eq!(chain.result(), -libc::ENOENT);
    let chain = read_file(&mut ring, &std::env::temp_dir());
    assert_eq!(chain.error(), Some((-libc::EISDIR, "read")));
    settle(&mut ring);
    assert_eq!(ring.free_file_slots(), ring.file_slots());
}

#[test]
fn many_failing_chains_leak_no_fd_and_no_file_slot() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let p = scratch("leak", b"data");
    let dir = std::env::temp_dir();
    let missing = dir.join("um-chain-missing-leak");
    // Warm up: the table exists, the fds the test harness uses are open.
    let _ = read_file(&mut ring, &p);
    settle(&mut ring);
    let (fds, slots) = (open_fds(), ring.free_file_slots());
    let mut ids = Vec::new();
    for i in 0..3000 {
        let chain = match i % 4 {
            0 => Chain::read_file(path(&missing), libc::O_RDONLY, 0),
            1 => Chain::read_file(path(&dir), libc::O_RDONLY, 0),
            // The read fails, the write after it and the close are cancelled.
            2 => Chain::new(vec![open(&p, libc::O_WRONLY), read(4), write(b"x"), Step::Close]).unwrap(),
            _ => Chain::new(vec![open(&p, libc::O_RDONLY), read(1), read(1), Step::Close]).unwrap(),
        };
        ids.push(ring.submit_chain(chain, &OpOptions::default()).unwrap());
        if ids.len() == 64 {
            settle(&mut ring);
            ids.clear();
        }
    }
    settle(&mut ring);
    assert_eq!(open_fds(), fds);
    assert_eq!(ring.free_file_slots(), slots);
}

#[test]
fn more_chains_than_file_slots_wait_for_one() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let p = scratch("many", b"0123");
    let _ = read_file(&mut ring, &p);
    settle(&mut ring);
    let n = ring.file_slots() + 100;
    let mut want = std::collections::HashSet::new();
    for _ in 0..n {
        want.insert(ring.submit_chain(Chain::read_file(path(&p), libc::O_RDONLY, 0), &OpOptions::default()).unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut done = Vec::new();
    while !want.is_empty() {
        ring.flush().unwrap();
        ring.reap(&mut done);
        for c in done.drain(..) {
            assert_eq!(c.result, 4);
            assert!(want.remove(&c.id));
        }
        assert!(Instant::now() < deadline);
        ring.wait(Some(Duration::from_millis(20))).unwrap();
    }
    settle(&mut ring);
    assert_eq!(ring.free_file_slots(), ring.file_slots());
}

#[test]
fn a_cancelled_read_file_ends_ecanceled_and_frees_its_slot() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let fifo = std::env::temp_dir().join(format!("um-chain-fifo-c-{}", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let c = path(&fifo);
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // O_RDWR: the open does not wait for a writer; the read blocks forever.
    let id = ring.submit_chain(Chain::read_file(path(&fifo), libc::O_RDWR, 0), &OpOptions::default()).unwrap();
    ring.flush().unwrap();
    let _ = ring.wait(Some(Duration::from_millis(50)));
    assert!(ring.cancel(id));
    let chain = run(&mut ring, id).chain.unwrap();
    assert_eq!(chain.error().map(|e| e.0), Some(ECANCELED));
    settle(&mut ring);
    assert_eq!(ring.free_file_slots(), ring.file_slots());
    std::fs::remove_file(&fifo).unwrap();
}

#[test]
fn a_ring_dropped_with_chains_in_flight_lets_the_kernel_finish_first() {
    let _serial = serial();
    let fds = open_fds();
    let Some(mut ring) = ring() else { return };
    let fifo = std::env::temp_dir().join(format!("um-chain-fifo-d-{}", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let c = path(&fifo);
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let p = scratch("drop", &vec![7u8; 200_000]);
    for _ in 0..8 {
        ring.submit_chain(Chain::read_file(path(&fifo), libc::O_RDWR, 0), &OpOptions::default()).unwrap();
        ring.submit_chain(Chain::read_file(path(&p), libc::O_RDONLY, 0), &OpOptions::default()).unwrap();
    }
    ring.flush().unwrap();
    let started = Instant::now();
    drop(ring); // cancels, then waits for every CQE before freeing the buffers
    assert!(started.elapsed() < Duration::from_secs(2), "the blocked reads were cancelled");
    assert_eq!(open_fds(), fds, "the ring fd and every file went with the ring");
    std::fs::remove_file(&fifo).unwrap();
}

#[test]
fn write_file_writes_fsyncs_and_closes_in_one_submission() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let p = scratch("wf", b"old content, longer");
    let data: Vec<u8> = (0..200_000).map(|i| (i % 253) as u8).collect();
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;
    let chain = go(&mut ring, Chain::write_file(path(&p), flags, 0o644, data.clone(), true));
    assert_eq!(chain.error(), None);
    assert_eq!(chain.results(), &[0, 200_000, 0, 0]);
    assert!(std::fs::read(&p).unwrap() == data);
    let missing = std::env::temp_dir().join("um-chain-no-such-dir/file");
    let chain = go(&mut ring, Chain::write_file(path(&missing), flags, 0o644, b"x".to_vec(), false));
    assert_eq!(chain.error(), Some((-libc::ENOENT, "open")));
    settle(&mut ring);
    assert_eq!(ring.free_file_slots(), ring.file_slots());
}

#[test]
fn write_file_goes_on_after_a_short_write_to_a_fifo() {
    let _serial = serial();
    let Some(mut ring) = ring() else { return };
    let fifo = std::env::temp_dir().join(format!("um-chain-fifo-w-{}", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let c = path(&fifo);
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // A pipe takes 64 KiB per write: the chain's first write is short.
    let data: Vec<u8> = (0..300_000).map(|i| (i % 251) as u8).collect();
    let reader = {
        let fifo = fifo.clone();
        let n = data.len();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut got = vec![0; n];
            std::fs::File::open(&fifo).unwrap().read_exact(&mut got).unwrap();
            got
        })
    };
    // O_RDWR: the open does not wait for (or, non-blocking, fail without) a reader.
    let chain = go(&mut ring, Chain::write_file(path(&fifo), libc::O_RDWR, 0, data.clone(), false));
    assert_eq!(chain.error(), None);
    assert!(reader.join().unwrap() == data, "every byte reached the reader");
    settle(&mut ring);
    assert_eq!(ring.free_file_slots(), ring.file_slots());
    std::fs::remove_file(&fifo).unwrap();
}

//! Chain::stat_many against the real kernel: every path's own result (one
//! failing cancels none), more paths than the SQ holds, a cancel midway,
//! and no file-table slot taken.

mod common;

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::TempDir;
use uring_machine_core::{Chain, Completion, Config, OpId, OpOptions, Ring};

fn run(ring: &mut Ring, id: OpId) -> Completion {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut done = Vec::new();
    loop {
        ring.flush().unwrap();
        ring.reap(&mut done);
        if let Some(i) = done.iter().position(|c| c.id == id) {
            return done.swap_remove(i);
        }
        assert!(Instant::now() < deadline, "stat_many did not complete");
        ring.wait(Some(Duration::from_millis(50))).unwrap();
    }
}

fn cpath(p: &std::path::Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

fn small_ring() -> Ring {
    let mut config = Config::default();
    config.entries = 8;
    Ring::new(&config).unwrap()
}

const MASK: u32 = libc::STATX_BASIC_STATS | libc::STATX_BTIME;

#[test]
fn every_path_gets_its_own_result_and_a_failure_cancels_none() {
    let mut ring = Ring::new(&Config::default()).unwrap();
    let d = TempDir::new("statmany-mixed");
    let f = d.join("file");
    std::fs::write(&f, b"12345").unwrap();
    let link = d.join("link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&f, &link).unwrap();
    let missing = d.join("missing");
    let paths = vec![cpath(&f), cpath(&missing), cpath(&d), cpath(&link), cpath(&d.join("file/not-a-dir"))];
    let chain = Chain::stat_many(paths.clone(), 0, MASK).unwrap();
    let id = ring.submit_chain(chain, &OpOptions::default()).unwrap();
    let c = run(&mut ring, id);
    let chain = c.chain.unwrap();
    assert_eq!(chain.error(), None);
    let (res, st) = chain.stat_results().unwrap();
    assert_eq!(res, &[0, -libc::ENOENT, 0, 0, -libc::ENOTDIR]);
    assert_eq!(st[0].size(), 5);
    assert_eq!(st[0].ino(), std::fs::metadata(&f).unwrap().ino());
    assert_eq!(st[2].mode() & libc::S_IFMT, libc::S_IFDIR);
    assert_eq!(st[3].ino(), st[0].ino(), "stat follows the link");
    // lstat: AT_SYMLINK_NOFOLLOW.
    let chain = Chain::stat_many(vec![cpath(&link)], libc::AT_SYMLINK_NOFOLLOW, MASK).unwrap();
    let id = ring.submit_chain(chain, &OpOptions::default()).unwrap();
    let chain = run(&mut ring, id).chain.unwrap();
    assert_eq!(chain.stat_results().unwrap().1[0].mode() & libc::S_IFMT, libc::S_IFLNK);
    assert_eq!(ring.free_file_slots(), ring.file_slots(), "no file slot taken");
    assert!(Chain::stat_many(Vec::new(), 0, MASK).is_none(), "no paths: no chain");
}

#[test]
fn more_paths_than_the_sq_holds_complete_in_one_call() {
    // An SQ of 8 entries: windows of 4, 2500 submissions for 10k paths.
    let mut ring = small_ring();
    let d = TempDir::new("statmany-many");
    let mut paths = Vec::new();
    for i in 0..10_000 {
        if i % 100 == 0 {
            std::fs::write(d.join(format!("f{i}")), vec![1u8; i / 100]).unwrap();
        }
        paths.push(cpath(&d.join(format!("f{i}"))));
    }
    let chain = Chain::stat_many(paths, 0, MASK).unwrap();
    let id = ring.submit_chain(chain, &OpOptions::default()).unwrap();
    let c = run(&mut ring, id);
    let chain = c.chain.unwrap();
    let (res, st) = chain.stat_results().unwrap();
    assert_eq!(res.len(), 10_000);
    for (i, (&r, s)) in res.iter().zip(st).enumerate() {
        if i % 100 == 0 {
            assert_eq!((r, s.size()), (0, (i / 100) as u64), "path {i}");
        } else {
            assert_eq!(r, -libc::ENOENT, "path {i}");
        }
    }
    assert_eq!(ring.in_flight(), 0);
}

#[test]
fn a_cancelled_stat_many_ends_ecanceled_with_the_rest_unsubmitted() {
    let mut ring = small_ring();
    let d = TempDir::new("statmany-cancel");
    let paths: Vec<CString> = (0..5_000).map(|i| cpath(&d.join(format!("x{i}")))).collect();
    let id = ring.submit_chain(Chain::stat_many(paths, 0, MASK).unwrap(), &OpOptions::default()).unwrap();
    ring.flush().unwrap();
    assert!(ring.cancel(id));
    let chain = run(&mut ring, id).chain.unwrap();
    assert_eq!(chain.error(), Some((-libc::ECANCELED, "statx")));
    let (res, _) = chain.stat_results().unwrap();
    assert!(res.contains(&-libc::ECANCELED), "the paths after the cancel never ran");
    assert_eq!(ring.in_flight(), 0);
}

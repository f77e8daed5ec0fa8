//! Copies in the core against the real kernel: splice pairs through the
//! copy's own pipe between files, pipes and sockets, short and large
//! copies, EOF, errors, cancel midway, copyFile's steps; no fd left behind.

mod common;

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::{open_fds, serial, TempDir};
use uring_machine_core::copy::{COPYFILE_EXCL, COPYFILE_FICLONE, COPYFILE_FICLONE_FORCE, TO_EOF};
use uring_machine_core::{Completion, Config, Copy, OpId, OpOptions, Ring};

fn ring() -> Ring {
    Ring::new(&Config::default()).expect("io_uring available")
}

/// The tests count /proc/self/fd, which is the whole process's: one at a time.
fn run(ring: &mut Ring, id: OpId) -> Completion {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut done = Vec::new();
    loop {
        ring.flush().unwrap();
        ring.reap(&mut done);
        if let Some(i) = done.iter().position(|c| c.id == id) {
            let c = done.swap_remove(i);
            assert!(done.is_empty(), "only this copy was in flight");
            assert_eq!(ring.in_flight(), 0);
            return c;
        }
        assert!(Instant::now() < deadline, "copy did not complete");
        ring.wait(Some(Duration::from_millis(50))).unwrap();
    }
}

/// Runs `copy` to its completion: (result, bytes copied, rounds).
fn go(ring: &mut Ring, copy: Copy) -> (i32, u64, u32) {
    let id = ring.submit_copy(copy, &OpOptions::default()).unwrap();
    let c = run(ring, id);
    assert!(!c.more());
    let copy = c.copy.expect("a copy's completion carries it");
    assert_eq!(c.result, copy.result());
    (c.result, copy.copied(), copy.rounds())
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 4096) as u8).collect()
}

fn cpath(p: &std::path::Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

#[test]
fn copies_a_large_file_in_the_core_with_positions_and_lengths() {
    let _g = serial();
    let mut r = ring();
    let d = TempDir::new("copy");
    let bytes = data((5 << 20) + 123);
    std::fs::write(d.join("big"), &bytes).unwrap();
    let before = open_fds();
    let src = std::fs::File::open(d.join("big")).unwrap();
    let dst = std::fs::File::create(d.join("big.out")).unwrap();
    let (res, n, rounds) = go(&mut r, Copy::fds(src.as_raw_fd(), dst.as_raw_fd(), TO_EOF, -1, -1));
    assert_eq!((res, n), (0, bytes.len() as u64));
    assert!(rounds >= 6, "one submission per MiB at least: {rounds}");
    assert_eq!(std::fs::read(d.join("big.out")).unwrap(), bytes);
    // Explicit offsets: 4096 bytes from 1000 to 0; the file positions stay.
    let (res, n, _) = go(&mut r, Copy::fds(src.as_raw_fd(), dst.as_raw_fd(), 4096, 1000, 0));
    assert_eq!((res, n), (0, 4096));
    assert_eq!(&std::fs::read(d.join("big.out")).unwrap()[..4096], &bytes[1000..5096]);
    // A length shorter than the file, at the file's own position (at EOF now: 0).
    let (res, n, _) = go(&mut r, Copy::fds(src.as_raw_fd(), dst.as_raw_fd(), 10, -1, -1));
    assert_eq!((res, n), (0, 0), "the source's position is at its end");
    drop((src, dst));
    assert_eq!(open_fds(), before, "the copy's pipe was closed");
}

#[test]
fn a_short_copy_and_an_empty_one() {
    let _g = serial();
    let mut r = ring();
    let d = TempDir::new("copy");
    std::fs::write(d.join("small"), b"hello core").unwrap();
    std::fs::write(d.join("empty"), b"").unwrap();
    let src = std::fs::File::open(d.join("small")).unwrap();
    let dst = std::fs::File::create(d.join("small.out")).unwrap();
    let (res, n, _) = go(&mut r, Copy::fds(src.as_raw_fd(), dst.as_raw_fd(), TO_EOF, -1, -1));
    assert_eq!((res, n), (0, 10));
    assert_eq!(std::fs::read(d.join("small.out")).unwrap(), b"hello core");
    let (res, n, _) = go(&mut r, Copy::fds(src.as_raw_fd(), dst.as_raw_fd(), 0, 0, 0));
    assert_eq!((res, n), (0, 0), "a length of 0 copies nothing");
    let e = std::fs::File::open(d.join("empty")).unwrap();
    let (res, n, _) = go(&mut r, Copy::fds(e.as_raw_fd(), dst.as_raw_fd(), TO_EOF, -1, -1));
    assert_eq!((res, n), (0, 0), "EOF at once");
}

#[test]
fn copies_between_pipes_and_sockets_with_short_splices() {
    let _g = serial();
    let mut r = ring();
    let d = TempDir::new("copy");
    // A socket pair as the source: the writer sends in pieces, so the
    // first splice of a pair is short and the pipe is drained on its own.
    let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let dst = std::fs::File::create(d.join("sock.out")).unwrap();
    let bytes = data(3 << 20);
    let sent = bytes.clone();
    let writer = std::thread::spawn(move || {
        for c in sent.chunks(100_000) {
            a.write_all(c).unwrap();
        }
    });
    let id = r
        .submit_copy(Copy::fds(b.as_raw_fd(), dst.as_raw_fd(), bytes.len() as u64, -1, -1), &OpOptions::default())
        .unwrap();
    let c = run(&mut r, id);
    writer.join().unwrap();
    let copy = c.copy.unwrap();
    assert_eq!((c.result, copy.copied()), (0, bytes.len() as u64));
    assert_eq!(std::fs::read(d.join("sock.out")).unwrap(), bytes);
    // File to a pipe whose reader reads slowly: pipe -> dst moves less than
    // the copy's pipe holds, and the rest is submitted again.
    let (pr, pw) = pipe();
    let reader = std::thread::spawn(move || {
        let mut f = std::fs::File::from(pr);
        let mut got = Vec::new();
        let mut buf = [0u8; 7000];
        loop {
            let n = f.read(&mut buf).unwrap();
            if n == 0 {
                return got;
            }
            got.extend_from_slice(&buf[..n]);
        }
    });
    let src = std::fs::File::open(d.join("sock.out")).unwrap();
    let (res, n, _) = go(&mut r, Copy::fds(src.as_raw_fd(), pw.as_raw_fd(), TO_EOF, 0, -1));
    assert_eq!((res, n), (0, bytes.len() as u64));
    drop(pw);
    assert_eq!(reader.join().unwrap(), bytes);
}

fn pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    let [r, w] = uring_machine_core::pipe(65536).unwrap();
    use std::os::fd::FromRawFd;
    // SAFETY: fresh fds.
    unsafe { (std::os::fd::OwnedFd::from_raw_fd(r), std::os::fd::OwnedFd::from_raw_fd(w)) }
}

#[test]
fn errors_end_the_copy_with_the_bytes_before_them() {
    let _g = serial();
    let mut r = ring();
    let d = TempDir::new("copy");
    let before = open_fds();
    // EBADF: a closed fd.
    let (res, n, _) = go(&mut r, Copy::fds(1 << 20, 1, TO_EOF, -1, -1));
    assert_eq!((res, n), (-libc::EBADF, 0));
    // EINVAL: an offset on a pipe (the kernel's ESPIPE), a directory source.
    std::fs::write(d.join("e"), b"abc").unwrap();
    let f = std::fs::File::open(d.join("e")).unwrap();
    let (pr, pw) = pipe();
    let (res, _, _) = go(&mut r, Copy::fds(pr.as_raw_fd(), f.as_raw_fd(), TO_EOF, 5, -1));
    assert_eq!(res, -libc::ESPIPE);
    let dirf = std::fs::File::open(&d).unwrap();
    let (res, n, _) = go(&mut r, Copy::fds(dirf.as_raw_fd(), pw.as_raw_fd(), TO_EOF, -1, -1));
    assert!(res == -libc::EINVAL || res == -libc::EISDIR, "{res}");
    assert_eq!(n, 0);
    // A read-only destination: EBADF at the splice into it.
    let (res, n, _) = go(&mut r, Copy::fds(f.as_raw_fd(), f.as_raw_fd(), TO_EOF, 0, 0));
    assert_eq!((res, n), (-libc::EBADF, 0));
    // A pipe whose reader went away: EPIPE once the bytes before it are in.
    let (pr2, pw2) = pipe();
    drop(pr2);
    let (res, n, _) = go(&mut r, Copy::fds(f.as_raw_fd(), pw2.as_raw_fd(), TO_EOF, 0, -1));
    assert_eq!((res, n), (-libc::EPIPE, 0));
    drop((f, pr, pw, pw2, dirf));
    assert_eq!(open_fds(), before);
}

#[test]
fn a_copy_cancelled_midway_reports_its_bytes_and_leaks_no_fd() {
    let _g = serial();
    let mut r = ring();
    let d = TempDir::new("copy");
    let before = open_fds();
    let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let dst = std::fs::File::create(d.join("cancel.out")).unwrap();
    a.write_all(&[1u8; 1000]).unwrap();
    let id = r.submit_copy(Copy::fds(b.as_raw_fd(), dst.as_raw_fd(), TO_EOF, -1, -1), &OpOptions::default()).unwrap();
    // Let the first 1000 bytes through, then the copy blocks in its splice.
    let until = Instant::now() + Duration::from_millis(300);
    let mut done = Vec::new();
    while Instant::now() < until {
        r.flush().unwrap();
        r.reap(&mut done);
        let _ = r.wait(Some(Duration::from_millis(10)));
    }
    assert!(done.is_empty(), "still copying");
    assert_eq!(open_fds(), before + 5, "two sockets, the file, the two ends of the copy's pipe");
    assert!(r.cancel(id));
    let c = run(&mut r, id);
    let copy = c.copy.unwrap();
    assert_eq!((c.result, copy.copied()), (-libc::ECANCELED, 1000));
    drop(copy);
    drop((a, b, dst));
    assert_eq!(open_fds(), before, "the pipe went with the copy");
}

#[test]
fn a_ring_dropped_with_copies_in_flight_closes_their_pipes() {
    let _g = serial();
    let before = open_fds();
    {
        let mut r = ring();
        let (_a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (_pr, pw) = pipe();
        r.submit_copy(Copy::fds(b.as_raw_fd(), pw.as_raw_fd(), TO_EOF, -1, -1), &OpOptions::default()).unwrap();
        r.flush().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        r.flush().unwrap();
    }
    assert_eq!(open_fds(), before);
}

#[test]
fn copy_file_copies_with_the_source_mode_like_libuv() {
    let _g = serial();
    let mut r = ring();
    let d = TempDir::new("copy");
    let before = open_fds();
    let bytes = data((1 << 20) * 2 + 77);
    std::fs::write(d.join("cf"), &bytes).unwrap();
    std::fs::set_permissions(d.join("cf"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let (res, n, _) = go(&mut r, Copy::file(cpath(&d.join("cf")), cpath(&d.join("cf.out")), 0));
    assert_eq!((res, n), (0, bytes.len() as u64));
    assert_eq!(std::fs::read(d.join("cf.out")).unwrap(), bytes);
    assert_eq!(std::fs::metadata(d.join("cf.out")).unwrap().permissions().mode() & 0o7777, 0o640);
    // Over a longer file: truncated first.
    std::fs::write(d.join("short"), b"xy").unwrap();
    let (res, n, _) = go(&mut r, Copy::file(cpath(&d.join("short")), cpath(&d.join("cf.out")), COPYFILE_FICLONE));
    assert_eq!((res, n), (0, 2), "FICLONE falls back to the copy");
    assert_eq!(std::fs::read(d.join("cf.out")).unwrap(), b"xy");
    // EXCL: EEXIST, and the existing file is left alone.
    let (res, _, _) = go(&mut r, Copy::file(cpath(&d.join("cf")), cpath(&d.join("cf.out")), COPYFILE_EXCL));
    assert_eq!(res, -libc::EEXIST);
    assert_eq!(std::fs::read(d.join("cf.out")).unwrap(), b"xy");
    // The same file: nothing happens.
    let (res, n, _) = go(&mut r, Copy::file(cpath(&d.join("cf")), cpath(&d.join("cf")), 0));
    assert_eq!((res, n), (0, 0));
    assert_eq!(std::fs::read(d.join("cf")).unwrap(), bytes);
    // Missing source, empty source, a directory source (the destination removed).
    let (res, _, _) = go(&mut r, Copy::file(cpath(&d.join("nope")), cpath(&d.join("x")), 0));
    assert_eq!(res, -libc::ENOENT);
    std::fs::write(d.join("e0"), b"").unwrap();
    let (res, n, _) = go(&mut r, Copy::file(cpath(&d.join("e0")), cpath(&d.join("e0.out")), 0));
    assert_eq!((res, n), (0, 0));
    assert_eq!(std::fs::read(d.join("e0.out")).unwrap(), b"");
    std::fs::create_dir_all(d.join("adir")).unwrap();
    let (res, _, _) = go(&mut r, Copy::file(cpath(&d.join("adir")), cpath(&d.join("adir.out")), 0));
    assert_eq!(res, -libc::EISDIR);
    assert!(!d.join("adir.out").exists(), "removed as libuv removes it");
    // FICLONE_FORCE where the filesystem cannot clone (ext4, tmpfs): the ioctl's error.
    let (res, _, _) = go(&mut r, Copy::file(cpath(&d.join("cf")), cpath(&d.join("clone")), COPYFILE_FICLONE_FORCE));
    assert!(res == 0 || res == -libc::EOPNOTSUPP || res == -libc::EXDEV || res == -libc::EINVAL, "{res}");
    assert_eq!(open_fds(), before, "copyFile closed both files and its pipe");
}

#[test]
fn copy_file_cancelled_or_dropped_midway_leaks_nothing() {
    let _g = serial();
    let d = TempDir::new("copy");
    let bytes = data(8 << 20);
    std::fs::write(d.join("big2"), &bytes).unwrap();
    let before = open_fds();
    let mut cancelled = 0;
    for i in 0..20 {
        let mut r = ring();
        let id = r
            .submit_copy(
                Copy::file(cpath(&d.join("big2")), cpath(&d.join(format!("big2.{i}"))), 0),
                &OpOptions::default(),
            )
            .unwrap();
        // Let it get to some step, then cancel.
        for _ in 0..i {
            r.flush().unwrap();
            let mut done = Vec::new();
            r.reap(&mut done);
            assert!(done.is_empty() || i > 5);
            if !done.is_empty() {
                break;
            }
            let _ = r.wait(Some(Duration::from_millis(1)));
        }
        if r.cancel(id) {
            let c = run(&mut r, id);
            if c.result == -libc::ECANCELED {
                cancelled += 1;
                assert!(!d.join(format!("big2.{i}")).exists(), "a copy cut short is removed");
            } else {
                assert_eq!(c.result, 0);
            }
        }
        drop(r);
        assert_eq!(open_fds(), before, "round {i}");
    }
    assert!(cancelled > 0);
    // Dropped with one in flight.
    {
        let mut r = ring();
        r.submit_copy(Copy::file(cpath(&d.join("big2")), cpath(&d.join("big2.drop")), 0), &OpOptions::default())
            .unwrap();
        r.flush().unwrap();
    }
    assert_eq!(open_fds(), before);
}

#[test]
fn copy_files_in_flight_together_share_pipes_and_leave_nothing_behind() {
    let _g = serial();
    let mut r = ring();
    let root = TempDir::new("copy");
    let d = root.join("many");
    std::fs::create_dir_all(&d).unwrap();
    let before = open_fds();
    // Sources of different sizes (one empty, one short of a page), each
    // copied three times over its own earlier copy (truncated, then
    // written), 16 in flight: the pipes go from copy to copy.
    let sizes: Vec<usize> = (0..24).map(|i| if i == 0 { 0 } else { (i * 37_001) % 300_000 + 1 }).collect();
    for (i, &n) in sizes.iter().enumerate() {
        let mut b = data(n);
        b.iter_mut().for_each(|x| *x ^= i as u8);
        std::fs::write(d.join(format!("s{i}")), &b).unwrap();
        // A longer old destination, to see it truncated.
        std::fs::write(d.join(format!("d{i}")), data(n + 5000)).unwrap();
    }
    for _round in 0..3 {
        let mut next = 0;
        let mut live = std::collections::HashMap::new();
        let mut done = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while next < sizes.len() || !live.is_empty() {
            while live.len() < 16 && next < sizes.len() {
                let c = Copy::file(cpath(&d.join(format!("s{next}"))), cpath(&d.join(format!("d{next}"))), 0);
                live.insert(r.submit_copy(c, &OpOptions::default()).unwrap(), next);
                next += 1;
            }
            r.flush().unwrap();
            r.reap(&mut done);
            for c in done.drain(..) {
                let i = live.remove(&c.id).expect("one of ours");
                assert_eq!(c.result, 0, "copy {i}");
                assert_eq!(c.copy.expect("a copy").copied(), sizes[i] as u64);
            }
            assert!(Instant::now() < deadline, "copies did not complete");
            if !live.is_empty() {
                r.wait(Some(Duration::from_millis(50))).unwrap();
            }
        }
        for i in 0..sizes.len() {
            let got = std::fs::read(d.join(format!("d{i}"))).unwrap();
            assert_eq!(got, std::fs::read(d.join(format!("s{i}"))).unwrap(), "copy {i} is its source, no more");
        }
    }
    assert_eq!(r.in_flight(), 0);
    assert_eq!(open_fds(), before, "no fd, no pooled pipe kept once no copy is in flight");
}

#[test]
fn copy_file_without_the_ftruncate_and_close_ops_gives_the_same_copies() {
    // A kernel before 6.9 has no IORING_OP_FTRUNCATE: the truncate (and,
    // without IORING_OP_CLOSE, the closes) are plain syscalls.
    let _g = serial();
    let d = TempDir::new("copy");
    let before = open_fds();
    let bytes = data(300_001);
    std::fs::write(d.join("nf"), &bytes).unwrap();
    std::fs::write(d.join("nf.out"), data(400_000)).unwrap();
    let (res, _, all_sqes) = go(&mut ring(), Copy::file(cpath(&d.join("nf")), cpath(&d.join("nf.out")), 0));
    assert_eq!(res, 0);
    let ops = [
        vec![io_uring::opcode::Ftruncate::CODE],
        vec![io_uring::opcode::Ftruncate::CODE, io_uring::opcode::Close::CODE],
    ];
    for disabled in ops {
        let fewer = disabled.len() as u32;
        let mut config = Config::default();
        config.disabled_opcodes = disabled;
        let mut r = Ring::new(&config).expect("io_uring available");
        std::fs::write(d.join("nf.out"), data(400_000)).unwrap();
        let (res, n, _) = go(&mut r, Copy::file(cpath(&d.join("nf")), cpath(&d.join("nf.out")), 0));
        assert_eq!((res, n), (0, bytes.len() as u64));
        assert_eq!(std::fs::read(d.join("nf.out")).unwrap(), bytes, "truncated, then copied");
        let kernel_has = |c: u8| ring().supports(c);
        if kernel_has(io_uring::opcode::Ftruncate::CODE) {
            let (_, _, rounds) = go(&mut r, Copy::file(cpath(&d.join("nf")), cpath(&d.join("nf.out")), 0));
            assert_eq!(rounds, all_sqes - fewer, "the truncate (and the closes) were no submissions");
        }
        std::fs::create_dir_all(d.join("ndir")).unwrap();
        let (res, _, _) = go(&mut r, Copy::file(cpath(&d.join("ndir")), cpath(&d.join("ndir.out")), 0));
        assert_eq!(res, -libc::EISDIR);
        assert!(!d.join("ndir.out").exists());
    }
    assert_eq!(open_fds(), before);
}

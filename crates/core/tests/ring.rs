//! The core against the real kernel: real files, loopback sockets, timers.

mod common;

use std::ffi::CString;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::TempDir;
use uring_machine_core::{Completion, Config, Op, OpId, OpOptions, Output, Ring, CURRENT_POSITION};

fn ring() -> Ring {
    Ring::new(&Config::default()).expect("io_uring available")
}

thread_local! {
    /// Completions reaped while waiting for another op.
    static DONE: std::cell::RefCell<Vec<Completion>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs the ring until `id` completes; returns its completion. Others that
/// complete meanwhile are kept for their own `run`.
fn run(ring: &mut Ring, id: OpId) -> Completion {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        ring.flush().unwrap();
        let found = DONE.with(|d| {
            let mut d = d.borrow_mut();
            ring.reap(&mut d);
            d.iter().position(|c| c.id == id).map(|i| d.swap_remove(i))
        });
        if let Some(c) = found {
            return c;
        }
        assert!(Instant::now() < deadline, "op did not complete");
        ring.wait(Some(Duration::from_millis(50))).unwrap();
    }
}

fn go(ring: &mut Ring, op: Op) -> Completion {
    let id = ring.submit(op, &OpOptions::default()).unwrap();
    run(ring, id)
}

fn temp_file(content: &[u8]) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new("core");
    let path = dir.join("data");
    std::fs::File::create(&path).unwrap().write_all(content).unwrap();
    (dir, path)
}

#[test]
fn nop_completes_with_zero() {
    let mut r = ring();
    let c = go(&mut r, Op::Nop);
    assert_eq!(c.result, 0);
    let m = r.metrics();
    assert_eq!((m.ops_submitted, m.ops_completed, m.pending), (1, 1, 0));
}

#[test]
fn open_read_write_statx_fsync_close() {
    let (_d, path) = temp_file(b"hello, ring");
    let mut r = ring();
    let cpath = CString::new(path.to_str().unwrap()).unwrap();
    let fd = go(&mut r, Op::Open { dirfd: libc::AT_FDCWD, path: cpath.clone(), flags: libc::O_RDWR, mode: 0 }).result;
    assert!(fd >= 0, "open: {fd}");

    let c = go(&mut r, Op::Read { fd, buf: vec![0; 5], position: 7 });
    assert_eq!(c.result, 4);
    match c.output() {
        Output::Bytes(b) => assert_eq!(b, b"ring"),
        _ => panic!("read gives bytes"),
    }
    // The current position advances with CURRENT_POSITION.
    let a = go(&mut r, Op::Read { fd, buf: vec![0; 5], position: CURRENT_POSITION });
    let b = go(&mut r, Op::Read { fd, buf: vec![0; 5], position: CURRENT_POSITION });
    assert_eq!((a.result, b.result), (5, 5));
    assert_eq!(&b.op.as_ref().unwrap().output(5).bytes()[..], b", rin");

    assert_eq!(go(&mut r, Op::Write { fd, buf: b"HELLO".to_vec(), position: 0 }).result, 5);
    assert_eq!(go(&mut r, Op::Fsync { fd, datasync: true }).result, 0);
    let c = go(&mut r, Op::writev(fd, vec![b"ab".to_vec(), b"cd".to_vec()], 11));
    assert_eq!(c.result, 4);
    let c = go(&mut r, Op::readv(fd, vec![vec![0; 3], vec![0; 10]], 9));
    assert_eq!(c.result, 6);
    assert_eq!(std::fs::read(&path).unwrap(), b"HELLO, ringabcd");

    let c = go(
        &mut r,
        Op::Statx {
            dirfd: fd,
            path: CString::new("").unwrap(),
            flags: libc::AT_EMPTY_PATH,
            mask: libc::STATX_BASIC_STATS,
            buf: Default::default(),
        },
    );
    assert_eq!(c.result, 0);
    let Output::Stat(st) = c.output() else { panic!("statx gives a stat") };
    assert_eq!(st.size(), 15);
    assert_eq!(go(&mut r, Op::Close { fd }).result, 0);
    assert_eq!(go(&mut r, Op::Close { fd }).result, -libc::EBADF);

    let missing = CString::new(path.with_extension("missing").to_str().unwrap()).unwrap();
    assert_eq!(go(&mut r, Op::Open { dirfd: libc::AT_FDCWD, path: missing, flags: 0, mode: 0 }).result, -libc::ENOENT);
}

trait Bytes {
    fn bytes(&self) -> Vec<u8>;
}
impl Bytes for Output<'_> {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Output::Bytes(b) => b.to_vec(),
            Output::Segments { bufs, total } => bufs.concat()[..*total].to_vec(),
            _ => Vec::new(),
        }
    }
}

fn tcp_pair(r: &mut Ring) -> (i32, i32, i32) {
    let s = go(r, Op::Socket { domain: libc::AF_INET, ty: libc::SOCK_STREAM, protocol: 0 }).result;
    assert!(s >= 0);
    let addr = uring_machine_core::SockAddr::inet("127.0.0.1", 0).unwrap();
    assert_eq!(go(r, Op::Bind { fd: s, addr: Box::new(addr) }).result, 0);
    assert_eq!(go(r, Op::Listen { fd: s, backlog: 16 }).result, 0);
    let port = std::net::TcpListener::from(unsafe_dup(s)).local_addr().unwrap().port();
    let c = go(r, Op::Socket { domain: libc::AF_INET, ty: libc::SOCK_STREAM, protocol: 0 }).result;
    let accept = r.submit(Op::Accept { fd: s, flags: 0 }, &OpOptions::default()).unwrap();
    let to = uring_machine_core::SockAddr::inet("127.0.0.1", port).unwrap();
    assert_eq!(go(r, Op::Connect { fd: c, addr: Box::new(to) }).result, 0);
    let a = run(r, accept).result;
    assert!(a >= 0);
    (s, c, a)
}

fn unsafe_dup(fd: i32) -> std::os::fd::OwnedFd {
    use std::os::fd::BorrowedFd;
    // SAFETY: fd is open for the duration of the call; dup gives our own copy.
    unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned().unwrap()
}

#[test]
fn tcp_loopback_send_recv_shutdown() {
    let mut r = ring();
    let (s, c, a) = tcp_pair(&mut r);
    assert_eq!(go(&mut r, Op::Send { fd: c, buf: b"ping".to_vec(), flags: 0 }).result, 4);
    let got = go(&mut r, Op::Recv { fd: a, buf: vec![0; 64], flags: 0 });
    assert_eq!(got.output().bytes(), b"ping");
    let poll = go(&mut r, Op::Poll { fd: a, events: libc::POLLOUT as u32 });
    assert!(poll.result & libc::POLLOUT as i32 != 0);
    assert_eq!(go(&mut r, Op::Shutdown { fd: c, how: libc::SHUT_WR }).result, 0);
    assert_eq!(go(&mut r, Op::Recv { fd: a, buf: vec![0; 64], flags: 0 }).result, 0, "EOF after shutdown");
    for fd in [s, c, a] {
        assert_eq!(go(&mut r, Op::Close { fd }).result, 0);
    }
}

#[test]
fn sleep_and_linked_timeout() {
    let mut r = ring();
    let t = Instant::now();
    assert_eq!(go(&mut r, Op::sleep_ns(30_000_000)).result, 0);
    assert!(t.elapsed() >= Duration::from_millis(29));

    // A recv that nobody answers times out with ETIMEDOUT.
    let (s, c, a) = tcp_pair(&mut r);
    let id = r
        .submit(
            Op::Recv { fd: a, buf: vec![0; 8], flags: 0 },
            &OpOptions::with_timeout(Some(Duration::from_millis(20))),
        )
        .unwrap();
    assert_eq!(run(&mut r, id).result, -libc::ETIMEDOUT);
    // An op that finishes first is not disturbed by its timeout.
    let id = r.submit(Op::Nop, &OpOptions::with_timeout(Some(Duration::from_secs(5)))).unwrap();
    assert_eq!(run(&mut r, id).result, 0);
    drain_until_idle(&mut r);
    assert_eq!(r.metrics().pending, 0);
    for fd in [s, c, a] {
        go(&mut r, Op::Close { fd });
    }
}

fn drain_until_idle(r: &mut Ring) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut out = Vec::new();
    while r.in_flight() > 0 {
        assert!(Instant::now() < deadline);
        r.flush().unwrap();
        r.wait(Some(Duration::from_millis(10))).unwrap();
        r.reap(&mut out);
    }
}

#[test]
fn cancel_a_blocked_recv_and_a_stale_id() {
    let mut r = ring();
    let (s, c, a) = tcp_pair(&mut r);
    let id = r.submit(Op::Recv { fd: a, buf: vec![0; 8], flags: 0 }, &OpOptions::default()).unwrap();
    r.flush().unwrap();
    assert!(r.cancel(id));
    assert_eq!(run(&mut r, id).result, -libc::ECANCELED);
    assert!(!r.cancel(id), "a finished op cannot be cancelled");
    // The slot is reused with a new generation; the old id stays dead.
    let id2 = r.submit(Op::Nop, &OpOptions::default()).unwrap();
    assert_eq!(id2.index(), id.index());
    assert_ne!(id2, id);
    assert!(!r.cancel(id));
    run(&mut r, id2);
    for fd in [s, c, a] {
        go(&mut r, Op::Close { fd });
    }
}

#[test]
fn completions_posted_while_nobody_reaps_all_come_back_once() {
    // 300 timers on a 32-entry CQ all fire while the ring is not reaped.
    // With DEFER_TASKRUN (6.18) the kernel runs their task work only as far
    // as the CQ has room, so this need not overflow; without it they go to
    // the backlog. Either way every one must come back, once.
    let mut r = Ring::new(&{
        let mut c = Config::default();
        c.entries = 16;
        c.cq_entries = Some(32);
        c
    })
    .unwrap();
    let ids: Vec<OpId> = (0..300).map(|_| r.submit(Op::sleep_ns(1_000_000), &OpOptions::default()).unwrap()).collect();
    r.flush().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while out.len() < ids.len() {
        assert!(Instant::now() < deadline, "lost completions: {} of {}", out.len(), ids.len());
        r.reap(&mut out);
        if out.len() < ids.len() {
            r.wait(Some(Duration::from_millis(10))).unwrap();
        }
    }
    assert_eq!(out.len(), 300);
    assert!(out.iter().all(|c| c.result == 0), "every timer fired");
    let mut got: Vec<OpId> = out.iter().map(|c| c.id).collect();
    got.sort_by_key(|id| id.index());
    got.dedup();
    assert_eq!(got.len(), 300, "each completion once");
    assert_eq!(r.metrics().pending, 0);
}

#[test]
fn many_in_flight_overflow_the_cq_without_loss() {
    // A tiny CQ and 2000 NOPs in flight: NOPs complete inside the submit
    // enters, nobody reaps in between, so completions overflow into the
    // kernel's backlog; all must come back once, and the metric counts it.
    let mut r = Ring::new(&{
        let mut c = Config::default();
        c.entries = 16;
        c.cq_entries = Some(32);
        c
    })
    .unwrap();
    let ids: Vec<OpId> = (0..2000).map(|_| r.submit(Op::Nop, &OpOptions::default()).unwrap()).collect();
    r.flush().unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while out.len() < ids.len() {
        assert!(Instant::now() < deadline, "lost completions: {} of {}", out.len(), ids.len());
        r.reap(&mut out);
        r.flush().unwrap();
    }
    assert_eq!(out.len(), 2000);
    assert!(out.iter().all(|c| c.result == 0));
    let mut seen: Vec<u32> = out.iter().map(|c| c.id.index()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), out.len(), "each completion once");
    let m = r.metrics();
    assert!(m.sq_full_flushes > 0);
    assert!(m.cq_overflows > 0, "the CQ really overflowed into the backlog");
    assert_eq!(m.pending, 0);
}

#[test]
fn fallbacks_when_the_kernel_lacks_an_opcode() {
    use io_uring::opcode;
    let mut r = Ring::new(&{
        let mut c = Config::default();
        c.eventfd = true;
        c.disabled_opcodes =
            vec![opcode::Socket::CODE, opcode::Bind::CODE, opcode::Listen::CODE, opcode::Shutdown::CODE];
        c
    })
    .unwrap();
    let s = go(&mut r, Op::Socket { domain: libc::AF_INET, ty: libc::SOCK_STREAM, protocol: 0 }).result;
    assert!(s >= 0);
    let addr = uring_machine_core::SockAddr::inet("127.0.0.1", 0).unwrap();
    assert_eq!(go(&mut r, Op::Bind { fd: s, addr: Box::new(addr) }).result, 0);
    assert_eq!(go(&mut r, Op::Listen { fd: s, backlog: 1 }).result, 0);
    assert!(matches!(
        r.submit(Op::Shutdown { fd: s, how: 0 }, &OpOptions::default()),
        Err(uring_machine_core::SubmitError::Unsupported("shutdown"))
    ));
    assert_eq!(r.metrics().fallbacks, 3);
    assert_eq!(r.metrics().pending, 0);
    go(&mut r, Op::Close { fd: s });
}

#[test]
fn close_cancels_in_flight_and_refuses_new_ops() {
    let mut r = ring();
    let (s, c, a) = tcp_pair(&mut r);
    let recv = r.submit(Op::Recv { fd: a, buf: vec![0; 8], flags: 0 }, &OpOptions::default()).unwrap();
    let accept = r.submit(Op::Accept { fd: s, flags: 0 }, &OpOptions::default()).unwrap();
    let sleep = r.submit(Op::sleep_ns(60_000_000_000), &OpOptions::default()).unwrap();
    r.flush().unwrap();
    r.close();
    assert!(matches!(r.submit(Op::Nop, &OpOptions::default()), Err(uring_machine_core::SubmitError::Closed)));
    for id in [recv, accept, sleep] {
        assert_eq!(run(&mut r, id).result, -libc::ECANCELED);
    }
    assert_eq!(r.in_flight(), 0);
    for fd in [s, c, a] {
        // SAFETY: closing our own test fds.
        unsafe { libc::close(fd) };
    }
}

#[test]
fn dropping_a_ring_with_ops_in_flight_waits_for_the_kernel() {
    let (s, c, a) = {
        let mut r = ring();
        tcp_pair(&mut r)
    };
    let t = Instant::now();
    {
        let mut r = ring();
        for _ in 0..64 {
            r.submit(Op::Recv { fd: a, buf: vec![0; 4096], flags: 0 }, &OpOptions::default()).unwrap();
        }
        r.flush().unwrap();
    }
    assert!(t.elapsed() < Duration::from_secs(2), "cancel at drop is prompt");
    // The socket still works after the ring that read it went away.
    let mut r = ring();
    assert_eq!(go(&mut r, Op::Send { fd: c, buf: b"x".to_vec(), flags: 0 }).result, 1);
    assert_eq!(go(&mut r, Op::Recv { fd: a, buf: vec![0; 8], flags: 0 }).result, 1);
    let _ = s;
    let _ = c.as_raw_fd();
}

#[test]
fn probe_reports_kernel_ops_and_flags() {
    let f = uring_machine_core::probe().unwrap();
    assert!(!f.kernel.is_empty());
    assert!(f.ops.iter().any(|&(n, ok)| n == "nop" && ok));
    let r = ring();
    let mine = r.features();
    assert_eq!(mine.setup_flags, f.setup_flags);
}

#[test]
fn filesystem_ops_and_the_ftruncate_fallback() {
    let dir = TempDir::new("core");
    let p = |name: &str| CString::new(dir.join(name).to_str().unwrap()).unwrap();
    let mut r = ring();
    assert_eq!(go(&mut r, Op::Mkdir { dirfd: libc::AT_FDCWD, path: p("d"), mode: 0o750 }).result, 0);
    assert_eq!(go(&mut r, Op::Mkdir { dirfd: libc::AT_FDCWD, path: p("d"), mode: 0o750 }).result, -libc::EEXIST);
    std::fs::write(dir.join("f"), b"0123456789").unwrap();
    assert_eq!(go(&mut r, Op::Rename { from: p("f"), to: p("d/g"), flags: 0 }).result, 0);
    assert_eq!(go(&mut r, Op::Link { from: p("d/g"), to: p("h"), flags: 0 }).result, 0);
    assert_eq!(go(&mut r, Op::Symlink { target: p("d/g"), path: p("s") }).result, 0);
    assert_eq!(std::fs::read(dir.join("s")).unwrap(), b"0123456789");
    assert_eq!(
        go(&mut r, Op::Unlink { dirfd: libc::AT_FDCWD, path: p("d"), flags: libc::AT_REMOVEDIR }).result,
        -libc::ENOTEMPTY
    );

    let fd = go(&mut r, Op::Open { dirfd: libc::AT_FDCWD, path: p("h"), flags: libc::O_RDWR, mode: 0 }).result;
    assert_eq!(go(&mut r, Op::Ftruncate { fd, len: 4 }).result, 0);
    assert_eq!(std::fs::read(dir.join("d/g")).unwrap(), b"0123", "a hard link shares the data");
    assert_eq!(go(&mut r, Op::Fallocate { fd, mode: 0, offset: 0, len: 8192 }).result, 0);
    assert_eq!(std::fs::metadata(dir.join("h")).unwrap().len(), 8192);
    assert_eq!(go(&mut r, Op::Fadvise { fd, offset: 0, len: 0, advice: libc::POSIX_FADV_SEQUENTIAL }).result, 0);

    let mut old = Ring::new(&{
        let mut c = Config::default();
        c.disabled_opcodes = vec![io_uring::opcode::Ftruncate::CODE];
        c
    })
    .unwrap();
    assert_eq!(go(&mut old, Op::Ftruncate { fd, len: 2 }).result, 0);
    assert_eq!(old.metrics().fallbacks, 1);
    assert_eq!(std::fs::metadata(dir.join("h")).unwrap().len(), 2);
    go(&mut r, Op::Close { fd });

    for name in ["s", "h", "d/g"] {
        assert_eq!(go(&mut r, Op::Unlink { dirfd: libc::AT_FDCWD, path: p(name), flags: 0 }).result, 0, "{name}");
    }
    assert_eq!(go(&mut r, Op::Unlink { dirfd: libc::AT_FDCWD, path: p("d"), flags: libc::AT_REMOVEDIR }).result, 0);
    assert_eq!(go(&mut r, Op::Unlink { dirfd: libc::AT_FDCWD, path: p("d"), flags: 0 }).result, -libc::ENOENT);
}

#[test]
fn futex_wait_and_wake() {
    use uring_machine_core::FutexWord;
    let mut r = ring();
    if !r.supports(io_uring::opcode::FutexWait::CODE) {
        eprintln!("skipped: this kernel has no IORING_OP_FUTEX_WAIT (6.7+)");
        return;
    }
    let word = Box::new(std::sync::atomic::AtomicU32::new(7));
    // SAFETY: the box outlives every op below (all are run to completion).
    let w = unsafe { FutexWord::new(word.as_ptr()) };
    assert_eq!(go(&mut r, Op::FutexWait { word: w, expected: 8 }).result, -libc::EAGAIN, "value differs");
    let waiter = r.submit(Op::FutexWait { word: w, expected: 7 }, &OpOptions::default()).unwrap();
    r.flush().unwrap();
    assert_eq!(go(&mut r, Op::FutexWake { word: w, count: 1 }).result, 1, "one waiter woken");
    assert_eq!(run(&mut r, waiter).result, 0);
    let timed = r
        .submit(Op::FutexWait { word: w, expected: 7 }, &OpOptions::with_timeout(Some(Duration::from_millis(10))))
        .unwrap();
    assert_eq!(run(&mut r, timed).result, -libc::ETIMEDOUT);
    drop(word);
}

#[test]
fn spawn_and_waitid_through_the_ring() {
    use uring_machine_core::process::{self, Stdio};
    let mut r = ring();
    if !r.supports(io_uring::opcode::WaitId::CODE) {
        eprintln!("skipped: this kernel has no IORING_OP_WAITID (6.7+)");
        return;
    }
    let sh = CString::new("sh").unwrap();
    let args = |s: &str| vec![CString::new("sh").unwrap(), CString::new("-c").unwrap(), CString::new(s).unwrap()];
    let child = process::spawn(&sh, &args("exit 3"), None, None, [Stdio::Null, Stdio::Null, Stdio::Inherit]).unwrap();
    let c = go(&mut r, Op::waitid(libc::P_PIDFD, child.pidfd as u32, libc::WEXITED));
    assert_eq!(c.result, 0);
    let Output::Child(st) = c.output() else { panic!("waitid gives a child status") };
    assert_eq!((st.pid, st.code, st.status), (child.pid, libc::CLD_EXITED, 3));
    assert!(!std::path::Path::new(&format!("/proc/{}", child.pid)).exists(), "reaped: no zombie");
    unsafe { libc::close(child.pidfd) };

    // Signalled through the pidfd; stdout through a pipe; cwd and env.
    let sleeper = process::spawn(&sh, &args("sleep 30"), None, None, [Stdio::Null; 3]).unwrap();
    process::pidfd_send_signal(sleeper.pidfd, libc::SIGTERM).unwrap();
    let c = go(&mut r, Op::waitid(libc::P_PIDFD, sleeper.pidfd as u32, libc::WEXITED));
    let Output::Child(st) = c.output() else { panic!() };
    assert_eq!((st.code, st.status), (libc::CLD_KILLED, libc::SIGTERM));
    unsafe { libc::close(sleeper.pidfd) };

    let env = [CString::new("GREETING=hi").unwrap()];
    let echo = process::spawn(
        &sh,
        &args("pwd; echo $GREETING"),
        Some(&env),
        Some(c"/tmp"),
        [Stdio::Null, Stdio::Pipe, Stdio::Inherit],
    )
    .unwrap();
    let out = echo.stdio[1].unwrap();
    let c = go(&mut r, Op::waitid(libc::P_PIDFD, echo.pidfd as u32, libc::WEXITED));
    assert_eq!(c.result, 0);
    let got = go(&mut r, Op::Read { fd: out, buf: vec![0; 64], position: u64::MAX });
    let text = String::from_utf8(got.output().bytes()).unwrap();
    assert_eq!(text, "/tmp\nhi\n");
    unsafe {
        libc::close(out);
        libc::close(echo.pidfd)
    };
    assert!(
        process::spawn(c"/nonexistent/binary", &[CString::new("x").unwrap()], None, None, [Stdio::Null; 3]).is_err()
    );
}

fn socketpair() -> (std::os::unix::net::UnixStream, std::os::unix::net::UnixStream) {
    std::os::unix::net::UnixStream::pair().unwrap()
}

/// Reaps until `pred` holds or 10 s pass; returns every completion reaped.
fn reap_until(r: &mut Ring, mut pred: impl FnMut(&[Completion]) -> bool) -> Vec<Completion> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut all = Vec::new();
    while !pred(&all) {
        assert!(Instant::now() < deadline, "completions did not arrive");
        r.wait(Some(Duration::from_millis(20))).unwrap();
        r.reap(&mut all);
    }
    all
}

#[test]
fn multishot_recv_lends_and_recycles_provided_buffers() {
    let mut r = ring();
    let (mut a, b) = socketpair();
    let group = r.register_buf_group(4, 8).unwrap();
    let id = r.submit(Op::RecvMulti { fd: b.as_raw_fd(), group, flags: 0 }, &OpOptions::default()).unwrap();
    r.flush().unwrap();
    // More messages than buffers: recycling keeps the stream going.
    let mut got = Vec::new();
    for i in 0..10u8 {
        a.write_all(&[i; 5]).unwrap();
        let cs = reap_until(&mut r, |c| !c.is_empty());
        for c in cs {
            assert_eq!(c.id, id);
            assert!(c.more(), "the stream goes on");
            let b = c.buffer.expect("data comes in a provided buffer");
            got.extend_from_slice(r.buffer(b, c.result as usize));
            r.recycle(b);
        }
    }
    let want: Vec<u8> = (0..10u8).flat_map(|i| [i; 5]).collect();
    assert_eq!(got, want);
    drop(a); // end of stream: the final completion, 0 bytes
    let end = reap_until(&mut r, |c| c.iter().any(|c| !c.more()));
    let last = end.last().unwrap();
    assert_eq!(last.result, 0);
    assert!(last.op.is_some());
    r.release_buf_group(group);
    assert_eq!(r.in_flight(), 0);
    // The id is free again once released.
    assert_eq!(r.register_buf_group(4, 8).unwrap(), group);
}

#[test]
fn multishot_recv_runs_dry_with_enobufs_and_cancels() {
    let mut r = ring();
    let (mut a, b) = socketpair();
    let group = r.register_buf_group(2, 4).unwrap();
    r.submit(Op::RecvMulti { fd: b.as_raw_fd(), group, flags: 0 }, &OpOptions::default()).unwrap();
    r.flush().unwrap();
    a.write_all(b"abcdefghijklmnop").unwrap(); // 4 buffers' worth, 2 buffers, none recycled
    let cs = reap_until(&mut r, |c| c.iter().any(|c| !c.more()));
    assert_eq!(cs.last().unwrap().result, -libc::ENOBUFS);
    for c in &cs {
        if let Some(b) = c.buffer {
            r.recycle(b);
        }
    }
    // A new stream on the same group, then a cancel ends it.
    let id = r.submit(Op::RecvMulti { fd: b.as_raw_fd(), group, flags: 0 }, &OpOptions::default()).unwrap();
    let cs = reap_until(&mut r, |c| c.len() >= 2);
    for c in &cs {
        r.recycle(c.buffer.unwrap());
    }
    assert!(r.cancel(id));
    let cs = reap_until(&mut r, |c| c.iter().any(|c| !c.more()));
    assert_eq!(cs.last().unwrap().result, -libc::ECANCELED);
    r.release_buf_group(group);
    // A released group takes no new ops.
    assert!(r.submit(Op::RecvMulti { fd: b.as_raw_fd(), group, flags: 0 }, &OpOptions::default()).is_err());
}

#[test]
fn multishot_accept_yields_a_connection_per_completion() {
    let mut r = ring();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let id = r.submit(Op::AcceptMulti { fd: l.as_raw_fd(), flags: 0 }, &OpOptions::default()).unwrap();
    r.flush().unwrap();
    let clients: Vec<_> = (0..3).map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
    let cs = reap_until(&mut r, |c| c.len() >= 3);
    for c in &cs {
        assert!(c.more() && c.result >= 0);
        unsafe_dup(c.result); // closes the fd when dropped
        unsafe { libc::close(c.result) };
    }
    r.cancel(id);
    let end = reap_until(&mut r, |c| c.iter().any(|c| !c.more()));
    assert_eq!(end.last().unwrap().result, -libc::ECANCELED);
    drop(clients);
}

#[test]
fn fixed_buffers_read_and_write_without_copies() {
    let mut r = ring();
    let (_d, path) = temp_file(b"fixed buffers hold this");
    let f = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
    let bufs = r.register_buffers(2, 4096).unwrap();
    let c = go(&mut r, Op::ReadFixed { fd: f.as_raw_fd(), buf: bufs.slice(1, 10, 100).unwrap(), position: 0 });
    assert_eq!(c.result, 23);
    let base = bufs.mapping().as_ptr();
    let got = unsafe { std::slice::from_raw_parts(base.add(4096 + 10), 23) };
    assert_eq!(got, b"fixed buffers hold this");
    unsafe { std::ptr::copy_nonoverlapping(b"FIXED".as_ptr(), base, 5) };
    let c = go(&mut r, Op::WriteFixed { fd: f.as_raw_fd(), buf: bufs.slice(0, 0, 5).unwrap(), position: 0 });
    assert_eq!(c.result, 5);
    assert_eq!(std::fs::read(&path).unwrap(), b"FIXED buffers hold this");
    assert!(bufs.slice(2, 0, 1).is_none() && bufs.slice(0, 4000, 100).is_none());
    // Unregistered, a fixed op on the old slots fails cleanly.
    let slice = bufs.slice(0, 0, 5).unwrap();
    r.unregister_buffers(&bufs).unwrap();
    assert!(r.unregister_buffers(&bufs).is_err(), "twice is refused");
    let c = go(&mut r, Op::WriteFixed { fd: f.as_raw_fd(), buf: slice, position: 0 });
    assert!(c.result < 0, "no registered buffer there any more: {}", c.result);
}

#[test]
fn zero_copy_send_completes_after_the_notification() {
    let mut r = ring();
    let (fd, a, b) = tcp_pair(&mut r);
    let _keep = (unsafe_dup(fd), unsafe_dup(a), unsafe_dup(b));
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    // On loopback the kernel lets go of the pages once the peer has read them.
    let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(libc::dup(b)) };
    let reader = std::thread::spawn(move || {
        let mut got = vec![0u8; 200_000];
        std::io::Read::read_exact(&mut f, &mut got).map(|_| got)
    });
    let mut sent = 0;
    while sent < data.len() {
        let c =
            go(&mut r, Op::SendZc { fd: a, data: uring_machine_core::ZcData::Owned(data[sent..].to_vec()), flags: 0 });
        assert!(c.result > 0, "sent: {}", c.result);
        sent += c.result as usize;
    }
    assert_eq!(reader.join().unwrap().unwrap(), data);
}

#[test]
fn msg_ring_posts_values_and_fds_between_rings() {
    let mut a = ring();
    let mut b = ring();
    let c = go(&mut a, Op::MsgRing { target: b.fd(), to: b.id(), data: 42, value: -7, fd: None });
    assert_eq!(c.result, 0);
    let (x, mut y) = socketpair();
    let dup = unsafe { libc::fcntl(x.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    let c = go(&mut a, Op::MsgRing { target: b.fd(), to: b.id(), data: 43, value: dup, fd: Some(dup) });
    assert_eq!(c.result, 0);
    drop(x);
    let mut msgs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while msgs.len() < 2 {
        assert!(Instant::now() < deadline);
        b.wait(Some(Duration::from_millis(20))).unwrap();
        b.reap(&mut Vec::new());
        b.take_messages(&mut msgs);
    }
    assert_eq!((msgs[0].data, msgs[0].value, msgs[0].fd), (42, -7, false));
    assert_eq!((msgs[1].data, msgs[1].fd), (43, true));
    // The passed fd is a live end of the pair.
    let n = unsafe { libc::write(msgs[1].value, b"hi".as_ptr().cast(), 2) };
    assert_eq!(n, 2);
    let mut got = [0u8; 2];
    std::io::Read::read_exact(&mut y, &mut got).unwrap();
    assert_eq!(&got, b"hi");
    unsafe { libc::close(msgs[1].value) };
    // A post to something that is not a ring fails and closes the duplicate.
    let dup = unsafe { libc::fcntl(y.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    let c = go(&mut a, Op::MsgRing { target: y.as_raw_fd(), to: b.id(), data: 1, value: dup, fd: Some(dup) });
    assert!(c.result < 0);
    assert_eq!(unsafe { libc::fcntl(dup, libc::F_GETFD) }, -1, "the duplicate was closed");
}

/// How many fds of this process name the same file as `fd`.
fn fds_like(fd: i32) -> usize {
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter(|e| e.as_ref().ok().and_then(|e| std::fs::read_link(e.path()).ok()).as_ref() == Some(&target))
        .count()
}

#[test]
fn fds_passed_to_a_ring_that_goes_away_before_taking_them_are_closed() {
    let mut a = ring();
    let (x, _y) = socketpair();
    let dup = || unsafe { libc::fcntl(x.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    // Delivered as far as the sender can tell, never reaped by the receiver.
    let b = ring();
    let (b_fd, b_id) = (b.fd(), b.id());
    for _ in 0..10 {
        let fd = dup();
        assert_eq!(go(&mut a, Op::MsgRing { target: b_fd, to: b_id, data: 1, value: fd, fd: Some(fd) }).result, 0);
    }
    assert_eq!(fds_like(x.as_raw_fd()), 11);
    drop(b);
    assert_eq!(fds_like(x.as_raw_fd()), 1, "the receiver closed what was in transit to it");
    // Its id takes nothing any more, even where its fd number names a new
    // ring (as it may, now: the lowest free number is reused).
    let c = ring();
    for target in [b_fd, c.fd()] {
        let fd = dup();
        let res = a.submit(Op::MsgRing { target, to: b_id, data: 1, value: fd, fd: Some(fd) }, &OpOptions::default());
        assert!(
            matches!(res, Err(uring_machine_core::SubmitError::Io(ref e)) if e.raw_os_error() == Some(libc::EBADF))
        );
        assert!(a
            .submit(Op::MsgRing { target, to: b_id, data: 1, value: 5, fd: None }, &OpOptions::default())
            .is_err());
    }
    assert_eq!(fds_like(x.as_raw_fd()), 1, "refused duplicates are closed");
    drop(c);
}

#[test]
fn resolve_runs_on_the_pool_and_completes_through_the_ring() {
    use uring_machine_core::Lookup;
    let mut r = ring();
    let l = Lookup::new(CString::new("127.0.0.1").unwrap(), libc::AF_UNSPEC);
    let c = go(&mut r, Op::Resolve { lookup: l.clone() });
    assert_eq!(c.result, 1);
    assert_eq!(l.addresses(), &["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]);
    let c = go(&mut r, Op::Resolve { lookup: Lookup::new(CString::new("localhost").unwrap(), libc::AF_INET) });
    assert!(c.result >= 1);
    let Output::Addresses(a) = c.output() else { panic!("addresses") };
    assert!(a.iter().all(|a| a.is_loopback()));
    // A failure of getaddrinfo itself (here EAI_FAMILY, found without any
    // lookup) completes with LOOKUP_FAILED, and the lookup says why.
    let l = Lookup::new(CString::new("localhost").unwrap(), libc::AF_UNIX);
    let c = go(&mut r, Op::Resolve { lookup: l.clone() });
    assert_eq!(c.result, uring_machine_core::LOOKUP_FAILED);
    assert_eq!(l.error(), Some(uring_machine_core::LookupError::Family));
    assert!(l.addresses().is_empty());
    // Cancelled, it completes at once; the pool's late post is ignored.
    let id = r
        .submit(Op::Resolve { lookup: Lookup::new(CString::new("localhost").unwrap(), 0) }, &OpOptions::default())
        .unwrap();
    assert!(r.cancel(id));
    let c = run(&mut r, id);
    assert_eq!(c.result, -libc::ECANCELED);
    std::thread::sleep(Duration::from_millis(100));
    let mut rest = Vec::new();
    r.wait(Some(Duration::from_millis(20))).unwrap();
    r.reap(&mut rest);
    assert!(rest.is_empty());
    assert_eq!(r.in_flight(), 0);
}

#[test]
fn an_sqpoll_ring_closes_with_ops_in_flight_through_wait_alone() {
    // On an SQPOLL ring SQEs are held until the credential check; wait()
    // must release them too, or close()'s cancels never reach the kernel.
    let mut r = Ring::new(&{
        let mut c = Config::default();
        c.sqpoll = Some(50);
        c
    })
    .unwrap();
    let id = r.submit(Op::sleep_ns(60_000_000_000), &OpOptions::default()).unwrap();
    r.flush().unwrap();
    r.close();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while r.in_flight() > 0 {
        assert!(Instant::now() < deadline, "the cancel never reached the kernel");
        r.wait(Some(Duration::from_millis(20))).unwrap();
        r.reap(&mut out);
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].id, id);
    assert_eq!(out[0].result, -libc::ECANCELED);
    assert!(!r.credentials_changed());
}

#[test]
fn addressed_messages_reach_only_the_ring_they_name() {
    let mut a = ring();
    let mut b = ring();
    assert_eq!(go(&mut a, Op::message(b.fd(), b.id(), 7)).result, 0);
    // Posted to b's fd but naming another ring (0 skips the liveness check):
    // what a post meant for a ring that had b's fd number before looks like.
    assert_eq!(
        go(&mut a, Op::MsgRing { target: b.fd(), to: 0, data: b.id() as u64 + 1, value: 8, fd: None }).result,
        0
    );
    let (x, _y) = socketpair();
    assert_eq!(go(&mut a, Op::pass_fd(b.fd(), b.id(), x.as_raw_fd()).unwrap()).result, 0);
    let mut msgs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while msgs.len() < 2 {
        assert!(Instant::now() < deadline);
        b.wait(Some(Duration::from_millis(20))).unwrap();
        b.reap(&mut Vec::new());
        b.take_addressed_messages(&mut msgs);
    }
    assert_eq!((msgs[0].value, msgs[0].fd), (7, false));
    assert!(msgs[1].fd);
    assert_eq!(fds_like(x.as_raw_fd()), 2, "the passed duplicate is the receiver's");
    unsafe { libc::close(msgs[1].value) };
    b.wait(Some(Duration::from_millis(20))).unwrap();
    b.reap(&mut Vec::new());
    assert_eq!(b.take_addressed_messages(&mut msgs), 0, "the misaddressed value was dropped");
    assert_eq!(Op::pass_fd(b.fd(), b.id(), -1).err(), Some(-libc::EBADF));
}

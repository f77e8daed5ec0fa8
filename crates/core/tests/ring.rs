//! The core against the real kernel: real files, loopback sockets, timers.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

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

fn temp_file(content: &[u8]) -> (tempdir::Dir, std::path::PathBuf) {
    let dir = tempdir::Dir::new();
    let path = dir.0.join("data");
    std::fs::File::create(&path).unwrap().write_all(content).unwrap();
    (dir, path)
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "um-core-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
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
    match c.op.output(c.result) {
        Output::Bytes(b) => assert_eq!(b, b"ring"),
        _ => panic!("read gives bytes"),
    }
    // The current position advances with CURRENT_POSITION.
    let a = go(&mut r, Op::Read { fd, buf: vec![0; 5], position: CURRENT_POSITION });
    let b = go(&mut r, Op::Read { fd, buf: vec![0; 5], position: CURRENT_POSITION });
    assert_eq!((a.result, b.result), (5, 5));
    assert_eq!(&b.op.output(5).bytes()[..], b", rin");

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
    let Output::Stat(st) = c.op.output(0) else { panic!("statx gives a stat") };
    assert_eq!(st.fields()[7], 15.0);
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
    assert_eq!(got.op.output(got.result).bytes(), b"ping");
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
        .submit(Op::Recv { fd: a, buf: vec![0; 8], flags: 0 }, &OpOptions { timeout: Some(Duration::from_millis(20)) })
        .unwrap();
    assert_eq!(run(&mut r, id).result, -libc::ETIMEDOUT);
    // An op that finishes first is not disturbed by its timeout.
    let id = r.submit(Op::Nop, &OpOptions { timeout: Some(Duration::from_secs(5)) }).unwrap();
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
fn many_in_flight_overflow_the_cq_without_loss() {
    // A tiny CQ and 2000 NOPs in flight: completions overflow into the
    // kernel's backlog and must all come back.
    let mut r = Ring::new(&Config { entries: 16, cq_entries: Some(32), ..Default::default() }).unwrap();
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
    let m = r.metrics();
    assert!(m.sq_full_flushes > 0);
    assert_eq!(m.pending, 0);
}

#[test]
fn fallbacks_when_the_kernel_lacks_an_opcode() {
    use io_uring::opcode;
    let mut r = Ring::new(&Config {
        eventfd: true,
        disabled_opcodes: vec![opcode::Socket::CODE, opcode::Bind::CODE, opcode::Listen::CODE, opcode::Shutdown::CODE],
        ..Default::default()
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
    let dir = tempdir::Dir::new();
    let p = |name: &str| CString::new(dir.0.join(name).to_str().unwrap()).unwrap();
    let mut r = ring();
    assert_eq!(go(&mut r, Op::Mkdir { dirfd: libc::AT_FDCWD, path: p("d"), mode: 0o750 }).result, 0);
    assert_eq!(go(&mut r, Op::Mkdir { dirfd: libc::AT_FDCWD, path: p("d"), mode: 0o750 }).result, -libc::EEXIST);
    std::fs::write(dir.0.join("f"), b"0123456789").unwrap();
    assert_eq!(go(&mut r, Op::Rename { from: p("f"), to: p("d/g"), flags: 0 }).result, 0);
    assert_eq!(go(&mut r, Op::Link { from: p("d/g"), to: p("h"), flags: 0 }).result, 0);
    assert_eq!(go(&mut r, Op::Symlink { target: p("d/g"), path: p("s") }).result, 0);
    assert_eq!(std::fs::read(dir.0.join("s")).unwrap(), b"0123456789");
    assert_eq!(go(&mut r, Op::Unlink { dirfd: libc::AT_FDCWD, path: p("d"), flags: libc::AT_REMOVEDIR }).result, -libc::ENOTEMPTY);

    let fd = go(&mut r, Op::Open { dirfd: libc::AT_FDCWD, path: p("h"), flags: libc::O_RDWR, mode: 0 }).result;
    assert_eq!(go(&mut r, Op::Ftruncate { fd, len: 4 }).result, 0);
    assert_eq!(std::fs::read(dir.0.join("d/g")).unwrap(), b"0123", "a hard link shares the data");
    assert_eq!(go(&mut r, Op::Fallocate { fd, mode: 0, offset: 0, len: 8192 }).result, 0);
    assert_eq!(std::fs::metadata(dir.0.join("h")).unwrap().len(), 8192);
    assert_eq!(go(&mut r, Op::Fadvise { fd, offset: 0, len: 0, advice: libc::POSIX_FADV_SEQUENTIAL }).result, 0);

    let mut old = Ring::new(&Config { disabled_opcodes: vec![io_uring::opcode::Ftruncate::CODE], ..Default::default() }).unwrap();
    assert_eq!(go(&mut old, Op::Ftruncate { fd, len: 2 }).result, 0);
    assert_eq!(old.metrics().fallbacks, 1);
    assert_eq!(std::fs::metadata(dir.0.join("h")).unwrap().len(), 2);
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
    let timed = r.submit(Op::FutexWait { word: w, expected: 7 }, &OpOptions { timeout: Some(Duration::from_millis(10)) }).unwrap();
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
    let Output::Child(st) = c.op.output(0) else { panic!("waitid gives a child status") };
    assert_eq!((st.pid, st.code, st.status), (child.pid, libc::CLD_EXITED, 3));
    assert!(!std::path::Path::new(&format!("/proc/{}", child.pid)).exists(), "reaped: no zombie");
    unsafe { libc::close(child.pidfd) };

    // Signalled through the pidfd; stdout through a pipe; cwd and env.
    let sleeper = process::spawn(&sh, &args("sleep 30"), None, None, [Stdio::Null; 3]).unwrap();
    process::pidfd_send_signal(sleeper.pidfd, libc::SIGTERM).unwrap();
    let c = go(&mut r, Op::waitid(libc::P_PIDFD, sleeper.pidfd as u32, libc::WEXITED));
    let Output::Child(st) = c.op.output(0) else { panic!() };
    assert_eq!((st.code, st.status), (libc::CLD_KILLED, libc::SIGTERM));
    unsafe { libc::close(sleeper.pidfd) };

    let env = [CString::new("GREETING=hi").unwrap()];
    let echo = process::spawn(&sh, &args("pwd; echo $GREETING"), Some(&env), Some(c"/tmp"), [Stdio::Null, Stdio::Pipe, Stdio::Inherit]).unwrap();
    let out = echo.stdio[1].unwrap();
    let c = go(&mut r, Op::waitid(libc::P_PIDFD, echo.pidfd as u32, libc::WEXITED));
    assert_eq!(c.result, 0);
    let got = go(&mut r, Op::Read { fd: out, buf: vec![0; 64], position: u64::MAX });
    let text = String::from_utf8(got.op.output(got.result).bytes()).unwrap();
    assert_eq!(text, "/tmp\nhi\n");
    unsafe { libc::close(out); libc::close(echo.pidfd) };
    assert!(process::spawn(c"/nonexistent/binary", &[CString::new("x").unwrap()], None, None, [Stdio::Null; 3]).is_err());
}
